"""Conversions between ``mlflow.entities`` and the domain's entities, both ways, and of errors.

MLflow's code calls protobuf and dict methods on what a store returns (``run.to_proto()``,
``summary.to_proto()``, ``metric.to_dict()``), so the plugin hands out MLflow's own entity
classes. Every function here is pure: no store, no I/O, no shared state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from attrs import evolve
from mlflow import entities as ml
from mlflow.entities.metric import MetricWithRunId
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2

from genesis_flow.core import entities as core
from genesis_flow.core import tracing as tr
from genesis_flow.core.entities import DatasetRef
from genesis_flow.core.errors import ERROR_CLASSES_BY_CODE, GenesisError, InternalError
from genesis_flow.core.redaction import redact_text
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
    """The MlflowException MLflow's callers expect: our message (redacted: a server's log and its
    HTTP answers show it), our error code's MLflow twin."""
    return MlflowException(redact_text(error.message), error_code=error_code_to_mlflow(error.error_code))


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


# --- traces ---------------------------------------------------------------------------------------

SPANS_LOCATION_TAG = tr.SPANS_LOCATION_TAG
SPANS_IN_TRACKING_STORE = tr.SPANS_IN_TRACKING_STORE
# Where a trace's attachments go (MLflow's MLFLOW_ARTIFACT_LOCATION tag on traces).
TRACE_ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
# MLflow's trace metadata holding the exporter's span count (TraceMetadataKey.SIZE_STATS).
TRACE_SIZE_STATS_METADATA = "mlflow.trace.sizeStats"
SPAN_REQUEST_ID_ATTRIBUTE = "mlflow.traceRequestId"


def _truncated(value: object, limit: int) -> str:
    # MLflow's SQL store truncates over-long trace tag values (and its client the previews and
    # metadata); our ports reject them, so the plugin truncates first.
    return str(value)[:limit]


def _optional_truncated(value: object, limit: int) -> str | None:
    return None if value is None else _truncated(value, limit)


def trace_info_to_core(info: ml.TraceInfo) -> tr.TraceInfo:
    """MLflow's TraceInfo (an experiment location) -> ours, truncated as MLflow's store truncates.

    Assessments are not stored (the assessment API is not supported yet)."""
    experiment_id = info.experiment_id
    if experiment_id is None:
        raise MlflowException.invalid_parameter_value(
            f"Trace '{info.trace_id}' has no MLflow experiment location: this store (Genesis-Flow) "
            "keeps traces in experiments only."
        )
    state = info.state.value if isinstance(info.state, ml.TraceState) else str(info.state)
    return tr.TraceInfo(
        trace_id=info.trace_id,
        experiment_id=str(experiment_id),
        request_time=int(info.request_time),
        state=state,
        execution_duration=None if info.execution_duration is None else int(info.execution_duration),
        request_preview=_optional_truncated(info.request_preview, tr.MAX_PREVIEW_LENGTH),
        response_preview=_optional_truncated(info.response_preview, tr.MAX_PREVIEW_LENGTH),
        client_request_id=info.client_request_id or None,
        tags={str(k): _truncated(v, tr.MAX_TRACE_TAG_VALUE_LENGTH) for k, v in info.tags.items()},
        metadata={
            str(k): _truncated(v, tr.MAX_TRACE_METADATA_VALUE_LENGTH) for k, v in info.trace_metadata.items()
        },
    )


def trace_info_to_mlflow(info: tr.TraceInfo) -> ml.TraceInfo:
    """Ours -> MLflow's, tagged as keeping its spans in the tracking store (they always are)."""
    return ml.TraceInfo(
        trace_id=info.trace_id,
        trace_location=ml.TraceLocation.from_experiment_id(info.experiment_id),
        request_time=info.request_time,
        state=ml.TraceState(info.state.value),
        request_preview=info.request_preview,
        response_preview=info.response_preview,
        client_request_id=info.client_request_id,
        execution_duration=info.execution_duration,
        trace_metadata=dict(info.metadata),
        tags={**info.tags, SPANS_LOCATION_TAG: SPANS_IN_TRACKING_STORE},
    )


def _json_text(value: object) -> str:
    # MLflow's tracer stores every attribute as JSON text; another OpenTelemetry producer may
    # set plain values, which become their JSON text (MLflow's Span decodes both alike).
    return value if isinstance(value, str) else json.dumps(_json_value(value))


def _json_value(value: object) -> Any:
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return value


def span_to_core(span: ml.Span) -> tr.Span:
    """MLflow's Span (live, lazy or loaded) -> ours: ids as MLflow names them (``tr-...`` trace
    id, 16-hex span ids), attributes as MLflow's JSON text. Span links are not kept."""
    status = span.status
    code = (
        status.status_code.value if isinstance(status.status_code, ml.SpanStatusCode) else status.status_code
    )
    attributes = span.to_dict().get("attributes") or {}
    return tr.Span(
        trace_id=span.trace_id,
        span_id=span.span_id,
        name=span.name,
        start_time_ns=int(span.start_time_ns),
        parent_id=span.parent_id,
        end_time_ns=None if span.end_time_ns is None else int(span.end_time_ns),
        status_code=str(code),
        status_message=status.description or "",
        attributes={str(k): _json_text(v) for k, v in attributes.items()},
        events=[
            tr.SpanEvent(
                name=event.name,
                timestamp_ns=int(event.timestamp),
                attributes={str(k): _json_value(v) for k, v in (event.attributes or {}).items()},
            )
            for event in span.events
        ],
    )


def span_to_mlflow(span: tr.Span) -> ml.Span:
    """Ours -> MLflow's Span, through MLflow's own ``Span.from_dict``."""
    attributes = dict(span.attributes)
    attributes.setdefault(SPAN_REQUEST_ID_ATTRIBUTE, json.dumps(span.trace_id))
    return ml.Span.from_dict(
        {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_span_id": span.parent_id,
            "name": span.name,
            "start_time_unix_nano": span.start_time_ns,
            "end_time_unix_nano": span.end_time_ns,
            "events": [
                {"name": e.name, "time_unix_nano": e.timestamp_ns, "attributes": dict(e.attributes)}
                for e in span.events
            ],
            "status": {"code": f"STATUS_CODE_{span.status_code.value}", "message": span.status_message},
            "attributes": attributes,
        }
    )


def _span_tree_order(spans: Iterable[tr.Span]) -> list[tr.Span]:
    # As MLflow's SQL store returns them: the root first, then by start time.
    return sorted(spans, key=lambda s: (s.parent_id is not None, s.start_time_ns))


def trace_to_mlflow(trace: tr.Trace) -> ml.Trace:
    return ml.Trace(
        info=trace_info_to_mlflow(trace.info),
        data=ml.TraceData(spans=[span_to_mlflow(s) for s in _span_tree_order(trace.spans)]),
    )


def trace_is_complete(trace: tr.Trace) -> bool:
    """As MLflow's SQL store judges it: some spans, and at least as many as the exporter counted
    (the ``num_spans`` of the size-stats metadata, when present)."""
    if not trace.spans:
        return False
    stats = trace.info.metadata.get(TRACE_SIZE_STATS_METADATA)
    if not stats:
        return True
    try:
        expected = int(json.loads(stats).get("num_spans", 0))
    except (ValueError, TypeError, AttributeError):
        return True
    return len(trace.spans) >= expected
