"""MLflow's model flavours under ``genesis_flow`` (``genesis_flow.sklearn``, ``.pyfunc``,
``.models`` ...) and ``genesis_flow.autolog``: real mlflow's modules, imported on first touch and
pointed at the store and the run the fluent API is using (docs/adr/0024).

So ``import genesis_flow as mlflow`` scripts that log, register and load models run unchanged:
``mlflow.sklearn.log_model(...)`` inside ``mlflow.start_run()`` logs into that run, on the store
``mlflow.get_tracking_uri()`` names, which real mlflow reaches through our plugin. Without mlflow
installed, touching a flavour raises :class:`FlavourUnavailable`, one line naming the extra.

This module imports nothing heavy at import time: ``genesis_flow.__getattr__`` asks it about every
name it does not know.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import importlib.util
import logging
import os
import threading
import types
from collections.abc import Iterator
from typing import Any

_logger = logging.getLogger("genesis_flow")

# mlflow's flavour modules (3.17's lazily loaded list, txtai aside: a third-party package) and the
# two model modules scripts use beside them (signatures, schemas).
FLAVOURS: tuple[str, ...] = (
    "ag2",
    "agno",
    "anthropic",
    "autogen",
    "bedrock",
    "catboost",
    "crewai",
    "diffusers",
    "dspy",
    "gemini",
    "groq",
    "h2o",
    "haystack",
    "johnsnowlabs",
    "keras",
    "langchain",
    "lightgbm",
    "litellm",
    "llama_index",
    "metrics",
    "mistral",
    "models",
    "onnx",
    "openai",
    "otel",
    "paddle",
    "pmdarima",
    "prophet",
    "pydantic_ai",
    "pyfunc",
    "pyspark",
    "pytorch",
    "rfunc",
    "semantic_kernel",
    "sentence_transformers",
    "shap",
    "sklearn",
    "smolagents",
    "spacy",
    "spark",
    "statsmodels",
    "strands",
    "tensorflow",
    "transformers",
    "types",
    "typesafe",
    "xgboost",
)
# mlflow's top-level functions that need a flavour or mlflow's machinery, acting on the active run.
FUNCTIONS: tuple[str, ...] = ("autolog", "evaluate", "import_checkpoints")
# mlflow's top-level functions that touch no store and no run, so need no sync: a comparison of
# evaluation results, and the system-metrics switches (MLFLOW_SYSTEM_METRICS_* variables, which
# our start_run and mlflow's monitor read).
UNSYNCED: tuple[str, ...] = (
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
    "validate_evaluation_results",
)
NAMES = frozenset(FLAVOURS + FUNCTIONS + UNSYNCED)


class FlavourUnavailable(AttributeError):
    """``genesis_flow.<flavour>`` without mlflow installed. An AttributeError, so
    ``hasattr(genesis_flow, "sklearn")`` is False rather than an exception."""


def attribute(name: str) -> Any:
    """What ``genesis_flow.<name>`` is: a flavour module or a function of real mlflow's, bridged
    to our store and run. AttributeError for a name that is neither, FlavourUnavailable (one line
    naming the extra) when mlflow is not installed."""
    if name not in NAMES:
        raise AttributeError(f"module 'genesis_flow' has no attribute {name!r}")
    mlflow = _import_mlflow(name)
    if name in FUNCTIONS:
        return _synced(getattr(mlflow, name))
    if name in UNSYNCED:
        return getattr(mlflow, name)
    return FlavourModule(name)


def _import_mlflow(name: str) -> types.ModuleType:
    try:
        return importlib.import_module("mlflow")
    except ModuleNotFoundError as error:
        if error.name != "mlflow":
            raise  # mlflow is there but broken: its own error says more than ours would
        from genesis_flow.entrypoints.extras import install_hint

        raise FlavourUnavailable(
            f"genesis_flow.{name} is MLflow's, which is not installed: {install_hint('mlflow')}",
            name=name,
        ) from None


class FlavourModule(types.ModuleType):
    """``genesis_flow.<flavour>``: each attribute is ``mlflow.<flavour>``'s own, read after the
    bridge pointed mlflow at our store, experiment and active run."""

    def __init__(self, flavour: str) -> None:
        super().__init__(f"genesis_flow.{flavour}", f"MLflow's {flavour} flavour on Genesis-Flow's store.")
        self._flavour_module = f"mlflow.{flavour}"

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._flavour_module), attribute)
        if not attribute.startswith("__"):
            _bridge.sync()
        return value

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self._flavour_module))


def disconnect() -> None:
    """Stop keeping mlflow's fluent state equal to ours (tests; a process going back to real
    mlflow alone): this thread's mirrored runs come off mlflow's stack, and our runs no longer
    reach it until a flavour is used again."""
    _bridge.disconnect()


def remember_logged_model(model_id: str) -> None:
    """Record ``model_id`` as this thread's last logged model, in mlflow too once the bridge is
    in use: then its flavours' ``log_model`` and our logged-model functions take turns, and
    :func:`last_logged_model_id` reads the newest of both from mlflow."""
    from genesis_flow.entrypoints.api import state

    state.runs.last_logged_model_id = model_id
    if _bridge.installed:
        _their_last_logged_model_id().set(model_id)


def last_logged_model_id() -> str | None:
    """This thread's last logged model, whether ours or a flavour's ``log_model`` logged it."""
    from genesis_flow.entrypoints.api import state

    if _bridge.installed:
        found: str | None = _their_last_logged_model_id().get()
        if found:
            return found
    return state.runs.last_logged_model_id


def _synced(function: Any) -> Any:
    # A function is called later than it is looked up: sync at the call.
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        _bridge.sync()
        return function(*args, **kwargs)

    return call


class _Mirrors(threading.local):
    def __init__(self) -> None:
        # (our run id, the ActiveRun we pushed onto mlflow's stack for it), outermost first
        self.pushed: list[tuple[str, Any]] = []


class _Bridge:
    """Keeps real mlflow's fluent state equal to ours: tracking and registry URI (our URIs'
    plugin form), active experiment, and each thread's stack of active runs.

    Our runs are mirrored onto mlflow's stack as mlflow ActiveRun objects that mlflow never ends
    on its own: the mirror is removed (without a write) when our run ends, and ending stays ours.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._installed = False
        self._mirrors = _Mirrors()

    @property
    def installed(self) -> bool:
        return self._installed

    def _install(self) -> None:
        from genesis_flow.entrypoints.api import state

        with self._lock:
            if self._installed:
                return
            self._installed = True
            state.run_stack_listeners.append(self._stack_changed)
            # From now on mlflow's record is read first: it must not hold a model of an earlier
            # connection that ours has since superseded.
            _their_last_logged_model_id().set(state.runs.last_logged_model_id)
            # Registered after mlflow's own exit handler, so it runs first: mlflow's would end the
            # mirrored run, which is ours to end (with our status and time).
            atexit.register(self._mirror_ended, [])

    def disconnect(self) -> None:
        from genesis_flow.entrypoints.api import state

        with self._lock:
            if not self._installed:
                return
            self._installed = False
            state.run_stack_listeners.remove(self._stack_changed)
            atexit.unregister(self._mirror_ended)
        self._mirror_ended([])

    def sync(self) -> None:
        """Point mlflow at our store and experiment and mirror this thread's runs. Raises
        INVALID_PARAMETER_VALUE when our store is one the plugin does not serve."""
        from mlflow.tracking import fluent as theirs

        from genesis_flow.entrypoints.api import config, state

        # Installed on first use, not on first lookup: until a flavour is used, our runs cost
        # nothing more.
        self._install()
        tracking = _plugin_uri(config.get_tracking_uri())
        registry = _plugin_uri(config.get_registry_uri())
        mlflow = importlib.import_module("mlflow")
        with _environment_kept():
            if mlflow.get_tracking_uri() != tracking:
                mlflow.set_tracking_uri(tracking)
            if mlflow.get_registry_uri() != registry:
                mlflow.set_registry_uri(registry)
            experiment_id = state.experiment_id()
            if theirs._active_experiment_id != experiment_id:
                mlflow.set_experiment(experiment_id=experiment_id)
        ours = list(state.runs.stack)
        kept = self._mirror_ended([run.info.run_id for run in ours])
        self._mirror_started(mlflow, ours[kept:])

    def _mirror_ended(self, ours: list[str]) -> int:
        """Take the mirrors of runs that are no longer ours off mlflow's stack; the number kept."""
        pushed = self._mirrors.pushed
        stack = _mlflow_run_stack()
        kept = 0
        while (
            kept < min(len(pushed), len(ours))
            and pushed[kept][0] == ours[kept]
            and any(entry is pushed[kept][1] for entry in stack)
        ):
            kept += 1
        for _, stale in pushed[kept:]:
            for index, entry in enumerate(stack):
                if entry is stale:
                    del stack[index]
                    break
        del pushed[kept:]
        return kept

    def _mirror_started(self, mlflow: Any, runs: list[Any]) -> None:
        from genesis_flow.entrypoints.shapes import from_core, to_core
        from genesis_flow.entrypoints.shapes.targets import mlflow_shapes

        for run in runs:
            # The run as mlflow's entity, from the one we hold: no read from the store.
            mirrored = mlflow.ActiveRun(from_core.run_from_core(to_core.run_to_core(run), mlflow_shapes()))
            _mlflow_run_stack().append(mirrored)
            self._mirrors.pushed.append((run.info.run_id, mirrored))

    def _stack_changed(self) -> None:
        from genesis_flow.entrypoints.api import state

        try:
            self.sync()
        except Exception:
            # A run that started must not fail because mlflow cannot follow it (a store the
            # plugin does not serve): take off what ended; the next flavour use raises.
            _logger.debug("mlflow could not follow the fluent API's runs", exc_info=True)
            self._mirror_ended([run.info.run_id for run in state.runs.stack])


