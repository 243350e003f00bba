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
import datetime
import io
import logging
import os
import posixpath
import tempfile
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
    ResourceDoesNotExist,
)
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.api import async_logging, config, context, flavours, state
from genesis_flow.entrypoints.api import entities as E
from genesis_flow.entrypoints.api.async_logging import RunOperations
from genesis_flow.entrypoints.api.client import MlflowClient, check_table_file, checked_model_id
from genesis_flow.entrypoints.api.exceptions import mlflow_exception, translate, translated
from genesis_flow.entrypoints.api.state import ActiveRun as ActiveRun
from genesis_flow.entrypoints.api.state import active_run as active_run
from genesis_flow.entrypoints.api.state import end_run as end_run
from genesis_flow.entrypoints.api.uris import parse_models_uri, parse_runs_uri

_logger = logging.getLogger("genesis_flow")

SEARCH_MAX_RESULTS_PANDAS = 100000
NUM_RUNS_PER_PAGE_PANDAS = 10000
# MLflow's page sizes when a fluent search collects every page.
SEARCH_REGISTERED_MODEL_PAGE = 100
SEARCH_MODEL_VERSION_PAGE = 10000
SEARCH_LOGGED_MODEL_PAGE = 100

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
    flavours.disconnect()
    flavours.stop_system_metrics()


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


@translated
def delete_experiment_tag(key: str) -> None:
    """Delete a tag of the active experiment (the Default one when none is set)."""
    state.current_client().delete_experiment_tag(state.experiment_id(), key)


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
    ``log_system_metrics`` (default: ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``) samples the host
    into the run with mlflow's monitor while it is active, or warns once without mlflow or psutil.
    """
    stack = state.runs.stack
    if isinstance(experiment_id, int):
        experiment_id = str(experiment_id)
    sample_system = config.system_metrics(log_system_metrics)  # a bad variable fails before any write
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
    state.push_run(active)
    if sample_system:
        flavours.start_system_metrics(active.info.run_id, resumed=bool(existing_run_id))
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


@translated
def restore_run(run_id: str) -> None:
    state.current_client().restore_run(run_id)


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
    to now, ``model_id`` to the active model. Asynchronously (``synchronous=False`` or
    MLFLOW_ENABLE_ASYNC_LOGGING) the point is queued and a RunOperations returned;
    ``flush_async_logging()`` or ``end_run()`` writes it."""
    # A training loop's hot path: an inline try instead of the decorator saves a call layer.
    try:
        if run_id is None:
            stack = state.runs.stack
            active = stack[-1] if stack else start_run()
            client, run_id = active._client, active.info.run_id
        else:
            client = state.current_client()
        model_id = model_id or state.active_model_id()
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
    model_id = model_id or state.active_model_id()
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


@translated
def flush_artifact_async_logging() -> None:
    """Nothing to wait for: artifacts are written before ``log_artifact`` returns. Starts a run
    when none is active, as MLflow's does."""
    _run_id()


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


# --- logged models (MLflow 3) --------------------------------------------------------------------

MLFLOW_MODEL_IS_EXTERNAL = "mlflow.model.isExternal"
# The signature MLflow gives an external model (one boolean in, one out), so registries that
# demand a signature accept it.
_EXTERNAL_SIGNATURE = '[{"type": "boolean", "required": true}]'


def _create_logged_model(
    name: str | None,
    source_run_id: str | None,
    tags: dict[str, str] | None,
    params: dict[str, str] | None,
    model_type: str | None,
    experiment_id: str | None,
) -> E.LoggedModel:
    # As MLflow: the active run is the source, and its experiment the home; else the active
    # experiment (which may be the Default one).
    run = active_run()
    if source_run_id is None and run is not None:
        source_run_id = run.info.run_id
    if experiment_id is None:
        experiment_id = run.info.experiment_id if run is not None else state.experiment_id()
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    return state.current_client().create_logged_model(
        experiment_id, name, source_run_id, context.resolve_tags(user_tags), params, model_type
    )


@translated
def initialize_logged_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> E.LoggedModel:
    """A new PENDING logged model (finalize it when its artifacts are written); it becomes this
    thread's ``last_logged_model()``."""
    model = _create_logged_model(name, source_run_id, tags, params, model_type, experiment_id)
    flavours.remember_logged_model(model.model_id)
    return model


