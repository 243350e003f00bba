"""MLflow's fluent API (``mlflow.start_run``, ``mlflow.log_metric`` ...) on Genesis-Flow's stores.

State is MLflow's (kept in :mod:`.state`, which the tracing API shares): the active experiment is
process-wide; the stack of active runs and the last active run are per thread. A ``log_*`` call
with no active run starts one, as MLflow does. Errors are
:class:`~genesis_flow.exceptions.MlflowException` with MLflow's error codes.

Environment (MLflow's names; the ``GENESIS_`` ones win): ``MLFLOW_TRACKING_URI``,
``MLFLOW_REGISTRY_URI``, ``MLFLOW_EXPERIMENT_NAME``, ``MLFLOW_EXPERIMENT_ID``, ``MLFLOW_RUN_ID``
(resumed by the next ``start_run``), ``MLFLOW_ENABLE_ASYNC_LOGGING``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import posixpath
import threading
import time
from collections.abc import Sequence
from typing import Any

from genesis_flow.core.artifacts import artifact_path as checked_artifact_path
from genesis_flow.core.entities import DATASET_CONTEXT_TAG, RunStatus
from genesis_flow.core.entities import Metric as CoreMetric
from genesis_flow.core.entities import Param as CoreParam
from genesis_flow.core.entities import RunTag as CoreRunTag
from genesis_flow.core.errors import (
    GenesisError,
    InternalError,
    InvalidParameterValue,
    ResourceAlreadyExists,
)
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.api import async_logging, config, context, state
from genesis_flow.entrypoints.api import entities as E
from genesis_flow.entrypoints.api.async_logging import RunOperations
from genesis_flow.entrypoints.api.client import MlflowClient
from genesis_flow.entrypoints.api.exceptions import mlflow_exception, translate, translated
from genesis_flow.entrypoints.api.state import ActiveRun as ActiveRun
from genesis_flow.entrypoints.api.state import active_run as active_run
from genesis_flow.entrypoints.api.state import end_run as end_run
from genesis_flow.entrypoints.api.uris import parse_models_uri, parse_runs_uri

_logger = logging.getLogger("genesis_flow")

SEARCH_MAX_RESULTS_PANDAS = 100000
NUM_RUNS_PER_PAGE_PANDAS = 10000

set_tracking_uri = config.set_tracking_uri
get_tracking_uri = config.get_tracking_uri
set_registry_uri = config.set_registry_uri
is_tracking_uri_set = config.is_tracking_uri_set


def get_registry_uri() -> str:
    return config.get_registry_uri()


def reset() -> None:
    """Start the API afresh in this process (tests, notebooks): pending asynchronous writes are
    flushed, then URIs set in code, the active experiment and runs (not ended), cached clients
    and stores, and the ``memory:`` stores are forgotten."""
    async_logging.reset()
    state.reset()
    config.reset()
    config.forget_stores()
    bootstrap.reset_memory_stores()


# --- experiments ---------------------------------------------------------------------------------

_experiment_lock = threading.Lock()


@translated
def create_experiment(
    name: str,
    artifact_location: str | None = None,
    tags: dict[str, Any] | None = None,
    trace_location: Any = None,
) -> str:
    _refuse_trace_location(trace_location)
    return state.current_client().create_experiment(name, artifact_location, tags)


def _refuse_trace_location(trace_location: Any) -> None:
    if trace_location is not None:
        raise InvalidParameterValue(
            "trace_location names a Databricks Unity Catalog table; Genesis-Flow keeps traces in"
            " the tracking store and does not support it."
        )


@translated
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None, trace_location: Any = None
) -> E.Experiment:
    """Make an experiment active (created by name when missing). INVALID_PARAMETER_VALUE unless
    exactly one argument is given, or for a deleted experiment; RESOURCE_DOES_NOT_EXIST for an
    unknown id."""
    _refuse_trace_location(trace_location)
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameterValue("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = state.current_client()
    with _experiment_lock:
        if experiment_id is None:
            assert experiment_name is not None
            experiment = client.get_experiment_by_name(experiment_name)
            if experiment is None:
                try:
                    new_id = client.create_experiment(experiment_name)
                except Exception as error:  # a racing creator: use theirs
                    if getattr(error, "error_code", None) != ResourceAlreadyExists.error_code:
                        raise
                    found = client.get_experiment_by_name(experiment_name)
                    assert found is not None
                    return found
                experiment = client.get_experiment(new_id)
        else:
            experiment = client.get_experiment(str(experiment_id))
        if experiment.lifecycle_stage != E.LifecycleStage.ACTIVE:
            raise InvalidParameterValue(
                f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. You"
                " can restore the experiment, or permanently delete the experiment to create a new one."
            )
    state.set_active_experiment(experiment.experiment_id)
    config.export_env("EXPERIMENT_ID", experiment.experiment_id)
    return experiment


@translated
def get_experiment(experiment_id: str) -> E.Experiment:
    return state.current_client().get_experiment(experiment_id)


@translated
def get_experiment_by_name(name: str) -> E.Experiment | None:
    return state.current_client().get_experiment_by_name(name)


@translated
def delete_experiment(experiment_id: str) -> None:
    state.current_client().delete_experiment(experiment_id)


@translated
def restore_experiment(experiment_id: str) -> None:
    state.current_client().restore_experiment(experiment_id)


@translated
def rename_experiment(experiment_id: str, new_name: str) -> None:
    state.current_client().rename_experiment(experiment_id, new_name)


@translated
def search_experiments(
    view_type: int = E.ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[E.Experiment]:
    """Every matching experiment (all pages), or the first ``max_results``."""

    def page(count: int, token: str | None) -> E.PagedList:
        return state.current_client().search_experiments(view_type, count, filter_string, order_by, token)

    return _collect(page, 1000, max_results)


@translated
def set_experiment_tag(key: str, value: Any) -> None:
    state.current_client().set_experiment_tag(state.experiment_id(), key, value)


@translated
def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


# --- runs ----------------------------------------------------------------------------------------


@translated
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume ``run_id`` (or ``MLFLOW_RUN_ID``), and make it active.

    Raises INVALID_PARAMETER_VALUE when a run is already active and ``nested`` is False, when
    ``parent_run_id`` is not the active run, or for a deleted run or parent;
    RESOURCE_DOES_NOT_EXIST for an unknown run or experiment. A nested run gets the
    ``mlflow.parentRunId`` tag; every new run gets the system tags and a name.
    """
    stack = state.runs.stack
    if isinstance(experiment_id, int):
        experiment_id = str(experiment_id)
    if stack and not nested:
        raise InvalidParameterValue(
            f"Run with UUID {stack[0].info.run_id} is already active. To start a new run, first end"
            " the current run with mlflow.end_run(). To start a nested run, call start_run with"
            " nested=True"
        )
    client = state.current_client()
    existing_run_id = run_id or state.env("RUN_ID")
    if not run_id and existing_run_id:
        state.unset_env("RUN_ID")
    user_tags = {k: str(v) for k, v in (tags or {}).items()}
    if description:
        if context.MLFLOW_RUN_NOTE in user_tags:
            raise InvalidParameterValue(
                f"Description is already set via the tag {context.MLFLOW_RUN_NOTE} in tags. Remove"
                f" the key {context.MLFLOW_RUN_NOTE} from the tags or omit the description."
            )
        user_tags[context.MLFLOW_RUN_NOTE] = description
    if existing_run_id:
        run = client.get_run(existing_run_id)
        if state.active_experiment_id is not None and state.active_experiment_id != run.info.experiment_id:
            raise InternalError(
                f"Cannot start run with ID {existing_run_id} because active experiment ID does not"
                " match environment run ID. Make sure --experiment-name or --experiment-id matches"
                " experiment set with set_experiment(), or just use command-line arguments"
            )
        if run.info.lifecycle_stage == E.LifecycleStage.DELETED:
            # MLflow raises these two without an error code, so its users see INTERNAL_ERROR.
            raise InternalError(
                f"Cannot start run with ID {existing_run_id} because it is in the deleted state."
            )
        client.store.update_run_info(
            existing_run_id, run_status=RunStatus.RUNNING, end_time=run.info.end_time, run_name=run_name
        )
        if user_tags:
            client.log_batch(existing_run_id, tags=[E.RunTag(k, v) for k, v in user_tags.items()])
        active = ActiveRun(client.get_run(existing_run_id), client)
    else:
        if parent_run_id:
            if stack and parent_run_id != stack[-1].info.run_id:
                current = stack[-1].info.run_id
                raise InternalError(
                    f"Current run with UUID {current} does not match the specified parent_run_id"
                    f" {parent_run_id}. To start a new nested run under the parent run with UUID"
                    f" {current}, first end the current run with mlflow.end_run()."
                )
            parent = client.get_run(parent_run_id)
            if parent.info.lifecycle_stage == E.LifecycleStage.DELETED:
                raise InternalError(
                    f"Cannot start run under parent run with ID {parent_run_id} because it is in the"
                    " deleted state."
                )
        else:
            parent_run_id = stack[-1].info.run_id if stack else None
        target_experiment = experiment_id if experiment_id is not None else state.experiment_id()
        if parent_run_id is not None:
            user_tags[context.MLFLOW_PARENT_RUN_ID] = parent_run_id
        if run_name:
            user_tags[context.MLFLOW_RUN_NAME] = run_name
        resolved = context.resolve_tags(user_tags)
        active = ActiveRun(client.create_run(target_experiment, tags=resolved, run_name=run_name), client)
    stack.append(active)
    return active


