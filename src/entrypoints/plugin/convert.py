"""Conversions between ``mlflow.entities`` and the domain's entities, both ways, and of errors.

MLflow's code calls protobuf and dict methods on what a store returns (``run.to_proto()``,
``summary.to_proto()``, ``metric.to_dict()``), so the plugin hands out MLflow's own entity
classes. Every function here is pure: no store, no I/O, no shared state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from attrs import evolve
from mlflow import entities as ml
from mlflow.entities.metric import MetricWithRunId
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2

from genesis_flow.core import entities as core
from genesis_flow.core.entities import DatasetRef
from genesis_flow.core.errors import ERROR_CLASSES_BY_CODE, GenesisError, InternalError
from genesis_flow.entrypoints.api import entities as E

P = ParamSpec("P")
R = TypeVar("R")

# --- errors ---------------------------------------------------------------------------------------


def error_code_to_mlflow(code: str) -> int:
    """MLflow's numeric ``ErrorCode`` for one of our code names; INTERNAL_ERROR if MLflow lacks it."""
    try:
        return int(databricks_pb2.ErrorCode.Value(code))
    except ValueError:
        return int(databricks_pb2.INTERNAL_ERROR)


def error_to_mlflow(error: GenesisError) -> MlflowException:
    """The MlflowException MLflow's callers expect: our message, our error code's MLflow twin."""
    return MlflowException(error.message, error_code=error_code_to_mlflow(error.error_code))


def translated(function: Callable[P, R]) -> Callable[P, R]:
    """For both plugin stores: our errors leave as ``MlflowException`` with MLflow's code (see
    :func:`error_to_mlflow`); everything else passes unchanged."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except GenesisError as error:
            raise error_to_mlflow(error) from None

    return wrapper


def error_to_core(error: MlflowException) -> GenesisError:
    """The domain error for an MlflowException (by its code name; unknown codes -> InternalError)."""
    error_class = ERROR_CLASSES_BY_CODE.get(str(error.error_code), InternalError)
    return error_class(error.message)


# --- enums ----------------------------------------------------------------------------------------


def view_type_to_core(view_type: Any) -> core.ViewType:
    """MLflow's ViewType (1, 2, 3) or its name ("ACTIVE_ONLY", ...) -> ours."""
    if view_type is None:
        return core.ViewType.ACTIVE_ONLY
    if isinstance(view_type, str):
        return core.ViewType(int(ml.ViewType.from_string(view_type)))
    return core.ViewType(int(view_type))


def run_status_to_core(status: Any) -> core.RunStatus | None:
    """MLflow's RunStatus int (``RunStatus.FINISHED``) or name -> ours; None stays None."""
    if status is None:
        return None
    if isinstance(status, int) and not isinstance(status, bool):
        return core.RunStatus.parse(ml.RunStatus.to_string(status))
    return core.RunStatus.parse(str(status))


def logged_model_status_to_core(status: Any) -> core.LoggedModelStatus:
    """MLflow's LoggedModelStatus (a str enum), its proto int or its name -> ours."""
    if isinstance(status, ml.LoggedModelStatus):
        return core.LoggedModelStatus.parse(status.value)
    if isinstance(status, int) and not isinstance(status, bool):
        return core.LoggedModelStatus.parse(ml.LoggedModelStatus.from_int(status).value)
    return core.LoggedModelStatus.parse(str(status))


# --- experiments ----------------------------------------------------------------------------------


def experiment_tag_to_core(tag: ml.ExperimentTag) -> core.ExperimentTag:
    return E.experiment_tag_to_core(tag)


def experiment_to_mlflow(experiment: core.Experiment) -> ml.Experiment:
    return ml.Experiment(
        experiment_id=experiment.experiment_id,
        name=experiment.name,
        artifact_location=experiment.artifact_location,
        lifecycle_stage=experiment.lifecycle_stage.value,
        tags=[ml.ExperimentTag(t.key, t.value) for t in experiment.tags],
        creation_time=experiment.creation_time,
        last_update_time=experiment.last_update_time,
    )


# --- runs -----------------------------------------------------------------------------------------


def metric_to_core(metric: ml.Metric, run_id: str | None = None) -> core.Metric:
    """The API's conversion (MLflow's float conversion; step and timestamp left for validation
    to judge), with a missing step as 0 and the caller's run id when the metric names none."""
    converted = E.metric_to_core(metric)
    if converted.step is None or (converted.run_id is None and run_id is not None):
        step = 0 if converted.step is None else converted.step
        converted = evolve(converted, step=step, run_id=converted.run_id or run_id)
    return converted


def metric_to_mlflow(metric: core.Metric) -> ml.Metric:
    return ml.Metric(
        key=metric.key,
        value=metric.value,
        timestamp=metric.timestamp,
        step=metric.step,
        model_id=metric.model_id,
        dataset_name=metric.dataset_name,
        dataset_digest=metric.dataset_digest,
        run_id=metric.run_id,
    )


def metric_with_run_id_to_mlflow(metric: core.Metric, run_id: str) -> MetricWithRunId:
    return MetricWithRunId(metric=metric_to_mlflow(metric), run_id=run_id)


def param_to_core(param: ml.Param) -> core.Param:
    return E.param_to_core(param)


def param_to_mlflow(param: core.Param) -> ml.Param:
    return ml.Param(param.key, param.value)


def run_tag_to_core(tag: ml.RunTag) -> core.RunTag:
    return E.run_tag_to_core(tag)


