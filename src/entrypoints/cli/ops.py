"""Operations: ``genesis doctor`` (is this store healthy?), ``genesis gc`` (purge runs deleted
long ago, as ``mlflow gc``) and ``genesis ui`` (the MLflow UI on a Genesis-Flow store).

Adapters are imported inside the functions that need them, so importing this module loads no
database driver.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import click

from genesis_flow.entrypoints.bootstrap import resolve_tracking_uri
from genesis_flow.entrypoints.cli.output import fail, handle_errors, redacted

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
# How long doctor waits for a server before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
_MONGO_SCHEMES = ("mongodb", "mongodb+srv")


def _scheme(uri: str) -> str:
    return urlsplit(uri).scheme.lower()


# --- doctor ----------------------------------------------------------------------------------------


class Checks:
    """The checks of one doctor run, in order: name, PASS/FAIL/SKIP and a one-line detail, with
    nothing of the secrets of ``uri`` (the store checked) in it."""

    def __init__(self, uri: str = "") -> None:
        self.rows: list[dict[str, str]] = []
        self._uri = uri

    def add(self, check: str, status: str, detail: str) -> None:
        shown = redacted(detail, [self._uri]).replace("\n", " ")
        self.rows.append({"check": check, "status": status, "detail": shown})

    def run(self, check: str, probe: Callable[[], tuple[str, str]]) -> bool:
        """Record what ``probe`` returns ((status, detail)); an exception is a FAIL. True if not FAIL."""
        try:
            status, detail = probe()
        except Exception as error:  # a check never raises: it fails, with a one-line reason
            status, detail = FAIL, _error_text(error)
        self.add(check, status, detail)
        return status != FAIL

    def skip_rest(self, names: Sequence[str], reason: str) -> None:
        for name in names:
            self.add(name, SKIP, reason)

    @property
    def failed(self) -> bool:
        return any(row["status"] == FAIL for row in self.rows)


def _error_text(error: BaseException) -> str:
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) else f"{type(error).__name__}: {error}"
    # pymongo appends its timeouts and topology to a selection error: the cause comes first.
    text = re.split(r" \(configured timeouts|, Timeout: |, Topology Description", text.strip())[0]
    lines = text.splitlines()
    return lines[0][:300] if lines else type(error).__name__


def run_doctor(uri: str) -> Checks:
    """Every check doctor makes on the store at ``uri``; never raises."""
    checks = Checks(uri)
    scheme = _scheme(uri)
    checks.add("uri", PASS, redacted(uri))
    if scheme == "memory":
        _doctor_memory(checks)
    elif scheme in _SQL_SCHEMES:
        _doctor_sql(checks, uri)
    elif scheme in _MONGO_SCHEMES:
        _doctor_mongo(checks, uri)
    else:
        checks.add("backend", FAIL, f"doctor does not know the scheme {scheme!r}")
    return checks


def _doctor_memory(checks: Checks) -> None:
    from genesis_flow.entrypoints.bootstrap import build_tracking_store

    def probe() -> tuple[str, str]:
        store = build_tracking_store("memory:")
        store.get_experiment("0")
        return PASS, "in-process store (data lives as long as the process)"

    checks.run("connectivity", probe)
    checks.add("server version", PASS, "none (in-process)")
    checks.add("schema version", PASS, "none (in-process)")
    checks.add("indexes", PASS, "none (in-process)")
    checks.add("cosmos", PASS, "not Cosmos DB")
    checks.add("write/read/delete probe", PASS, "nothing persistent to probe")


# SQL


_SQL_LATER = ("server version", "schema version", "tables", "cosmos", "write/read/delete probe")


def _doctor_sql(checks: Checks, uri: str) -> None:
    import sqlalchemy as sa

    from genesis_flow.adapters.sql import schema
    from genesis_flow.adapters.sql.database import normalize_uri
    from genesis_flow.adapters.sql.migrations import SCHEMA_VERSION, Kind, inspect_database

    try:
        url = normalize_uri(uri)
    except Exception as error:
        checks.add("connectivity", FAIL, _error_text(error))
        checks.skip_rest(_SQL_LATER, "not connected")
        return
    engine_options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database or ""
        if database not in ("", ":memory:") and "mode=memory" not in url and not os.path.exists(database):
            # Opening it would create an empty file: doctor changes nothing.
            checks.add("connectivity", FAIL, f"no SQLite database file at {database!r}")
            checks.skip_rest(_SQL_LATER, "not connected")
            return
        engine_options["connect_args"] = {"timeout": CONNECT_TIMEOUT_S}
    else:
        engine_options["connect_args"] = {"connect_timeout": max(1, int(CONNECT_TIMEOUT_S))}
    engine = sa.create_engine(url, **engine_options)
    try:
        try:
            conn = engine.connect()
        except Exception as error:
            checks.add("connectivity", FAIL, f"cannot connect to {redacted(uri)}: {_error_text(error)}")
            checks.skip_rest(_SQL_LATER, "not connected")
            return
        with conn:
            checks.add("connectivity", PASS, f"connected to {redacted(uri)}")
            checks.run("server version", lambda: (PASS, _sql_server_version(conn)))
            state = inspect_database(conn)
            conn.rollback()
            ours = state.kind is Kind.GENESIS

            def schema_version() -> tuple[str, str]:
                if state.kind is Kind.EMPTY:
                    return FAIL, "empty database (no schema yet): run `genesis db upgrade URI` or any command"
                if state.kind is Kind.MLFLOW:
                    return FAIL, "an MLflow database, not Genesis-Flow's: copy it with `genesis migrate`"
                if state.kind is Kind.FOREIGN:
                    return FAIL, "tables named like ours but no genesis_schema table (another program's)"
                if state.version != SCHEMA_VERSION:
                    return (
                        FAIL,
                        f"found {state.version}, expected {SCHEMA_VERSION} (`genesis db upgrade URI`)",
                    )
                return PASS, f"found {state.version}, expected {SCHEMA_VERSION}"

            checks.run("schema version", schema_version)

            def tables() -> tuple[str, str]:
                present = set(sa.inspect(conn).get_table_names())
                conn.rollback()
                expected = set(schema.metadata.tables)
                missing = sorted(expected - present)
                if missing:
                    return FAIL, f"missing tables: {', '.join(missing)}"
                return PASS, f"all {len(expected)} tables present"

            if state.kind is Kind.EMPTY:
                checks.add("tables", SKIP, "no schema yet")
            else:
                checks.run("tables", tables)
            checks.add("cosmos", PASS, "not Cosmos DB")
            checks.run("write/read/delete probe", lambda: _sql_probe(conn, schema, ours))
    finally:
        engine.dispose()


def _sql_server_version(conn: Any) -> str:
    if conn.dialect.name == "sqlite":
        version = conn.exec_driver_sql("select sqlite_version()").scalar()
        conn.rollback()
        return f"SQLite {version}"
    version = conn.exec_driver_sql("show server_version").scalar()
    conn.rollback()
    return f"PostgreSQL {version}"


def _sql_probe(conn: Any, schema: Any, ours: bool) -> tuple[str, str]:
    """Write, read and delete one row in one transaction. In our schema the row is a counter with
    a unique scratch name (so the write lock of the real tables is exercised); otherwise a
    temporary table. The transaction is rolled back: nothing is left either way."""
    import sqlalchemy as sa

    name = f"genesis_doctor_{uuid.uuid4().hex}"
    with conn.begin() as transaction:
        try:
            if ours:
                table = schema.counters
                conn.execute(sa.insert(table).values(name=name, value=1))
                read = conn.execute(sa.select(table.c.value).where(table.c.name == name)).scalar()
                deleted = conn.execute(sa.delete(table).where(table.c.name == name)).rowcount
                where = "a scratch row of the counters table"
            else:
                scratch = sa.Table(
                    name,
                    sa.MetaData(),
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("value", sa.Integer),
                    prefixes=["TEMPORARY"],
                )
                scratch.create(conn)
                conn.execute(sa.insert(scratch).values(id=1, value=1))
                read = conn.execute(sa.select(scratch.c.value)).scalar()
                deleted = conn.execute(sa.delete(scratch)).rowcount
                scratch.drop(conn)
                where = "a temporary table"
        finally:
            transaction.rollback()
    if read != 1 or deleted != 1:
        return FAIL, f"wrote 1, read {read!r}, deleted {deleted} row(s) in {where}"
    return PASS, f"wrote, read and deleted {where} (rolled back)"


# MongoDB and Cosmos DB


_MONGO_LATER = ("server version", "schema", "indexes", "cosmos", "write/read/delete probe")


def _doctor_mongo(checks: Checks, uri: str) -> None:
    try:
        from genesis_flow.adapters.cosmos import CosmosDatabase
        from genesis_flow.adapters.mongo.database import MongoDatabase, MongoTarget
    except ImportError as error:
        checks.add(
            "connectivity", FAIL, f"needs the MongoDB driver: pip install 'genesis-flow[mongo]' ({error})"
        )
        checks.skip_rest(_MONGO_LATER, "not connected")
        return
    try:
        target = MongoTarget(uri)
        in_uri = {key.lower() for key, _ in target.options}
        options: dict[str, Any] = {}
        for option in ("serverSelectionTimeoutMS", "connectTimeoutMS"):
            if option.lower() not in in_uri:
                options[option] = int(CONNECT_TIMEOUT_S * 1000)
        database_type = CosmosDatabase if target.cosmos else MongoDatabase
        database = database_type.from_uri(uri, **options)
    except Exception as error:
        checks.add("connectivity", FAIL, _error_text(error))
        checks.skip_rest(_MONGO_LATER, "not connected")
        return
    try:
        try:
            database.client.admin.command("ping")
        except Exception as error:
            checks.add("connectivity", FAIL, f"cannot reach {target.redacted}: {_error_text(error)}")
            checks.skip_rest(_MONGO_LATER, "not connected")
            return
        checks.add("connectivity", PASS, f"connected to {target.redacted}, database {target.database!r}")
        checks.run("server version", lambda: (PASS, f"MongoDB {database.client.server_info()['version']}"))
        present = set(database.db.list_collection_names())
        checks.run("schema", lambda: _mongo_schema(present))
        checks.run("indexes", lambda: _mongo_indexes(database, present))
        checks.run("cosmos", lambda: _mongo_cosmos(database, target))
        checks.run("write/read/delete probe", lambda: _mongo_probe(database))
    finally:
        database.close()


def _mongo_schema(present: set[str]) -> tuple[str, str]:
    from genesis_flow.adapters.mongo.database import COLLECTIONS, SCHEMA_VERSION

    ours = [name for name in COLLECTIONS if name in present]
    if not ours:
        return PASS, (
            f"no collections of ours yet (created on first use); document layout version {SCHEMA_VERSION}"
        )
    missing = [name for name in COLLECTIONS if name not in present]
    detail = (
        f"document layout version {SCHEMA_VERSION} (the adapter keeps no marker);"
        f" collections: {', '.join(ours)}"
    )
    if missing:
        # Collections appear on first write: a fresh store has no registry collections, say.
        detail += f"; not created yet: {', '.join(missing)}"
    return PASS, detail


def _mongo_indexes(database: Any, present: set[str]) -> tuple[str, str]:
    from genesis_flow.adapters.mongo.database import INDEXES

    if not any(name in present for name in INDEXES):
        return PASS, "no collections of ours yet (indexes are created on first use)"
    missing: list[str] = []
    different: list[str] = []
    unexpected: list[str] = []
    for collection, specs in INDEXES.items():
        found = (
            {ix["name"]: ix for ix in database.db[collection].list_indexes()} if collection in present else {}
        )
        for spec in specs:
            index = found.pop(spec.name, None)
            if index is None:
                missing.append(f"{collection}.{spec.name}")
            elif list(index["key"].items()) != [(k, v) for k, v in spec.keys] or bool(
                index.get("unique", False)
            ) != bool(spec.unique):
                different.append(f"{collection}.{spec.name}")
        for name in found:
            if name == "_id_" or (
                database.cosmos and collection == "runs" and re.fullmatch(r"gf_\w_any", name)
            ):
                continue
            unexpected.append(f"{collection}.{name}")
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if different:
        problems.append(f"different keys or uniqueness: {', '.join(different)}")
    if problems:
        if unexpected:
            problems.append(f"unexpected: {', '.join(unexpected)}")
        return FAIL, "; ".join(problems)
    expected = sum(len(specs) for specs in INDEXES.values())
    # An index of the operator's own is not an error, only worth knowing (it costs writes).
    extra = f"; unexpected (not ours): {', '.join(unexpected)}" if unexpected else ""
    return PASS, f"all {expected} indexes present{extra}"


def _mongo_cosmos(database: Any, target: Any) -> tuple[str, str]:
    from genesis_flow.adapters.cosmos.database import DEFAULT_RETRY_BUDGET_MS

    looks_cosmos = any(host.endswith(".cosmos.azure.com") for host in target.hosts)
    if not database.cosmos:
        if looks_cosmos:
            return FAIL, "the host is Cosmos DB but genesis_cosmos=false turns its policies off"
        return PASS, "not Cosmos DB (plain MongoDB policies)"
    retry_writes = database.client.options.retry_writes
    budget = database.retry_budget_ms or DEFAULT_RETRY_BUDGET_MS
    source = "genesis_retry_budget_ms" if database.retry_budget_ms else "default"
    detail = (
        f"Cosmos DB: retryWrites={str(retry_writes).lower()}, throttling retry budget {budget} ms ({source})"
    )
    if retry_writes:
        return FAIL, detail + "; Cosmos DB does not support retryable writes"
    return PASS, detail


def _mongo_probe(database: Any) -> tuple[str, str]:
    name = f"genesis_doctor_{uuid.uuid4().hex}"
    collection = database.db[name]
    try:
        collection.insert_one({"_id": "probe", "v": 1})
        found = collection.find_one({"_id": "probe"})
        deleted = collection.delete_one({"_id": "probe"}).deleted_count
    finally:
        collection.drop()
    if found is None or found.get("v") != 1 or deleted != 1:
        return FAIL, f"wrote 1 document to {name}, read {found!r}, deleted {deleted}"
    return PASS, f"wrote, read and deleted a document in {name} (dropped)"


@click.command()
@click.option("--uri", default=None, help="tracking URI (default: resolved from the environment)")
@click.option("--json", "as_json", is_flag=True, help="print the checks as JSON")
@handle_errors
def doctor(uri: str | None, as_json: bool) -> None:
    """Check a store: connectivity, server version, schema version, indexes (tables for SQL),
    Cosmos DB settings, and a write/read/delete probe that leaves nothing behind. Exit code 1 if
    any check fails."""
    checks = run_doctor(resolve_tracking_uri(uri))
    if as_json:
        click.echo(json.dumps(checks.rows, indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(file=sys.stdout, soft_wrap=True)
        colors = {PASS: "green", FAIL: "bold red", SKIP: "yellow"}
        for row in checks.rows:
            status = row["status"]
            console.print(f"[{colors[status]}]{status}[/] {escape(row['check'])}: {escape(row['detail'])}")
    if checks.failed:
        raise SystemExit(1)


# --- gc --------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000}


def parse_duration_ms(text: str) -> int:
    """``30d``, ``12h``, ``90m`` or ``0s`` in milliseconds; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 90m or 0s")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


