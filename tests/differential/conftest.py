"""Fixtures of the differential test: the same user scripts against real MLflow and against us.

- ``reference``: each script run once per session with real ``mlflow`` on a fresh SQLite tracking
  store (MLflow's schema creation is slow, so observations are cached).
- ``ours``: each script run with ``genesis_flow`` on a fresh namespace of each backend id of the
  contract suite (``memory``, ``sql-sqlite``, ``sql-postgres``, ``mongo``, ``cosmos``). A backend
  whose server is unavailable is skipped with its reason, unless GENESIS_REQUIRED_BACKENDS lists
  it: then it fails.
- ``mlflow_side`` / ``plugin_side``: store-level cases (store_sides.py) on MLflow's own
  SqlAlchemyStore and on our plugin's stores, which real mlflow builds from ``genesis+...`` and
  ``mongodb://`` URIs, on the same backend ids.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

from tests.contract.backends import required_backends
from tests.differential.scripts import execute
from tests.differential.store_sides import Case, Side

BACKEND_IDS = ["memory", "sql-sqlite", "sql-postgres", "mongo", "cosmos"]
THROTTLE_RATE = 0.2
THROTTLE_SEED = 20261123

_UNAVAILABLE: dict[str, str] = {}
_TIMINGS: dict[str, dict[str, float]] = {}
_THROTTLING: dict[str, str] = {}


class Unavailable(Exception):
    """The backend cannot run here; the message says why."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --- reference: real MLflow on SQLite ---------------------------------------------------------------


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Any]]:
    """``reference(script)``: the observation of real mlflow (computed once per session)."""
    mlflow = pytest.importorskip("mlflow")
    import mlflow.tracking.fluent as fluent

    cache: dict[str, dict[str, Any]] = {}

    def observe(name: str) -> dict[str, Any]:
        if name not in cache:
            workdir = tmp_path_factory.mktemp(f"mlflow-{name}")
            started = time.perf_counter()
            with _quiet():
                cache[name] = execute(mlflow, name, workdir, f"sqlite:///{workdir}/mlflow.db")
            fluent._active_experiment_id = None  # the next script starts on another store
            _TIMINGS.setdefault("mlflow (reference, sqlite)", {})[name] = time.perf_counter() - started
        return cache[name]

    return observe


# --- ours: genesis_flow on every backend -------------------------------------------------------------

Namespace = Callable[[str, Path], "contextlib.AbstractContextManager[str]"]


@pytest.fixture(scope="session")
def genesis() -> Any:
    import genesis_flow

    if not hasattr(genesis_flow, "start_run"):
        pytest.fail("genesis_flow has no fluent API yet (genesis_flow.start_run is missing)", pytrace=False)
    return genesis_flow


@pytest.fixture(scope="session", params=BACKEND_IDS)
def backend_id(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def ours(
    backend_id: str, genesis: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], dict[str, Any]]]:
    """``ours(script)``: the observation of genesis_flow on ``backend_id`` (once per session)."""
    with contextlib.ExitStack() as stack:
        namespace = open_backend(backend_id, stack)
        cache: dict[str, dict[str, Any]] = {}

        def observe(name: str) -> dict[str, Any]:
            if name not in cache:
                workdir = tmp_path_factory.mktemp(f"{backend_id}-{name}")
                started = time.perf_counter()
                _reset_genesis()
                try:
                    with _quiet(), namespace(name, workdir) as uri:
                        cache[name] = execute(genesis, name, workdir, uri)
                finally:
                    _reset_genesis()
                _TIMINGS.setdefault(backend_id, {})[name] = time.perf_counter() - started
            return cache[name]

        yield observe
        _reset_genesis()


def _reset_genesis() -> None:
    """Between scripts: forget the ``memory:`` stores and database handles, and the API's
    process state (active experiment, run stack, cached clients and stores), as MLflow's fluent
    state is reset on the reference side."""
    from genesis_flow.entrypoints import bootstrap
    from genesis_flow.entrypoints.api import config, state

    bootstrap.reset_memory_stores()
    config.forget_stores()
    state.reset()


