"""Rows <-> entities for the SQL stores: what a row of each table holds and how an entity is read
back from one, for tracking (experiments, runs, metrics, logged models), tracing and the registry.

The stores decide which rows to read and write; this module only knows the row shapes. Hot reads
(a page of runs, of traces or of model versions holds thousands of rows) take plain tuples by
position rather than rows by attribute: per-row attribute lookups cost more than the entities.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genesis_flow.adapters.sql import schema as t
from genesis_flow.adapters.sql.database import chunks
from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ModelMetric,
    RunInfo,
    RunStatus,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    Stage,
)
from genesis_flow.core.tracing import Span, SpanEvent, SpanLink, SpanStatusCode, TraceInfo, TraceState

T = TypeVar("T")


def grouped(
    conn: Connection,
    owner: sa.Column[Any],
    columns: Sequence[sa.ColumnElement[Any]],
    ids: Sequence[Any],
    build: Callable[..., T],
) -> dict[Any, list[T]]:
    """Per id of ``ids`` (each one present), ``build(*columns)`` of every row of ``owner``'s table
    that belongs to it: the related rows of a page, one query per chunk of ids."""
    found: dict[Any, list[T]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        for owner_id, *values in conn.execute(sa.select(owner, *columns).where(owner.in_(chunk))).all():
            found[owner_id].append(build(*values))
    return found


# --- experiments and runs ------------------------------------------------------------------------


def experiment_from(row: Any, tags: Iterable[ExperimentTag]) -> Experiment:
    return Experiment(
        experiment_id=row.experiment_id,
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags=tuple(tags),
    )


def id_order(experiment_id: str) -> int | None:
    """The experiments' sort key (numeric ids in number order); None for an id that is no number."""
    return int(experiment_id) if experiment_id.isdigit() and len(experiment_id) < 19 else None


def run_row(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "name": info.run_name,
        "user_id": info.user_id,
        "status": info.status.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.value,
    }


def run_info_from(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.run_id,
        experiment_id=row.experiment_id,
        run_name=row.name,
        user_id=row.user_id,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
    )