@translated
def create_external_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> E.LoggedModel:
    """A READY logged model whose files live outside the store: tagged
    ``mlflow.model.isExternal``, with only an MLmodel file (no flavour) so it can be registered."""
    import yaml  # type: ignore[import-untyped]

    tagged = {**(tags or {}), MLFLOW_MODEL_IS_EXTERNAL: "true"}
    model = _create_logged_model(name, source_run_id, tagged, params, model_type, experiment_id)
    spec: dict[str, Any] = {
        "artifact_path": model.artifact_location,
        "flavors": {},
        "metadata": {MLFLOW_MODEL_IS_EXTERNAL: True},
        "model_id": model.model_id,
        "model_uuid": model.model_id,
        "signature": {"inputs": _EXTERNAL_SIGNATURE, "outputs": _EXTERNAL_SIGNATURE, "params": None},
        "utc_time_created": str(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)),
    }
    if model.source_run_id is not None:
        spec["run_id"] = model.source_run_id
    store = config.artifact_store(model.artifact_location)
    store.log_stream(io.BytesIO(yaml.safe_dump(spec).encode("utf-8")), "MLmodel")
    model = state.current_client().finalize_logged_model(model.model_id, E.LoggedModelStatus.READY)
    flavours.remember_logged_model(model.model_id)
    return model


@translated
def finalize_logged_model(model_id: str, status: Any) -> E.LoggedModel:
    return state.current_client().finalize_logged_model(model_id, status)


@translated
def get_logged_model(model_id: str) -> E.LoggedModel:
    return state.current_client().get_logged_model(model_id)


@translated
def last_logged_model() -> E.LoggedModel | None:
    """The model this thread created last (fetched fresh), or None."""
    model_id = flavours.last_logged_model_id()
    return get_logged_model(model_id) if model_id else None


@translated
def log_model_params(params: dict[str, str], model_id: str | None = None) -> None:
    """Parameters of ``model_id``, else of the active model."""
    state.current_client().log_model_params(checked_model_id(model_id or state.active_model_id()), params)


@translated
def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    state.current_client().set_logged_model_tags(model_id, tags)


@translated
def delete_logged_model_tag(model_id: str, key: str) -> None:
    state.current_client().delete_logged_model_tag(model_id, key)


@translated
def log_outputs(models: list[Any] | None = None) -> None:
    """Record logged models (``LoggedModelOutput``) as outputs of the active run (started if none)."""
    state.current_client().log_outputs(_run_id(), list(models or ()))


@translated
def search_logged_models(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    datasets: list[dict[str, str]] | None = None,
    max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None,
    output_format: str = "pandas",
) -> Any:
    """Logged models of the experiments (the active one by default), every page or the first
    ``max_results``; a pandas DataFrame (one row per model's ``to_dictionary()``, status as its
    name) or, with ``output_format="list"``, a list of LoggedModels."""
    if output_format not in ("pandas", "list"):
        raise InvalidParameterValue(
            f"Unsupported output format: {output_format!r}. Supported string values are 'pandas' or 'list'"
        )
    ids = experiment_ids or [state.experiment_id()]

    def page(count: int, token: str | None) -> E.PagedList:
        return state.current_client().search_logged_models(
            ids, filter_string, datasets, count, order_by, token
        )

    models = _collect(page, SEARCH_LOGGED_MODEL_PAGE, max_results)
    if output_format == "list":
        return models
    pd = _pandas("search_logged_models")
    rows = []
    for model in models:
        row = model.to_dictionary()
        row["status"] = E.LoggedModelStatus.from_int(row["status"])
        rows.append(row)
    return pd.DataFrame(rows)


class ActiveModel(E.LoggedModel):
    """The model ``set_active_model`` returns; as a context manager, the active model before it
    is active again when the block ends."""

    def __init__(self, logged_model: E.LoggedModel, set_by_user: bool) -> None:
        super().__init__(**logged_model.to_dictionary())
        self._previous_model_id = state.runs.active_model_id
        self._set_by_user = set_by_user
        state.runs.active_model_id = self.model_id

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        state.runs.active_model_id = self._previous_model_id


