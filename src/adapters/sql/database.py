"""One SQL database: engine set-up per dialect, short transactions with retries, the schema check.

SQLite is configured for many writers in several processes: WAL (readers never block the
writer), ``synchronous=NORMAL`` (a commit is not an fsync in WAL mode; a power cut can lose the
last commits but never corrupts), a busy timeout, and ``BEGIN IMMEDIATE`` for every write
transaction, so a writer waits for the lock up front instead of failing when a read transaction
tries to upgrade (the classic "database is locked" that no timeout cures). A transaction that still
hits a lock is retried as a whole a few times before the user hears about it.

PostgreSQL uses psycopg 3 (``postgresql://`` is read as ``postgresql+psycopg://``) at READ
COMMITTED; races are settled by constraints and row locks in the store code. Every session runs
under a statement timeout (URI option ``genesis_statement_timeout_ms``, default 60 s), so a query
whose caller has gone (a killed client, an abandoned request) is cancelled by the server rather
than running on for minutes.
"""

from __future__ import annotations

import operator
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from genesis_flow.adapters.sql import errors
from genesis_flow.adapters.sql.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, ensure_schema
from genesis_flow.core.commands import PageRequest
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import GenesisError, InvalidParameterValue, TemporarilyUnavailable
from genesis_flow.core.redaction import hidden_values, redact_text, redact_uri
from genesis_flow.core.search.evaluate import like, regex

T = TypeVar("T")

BUSY_TIMEOUT_S = 30.0
_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}
_RETRIES = 5
_MAX_PREPARED = 512

STATEMENT_TIMEOUT_OPTION = "genesis_statement_timeout_ms"
DEFAULT_STATEMENT_TIMEOUT_MS = 60_000
# Options of ours that may appear in a URI; they are removed before the driver sees it.
OUR_OPTIONS = (STATEMENT_TIMEOUT_OPTION,)
# Bound parameters per IN list: far below SQLite's (32766) and PostgreSQL's (65535) limits.
IN_LIST_CHUNK = 10_000


