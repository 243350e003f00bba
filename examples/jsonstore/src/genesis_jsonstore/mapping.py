"""Entities <-> JSON documents: the one place that knows how this store spells each entity.

Documents are plain JSON objects. Floats keep NaN and infinities the way Python's ``json``
writes them (``NaN``, ``Infinity``), so metric values round-trip exactly. Collections the domain
keeps as sorted tuples are stored as objects keyed by their key (tags, params) or as lists.
"""

from __future__ import annotations

from typing import Any

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ModelMetric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    Stage,
    latest_versions_per_stage,
)
from genesis_flow.core.search import RunValues
from genesis_flow.core.tracing import Span, SpanEvent, SpanLink, TraceInfo
from genesis_jsonstore.files import Document

# --- experiments -------------------------------------------------------------------------------


def experiment_document(e: Experiment) -> Document:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.value,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": {t.key: t.value for t in e.tags},
    }


def experiment_from(d: Document) -> Experiment:
    return Experiment(
        experiment_id=d["experiment_id"],
        name=d["name"],
        artifact_location=d["artifact_location"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
        tags=tuple(ExperimentTag(k, v) for k, v in d["tags"].items()),
    )


# --- runs --------------------------------------------------------------------------------------


def run_info_document(info: RunInfo) -> Document:
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "status": info.status.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.value,
    }


