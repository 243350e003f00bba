"""MLflow-shaped entities: same names, signatures, attributes, values, types, equality and repr as
mlflow 3.17.2's ``mlflow.entities``; converters from the domain and from user input.

Each shape test builds our object and MLflow's from the same arguments and compares them, so a
drift in either shows up here. mlflow is imported inside the tests only.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest

import genesis_flow.entities as ours_entities
import genesis_flow.entities.model_registry as ours_registry
from genesis_flow.core import entities as core
from genesis_flow.core import registry as core_registry
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.api import entities as E
from genesis_flow.entrypoints.api.exceptions import MlflowException

# Public names we deliberately do not offer, and why.
SKIPPED = {
    "to_proto": "MLflow's protobuf wire format; Genesis-Flow has no protobuf layer",
    "from_proto": "MLflow's protobuf wire format; Genesis-Flow has no protobuf layer",
}

OURS = SimpleNamespace(
    **{n: getattr(ours_entities, n) for n in ours_entities.__all__},
    **{n: getattr(ours_registry, n) for n in ours_registry.__all__},
)


@pytest.fixture(scope="module")
def theirs() -> SimpleNamespace:
    pytest.importorskip("mlflow")
    import mlflow.entities as ml_entities
    import mlflow.entities.model_registry as ml_registry

    return SimpleNamespace(
        **{n: getattr(ml_entities, n) for n in ours_entities.__all__},
        **{n: getattr(ml_registry, n) for n in ours_registry.__all__},
    )


@pytest.fixture(autouse=True)
def _no_workspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow's entities read MLFLOW_WORKSPACE; ours show "default" (one workspace per store).
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)


def _plain(value: Any) -> Any:
    """A comparable form that keeps types: entities as (class name, properties), scalars with
    their type name, NaN as a marker."""
    if hasattr(type(value), "_properties") and hasattr(value, "__iter__"):
        return (type(value).__name__, {k: _plain(v) for k, v in value})
    if isinstance(value, Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _plain(v) for k, v in value.items()})
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def _public(obj: Any) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")} - SKIPPED.keys()


def _property_setters(cls: type) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            if isinstance(attr, property):
                found[name] = attr.fset is not None
    return found


def _metric(m: Any) -> Any:
    return m.Metric("loss", 0.25, 1700000000000, 3)


CASES: dict[str, Callable[[Any], Any]] = {
    "ExperimentTag": lambda m: m.ExperimentTag("team", "ml"),
    "Experiment": lambda m: m.Experiment(
        "7", "exp", "/art/7", "active", tags=[m.ExperimentTag("a", "b")], creation_time=1, last_update_time=2
    ),
    "Experiment-minimal": lambda m: m.Experiment("0", "Default", "/art/0", "deleted"),
    "Metric": _metric,
    "Metric-full": lambda m: m.Metric(
        "acc", 0.5, 5, 0, model_id="m-1", dataset_name="ds", dataset_digest="d1", run_id="r1"
    ),
    "Metric-nan": lambda m: m.Metric("nan", math.nan, 5, -1),
    "Param": lambda m: m.Param("lr", "0.1"),
    "RunTag": lambda m: m.RunTag("mlflow.runName", "r"),
    "RunInfo": lambda m: m.RunInfo(
        "rid", "1", "alice", "RUNNING", 100, None, "active", artifact_uri="/a/rid", run_name="r"
    ),
    "RunInfo-minimal": lambda m: m.RunInfo("rid", "1", "bob", "FINISHED", 100, 200, "deleted"),
    "RunData": lambda m: m.RunData(
        metrics=[_metric(m)], params=[m.Param("p", "1")], tags=[m.RunTag("t", "v")]
    ),
    "RunData-empty": lambda m: m.RunData(),
    "Dataset": lambda m: m.Dataset("ds", "d1", "code", "{}", schema="{}", profile='{"n": 1}'),
    "Dataset-minimal": lambda m: m.Dataset("ds", "d1", "local", "/x"),
    "InputTag": lambda m: m.InputTag("mlflow.data.context", "training"),
    "DatasetInput": lambda m: m.DatasetInput(
        m.Dataset("ds", "d1", "code", "{}"), [m.InputTag("mlflow.data.context", "eval")]
    ),
    "DatasetInput-no-tags": lambda m: m.DatasetInput(m.Dataset("ds", "d1", "code", "{}")),
    "LoggedModelInput": lambda m: m.LoggedModelInput("m-1"),
    "LoggedModelOutput": lambda m: m.LoggedModelOutput("m-1", 4),
    "RunInputs": lambda m: m.RunInputs(
        [m.DatasetInput(m.Dataset("ds", "d1", "code", "{}"))], [m.LoggedModelInput("m-1")]
    ),
    "RunInputs-empty": lambda m: m.RunInputs([]),
    "RunOutputs": lambda m: m.RunOutputs([m.LoggedModelOutput("m-1", 0)]),
    "Run": lambda m: m.Run(
        m.RunInfo("rid", "1", "alice", "RUNNING", 100, None, "active", "/a", "r"),
        m.RunData([_metric(m)], [m.Param("p", "1")], [m.RunTag("t", "v")]),
        m.RunInputs([m.DatasetInput(m.Dataset("ds", "d1", "code", "{}"))]),
        m.RunOutputs([m.LoggedModelOutput("m-1", 2)]),
    ),
    "Run-no-inputs-outputs": lambda m: m.Run(
        m.RunInfo("rid", "1", "alice", "RUNNING", 100, None, "active"), m.RunData()
    ),
    "FileInfo-file": lambda m: m.FileInfo("a/b.txt", False, 12),
    "FileInfo-dir": lambda m: m.FileInfo("a", True, None),
    "LoggedModelTag": lambda m: m.LoggedModelTag("k", "v"),
    "LoggedModelParameter": lambda m: m.LoggedModelParameter("k", "v"),
    "LoggedModel": lambda m: m.LoggedModel(
        "1",
        "m-1",
        "model",
        "/a/models/m-1",
        10,
        11,
        model_type="sklearn",
        source_run_id="rid",
        status=m.LoggedModelStatus.PENDING,
        status_message="wait",
        tags=[m.LoggedModelTag("k", "v")],
        params={"alpha": "0.5"},
        metrics=[_metric(m)],
    ),
    "LoggedModel-int-status": lambda m: m.LoggedModel("1", "m-2", "model", "/a", 10, 11, status=3),
    "RegisteredModelTag": lambda m: m.RegisteredModelTag("k", "v"),
    "ModelVersionTag": lambda m: m.ModelVersionTag("k", "v"),
    "RegisteredModelAlias": lambda m: m.RegisteredModelAlias("champion", 3),
    "ModelVersion": lambda m: m.ModelVersion(
        "model",
        3,
        10,
        11,
        description="d",
        user_id="u",
        current_stage="Staging",
        source="runs:/rid/model",
        run_id="rid",
        status="READY",
        status_message=None,
        tags=[m.ModelVersionTag("k", "v")],
        run_link="http://x",
        aliases=["champion"],
        model_id="m-1",
    ),
    "ModelVersion-minimal": lambda m: m.ModelVersion("model", 1, 10),
    "RegisteredModel": lambda m: m.RegisteredModel(
        "model",
        10,
        11,
        "desc",
        [m.ModelVersion("model", 2, 10, current_stage="None")],
        [m.RegisteredModelTag("k", "v"), m.RegisteredModelTag("mlflow.prompt.is_prompt", "false")],
        [m.RegisteredModelAlias("champion", 2)],
    ),
    "RegisteredModel-minimal": lambda m: m.RegisteredModel("model"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_public_names_values_types_and_repr(case: str, theirs: SimpleNamespace) -> None:
    ours_obj, their_obj = CASES[case](OURS), CASES[case](theirs)
    assert type(ours_obj).__name__ == type(their_obj).__name__
    assert _public(ours_obj) == _public(their_obj)
    assert _plain(ours_obj) == _plain(their_obj)
    assert dict(ours_obj).keys() == dict(their_obj).keys()
    assert repr(ours_obj) == repr(their_obj)
    if hasattr(their_obj, "to_dictionary"):
        assert _plain(ours_obj.to_dictionary()) == _plain(their_obj.to_dictionary())


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_read_only_properties_equality_and_hashability(case: str, theirs: SimpleNamespace) -> None:
    ours_cls, their_cls = type(CASES[case](OURS)), type(CASES[case](theirs))
    assert _property_setters(ours_cls) == _property_setters(their_cls)
    assert (ours_cls.__hash__ is None) == (their_cls.__hash__ is None)
    # Equal arguments: equal when MLflow's are (field equality), unequal when it compares identity.
    assert (CASES[case](OURS) == CASES[case](OURS)) == (CASES[case](theirs) == CASES[case](theirs))


def test_equality_quirks_match(theirs: SimpleNamespace) -> None:
    for m in (OURS, theirs):
        assert m.Param("a", "1") == m.Param("a", "2")  # key only
        assert hash(m.Param("a", "1")) == hash(m.Param("a", "2"))
        assert m.Metric("k", 1.0, 1, 0) != m.Metric("k", 1.0, 1, 1)
        assert m.RunTag("a", "1") != m.RunTag("a", "2")
        info = m.RunInfo("r", "1", "u", "RUNNING", 1, None, "active")
        assert m.Run(info, m.RunData()) != m.Run(info, m.RunData())  # identity
    assert OURS.RunTag("a", "1") != theirs.RunTag("a", "1")  # never equal across libraries


def test_properties_are_read_only_where_mlflows_are() -> None:
    run = CASES["Run"](OURS)
    with pytest.raises(AttributeError):
        run.info = None
    with pytest.raises(AttributeError):
        run.info.status = "FINISHED"
    version = CASES["ModelVersion"](OURS)
    version.current_stage = "Production"  # settable in MLflow too
    with pytest.raises(AttributeError):
        version.version = 4


def test_constructor_errors_match(theirs: SimpleNamespace) -> None:
    for m in (OURS, theirs):
        with pytest.raises(Exception, match="Both dataset_name and dataset_digest"):
            m.Metric("k", 1.0, 1, 0, dataset_name="only")
        with pytest.raises(Exception, match="run_info cannot be None"):
            m.Run(None, m.RunData())
        with pytest.raises(Exception, match="start_time cannot be None"):
            m.RunInfo("r", "1", "u", "RUNNING", None, None, "active")
    with pytest.raises(MlflowException) as caught:
        OURS.Metric("k", 1.0, 1, 0, dataset_digest="only")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_from_dictionary_round_trips(theirs: SimpleNamespace) -> None:
    for m in (OURS, theirs):
        metric = m.Metric.from_dictionary(CASES["Metric-full"](m).to_dictionary())
        assert metric == CASES["Metric-full"](m)
        tag = m.RunTag.from_dictionary({"key": "k", "value": "v", "ignored": 1})
        assert (tag.key, tag.value) == ("k", "v")


def test_run_info_searchable_and_orderable_attributes(theirs: SimpleNamespace) -> None:
    assert OURS.RunInfo.get_searchable_attributes() == theirs.RunInfo.get_searchable_attributes()
    assert OURS.RunInfo.get_orderable_attributes() == theirs.RunInfo.get_orderable_attributes()


# --- enum-like classes ---------------------------------------------------------------------------


def _constants(cls: type) -> dict[str, Any]:
    return {
        n: getattr(cls, n)
        for n in dir(cls)
        if not n.startswith("_") and not callable(getattr(cls, n)) and n not in SKIPPED
    }


@pytest.mark.parametrize("name", ["ViewType", "RunStatus", "SourceType", "LifecycleStage"])
def test_int_and_string_enums_match(name: str, theirs: SimpleNamespace) -> None:
    ours_cls, their_cls = getattr(OURS, name), getattr(theirs, name)
    assert _public(ours_cls) == _public(their_cls)
    assert _constants(ours_cls) == _constants(their_cls)


def test_enum_methods_match(theirs: SimpleNamespace) -> None:
    for m in (OURS, theirs):
        assert m.ViewType.ACTIVE_ONLY == 1
        assert m.ViewType.to_string(m.ViewType.ALL) == "all"
        assert m.ViewType.from_string("deleted_only") == 2
        assert m.RunStatus.to_string(m.RunStatus.RUNNING) == "RUNNING"
        assert m.RunStatus.from_string("KILLED") == 5
        assert m.RunStatus.is_terminated(m.RunStatus.FAILED)
        assert not m.RunStatus.is_terminated(m.RunStatus.SCHEDULED)
        assert m.RunStatus.all_status() == [1, 2, 3, 4, 5]
        assert m.SourceType.to_string(4) == "LOCAL"
        assert m.SourceType.from_string("JOB") == 2
        assert m.LifecycleStage.view_type_to_stages(m.ViewType.ALL) == ["active", "deleted"]
        assert m.LifecycleStage.view_type_to_stages(m.ViewType.DELETED_ONLY) == ["deleted"]
        assert m.LifecycleStage.is_valid("active")
        assert m.LifecycleStage.matches_view_type(m.ViewType.ACTIVE_ONLY, "active")
        assert not m.LifecycleStage.matches_view_type(m.ViewType.ACTIVE_ONLY, "deleted")
        with pytest.raises(Exception, match="Could not get"):
            m.RunStatus.from_string("running")
        with pytest.raises(Exception, match="Could not get"):
            m.ViewType.to_string(9)
        with pytest.raises(Exception, match="Invalid lifecycle stage"):
            m.LifecycleStage.matches_view_type(m.ViewType.ALL, "gone")


def test_model_version_status_matches() -> None:
    pytest.importorskip("mlflow")
    from mlflow.entities.model_registry import model_version_status

    ModelVersionStatus: Any = model_version_status.ModelVersionStatus

    assert _public(E.ModelVersionStatus) == _public(ModelVersionStatus)
    assert _constants(E.ModelVersionStatus) == _constants(ModelVersionStatus)
    assert E.ModelVersionStatus.all_status() == ModelVersionStatus.all_status()
    assert E.ModelVersionStatus.to_string(3) == ModelVersionStatus.to_string(3) == "READY"
    assert E.ModelVersionStatus.from_string("FAILED_REGISTRATION") == 2


def test_logged_model_status_matches(theirs: SimpleNamespace) -> None:
    ours_cls, their_cls = OURS.LoggedModelStatus, theirs.LoggedModelStatus
    assert [(s.name, s.value) for s in ours_cls] == [(s.name, s.value) for s in their_cls]
    for s in their_cls:
        mine = ours_cls(s.value)
        assert str(mine) == str(s)
        assert mine == s.value  # both are str enums
        assert mine.to_int() == s.to_int()
        assert ours_cls.from_int(s.to_int()) is mine
        assert ours_cls.is_finalized(mine) == their_cls.is_finalized(s)
    skipped_methods = {"to_proto", "from_proto"}
    assert {n for n in vars(their_cls) if not n.startswith("_")} - skipped_methods <= set(vars(ours_cls))
    with pytest.raises(MlflowException, match="Unknown model status: 9"):
        ours_cls.from_int(9)


def test_paged_list_matches() -> None:
    pytest.importorskip("mlflow")
    from mlflow.store.entities.paged_list import PagedList

    mine, theirs = E.PagedList([1, 2], "tok"), PagedList([1, 2], "tok")
    assert isinstance(mine, list) and isinstance(theirs, list)
    assert list(mine) == list(theirs) == [1, 2]
    assert mine.token == theirs.token == "tok"
    assert mine.to_list() == [1, 2] and type(mine.to_list()) is list
    assert E.PagedList([], None).token is None
    assert _public(mine) == _public(theirs)


def test_reexport_modules_name_what_mlflow_exports() -> None:
    pytest.importorskip("mlflow")
    import mlflow.entities as ml_entities
    import mlflow.entities.model_registry as ml_registry

    assert set(ours_entities.__all__) <= set(ml_entities.__all__)
    assert set(ours_registry.__all__) <= set(ml_registry.__all__)
    wanted = {
        "Experiment", "ExperimentTag", "Run", "RunInfo", "RunData", "RunInputs", "RunOutputs", "Metric",
        "Param", "RunTag", "Dataset", "DatasetInput", "InputTag", "LoggedModelInput", "LoggedModelOutput",
        "FileInfo", "ViewType", "RunStatus", "LifecycleStage", "SourceType", "LoggedModel",
        "LoggedModelStatus", "LoggedModelTag", "LoggedModelParameter",
        "Trace", "TraceInfo", "TraceData", "TraceLocation", "TraceState", "Span", "LiveSpan",
        "SpanEvent", "SpanStatus", "SpanStatusCode", "SpanType",
    }  # fmt: skip
    assert set(ours_entities.__all__) == wanted
    assert set(ours_registry.__all__) == {
        "RegisteredModel",
        "ModelVersion",
        "RegisteredModelTag",
        "ModelVersionTag",
        "RegisteredModelAlias",
    }


def test_importing_the_entities_does_not_import_mlflow() -> None:
    code = (
        "import sys, genesis_flow.entities, genesis_flow.entities.model_registry;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


# --- domain -> MLflow shape ----------------------------------------------------------------------


def _core_run() -> core.Run:
    return core.Run(
        info=core.RunInfo(
            run_id="rid",
            experiment_id="1",
            run_name="brave-cat",
            user_id="alice",
            status=core.RunStatus.RUNNING,
            start_time=100,
            end_time=None,
            artifact_uri="/art/1/rid/artifacts",
        ),
        data=core.RunData(
            metrics=(core.Metric("loss", 0.5, 10, 2), core.Metric("acc", math.nan, 11, 0)),
            params=(core.Param("lr", "0.1"),),
            tags=(core.RunTag("mlflow.runName", "brave-cat"), core.RunTag("t", "v")),
        ),
        inputs=core.RunInputs(
            dataset_inputs=(
                core.DatasetInput(
                    core.Dataset("ds", "d1", "code", "{}", schema="{}"),
                    tags=(core.InputTag("mlflow.data.context", "training"),),
                ),
            ),
            model_inputs=(core.LoggedModelInput("m-0"),),
        ),
        outputs=core.RunOutputs(model_outputs=(core.LoggedModelOutput("m-1", 3),)),
    )


def test_run_from_core_has_mlflows_shape(theirs: SimpleNamespace) -> None:
    run = S.run_from_core(_core_run(), E.SHAPES)
    assert run.inputs is not None and run.outputs is not None  # always present, even when empty
    assert run.info.run_id == "rid" and run.info.status == "RUNNING" and run.info.lifecycle_stage == "active"
    assert type(run.info.status) is str and type(run.info.lifecycle_stage) is str
    assert run.data.params == {"lr": "0.1"} and run.data.tags["t"] == "v"
    assert run.data.metrics["loss"] == 0.5 and math.isnan(run.data.metrics["acc"])
    assert (
        isinstance(run.inputs.dataset_inputs, list)
        and run.inputs.dataset_inputs[0].tags[0].value == "training"
    )
    assert run.outputs.model_outputs[0].step == 3
    m = theirs
    expected = m.Run(
        m.RunInfo("rid", "1", "alice", "RUNNING", 100, None, "active", "/art/1/rid/artifacts", "brave-cat"),
        m.RunData(
            [m.Metric("acc", math.nan, 11, 0), m.Metric("loss", 0.5, 10, 2)],
            [m.Param("lr", "0.1")],
            [m.RunTag("mlflow.runName", "brave-cat"), m.RunTag("t", "v")],
        ),
        m.RunInputs(
            [
                m.DatasetInput(
                    m.Dataset("ds", "d1", "code", "{}", schema="{}"),
                    [m.InputTag("mlflow.data.context", "training")],
                )
            ],
            [m.LoggedModelInput("m-0")],
        ),
        m.RunOutputs([m.LoggedModelOutput("m-1", 3)]),
    )
    assert _plain(run) == _plain(expected)
    assert repr(run) == repr(expected)
    assert _plain(run.to_dictionary()) == _plain(expected.to_dictionary())


def test_run_info_from_core_shows_stored_data_without_refusing_it() -> None:
    info = core.RunInfo(
        "rid", "1", "r", "u", core.RunStatus.KILLED, None, 5, "/a", core.LifecycleStage.DELETED
    )
    converted = S.run_info_from_core(info, E.SHAPES)
    assert (converted.status, converted.lifecycle_stage) == ("KILLED", "deleted")
    assert converted.start_time is None
    assert converted == S.run_info_from_core(info, E.SHAPES)  # field equality, like the constructor's objects


def test_experiment_from_core(theirs: SimpleNamespace) -> None:
    exp = core.Experiment(
        "3", "e", "/art/3", core.LifecycleStage.DELETED, 1, 2, tags=(core.ExperimentTag("a", "b"),)
    )
    converted = S.experiment_from_core(exp, E.SHAPES)
    expected = theirs.Experiment("3", "e", "/art/3", "deleted", [theirs.ExperimentTag("a", "b")], 1, 2)
    assert _plain(converted) == _plain(expected)
    assert converted.tags == {"a": "b"} and converted.workspace == "default"


def test_metric_and_file_info_from_core(theirs: SimpleNamespace) -> None:
    point = core.Metric("k", 1.5, 7, 2, model_id="m-1", dataset_name="ds", dataset_digest="d")
    assert _plain(S.metric_from_core(point, E.SHAPES, "r")) == _plain(
        theirs.Metric("k", 1.5, 7, 2, model_id="m-1", dataset_name="ds", dataset_digest="d", run_id="r")
    )
    assert _plain(S.file_info_from_core(core.FileInfo("a/b", False, 3), E.SHAPES)) == _plain(
        theirs.FileInfo("a/b", False, 3)
    )
    assert S.file_info_from_core(core.FileInfo("a", True), E.SHAPES).file_size is None


def test_logged_model_from_core(theirs: SimpleNamespace) -> None:
    model = core.LoggedModel(
        model_id="m-1",
        experiment_id="1",
        name="model",
        artifact_location="/a",
        creation_timestamp=1,
        last_updated_timestamp=2,
        status=core.LoggedModelStatus.READY,
        source_run_id="rid",
        tags=(core.LoggedModelTag("k", "v"),),
        params=(core.LoggedModelParameter("alpha", "1"),),
        metrics=(core.ModelMetric("acc", 0.9, 5, 0, model_id="m-1", run_id="rid"),),
    )
    converted = S.logged_model_from_core(model, E.SHAPES)
    expected = theirs.LoggedModel(
        "1",
        "m-1",
        "model",
        "/a",
        1,
        2,
        source_run_id="rid",
        status=theirs.LoggedModelStatus.READY,
        tags={"k": "v"},
        params={"alpha": "1"},
        metrics=[theirs.Metric("acc", 0.9, 5, 0, model_id="m-1", run_id="rid")],
    )
    assert _plain(converted) == _plain(expected)
    assert repr(converted) == repr(expected)
    assert converted.model_uri == "models:/m-1"
    bare = S.logged_model_from_core(core.LoggedModel("m-2", "1", "n", "/a", 1, 1), E.SHAPES)
    assert bare.metrics is None and bare.status == "PENDING"  # MLflow's SQL store: None, not []


def _core_version(
    number: int, stage: core_registry.Stage = core_registry.Stage.NONE
) -> core_registry.ModelVersion:
    return core_registry.ModelVersion(
        name="model",
        version=number,
        creation_timestamp=10,
        last_updated_timestamp=11,
        current_stage=stage,
        source="runs:/rid/model",
        run_id="rid",
        tags=(core_registry.ModelVersionTag("k", "v"),),
        aliases=("champion",),
    )


def test_model_version_from_core(theirs: SimpleNamespace) -> None:
    converted = S.model_version_from_core(_core_version(3, core_registry.Stage.STAGING), E.SHAPES)
    assert converted.version == 3 and type(converted.version) is int  # as MLflow's SQL store
    assert converted.current_stage == "Staging" and converted.status == "READY"
    assert converted.aliases == ["champion"] and converted.tags == {"k": "v"}
    expected = theirs.ModelVersion(
        "model",
        3,
        10,
        11,
        current_stage="Staging",
        source="runs:/rid/model",
        run_id="rid",
        tags=[theirs.ModelVersionTag("k", "v")],
        aliases=["champion"],
    )
    assert _plain(converted) == _plain(expected)
    assert converted == S.model_version_from_core(_core_version(3, core_registry.Stage.STAGING), E.SHAPES)


def test_registered_model_from_core(theirs: SimpleNamespace) -> None:
    model = core_registry.RegisteredModel(
        name="model",
        creation_timestamp=1,
        last_updated_timestamp=2,
        description=None,
        latest_versions=(_core_version(1), _core_version(2, core_registry.Stage.PRODUCTION)),
        tags=(core_registry.RegisteredModelTag("k", "v"),),
        aliases=(core_registry.RegisteredModelAlias("champion", 2),),
    )
    converted = S.registered_model_from_core(model, E.SHAPES)
    assert converted.aliases == {"champion": 2} and converted.tags == {"k": "v"}
    assert [v.version for v in converted.latest_versions or []] == [1, 2]
    expected = theirs.RegisteredModel(
        "model",
        1,
        2,
        None,
        [
            theirs.ModelVersion(
                "model", n, 10, 11, current_stage=s, source="runs:/rid/model", run_id="rid",
                tags=[theirs.ModelVersionTag("k", "v")], aliases=["champion"],
            )
            for n, s in ((1, "None"), (2, "Production"))
        ],
        [theirs.RegisteredModelTag("k", "v")],
        [theirs.RegisteredModelAlias("champion", 2)],
    )  # fmt: skip
    assert _plain(converted) == _plain(expected)
    assert repr(converted) == repr(expected)


# --- user input -> domain ------------------------------------------------------------------------


def test_metric_to_core_accepts_mlflows_and_our_metrics(theirs: SimpleNamespace) -> None:
    for m in (OURS, theirs):
        point = S.metric_to_core(m.Metric("k", 1, 7, 2, dataset_name="ds", dataset_digest="d"))
        assert point == core.Metric("k", 1.0, 7, 2, dataset_name="ds", dataset_digest="d")
        assert type(point.value) is float
    assert S.metric_to_core(core.Metric("k", 2.0, 1, 0)) == core.Metric("k", 2.0, 1, 0)


def test_metric_value_converts_like_mlflows_client() -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("mlflow")
    from mlflow.tracking.metric_value_conversion_utils import convert_metric_value_to_float_if_possible

    for value in (1, True, 2.5, "2.5", np.float32(1.5), np.int64(3), np.array([3.0]), math.inf, None, "abc"):
        ours, expected = S.metric_value(value), convert_metric_value_to_float_if_possible(value)
        assert type(ours) is type(expected) and (ours == expected or ours is expected), value
    # The layer raises the domain error; the API's decorator turns it into its MlflowException.
    with pytest.raises(InvalidParameterValue, match="Failed to convert metric value to float") as caught:
        S.metric_value(np.array([1.0, 2.0]))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    unconvertible = [1, 2]
    assert S.metric_value(unconvertible) is unconvertible  # validation refuses it later


def test_param_tag_and_experiment_tag_to_core(theirs: SimpleNamespace) -> None:
    for m in (OURS, theirs):
        assert S.param_to_core(m.Param("lr", "0.1")) == core.Param("lr", "0.1")
        assert S.param_to_core(m.Param("n", 1)) == core.Param("n", "1")  # MLflow's SQL store: "1"
        assert S.run_tag_to_core(m.RunTag("t", "v")) == core.RunTag("t", "v")
        assert S.experiment_tag_to_core(m.ExperimentTag("t", "v")) == core.ExperimentTag("t", "v")
        assert S.logged_model_input_to_core(m.LoggedModelInput("m-1")) == core.LoggedModelInput("m-1")


def test_dataset_input_to_core(theirs: SimpleNamespace) -> None:
    expected = core.DatasetInput(
        core.Dataset("ds", "d1", "code", "{}", schema="{}", profile=None),
        tags=(core.InputTag("mlflow.data.context", "training"),),
    )
    for m in (OURS, theirs):
        given = m.DatasetInput(
            m.Dataset("ds", "d1", "code", "{}", schema="{}"), [m.InputTag("mlflow.data.context", "training")]
        )
        assert S.dataset_input_to_core(given) == expected
    with_dict = SimpleNamespace(dataset=expected.dataset, tags={"mlflow.data.context": "training"})
    assert S.dataset_input_to_core(with_dict) == expected
    assert S.dataset_input_to_core(SimpleNamespace(dataset=expected.dataset, tags=None)).tags == ()


def test_view_type_to_core(theirs: SimpleNamespace) -> None:
    np = pytest.importorskip("numpy")
    for m in (OURS, theirs):
        assert S.view_type_to_core(m.ViewType.ACTIVE_ONLY) is core.ViewType.ACTIVE_ONLY
        assert S.view_type_to_core(m.ViewType.DELETED_ONLY) is core.ViewType.DELETED_ONLY
        assert S.view_type_to_core(m.ViewType.ALL) is core.ViewType.ALL
    assert S.view_type_to_core(core.ViewType.ALL) is core.ViewType.ALL
    assert S.view_type_to_core(np.int64(2)) is core.ViewType.DELETED_ONLY
    for bad in (0, 4, True, "ALL", None, 1.0):
        with pytest.raises(InvalidParameterValue, match="Invalid view type") as caught:
            S.view_type_to_core(bad)
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