def open_backend(backend_id: str, stack: contextlib.ExitStack) -> Namespace:
    """:func:`_open_backend`, or a skip with the reason printed (and listed in the summary), or
    a failure when GENESIS_REQUIRED_BACKENDS lists the backend (CI must run it)."""
    try:
        return _open_backend(backend_id, stack)
    except Unavailable as exc:
        if backend_id in required_backends():
            pytest.fail(
                f"{exc} (GENESIS_REQUIRED_BACKENDS lists {backend_id}: CI must run it)", pytrace=False
            )
        _UNAVAILABLE[backend_id] = str(exc)
        print(f"skipped: {exc}")
        pytest.skip(str(exc))


def _open_backend(backend_id: str, stack: contextlib.ExitStack) -> Namespace:
    """A function giving each script a fresh namespace (a context manager yielding its URI)."""
    if backend_id == "memory":

        @contextlib.contextmanager
        def memory(name: str, workdir: Path) -> Iterator[str]:
            yield "memory:"

        return memory
    if backend_id == "sql-sqlite":

        @contextlib.contextmanager
        def sqlite(name: str, workdir: Path) -> Iterator[str]:
            yield f"sqlite:///{workdir}/genesis.db"

        return sqlite
    if backend_id == "sql-postgres":
        return _postgres(stack)
    if backend_id in ("mongo", "cosmos"):
        return _mongo(backend_id, stack)
    raise Unavailable(f"unknown backend id {backend_id!r}")


def _postgres(stack: contextlib.ExitStack) -> Namespace:
    """One schema per script (the URI's ``options=-csearch_path=...``), dropped after it."""
    uri = os.environ.get("GENESIS_TEST_SQL_POSTGRES_URI")
    if not uri:
        raise Unavailable(
            "backend 'sql-postgres': GENESIS_TEST_SQL_POSTGRES_URI is unset (scripts/services.sh sets it)"
        )
    import sqlalchemy as sa

    from genesis_flow.adapters.sql.database import normalize_uri
    from genesis_flow.core.redaction import redact_uri

    admin = sa.create_engine(normalize_uri(uri), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        raise Unavailable(f"backend 'sql-postgres': cannot reach {redact_uri(uri)}: {error.orig}") from None
    stack.callback(admin.dispose)
    prefix = f"gf_diff_{secrets.token_hex(4)}"

    @contextlib.contextmanager
    def schema(name: str, workdir: Path) -> Iterator[str]:
        schema_name = f"{prefix}_{name}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema_name}"))
        try:
            yield _with_query(uri, options=f"-csearch_path={schema_name}")
        finally:
            _reset_genesis()  # closes the pool before the schema goes
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema_name} CASCADE"))

    return schema


def _mongo(backend_id: str, stack: contextlib.ExitStack) -> Namespace:
    """One database per script (the URI's path), dropped after it. ``cosmos``: the Cosmos adapter
    (``genesis_cosmos=true``) through tests/fault_proxy.py's throttling proxy, unless
    GENESIS_TEST_COSMOS_URI names a real account."""
    try:
        import pymongo
    except ImportError:
        raise Unavailable(f"backend {backend_id!r}: pymongo is not installed (extra 'mongo')") from None
    from genesis_flow.core.redaction import redact_uri

    cosmos_uri = os.environ.get("GENESIS_TEST_COSMOS_URI") if backend_id == "cosmos" else None
    server_uri = cosmos_uri or os.environ.get("GENESIS_TEST_MONGO_URI")
    if not server_uri:
        raise Unavailable(
            f"backend {backend_id!r}: GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)"
        )
    admin: Any = pymongo.MongoClient(server_uri, serverSelectionTimeoutMS=5000)
    try:
        admin.admin.command("ping")
    except Exception as error:
        admin.close()
        raise Unavailable(f"backend {backend_id!r}: cannot reach {redact_uri(server_uri)}: {error}") from None
    stack.callback(admin.close)
    base = server_uri
    proxy: Any = None
    if backend_id == "cosmos" and cosmos_uri is None:
        from tests.fault_proxy import ThrottlingProxy

        proxy = ThrottlingProxy(server_uri, rate=THROTTLE_RATE, seed=THROTTLE_SEED, retry_after_ms=2).start()
        stack.callback(proxy.stop)
        stack.callback(
            lambda: _THROTTLING.__setitem__(
                backend_id,
                f"{proxy.injected} throttling errors (16500) injected"
                f" ({dict(sorted(proxy.injected_by_command.items()))})",
            )
        )
        base = _with_query(proxy.uri, genesis_cosmos="true")
    prefix = f"gf_diff_{secrets.token_hex(4)}"

    @contextlib.contextmanager
    def database(name: str, workdir: Path) -> Iterator[str]:
        db_name = f"{prefix}_{name}"
        try:
            yield _with_path(base, db_name)
        finally:
            _reset_genesis()
            admin.drop_database(db_name)

    return database


