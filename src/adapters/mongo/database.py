"""One MongoDB database of Genesis-Flow: the client, its collections and indexes, and the one
place where driver errors become domain errors.

Every store call runs its commands through :meth:`MongoDatabase.call`, which retries what is safe
to retry (every write of ours is idempotent, see the stores) and translates what is left: store
code never sees a driver exception except the ones it asks about (duplicate keys), and users
never see one at all. :class:`genesis_flow.adapters.cosmos.CosmosDatabase` adds Cosmos DB's
policies by overriding :meth:`MongoDatabase._retry_delay` and :meth:`MongoDatabase.ensure_indexes`.
"""

from __future__ import annotations

import random
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from bson.errors import InvalidStringData
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    InvalidURI,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from genesis_flow.adapters.mongo.schema import INDEXES
from genesis_flow.core.diagnostics import CosmosReport
from genesis_flow.core.errors import (
    GenesisError,
    InternalError,
    InvalidParameterValue,
    InvalidState,
    TemporarilyUnavailable,
)
from genesis_flow.core.redaction import hidden_values, redact_text
from genesis_flow.core.redaction import redact_uri as redact
from genesis_flow.core.validation import unstorable_text_error

T = TypeVar("T")

DEFAULT_DATABASE = "genesis"
# Options of ours that may appear in a URI; they are removed before pymongo parses it.
OUR_OPTIONS = ("genesis_cosmos", "genesis_retry_budget_ms")
DUPLICATE_KEY = 11000
# Attempts for a call that failed on the network (the reply may have been lost): our writes are
# idempotent, so sending one again is safe.
NETWORK_ATTEMPTS = 3
# Concurrent writes to one document (a counter, a run) may be refused as a write conflict, which
# the server applied nothing of.
WRITE_CONFLICT = (112,)
_INVALID_REGEX = 51091
CONFLICT_ATTEMPTS = 20


class MongoTarget:
    """What a ``mongodb://`` URI says, with our own options taken out of it."""

    def __init__(self, uri: str) -> None:
        self.redacted = redact(uri)
        # What the redaction hides, for driver messages that quote an option's value.
        self.hidden = hidden_values(uri)
        scheme, sep, rest = uri.partition("://")
        if not sep or scheme not in ("mongodb", "mongodb+srv"):
            raise InvalidParameterValue(f"Not a MongoDB URI: {self.redacted!r}")
        if "@" in rest:
            userinfo = rest.rsplit("@", 1)[0]
            if any(c in userinfo for c in "/?#@[]") or userinfo.count(":") > 1:
                # Parsed as it is, part of the password would be read as host, path or options
                # (and could end up in an error message).
                raise InvalidParameterValue(
                    f"The user name and password in the MongoDB URI {self.redacted!r} must be"
                    " percent-encoded (urllib.parse.quote_plus)."
                )
        parts = urlsplit(uri)
        self.options = parse_qsl(parts.query, keep_blank_values=True)
        options = self.options
        ours = {k.lower(): val for k, val in options if k.lower() in OUR_OPTIONS}
        kept = [(k, val) for k, val in options if k.lower() not in OUR_OPTIONS]
        path = unquote(parts.path.lstrip("/"))
        self.database = path or DEFAULT_DATABASE
        if any(c in self.database for c in '/\\. "$\x00'):
            raise InvalidParameterValue(
                f"Invalid MongoDB database name {self.database!r} in {self.redacted!r}"
            )
        # The path stays (it is also the authentication database when authSource is absent);
        # our options go, since pymongo rejects options it does not know.
        query = urlencode(kept)
        self.client_uri = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}" + (
            f"?{query}" if query else ""
        )
        self.hosts = [h.rsplit("@", 1)[-1].split(":")[0].lower() for h in parts.netloc.split(",")]
        flag = ours.get("genesis_cosmos", "").lower()
        if flag not in ("", "true", "false", "1", "0"):
            raise InvalidParameterValue(f"genesis_cosmos must be true or false, got {flag!r}")
        self.cosmos_host = any(h.endswith(".cosmos.azure.com") for h in self.hosts)
        self.cosmos = flag in ("true", "1") or (flag == "" and self.cosmos_host)
        budget = ours.get("genesis_retry_budget_ms")
        try:
            self.retry_budget_ms = int(budget) if budget else None
        except ValueError:
            raise InvalidParameterValue(
                f"genesis_retry_budget_ms must be an integer, got {budget!r}"
            ) from None


