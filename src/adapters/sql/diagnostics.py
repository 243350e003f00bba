"""The SQL adapter's ``Diagnosable``: how a database looks, found without opening it as a store
(opening creates or upgrades the schema, and refuses MLflow's databases)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genesis_flow.adapters.sql import schema
from genesis_flow.adapters.sql.database import SqlDatabase, normalize_uri
from genesis_flow.adapters.sql.errors import translate
from genesis_flow.adapters.sql.migrations import SCHEMA_VERSION, inspect_database
from genesis_flow.core.diagnostics import DatabaseKind, Diagnosis, Probe, attempt, failure_reason
from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist, TemporarilyUnavailable
from genesis_flow.core.redaction import hidden_values, redact_text, redact_uri


class SqlDiagnostics:
    """The database at ``uri``, connected only by :meth:`diagnose`, with ``connect_timeout_s``
    for an unreachable server. A SQLite file that does not exist is not created."""

    def __init__(self, uri: str, *, connect_timeout_s: float) -> None:
        self._uri = uri
        self._connect_timeout_s = connect_timeout_s

    def diagnose(self) -> Diagnosis:
        uri = self._uri
        url = normalize_uri(uri)
        if url.startswith("sqlite"):
            database = sa.engine.make_url(url).database or ""
            if database not in ("", ":memory:") and "mode=memory" not in url and not os.path.exists(database):
                raise ResourceDoesNotExist(f"no SQLite database file at {database!r}")
            connect_args: dict[str, Any] = {"timeout": self._connect_timeout_s}
        else:
            connect_args = {"connect_timeout": max(1, int(self._connect_timeout_s))}
        try:
            engine = sa.create_engine(url, connect_args=connect_args)
        except Exception as error:  # a malformed URL or a missing driver
            raise InvalidParameterValue(f"Cannot open {redact_uri(uri)!r}: {failure_reason(error)}") from None
        try:
            try:
                conn = engine.connect()
            except Exception as error:
                raise TemporarilyUnavailable(
                    f"cannot connect to {redact_text(uri)}: {failure_reason(error)}"
                ) from None
            with conn:
                return diagnose_connection(conn, redact_text(uri))
        finally:
            engine.dispose()


def diagnose_database(database: SqlDatabase) -> Diagnosis:
    """The diagnosis of an open store's database."""
    with database.engine.connect() as conn:
        return diagnose_connection(conn, database.where)


def diagnose_connection(conn: Connection, location: str) -> Diagnosis:
    server = attempt(lambda: _server_version(conn))
    state = inspect_database(conn)
    conn.rollback()
    present = attempt(lambda: _table_names(conn))
    probe = attempt(lambda: _probe(conn, ours=state.kind is DatabaseKind.GENESIS))
    return Diagnosis(
        location=location,
        server=server,
        versioned=True,
        kind=state.kind,
        schema_version=state.version,
        expected_schema_version=SCHEMA_VERSION,
        expected=tuple(schema.metadata.tables),
        present=present,
        probe=probe,
    )


def database_kind(uri: str) -> DatabaseKind:
    """What the SQL database at ``uri`` holds, read without changing anything."""
    try:
        engine = sa.create_engine(normalize_uri(uri))
    except InvalidParameterValue:
        raise
    except Exception as error:
        raise InvalidParameterValue(f"Cannot open {redact_uri(uri)!r}: {error}") from None
    try:
        with engine.connect() as conn:
            return inspect_database(conn).kind
    except Exception as error:
        # An unreachable server is the store's usual error (TEMPORARILY_UNAVAILABLE, redacted).
        raise translate(error, redact_uri(uri), hidden_values(uri)) from None
    finally:
        engine.dispose()


def _server_version(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        version = conn.exec_driver_sql("select sqlite_version()").scalar()
        conn.rollback()
        return f"SQLite {version}"
    version = conn.exec_driver_sql("show server_version").scalar()
    conn.rollback()
    return f"PostgreSQL {version}"


def _table_names(conn: Connection) -> tuple[str, ...]:
    names = tuple(sa.inspect(conn).get_table_names())
    conn.rollback()
    return names


def _probe(conn: Connection, *, ours: bool) -> Probe:
    """Write, read and delete one row in one transaction. In our schema the row is a counter with
    a unique scratch name (so the write lock of the real tables is exercised); otherwise a
    temporary table. The transaction is rolled back: nothing is left either way."""
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
        return Probe(False, f"wrote 1, read {read!r}, deleted {deleted} row(s) in {where}")
    return Probe(True, f"wrote, read and deleted {where} (rolled back)")