def _with_query(uri: str, **options: str) -> str:
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *options.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _with_path(uri: str, database: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMINGS:
        terminalreporter.section("differential test: seconds per script")
        for side, timings in sorted(_TIMINGS.items()):
            detail = ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
            terminalreporter.write_line(f"{side}: total {sum(timings.values()):.1f} ({detail})")
    for backend, line in sorted(_THROTTLING.items()):
        terminalreporter.write_line(f"{backend}: {line}")
    if _UNAVAILABLE:
        terminalreporter.section("differential test: backends skipped")
        for backend, reason in sorted(_UNAVAILABLE.items()):
            terminalreporter.write_line(f"SKIPPED backend {backend}: {reason}")


# --- store-level cases: MLflow's SqlAlchemyStore vs our plugin (store_sides.py) -------------------

RunCase = Callable[[Case], Any]


@pytest.fixture(scope="session")
def mlflow_side(tmp_path_factory: pytest.TempPathFactory) -> RunCase:
    """``mlflow_side(case)``: the case's observation on MLflow's own stores (one SQLite database
    for the session, as MLflow's schema creation is slow); computed once per case."""
    pytest.importorskip("mlflow")
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as MlflowRegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as MlflowTrackingStore

    workdir = tmp_path_factory.mktemp("mlflow-stores")
    uri = f"sqlite:///{workdir}/mlflow.db"
    with _quiet():
        tracking = MlflowTrackingStore(uri, str(workdir / "artifacts"))  # type: ignore[no-untyped-call]
        registry = MlflowRegistryStore(uri)  # type: ignore[no-untyped-call]
    cache: dict[str, Any] = {}

    def observe(case: Case) -> Any:
        key = f"{case.__module__}.{case.__qualname__}"
        if key not in cache:
            with _quiet():
                cache[key] = case(Side(case.__name__, tracking, registry, workdir))
        return cache[key]

    return observe


def plugin_uri(uri: str) -> str:
    """The URI real mlflow reaches our store at ``uri`` with (the composition root's rule)."""
    from genesis_flow.entrypoints.bootstrap import plugin_uri as served

    plugin = served(uri)
    assert plugin is not None, f"the plugin does not serve {uri!r}"
    return plugin


@pytest.fixture(scope="session")
def plugin_namespace(backend_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``genesis+...`` / ``mongodb://`` URI of one fresh namespace on ``backend_id`` for the
    session's store-level cases."""
    with contextlib.ExitStack() as stack:
        namespace = open_backend(backend_id, stack)
        workdir = tmp_path_factory.mktemp(f"plugin-{backend_id}")
        yield plugin_uri(stack.enter_context(namespace("plugin", workdir)))


@pytest.fixture
def plugin_side(plugin_namespace: str, tmp_path: Path) -> RunCase:
    """``plugin_side(case)``: the case's observation on our plugin's stores, which real mlflow
    builds for the namespace's URI exactly as for a user's."""
    pytest.importorskip("mlflow")
    from mlflow.tracking._model_registry.utils import _get_store as registry_store
    from mlflow.tracking._tracking_service.utils import _get_store as tracking_store

    from genesis_flow.entrypoints.plugin.registry import GenesisRegistryStore
    from genesis_flow.entrypoints.plugin.tracking import GenesisTrackingStore

    def observe(case: Case) -> Any:
        with _quiet():
            tracking = tracking_store(plugin_namespace, str(tmp_path / "artifacts"))  # type: ignore[no-untyped-call]
            registry = registry_store(plugin_namespace)  # type: ignore[no-untyped-call]
            assert isinstance(tracking, GenesisTrackingStore), type(tracking)
            assert isinstance(registry, GenesisRegistryStore), type(registry)
            return case(Side(case.__name__, tracking, registry, tmp_path))

    return observe