@contextlib.contextmanager
def _environment_kept() -> Iterator[None]:
    # mlflow's setters export what they set. The variables stay what the user (or our API) set:
    # ours resolve from them, and a user's MLFLOW_TRACKING_URI must not turn into the plugin form.
    saved = {name: os.environ.get(name) for name in _MLFLOW_EXPORTS}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_MLFLOW_EXPORTS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID")


def _mlflow_run_stack() -> list[Any]:
    # mlflow keeps each thread's active runs in a private list; no public call pushes a run
    # without writing to it or pops one without ending it (docs/adr/0024).
    from mlflow.tracking import fluent as theirs

    stack: list[Any] = theirs._active_run_stack.get()  # type: ignore[no-untyped-call]
    return stack


def _their_last_logged_model_id() -> Any:
    # mlflow keeps each thread's last logged model in a private variable its log_model sets.
    from mlflow.tracking import fluent as theirs

    return theirs._last_logged_model_id


def _plugin_uri(uri: str) -> str:
    from genesis_flow.core.errors import InvalidParameterValue
    from genesis_flow.core.redaction import redact_uri
    from genesis_flow.entrypoints import bootstrap
    from genesis_flow.entrypoints.api.exceptions import mlflow_exception

    found = bootstrap.plugin_uri(uri)
    if found is None:
        raise mlflow_exception(
            "MLflow's model flavours reach the store through Genesis-Flow's mlflow plugin, which"
            f" does not serve {redact_uri(uri)!r}",
            InvalidParameterValue.error_code,
        )
    return found