def dataset_input_rows(
    run_id: str, experiment_id: str, datasets: Sequence[DatasetInput], first_ordinal: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the ``datasets`` rows, the ``run_inputs`` rows) of a run's dataset inputs, numbered in
    order from ``first_ordinal``."""
    stored = [
        {
            "experiment_id": experiment_id,
            "name": i.dataset.name,
            "digest": i.dataset.digest,
            "source_type": i.dataset.source_type,
            "source": i.dataset.source,
            "schema": i.dataset.schema,
            "profile": i.dataset.profile,
        }
        for i in datasets
    ]
    inputs = [
        {
            "run_id": run_id,
            "dataset_name": i.dataset.name,
            "dataset_digest": i.dataset.digest,
            "context": i.context,
            "tags": json.dumps([[tag.key, tag.value] for tag in i.tags]),
            "ordinal": first_ordinal + n,
        }
        for n, i in enumerate(datasets)
    ]
    return stored, inputs


def dataset_input_from(row: Any) -> DatasetInput:
    """A run input from a ``run_inputs`` row joined with its ``datasets`` row."""
    dataset = Dataset(row.name, row.digest, row.source_type, row.source, row.schema, row.profile)
    return DatasetInput(dataset, tuple(InputTag(k, val) for k, val in json.loads(row.tags)))


# --- metrics ---------------------------------------------------------------------------------------

# NaN is stored as 0.0 plus is_nan (SQL has no NaN that compares); the latest values also keep
# +/-inf apart from the largest double they are stored as (is_inf), so ordering stays MLflow's.
_MAX_DOUBLE = sys.float_info.max
_NAN, _INF = math.nan, math.inf


def metric_row(run_id: str, m: Metric) -> dict[str, Any]:
    nan = math.isnan(m.value)
    return {
        "run_id": run_id,
        "key": m.key,
        "value": 0.0 if nan else float(m.value),
        "is_nan": nan,
        "timestamp": m.timestamp,
        "step": m.step,
        "model_id": m.model_id,
        "dataset_name": m.dataset_name,
        "dataset_digest": m.dataset_digest,
    }


def latest_row(run_id: str, m: Metric) -> dict[str, Any]:
    row = metric_row(run_id, m)
    value = row["value"]
    row["is_inf"] = 1 if value == math.inf else -1 if value == -math.inf else 0
    if row["is_inf"]:
        row["value"] = _MAX_DOUBLE * row["is_inf"]
    return row


def point_id(run_id: str, m: Metric) -> str:
    # What makes two points on a logged model the same point (the memory store compares them whole).
    parts = [run_id, m.key, repr(m.value), m.timestamp, m.step, m.dataset_name, m.dataset_digest]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:40]


def model_metric_row(run_id: str, m: Metric) -> dict[str, Any]:
    """A point of ``run_id`` on its logged model (``m.model_id``), for ``logged_model_metrics``."""
    return {"model_id": m.model_id, "point_id": point_id(run_id, m)} | {
        k: val for k, val in metric_row(run_id, m).items() if k != "model_id"
    }


LATEST_COLUMNS = (
    t.latest_metrics.c.key,
    t.latest_metrics.c.value,
    t.latest_metrics.c.is_inf,
    t.latest_metrics.c.is_nan,
    t.latest_metrics.c.timestamp,
    t.latest_metrics.c.step,
    t.latest_metrics.c.model_id,
    t.latest_metrics.c.dataset_name,
    t.latest_metrics.c.dataset_digest,
)


def latest_metric(
    key: str,
    value: float,
    is_inf: int,
    is_nan: bool,
    timestamp: int,
    step: int,
    model_id: str | None,
    name: str | None,
    digest: str | None,
) -> Metric:
    """A run's latest value from a row of :data:`LATEST_COLUMNS`."""
    value = _NAN if is_nan else _INF * is_inf if is_inf else value
    return Metric(key, value, timestamp, step, model_id, name, digest)


HISTORY_COLUMNS = (
    t.metrics.c.key,
    t.metrics.c.value,
    t.metrics.c.timestamp,
    t.metrics.c.step,
    t.metrics.c.is_nan,
    t.metrics.c.model_id,
    t.metrics.c.dataset_name,
    t.metrics.c.dataset_digest,
)


def history_metric(row: Sequence[Any]) -> Metric:
    """A point of a metric's history from a row of :data:`HISTORY_COLUMNS`."""
    key, value, timestamp, step, is_nan, model_id, name, digest = row
    return Metric(key, _NAN if is_nan else value, timestamp, step, model_id, name, digest)


# --- logged models ---------------------------------------------------------------------------------


MODEL_METRIC_COLUMNS = (
    t.logged_model_metrics.c.key,
    t.logged_model_metrics.c.value,
    t.logged_model_metrics.c.is_nan,
    t.logged_model_metrics.c.timestamp,
    t.logged_model_metrics.c.step,
    t.logged_model_metrics.c.model_id,
    t.logged_model_metrics.c.dataset_name,
    t.logged_model_metrics.c.dataset_digest,
    t.logged_model_metrics.c.run_id,
)


def model_metric(
    key: str,
    value: float,
    is_nan: bool,
    timestamp: int,
    step: int,
    model_id: str,
    name: str | None,
    digest: str | None,
    run_id: str | None,
) -> ModelMetric:
    """A point on a logged model from a row of :data:`MODEL_METRIC_COLUMNS`."""
    return ModelMetric(key, _NAN if is_nan else value, timestamp, step, model_id, name, digest, run_id)


def logged_model_row(model: LoggedModel) -> dict[str, Any]:
    """The ``logged_models`` row of ``model`` (its tags, params and metrics have tables of their own)."""
    return {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "artifact_location": model.artifact_location,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "status": model.status.value,
        "status_message": model.status_message,
        "model_type": model.model_type,
        "source_run_id": model.source_run_id,
        "lifecycle_stage": model.lifecycle_stage.value,
    }


