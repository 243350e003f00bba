"""Ids and lookup strings that no backend can store (a lone surrogate, a NUL) are refused.

An id, key or name a caller passes to find something (a run id, an experiment id, a tag key to
delete, a metric key to read, a trace id, a model name...) can never name a stored entity when its
text is one no backend can store (``genesis_flow.core.validation.text_problem``). Every backend
gives the same answer, decided in the domain: INVALID_PARAMETER_VALUE naming the parameter. Not
RESOURCE_DOES_NOT_EXIST on some backends and a driver's UnicodeEncodeError or NUL refusal on
others, and not an empty search result on one backend and an error on another.

The calls are refused, so they change nothing: one store per backend serves the whole module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from attrs import define

from genesis_flow.core.entities import (
    DatasetInput,
    DatasetRef,
    Experiment,
    ExperimentTag,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from genesis_flow.core.tracing import Span, TraceInfo
from genesis_flow.ports import RegistryStore, TraceStore, TrackingStore
from genesis_flow.testing.backend import Backend
from genesis_flow.testing.support import TickingClock
from genesis_flow.testing.tracking_helpers import BASE_TIME, dataset

HOSTILE_IDS = {"surrogate": "x\ud800", "nul": "a\x00b"}
TRACE_ID = "tr-" + "0" * 32


@define
class World:
    """One store pair per backend, holding one of each entity, so every call below would reach
    an existing entity but for its hostile part."""

    tracking: TrackingStore
    traces: TraceStore
    registry: RegistryStore
    experiment_id: str
    run_id: str
    model_id: str


@pytest.fixture(scope="module")
def world(backend: Backend) -> Iterator[World]:
    backend.require("tracing", "import")  # the sweep calls every id-taking method of every port
    clock = TickingClock()
    tracking, registry = backend.make_tracking(clock), backend.make_registry(clock)
    assert isinstance(tracking, TraceStore)
    experiment_id = tracking.create_experiment("hostile-ids", tags=[ExperimentTag("k", "v")])
    run_id = tracking.create_run(experiment_id, "u", BASE_TIME, tags=[RunTag("k", "v")]).info.run_id
    tracking.log_metric(run_id, Metric("m", 1.0, BASE_TIME, 0))
    model_id = tracking.create_logged_model(experiment_id, tags=[LoggedModelTag("k", "v")]).model_id
    tracking.start_trace(TraceInfo(TRACE_ID, experiment_id, BASE_TIME, tags={"k": "v"}))
    registry.create_registered_model("m", tags=[RegisteredModelTag("k", "v")])
    registry.create_model_version("m", "s3://b/m", tags=[ModelVersionTag("k", "v")])
    registry.set_registered_model_alias("m", "a", 1)
    yield World(tracking, tracking, registry, experiment_id, run_id, model_id)


def _run(run_id: str, experiment_id: str) -> Run:
    info = RunInfo(run_id, experiment_id, "r", "u", RunStatus.FINISHED, BASE_TIME, BASE_TIME, "s3://b/r")
    return Run(info=info)


Call = Callable[[World, str], Any]

# (operation, the parameter the hostile text goes to, the call)
TRACKING_CALLS: list[tuple[str, str, Call]] = [
    ("get_experiment", "experiment_id", lambda w, bad: w.tracking.get_experiment(bad)),
    ("rename_experiment", "experiment_id", lambda w, bad: w.tracking.rename_experiment(bad, "renamed")),
    ("delete_experiment", "experiment_id", lambda w, bad: w.tracking.delete_experiment(bad)),
    ("restore_experiment", "experiment_id", lambda w, bad: w.tracking.restore_experiment(bad)),
    (
        "set_experiment_tag",
        "experiment_id",
        lambda w, bad: w.tracking.set_experiment_tag(bad, ExperimentTag("k", "v")),
    ),
    ("delete_experiment_tag", "experiment_id", lambda w, bad: w.tracking.delete_experiment_tag(bad, "k")),
    (
        "delete_experiment_tag key",
        "key",
        lambda w, bad: w.tracking.delete_experiment_tag(w.experiment_id, bad),
    ),
    ("create_run", "experiment_id", lambda w, bad: w.tracking.create_run(bad, "u", BASE_TIME)),
    ("get_run", "run_id", lambda w, bad: w.tracking.get_run(bad)),
    ("update_run_info", "run_id", lambda w, bad: w.tracking.update_run_info(bad, RunStatus.FINISHED)),
    ("delete_run", "run_id", lambda w, bad: w.tracking.delete_run(bad)),
    ("restore_run", "run_id", lambda w, bad: w.tracking.restore_run(bad)),
    ("log_param", "run_id", lambda w, bad: w.tracking.log_param(bad, Param("p", "v"))),
    ("log_metric", "run_id", lambda w, bad: w.tracking.log_metric(bad, Metric("m", 1.0, BASE_TIME, 0))),
    (
        "log_metric model_id",
        "model_id",
        lambda w, bad: w.tracking.log_metric(w.run_id, Metric("m", 2.0, 1, 0, model_id=bad)),
    ),
    ("set_tag", "run_id", lambda w, bad: w.tracking.set_tag(bad, RunTag("k", "v"))),
    ("delete_tag", "run_id", lambda w, bad: w.tracking.delete_tag(bad, "k")),
    ("delete_tag key", "key", lambda w, bad: w.tracking.delete_tag(w.run_id, bad)),
    ("log_batch", "run_id", lambda w, bad: w.tracking.log_batch(bad, params=[Param("p", "v")])),
    ("get_metric_history", "run_id", lambda w, bad: w.tracking.get_metric_history(bad, "m")),
    ("get_metric_history key", "metric_key", lambda w, bad: w.tracking.get_metric_history(w.run_id, bad)),
    ("log_inputs", "run_id", lambda w, bad: w.tracking.log_inputs(bad, [DatasetInput(dataset())])),
    (
        "log_inputs model",
        "model_id",
        lambda w, bad: w.tracking.log_inputs(w.run_id, models=[LoggedModelInput(bad)]),
    ),
    ("log_outputs", "run_id", lambda w, bad: w.tracking.log_outputs(bad, [LoggedModelOutput(w.model_id)])),
    (
        "log_outputs model",
        "model_id",
        lambda w, bad: w.tracking.log_outputs(w.run_id, [LoggedModelOutput(bad)]),
    ),
    ("search_runs", "experiment_ids", lambda w, bad: w.tracking.search_runs([w.experiment_id, bad])),
    ("search_datasets", "experiment_ids", lambda w, bad: w.tracking.search_datasets([w.experiment_id, bad])),
    ("create_logged_model", "experiment_id", lambda w, bad: w.tracking.create_logged_model(bad)),
    (
        "create_logged_model source_run_id",
        "source_run_id",
        lambda w, bad: w.tracking.create_logged_model(w.experiment_id, source_run_id=bad),
    ),
    ("get_logged_model", "model_id", lambda w, bad: w.tracking.get_logged_model(bad)),
    ("delete_logged_model", "model_id", lambda w, bad: w.tracking.delete_logged_model(bad)),
    (
        "finalize_logged_model",
        "model_id",
        lambda w, bad: w.tracking.finalize_logged_model(bad, LoggedModelStatus.READY),
    ),
    (
        "set_logged_model_tags",
        "model_id",
        lambda w, bad: w.tracking.set_logged_model_tags(bad, [LoggedModelTag("k", "v")]),
    ),
    ("delete_logged_model_tag", "model_id", lambda w, bad: w.tracking.delete_logged_model_tag(bad, "k")),
    (
        "delete_logged_model_tag key",
        "key",
        lambda w, bad: w.tracking.delete_logged_model_tag(w.model_id, bad),
    ),
    (
        "log_logged_model_params",
        "model_id",
        lambda w, bad: w.tracking.log_logged_model_params(bad, [LoggedModelParameter("p", "v")]),
    ),
    (
        "search_logged_models",
        "experiment_ids",
        lambda w, bad: w.tracking.search_logged_models([w.experiment_id, bad]),
    ),
    (
        "search_logged_models dataset",
        "datasets",
        lambda w, bad: w.tracking.search_logged_models([w.experiment_id], datasets=[DatasetRef(bad)]),
    ),
    (
        "import_experiment",
        "experiment_id",
        lambda w, bad: w.tracking.import_experiment(Experiment(bad, "imported", "s3://b")),
    ),
    ("import_run", "run_id", lambda w, bad: w.tracking.import_run(_run(bad, w.experiment_id), [])),
    (
        "import_run experiment_id",
        "experiment_id",
        lambda w, bad: w.tracking.import_run(_run("f" * 32, bad), []),
    ),
]

TRACING_CALLS: list[tuple[str, str, Call]] = [
    (
        "start_trace",
        "trace_id",
        lambda w, bad: w.traces.start_trace(TraceInfo(bad, w.experiment_id, BASE_TIME)),
    ),
    (
        "start_trace experiment_id",
        "experiment_id",
        lambda w, bad: w.traces.start_trace(TraceInfo("tr-1", bad, BASE_TIME)),
    ),
    (
        "log_spans",
        "experiment_id",
        lambda w, bad: w.traces.log_spans(bad, [Span(TRACE_ID, "0" * 16, "s", BASE_TIME)]),
    ),
    (
        "log_spans trace_id",
        "trace_id",
        lambda w, bad: w.traces.log_spans(w.experiment_id, [Span(bad, "0" * 16, "s", 1)]),
    ),
    (
        "log_spans span_id",
        "span_id",
        lambda w, bad: w.traces.log_spans(w.experiment_id, [Span(TRACE_ID, bad, "s", 1)]),
    ),
    ("get_trace_info", "trace_id", lambda w, bad: w.traces.get_trace_info(bad)),
    ("get_trace", "trace_id", lambda w, bad: w.traces.get_trace(bad)),
    ("batch_get_traces", "trace_ids", lambda w, bad: w.traces.batch_get_traces([TRACE_ID, bad])),
    ("search_traces", "experiment_ids", lambda w, bad: w.traces.search_traces([w.experiment_id, bad])),
    ("set_trace_tag", "trace_id", lambda w, bad: w.traces.set_trace_tag(bad, "k", "v")),
    ("delete_trace_tag", "trace_id", lambda w, bad: w.traces.delete_trace_tag(bad, "k")),
    ("delete_trace_tag key", "key", lambda w, bad: w.traces.delete_trace_tag(TRACE_ID, bad)),
    ("delete_traces", "experiment_id", lambda w, bad: w.traces.delete_traces(bad, max_timestamp_millis=0)),
    (
        "delete_traces trace_ids",
        "trace_ids",
        lambda w, bad: w.traces.delete_traces(w.experiment_id, trace_ids=[bad]),
    ),
]

REGISTRY_CALLS: list[tuple[str, str, Call]] = [
    ("get_registered_model", "name", lambda w, bad: w.registry.get_registered_model(bad)),
    ("update_registered_model", "name", lambda w, bad: w.registry.update_registered_model(bad, "d")),
    ("rename_registered_model", "name", lambda w, bad: w.registry.rename_registered_model(bad, "n")),
    ("delete_registered_model", "name", lambda w, bad: w.registry.delete_registered_model(bad)),
    ("get_latest_versions", "name", lambda w, bad: w.registry.get_latest_versions(bad)),
    ("get_latest_versions stage", "stage", lambda w, bad: w.registry.get_latest_versions("m", [bad])),
    (
        "set_registered_model_tag",
        "name",
        lambda w, bad: w.registry.set_registered_model_tag(bad, RegisteredModelTag("k", "v")),
    ),
    ("delete_registered_model_tag", "name", lambda w, bad: w.registry.delete_registered_model_tag(bad, "k")),
    (
        "delete_registered_model_tag key",
        "key",
        lambda w, bad: w.registry.delete_registered_model_tag("m", bad),
    ),
    ("create_model_version", "name", lambda w, bad: w.registry.create_model_version(bad, "s3://b/m")),
    (
        "create_model_version run_id",
        "run_id",
        lambda w, bad: w.registry.create_model_version("m", "s", run_id=bad),
    ),
    (
        "create_model_version model_id",
        "model_id",
        lambda w, bad: w.registry.create_model_version("m", "s", model_id=bad),
    ),
    ("get_model_version", "name", lambda w, bad: w.registry.get_model_version(bad, 1)),
    ("update_model_version", "name", lambda w, bad: w.registry.update_model_version(bad, 1, "d")),
    (
        "transition_model_version_stage",
        "name",
        lambda w, bad: w.registry.transition_model_version_stage(bad, 1, "Staging"),
    ),
    (
        "transition_model_version_stage stage",
        "stage",
        lambda w, bad: w.registry.transition_model_version_stage("m", 1, bad),
    ),
    ("delete_model_version", "name", lambda w, bad: w.registry.delete_model_version(bad, 1)),
    (
        "get_model_version_download_uri",
        "name",
        lambda w, bad: w.registry.get_model_version_download_uri(bad, 1),
    ),
    (
        "set_model_version_tag",
        "name",
        lambda w, bad: w.registry.set_model_version_tag(bad, 1, ModelVersionTag("k", "v")),
    ),
    ("delete_model_version_tag", "name", lambda w, bad: w.registry.delete_model_version_tag(bad, 1, "k")),
    ("delete_model_version_tag key", "key", lambda w, bad: w.registry.delete_model_version_tag("m", 1, bad)),
    ("set_registered_model_alias", "name", lambda w, bad: w.registry.set_registered_model_alias(bad, "b", 1)),
    (
        "delete_registered_model_alias",
        "name",
        lambda w, bad: w.registry.delete_registered_model_alias(bad, "a"),
    ),
    (
        "delete_registered_model_alias alias",
        "alias",
        lambda w, bad: w.registry.delete_registered_model_alias("m", bad),
    ),
    ("get_model_version_by_alias", "name", lambda w, bad: w.registry.get_model_version_by_alias(bad, "a")),
    (
        "get_model_version_by_alias alias",
        "alias",
        lambda w, bad: w.registry.get_model_version_by_alias("m", bad),
    ),
    (
        "import_registered_model",
        "name",
        lambda w, bad: w.registry.import_registered_model(RegisteredModel(bad, 1, 1)),
    ),
    (
        "import_model_version",
        "name",
        lambda w, bad: w.registry.import_model_version(ModelVersion(bad, 7, 1, 1)),
    ),
]

CALLS = TRACKING_CALLS + TRACING_CALLS + REGISTRY_CALLS


@pytest.mark.parametrize("bad", list(HOSTILE_IDS.values()), ids=list(HOSTILE_IDS))
@pytest.mark.parametrize(("parameter", "call"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_unstorable_id_or_lookup_text_is_invalid(world: World, parameter: str, call: Call, bad: str) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        call(world, bad)
    assert re.search(rf"\b{parameter}\b", str(raised.value)), str(raised.value)
