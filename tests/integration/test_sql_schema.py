"""The SQL schema's life cycle: created in an empty database, upgraded, or refused untouched.

Every test runs on SQLite and on PostgreSQL (each test on its own schema, chosen through
``search_path``); PostgreSQL is skipped, with the reason, when ``GENESIS_TEST_SQL_POSTGRES_URI`` is
unset. Older databases are built from the frozen version 1 schema (tests/integration/
sql_schema_v1.py). The life-cycle tests upgrade them with a synthetic version 2
(tests/integration/sql_migration_fixtures.py), whose step is easy to observe and to make fail;
the real steps are checked by upgrading version 1 and comparing the result with a fresh database.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from attrs import define, field

from genesis_flow.adapters.sql.database import SqlDatabase, normalize_uri
from genesis_flow.adapters.sql.errors import ForeignDatabase, SchemaOutdated, SchemaTooNew
from genesis_flow.adapters.sql.migrations import MIGRATIONS, SCHEMA_VERSION
from genesis_flow.adapters.sql.schema import metadata
from genesis_flow.core.errors import GenesisError
from genesis_flow.core.redaction import redact_uri as redact
from genesis_flow.entrypoints.cli import main
from tests.integration import sql_migration_fixtures as fixtures
from tests.integration import sql_schema_v1 as schema_v1

ROOT = Path(__file__).resolve().parents[2]
PG_ENV = "GENESIS_TEST_SQL_POSTGRES_URI"
OURS = set(metadata.tables)
CHILDREN = 3


@define
class Target:
    """One empty database namespace: ``setup`` is a plain engine for arranging and inspecting it,
    ``open`` opens it as Genesis-Flow does, and ``uri`` is a URI that ``genesis db upgrade`` (or
    ``SqlDatabase.from_uri``) opens on the same namespace."""

    dialect: str
    uri: str
    setup: sa.Engine
    make_engine: Callable[[], sa.Engine]
    opened: list[SqlDatabase] = field(factory=list)

    def open(self, **kwargs: Any) -> SqlDatabase:
        if self.dialect == "sqlite":
            db = SqlDatabase.from_uri(self.uri, **kwargs)
        else:
            db = SqlDatabase(self.make_engine(), uri=self.uri, **kwargs)
        self.opened.append(db)
        return db

    def sql(self, *statements: str) -> None:
        with self.setup.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))

    def scalar(self, statement: str) -> Any:
        with self.setup.connect() as conn:
            return conn.execute(sa.text(statement)).scalar()

    def tables(self) -> set[str]:
        return set(sa.inspect(self.setup).get_table_names())

    def version(self) -> int:
        return int(self.scalar("SELECT version FROM genesis_schema"))

    def snapshot(self) -> dict[str, Any]:
        """Tables, their columns and indexes, and the version row: what "unchanged" means."""
        inspector = sa.inspect(self.setup)
        columns = inspector.get_multi_columns()
        indexes = inspector.get_multi_indexes()
        shape = {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in columns[key]],
                sorted((i["name"] or "", tuple(map(str, i["column_names"]))) for i in indexes[key]),
            )
            for key in sorted(columns, key=lambda k: k[1])
            for name in [key[1]]
        }
        with self.setup.connect() as conn:
            rows = (
                conn.execute(sa.text("SELECT id, version, updated_at FROM genesis_schema")).all()
                if "genesis_schema" in shape
                else None
            )
        return {"tables": shape, "genesis_schema": [tuple(r) for r in rows or ()]}


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    made, drop = _sqlite(tmp_path) if request.param == "sqlite" else _postgresql()
    try:
        yield made
    finally:
        for db in made.opened:
            db.dispose()
        made.setup.dispose()
        drop()


def _sqlite(folder: Path) -> tuple[Target, Callable[[], None]]:
    uri = f"sqlite:///{folder / 'genesis.db'}"
    return Target("sqlite", uri, sa.create_engine(uri), lambda: sa.create_engine(uri)), lambda: None


def _postgresql() -> tuple[Target, Callable[[], None]]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL: {PG_ENV} is unset (scripts/services.sh sets it)")
    base = normalize_uri(base)
    schema = f"gf_schema_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.skip(f"PostgreSQL: cannot reach {redact(base)}: {error.orig}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    options = {"options": f"-csearch_path={schema}"}
    # The same schema through the URI alone, for SqlDatabase.from_uri and the command line.
    uri = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    engine = functools.partial(sa.create_engine, base, connect_args=options)
    return Target("postgresql", uri, engine(), engine), drop


def at_version_1_with_data(target: Target) -> None:
    """A database as the first release created it (schema version 1), holding two experiments."""
    with target.setup.begin() as conn:
        schema_v1.metadata.create_all(conn)
        conn.execute(sa.insert(schema_v1.genesis_schema).values(id=1, version=1, updated_at=1))
        conn.execute(sa.insert(schema_v1.counters).values(name="experiment", value=2))
    target.sql(
        "INSERT INTO experiments (experiment_id, id_order, name, artifact_location, lifecycle_stage)"
        " VALUES ('1', 1, 'first', 'a/1', 'active'), ('2', 2, 'second', 'a/2', 'deleted')",
    )


def shape(engine: sa.Engine) -> dict[str, Any]:
    """Everything a migration must reproduce: per table, columns (type, nullability, default),
    primary key, foreign keys, unique constraints and indexes (with their column order)."""
    inspector = sa.inspect(engine)
    columns = inspector.get_multi_columns()
    keys = inspector.get_multi_pk_constraint()
    foreign = inspector.get_multi_foreign_keys()
    unique = inspector.get_multi_unique_constraints()
    indexes = inspector.get_multi_indexes()
    return {
        key[1]: {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in columns[key]],
            "primary_key": (keys[key].get("name"), tuple(keys[key]["constrained_columns"])),
            "foreign_keys": sorted(
                (
                    f.get("name") or "",
                    tuple(f["constrained_columns"]),
                    f["referred_table"],
                    tuple(f["referred_columns"]),
                )
                for f in foreign[key]
            ),
            "unique": sorted((u.get("name") or "", tuple(u["column_names"])) for u in unique[key]),
            "indexes": sorted(
                (
                    i["name"] or "",
                    tuple(map(str, i["column_names"])),
                    bool(i["unique"]),
                    repr(sorted((i.get("column_sorting") or {}).items())),
                )
                for i in indexes[key]
            ),
        }
        for key in columns
    }


def descriptions(target: Target) -> list[tuple[str, str, str]]:
    with target.setup.connect() as conn:
        rows = conn.execute(sa.text("SELECT experiment_id, name, description FROM experiments ORDER BY 1"))
        return [tuple(r) for r in rows]


def test_the_migration_list_covers_every_version_after_the_first() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))


def test_upgrading_version_1_gives_exactly_the_schema_a_fresh_database_has_and_keeps_the_data(
    target: Target,
) -> None:
    at_version_1_with_data(target)
    db = target.open(upgrade=True)
    assert db.schema_versions == (1, SCHEMA_VERSION)
    assert target.version() == SCHEMA_VERSION
    upgraded = shape(target.setup)
    assert set(upgraded) == OURS
    with target.setup.connect() as conn:
        kept = conn.execute(sa.text("SELECT experiment_id, name FROM experiments ORDER BY 1")).all()
    assert [tuple(r) for r in kept] == [("1", "first"), ("2", "second")]

    # The upgraded database works: the new tables take traces.
    from genesis_flow.adapters.sql import SqlTrackingStore
    from genesis_flow.core.tracing import Span, TraceInfo

    store = SqlTrackingStore(db)
    store.start_trace(TraceInfo("tr-1", "1", 5, tags={"k": "v"}, metadata={"m": "1"}))
    store.log_spans("1", [Span("tr-1", "a" * 16, "root", 5_000_000)])
    assert [s.name for s in store.get_trace("tr-1").spans] == ["root"]
    assert store.create_experiment("third") == "3"  # the counter carries on past the old ids

    for table in reversed(metadata.sorted_tables):
        with target.setup.begin() as conn:
            table.drop(conn)
    assert target.tables() == set()
    assert target.open().schema_versions == (None, SCHEMA_VERSION)
    assert shape(target.setup) == upgraded


# --- empty database -----------------------------------------------------------------------------


def test_an_empty_database_is_created_at_the_current_version_and_reopening_changes_nothing(
    target: Target,
) -> None:
    assert target.open().schema_versions == (None, SCHEMA_VERSION)
    assert target.tables() == OURS
    created = target.snapshot()
    [(row_id, version, _)] = created["genesis_schema"]
    assert (row_id, version) == (1, SCHEMA_VERSION)

    assert target.open().schema_versions == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert target.open(upgrade=True).schema_versions == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert target.snapshot() == created


def test_unrelated_tables_are_kept_and_ours_are_added_beside_them(target: Target) -> None:
    target.sql("CREATE TABLE other (x INTEGER)", "INSERT INTO other (x) VALUES (7)")
    assert target.open().schema_versions == (None, SCHEMA_VERSION)
    assert target.tables() == OURS | {"other"}
    assert target.scalar("SELECT x FROM other") == 7


# --- older schema -------------------------------------------------------------------------------


def test_an_older_database_opened_by_default_is_upgraded_on_sqlite_and_refused_on_postgresql(
    target: Target,
) -> None:
    at_version_1_with_data(target)
    before = target.snapshot()
    if target.dialect == "sqlite":
        db = target.open(migrations=fixtures.ADD_DESCRIPTION, target_version=2)
        assert db.schema_versions == (1, 2)
    else:
        with pytest.raises(SchemaOutdated) as refused:
            target.open(migrations=fixtures.ADD_DESCRIPTION, target_version=2)
        message = str(refused.value)
        assert "genesis db upgrade" in message and "version 1" in message and "version 2" in message
        assert target.snapshot() == before
        db = target.open(migrations=fixtures.ADD_DESCRIPTION, target_version=2, upgrade=True)
        assert db.schema_versions == (1, 2)

    assert target.version() == 2
    assert descriptions(target) == [("1", "first", "was first"), ("2", "second", "was second")]
    assert target.scalar("SELECT count(*) FROM migration_log") == 1
    assert target.open(migrations=fixtures.ADD_DESCRIPTION, target_version=2).schema_versions == (2, 2)
    assert target.scalar("SELECT count(*) FROM migration_log") == 1


def test_without_upgrade_an_older_database_is_refused_naming_the_command_and_left_as_it_was(
    target: Target,
) -> None:
    at_version_1_with_data(target)
    before = target.snapshot()
    with pytest.raises(SchemaOutdated) as refused:
        target.open(migrations=fixtures.ADD_DESCRIPTION, target_version=2, upgrade=False)
    assert f"`genesis db upgrade {redact(target.uri)}`" in str(refused.value)
    assert target.snapshot() == before
    assert target.version() == 1


def test_the_refusal_names_the_uri_without_its_password(target: Target) -> None:
    at_version_1_with_data(target)
    engine = target.make_engine()
    # The URI only names the database in messages; the engine is the real one.
    uri = "postgresql://genesis:hunter2@db.example.com/tracking"
    try:
        with pytest.raises(SchemaOutdated) as refused:
            SqlDatabase(engine, uri=uri, migrations=fixtures.ADD_DESCRIPTION, target_version=2, upgrade=False)
    finally:
        engine.dispose()
    message = str(refused.value)
    assert "hunter2" not in message
    assert "genesis db upgrade postgresql://genesis:***@db.example.com/tracking" in message


def test_a_step_that_fails_halfway_leaves_the_database_at_the_old_version(target: Target) -> None:
    at_version_1_with_data(target)
    before = target.snapshot()
    with pytest.raises(GenesisError):
        target.open(migrations=fixtures.FAIL_HALFWAY, target_version=2, upgrade=True)
    assert target.snapshot() == before
    assert target.version() == 1


@pytest.mark.parametrize("target", ["sqlite"], indirect=True)
def test_several_processes_opening_an_outdated_sqlite_database_upgrade_it_exactly_once(
    target: Target, tmp_path: Path
) -> None:
    at_version_1_with_data(target)
    for db in target.opened:
        db.dispose()
    code = (
        "import sys; from tests.integration.sql_migration_fixtures import open_when_told;"
        " open_when_told(*sys.argv[1:])"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, target.uri, str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CHILDREN)
    ]
    # Start them together once all have imported, so that they really race.
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < CHILDREN and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            break
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outcomes = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0] * CHILDREN, [err for _, err in outcomes]
    seen = sorted(tuple(json.loads(out)) for out, _ in outcomes)
    assert seen == [(1, 2)] + [(2, 2)] * (CHILDREN - 1)
    assert target.scalar("SELECT count(*) FROM migration_log") == 1
    assert target.version() == 2
    assert descriptions(target)[0] == ("1", "first", "was first")


@pytest.mark.parametrize("target", ["postgresql"], indirect=True)
def test_several_sessions_upgrading_postgresql_at_once_upgrade_it_exactly_once(target: Target) -> None:
    at_version_1_with_data(target)
    barrier = threading.Barrier(4)
    seen: list[tuple[int | None, int]] = []
    failures: list[BaseException] = []

    def upgrade() -> None:
        engine = target.make_engine()
        barrier.wait()
        try:
            db = SqlDatabase(
                engine,
                uri=target.uri,
                migrations=fixtures.ADD_DESCRIPTION_SLOWLY,
                target_version=2,
                upgrade=True,
            )
            seen.append(db.schema_versions)
        except BaseException as error:
            failures.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=upgrade) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(seen) == [(1, 2)] + [(2, 2)] * 3
    assert target.scalar("SELECT count(*) FROM migration_log") == 1
    assert target.version() == 2


# --- newer schema -------------------------------------------------------------------------------


@pytest.mark.parametrize("upgrade", [None, True])
def test_a_newer_schema_is_refused_naming_both_versions_and_left_as_it_was(
    target: Target, upgrade: bool | None
) -> None:
    at_version_1_with_data(target)
    target.sql(f"UPDATE genesis_schema SET version = {SCHEMA_VERSION + 1}")
    before = target.snapshot()
    with pytest.raises(SchemaTooNew) as refused:
        target.open(upgrade=upgrade)
    message = str(refused.value)
    assert f"version {SCHEMA_VERSION + 1}" in message and f"version {SCHEMA_VERSION}" in message
    assert target.snapshot() == before


def test_a_version_table_without_its_row_is_refused_as_damaged(target: Target) -> None:
    at_version_1_with_data(target)
    target.sql("DELETE FROM genesis_schema")
    before = target.snapshot()
    with pytest.raises(ForeignDatabase, match="without a version row"):
        target.open(upgrade=True)
    assert target.snapshot() == before


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql://u@h/db?sslmode=require&password=secret",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        # An option not known to be harmless is hidden too, whatever its name.
        ("postgresql://u@h/db?PASSWORD=secret&x=1", "postgresql://u@h/db?PASSWORD=***&x=***"),
        # An unencoded "@" or "/" in the password must not leave its tail in the message.
        ("postgresql://u:se@cr/et@h/db", "postgresql://u:***@h/db"),
    ],
)
def test_passwords_in_user_info_or_query_are_redacted(uri: str, shown: str) -> None:
    assert redact(uri) == shown


# --- databases that are not ours ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database made by the real MLflow (made once; each test copies it)."""
    if importlib.util.find_spec("mlflow") is None:
        pytest.skip("mlflow is not installed (it comes with the dev extra)")
    folder = tmp_path_factory.mktemp("mlflow")
    path = folder / "mlflow.db"
    code = (
        "import sys\n"
        "from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore\n"
        "store = SqlAlchemyStore('sqlite:///' + sys.argv[1], sys.argv[2])\n"
        "store.create_experiment('made-by-mlflow')\n"
        "store.engine.dispose()\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", code, str(path), (folder / "artifacts").as_uri()],
        capture_output=True,
        text=True,
        cwd=folder,
    )
    assert made.returncode == 0, made.stderr
    return path