def run_tag_to_mlflow(tag: core.RunTag) -> ml.RunTag:
    return ml.RunTag(tag.key, tag.value)


def run_info_to_mlflow(info: core.RunInfo) -> ml.RunInfo:
    return ml.RunInfo(
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        user_id=info.user_id,
        status=info.status.value,
        start_time=info.start_time,  # type: ignore[arg-type]  # MLflow's own stores may hold None too
        end_time=info.end_time,
        lifecycle_stage=info.lifecycle_stage.value,
        artifact_uri=info.artifact_uri,
        run_name=info.run_name,
    )


def dataset_input_to_core(dataset_input: ml.DatasetInput) -> core.DatasetInput:
    return E.dataset_input_to_core(dataset_input)


def dataset_input_to_mlflow(dataset_input: core.DatasetInput) -> ml.DatasetInput:
    dataset = dataset_input.dataset
    return ml.DatasetInput(
        dataset=ml.Dataset(
            name=dataset.name,
            digest=dataset.digest,
            source_type=dataset.source_type,
            source=dataset.source,
            schema=dataset.schema,
            profile=dataset.profile,
        ),
        tags=[ml.InputTag(t.key, t.value) for t in dataset_input.tags],
    )


def model_input_to_core(model_input: ml.LoggedModelInput) -> core.LoggedModelInput:
    return core.LoggedModelInput(model_input.model_id)


def model_output_to_core(model_output: ml.LoggedModelOutput) -> core.LoggedModelOutput:
    return core.LoggedModelOutput(model_output.model_id, int(model_output.step or 0))


def run_to_mlflow(run: core.Run) -> ml.Run:
    return ml.Run(
        run_info=run_info_to_mlflow(run.info),
        run_data=ml.RunData(
            metrics=[metric_to_mlflow(m) for m in run.data.metrics],
            params=[param_to_mlflow(p) for p in run.data.params],
            tags=[run_tag_to_mlflow(t) for t in run.data.tags],
        ),
        run_inputs=ml.RunInputs(
            dataset_inputs=[dataset_input_to_mlflow(d) for d in run.inputs.dataset_inputs],
            model_inputs=[ml.LoggedModelInput(m.model_id) for m in run.inputs.model_inputs],
        ),
        run_outputs=ml.RunOutputs(
            model_outputs=[ml.LoggedModelOutput(m.model_id, m.step) for m in run.outputs.model_outputs]
        ),
    )


def dataset_summary_to_mlflow(summary: core.DatasetSummary) -> ml._DatasetSummary:
    return ml._DatasetSummary(
        experiment_id=summary.experiment_id,
        name=summary.name,
        digest=summary.digest,
        context=summary.context,
    )


# --- logged models --------------------------------------------------------------------------------


def logged_model_tag_to_core(tag: ml.LoggedModelTag) -> core.LoggedModelTag:
    return core.LoggedModelTag(str(tag.key), str(tag.value))


def logged_model_param_to_core(param: ml.LoggedModelParameter) -> core.LoggedModelParameter:
    return core.LoggedModelParameter(str(param.key), str(param.value))


def logged_model_to_mlflow(model: core.LoggedModel) -> ml.LoggedModel:
    return ml.LoggedModel(
        experiment_id=model.experiment_id,
        model_id=model.model_id,
        name=model.name,
        artifact_location=model.artifact_location,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        model_type=model.model_type,
        source_run_id=model.source_run_id,
        status=ml.LoggedModelStatus(model.status.value),
        status_message=model.status_message,
        tags=[ml.LoggedModelTag(t.key, t.value) for t in model.tags],
        params=[ml.LoggedModelParameter(p.key, p.value) for p in model.params],
        metrics=[metric_to_mlflow(m) for m in model.metrics] or None,
    )


def dataset_refs_to_core(datasets: Iterable[dict[str, Any]] | None) -> tuple[DatasetRef, ...]:
    """``search_logged_models(datasets=[{"dataset_name": ..., "dataset_digest": ...}])`` -> ours.

    MLflow's client and server send ``dataset_name``; ``name`` (the abstract store's docstring)
    is accepted too.
    """
    refs = []
    for entry in datasets or ():
        name = entry.get("dataset_name") or entry.get("name")
        if not name:
            raise MlflowException.invalid_parameter_value(
                "`dataset_name` in the `datasets` clause must be specified."
            )
        refs.append(DatasetRef(str(name), entry.get("dataset_digest") or entry.get("digest")))
    return tuple(refs)


def logged_model_order_clauses(order_by: Iterable[dict[str, Any]] | None) -> list[str]:
    """``[{"field_name": "metrics.acc", "ascending": False}]`` -> ``["metrics.acc DESC"]``.

    ``dataset_name`` / ``dataset_digest`` in an entry are not expressible in our order-by (the
    latest value over all datasets orders); they are ignored.
    """
    clauses = []
    for entry in order_by or ():
        field_name = entry.get("field_name")
        if not field_name:
            raise MlflowException.invalid_parameter_value("`field_name` in `order_by` must be specified.")
        ascending = entry.get("ascending")
        clauses.append(f"{_quoted_field(str(field_name))} {'DESC' if ascending is False else 'ASC'}")
    return clauses


def _quoted_field(field_name: str) -> str:
    # MLflow sends the bare key ("metrics.my acc"); our grammar wants odd keys in backticks.
    prefix, dot, key = field_name.partition(".")
    if not dot or key.isidentifier() or key.startswith("`"):
        return field_name
    return f"{prefix}.`{key}`"