_bridge = _Bridge()


# --- system metrics ------------------------------------------------------------------------------


def start_system_metrics(run_id: str, *, resumed: bool) -> None:
    """Sample this host into our run ``run_id`` as ``mlflow.start_run(log_system_metrics=True)``
    does: mlflow's SystemMetricsMonitor logs ``system/...`` metrics through the plugin until the
    run ends (our ``end_run`` stops and flushes it first). ``resumed``: continue the steps of the
    run's earlier system metrics. Never fails the run: when mlflow or psutil is not installed, or
    the store is one the plugin does not serve, one warning per process says so."""
    from genesis_flow.entrypoints import bootstrap
    from genesis_flow.entrypoints.api import config, state
    from genesis_flow.entrypoints.extras import install_hint

    for package, hint in (("mlflow", install_hint("mlflow")), ("psutil", "pip install psutil")):
        if importlib.util.find_spec(package) is None:
            _warn_once(
                package, f"System metrics are not logged: they need {package}, which is not installed: {hint}"
            )
            return
    tracking = bootstrap.plugin_uri(config.get_tracking_uri())
    if tracking is None:
        _warn_once(
            "store",
            "System metrics are not logged: mlflow's monitor writes through Genesis-Flow's"
            " mlflow plugin, which does not serve this store",
        )
        return
    with _monitors_lock:
        if run_id in _monitors:
            return  # resumed while sampled (a nested start_run of the same id): one monitor per run
    try:
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        monitor: Any = SystemMetricsMonitor(  # type: ignore[no-untyped-call]
            run_id, resume_logging=resumed, tracking_uri=tracking
        )
    except Exception as error:
        # As mlflow: a monitor that cannot start costs the metrics, not the run.
        _logger.error("Failed to start system metrics monitoring: %s", error)
        return
    with _monitors_lock:
        if stop_system_metrics not in state.run_end_listeners:
            state.run_end_listeners.append(stop_system_metrics)
        _monitors[run_id] = monitor
    monitor.start()


def stop_system_metrics(run_id: str | None = None) -> None:
    """Stop and flush the monitor of run ``run_id``, or every monitor (the fluent API's reset
    forgets runs without ending them)."""
    with _monitors_lock:
        ids = list(_monitors) if run_id is None else [run_id]
        stopped = [_monitors.pop(i) for i in ids if i in _monitors]
    for monitor in stopped:
        monitor.finish()


def _warn_once(subject: str, message: str) -> None:
    with _monitors_lock:
        if subject in _warned:
            return
        _warned.add(subject)
    _logger.warning(message)


_monitors_lock = threading.Lock()
_monitors: dict[str, Any] = {}  # our run id -> mlflow's SystemMetricsMonitor sampling into it
_warned: set[str] = set()
