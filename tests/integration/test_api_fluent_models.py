"""Fluent functions of ``import mlflow`` beyond runs: registry searches, logged models, the active
model, stream and table artifacts, run restore and experiment tag deletion, on the memory store
through ``genesis_flow``. Expected values and error codes are those mlflow 3.17.2 gives for the
same calls on its own SQLite store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

import genesis_flow as mlflow
from genesis_flow import MlflowClient
from genesis_flow.entities import LoggedModelOutput
from genesis_flow.entrypoints.api import fluent
from genesis_flow.exceptions import MlflowException
from tests.integration.api_state import clean_state  # noqa: F401 - autouse fixture

SYSTEM_TAGS = {"mlflow.source.name", "mlflow.source.type", "mlflow.user"}


def _user_tags(tags: dict[str, str]) -> set[str]:
    """The tag keys beyond the system tags, which must all be there (git ones come and go)."""
    assert set(tags) >= SYSTEM_TAGS
    return {key for key in tags if key not in SYSTEM_TAGS and not key.startswith("mlflow.source.git")}


@pytest.fixture(autouse=True)
def memory_store() -> None:
    mlflow.set_tracking_uri("memory:")


def _code(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(MlflowException) as raised:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(raised.value.error_code)


def test_restore_run_brings_a_deleted_run_back() -> None:
    with mlflow.start_run() as run:
        pass
    mlflow.delete_run(run.info.run_id)
    mlflow.restore_run(run.info.run_id)

    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "active"
    assert _code(mlflow.restore_run, "no-such-run") == "RESOURCE_DOES_NOT_EXIST"


def test_delete_experiment_tag_deletes_from_the_active_experiment() -> None:
    experiment = mlflow.set_experiment("tagged")
    mlflow.set_experiment_tags({"keep": "1", "drop": "2"})
    mlflow.delete_experiment_tag("drop")

    assert mlflow.get_experiment(experiment.experiment_id).tags == {"keep": "1"}
    assert _code(mlflow.delete_experiment_tag, "drop") == "RESOURCE_DOES_NOT_EXIST"


def test_registry_searches_collect_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages of two, so five models and four versions need several pages each.
    monkeypatch.setattr(fluent, "SEARCH_REGISTERED_MODEL_PAGE", 2)
    monkeypatch.setattr(fluent, "SEARCH_MODEL_VERSION_PAGE", 2)
    client = MlflowClient()
    for name in ("m0", "m1", "m2", "m3", "other"):
        client.create_registered_model(name)
    for _ in range(4):
        client.create_model_version("m0", "s3://bucket/model")

    assert [m.name for m in mlflow.search_registered_models()] == ["m0", "m1", "m2", "m3", "other"]
    assert [m.name for m in mlflow.search_registered_models(max_results=3)] == ["m0", "m1", "m2"]
    found = mlflow.search_registered_models(filter_string="name LIKE 'm%'", order_by=["name DESC"])
    assert [m.name for m in found] == ["m3", "m2", "m1", "m0"]
    assert [v.version for v in mlflow.search_model_versions(filter_string="name = 'm0'")] == [4, 3, 2, 1]
    assert len(mlflow.search_model_versions(max_results=3)) == 3
    assert _code(mlflow.search_model_versions, filter_string="nope = 1") == "INVALID_PARAMETER_VALUE"


def test_set_model_version_tag_tags_one_version() -> None:
    client = MlflowClient()
    client.create_registered_model("m")
    client.create_model_version("m", "s3://bucket/model")
    mlflow.set_model_version_tag("m", "1", "stage", "gold")

    assert client.get_model_version("m", "1").tags == {"stage": "gold"}
    assert _code(mlflow.set_model_version_tag, "m", "2", "k", "v") == "RESOURCE_DOES_NOT_EXIST"


def test_logged_model_lifecycle_through_the_fluent_functions() -> None:
    params: dict[str, object] = {"p": 1}  # MLflow turns values into text
    model = mlflow.initialize_logged_model(name="a", params=params, tags={"t": "v"}, model_type="mt")

    assert (model.status, model.params, model.model_type) == ("PENDING", {"p": "1"}, "mt")
    assert model.experiment_id == "0"
    assert _user_tags(model.tags) == {"t"}
    assert mlflow.last_logged_model().model_id == model.model_id
    assert mlflow.finalize_logged_model(model.model_id, "READY").status == "READY"
    mlflow.log_model_params({"q": "2"}, model_id=model.model_id)
    mlflow.set_logged_model_tags(model.model_id, {"x": 1})
    mlflow.delete_logged_model_tag(model.model_id, "t")
    stored = mlflow.get_logged_model(model.model_id)
    assert stored.params == {"p": "1", "q": "2"}
    assert _user_tags(stored.tags) == {"x"}
    assert _code(mlflow.get_logged_model, "m-nope") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(mlflow.log_model_params, {"q": "2"}) == "INVALID_PARAMETER_VALUE"  # no active model


def test_logged_model_of_an_active_run_has_it_as_source() -> None:
    with mlflow.start_run() as run:
        model = mlflow.initialize_logged_model(name="b")
        mlflow.log_outputs([LoggedModelOutput(model.model_id, 3)])

    assert model.source_run_id == run.info.run_id
    outputs = mlflow.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(model.model_id, 3)]


def test_search_logged_models_as_frame_or_list() -> None:
    first = mlflow.initialize_logged_model(name="a")
    mlflow.finalize_logged_model(first.model_id, "READY")
    mlflow.initialize_logged_model(name="b")

    by_name = [{"field_name": "name", "ascending": False}]
    frame = mlflow.search_logged_models(order_by=by_name)
    assert frame[["name", "status"]].to_dict("list") == {"name": ["b", "a"], "status": ["PENDING", "READY"]}
    assert "model_uri" not in frame.columns
    first_by_name = mlflow.search_logged_models(order_by=by_name, output_format="list", max_results=1)
    assert [m.name for m in first_by_name] == ["b"]
    listed = mlflow.search_logged_models(filter_string="name = 'a'", output_format="list")
    assert [m.model_id for m in listed] == [first.model_id]
    assert _code(mlflow.search_logged_models, output_format="x") == "INVALID_PARAMETER_VALUE"


def test_create_external_model_is_ready_with_an_mlmodel_file() -> None:
    model = mlflow.create_external_model(name="ext", tags={"a": "b"})

    assert model.status == "READY"
    assert _user_tags(model.tags) == {"a", "mlflow.model.isExternal"}
    assert mlflow.last_logged_model().model_id == model.model_id
    spec = yaml.safe_load((Path(model.artifact_location) / "MLmodel").read_text())
    assert (spec["model_id"], spec["flavors"], spec["metadata"]) == (
        model.model_id,
        {},
        {"mlflow.model.isExternal": True},
    )


def test_active_model_by_name_is_created_once_and_scoped_by_with() -> None:
    outer = mlflow.set_active_model(name="agent")
    assert mlflow.get_active_model_id() == outer.model_id
    assert outer.tags["mlflow.model.isExternal"] == "true"
    assert mlflow.set_active_model(name="agent").model_id == outer.model_id  # found, not created again

    with mlflow.set_active_model(name="other") as inner:
        assert mlflow.get_active_model_id() == inner.model_id
    assert mlflow.get_active_model_id() == outer.model_id

    mlflow.clear_active_model()
    assert mlflow.get_active_model_id() is None


def test_active_model_from_the_environment_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    model = mlflow.initialize_logged_model(name="m")
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", model.model_id)
    assert mlflow.get_active_model_id() == model.model_id
    mlflow.clear_active_model()
    assert mlflow.get_active_model_id() is None

    assert _code(mlflow.set_active_model) == "INVALID_PARAMETER_VALUE"
    assert _code(mlflow.set_active_model, name="zzz", model_id=model.model_id) == "INVALID_PARAMETER_VALUE"
    assert _code(mlflow.set_active_model, model_id="m-nope") == "RESOURCE_DOES_NOT_EXIST"


def test_metrics_and_traces_refer_to_the_active_model() -> None:
    model = mlflow.set_active_model(name="agent")

    @mlflow.trace  # type: ignore[untyped-decorator]
    def answer() -> int:
        return 42

    with mlflow.start_run():
        mlflow.log_metric("x", 1.0)
        mlflow.log_metrics({"y": 2.0})
        answer()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())

    metrics = mlflow.get_logged_model(model.model_id).metrics or []
    assert sorted((m.key, m.model_id) for m in metrics) == [("x", model.model_id), ("y", model.model_id)]
    assert trace is not None and trace.info.trace_metadata["mlflow.modelId"] == model.model_id


def test_log_stream_and_load_table() -> None:
    with mlflow.start_run() as first:
        mlflow.log_stream(io.BytesIO(b"\x00bytes"), "d/s.bin")
        mlflow.flush_artifact_async_logging()
        mlflow.log_table({"a": [1, 2], "b": ["x", "y"]}, "t.json")
    with mlflow.start_run() as second:
        mlflow.log_table({"a": [3], "run_id": ["mine"]}, "t.json")
    with mlflow.start_run():
        pass
    ids = [first.info.run_id, second.info.run_id]

    local = MlflowClient().download_artifacts(first.info.run_id, "d/s.bin")
    assert Path(local).read_bytes() == b"\x00bytes"
    table = mlflow.load_table("t.json", run_ids=ids, extra_columns=["run_id"])
    # Newest run first, as search_runs orders; a column a run's table has gets an underscore.
    assert table["a"].tolist() == [3, 1, 2]
    assert table["run_id"].tolist() == ["mine", first.info.run_id, first.info.run_id]
    assert table["run_id_"].tolist()[0] == second.info.run_id
    assert len(mlflow.load_table("t.json", run_ids=[first.info.run_id])) == 2
    assert _code(mlflow.load_table, "missing.json") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(mlflow.load_table, "a,b.json") == "INVALID_PARAMETER_VALUE"


BAD_INPUT = {
    # where mlflow 3.17.2 fails with a bare TypeError, KeyError or AttributeError of its own
    "search max_results text": lambda: mlflow.search_registered_models(max_results="5"),
    "logged models max_results text": lambda: mlflow.search_logged_models(max_results="5"),
    "log_outputs of a string": lambda: mlflow.log_outputs(["m-1"]),
    "log_stream of text": lambda: mlflow.log_stream(io.StringIO("text"), "a.txt"),
    "log_stream of bytes": lambda: mlflow.log_stream(b"bytes", "a.txt"),
    "load_table of None": lambda: mlflow.load_table(None),
    "load_table extra column unknown": lambda: mlflow.load_table("t.json", extra_columns=["nope"]),
    # where mlflow 3.17.2 says INVALID_PARAMETER_VALUE and we said RESOURCE_DOES_NOT_EXIST
    "get_logged_model of None": lambda: mlflow.get_logged_model(None),
    "get_logged_model of ''": lambda: mlflow.get_logged_model(""),
}


@pytest.mark.parametrize("call", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_invalid_parameter_value_and_writes_nothing(call: Any) -> None:
    with mlflow.start_run() as run:
        mlflow.log_table({"a": [1]}, "t.json")
        assert _code(call) == "INVALID_PARAMETER_VALUE"
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id)] == ["t.json"]


def test_version_is_the_packages_version() -> None:
    assert mlflow.__version__ == mlflow.VERSION