@translated
def last_active_run() -> E.Run | None:
    """The active run, else the run this thread ended last (fetched fresh), else None."""
    current = active_run()
    if current is not None:
        return current
    if state.runs.last_run_id is None:
        return None
    return get_run(state.runs.last_run_id)


@translated
def get_run(run_id: str) -> E.Run:
    return state.current_client().get_run(run_id)


@translated
def get_parent_run(run_id: str) -> E.Run | None:
    return state.current_client().get_parent_run(run_id)


@translated
def delete_run(run_id: str) -> None:
    state.current_client().delete_run(run_id)


def _run_id() -> str:
    stack = state.runs.stack
    if stack:
        return stack[-1].info.run_id
    return start_run().info.run_id


def _now_ms() -> int:
    return int(time.time() * 1000)


@translated
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return state.current_client().log_param(_run_id(), key, value, synchronous=synchronous)


@translated
def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    batch = [CoreParam(str(k), str(v)) for k, v in params.items()]
    return state.current_client().log_batch(run_id or _run_id(), params=batch, synchronous=synchronous)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    """Log one point to the active run (started if none): ``step`` defaults to 0, ``timestamp``
    to now. Asynchronously (``synchronous=False`` or MLFLOW_ENABLE_ASYNC_LOGGING) the point is
    queued and a RunOperations returned; ``flush_async_logging()`` or ``end_run()`` writes it."""
    # A training loop's hot path: an inline try instead of the decorator saves a call layer.
    try:
        if run_id is None:
            stack = state.runs.stack
            active = stack[-1] if stack else start_run()
            client, run_id = active._client, active.info.run_id
        else:
            client = state.current_client()
        if dataset is None:
            return client._log_metric(
                run_id, key, value, timestamp, step or 0, synchronous, None, None, model_id
            )
        return client._log_metric(
            run_id, key, value, timestamp, step or 0, synchronous, dataset.name, dataset.digest, model_id
        )
    except GenesisError as error:
        raise translate(error) from None