def _fingerprint(path: Path) -> tuple[str, list[str], list[str]]:
    """The file's hash, the folder's listing (no -wal or -journal left behind), the table list."""
    with sa.create_engine(f"sqlite:///{path}").connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        sorted(p.name for p in path.parent.iterdir()),
        tables,
    )


@pytest.mark.parametrize("upgrade", [None, True])
def test_a_database_made_by_mlflow_is_refused_naming_genesis_migrate_and_left_byte_for_byte(
    mlflow_database: Path, tmp_path: Path, upgrade: bool | None
) -> None:
    path = tmp_path / "mlflow.db"
    path.write_bytes(mlflow_database.read_bytes())
    before = _fingerprint(path)
    assert {"alembic_version", "experiments", "runs"} <= set(before[2])

    with pytest.raises(ForeignDatabase) as refused:
        SqlDatabase.from_uri(f"sqlite:///{path}", upgrade=upgrade)
    assert "genesis migrate" in str(refused.value) and "MLflow" in str(refused.value)
    assert _fingerprint(path) == before


@pytest.mark.parametrize("markers", ["alembic_version and runs.run_uuid", "runs.run_uuid beside experiments"])
def test_a_database_with_mlflows_markers_is_refused_naming_genesis_migrate(
    target: Target, markers: str
) -> None:
    target.sql(
        "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256) NOT NULL)",
        "CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, experiment_id INTEGER)",
        "INSERT INTO runs (run_uuid, experiment_id) VALUES ('abc', 0)",
    )
    if markers.startswith("alembic_version"):
        target.sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
            "INSERT INTO alembic_version (version_num) VALUES ('1b5f0d9ad7c1')",
        )
    before = target.snapshot()
    with pytest.raises(ForeignDatabase) as refused:
        target.open(upgrade=True)
    assert "genesis migrate" in str(refused.value)
    assert target.snapshot() == before
    assert target.scalar("SELECT run_uuid FROM runs") == "abc"


