"""The SQL backends of the contract suite: ``sql-sqlite`` (always) and ``sql-postgres``.

Each backend keeps a small ring of namespaces (SQLite files; PostgreSQL schemas), each with one
engine for the whole session. ``make_*`` takes the next namespace of the ring and empties it, so
the stores a test holds at once (at most the ring size minus one) never share tables, and no test
pays for creating a schema or leaks connections.
"""

from __future__ import annotations

import itertools
import secrets
import tempfile
from collections.abc import Callable

import sqlalchemy as sa

from genesis_flow.ports import Clock, RegistryStore, TrackingStore
from genesis_flow.testing import Backend, Unavailable

RING = 4


def open_sql_backend(backend_id: str, *, artifact_root: str, uri: str | None) -> Backend:
    from genesis_flow.adapters.sql import SqlDatabase
    from genesis_flow.adapters.sql.database import normalize_uri
    from genesis_flow.adapters.sql.schema import metadata
    from genesis_flow.core.redaction import redact_uri as redact

    databases: list[SqlDatabase] = []
    cleanup: list[Callable[[], None]] = []
    if backend_id == "sql-sqlite":
        folder = tempfile.mkdtemp(prefix="genesis-sqlite-")
        for i in range(RING):
            databases.append(SqlDatabase.from_uri(f"sqlite:///{folder}/ns{i}.db"))
    else:
        if not uri:
            raise Unavailable(
                "backend 'sql-postgres': GENESIS_TEST_SQL_POSTGRES_URI is unset (scripts/services.sh sets it)"
            )
        prefix = f"gf_test_{secrets.token_hex(4)}"
        admin = sa.create_engine(normalize_uri(uri), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for i in range(RING):
                    conn.execute(sa.text(f"CREATE SCHEMA {prefix}_{i}"))
        except sa.exc.OperationalError as error:
            admin.dispose()
            raise Unavailable(f"backend 'sql-postgres': cannot reach {redact(uri)}: {error.orig}") from None
        for i in range(RING):
            engine = sa.create_engine(
                normalize_uri(uri), connect_args={"options": f"-csearch_path={prefix}_{i}"}, pool_size=4
            )
            databases.append(SqlDatabase(engine, uri=uri))

        def drop_schemas() -> None:
            with admin.connect() as conn:
                for i in range(RING):
                    conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {prefix}_{i} CASCADE"))
            admin.dispose()

        cleanup.append(drop_schemas)

    ring = itertools.cycle(databases)
    tables = list(reversed(metadata.sorted_tables))

    def fresh() -> SqlDatabase:
        db = next(ring)

        def empty(conn: sa.Connection) -> None:
            if db.dialect == "postgresql":
                names = ", ".join(t.name for t in tables if t.name != "genesis_schema")
                conn.execute(sa.text(f"TRUNCATE {names}"))
            else:
                for table in tables:
                    if table.name != "genesis_schema":
                        conn.execute(table.delete())
            conn.execute(sa.insert(metadata.tables["counters"]).values(name="experiment", value=0))

        db.transact(empty, write=True)
        return db

    def tracking(clock: Clock) -> TrackingStore:
        from genesis_flow.adapters.sql import SqlTrackingStore

        return SqlTrackingStore(fresh(), clock=clock, artifact_root=artifact_root)

    def registry(clock: Clock) -> RegistryStore:
        from genesis_flow.adapters.sql import SqlRegistryStore

        return SqlRegistryStore(fresh(), clock=clock)

    def close() -> None:
        for db in databases:
            db.dispose()
        for step in cleanup:
            step()

    return Backend(backend_id, tracking, registry, close)