class MongoDatabase:
    """A MongoDB database used by the Mongo stores. Thread-safe (pymongo's client is)."""

    cosmos = False

    def __init__(
        self,
        client: MongoClient[dict[str, Any]],
        name: str,
        *,
        where: str,
        retry_budget_ms: int | None = None,
        hidden: tuple[str, ...] = (),
        cosmos_host: bool = False,
    ) -> None:
        self.client = client
        self.db = client[name]
        self.name = name
        self.where = where
        self.hidden = hidden
        self.retry_budget_ms = retry_budget_ms
        self.cosmos_host = cosmos_host  # a Cosmos DB host, whether or not its policies are on
        self._indexes_ready = False
        self._index_lock = threading.Lock()
        self.retries = 0  # calls sent again after a retryable failure (tests report it)

    @classmethod
    def from_uri(cls, uri: str, **client_options: Any) -> MongoDatabase:
        """The database a ``mongodb://`` URI names (default ``genesis``). A Cosmos DB host (or
        ``genesis_cosmos=true``) gives a :class:`~genesis_flow.adapters.cosmos.CosmosDatabase`
        only through the composition root; this class is always plain MongoDB."""
        target = MongoTarget(uri)
        return cls(
            make_client(target, **client_options),
            target.database,
            where=target.redacted,
            retry_budget_ms=target.retry_budget_ms,
            hidden=target.hidden,
            cosmos_host=target.cosmos_host,
        )

    def __getitem__(self, collection: str) -> Collection[dict[str, Any]]:
        return self.db[collection]

    def close(self) -> None:
        self.client.close()

    # --- calls -----------------------------------------------------------------------------------

    def call(self, work: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run ``work`` (which issues commands), retrying what the policy allows, and turn any
        driver error left into a domain error. ``work`` must be safe to run again when
        ``idempotent`` (every write of ours is, except counter increments)."""
        self.ensure_indexes()
        return self._call(work, idempotent=idempotent)

    def _call(self, work: Callable[[], T], *, idempotent: bool = True) -> T:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return work()
            except GenesisError:
                raise
            except DuplicateKeyError:
                raise
            except (UnicodeEncodeError, InvalidStringData) as error:
                # Text no backend can store is refused in the domain before any command; should
                # some path still pass it on, BSON's refusal to encode it is the same mistake.
                raise self.translate(error) from None
            except PyMongoError as error:
                delay = self._retry_delay(error, attempt, started, idempotent)
                if delay is None:
                    raise self.translate(error) from None
            self.retries += 1
            time.sleep(delay)

    def _retry_delay(
        self, error: PyMongoError, attempt: int, started: float, idempotent: bool
    ) -> float | None:
        """Seconds to wait before sending ``work`` again, or None to give up. MongoDB: a lost
        connection (the reply may be lost too) is retried a few times when the work is idempotent;
        pymongo itself already retries one failed read or retryable write."""
        if isinstance(error, OperationFailure) and (
            error.code in WRITE_CONFLICT or error.has_error_label("TransientTransactionError")
        ):
            # The server applied nothing: sending it again is safe even for an increment.
            return 0.005 * attempt * (1 + random.random()) if attempt < CONFLICT_ATTEMPTS else None
        if (
            idempotent
            and isinstance(error, AutoReconnect)
            and not isinstance(error, ServerSelectionTimeoutError)
            and attempt < NETWORK_ATTEMPTS
        ):
            return 0.05 * attempt * (1 + random.random())
        return None

    def translate(self, error: BaseException) -> GenesisError:
        """The domain error for a driver error raised while talking to this database."""
        if isinstance(error, GenesisError):
            return error
        if isinstance(error, UnicodeEncodeError) and isinstance(error.object, str):
            return unstorable_text_error(error.object)
        if isinstance(error, InvalidStringData):
            return InvalidParameterValue(f"A value cannot be stored: {self._driver_text(error)}")
        if isinstance(error, DocumentTooLarge):
            return InvalidParameterValue(f"A document would exceed the server's size limit: {error}")
        if isinstance(error, (ConnectionFailure, ServerSelectionTimeoutError)):
            return TemporarilyUnavailable(f"Cannot reach MongoDB at {self.where}: {self._driver_text(error)}")
        if isinstance(error, (ConfigurationError, InvalidURI)):
            detail = self._driver_text(error)
            return InvalidParameterValue(f"Bad MongoDB configuration for {self.where}: {detail}")
        if isinstance(error, OperationFailure) and error.code == _INVALID_REGEX:
            # A pattern Python's re accepts (the parser checked it) that the server's PCRE refuses.
            return InvalidParameterValue(f"Invalid regular expression: {self._driver_text(error)}")
        if isinstance(error, OperationFailure) and error.code in (13, 18, 8000):
            detail = self._driver_text(error)
            return InvalidState(f"MongoDB at {self.where} refused the credentials or the operation: {detail}")
        return InternalError(
            f"Unexpected MongoDB error at {self.where}: {type(error).__name__}: {self._driver_text(error)}"
        )

    def _driver_text(self, error: BaseException) -> str:
        # A driver message may quote an option's value (or the whole URI) from the URI.
        return redact_text(_first_line(error), self.hidden)

    # --- schema ------------------------------------------------------------------------------------

    def ensure_indexes(self) -> None:
        """Create the collections' indexes once per process (idempotent on the server)."""
        if self._indexes_ready:
            return
        with self._index_lock:
            if self._indexes_ready:
                return
            self._call(self._create_indexes)
            self._indexes_ready = True

    def _create_indexes(self) -> None:
        for collection, specs in INDEXES.items():
            for spec in specs:
                self.db[collection].create_index(spec.keys, unique=spec.unique, name=spec.name)

    def policy_report(self) -> CosmosReport:
        """The Cosmos DB policies in force: none, on plain MongoDB."""
        return CosmosReport(enabled=False, host_is_cosmos=self.cosmos_host)

    def is_extra_index(self, collection: str, name: str) -> bool:
        """Whether an index missing from INDEXES is still expected there (the server's ``_id_``)."""
        return name == "_id_"

    def drop_all(self) -> None:
        """Remove every collection of ours (tests; ``genesis`` commands that reset a database)."""
        self.client.drop_database(self.name)
        self._indexes_ready = False


_WARNED: dict[Any, Any] = {}  # warnings passed on are shown once, as pymongo's own would be


def make_client(target: MongoTarget, **options: Any) -> MongoClient[dict[str, Any]]:
    in_uri = {k.lower() for k, _ in target.options}
    # Defaults of ours only where the URI is silent: pymongo lets keyword arguments win.
    for name, value in (("serverSelectionTimeoutMS", 10_000), ("uuidRepresentation", "standard")):
        if name.lower() not in in_uri:
            options.setdefault(name, value)
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            client: MongoClient[dict[str, Any]] = MongoClient(target.client_uri, **options)
    except (ConfigurationError, InvalidURI, ValueError, TypeError, OSError) as error:
        # OSError: a TLS key or CA file named in the URI that cannot be read.
        detail = redact_text(_first_line(error), target.hidden)
        raise InvalidParameterValue(f"Bad MongoDB URI {target.redacted}: {detail}") from None
    finally:
        # pymongo's warnings about options may quote a value of the URI: passed on redacted.
        for warning in warned:
            message = redact_text(str(warning.message), target.hidden)
            warnings.warn_explicit(
                message, warning.category, warning.filename, warning.lineno, registry=_WARNED
            )
    return client


def is_duplicate_key(error: BaseException) -> bool:
    if isinstance(error, DuplicateKeyError):
        return True
    if isinstance(error, BulkWriteError):
        errors = error.details.get("writeErrors", [])
        return bool(errors) and all(e.get("code") == DUPLICATE_KEY for e in errors)
    return False


def only_duplicates(error: BulkWriteError) -> bool:
    """True when every failed write of an unordered bulk was a duplicate key (already stored)."""
    details: Mapping[str, Any] = error.details
    errors: Iterable[Mapping[str, Any]] = details.get("writeErrors", [])
    return all(e.get("code") == DUPLICATE_KEY for e in errors) and not details.get("writeConcernErrors")


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__
