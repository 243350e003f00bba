"""What the fluent API remembers, shared by the fluent functions and the tracing API: the active
experiment (process-wide), each thread's stack of active runs and the run it ended last, and one
client per (tracking, registry) URI pair.

Both APIs read this state and neither imports the other: the modules run one way, the client at
the bottom, this state above it, tracing and fluent on top.

Environment (MLflow's names; the ``GENESIS_`` ones win): ``MLFLOW_EXPERIMENT_NAME`` and
``MLFLOW_EXPERIMENT_ID`` choose the experiment when none was set in code.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist
from genesis_flow.entrypoints.api import config
from genesis_flow.entrypoints.api import entities as E
from genesis_flow.entrypoints.api.client import MlflowClient
from genesis_flow.entrypoints.api.exceptions import translated


def env(name: str) -> str | None:
    """``GENESIS_<name>``, else ``MLFLOW_<name>``; an empty value counts as unset."""
    return os.environ.get("GENESIS_" + name) or os.environ.get("MLFLOW_" + name) or None


def unset_env(name: str) -> None:
    os.environ.pop("GENESIS_" + name, None)
    os.environ.pop("MLFLOW_" + name, None)


class _ThreadRuns(threading.local):
    def __init__(self) -> None:
        self.stack: list[ActiveRun] = []
        self.last_run_id: str | None = None
        self.last_logged_model_id: str | None = None
        # None: the MLFLOW_ACTIVE_MODEL_ID environment variable decides, as in MLflow.
        self.active_model_id: str | None = None


runs = _ThreadRuns()
# Called with no argument after this thread's run stack changed (a run started or ended, or a
# reset): the model-flavour bridge mirrors our stack onto real mlflow's (docs/adr/0024).
run_stack_listeners: list[Callable[[], None]] = []
# Called with a run's id when it ends, before it is terminated: the system-metrics monitor of
# that run flushes while the run is still RUNNING (docs/adr/0024).
run_end_listeners: list[Callable[[str], None]] = []
active_experiment_id: str | None = None
_clients: dict[tuple[str, str], MlflowClient] = {}


def current_client() -> MlflowClient:
    """The client of the current tracking and registry URIs."""
    # One client per URI pair: the fluent hot path (log_metric in a loop) must not re-resolve
    # stores on every call.
    tracking_uri = config.get_tracking_uri()
    key = (tracking_uri, config.get_registry_uri(default_tracking_uri=tracking_uri))
    found = _clients.get(key)
    if found is None:
        found = _clients.setdefault(key, MlflowClient(*key))
    return found


def reset() -> None:
    """Forget the active experiment, this thread's runs (not ended) and the clients."""
    global active_experiment_id
    active_experiment_id = None
    runs.stack = []
    runs.last_run_id = None
    runs.last_logged_model_id = None
    runs.active_model_id = None
    _clients.clear()
    _stack_changed()


def active_model_id() -> str | None:
    """The model ``set_active_model`` chose in this thread, else ``MLFLOW_ACTIVE_MODEL_ID``
    (or MLflow's older ``_MLFLOW_ACTIVE_MODEL_ID``), else None."""
    return (
        runs.active_model_id
        or os.environ.get("MLFLOW_ACTIVE_MODEL_ID")
        or os.environ.get("_MLFLOW_ACTIVE_MODEL_ID")
    )


def set_active_experiment(experiment_id: str | None) -> None:
    global active_experiment_id
    active_experiment_id = experiment_id


class ActiveRun(E.Run):
    """The run ``start_run`` returns: a Run that ends itself when used as a context manager
    (FINISHED, or FAILED when the block raised, KeyboardInterrupt included, as in MLflow)."""

    def __init__(self, run: E.Run, client: MlflowClient | None = None) -> None:
        super().__init__(run.info, run.data, run.inputs, run.outputs)
        # The client that started it keeps serving it, so a loop of log_metric calls does not
        # resolve the tracking URI again on every call.
        self._client = client or current_client()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if any(r.info.run_id == self.info.run_id for r in runs.stack):
            end_run("FINISHED" if exc_type is None else "FAILED")
        return exc_type is None


def push_run(run: ActiveRun) -> None:
    """Make ``run`` this thread's innermost active run."""
    runs.stack.append(run)
    _stack_changed()


def _stack_changed() -> None:
    for listener in run_stack_listeners:
        listener()


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or None."""
    return runs.stack[-1] if runs.stack else None


@translated
def end_run(status: str = "FINISHED") -> None:
    """End the active run (no-op without one) after flushing its asynchronous writes."""
    stack = runs.stack
    if not stack:
        return
    os.environ.pop("MLFLOW_RUN_ID", None)
    run = stack.pop()
    runs.last_run_id = run.info.run_id
    _stack_changed()
    for listener in run_end_listeners:
        listener(run.info.run_id)
    current_client().set_terminated(run.info.run_id, status)


def experiment_id() -> str:
    """The active experiment, else the one the environment names, else the Default ("0")."""
    if active_experiment_id:
        return active_experiment_id
    return _experiment_id_from_env() or "0"


def _experiment_id_from_env() -> str | None:
    name = env("EXPERIMENT_NAME")
    from_env = env("EXPERIMENT_ID")
    current = current_client()
    if name is not None:
        experiment = current.get_experiment_by_name(name)
        if experiment is None:
            return current.create_experiment(name)
        if from_env and from_env != experiment.experiment_id:
            raise InvalidParameterValue(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{from_env}` does"
                f" not match the experiment id `{experiment.experiment_id}` for experiment name `{name}`"
            )
        return experiment.experiment_id
    if from_env is not None:
        try:
            return current.get_experiment(from_env).experiment_id
        except Exception as error:
            if getattr(error, "error_code", None) != ResourceDoesNotExist.error_code:
                raise
            raise InvalidParameterValue(
                f"The provided MLFLOW_EXPERIMENT_ID environment variable value `{from_env}` does"
                " not exist in the tracking server. Provide a valid experiment_id."
            ) from None
    return None
