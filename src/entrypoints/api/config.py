"""Process-wide settings of the MLflow-compatible API: URIs, async logging, store caches.

Resolution order (MLflow's, with our variables winning): a URI set in code
(``set_tracking_uri``), then ``GENESIS_TRACKING_URI``, then ``MLFLOW_TRACKING_URI``, then
``sqlite:///genesis.db``. The registry URI: set in code, ``GENESIS_REGISTRY_URI``,
``MLFLOW_REGISTRY_URI``, else the tracking URI.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.api.exceptions import translated

if TYPE_CHECKING:
    from genesis_flow.ports import ArtifactStore, RegistryStore, TrackingStore

ASYNC_LOGGING_VARS = ("GENESIS_ENABLE_ASYNC_LOGGING", "MLFLOW_ENABLE_ASYNC_LOGGING")

_tracking_uri: str | None = None
_registry_uri: str | None = None
_async_logging: bool | None = None


def _as_uri(uri: str | Path) -> str:
    if isinstance(uri, Path):
        return uri.absolute().as_uri()
    return str(uri)


@translated
def set_tracking_uri(uri: str | Path) -> None:
    """Use ``uri`` for the fluent API and new clients in this process. Like MLflow, it is also
    exported as ``MLFLOW_TRACKING_URI`` so child processes (and MLflow code) see it; an
    ``http(s)://`` URI is refused at once with INVALID_PARAMETER_VALUE."""
    global _tracking_uri
    text = _as_uri(uri)
    refuse_server_uri(text)
    _tracking_uri = text
    export_env("TRACKING_URI", text)


def export_env(name: str, value: str) -> None:
    """Publish a setting made in code to child processes as MLflow does (``MLFLOW_<name>``), and
    overwrite our ``GENESIS_<name>`` twin when it is set, since it would win over the new value."""
    os.environ["MLFLOW_" + name] = value
    if "GENESIS_" + name in os.environ:
        os.environ["GENESIS_" + name] = value


def get_tracking_uri() -> str:
    return _tracking_uri or bootstrap.resolve_tracking_uri()


def is_tracking_uri_set() -> bool:
    return _tracking_uri is not None or any(os.environ.get(v) for v in bootstrap.TRACKING_URI_VARS)


@translated
def set_registry_uri(uri: str) -> None:
    global _registry_uri
    refuse_server_uri(str(uri))
    _registry_uri = str(uri)
    export_env("REGISTRY_URI", _registry_uri)


def get_registry_uri(default_tracking_uri: str | None = None) -> str:
    if _registry_uri:
        return _registry_uri
    for name in bootstrap.REGISTRY_URI_VARS:
        if os.environ.get(name):
            return os.environ[name]
    return default_tracking_uri or get_tracking_uri()


def reset() -> None:
    """Forget URIs set in code and async-logging settings (tests)."""
    global _tracking_uri, _registry_uri, _async_logging
    _tracking_uri = _registry_uri = None
    _async_logging = None


_SERVER_SCHEMES = ("http", "https", "databricks", "databricks-uc", "uc")


def refuse_server_uri(uri: str) -> None:
    scheme = urlsplit(uri).scheme.lower() or uri.strip().lower()  # "databricks" has no "://"
    if scheme in _SERVER_SCHEMES:
        raise InvalidParameterValue(
            f"Tracking URI {_redacted(uri)!r} names an MLflow tracking server ({scheme}://)."
            " Genesis-Flow writes to your database directly, without a server: use a database URI"
            f" such as {', '.join(repr(s) for s in _examples())}."
        )


def _examples() -> tuple[str, ...]:
    return ("sqlite:///genesis.db", "postgresql://user@host/db", "mongodb://host/db", "memory:")


def _redacted(uri: str) -> str:
    from genesis_flow.core.redaction import redact_uri

    return redact_uri(uri)


# --- async logging ---------------------------------------------------------------------------


def enable_async_logging(enable: bool = True) -> None:
    """Make ``synchronous=None`` mean asynchronous (MLflow's ``mlflow.config.enable_async_logging``)."""
    global _async_logging
    _async_logging = bool(enable)


def synchronous(requested: bool | None) -> bool:
    """MLflow's rule: an explicit ``synchronous`` wins; else async when enabled in code or by
    ``GENESIS_ENABLE_ASYNC_LOGGING`` / ``MLFLOW_ENABLE_ASYNC_LOGGING``."""
    if requested is not None:
        return bool(requested)
    if _async_logging is not None:
        return not _async_logging
    for name in ASYNC_LOGGING_VARS:
        value = os.environ.get(name)
        if value is not None and value.strip():
            return value.strip().lower() not in ("true", "1")
    return True


SYSTEM_METRICS_VAR = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"


def system_metrics(requested: bool | None) -> bool:
    """MLflow's rule for ``start_run(log_system_metrics=...)``: an explicit value wins; else
    ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`` (what ``enable_system_metrics_logging()`` sets).
    Raises INVALID_PARAMETER_VALUE for a value of the variable other than true/false/1/0."""
    if requested is not None:
        return bool(requested)
    value = os.environ.get(SYSTEM_METRICS_VAR, "")
    if not value:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise InvalidParameterValue(
            f"{SYSTEM_METRICS_VAR} must be one of true, false, 1 or 0 (any case), got {value!r}"
        )
    return value.lower() in ("true", "1")


# --- store caches ------------------------------------------------------------------------------

_lock = threading.Lock()
_tracking: dict[str, TrackingStore] = {}
_registry: dict[str, RegistryStore] = {}
_artifacts: dict[str, ArtifactStore] = {}
_MAX_ARTIFACT_STORES = 256


def tracking_store(uri: str) -> TrackingStore:
    """One store object per URI and process (the database handles are shared anyway)."""
    store = _tracking.get(uri)
    if store is None:
        built = bootstrap.build_tracking_store(uri)
        if _is_memory(uri):  # bootstrap keeps the one shared store (and can reset it)
            return built
        with _lock:
            store = _tracking.setdefault(uri, built)
    return store


def registry_store(uri: str) -> RegistryStore:
    store = _registry.get(uri)
    if store is None:
        built = bootstrap.build_registry_store(uri)
        if _is_memory(uri):
            return built
        with _lock:
            store = _registry.setdefault(uri, built)
    return store


def _is_memory(uri: str) -> bool:
    return urlsplit(bootstrap.unprefixed_uri(uri)).scheme.lower() == "memory"


def artifact_store(artifact_uri: str) -> ArtifactStore:
    """The artifact store of a run's (or model's) artifact root; cached, since a training loop
    logs many files to one run and a blob client is not free to build."""
    store = _artifacts.get(artifact_uri)
    if store is None:
        built: Any = bootstrap.build_artifact_store(artifact_uri)
        with _lock:
            if len(_artifacts) >= _MAX_ARTIFACT_STORES:
                _artifacts.pop(next(iter(_artifacts)))
            store = _artifacts.setdefault(artifact_uri, built)
    return store


def forget_stores() -> None:
    """Drop cached store objects (tests; after ``bootstrap.reset_memory_stores``)."""
    with _lock:
        _tracking.clear()
        _registry.clear()
        _artifacts.clear()
