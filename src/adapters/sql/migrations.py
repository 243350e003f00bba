"""The versioned schema: recognise what a database holds, create it, upgrade it, or refuse it.

A small ordered list of steps rather than Alembic (docs/adr/0006-sql-schema-versioning.md). An
empty database is created straight at the current version from :mod:`.schema` (``create_all``);
each :class:`Migration` turns version ``n - 1`` into ``n`` for databases created earlier. Every
check and step runs inside the caller's transaction, which holds the schema lock (SQLite
``BEGIN EXCLUSIVE``; PostgreSQL ``pg_advisory_xact_lock``), so several processes opening one
database at once create or upgrade it exactly once and the others see the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from attrs import frozen
from sqlalchemy.engine import Connection

from genesis_flow.adapters.sql import schema
from genesis_flow.adapters.sql.errors import ForeignDatabase, SchemaOutdated, SchemaTooNew
from genesis_flow.core.diagnostics import DatabaseKind as Kind
from genesis_flow.core.errors import InternalError
from genesis_flow.core.redaction import redact_uri as redact

SCHEMA_VERSION = 3
"""The schema version this code reads and writes."""


@frozen
class Migration:
    """One step: ``apply`` turns a database at ``version - 1`` into ``version``. Steps run in
    the schema-lock transaction and must not commit."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _add_traces(conn: Connection) -> None:
    """Version 2: the GenAI trace tables (trace_info, trace_tags, trace_metadata, spans).

    The tables are spelled out here as they were at version 2, not taken from :mod:`.schema`,
    which describes the newest version only: a released step never changes. Only tables are
    added, so SQLite processes that still run the previous release keep working beside it.
    """
    frozen = sa.MetaData()
    # Stands for the existing table, so that the foreign keys compile; it is not created.
    sa.Table("experiments", frozen, sa.Column("experiment_id", sa.String(256), primary_key=True))
    trace_info = sa.Table(
        "trace_info",
        frozen,
        sa.Column("trace_id", sa.String(250), primary_key=True),
        sa.Column(
            "experiment_id", sa.String(256), sa.ForeignKey("experiments.experiment_id"), nullable=False
        ),
        sa.Column("request_time", sa.BigInteger, nullable=False),
        sa.Column("execution_duration", sa.BigInteger, nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("request_preview", sa.Text, nullable=True),
        sa.Column("response_preview", sa.Text, nullable=True),
        sa.Column("client_request_id", sa.String(250), nullable=True),
    )
    sa.Index(
        "ix_trace_info_experiment_time",
        trace_info.c.experiment_id,
        trace_info.c.request_time.desc(),
        trace_info.c.trace_id,
    )
    pairs = [
        sa.Table(
            name,
            frozen,
            sa.Column("trace_id", sa.String(250), sa.ForeignKey("trace_info.trace_id"), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
        for name in ("trace_tags", "trace_metadata")
    ]
    for table in pairs:
        sa.Index(f"ix_{table.name}_key_value", table.c.key, table.c.value, table.c.trace_id).ddl_if(
            dialect="sqlite"
        )
        sa.Index(f"ix_{table.name}_value", table.c.value, postgresql_using="hash").ddl_if(
            dialect="postgresql"
        )
    spans = sa.Table(
        "spans",
        frozen,
        sa.Column("trace_id", sa.String(250), sa.ForeignKey("trace_info.trace_id"), primary_key=True),
        sa.Column("span_id", sa.String(64), primary_key=True),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    frozen.create_all(conn, tables=[trace_info, *pairs, spans], checkfirst=False)


def _order_run_inputs(conn: Connection) -> None:
    """Version 3: ``run_inputs.ordinal``, a run's dataset inputs in logging order. The inputs
    already stored get 0 (they keep coming back by name and digest, before any later input).
    Only a column with a default is added, so processes of the previous release keep working."""
    conn.execute(sa.text("ALTER TABLE run_inputs ADD COLUMN ordinal BIGINT NOT NULL DEFAULT 0"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "add the GenAI trace tables", _add_traces),
    Migration(3, "number dataset inputs in logging order", _order_run_inputs),
)
"""Steps to versions 2 .. SCHEMA_VERSION, in order."""


@frozen
class DatabaseState:
    kind: Kind
    version: int | None = None


_OUR_TABLES = frozenset(schema.metadata.tables)


def inspect_database(conn: Connection) -> DatabaseState:
    """What the database holds: nothing of ours, our schema (and its version), MLflow's, or
    other tables that clash with ours."""
    tables = set(sa.inspect(conn).get_table_names())
    if schema.genesis_schema.name in tables:
        version = conn.execute(sa.select(schema.genesis_schema.c.version)).scalar()
        return DatabaseState(Kind.GENESIS, int(version) if version is not None else None)
    if "alembic_version" in tables or (
        "runs" in tables and "experiments" in tables and _has_mlflow_runs(conn)
    ):
        return DatabaseState(Kind.MLFLOW)
    if tables & _OUR_TABLES:
        return DatabaseState(Kind.FOREIGN)
    return DatabaseState(Kind.EMPTY)


def _has_mlflow_runs(conn: Connection) -> bool:
    return any(c["name"] == "run_uuid" for c in sa.inspect(conn).get_columns("runs"))


def upgrade_command(uri: str) -> str:
    return f"genesis db upgrade {redact(uri)}"


def ensure_schema(
    conn: Connection,
    uri: str,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    target_version: int = SCHEMA_VERSION,
    upgrade: bool,
) -> tuple[int | None, int]:
    """Make the database usable at ``target_version`` or refuse it; returns (found, now).

    ``found`` is None for a database that was empty (and has just been created).

    Raises:
        ForeignDatabase: MLflow's own database (``alembic_version``, ``runs.run_uuid``), or
            tables named like ours without our version table. Nothing is altered.
        SchemaTooNew: a newer Genesis-Flow upgraded it; the message names both versions.
        SchemaOutdated: an older schema and ``upgrade`` is False; the message names
            ``genesis db upgrade URI``.
    """
    where = redact(uri)
    state = inspect_database(conn)
    if state.kind is Kind.EMPTY:
        schema.metadata.create_all(conn)
        conn.execute(sa.insert(schema.genesis_schema).values(id=1, version=target_version, updated_at=_now()))
        conn.execute(sa.insert(schema.counters).values(name="experiment", value=0))
        return None, target_version
    if state.kind is Kind.MLFLOW:
        raise ForeignDatabase(
            f"The database at {where} was created by MLflow (it has MLflow's alembic_version and"
            " tables). Genesis-Flow never alters a database it did not create: copy its data into a"
            f" new store with `genesis migrate --from {where} --to URI`."
        )
    if state.kind is Kind.FOREIGN:
        raise ForeignDatabase(
            f"The database at {where} has tables named like Genesis-Flow's but no genesis_schema"
            " version table; it belongs to another program and is left untouched. Use an empty"
            " database or schema."
        )
    if state.version is None:
        raise ForeignDatabase(
            f"The database at {where} has a genesis_schema table without a version row; it was"
            " damaged or half-created by hand. Restore it from a backup, or use an empty database."
        )
    found = state.version
    if found == target_version:
        return found, found
    if found > target_version:
        raise SchemaTooNew(
            f"The database at {where} has schema version {found}, newer than version"
            f" {target_version} that this Genesis-Flow understands; upgrade Genesis-Flow."
        )
    if not upgrade:
        raise SchemaOutdated(
            f"The database at {where} has schema version {found}; this Genesis-Flow needs version"
            f" {target_version}. Upgrade it with `{upgrade_command(uri)}` (back it up first)."
        )
    steps = {m.version: m for m in migrations}
    for version in range(found + 1, target_version + 1):
        step = steps.get(version)
        if step is None:
            raise InternalError(f"No migration to schema version {version}; cannot upgrade {where}")
        step.apply(conn)
        conn.execute(sa.update(schema.genesis_schema).values(version=version, updated_at=_now()))
    return found, target_version


def _now() -> int:
    return int(time.time() * 1000)
