"""Domain -> MLflow's shapes, into whichever target's classes the caller passes (:class:`Shapes`).

The shapes are those MLflow's SQL store returns: ``version`` an int, stage, status and lifecycle
as strings, a logged model's ``metrics`` None when it has none, a run's ``inputs`` and ``outputs``
always present.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from genesis_flow.core import entities as core
from genesis_flow.core import registry as core_registry
from genesis_flow.core import tracing as tr
from genesis_flow.entrypoints.shapes.targets import (
    AnyShapes,
    ExperimentShapes,
    ExperimentT,
    FileInfoShapes,
    FileInfoT,
    LoggedModelShapes,
    LoggedModelT,
    MetricShapes,
    MetricT,
    ModelVersionShapes,
    ModelVersionT,
    RegisteredModelShapes,
    RegisteredModelT,
    RunInfoShapes,
    RunInfoT,
    RunShapes,
    RunT,
    TraceInfoShapes,
    TraceInfoT,
    TraceShapes,
    TraceT,
)

# --- experiments and runs ------------------------------------------------------------------------


def experiment_from_core(experiment: core.Experiment, to: ExperimentShapes[ExperimentT]) -> ExperimentT:
    return to.Experiment(
        experiment_id=experiment.experiment_id,
        name=experiment.name,
        artifact_location=experiment.artifact_location,
        lifecycle_stage=experiment.lifecycle_stage.value,
        tags=[to.ExperimentTag(t.key, t.value) for t in experiment.tags],
        creation_time=experiment.creation_time,
        last_update_time=experiment.last_update_time,
    )


def metric_from_core(metric: core.Metric, to: MetricShapes[MetricT], run_id: str | None = None) -> MetricT:
    """A metric point with its model id and dataset; ``run_id`` is the run that logged it where
    MLflow shows one (a logged model's metrics), else None as in a run's own data."""
    return to.Metric(
        key=metric.key,
        value=metric.value,
        timestamp=metric.timestamp,
        step=metric.step,
        model_id=metric.model_id,
        dataset_name=metric.dataset_name,
        dataset_digest=metric.dataset_digest,
        run_id=run_id,
    )


def metric_with_run_id_from_core(metric: core.Metric, run_id: str, to: AnyShapes) -> Any:
    """MLflow's ``MetricWithRunId`` (``get_metric_history_bulk``): the point and the run it is of.
    The run id comes from the caller, never from the domain's metric."""
    return to.MetricWithRunId(metric=metric_from_core(metric, to), run_id=run_id)


def param_from_core(param: core.Param, to: AnyShapes) -> Any:
    return to.Param(param.key, param.value)


def run_tag_from_core(tag: core.RunTag, to: AnyShapes) -> Any:
    return to.RunTag(tag.key, tag.value)


def run_info_from_core(info: core.RunInfo, to: RunInfoShapes[RunInfoT]) -> RunInfoT:
    return to.RunInfo(
        run_id=info.run_id,
        experiment_id=info.experiment_id,
        user_id=info.user_id,
        status=info.status.value,
        start_time=info.start_time,
        end_time=info.end_time,
        lifecycle_stage=info.lifecycle_stage.value,
        artifact_uri=info.artifact_uri,
        run_name=info.run_name,
    )


def dataset_input_from_core(dataset_input: core.DatasetInput, to: AnyShapes) -> Any:
    dataset = dataset_input.dataset
    return to.DatasetInput(
        dataset=to.Dataset(
            name=dataset.name,
            digest=dataset.digest,
            source_type=dataset.source_type,
            source=dataset.source,
            schema=dataset.schema,
            profile=dataset.profile,
        ),
        tags=[to.InputTag(t.key, t.value) for t in dataset_input.tags],
    )


def run_from_core(run: core.Run, to: RunShapes[RunT]) -> RunT:
    return to.Run(
        run_info=run_info_from_core(run.info, to),
        run_data=to.RunData(
            metrics=[metric_from_core(m, to) for m in run.data.metrics],
            params=[param_from_core(p, to) for p in run.data.params],
            tags=[run_tag_from_core(t, to) for t in run.data.tags],
        ),
        run_inputs=to.RunInputs(
            dataset_inputs=[dataset_input_from_core(d, to) for d in run.inputs.dataset_inputs],
            model_inputs=[to.LoggedModelInput(m.model_id) for m in run.inputs.model_inputs],
        ),
        run_outputs=to.RunOutputs(
            model_outputs=[to.LoggedModelOutput(m.model_id, m.step) for m in run.outputs.model_outputs]
        ),
    )


def file_info_from_core(file_info: core.FileInfo, to: FileInfoShapes[FileInfoT]) -> FileInfoT:
    return to.FileInfo(file_info.path, file_info.is_dir, file_info.file_size)


def dataset_summary_from_core(summary: core.DatasetSummary, to: AnyShapes) -> Any:
    return to.DatasetSummary(
        experiment_id=summary.experiment_id,
        name=summary.name,
        digest=summary.digest,
        context=summary.context,
    )


def logged_model_from_core(model: core.LoggedModel, to: LoggedModelShapes[LoggedModelT]) -> LoggedModelT:
    return to.LoggedModel(
        experiment_id=model.experiment_id,
        model_id=model.model_id,
        name=model.name,
        artifact_location=model.artifact_location,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        model_type=model.model_type,
        source_run_id=model.source_run_id,
        status=to.LoggedModelStatus(model.status.value),
        status_message=model.status_message,
        tags=[to.LoggedModelTag(t.key, t.value) for t in model.tags],
        params=[to.LoggedModelParameter(p.key, p.value) for p in model.params],
        metrics=[metric_from_core(m, to, m.run_id) for m in model.metrics] or None,
    )


# --- registry --------------------------------------------------------------------------------------


def model_version_from_core(
    version: core_registry.ModelVersion, to: ModelVersionShapes[ModelVersionT]
) -> ModelVersionT:
    return to.ModelVersion(
        name=version.name,
        version=version.version,
        creation_timestamp=version.creation_timestamp,
        last_updated_timestamp=version.last_updated_timestamp,
        description=version.description,
        user_id=version.user_id,
        current_stage=version.current_stage.value,
        source=version.source,
        run_id=version.run_id,
        status=version.status.value,
        status_message=version.status_message,
        tags=[to.ModelVersionTag(t.key, t.value) for t in version.tags],
        run_link=version.run_link,
        aliases=list(version.aliases),
        model_id=version.model_id,
    )


def registered_model_from_core(
    model: core_registry.RegisteredModel, to: RegisteredModelShapes[RegisteredModelT]
) -> RegisteredModelT:
    """With its latest version per stage, tags and aliases."""
    return to.RegisteredModel(
        name=model.name,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        description=model.description,
        latest_versions=[model_version_from_core(v, to) for v in model.latest_versions],
        tags=[to.RegisteredModelTag(t.key, t.value) for t in model.tags],
        aliases=[to.RegisteredModelAlias(a.alias, a.version) for a in model.aliases],
    )


# --- traces ----------------------------------------------------------------------------------------


def trace_info_from_core(
    info: tr.TraceInfo, to: TraceInfoShapes[TraceInfoT], *, spans_in_store: bool = False
) -> TraceInfoT:
    """As stored; ``spans_in_store`` adds the tag saying the spans are in the tracking store,
    which traces written before log_spans stored it lack (without it MLflow looks among
    artifacts)."""
    tags = dict(info.tags)
    if spans_in_store:
        tags.setdefault(tr.SPANS_LOCATION_TAG, tr.SPANS_IN_TRACKING_STORE)
    return to.TraceInfo(
        trace_id=info.trace_id,
        trace_location=to.TraceLocation.from_experiment_id(info.experiment_id),
        request_time=info.request_time,
        state=to.TraceState(info.state.value),
        request_preview=info.request_preview,
        response_preview=info.response_preview,
        client_request_id=info.client_request_id,
        execution_duration=info.execution_duration,
        trace_metadata=dict(info.metadata),
        tags=tags,
    )


def span_from_core(span: tr.Span, to: AnyShapes) -> Any:
    return to.span_from_dict(
        {
            "trace_id": span.trace_id,
            "otel_trace_id": span.otel_trace_id,
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
            "attributes": dict(span.attributes),
            "links": [
                {"trace_id": k.trace_id, "span_id": k.span_id, "attributes": dict(k.attributes) or None}
                for k in span.links
            ],
        }
    )


def _span_tree_order(spans: Iterable[tr.Span]) -> list[tr.Span]:
    # As MLflow's SQL store returns them: the root first, then by start time.
    return sorted(spans, key=lambda s: (s.parent_id is not None, s.start_time_ns))


def trace_from_core(trace: tr.Trace, to: TraceShapes[TraceT]) -> TraceT:
    return to.Trace(
        info=trace_info_from_core(trace.info, to, spans_in_store=bool(trace.spans)),
        data=to.TraceData(spans=[span_from_core(s, to) for s in _span_tree_order(trace.spans)]),
    )
