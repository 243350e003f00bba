"""The composition root: URI scheme -> adapter builder. The only module that imports adapters.

Drivers and adapters are imported inside the builder functions, so ``import genesis_flow`` (and
importing this module) loads no database driver. Third-party backends plug in through the
entry-point group ``genesis_flow.backends``: the entry point's name is the URI scheme and its
value an object (often a module) with ``build_tracking_store(uri, clock=None)`` and/or
``build_registry_store(uri, clock=None)``.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from genesis_flow.core.diagnostics import DatabaseKind
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.validation import text_problem
from genesis_flow.entrypoints.extras import install_hint
from genesis_flow.ports import (
    ArtifactStore,
    Clock,
    Diagnosable,
    RegistryStore,
    TracingTrackingStore,
    TrackingStore,
)

if TYPE_CHECKING:
    from genesis_flow.adapters.mongo.database import MongoDatabase

ENTRY_POINT_GROUP = "genesis_flow.backends"
# With nothing configured, data lives in SQLite in the working directory: no server at all.
DEFAULT_DATABASE_FILE = "genesis.db"
DEFAULT_TRACKING_URI = f"sqlite:///{DEFAULT_DATABASE_FILE}"
DEFAULT_ARTIFACT_ROOT = "./genesis-artifacts"

TRACKING_URI_VARS = ("GENESIS_TRACKING_URI", "MLFLOW_TRACKING_URI")
REGISTRY_URI_VARS = ("GENESIS_REGISTRY_URI", "MLFLOW_REGISTRY_URI")

TrackingBuilder = Callable[[str, "Clock | None", "str | None"], TrackingStore]
RegistryBuilder = Callable[[str, "Clock | None"], RegistryStore]


def unprefixed_uri(uri: str) -> str:
    """``uri`` without the ``genesis+`` prefix of a plugin scheme (``genesis+sqlite:///x.db`` is
    ``sqlite:///x.db``); any other URI unchanged. The prefix is matched case-insensitively, as
    schemes are."""
    head, colon, rest = uri.partition(":")
    if colon and head.lower() in PREFIXED_SCHEMES:
        return head[len(GENESIS_PREFIX) :] + colon + rest
    return uri


def plugin_uri(uri: str) -> str | None:
    """The URI real ``mlflow`` reaches the store at ``uri`` with, through our plugin: the
    ``genesis+`` form of a SQL or ``memory:`` URI (``genesis+sqlite:///x.db`` for
    ``sqlite:///x.db``; a prefixed URI unchanged), a MongoDB URI as it is. None for a scheme the
    plugin does not serve (a third-party backend)."""
    plain = unprefixed_uri(uri)
    scheme = _scheme(plain)
    if scheme in MONGO_SCHEMES:
        return plain
    if scheme in (*SQL_SCHEMES, "memory"):
        return GENESIS_PREFIX + plain
    return None


def resolve_tracking_uri(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Explicit argument, then ``GENESIS_TRACKING_URI``, then ``MLFLOW_TRACKING_URI``, then the default."""
    return _first(explicit, env, TRACKING_URI_VARS) or DEFAULT_TRACKING_URI


def resolve_registry_uri(
    explicit: str | None = None, env: Mapping[str, str] | None = None, tracking_uri: str | None = None
) -> str:
    """Explicit, ``GENESIS_REGISTRY_URI``, ``MLFLOW_REGISTRY_URI``, else the tracking URI."""
    return _first(explicit, env, REGISTRY_URI_VARS) or resolve_tracking_uri(tracking_uri, env)


def _first(explicit: str | None, env: Mapping[str, str] | None, names: tuple[str, ...]) -> str | None:
    if explicit:
        return explicit
    source = os.environ if env is None else env
    return next((source[n] for n in names if source.get(n)), None)


# --- built-in backends ---------------------------------------------------------------------------

_memory_lock = threading.Lock()
_memory_stores: dict[str, Any] = {}


def _shared_memory(kind: str, factory: Callable[[], Any]) -> Any:
    # `memory:` is one store per process, so the fluent API, the client and the CLI in one
    # process see the same data.
    with _memory_lock:
        if kind not in _memory_stores:
            _memory_stores[kind] = factory()
        return _memory_stores[kind]


def reset_memory_stores() -> None:
    """Forget the process-wide ``memory:`` stores and SQL engines (tests, `genesis demo` re-runs)."""
    with _memory_lock:
        _memory_stores.clear()
    with _sql_lock:
        for database in _sql_databases.values():
            database.dispose()
        _sql_databases.clear()
    with _mongo_lock:
        for database in _mongo_databases.values():
            database.close()
        _mongo_databases.clear()


def resolved_local_uri(uri: str) -> str:
    """``uri`` made absolute against the working directory when it is a relative local path
    (``dir``, ``./dir``) or a relative ``file:`` URI (``file:dir`` becomes ``file:///<cwd>/dir``,
    its query and fragment kept), as MLflow's stores resolve artifact roots and experiments'
    artifact locations: the database outlives the working directory. Anything else (an absolute
    path, ``file:///...``, ``s3://``, ``wasbs://``, ``mlflow-artifacts:``...) is kept as given."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri  # not a URI we can read; the store that uses it says what is wrong
    if not parts.scheme or (len(parts.scheme) == 1 and os.name == "nt"):  # a path; C:... on Windows
        return uri if os.path.isabs(uri) else os.path.abspath(uri)
    if parts.scheme == "file" and not parts.netloc and parts.path and not parts.path.startswith("/"):
        return urlunsplit(("file", "", os.path.abspath(parts.path), parts.query, parts.fragment))
    return uri


def resolve_artifact_root(artifact_root: str | None = None) -> str:
    """Where a store built here puts new experiments' artifacts: ``artifact_root``, else
    ``./genesis-artifacts``, made absolute by :func:`resolved_local_uri`."""
    return resolved_local_uri(artifact_root or DEFAULT_ARTIFACT_ROOT)


def _memory_tracking(uri: str, clock: Clock | None, artifact_root: str | None = None) -> TracingTrackingStore:
    from genesis_flow.adapters.memory import InMemoryTrackingStore

    # Absolute, as for the other stores: a run's artifact URI must not move with the cwd.
    root = resolve_artifact_root(artifact_root)
    if clock is not None:
        return InMemoryTrackingStore(clock=clock, artifact_root=root)
    kind = "tracking" if artifact_root is None else f"tracking:{root}"
    store: TracingTrackingStore = _shared_memory(kind, lambda: InMemoryTrackingStore(artifact_root=root))
    return store


def _memory_registry(uri: str, clock: Clock | None) -> RegistryStore:
    from genesis_flow.adapters.memory import InMemoryRegistryStore

    if clock is not None:
        return InMemoryRegistryStore(clock=clock)
    store: RegistryStore = _shared_memory("registry", InMemoryRegistryStore)
    return store


_sql_lock = threading.Lock()
_sql_databases: dict[str, Any] = {}


def _sql_database(uri: str) -> Any:
    # One engine (and one schema check) per URI and process, shared by the tracking and registry
    # stores, as MLflow caches one store per URI.
    from genesis_flow.adapters.sql import SqlDatabase

    with _sql_lock:
        if uri not in _sql_databases:
            _sql_databases[uri] = SqlDatabase.from_uri(uri)
        return _sql_databases[uri]


def _sql_tracking(uri: str, clock: Clock | None, artifact_root: str | None = None) -> TracingTrackingStore:
    from genesis_flow.adapters.sql import SqlTrackingStore

    return SqlTrackingStore(
        _sql_database(uri), clock=clock, artifact_root=resolve_artifact_root(artifact_root)
    )


def _sql_registry(uri: str, clock: Clock | None) -> RegistryStore:
    from genesis_flow.adapters.sql import SqlRegistryStore

    return SqlRegistryStore(_sql_database(uri), clock=clock)


_mongo_lock = threading.Lock()
_mongo_databases: dict[str, Any] = {}


def _mongo_database_type(uri: str) -> type[MongoDatabase]:
    # A Cosmos DB host, or genesis_cosmos=true in the URI, gets Cosmos DB's policies.
    try:
        from genesis_flow.adapters.cosmos import CosmosDatabase, is_cosmos_uri
        from genesis_flow.adapters.mongo import MongoDatabase
    except ImportError as error:
        raise InvalidParameterValue(
            f"'{_scheme(uri)}://' needs the MongoDB driver: {install_hint('mongo')} ({error})"
        ) from None
    return CosmosDatabase if is_cosmos_uri(uri) else MongoDatabase


def _mongo_database(uri: str) -> Any:
    # One client (one connection pool) per URI and process, shared by both stores.
    with _mongo_lock:
        if uri not in _mongo_databases:
            _mongo_databases[uri] = _mongo_database_type(uri).from_uri(uri)
        return _mongo_databases[uri]


def _mongo_tracking(uri: str, clock: Clock | None, artifact_root: str | None = None) -> TracingTrackingStore:
    database = _mongo_database(uri)
    from genesis_flow.adapters.mongo import MongoTrackingStore

    return MongoTrackingStore(database, clock=clock, artifact_root=resolve_artifact_root(artifact_root))


def _mongo_registry(uri: str, clock: Clock | None) -> RegistryStore:
    database = _mongo_database(uri)
    from genesis_flow.adapters.mongo import MongoRegistryStore

    return MongoRegistryStore(database, clock=clock)


SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
MONGO_SCHEMES = ("mongodb", "mongodb+srv")
# Real mlflow keeps `sqlite://` and `postgresql://` for its own stores (a plugin scheme would replace
# them), so our plugin serves the SQL and memory backends under prefixed names; Genesis-Flow itself
# accepts both spellings and strips the prefix (ADR 22).
GENESIS_PREFIX = "genesis+"
PREFIXED_SCHEMES = tuple(GENESIS_PREFIX + s for s in (*SQL_SCHEMES, "memory"))
_TRACKING: dict[str, TrackingBuilder] = {"memory": _memory_tracking}
_REGISTRY: dict[str, RegistryBuilder] = {"memory": _memory_registry}
for _sql_scheme in SQL_SCHEMES:
    _TRACKING[_sql_scheme] = _sql_tracking
    _REGISTRY[_sql_scheme] = _sql_registry
for _mongo_scheme in MONGO_SCHEMES:
    _TRACKING[_mongo_scheme] = _mongo_tracking
    _REGISTRY[_mongo_scheme] = _mongo_registry

# Schemes DESIGN.md assigns to adapters that have not landed in this version.
_PLANNED: dict[str, str] = {}


# --- building --------------------------------------------------------------------------------------


def build_tracking_store(
    uri: str | None = None, *, clock: Clock | None = None, artifact_root: str | None = None
) -> TrackingStore:
    """The TrackingStore for ``uri`` (resolved as :func:`resolve_tracking_uri` says).

    ``clock`` gives the store a clock of the caller's (tests); with it, ``memory:`` is a fresh
    store rather than the shared one. ``artifact_root`` is where new experiments put their
    artifacts (default ``./genesis-artifacts``; made absolute by :func:`resolved_local_uri`). Raises
    InvalidParameterValue for an unsupported scheme.
    """
    resolved = unprefixed_uri(resolve_tracking_uri(uri))
    builtin = _TRACKING.get(_scheme(resolved))
    if builtin is not None:
        return builtin(resolved, clock, artifact_root)
    build = _plugin_builder(resolved, "build_tracking_store")
    # A third-party builder is asked for artifact_root only when the caller chose one.
    store: TrackingStore = (
        build(resolved, clock)
        if artifact_root is None
        else build(resolved, clock, resolve_artifact_root(artifact_root))
    )
    return store


def build_registry_store(uri: str | None = None, *, clock: Clock | None = None) -> RegistryStore:
    """The RegistryStore for ``uri`` (resolved as :func:`resolve_registry_uri` says)."""
    resolved = unprefixed_uri(resolve_registry_uri(uri))
    builder = _REGISTRY.get(_scheme(resolved)) or _plugin_builder(resolved, "build_registry_store")
    return builder(resolved, clock)


ARTIFACT_SCHEMES = ("file", "wasbs", "wasb", "https")


def build_artifact_store(artifact_uri: str, **options: Any) -> ArtifactStore:
    """The ArtifactStore for an artifact root (a run's ``artifact_uri``): a plain path or
    ``file://`` gives local files; ``wasbs://container@account.blob.core.windows.net/path``,
    ``wasb://`` and ``https://account.blob.core.windows.net/container/path`` give Azure Blob
    Storage (extra ``azure``; credentials as AzureBlobArtifactStore documents). ``options`` go to
    the store (e.g. ``connection_string=``). Raises InvalidParameterValue for another scheme."""
    scheme = urlsplit(artifact_uri).scheme.lower()
    if _is_local_artifact_scheme(scheme):
        from genesis_flow.adapters.blob.local import LocalArtifactStore

        return LocalArtifactStore(artifact_uri, **options)
    if scheme in ("wasbs", "wasb", "https"):
        try:
            from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore
        except ImportError as error:
            raise InvalidParameterValue(
                f"'{scheme}://' artifacts need the Azure SDK: {install_hint('azure')} ({error})"
            ) from None
        return AzureBlobArtifactStore.from_uri(artifact_uri, **options)
    raise InvalidParameterValue(
        f"Unsupported artifact URI scheme {scheme!r}; expected a local path, file://, wasbs:// or"
        " https://<account>.blob.core.windows.net/..."
    )


def _is_local_artifact_scheme(scheme: str) -> bool:
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")  # a Windows drive letter


def local_artifact_directory(artifact_uri: str) -> str | None:
    """The absolute local directory of a local artifact root (a path or ``file:`` URI), None for
    a remote one (Azure Blob). Raises InvalidParameterValue as the local store refuses the URI."""
    if not _is_local_artifact_scheme(urlsplit(artifact_uri).scheme.lower()):
        return None
    from genesis_flow.adapters.blob.local import local_root

    return local_root(artifact_uri)


# --- operations on a database, not through a store -----------------------------------------------


def build_diagnostics(uri: str, *, connect_timeout_s: float) -> Diagnosable | None:
    """What diagnoses the database at ``uri`` without opening it as a store (which would create
    or upgrade a schema): ``genesis doctor``. None for a backend with no database of ours to look
    at (``memory:``, third-party schemes). Raises InvalidParameterValue for a URI that cannot be
    read, or a driver that is not installed."""
    uri = unprefixed_uri(uri)
    scheme = _scheme(uri)
    if scheme in SQL_SCHEMES:
        from genesis_flow.adapters.sql.diagnostics import SqlDiagnostics

        return SqlDiagnostics(uri, connect_timeout_s=connect_timeout_s)
    if scheme in MONGO_SCHEMES:
        database_type = _mongo_database_type(uri)
        from genesis_flow.adapters.mongo.diagnostics import MongoDiagnostics

        return MongoDiagnostics(uri, database_type=database_type, connect_timeout_s=connect_timeout_s)
    return None


def sql_database_kind(uri: str) -> DatabaseKind | None:
    """Whose data the SQL database at ``uri`` holds (MLflow's is read with MLflow by
    ``genesis migrate``), looked at without changing anything; None for a URI that is not SQL.
    Raises InvalidParameterValue when it cannot be opened."""
    uri = unprefixed_uri(uri)
    if _scheme(uri) not in SQL_SCHEMES:
        return None
    from genesis_flow.adapters.sql.diagnostics import database_kind

    return database_kind(uri)


def upgrade_sql_schema(uri: str) -> tuple[int | None, int]:
    """Bring the schema of the SQL database at ``uri`` to this release's version (creating it in
    an empty database); returns (version found, None when it was empty; version now). Raises as
    opening a SQL store does (an MLflow database, a newer schema) and InvalidParameterValue for a
    URI that is not SQL."""
    from genesis_flow.adapters.sql.database import SqlDatabase

    database = SqlDatabase.from_uri(unprefixed_uri(uri), upgrade=True)
    try:
        return database.schema_versions
    finally:
        database.dispose()


def supported_schemes() -> list[str]:
    return sorted(set(_TRACKING) | set(PREFIXED_SCHEMES) | {ep.name for ep in _entry_points()})


def _scheme(uri: str) -> str:
    # The URI is not quoted in these messages: it may carry a password.
    problem = text_problem(uri)
    if problem is not None:
        raise InvalidParameterValue(f"Invalid tracking URI: {problem}")
    try:
        scheme = urlsplit(uri).scheme.lower()
    except ValueError as error:  # e.g. an unclosed IPv6 bracket
        raise InvalidParameterValue(f"Invalid tracking URI: {error}") from None
    if not scheme:
        raise InvalidParameterValue(
            f"Tracking URI {uri!r} has no scheme: a path names MLflow's file store (mlruns), which"
            f" Genesis-Flow does not open as a store: {migrate_hint(uri)}. Expected one of"
            f" {supported_schemes()}, e.g. 'memory:'"
        )
    return scheme


def migrate_hint(source: str) -> str:
    """How to bring MLflow's store at ``source`` (a path, ``file:`` URI or database URI) into a
    Genesis-Flow store: the one wording of it, for errors and notes alike."""
    return f"copy it with `genesis migrate --from {shlex.quote(source)}`"


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _plugin_builder(uri: str, function: str) -> Callable[..., Any]:
    scheme = _scheme(uri)
    for entry_point in _entry_points():
        if entry_point.name.lower() == scheme:
            backend = entry_point.load()
            build = getattr(backend, function, None)
            if build is None:
                raise InvalidParameterValue(
                    f"The {scheme!r} backend ({entry_point.value}) does not provide {function}"
                )
            return lambda u, clock, *root: build(
                u, clock=clock, **({"artifact_root": root[0]} if root else {})
            )
    raise InvalidParameterValue(_unsupported(scheme, uri))


def _unsupported(scheme: str, uri: str) -> str:
    supported = supported_schemes()
    if scheme in ("http", "https"):
        return (
            f"'{scheme}://' names an MLflow tracking server; Genesis-Flow talks to your database"
            f" directly, without a server. Use one of the supported schemes: {supported}"
        )
    if scheme in _PLANNED:
        return (
            f"'{scheme}://' needs the {_PLANNED[scheme]} adapter, which this version of Genesis-Flow"
            f" does not include yet. Supported schemes: {supported}"
        )
    if scheme == "file":
        # MLflow's file store, which Genesis-Flow reads only to copy it.
        return (
            f"'file:' names MLflow's file store (mlruns), which Genesis-Flow does not open as a store:"
            f" {migrate_hint(uri)}. Supported schemes: {supported}"
        )
    return f"Unsupported tracking URI scheme {scheme!r}; expected one of {supported}"