def test_a_table_named_like_ours_without_our_version_table_is_refused_and_left_alone(target: Target) -> None:
    target.sql("CREATE TABLE runs (id INTEGER)", "INSERT INTO runs (id) VALUES (1)")
    with pytest.raises(ForeignDatabase) as refused:
        target.open(upgrade=True)
    assert "genesis_schema" in str(refused.value)
    assert target.tables() == {"runs"}
    assert target.scalar("SELECT id FROM runs") == 1


# --- `genesis db upgrade` -----------------------------------------------------------------------


def test_genesis_db_upgrade_creates_then_reports_an_up_to_date_schema(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", target.uri]) == 0
    assert capsys.readouterr().out == f"schema of {redact(target.uri)}: created at version {SCHEMA_VERSION}\n"
    assert target.tables() == OURS
    assert main(["db", "upgrade", target.uri]) == 0
    assert capsys.readouterr().out == f"schema of {redact(target.uri)}: already at version {SCHEMA_VERSION}\n"


def test_genesis_db_upgrade_upgrades_an_outdated_database(
    target: Target, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at_version_1_with_data(target)
    # The command runs the synthetic version 2, on a version 1 database.
    synthetic = functools.partial(SqlDatabase.from_uri, migrations=fixtures.ADD_DESCRIPTION, target_version=2)
    monkeypatch.setattr(SqlDatabase, "from_uri", synthetic)

    assert main(["db", "upgrade", target.uri]) == 0
    assert capsys.readouterr().out == f"schema of {redact(target.uri)}: version 1 -> 2\n"
    assert target.version() == 2
    assert descriptions(target)[1] == ("2", "second", "was second")
    assert main(["db", "upgrade", target.uri]) == 0
    assert capsys.readouterr().out == f"schema of {redact(target.uri)}: already at version 2\n"
    assert target.scalar("SELECT count(*) FROM migration_log") == 1


def test_genesis_db_upgrade_refuses_a_newer_schema(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    at_version_1_with_data(target)
    target.sql(f"UPDATE genesis_schema SET version = {SCHEMA_VERSION + 1}")
    assert main(["db", "upgrade", target.uri]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("genesis: error: INVALID_STATE: ")
    assert f"version {SCHEMA_VERSION + 1}" in captured.err and captured.err.count("\n") == 1
    assert target.version() == SCHEMA_VERSION + 1


def test_genesis_db_upgrade_refuses_an_mlflow_database_and_leaves_it_unchanged(
    mlflow_database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mlflow.db"
    path.write_bytes(mlflow_database.read_bytes())
    before = _fingerprint(path)
    assert main(["db", "upgrade", f"sqlite:///{path}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("genesis: error: INVALID_STATE: ") and "genesis migrate" in err
    assert _fingerprint(path) == before


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("mongodb://localhost:27017/genesis", "INVALID_PARAMETER_VALUE: Not a SQL URI"),
        ("memory:", "INVALID_PARAMETER_VALUE: Not a SQL URI"),
        ("sqlite:///no/such/folder/genesis.db", "INVALID_PARAMETER_VALUE: Cannot create the SQLite database"),
        ("postgresql://genesis:hunter2@127.0.0.1:1/genesis", "TEMPORARILY_UNAVAILABLE: Cannot reach"),
    ],
)
def test_genesis_db_upgrade_on_a_bad_uri_fails_with_one_line_and_no_password(
    uri: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", uri]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"genesis: error: {expected}")
    assert captured.err.count("\n") == 1
    assert "hunter2" not in captured.err