@translated
def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    when = timestamp if timestamp is not None else _now_ms()
    batch = [
        CoreMetric(
            key,
            S.metric_value(value),
            when,
            step or 0,
            model_id=model_id,
            dataset_name=getattr(dataset, "name", None),
            dataset_digest=getattr(dataset, "digest", None),
        )
        for key, value in metrics.items()
    ]
    return state.current_client().log_batch(run_id or _run_id(), metrics=batch, synchronous=synchronous)


@translated
def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    return state.current_client().set_tag(_run_id(), key, value, synchronous=synchronous)


@translated
def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    batch = [CoreRunTag(str(k), str(v)) for k, v in tags.items()]
    return state.current_client().log_batch(_run_id(), tags=batch, synchronous=synchronous)


@translated
def delete_tag(key: str) -> None:
    state.current_client().delete_tag(_run_id(), key)


@translated
def flush_async_logging() -> None:
    """Return once every asynchronous write submitted so far has been written by its store."""
    async_logging.flush()


# --- inputs --------------------------------------------------------------------------------------


@translated
def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: Any = None,
) -> None:
    """Record a dataset (an ``entities.Dataset``, or an ``mlflow.data`` dataset) and/or a logged
    model as an input of the active run; ``context`` becomes the ``mlflow.data.context`` tag."""
    log_inputs(
        [dataset] if dataset is not None else None,
        [context] if dataset is not None else None,
        [tags] if dataset is not None else None,
        [model] if model is not None else None,
    )


