"""The translation layer (genesis_flow.entrypoints.shapes): every entity kind goes domain -> target ->
domain unchanged, for both targets (the API's mirror classes and mlflow.entities), and each argument
normaliser refuses bad input with a domain error."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from genesis_flow.core import entities as core
from genesis_flow.core import registry as reg
from genesis_flow.core import tracing as tr
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.api import entities as E

TARGETS = ["mirror", "mlflow"]


@pytest.fixture(params=TARGETS)
def to(request: pytest.FixtureRequest) -> S.AnyShapes:
    if request.param == "mirror":
        return E.SHAPES
    pytest.importorskip("mlflow")
    return S.mlflow_shapes()


def _run() -> core.Run:
    return core.Run(
        info=core.RunInfo(
            "rid", "1", "brave-cat", "alice", core.RunStatus.FINISHED, 100, 200, "/art/1/rid/artifacts",
            core.LifecycleStage.ACTIVE,
        ),
        data=core.RunData(
            metrics=(core.Metric("acc", math.inf, 11, 3), core.Metric("loss", 0.5, 10, 2, model_id="m-1")),
            params=(core.Param("lr", "0.1"),),
            tags=(core.RunTag("mlflow.runName", "brave-cat"), core.RunTag("t", "v")),
        ),
        inputs=core.RunInputs(
            dataset_inputs=(
                core.DatasetInput(
                    core.Dataset("ds", "d1", "code", "{}", schema="{}", profile="p"),
                    tags=(core.InputTag("mlflow.data.context", "training"),),
                ),
            ),
            model_inputs=(core.LoggedModelInput("m-0"),),
        ),
        outputs=core.RunOutputs(model_outputs=(core.LoggedModelOutput("m-1", 3),)),
    )  # fmt: skip


def _version() -> reg.ModelVersion:
    return reg.ModelVersion(
        name="model",
        version=3,
        creation_timestamp=10,
        last_updated_timestamp=11,
        current_stage=reg.Stage.STAGING,
        description="d",
        user_id="alice",
        source="runs:/rid/model",
        run_id="rid",
        status_message="ok",
        run_link="http://x",
        model_id="m-1",
        tags=(reg.ModelVersionTag("k", "v"),),
        aliases=("champion",),
    )


TRACE_ID = "tr-0123456789abcdef0123456789abcdef"


def _span(parent: str | None, span_id: str, start: int) -> tr.Span:
    return tr.Span(
        trace_id=TRACE_ID,
        span_id=span_id,
        name=f"span-{span_id}",
        start_time_ns=start,
        parent_id=parent,
        end_time_ns=start + 5,
        status_code="ERROR",
        status_message="boom",
        attributes={"mlflow.spanInputs": json.dumps({"q": 1}), "mlflow.traceRequestId": json.dumps(TRACE_ID)},
        events=[tr.SpanEvent("exception", start + 1, {"exception.message": "boom", "n": [1, 2]})],
    )


def _version_round_trip(built: Any) -> reg.ModelVersion:
    return S.model_version_to_core(built, built.aliases)


# One (domain value, domain -> target -> domain) pair per entity kind that a reader reads back.
ROUND_TRIPS: dict[str, tuple[Callable[[], Any], Callable[[Any, S.AnyShapes], Any]]] = {
    "experiment": (
        lambda: core.Experiment(
            "3", "e", "/art/3", core.LifecycleStage.DELETED, 1, 2, tags=(core.ExperimentTag("a", "b"),)
        ),
        lambda e, to: S.experiment_to_core(S.experiment_from_core(e, to)),
    ),
    "experiment tag": (
        lambda: core.ExperimentTag("a", "b"),
        lambda t, to: S.experiment_tag_to_core(to.ExperimentTag(t.key, t.value)),
    ),
    "metric": (
        lambda: core.Metric("k", 1.5, 7, 2, model_id="m", dataset_name="ds", dataset_digest="d"),
        lambda m, to: S.metric_to_core(S.metric_from_core(m, to)),
    ),
    "param": (lambda: core.Param("lr", "0.1"), lambda p, to: S.param_to_core(S.param_from_core(p, to))),
    "run tag": (lambda: core.RunTag("t", "v"), lambda t, to: S.run_tag_to_core(S.run_tag_from_core(t, to))),
    "dataset input": (
        lambda: _run().inputs.dataset_inputs[0],
        lambda d, to: S.dataset_input_to_core(S.dataset_input_from_core(d, to)),
    ),
    "run": (lambda: _run(), lambda r, to: S.run_to_core(S.run_from_core(r, to))),
    "registered model": (
        lambda: reg.RegisteredModel(
            name="model",
            creation_timestamp=1,
            last_updated_timestamp=2,
            description="about",
            tags=(reg.RegisteredModelTag("k", "v"),),
            aliases=(reg.RegisteredModelAlias("champion", 3),),
        ),
        lambda m, to: S.registered_model_to_core(S.registered_model_from_core(m, to)),
    ),
    "model version": (
        _version,
        lambda v, to: (lambda built: S.model_version_to_core(built, built.aliases))(
            S.model_version_from_core(v, to)
        ),
    ),
    "logged model tag and param": (
        lambda: (core.LoggedModelTag("k", "v"), core.LoggedModelParameter("alpha", "1")),
        lambda pair, to: (
            S.logged_model_tag_to_core(to.LoggedModelTag(pair[0].key, pair[0].value)),
            S.logged_model_param_to_core(to.LoggedModelParameter(pair[1].key, pair[1].value)),
        ),
    ),
    "trace info": (
        lambda: tr.TraceInfo(
            trace_id="tr-1",
            experiment_id="1",
            request_time=5,
            state="ERROR",
            execution_duration=3,
            request_preview="in",
            response_preview="out",
            client_request_id="c",
            tags={"a": "b", tr.SPANS_LOCATION_TAG: tr.SPANS_IN_TRACKING_STORE},
            metadata={"m": "n"},
        ),
        lambda i, to: S.trace_info_to_core(S.trace_info_from_core(i, to)),
    ),
    "span": (
        lambda: _span("00000000000000aa", "00000000000000bb", 20),
        lambda s, to: S.span_to_core(S.span_from_core(s, to)),
    ),
}


@pytest.mark.parametrize("kind", list(ROUND_TRIPS))
def test_domain_to_target_to_domain_is_unchanged(kind: str, to: S.AnyShapes) -> None:
    make, round_trip = ROUND_TRIPS[kind]
    assert round_trip(make(), to) == make()


def test_a_trace_lists_its_root_first_then_by_start_time(to: S.AnyShapes) -> None:
    child, root = _span("00000000000000aa", "00000000000000bb", 10), _span(None, "00000000000000aa", 20)
    info = ROUND_TRIPS["trace info"][0]()
    built = S.trace_from_core(tr.Trace(info, (child, root)), to)
    assert [s.span_id for s in built.data.spans] == [root.span_id, child.span_id]
    assert S.trace_info_to_core(built.info) == info


def test_logged_models_have_the_same_shape_on_both_targets() -> None:
    pytest.importorskip("mlflow")
    model = core.LoggedModel(
        model_id="m-1",
        experiment_id="1",
        name="model",
        artifact_location="/a",
        creation_timestamp=1,
        last_updated_timestamp=2,
        status=core.LoggedModelStatus.READY,
        tags=(core.LoggedModelTag("k", "v"),),
        params=(core.LoggedModelParameter("alpha", "1"),),
        metrics=(core.ModelMetric("acc", 0.9, 5, 0, model_id="m-1", run_id="r"),),
    )
    ours, theirs = (
        S.logged_model_from_core(model, E.SHAPES),
        S.logged_model_from_core(model, S.mlflow_shapes()),
    )
    for name in ("model_id", "name", "tags", "params", "model_uri", "source_run_id"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.status.value == theirs.status.value == "READY"
    assert [m.to_dictionary() for m in ours.metrics or []] == [
        m.to_dictionary() for m in theirs.metrics or []
    ]


def test_the_plugin_reader_fills_a_missing_step_and_drops_the_metrics_run_id() -> None:
    # As a protobuf caller leaves it; the run id it names is the call's business, not the point's.
    given = E.Metric("k", 1.0, 7, None, run_id="r")  # type: ignore[arg-type]
    assert S.metric_to_core(given).step is None  # left for validation to refuse
    assert S.metric_to_core(given, missing_step=0) == core.Metric("k", 1.0, 7, 0)


# --- argument normalisers ------------------------------------------------------------------------


def test_normalisers_read_what_mlflows_callers_pass() -> None:
    assert S.experiment_ids_to_core(None) == []
    assert S.experiment_ids_to_core("7") == ["7"] and S.experiment_ids_to_core([1, "2"]) == ["1", "2"]
    assert S.view_type_to_core(3) is core.ViewType.ALL
    assert S.view_type_to_core("deleted_only") is core.ViewType.DELETED_ONLY
    assert S.view_type_to_core(None, missing=core.ViewType.ACTIVE_ONLY) is core.ViewType.ACTIVE_ONLY
    assert S.run_status_to_core(3) is core.RunStatus.FINISHED and S.run_status_to_core(None) is None
    assert S.run_status_to_core("killed") is core.RunStatus.KILLED
    assert S.logged_model_status_to_core(E.LoggedModelStatus.FAILED) is core.LoggedModelStatus.FAILED
    assert S.logged_model_status_to_core(2) is core.LoggedModelStatus.READY
    assert S.dataset_refs_to_core([{"dataset_name": "a"}, {"name": "b", "digest": "d"}]) == (
        core.DatasetRef("a"),
        core.DatasetRef("b", "d"),
    )
    assert S.logged_model_order_by_to_core(
        [{"field_name": "metrics.my acc"}, {"field_name": "name", "ascending": False}, {"field_name": "x.y"}]
    ) == ["metrics.`my acc` ASC", "name DESC", "x.y ASC"]
    # As MLflow's SQL store: `ascending` is read for its truth.
    assert S.logged_model_order_by_to_core([{"field_name": "name", "ascending": None}]) == ["name DESC"]


def test_the_status_numbers_are_mlflows() -> None:
    ml = pytest.importorskip("mlflow.entities")
    for number in range(1, 6):
        assert S.run_status_to_core(number) is core.RunStatus(ml.RunStatus.to_string(number))
    for status in ml.LoggedModelStatus:
        if status.value != "UNSPECIFIED":
            assert S.logged_model_status_to_core(status.to_int()).value == status.value


@pytest.mark.parametrize(
    ("normalise", "bad", "message"),
    [
        (S.view_type_to_core, 4, "Invalid view type"),
        (S.view_type_to_core, None, "Invalid view type"),
        (S.run_status_to_core, 9, "Invalid run status"),
        (S.logged_model_status_to_core, "DONE", "Invalid logged model status"),
        (S.dataset_refs_to_core, [{"dataset_digest": "d"}], "`dataset_name` in the `datasets` clause"),
        (S.logged_model_order_by_to_core, [{"ascending": False}], "`field_name` in `order_by`"),
        (S.logged_model_order_by_to_core, [{"field_name": ""}], "`field_name` in `order_by`"),
        (S.dataset_refs_to_core, ["train"], "entry of `datasets` must be a dict"),
        (S.logged_model_order_by_to_core, ["metrics.acc"], "entry of `order_by` must be a dict"),
        (
            S.metric_value,
            type("Tensor", (), {"item": lambda self: 1 / 0})(),
            "Failed to convert metric value",
        ),
        (
            S.trace_info_to_core,
            type("Info", (), {"experiment_id": None, "trace_id": "t"})(),
            "no MLflow experiment",
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_normalisers_refuse_bad_input_with_a_domain_error(
    normalise: Callable[[Any], Any], bad: Any, message: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        normalise(bad)


def test_the_layer_does_not_import_mlflow() -> None:
    import subprocess
    import sys

    code = "import sys, genesis_flow.entrypoints.shapes; assert 'mlflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
