"""The classes a builder makes: our mirror of ``mlflow.entities`` or MLflow's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from attrs import frozen

# What a target's classes build, so a builder returns the target's own type (the mirror's
# Experiment for the API, mlflow's for the plugin) rather than Any.
ExperimentT = TypeVar("ExperimentT")
RunT = TypeVar("RunT")
RunInfoT = TypeVar("RunInfoT")
MetricT = TypeVar("MetricT")
LoggedModelT = TypeVar("LoggedModelT")
FileInfoT = TypeVar("FileInfoT")
ModelVersionT = TypeVar("ModelVersionT")
RegisteredModelT = TypeVar("RegisteredModelT")
TraceT = TypeVar("TraceT")
TraceInfoT = TypeVar("TraceInfoT")

SPAN_REQUEST_ID_ATTRIBUTE = "mlflow.traceRequestId"


@frozen(kw_only=True)
class Shapes(
    Generic[
        ExperimentT,
        RunT,
        RunInfoT,
        MetricT,
        LoggedModelT,
        FileInfoT,
        ModelVersionT,
        RegisteredModelT,
        TraceT,
        TraceInfoT,
    ]
):
    """One target's classes under MLflow's names, each called with MLflow's constructor
    signature (the API's mirror keeps those signatures, so one builder body serves both).

    ``span_from_dict`` reads the span dict MLflow's ``Span.from_dict`` reads (hex ids, ``tr-``
    trace id, attributes as JSON text). ``MetricWithRunId`` and ``DatasetSummary`` exist only on
    the plugin's side (store methods the API does not offer); None elsewhere.
    """

    Experiment: Callable[..., ExperimentT]
    ExperimentTag: Any
    Metric: Callable[..., MetricT]
    Param: Any
    RunTag: Any
    RunInfo: Callable[..., RunInfoT]
    RunData: Any
    RunInputs: Any
    RunOutputs: Any
    Run: Callable[..., RunT]
    Dataset: Any
    DatasetInput: Any
    InputTag: Any
    LoggedModelInput: Any
    LoggedModelOutput: Any
    LoggedModel: Callable[..., LoggedModelT]
    LoggedModelTag: Any
    LoggedModelParameter: Any
    LoggedModelStatus: Any
    FileInfo: Callable[..., FileInfoT]
    ModelVersion: Callable[..., ModelVersionT]
    ModelVersionTag: Any
    RegisteredModel: Callable[..., RegisteredModelT]
    RegisteredModelTag: Any
    RegisteredModelAlias: Any
    TraceInfo: Callable[..., TraceInfoT]
    TraceLocation: Any
    TraceState: Any
    TraceData: Any
    Trace: Callable[..., TraceT]
    span_from_dict: Callable[[dict[str, Any]], Any]
    MetricWithRunId: Any = None
    DatasetSummary: Any = None


AnyShapes = Shapes[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]
# One kind typed, the rest Any: what the builder of that kind needs of a target.
ExperimentShapes = Shapes[ExperimentT, Any, Any, Any, Any, Any, Any, Any, Any, Any]
RunShapes = Shapes[Any, RunT, Any, Any, Any, Any, Any, Any, Any, Any]
RunInfoShapes = Shapes[Any, Any, RunInfoT, Any, Any, Any, Any, Any, Any, Any]
MetricShapes = Shapes[Any, Any, Any, MetricT, Any, Any, Any, Any, Any, Any]
LoggedModelShapes = Shapes[Any, Any, Any, Any, LoggedModelT, Any, Any, Any, Any, Any]
FileInfoShapes = Shapes[Any, Any, Any, Any, Any, FileInfoT, Any, Any, Any, Any]
ModelVersionShapes = Shapes[Any, Any, Any, Any, Any, Any, ModelVersionT, Any, Any, Any]
RegisteredModelShapes = Shapes[Any, Any, Any, Any, Any, Any, Any, RegisteredModelT, Any, Any]
TraceShapes = Shapes[Any, Any, Any, Any, Any, Any, Any, Any, TraceT, Any]
TraceInfoShapes = Shapes[Any, Any, Any, Any, Any, Any, Any, Any, Any, TraceInfoT]

if TYPE_CHECKING:
    from mlflow import entities as ml
    from mlflow.entities import model_registry as mr

    MlflowShapes = Shapes[
        ml.Experiment,
        ml.Run,
        ml.RunInfo,
        ml.Metric,
        ml.LoggedModel,
        ml.FileInfo,
        mr.ModelVersion,
        mr.RegisteredModel,
        ml.Trace,
        ml.TraceInfo,
    ]


@cache
def mlflow_shapes() -> MlflowShapes:
    """``mlflow.entities`` as a target (imports mlflow: the plugin's and migration's side only)."""
    from mlflow import entities as ml
    from mlflow.entities import model_registry as mr
    from mlflow.entities.metric import MetricWithRunId

    def span_from_dict(data: dict[str, Any]) -> Any:
        # MLflow's Span.from_dict refuses a span without the trace's request id attribute, which
        # spans from another OpenTelemetry producer lack.
        attributes = dict(data["attributes"])
        attributes.setdefault(SPAN_REQUEST_ID_ATTRIBUTE, json.dumps(data["trace_id"]))
        # MLflow's dict names the OpenTelemetry trace id, which a tr- id is; a span of another
        # trace id (MLflow accepts any) carries its own.
        otel = data.get("otel_trace_id")
        trace_id = data["trace_id"] if otel is None else f"tr-{otel}"
        return ml.Span.from_dict({**data, "trace_id": trace_id, "attributes": attributes})

    return Shapes(
        Experiment=ml.Experiment,
        ExperimentTag=ml.ExperimentTag,
        Metric=ml.Metric,
        Param=ml.Param,
        RunTag=ml.RunTag,
        RunInfo=ml.RunInfo,
        RunData=ml.RunData,
        RunInputs=ml.RunInputs,
        RunOutputs=ml.RunOutputs,
        Run=ml.Run,
        Dataset=ml.Dataset,
        DatasetInput=ml.DatasetInput,
        InputTag=ml.InputTag,
        LoggedModelInput=ml.LoggedModelInput,
        LoggedModelOutput=ml.LoggedModelOutput,
        LoggedModel=ml.LoggedModel,
        LoggedModelTag=ml.LoggedModelTag,
        LoggedModelParameter=ml.LoggedModelParameter,
        LoggedModelStatus=ml.LoggedModelStatus,
        FileInfo=ml.FileInfo,
        ModelVersion=mr.ModelVersion,
        ModelVersionTag=mr.ModelVersionTag,
        RegisteredModel=mr.RegisteredModel,
        RegisteredModelTag=mr.RegisteredModelTag,
        RegisteredModelAlias=mr.RegisteredModelAlias,
        TraceInfo=ml.TraceInfo,
        TraceLocation=ml.TraceLocation,
        TraceState=ml.TraceState,
        TraceData=ml.TraceData,
        Trace=ml.Trace,
        span_from_dict=span_from_dict,
        MetricWithRunId=MetricWithRunId,
        DatasetSummary=ml._DatasetSummary,
    )


__all__ = ["SPAN_REQUEST_ID_ATTRIBUTE", "AnyShapes", "Shapes", "mlflow_shapes"]
