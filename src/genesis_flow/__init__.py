"""Genesis-Flow: MLflow-compatible tracking and model registry on the databases you already run.

``import genesis_flow as mlflow`` gives MLflow's fluent API (``start_run``, ``log_metric``,
``search_runs``, ``register_model`` ...), ``MlflowClient`` and ``MlflowException``, without
importing mlflow. Model flavours (``genesis_flow.sklearn``, ``.pyfunc``, ``.models`` ...) and
``autolog`` are real mlflow's, imported when first touched and pointed at the same store and run.

This module is the public face. Names are re-exported lazily (PEP 562 ``__getattr__``), so
``import genesis_flow`` loads no adapter and no database driver; the first use of a name imports
the module that defines it.
"""

from __future__ import annotations

import importlib

# `typing` alone costs more than the rest of this import: keep it for the type checker.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
# MLflow's name for its __version__; here it is Genesis-Flow's own version.
VERSION = __version__

_FLUENT = "genesis_flow.entrypoints.api.fluent"
_TRACING = "genesis_flow.entrypoints.api.tracing"
# public name -> module that defines it
_LAZY: dict[str, str] = {
    "GenesisError": "genesis_flow.core.errors",
    "InvalidParameterValue": "genesis_flow.core.errors",
    "ResourceDoesNotExist": "genesis_flow.core.errors",
    "ResourceAlreadyExists": "genesis_flow.core.errors",
    "build_tracking_store": "genesis_flow.entrypoints.bootstrap",
    "build_registry_store": "genesis_flow.entrypoints.bootstrap",
    "resolve_tracking_uri": "genesis_flow.entrypoints.bootstrap",
    "MlflowClient": "genesis_flow.entrypoints.api.client",
    "MlflowException": "genesis_flow.entrypoints.api.exceptions",
    "enable_async_logging": "genesis_flow.entrypoints.api.config",
    "set_tracking_uri": _FLUENT,
    "get_tracking_uri": _FLUENT,
    "set_registry_uri": _FLUENT,
    "get_registry_uri": _FLUENT,
    "is_tracking_uri_set": _FLUENT,
    "create_experiment": _FLUENT,
    "set_experiment": _FLUENT,
    "get_experiment": _FLUENT,
    "get_experiment_by_name": _FLUENT,
    "delete_experiment": _FLUENT,
    "restore_experiment": _FLUENT,
    "rename_experiment": _FLUENT,
    "search_experiments": _FLUENT,
    "set_experiment_tag": _FLUENT,
    "set_experiment_tags": _FLUENT,
    "start_run": _FLUENT,
    "end_run": _FLUENT,
    "active_run": _FLUENT,
    "last_active_run": _FLUENT,
    "get_run": _FLUENT,
    "get_parent_run": _FLUENT,
    "delete_run": _FLUENT,
    "log_param": _FLUENT,
    "log_params": _FLUENT,
    "log_metric": _FLUENT,
    "log_metrics": _FLUENT,
    "set_tag": _FLUENT,
    "set_tags": _FLUENT,
    "delete_tag": _FLUENT,
    "flush_async_logging": _FLUENT,
    "log_input": _FLUENT,
    "log_inputs": _FLUENT,
    "log_artifact": _FLUENT,
    "log_artifacts": _FLUENT,
    "log_text": _FLUENT,
    "log_dict": _FLUENT,
    "log_table": _FLUENT,
    "log_image": _FLUENT,
    "log_figure": _FLUENT,
    "get_artifact_uri": _FLUENT,
    "search_runs": _FLUENT,
    "register_model": _FLUENT,
    "ActiveRun": _FLUENT,
    "RunOperations": "genesis_flow.entrypoints.api.async_logging",
    "restore_run": _FLUENT,
    "delete_experiment_tag": _FLUENT,
    "flush_artifact_async_logging": _FLUENT,
    "log_stream": _FLUENT,
    "load_table": _FLUENT,
    "search_registered_models": _FLUENT,
    "search_model_versions": _FLUENT,
    "set_model_version_tag": _FLUENT,
    "initialize_logged_model": _FLUENT,
    "create_external_model": _FLUENT,
    "finalize_logged_model": _FLUENT,
    "get_logged_model": _FLUENT,
    "last_logged_model": _FLUENT,
    "log_model_params": _FLUENT,
    "set_logged_model_tags": _FLUENT,
    "delete_logged_model_tag": _FLUENT,
    "log_outputs": _FLUENT,
    "search_logged_models": _FLUENT,
    "ActiveModel": _FLUENT,
    "set_active_model": _FLUENT,
    "get_active_model_id": _FLUENT,
    "clear_active_model": _FLUENT,
    "trace": _TRACING,
    "start_span": _TRACING,
    "get_trace": _TRACING,
    "search_traces": _TRACING,
    "get_last_active_trace_id": _TRACING,
    "get_current_active_span": _TRACING,
    "get_active_trace_id": _TRACING,
    "update_current_trace": _TRACING,
    "set_trace_tag": _TRACING,
    "delete_trace_tag": _TRACING,
    "flush_trace_async_logging": _TRACING,
    "start_span_no_context": _TRACING,
    "log_trace": _TRACING,
    "add_trace": _TRACING,
    "context": _TRACING,
    "Image": "genesis_flow.entrypoints.api.presentation",
}
# MLflow's submodules users import from (``mlflow.entities``, ``mlflow.exceptions`` ...).
_SUBMODULES = ("artifacts", "client", "config", "data", "entities", "exceptions", "tracking")

__all__ = ["__version__", "VERSION", *sorted(_LAZY), *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"genesis_flow.{name}")
    module_name = _LAZY.get(name)
    if module_name is None:
        # MLflow's model flavours and autolog, or an AttributeError: mlflow loads on first touch.
        from genesis_flow.entrypoints.api import flavours

        value = flavours.attribute(name)
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    # The flavours are listed but not in __all__: a star import must not load mlflow.
    from genesis_flow.entrypoints.api.flavours import NAMES

    return sorted({*__all__, *NAMES})