@translated
def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[dict[str, str] | None] | None = None,
    models: Sequence[Any] | None = None,
) -> None:
    run_id = _run_id()
    dataset_inputs = []
    for index, dataset in enumerate(datasets or ()):
        if dataset is None:
            continue
        entity = dataset._to_mlflow_entity() if hasattr(dataset, "_to_mlflow_entity") else dataset
        input_tags = [
            E.InputTag(k, str(v)) for k, v in ((tags_list or [None] * (index + 1))[index] or {}).items()
        ]
        input_context = (contexts or [None] * (index + 1))[index]
        if input_context:
            input_tags.append(E.InputTag(DATASET_CONTEXT_TAG, input_context))
        dataset_inputs.append(E.DatasetInput(entity, input_tags))
    state.current_client().log_inputs(run_id, dataset_inputs, [m for m in models or () if m is not None])


# --- artifacts -----------------------------------------------------------------------------------


@translated
def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    state.current_client().log_artifact(run_id or _run_id(), local_path, artifact_path)


@translated
def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    state.current_client().log_artifacts(run_id or _run_id(), local_dir, artifact_path)


@translated
def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    state.current_client().log_text(run_id or _run_id(), text, artifact_file)


@translated
def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    state.current_client().log_dict(run_id or _run_id(), dictionary, artifact_file)


@translated
def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    state.current_client().log_table(run_id or _run_id(), data, artifact_file)


@translated
def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    state.current_client().log_image(_run_id(), image, artifact_file, key, step, timestamp, synchronous)


@translated
def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    state.current_client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


@translated
def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The active run's artifact root (started if none), or ``artifact_path`` below it;
    INVALID_PARAMETER_VALUE for a path that would name something outside the root."""
    below = checked_artifact_path(artifact_path)
    root = str(state.current_client().get_run(_run_id()).info.artifact_uri)
    return posixpath.join(root, below) if below else root


# --- search --------------------------------------------------------------------------------------


def _collect(page_fn: Any, page_size: int, max_results: int | None) -> list[Any]:
    results: list[Any] = []
    token: str | None = None
    while max_results is None or len(results) < max_results:
        count = page_size if max_results is None else min(page_size, max_results - len(results))
        page = page_fn(count, token)
        results.extend(page)
        token = page.token
        if not token:
            break
    return results


@translated
def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = E.ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Runs matching the filter, in the order of ``order_by`` then start time DESC, as a pandas
    DataFrame (MLflow's columns: run_id, experiment_id, status, artifact_uri, start_time,
    end_time, metrics.*, params.*, tags.*) or, with ``output_format="list"``, a list of Runs.
    Without pandas installed, ask for ``output_format="list"``."""
    if experiment_ids and experiment_names:
        raise InvalidParameterValue("Only experiment_ids or experiment_names can be used, but not both")
    if output_format not in ("pandas", "list"):
        raise ValueError(f"Unsupported output format: {output_format}.")
    if experiment_names:
        ids = []
        for name in experiment_names:
            found = get_experiment_by_name(name) if name is not None else None
            if found is None:
                _logger.warning("Cannot retrieve experiment by name %s", name)
            else:
                ids.append(found.experiment_id)
    elif experiment_ids:
        ids = [
            str(e) for e in ([experiment_ids] if isinstance(experiment_ids, (str, int)) else experiment_ids)
        ]
    elif search_all_experiments:
        ids = [e.experiment_id for e in search_experiments(view_type=E.ViewType.ACTIVE_ONLY)]
    else:
        ids = [state.experiment_id()]

    def page(count: int, token: str | None) -> E.PagedList:
        return state.current_client().search_runs(ids, filter_string, run_view_type, count, order_by, token)

    runs = _collect(page, NUM_RUNS_PER_PAGE_PANDAS, max_results) if ids else []
    if output_format == "list":
        return runs
    return _runs_frame(runs)