class _Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration_ms(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


# --- ui --------------------------------------------------------------------------------------------

MLFLOW_EXTRA_HINT = "pip install 'genesis-flow[mlflow]'"
# `mlflow server` reads --backend-store-uri from this variable (the option's envvar; the registry
# store defaults to it). A URI there is not in the process list, which every local user can read.
BACKEND_STORE_URI_VARIABLE = "MLFLOW_BACKEND_STORE_URI"
# How long the server's process group has to stop after SIGTERM/SIGINT before it is killed.
STOP_GRACE_S = 10.0


def mlflow_server_argv(host: str | None = None, port: int | None = None) -> list[str]:
    """The command that starts the MLflow server through our plugin; the store's URI goes in
    its environment (:func:`mlflow_server_env`), never on the command line."""
    argv = [sys.executable, "-m", "mlflow", "server"]
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    return argv


def mlflow_server_env(uri: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the MLflow server on ``uri``: ``base`` (default: ours) plus the URI."""
    env = dict(os.environ if base is None else base)
    env[BACKEND_STORE_URI_VARIABLE] = uri
    return env


def ui_refusal(uri: str) -> str | None:
    """Why ``genesis ui`` cannot serve ``uri`` (one line), or None if it can."""
    scheme = _scheme(uri)
    if scheme in _MONGO_SCHEMES:
        if importlib.util.find_spec("mlflow") is None:
            return f"the MLflow UI needs MLflow, which is not installed: {MLFLOW_EXTRA_HINT}"
        return None
    if scheme in _SQL_SCHEMES:
        return (
            f"`mlflow server` would open {redacted(uri)} with MLflow's own SQL store, which cannot read"
            " Genesis-Flow's schema (the plugin serves mongodb:// URIs only); serve a MongoDB store,"
            " or copy the data into one with `genesis migrate`"
        )
    return f"the MLflow UI serves Genesis-Flow stores on mongodb:// URIs only, not {scheme or 'this'}:// ones"


@click.command()
@click.option("--uri", default=None, help="tracking URI, mongodb:// (default: resolved from the environment)")
@click.option("--host", default=None, help="address to listen on (MLflow's default: 127.0.0.1)")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port (MLflow's default: 5000)")
@handle_errors
def ui(uri: str | None, host: str | None, port: int | None) -> None:
    """Start the MLflow UI (`mlflow server`) on a MongoDB store through the Genesis-Flow plugin.
    Needs MLflow: pip install 'genesis-flow[mlflow]'. Ctrl-C (or SIGTERM) stops it and its workers."""
    resolved = resolve_tracking_uri(uri)
    refusal = ui_refusal(resolved)
    if refusal is not None:
        fail(refusal)
    raise SystemExit(run_process_group(mlflow_server_argv(host, port), mlflow_server_env(resolved)))


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_process_group(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` in a session (and process group) of its own and return its exit code.

    ``mlflow server`` starts uvicorn or gunicorn, which start workers: signalling the server
    alone leaves them serving, orphaned. So SIGTERM or SIGINT to us goes to the whole group,
    which gets STOP_GRACE_S to stop before SIGKILL; and whatever is left of the group when the
    server exits on its own is stopped the same way. A terminal's Ctrl-C reaches only our own
    group (the child has its own session), so forwarding it is what stops the server."""
    process = subprocess.Popen(argv, env=env, start_new_session=True)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping:
            stopping.append(signum)
            raise _Stop(signum)
        _signal_group(process.pid, signal.SIGKILL)  # asked twice: stop now

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            code = process.wait()
        except _Stop as stop:
            _stop_group(process, stop.signum)
            process.wait()
            code = 128 + stop.signum  # the shell's convention for "ended by signal N"
        _stop_group(process, signal.SIGTERM)  # workers that outlived the server
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _stop_group(leader: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the process group of ``leader``; SIGKILL what is left after STOP_GRACE_S."""
    if not _signal_group(leader.pid, signum):
        return
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline:
        leader.poll()  # reaped: an exited leader left as a zombie would still count as the group's
        if not _signal_group(leader.pid, 0):  # signal 0: is anyone left?
            return
        time.sleep(0.05)
    _signal_group(leader.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the group; False if the group has no process left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id was reused by someone else's group: not ours any more
        return False
    return True


__all__ = [
    "Checks",
    "doctor",
    "mlflow_server_argv",
    "mlflow_server_env",
    "parse_duration_ms",
    "run_doctor",
    "run_process_group",
    "ui",
    "ui_refusal",
]


@click.command()
@click.option("--uri", default=None, help="tracking URI (default: resolved from the environment)")
@click.option(
    "--older-than",
    "older_than_ms",
    type=_Duration(),
    required=True,
    help="remove runs deleted longer ago than this: 30d, 12h, 90m, or 0s for every deleted run",
)
@click.option("--dry-run", is_flag=True, help="only list the runs that would be removed")
@click.option(
    "--artifacts/--no-artifacts", default=True, show_default=True, help="remove the runs' artifacts too"
)
@handle_errors
def gc(uri: str | None, older_than_ms: int, dry_run: bool, artifacts: bool) -> None:
    """Permanently remove runs that were deleted longer ago than --older-than, with their
    metrics, params, tags and (unless --no-artifacts) artifacts, as `mlflow gc` does. Runs of a
    deleted experiment count as deleted when the experiment was. This cannot be undone: try
    --dry-run first."""
    from genesis_flow.entrypoints.bootstrap import build_tracking_store

    store = build_tracking_store(resolve_tracking_uri(uri))
    infos = store.purge_deleted_runs(older_than_ms, dry_run=dry_run)
    if dry_run:
        click.echo(f"would remove {len(infos)} run(s)" + (":" if infos else ""))
        for info in infos:
            click.echo(f"  {info.run_id} (experiment {info.experiment_id}) {redacted(info.artifact_uri)}")
        return
    failures = delete_run_artifacts([info.artifact_uri for info in infos]) if artifacts else []
    click.echo(f"removed {len(infos)} run(s)" + ("" if artifacts else " (artifacts kept)"))
    for artifact_uri, reason in failures:
        click.echo(
            f"genesis: warning: artifacts at {redacted(artifact_uri)} not removed: {redacted(reason)}",
            err=True,
        )
    if failures:
        fail(f"the artifacts of {len(failures)} removed run(s) could not be removed", "INTERNAL_ERROR")


def delete_run_artifacts(artifact_uris: Sequence[str]) -> list[tuple[str, str]]:
    """Delete everything under each run's artifact URI; returns (uri, reason) for the failures."""
    from genesis_flow.entrypoints.bootstrap import build_artifact_store

    failures: list[tuple[str, str]] = []
    for artifact_uri in artifact_uris:
        try:
            build_artifact_store(artifact_uri).delete_artifacts(None)
        except Exception as error:  # one unreachable location must not stop the others
            failures.append((artifact_uri, _error_text(error)))
    return failures