def logged_model_from(
    row: Any,
    tags: Iterable[LoggedModelTag],
    params: Iterable[LoggedModelParameter],
    metrics: Iterable[ModelMetric],
) -> LoggedModel:
    return LoggedModel(
        model_id=row.model_id,
        experiment_id=row.experiment_id,
        name=row.name,
        artifact_location=row.artifact_location,
        creation_timestamp=row.creation_timestamp,
        last_updated_timestamp=row.last_updated_timestamp,
        status=LoggedModelStatus(row.status),
        status_message=row.status_message,
        model_type=row.model_type,
        source_run_id=row.source_run_id,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        tags=tuple(tags),
        params=tuple(params),
        metrics=tuple(metrics),
    )


# --- traces ----------------------------------------------------------------------------------------


def trace_info_row(info: TraceInfo) -> dict[str, Any]:
    return {
        "trace_id": info.trace_id,
        "experiment_id": info.experiment_id,
        "request_time": info.request_time,
        "execution_duration": info.execution_duration,
        "state": info.state.value,
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "client_request_id": info.client_request_id,
    }


def pair_rows(trace_id: str, pairs: dict[str, str]) -> list[dict[str, Any]]:
    return [{"trace_id": trace_id, "key": k, "value": v} for k, v in pairs.items()]


# trace_info's columns in the order the reads select them, then the tags and the metadata.
TRACE_INFO_COLUMNS = (
    "trace_id",
    "experiment_id",
    "request_time",
    "execution_duration",
    "state",
    "request_preview",
    "response_preview",
    "client_request_id",
)
_loads = json.JSONDecoder().decode


def _pairs(value: Any) -> dict[str, str]:
    """A trace's tags or metadata as decoded from the row: a JSON object, None for none."""
    return {} if value is None else dict(sorted(value.items()))


def trace_info_of(row: Sequence[Any]) -> TraceInfo:
    """A :class:`TraceInfo` from a row of :data:`TRACE_INFO_COLUMNS` then ``[tags, metadata]``."""
    trace_id, experiment_id, request_time, duration, state, request, response, client, pairs = row
    if isinstance(pairs, str):  # SQLite's JSON text; PostgreSQL's driver decodes json itself
        pairs = _loads(pairs)
    tags, metadata = _pairs(pairs[0]), _pairs(pairs[1])
    return TraceInfo(
        trace_id,
        experiment_id,
        request_time,
        TraceState(state),
        duration,
        request,
        response,
        client,
        tags,
        metadata,
    )


def span_row(span: Span) -> dict[str, Any]:
    content = {
        "name": span.name,
        "parent_id": span.parent_id,
        "end_time_ns": span.end_time_ns,
        "status_code": span.status_code.value,
        "status_message": span.status_message,
        "attributes": span.attributes,
        "events": [
            {"name": e.name, "timestamp_ns": e.timestamp_ns, "attributes": e.attributes} for e in span.events
        ],
    }
    # Only when present: rows written before spans had them read back the same.
    if span.links:
        content["links"] = [
            {"trace_id": link.trace_id, "span_id": link.span_id, "attributes": link.attributes}
            for link in span.links
        ]
    if span.otel_trace_id is not None:
        content["otel_trace_id"] = span.otel_trace_id
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "start_time_ns": span.start_time_ns,
        "content": json.dumps(content, allow_nan=False, separators=(",", ":")),
    }


def span_from(trace_id: str, span_id: str, start_time_ns: int, content: str) -> Span:
    c = json.loads(content)
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=c["name"],
        start_time_ns=start_time_ns,
        parent_id=c["parent_id"],
        end_time_ns=c["end_time_ns"],
        status_code=SpanStatusCode(c["status_code"]),
        status_message=c["status_message"],
        attributes=c["attributes"],
        events=tuple(SpanEvent(e["name"], e["timestamp_ns"], e["attributes"]) for e in c["events"]),
        links=tuple(SpanLink(k["trace_id"], k["span_id"], k["attributes"]) for k in c.get("links", ())),
        otel_trace_id=c.get("otel_trace_id"),
    )