def chunks(items: Sequence[T], size: int = IN_LIST_CHUNK) -> Iterable[Sequence[T]]:
    """``items`` in slices of at most ``size``: one IN list each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _split_options(uri: str) -> tuple[str, dict[str, str]]:
    """(the URI without our options, our options by lower-case name)."""
    base, sep, query = uri.partition("?")
    if not sep:
        return uri, {}
    pairs = parse_qsl(query, keep_blank_values=True)
    ours = {k.lower(): v for k, v in pairs if k.lower() in OUR_OPTIONS}
    if not ours:
        return uri, {}
    kept = urlencode([(k, v) for k, v in pairs if k.lower() not in OUR_OPTIONS])
    return base + (f"?{kept}" if kept else ""), ours


def uri_statement_timeout_ms(uri: str) -> int:
    """The statement timeout a URI asks for (``genesis_statement_timeout_ms``; 0 turns it off)."""
    text = _split_options(uri)[1].get(STATEMENT_TIMEOUT_OPTION)
    if text is None:
        return DEFAULT_STATEMENT_TIMEOUT_MS
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 2**31 - 1:
        raise InvalidParameterValue(
            f"{STATEMENT_TIMEOUT_OPTION} must be a whole number of milliseconds (0 for none), got {text!r}"
        )
    return value


def normalize_uri(uri: str) -> str:
    """The SQLAlchemy URL for a Genesis-Flow SQL URI (``postgresql://`` uses psycopg 3), without
    our own options."""
    uri = _split_options(uri)[0]
    scheme = urlsplit(uri).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if scheme in ("sqlite", "postgresql+psycopg"):
        return uri
    raise InvalidParameterValue(
        f"Not a SQL URI: {redact_uri(uri)!r}; expected sqlite:///path.db or postgresql://..."
    )


def _sqlite_like(value: str | None, pattern: str | None, ignore_case: int) -> int | None:
    # The domain's LIKE (case-sensitive, ILIKE folding with Python's lower()), so SQLite answers
    # exactly as the memory oracle does; SQLite's own LIKE folds ASCII only and ignores case.
    if value is None or pattern is None:
        return None
    return int(like(value, pattern, ignore_case=bool(ignore_case)))


def _sqlite_regexp(value: str | None, pattern: str | None) -> int | None:
    # The domain's RLIKE (the parser has already refused a pattern Python cannot compile).
    if value is None or pattern is None:
        return None
    return int(regex(pattern).search(value) is not None)


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in url
        if not in_memory:
            folder = os.path.dirname(os.path.abspath(database))
            if os.path.isdir(database):
                raise InvalidParameterValue(f"Cannot open the SQLite database {database!r}: it is a folder")
            if not os.path.isdir(folder):
                raise InvalidParameterValue(
                    f"Cannot create the SQLite database {database!r}: the folder {folder!r} does not exist"
                )
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False, "isolation_level": None}
        }
        if in_memory:
            kwargs["poolclass"] = StaticPool
        engine = sa.create_engine(url, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL is switched on by SqlDatabase once the schema check has accepted the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            cursor.close()
            dbapi_connection.create_function("genesis_like", 3, _sqlite_like, deterministic=True)
            dbapi_connection.create_function("genesis_regexp", 2, _sqlite_regexp, deterministic=True)

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(_BEGIN[conn.info.get("genesis_begin", "DEFERRED")])

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


def _binder(order: list[str] | None) -> Callable[[dict[str, Any]], Any]:
    """Named values -> what the driver takes: the dict itself for named paramstyles, else a tuple
    in the statement's order (itemgetter builds it in C: this runs once per row of a batch)."""
    if order is None:
        return lambda values: values
    if len(order) == 1:
        name = order[0]
        return lambda values: (values[name],)
    if not order:
        return lambda values: ()
    return operator.itemgetter(*order)


class Prepared:
    """A statement compiled once for the engine's dialect and sent with ``exec_driver_sql``.

    The hot paths (log_metric, log_batch, create_run, metric history) run a handful of small
    statements per call; rebuilding and cache-keying a Core construct each time costs more than
    SQLite takes to run it. Statements go through the Connection, so events (and the statement
    counter of the tests) still see them. Values bypass SQLAlchemy's type processing: pass plain
    ints, floats, strings, bools and None.
    """

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled: Any = statement.compile(dialect=dialect)  # an SQLCompiler: positional, positiontup
        self.sql = compiled.string
        order = list(compiled.positiontup or []) if compiled.positional else None
        self._bind = _binder(order)
        # The values of literals the statement holds (a CASE's 0 and 1...), sent with every run.
        self._literals = {k: v for k, v in compiled.params.items() if v is not None}

    def run(self, conn: Connection, values: dict[str, Any] | None = None) -> Any:
        if self._literals:
            values = {**self._literals, **(values or {})}
        return conn.exec_driver_sql(self.sql, self._bind(values or {}))

    def run_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> Any:
        return conn.exec_driver_sql(self.sql, list(map(self._bind, rows)))


class SqlDatabase:
    """An engine plus the rules for using it: one short transaction per store call.

    Build with :meth:`from_uri`, or hand in an engine (tests). Opening checks the schema
    (:func:`~.migrations.ensure_schema`): an empty database is created, an older SQLite one is
    upgraded, anything else that does not match is refused with a :class:`~.errors.SchemaError`.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        uri: str | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
        target_version: int = SCHEMA_VERSION,
        upgrade: bool | None = None,
        statement_timeout_ms: int | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        if statement_timeout_ms is None:
            statement_timeout_ms = uri_statement_timeout_ms(uri) if uri else DEFAULT_STATEMENT_TIMEOUT_MS
        self.statement_timeout_ms = statement_timeout_ms
        if self.dialect == "postgresql":
            self._limit_statements(statement_timeout_ms)
        self.where = redact_uri(uri or engine.url.render_as_string(hide_password=True))
        # What the redaction hides, for driver messages that quote an option's value.
        self.hidden = hidden_values(uri) if uri else ()
        self._uri = uri or self.where
        self._prepared: dict[Hashable, Prepared] = {}
        self._prepare_lock = threading.Lock()
        # An in-memory SQLite database is one shared connection: serialise its transactions.
        self._serial = threading.RLock() if isinstance(engine.pool, StaticPool) else None
        if upgrade is None:
            # SQLite is single-user and embedded: upgrading on open is what its user expects.
            # A shared PostgreSQL is upgraded on purpose, with `genesis db upgrade URI`.
            upgrade = self.dialect == "sqlite"
        self.schema_versions: tuple[int | None, int] = self.transact(
            lambda conn: ensure_schema(
                conn, self._uri, migrations=migrations, target_version=target_version, upgrade=upgrade
            ),
            write=True,
            exclusive=True,
        )
        """What the schema check at open did: (version found, version now); found is None when
        the database was empty and has just been created."""
        if self.is_sqlite and self._serial is None:
            self._use_wal()

    def _limit_statements(self, timeout_ms: int) -> None:
        @sa.event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # A session setting, committed at once: the pool's rollback on return would undo it.
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
            cursor.close()
            dbapi_connection.commit()

    def _use_wal(self) -> None:
        # The journal mode is written into the file's header, so it is switched only after the
        # schema check has accepted the database: one that is not ours (MLflow's) stays byte for
        # byte as it was. SQLite refuses the switch inside a transaction, hence the raw
        # connection; on a file already in WAL mode this is a no-op.
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
        except sqlite3.OperationalError as error:
            detail = redact_text(str(error), self.hidden)
            raise TemporarilyUnavailable(f"Cannot switch {self.where} to WAL mode: {detail}") from None
        finally:
            raw.close()

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> SqlDatabase:
        try:
            engine = _create_engine(normalize_uri(uri))
        except GenesisError:
            raise
        except Exception as error:  # a malformed URL or a missing driver
            detail = redact_text(str(error), hidden_values(uri))
            raise InvalidParameterValue(f"Cannot open {redact_uri(uri)!r}: {detail}") from None
        return cls(engine, uri=uri, **kwargs)

    def prepare(self, key: Hashable, build: Callable[[], sa.ClauseElement]) -> Prepared:
        """The statement ``build`` makes, compiled once per database under ``key``. Keys may
        describe query shapes (searches): the oldest statements are dropped past a bound."""
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = Prepared(build(), self.engine.dialect)
            with self._prepare_lock:
                if len(self._prepared) >= _MAX_PREPARED:
                    del self._prepared[next(iter(self._prepared))]
                self._prepared[key] = prepared
        return prepared

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()

    def _run(self, work: Callable[[Connection], T], write: bool, exclusive: bool) -> T:
        with self.engine.connect() as conn:
            if self.is_sqlite:
                # Read by the "begin" listener; Connection.info lives as long as the pooled connection,
                # so this costs a dict write, not an execution-options copy.
                conn.info["genesis_begin"] = (
                    "EXCLUSIVE" if exclusive else "IMMEDIATE" if write else "DEFERRED"
                )
            with conn.begin():
                if not write and self.dialect == "postgresql":
                    # A read of several statements (a page, then its related rows) sees one
                    # snapshot, as a SQLite read transaction does, not writes committed in between.
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if exclusive and self.dialect == "postgresql":
                    # Every process that opens or upgrades the schema takes this lock first, and
                    # waits for it (and upgrades) however long that takes: an upgrade cut short
                    # by the statement timeout would only be started again by the next process.
                    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('genesis-flow-schema'))"))
                return work(conn)

    def transact(self, work: Callable[[Connection], T], *, write: bool = False, exclusive: bool = False) -> T:
        """Run ``work`` in one transaction and return its result; domain errors pass through
        (and roll back), driver errors become domain errors. Transient conflicts (locks, deadlocks,
        serialization failures) are retried a few times with a short random back-off."""
        for attempt in range(_RETRIES + 1):
            try:
                if self._serial is not None:
                    with self._serial:
                        return self._run(work, write, exclusive)
                return self._run(work, write, exclusive)
            except (sa.exc.SQLAlchemyError, UnicodeEncodeError) as error:
                if errors.is_transient(error) and attempt < _RETRIES:
                    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
                    continue
                raise errors.translate(
                    error, self.where, self.hidden, statement_timeout_ms=self.statement_timeout_ms
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def read_page(
        self,
        query: sa.Select[Any],
        request: PageRequest,
        load: Callable[[Connection, Sequence[Any]], Iterable[T]],
    ) -> Page[T]:
        """The page ``request`` asks for of ``query``'s rows, in one read transaction. The query
        fetches one row more than the page holds (is there a next page?), and ``load`` builds the
        entities of the page's rows only, with the same connection (related tables)."""

        def work(conn: Connection) -> Page[T]:
            rows = request.page(conn.execute(query.limit(request.fetch).offset(request.offset)).all())
            return Page(tuple(load(conn, rows.items)), rows.next_page_token)

        return self.transact(work)