def run_info_from(d: Document) -> RunInfo:
    return RunInfo(
        run_id=d["run_id"],
        experiment_id=d["experiment_id"],
        run_name=d["run_name"],
        user_id=d["user_id"],
        status=RunStatus(d["status"]),
        start_time=d["start_time"],
        end_time=d["end_time"],
        artifact_uri=d["artifact_uri"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
    )


def metric_document(m: Metric) -> Document:
    d: Document = {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}
    for name in ("model_id", "dataset_name", "dataset_digest", "run_id"):
        if getattr(m, name, None) is not None:
            d[name] = getattr(m, name)
    return d


def metric_from(d: Document) -> Metric:
    return Metric(
        key=d["key"],
        value=d["value"],
        timestamp=d["timestamp"],
        step=d["step"],
        model_id=d.get("model_id"),
        dataset_name=d.get("dataset_name"),
        dataset_digest=d.get("dataset_digest"),
    )


def model_metric_from(d: Document) -> ModelMetric:
    return ModelMetric.of(metric_from(d), d.get("run_id"))


def dataset_document(ds: Dataset) -> Document:
    return {
        "name": ds.name,
        "digest": ds.digest,
        "source_type": ds.source_type,
        "source": ds.source,
        "schema": ds.schema,
        "profile": ds.profile,
    }


def dataset_from(d: Document) -> Dataset:
    return Dataset(d["name"], d["digest"], d["source_type"], d["source"], d["schema"], d["profile"])


def dataset_input_document(item: DatasetInput) -> Document:
    return {"dataset": dataset_document(item.dataset), "tags": {t.key: t.value for t in item.tags}}


def dataset_input_from(d: Document) -> DatasetInput:
    return DatasetInput(dataset_from(d["dataset"]), tuple(InputTag(k, v) for k, v in d["tags"].items()))


def run_document(info: RunInfo, params: dict[str, str], tags: dict[str, str]) -> Document:
    """A new run's document. ``latest`` holds each metric's latest point (the history is in
    JSON-lines files beside it), ``datasets`` the dataset inputs keyed by name and digest."""
    return {
        "info": run_info_document(info),
        "params": params,
        "tags": tags,
        "latest": {},
        "datasets": [],
        "model_inputs": [],
        "model_outputs": [],
        "deleted_time": None,
    }


def run_from(d: Document) -> Run:
    return Run(
        info=run_info_from(d["info"]),
        data=RunData(
            metrics=tuple(metric_from(m) for m in d["latest"].values()),
            params=tuple(Param(k, v) for k, v in d["params"].items()),
            tags=tuple(RunTag(k, v) for k, v in d["tags"].items()),
        ),
        inputs=RunInputs(
            dataset_inputs=tuple(dataset_input_from(i) for i in d["datasets"]),
            model_inputs=tuple(LoggedModelInput(m) for m in d["model_inputs"]),
        ),
        outputs=RunOutputs(tuple(LoggedModelOutput(m, step) for m, step in d["model_outputs"])),
    )


def run_values(d: Document) -> RunValues:
    """What a search reads of a run, without building the whole entity."""
    return RunValues(
        run_info_from(d["info"]),
        {key: m["value"] for key, m in d["latest"].items()},
        d["params"],
        d["tags"],
        [dataset_input_from(i) for i in d["datasets"]],
    )


# --- logged models -------------------------------------------------------------------------------


def logged_model_document(m: LoggedModel) -> Document:
    return {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "artifact_location": m.artifact_location,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "status": m.status.value,
        "status_message": m.status_message,
        "model_type": m.model_type,
        "source_run_id": m.source_run_id,
        "lifecycle_stage": m.lifecycle_stage.value,
        "tags": {t.key: t.value for t in m.tags},
        "params": {p.key: p.value for p in m.params},
        "metrics": [metric_document(x) for x in m.metrics],
    }


def logged_model_from(d: Document) -> LoggedModel:
    return LoggedModel(
        model_id=d["model_id"],
        experiment_id=d["experiment_id"],
        name=d["name"],
        artifact_location=d["artifact_location"],
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        status=LoggedModelStatus(d["status"]),
        status_message=d["status_message"],
        model_type=d["model_type"],
        source_run_id=d["source_run_id"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        tags=tuple(LoggedModelTag(k, v) for k, v in d["tags"].items()),
        params=tuple(LoggedModelParameter(k, v) for k, v in d["params"].items()),
        metrics=tuple(model_metric_from(x) for x in d["metrics"]),
    )


# --- traces ------------------------------------------------------------------------------------


def trace_info_document(info: TraceInfo) -> Document:
    return {
        "trace_id": info.trace_id,
        "experiment_id": info.experiment_id,
        "request_time": info.request_time,
        "state": info.state.value,
        "execution_duration": info.execution_duration,
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "client_request_id": info.client_request_id,
        "tags": dict(info.tags),
        "metadata": dict(info.metadata),
    }


def trace_info_from(d: Document) -> TraceInfo:
    return TraceInfo(**d)


def span_document(span: Span) -> Document:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "name": span.name,
        "start_time_ns": span.start_time_ns,
        "parent_id": span.parent_id,
        "end_time_ns": span.end_time_ns,
        "status_code": span.status_code.value,
        "status_message": span.status_message,
        "attributes": dict(span.attributes),
        "events": [
            {"name": e.name, "timestamp_ns": e.timestamp_ns, "attributes": dict(e.attributes)}
            for e in span.events
        ],
        "links": [
            {"trace_id": link.trace_id, "span_id": link.span_id, "attributes": dict(link.attributes)}
            for link in span.links
        ],
        "otel_trace_id": span.otel_trace_id,
    }


def span_from(d: Document) -> Span:
    events = tuple(SpanEvent(**e) for e in d["events"])
    links = tuple(SpanLink(**link) for link in d.get("links", ()))
    return Span(**{**d, "events": events, "links": links})


# --- the registry ------------------------------------------------------------------------------


def model_version_document(mv: ModelVersion) -> Document:
    """A version without its aliases: those live on the model, attached on the way out."""
    return {
        "name": mv.name,
        "version": mv.version,
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "current_stage": mv.current_stage.value,
        "description": mv.description,
        "user_id": mv.user_id,
        "source": mv.source,
        "run_id": mv.run_id,
        "status": mv.status.value,
        "status_message": mv.status_message,
        "run_link": mv.run_link,
        "model_id": mv.model_id,
        "tags": {t.key: t.value for t in mv.tags},
    }


def model_version_from(d: Document, aliases: tuple[str, ...] = ()) -> ModelVersion:
    fields: dict[str, Any] = dict(d)
    fields["current_stage"] = Stage(d["current_stage"])
    fields["status"] = ModelVersionStatus(d["status"])
    fields["tags"] = tuple(ModelVersionTag(k, v) for k, v in d["tags"].items())
    return ModelVersion(**fields, aliases=aliases)


def registered_model_document(
    name: str,
    creation_timestamp: int,
    last_updated_timestamp: int,
    description: str | None,
    tags: dict[str, str],
) -> Document:
    """A registered model with everything of it: ``versions`` (live ones, by number),
    ``aliases`` (alias -> number), ``highest_version`` (the highest number ever given) and
    ``retired`` (deleted numbers), so that no number is handed out twice."""
    return {
        "name": name,
        "creation_timestamp": creation_timestamp,
        "last_updated_timestamp": last_updated_timestamp,
        "description": description,
        "tags": tags,
        "aliases": {},
        "versions": {},
        "highest_version": 0,
        "retired": [],
    }


def version_of(model: Document, number: int) -> ModelVersion:
    """Live version ``number`` of ``model`` with the aliases pointing at it."""
    aliases = tuple(a for a, n in model["aliases"].items() if n == number)
    return model_version_from(model["versions"][str(number)], aliases)


def registered_model_from(d: Document) -> RegisteredModel:
    versions = [version_of(d, int(n)) for n in d["versions"]]
    return RegisteredModel(
        name=d["name"],
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        description=d["description"],
        latest_versions=latest_versions_per_stage(versions),
        tags=tuple(RegisteredModelTag(k, v) for k, v in d["tags"].items()),
        aliases=tuple(RegisteredModelAlias(a, n) for a, n in d["aliases"].items()),
    )
