"""Mirrors ``mlflow.entities`` (mlflow 3.17.2): the entity classes the MLflow-compatible API returns
and accepts, for ``from genesis_flow.entities import Metric, Param, RunTag, ViewType``.

Only re-exports; the classes live in ``genesis_flow.entrypoints.api.entities`` (tracing ones in
``.trace_entities`` and ``.tracing``). MLflow's
gateway, assessment and prompt entities are not offered (Genesis-Flow does not implement those
features).
"""

from genesis_flow.entrypoints.api.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    SourceType,
    ViewType,
)
from genesis_flow.entrypoints.api.trace_entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    Trace,
    TraceData,
    TraceInfo,
    TraceLocation,
    TraceState,
)
from genesis_flow.entrypoints.api.tracing import LiveSpan

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LiveSpan",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelParameter",
    "LoggedModelStatus",
    "LoggedModelTag",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "SourceType",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceLocation",
    "TraceState",
    "ViewType",
]
