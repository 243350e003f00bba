"""Driver errors -> domain errors, in one place.

Every public store method runs its SQL through :meth:`SqlDatabase.transact`, which calls
:func:`translate` on whatever SQLAlchemy raises; store code never sees a driver exception except
the ones it asks about (:func:`is_unique_violation`), and users never see one at all.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy.exc as sa_exc

from genesis_flow.core.errors import (
    GenesisError,
    InternalError,
    InvalidParameterValue,
    InvalidState,
    TemporarilyUnavailable,
)
from genesis_flow.core.redaction import redact_text
from genesis_flow.core.validation import unstorable_text_error


class SchemaError(InvalidState):
    """The database holds a schema this version cannot use as it is (see the message)."""


class SchemaOutdated(SchemaError):
    """The database has an older Genesis-Flow schema that must be upgraded first."""


class SchemaTooNew(SchemaError):
    """The database was upgraded by a newer Genesis-Flow than this one."""


class ForeignDatabase(SchemaError):
    """The database belongs to MLflow or another program; Genesis-Flow never alters it."""


def is_unique_violation(error: BaseException) -> bool:
    return isinstance(error, sa_exc.IntegrityError) and (
        "unique" in str(error.orig).lower() or getattr(error.orig, "sqlstate", None) == "23505"
    )


def is_transient(error: BaseException) -> bool:
    """A conflict that a retry of the whole transaction resolves (lock wait ran out, deadlock,
    serialization failure)."""
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database table is locked" in text


# SQLite's limits on one statement's shape (joins, expression depth, bind parameters...): the
# statement asked too much, which is no connectivity problem. Searches stay within them (the
# parser bounds filters); should one still be reached, the caller hears it as a bad request.
_SQLITE_STATEMENT_LIMITS = (
    "too many from clause terms",
    "at most 64 tables in a join",
    "expression tree is too large",
    "too many sql variables",
    "too many terms in compound select",
    "too many columns",
    "parser stack overflow",
    "like or glob pattern too complex",
    "string or blob too big",
)
_QUERY_CANCELED = "57014"


def translate(
    error: BaseException, where: str, hidden: Iterable[str] = (), *, statement_timeout_ms: int | None = None
) -> GenesisError:
    """The domain error for a driver error raised while talking to ``where`` (a redacted URI);
    ``hidden``: what the redaction of that URI hid, should the driver's message quote it;
    ``statement_timeout_ms``: the session's statement timeout, named when the server cancels a
    statement.

    A cancelled statement is TEMPORARILY_UNAVAILABLE (HTTP 503), as MLflow's SQL store reports
    the database's operational errors: the same call may pass on a less busy server, and a
    filter within the parser's limits is no invalid parameter."""
    if isinstance(error, GenesisError):
        return error
    # Text no backend can store is refused in the domain before any statement; should some path
    # still pass it on, the drivers' refusals are the same mistake: SQLite's and psycopg's
    # encoders raise UnicodeEncodeError, psycopg refuses a NUL before sending.
    encoding = error if isinstance(error, UnicodeEncodeError) else getattr(error, "orig", None)
    if isinstance(encoding, UnicodeEncodeError) and isinstance(encoding.object, str):
        return unstorable_text_error(encoding.object)
    if isinstance(error, sa_exc.DataError) and "NUL (0x00)" in str(error.orig):
        return unstorable_text_error("\x00")
    hidden = tuple(hidden)
    if getattr(getattr(error, "orig", None), "sqlstate", None) == _QUERY_CANCELED:
        limit = "" if statement_timeout_ms is None else f" of {statement_timeout_ms} ms"
        return TemporarilyUnavailable(
            f"The database at {where} cancelled a statement that ran longer than the statement"
            f" timeout{limit} (URI option genesis_statement_timeout_ms); narrow the query or retry"
            " when the database is less busy."
        )
    if isinstance(error, sa_exc.OperationalError) and any(
        limit in str(error.orig).lower() for limit in _SQLITE_STATEMENT_LIMITS
    ):
        return InvalidParameterValue(
            f"The query is too complex for the database at {where}: {_first_line(error.orig, hidden)}"
        )
    if is_transient(error):
        return TemporarilyUnavailable(
            f"The database at {where} stayed busy (locked by other writers) for longer than the"
            " busy timeout; retry the call."
        )
    if isinstance(error, sa_exc.DataError):
        return InvalidParameterValue(f"The database rejected a value: {_first_line(error.orig, hidden)}")
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)):
        detail = _first_line(getattr(error, "orig", None) or error, hidden)
        return TemporarilyUnavailable(f"Cannot reach the database at {where}: {detail}")
    if isinstance(error, sa_exc.SQLAlchemyError):
        detail = _first_line(getattr(error, "orig", None) or error, hidden)
        return InternalError(f"Unexpected database error at {where}: {detail}")
    return InternalError(f"Unexpected error at {where}: {type(error).__name__}: {_first_line(error, hidden)}")


def _first_line(error: object, hidden: tuple[str, ...]) -> str:
    text = str(error).strip()
    return redact_text(text.splitlines()[0], hidden) if text else type(error).__name__