def _runs_frame(runs: list[E.Run]) -> Any:
    try:
        import numpy as np
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:
        raise InvalidParameterValue(
            "search_runs returns a pandas DataFrame by default, and pandas is not installed: pip install"
            ' pandas, or pass output_format="list".'
        ) from None
    columns: dict[str, list[Any]] = {
        name: [] for name in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")
    }
    metrics: dict[str, list[Any]] = {}
    params: dict[str, list[Any]] = {}
    tags: dict[str, list[Any]] = {}
    for index, run in enumerate(runs):
        info = run.info
        columns["run_id"].append(info.run_id)
        columns["experiment_id"].append(info.experiment_id)
        columns["status"].append(info.status)
        columns["artifact_uri"].append(info.artifact_uri)
        columns["start_time"].append(pd.to_datetime(info.start_time, unit="ms", utc=True))
        columns["end_time"].append(pd.to_datetime(info.end_time, unit="ms", utc=True))
        for table, values, missing in (
            (metrics, run.data.metrics, np.nan),
            (params, run.data.params, None),
            (tags, run.data.tags, None),
        ):
            for key, column in table.items():
                column.append(values.get(key, missing))
            for key, value in values.items():
                if key not in table:
                    table[key] = [missing] * index + [value]
    data: dict[str, list[Any]] = dict(columns)
    data.update({"metrics." + k: v for k, v in metrics.items()})
    data.update({"params." + k: v for k, v in params.items()})
    data.update({"tags." + k: v for k, v in tags.items()})
    return pd.DataFrame(data)


# --- registry ------------------------------------------------------------------------------------


@translated
def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
    env_pack: Any = None,
) -> E.ModelVersion:
    """Create the registered model if needed and a new version from ``model_uri``. A
    ``runs:/<id>/<path>`` source whose path holds an MLmodel is stored as the run's artifact
    location, else the run's logged model named ``<path>`` is registered as ``models:/<id>``."""
    client = state.current_client()
    try:
        client.create_registered_model(name)
    except Exception as error:
        if getattr(error, "error_code", None) != ResourceAlreadyExists.error_code:
            raise
    run_id: str | None = None
    model_id: str | None = None
    source = model_uri
    if model_uri.startswith("runs:"):
        run_id, artifact_path = parse_runs_uri(model_uri)
        listed = {f.path for f in client.list_artifacts(run_id, artifact_path or None)}
        if posixpath.join(artifact_path, "MLmodel") in listed:
            source = client.resolve_artifact_uri(model_uri)
        else:
            model_id = _logged_model_of_run(client, run_id, artifact_path)
            source = f"models:/{model_id}"
    elif model_uri.startswith("models:/"):
        model_id = parse_models_uri(model_uri).model_id
    return client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)


def _logged_model_of_run(client: MlflowClient, run_id: str, artifact_path: str) -> str:
    run = client.get_run(run_id)
    found = client.search_logged_models(
        [run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{artifact_path}'",
    )
    if not found:
        # MLflow's code for this one is NOT_FOUND, not RESOURCE_DOES_NOT_EXIST.
        raise mlflow_exception(
            f"Unable to find a logged_model with artifact_path {artifact_path} under run {run_id}",
            "NOT_FOUND",
        )
    if len(found) > 1:
        outputs = run.outputs.model_outputs if run.outputs is not None else []
        steps = {o.model_id: o.step for o in outputs}
        return str(max(found, key=lambda m: steps.get(m.model_id, -1)).model_id)
    return str(found[0].model_id)


def _end_run_at_exit() -> None:
    with contextlib.suppress(Exception):
        end_run()


atexit.register(_end_run_at_exit)