@translated
def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a logged model this thread's active model: the one ``model_id`` names (whose name
    must then be ``name``), else the newest of the active experiment named ``name``, created as
    an external model when there is none. Traces and metrics then refer to it."""
    if name is None and model_id is None:
        raise InvalidParameterValue("Either name or model_id must be provided")
    if model_id is not None:
        model = get_logged_model(model_id)
        if name is not None and model.name != name:
            raise InvalidParameterValue(
                f"LoggedModel with model_id {model_id!r} has name {model.name!r}, which does not match"
                f" the provided name {name!r}."
            )
    else:
        # MLflow's filter, quotes unescaped: a name holding one fails in both the same way.
        found = search_logged_models(filter_string=f"name='{name}'", max_results=2, output_format="list")
        if len(found) > 1:
            _logger.warning(
                "Multiple LoggedModels found with name %r, setting the latest one as active model.", name
            )
        model = found[0] if found else create_external_model(name=name)
    return ActiveModel(model, set_by_user=True)


def get_active_model_id() -> str | None:
    """The active model of this thread (``set_active_model``, else ``MLFLOW_ACTIVE_MODEL_ID``)."""
    return state.active_model_id()


def clear_active_model() -> None:
    """No active model in this thread, and none from the environment either."""
    os.environ.pop("MLFLOW_ACTIVE_MODEL_ID", None)
    os.environ.pop("_MLFLOW_ACTIVE_MODEL_ID", None)
    state.runs.active_model_id = None


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
def log_stream(stream: Any, artifact_file: str, run_id: str | None = None) -> None:
    state.current_client().log_stream(run_id or _run_id(), stream, artifact_file)


@translated
def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    state.current_client().log_table(run_id or _run_id(), data, artifact_file)


@translated
def load_table(
    artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None
) -> Any:
    """The ``log_table`` tables at ``artifact_file`` of the active experiment's runs (or of those
    of ``run_ids``) as one pandas DataFrame; ``extra_columns`` (``search_runs`` columns such as
    ``run_id``) are added to each run's rows. RESOURCE_DOES_NOT_EXIST when no run has the table."""
    client = state.current_client()
    check_table_file(artifact_file)
    # The tag log_table keeps, matched as MLflow matches it.
    listed = f'"path"%:%"{artifact_file}",%"type"%:%"table"'
    filter_string = f"tags.`{context.MLFLOW_LOGGED_ARTIFACTS}` LIKE '%{listed}%'"
    if run_ids:
        filter_string += f" and attributes.run_id IN ({','.join(map(repr, run_ids))})"
    runs = search_runs(experiment_ids=[state.experiment_id()], filter_string=filter_string)
    if runs.empty:
        raise ResourceDoesNotExist("No runs found with the corresponding table artifact.")
    unknown = [column for column in extra_columns or () if column not in runs]
    if unknown:
        raise InvalidParameterValue(
            f"Unknown extra_columns {unknown}: each is a column of search_runs' result, such as 'run_id'"
        )
    if run_ids and len(run_ids) != len(runs):
        _logger.warning("Not all runs have the specified table artifact. Some runs will be skipped.")
    pd = _pandas("load_table")
    tables = []
    for _, run in runs.iterrows():
        with tempfile.TemporaryDirectory() as tmp:
            table = pd.read_json(client.download_artifacts(run.run_id, artifact_file, tmp), orient="split")
        for column in extra_columns or ():
            # A name the table already has gets an underscore, as MLflow does.
            table[f"{column}_" if column in table else column] = run[column]
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


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
    if max_results is not None and (isinstance(max_results, bool) or not isinstance(max_results, int)):
        page_fn(max_results, None)  # the search's own check refuses it, in that search's words
        raise InvalidParameterValue(f"Invalid value {max_results!r} for parameter 'max_results' supplied")
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


def _pandas(function: str) -> Any:
    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:
        raise InvalidParameterValue(
            f"{function} returns a pandas DataFrame by default, and pandas is not installed: pip install"
            ' pandas, or pass output_format="list".'
        ) from None
    return pd


def _runs_frame(runs: list[E.Run]) -> Any:
    pd = _pandas("search_runs")
    import numpy as np  # pandas depends on it

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


@translated
def search_registered_models(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[E.RegisteredModel]:
    """Every matching registered model (all pages), or the first ``max_results``."""

    def page(count: int, token: str | None) -> E.PagedList:
        return state.current_client().search_registered_models(filter_string, count, order_by, token)

    return _collect(page, SEARCH_REGISTERED_MODEL_PAGE, max_results)


@translated
def search_model_versions(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[E.ModelVersion]:
    """Every matching model version (all pages), or the first ``max_results``."""

    def page(count: int, token: str | None) -> E.PagedList:
        return state.current_client().search_model_versions(filter_string, count, order_by, token)

    return _collect(page, SEARCH_MODEL_VERSION_PAGE, max_results)


@translated
def set_model_version_tag(
    name: str, version: str | None = None, key: str | None = None, value: Any = None
) -> None:
    state.current_client().set_model_version_tag(name, version, key, value)


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