# --- registry --------------------------------------------------------------------------------------

_MV = t.model_versions

# A version row's columns, in this order everywhere (rows are decoded by position: searches
# decode many thousands of them).
VERSION_COLUMNS = (
    _MV.c.name,
    _MV.c.version,
    _MV.c.creation_timestamp,
    _MV.c.last_updated_timestamp,
    _MV.c.current_stage,
    _MV.c.description,
    _MV.c.user_id,
    _MV.c.source,
    _MV.c.run_id,
    _MV.c.status,
    _MV.c.status_message,
    _MV.c.run_link,
    _MV.c.model_id,
)
_WIDTH = len(VERSION_COLUMNS)
_STAGES = {s.value: s for s in Stage}
_STATUSES = {s.value: s for s in ModelVersionStatus}

VersionKey = tuple[str, int]
VersionRow = Sequence[Any]


def version_row(version: ModelVersion) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "description": version.description,
        "user_id": version.user_id,
        "current_stage": version.current_stage.value,
        "source": version.source,
        "run_id": version.run_id,
        "run_link": version.run_link,
        "status": version.status.value,
        "status_message": version.status_message,
        "model_id": version.model_id,
    }


def with_tags(rows: Iterable[VersionRow]) -> list[tuple[VersionRow, list[ModelVersionTag]]]:
    """Version rows joined with their tags (one row per tag, NULL without any) -> one entry per
    version, in order of first appearance."""
    found: dict[VersionKey, tuple[VersionRow, list[ModelVersionTag]]] = {}
    for row in rows:
        entry = found.setdefault((row[0], row[1]), (row, []))
        if row[_WIDTH] is not None:
            entry[1].append(ModelVersionTag(row[_WIDTH], row[_WIDTH + 1]))
    return list(found.values())


def version_entity(row: VersionRow, tags: Iterable[ModelVersionTag], aliases: Iterable[str]) -> ModelVersion:
    """The entity for a row that starts with :data:`VERSION_COLUMNS`."""
    (
        name,
        number,
        created,
        updated,
        stage,
        description,
        user_id,
        source,
        run_id,
        status,
        message,
        link,
        model_id,
    ) = row[:_WIDTH]
    return ModelVersion(
        name=name,
        version=number,
        creation_timestamp=created,
        last_updated_timestamp=updated,
        current_stage=_STAGES[stage],
        description=description,
        user_id=user_id,
        source=source,
        run_id=run_id,
        status=_STATUSES[status],
        status_message=message,
        run_link=link,
        model_id=model_id,
        tags=tuple(tags),
        aliases=tuple(aliases),
    )


def aliases_of(aliases: dict[str, int], number: int) -> list[str]:
    """The aliases, among a model's ``aliases`` (alias -> version), that point at ``number``."""
    return [alias for alias, target in aliases.items() if target == number]


def registered_model_from(
    row: Any,
    tags: Iterable[RegisteredModelTag],
    aliases: dict[str, int],
    latest: Iterable[tuple[VersionRow, list[ModelVersionTag]]],
) -> RegisteredModel:
    """A model from its row, tags, aliases (alias -> version) and latest versions (:func:`with_tags`)."""
    return RegisteredModel(
        name=row.name,
        creation_timestamp=row.creation_timestamp,
        last_updated_timestamp=row.last_updated_timestamp,
        description=row.description,
        latest_versions=tuple(
            version_entity(mv, mv_tags, aliases_of(aliases, mv[1])) for mv, mv_tags in latest
        ),
        tags=tuple(tags),
        aliases=tuple(RegisteredModelAlias(a, n) for a, n in aliases.items()),
    )
