"""The fluent MLflow-compatible API (``import genesis_flow as mlflow``) on real stores: the
environment variables MLflow reads, ``start_run`` and its run stack, ``search_runs`` as a
DataFrame. Expected behaviour is MLflow's (3.17) wherever the two share semantics."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import genesis_flow as mlflow
from genesis_flow import MlflowClient
from genesis_flow.entrypoints.api.async_logging import RunOperations
from genesis_flow.exceptions import MlflowException
from tests.integration.api_state import ENV_VARS, clean_state, reset_stores  # noqa: F401 - autouse fixture

RUN_NAME = re.compile(r"^[a-z]+-[a-z]+-\d+$")
SYSTEM_TAGS = ("mlflow.user", "mlflow.source.name", "mlflow.source.type", "mlflow.runName")


def _db(tmp_path: Path, name: str = "t") -> str:
    return f"sqlite:///{tmp_path}/{name}.db"


def _has_run(uri: str, run_id: str) -> bool:
    try:
        MlflowClient(tracking_uri=uri).get_run(run_id)
    except MlflowException as error:
        assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
        return False
    return True


def _has_model(tracking_uri: str, registry_uri: str, name: str) -> bool:
    try:
        MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri).get_registered_model(name)
    except MlflowException as error:
        assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
        return False
    return True


# --- environment: tracking and registry URIs ----------------------------------------------------


def test_mlflow_tracking_uri_env_selects_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = _db(tmp_path, "env")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)

    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")

    assert mlflow.get_tracking_uri() == uri
    assert mlflow.is_tracking_uri_set()
    assert _has_run(uri, run.info.run_id)
    assert not (tmp_path / "genesis.db").exists()


def test_genesis_tracking_uri_env_wins_over_mlflow_tracking_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow_uri, genesis_uri = _db(tmp_path, "mlflow"), _db(tmp_path, "genesis")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    monkeypatch.setenv("GENESIS_TRACKING_URI", genesis_uri)

    with mlflow.start_run() as run:
        pass

    assert mlflow.get_tracking_uri() == genesis_uri
    assert _has_run(genesis_uri, run.info.run_id)
    assert not _has_run(mlflow_uri, run.info.run_id)


def test_set_tracking_uri_wins_over_both_env_vars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow_uri, genesis_uri, code_uri = (_db(tmp_path, n) for n in ("mlflow", "genesis", "code"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    monkeypatch.setenv("GENESIS_TRACKING_URI", genesis_uri)

    mlflow.set_tracking_uri(code_uri)
    with mlflow.start_run() as run:
        pass

    assert mlflow.get_tracking_uri() == code_uri
    assert _has_run(code_uri, run.info.run_id)
    assert not _has_run(genesis_uri, run.info.run_id)
    assert not _has_run(mlflow_uri, run.info.run_id)


def test_set_tracking_uri_exports_mlflow_tracking_uri(tmp_path: Path) -> None:
    uri = _db(tmp_path)
    mlflow.set_tracking_uri(uri)
    assert os.environ["MLFLOW_TRACKING_URI"] == uri  # as MLflow does, for child processes


def test_set_tracking_uri_is_seen_by_child_processes_when_genesis_tracking_uri_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENESIS_TRACKING_URI", _db(tmp_path, "genesis"))
    code_uri = _db(tmp_path, "code")
    mlflow.set_tracking_uri(code_uri)

    child = subprocess.run(
        [sys.executable, "-c", "import genesis_flow; print(genesis_flow.get_tracking_uri())"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert child.stdout.strip() == code_uri


def test_mlflow_registry_uri_env_selects_the_registry_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_uri, registry_uri = _db(tmp_path, "tracking"), _db(tmp_path, "registry")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry_uri)

    mlflow.register_model(str(tmp_path / "model"), "env-model")

    assert mlflow.get_registry_uri() == registry_uri
    assert _has_model(registry_uri, registry_uri, "env-model")
    assert not _has_model(tracking_uri, tracking_uri, "env-model")


def test_genesis_registry_uri_env_wins_over_mlflow_registry_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow_uri, genesis_uri = _db(tmp_path, "mlflow-reg"), _db(tmp_path, "genesis-reg")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _db(tmp_path))
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", mlflow_uri)
    monkeypatch.setenv("GENESIS_REGISTRY_URI", genesis_uri)

    mlflow.register_model(str(tmp_path / "model"), "env-model")

    assert mlflow.get_registry_uri() == genesis_uri
    assert _has_model(genesis_uri, genesis_uri, "env-model")
    assert not _has_model(mlflow_uri, mlflow_uri, "env-model")


def test_set_registry_uri_wins_over_registry_env_vars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _db(tmp_path))
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", _db(tmp_path, "mlflow-reg"))
    monkeypatch.setenv("GENESIS_REGISTRY_URI", _db(tmp_path, "genesis-reg"))
    code_uri = _db(tmp_path, "code-reg")

    mlflow.set_registry_uri(code_uri)
    mlflow.register_model(str(tmp_path / "model"), "code-model")

    assert mlflow.get_registry_uri() == code_uri
    assert _has_model(code_uri, code_uri, "code-model")


def test_registry_uri_without_settings_is_the_tracking_uri(tmp_path: Path) -> None:
    uri = _db(tmp_path)
    mlflow.set_tracking_uri(uri)

    mlflow.register_model(str(tmp_path / "model"), "same-store")

    assert mlflow.get_registry_uri() == uri
    assert _has_model(uri, uri, "same-store")


def test_tracking_uri_http_in_env_makes_start_run_raise_invalid_parameter_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://localhost:5000")

    with pytest.raises(MlflowException) as caught:
        mlflow.start_run()

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "database URI" in caught.value.message


@pytest.mark.parametrize("uri", ["http://localhost:5000", "https://mlflow.example.com"])
def test_set_tracking_uri_server_uri_raises_invalid_parameter_value(uri: str) -> None:
    with pytest.raises(MlflowException) as caught:
        mlflow.set_tracking_uri(uri)

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "database URI" in caught.value.message


@pytest.mark.parametrize("uri", ["http://localhost:5000", "https://mlflow.example.com"])
def test_set_tracking_uri_server_uri_is_refused_and_keeps_the_previous_uri(tmp_path: Path, uri: str) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))

    with pytest.raises(Exception) as caught:
        mlflow.set_tracking_uri(uri)

    assert getattr(caught.value, "error_code", None) == "INVALID_PARAMETER_VALUE"
    assert "database URI" in str(caught.value)
    assert mlflow.get_tracking_uri() == _db(tmp_path)
    assert os.environ["MLFLOW_TRACKING_URI"] == _db(tmp_path)


# --- environment: experiment, run, async logging -------------------------------------------------


def test_mlflow_experiment_name_env_creates_the_experiment_for_a_new_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    assert mlflow.get_experiment_by_name("from-env") is None

    with mlflow.start_run() as run:
        pass

    experiment = mlflow.get_experiment_by_name("from-env")
    assert experiment is not None
    assert run.info.experiment_id == experiment.experiment_id != "0"


def test_mlflow_experiment_name_env_uses_the_existing_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    experiment_id = mlflow.create_experiment("existing")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "existing")

    with mlflow.start_run() as first:
        pass
    with mlflow.start_run() as second:
        pass

    assert first.info.experiment_id == second.info.experiment_id == experiment_id
    assert [e.name for e in mlflow.search_experiments() if e.name == "existing"] == ["existing"]


def test_genesis_experiment_name_env_wins_over_mlflow_experiment_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mlflow-name")
    monkeypatch.setenv("GENESIS_EXPERIMENT_NAME", "genesis-name")

    with mlflow.start_run() as run:
        pass

    assert mlflow.get_experiment(run.info.experiment_id).name == "genesis-name"


def test_set_experiment_wins_over_mlflow_experiment_name_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")

    experiment = mlflow.set_experiment("from-code")
    with mlflow.start_run() as run:
        pass

    assert run.info.experiment_id == experiment.experiment_id
    assert mlflow.get_experiment(run.info.experiment_id).name == "from-code"


def test_mlflow_experiment_id_env_selects_the_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    mlflow.create_experiment("first")
    experiment_id = mlflow.create_experiment("by-id")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)

    with mlflow.start_run() as run:
        pass

    assert run.info.experiment_id == experiment_id


def test_mlflow_experiment_id_env_unknown_raises_invalid_parameter_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "424242")

    with pytest.raises(MlflowException) as caught:
        mlflow.start_run()

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"  # MLflow's code for this one
    assert "MLFLOW_EXPERIMENT_ID" in caught.value.message
    assert mlflow.active_run() is None


def test_mlflow_run_id_env_resumes_the_run_and_is_consumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    with mlflow.start_run() as finished:
        mlflow.log_param("before", "1")
    monkeypatch.setenv("MLFLOW_RUN_ID", finished.info.run_id)

    resumed = mlflow.start_run()

    assert resumed.info.run_id == finished.info.run_id
    assert resumed.info.status == "RUNNING"
    assert resumed.data.params == {"before": "1"}
    assert "MLFLOW_RUN_ID" not in os.environ  # consumed by start_run, as MLflow does
    mlflow.end_run()
    with mlflow.start_run() as fresh:
        pass
    assert fresh.info.run_id != finished.info.run_id


def test_genesis_run_id_env_resumes_the_run_and_is_consumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    with mlflow.start_run() as finished:
        pass
    monkeypatch.setenv("GENESIS_RUN_ID", finished.info.run_id)

    with mlflow.start_run() as resumed:
        assert resumed.info.run_id == finished.info.run_id
        assert "GENESIS_RUN_ID" not in os.environ
    with mlflow.start_run() as fresh:
        pass

    assert fresh.info.run_id != finished.info.run_id


def test_mlflow_enable_async_logging_env_makes_log_metric_return_run_operations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")

    with mlflow.start_run() as run:
        operations = [mlflow.log_metric("loss", 1.0 / (step + 1), step=step) for step in range(300)]
        param_operation = mlflow.log_param("lr", 0.1)
        tag_operation = mlflow.set_tag("phase", "train")

    assert all(isinstance(op, RunOperations) for op in operations)
    assert isinstance(param_operation, RunOperations)
    assert isinstance(tag_operation, RunOperations)
    # end_run flushed the queue: every point is in the store, and the run is FINISHED.
    history = MlflowClient(tracking_uri=_db(tmp_path)).get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(300))
    stored = mlflow.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"lr": "0.1"}
    assert stored.data.tags["phase"] == "train"


def test_log_metric_without_async_setting_returns_none(tmp_path: Path) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    with mlflow.start_run():
        assert mlflow.log_metric("loss", 1.0) is None


def test_genesis_enable_async_logging_false_wins_over_mlflow_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri(_db(tmp_path))
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    monkeypatch.setenv("GENESIS_ENABLE_ASYNC_LOGGING", "false")

    with mlflow.start_run() as run:
        assert mlflow.log_metric("loss", 1.0) is None
        assert mlflow.get_run(run.info.run_id).data.metrics == {"loss": 1.0}


def test_async_logging_after_memory_store_reset_writes_to_the_new_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
    for attempt in range(2):
        reset_stores()
        mlflow.set_tracking_uri("memory:")
        with mlflow.start_run() as run:
            mlflow.log_metric("m", float(attempt))
        assert mlflow.get_run(run.info.run_id).data.metrics == {"m": float(attempt)}


# --- start_run -----------------------------------------------------------------------------------


@pytest.fixture
def tracked(tmp_path: Path) -> str:
    uri = _db(tmp_path)
    mlflow.set_tracking_uri(uri)
    return uri


@pytest.mark.usefixtures("tracked")
def test_start_run_nested_sets_parent_run_id_tag() -> None:
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        assert mlflow.active_run() is child

    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert "mlflow.parentRunId" not in parent.data.tags
    assert mlflow.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id


@pytest.mark.usefixtures("tracked")
def test_start_run_nested_without_active_run_has_no_parent() -> None:
    with mlflow.start_run(nested=True) as run:
        pass

    assert "mlflow.parentRunId" not in run.data.tags


@pytest.mark.usefixtures("tracked")
def test_start_run_without_nested_while_active_raises() -> None:
    with mlflow.start_run() as active:
        with pytest.raises(MlflowException) as caught:
            mlflow.start_run()
        assert mlflow.active_run() is active

    assert active.info.run_id in caught.value.message
    assert "nested=True" in caught.value.message


@pytest.mark.usefixtures("tracked")
def test_start_run_parent_run_id_mismatch_raises() -> None:
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        with pytest.raises(MlflowException) as caught:
            mlflow.start_run(nested=True, parent_run_id=parent.info.run_id)
        assert mlflow.active_run() is child

    assert "does not match the specified parent_run_id" in caught.value.message


@pytest.mark.usefixtures("tracked")
def test_start_run_parent_run_id_without_active_run_sets_parent_tag() -> None:
    with mlflow.start_run() as parent:
        pass

    with mlflow.start_run(parent_run_id=parent.info.run_id) as child:
        pass

    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id


@pytest.mark.usefixtures("tracked")
def test_start_run_run_id_of_finished_run_sets_running() -> None:
    with mlflow.start_run() as first:
        pass
    assert mlflow.get_run(first.info.run_id).info.status == "FINISHED"

    resumed = mlflow.start_run(run_id=first.info.run_id)

    assert resumed.info.run_id == first.info.run_id
    assert resumed.info.status == "RUNNING"
    assert mlflow.get_run(first.info.run_id).info.status == "RUNNING"
    mlflow.end_run()
    assert mlflow.get_run(first.info.run_id).info.status == "FINISHED"


@pytest.mark.usefixtures("tracked")
def test_start_run_run_id_unknown_raises_resource_does_not_exist() -> None:
    with pytest.raises(MlflowException) as caught:
        mlflow.start_run(run_id="0123456789abcdef0123456789abcdef")

    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert mlflow.active_run() is None


@pytest.mark.usefixtures("tracked")
def test_start_run_description_sets_note_content_tag() -> None:
    with mlflow.start_run(description="first **try**") as run:
        pass

    assert mlflow.get_run(run.info.run_id).data.tags["mlflow.note.content"] == "first **try**"


@pytest.mark.usefixtures("tracked")
def test_start_run_description_and_note_tag_together_raise_invalid_parameter_value() -> None:
    with pytest.raises(MlflowException) as caught:
        mlflow.start_run(description="a", tags={"mlflow.note.content": "b"})

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert mlflow.active_run() is None


@pytest.mark.usefixtures("tracked")
def test_start_run_sets_system_tags() -> None:
    with mlflow.start_run() as run:
        pass

    tags = mlflow.get_run(run.info.run_id).data.tags
    assert set(SYSTEM_TAGS) <= set(tags)
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.user"]
    assert tags["mlflow.source.name"]
    assert tags["mlflow.runName"] == run.info.run_name


@pytest.mark.usefixtures("tracked")
def test_start_run_without_name_generates_adjective_noun_number() -> None:
    names = set()
    for _ in range(5):
        with mlflow.start_run() as run:
            pass
        names.add(run.info.run_name)
        assert RUN_NAME.match(run.info.run_name), run.info.run_name
        assert mlflow.get_run(run.info.run_id).data.tags["mlflow.runName"] == run.info.run_name
    assert len(names) > 1


@pytest.mark.usefixtures("tracked")
def test_start_run_run_name_sets_name_and_tag() -> None:
    with mlflow.start_run(run_name="given") as run:
        pass

    stored = mlflow.get_run(run.info.run_id)
    assert stored.info.run_name == "given"
    assert stored.data.tags["mlflow.runName"] == "given"


@pytest.mark.usefixtures("tracked")
def test_start_run_context_manager_ends_finished() -> None:
    with mlflow.start_run() as run:
        assert mlflow.get_run(run.info.run_id).info.status == "RUNNING"

    stored = mlflow.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None
    assert mlflow.active_run() is None


@pytest.mark.usefixtures("tracked")
def test_start_run_context_manager_ends_failed_on_exception() -> None:
    with pytest.raises(ValueError, match="boom"), mlflow.start_run() as run:
        raise ValueError("boom")

    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


@pytest.mark.usefixtures("tracked")
def test_start_run_nested_context_managers_end_inner_failed_outer_finished() -> None:
    with mlflow.start_run() as outer:
        with pytest.raises(KeyError), mlflow.start_run(nested=True) as inner:
            raise KeyError("x")
        assert mlflow.active_run() is outer

    assert mlflow.get_run(inner.info.run_id).info.status == "FAILED"
    assert mlflow.get_run(outer.info.run_id).info.status == "FINISHED"


@pytest.mark.usefixtures("tracked")
def test_log_functions_without_active_run_start_one() -> None:
    assert mlflow.active_run() is None

    mlflow.log_param("p", 1)
    started = mlflow.active_run()
    mlflow.log_metric("m", 2.5)
    mlflow.set_tag("t", "v")
    mlflow.log_metrics({"n": 3})
    mlflow.log_params({"q": "x"})

    assert started is not None
    assert mlflow.active_run() is started
    run = mlflow.get_run(started.info.run_id)
    assert run.info.status == "RUNNING"
    assert run.data.params == {"p": "1", "q": "x"}
    assert run.data.metrics == {"m": 2.5, "n": 3.0}
    assert run.data.tags["t"] == "v"
    mlflow.end_run()
    assert mlflow.get_run(started.info.run_id).info.status == "FINISHED"


@pytest.mark.usefixtures("tracked")
def test_log_metric_without_active_run_uses_the_active_experiment() -> None:
    experiment = mlflow.set_experiment("auto")

    mlflow.log_metric("m", 1.0)

    active = mlflow.active_run()
    assert active is not None
    assert active.info.experiment_id == experiment.experiment_id


@pytest.mark.usefixtures("tracked")
def test_last_active_run_after_block_returns_the_ended_run() -> None:
    assert mlflow.last_active_run() is None
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
        assert mlflow.last_active_run().info.run_id == run.info.run_id

    last = mlflow.last_active_run()

    assert mlflow.active_run() is None
    assert last is not None
    assert last.info.run_id == run.info.run_id
    assert last.info.status == "FINISHED"  # fetched fresh, not the RUNNING snapshot
    assert last.data.metrics == {"m": 1.0}


# --- search_runs ---------------------------------------------------------------------------------

BASE_COLUMNS = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]


@pytest.fixture
def two_runs(tracked: str) -> tuple[str, str]:
    """Run "a" (metric m, param p) then run "b" (metric n, tag t), in experiment "search"."""
    mlflow.set_experiment("search")
    with mlflow.start_run(run_name="a") as a:
        mlflow.log_metric("m", 1.0)
        mlflow.log_param("p", "x")
    with mlflow.start_run(run_name="b") as b:
        mlflow.log_metric("n", 2.0)
        mlflow.set_tag("t", "y")
    return a.info.run_id, b.info.run_id


def test_search_runs_dataframe_has_mlflow_columns(two_runs: tuple[str, str]) -> None:
    pd = pytest.importorskip("pandas")
    a, b = two_runs

    frame = mlflow.search_runs()

    assert list(frame.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert {"metrics.m", "metrics.n", "params.p", "tags.t", "tags.mlflow.runName"} <= set(frame.columns)
    assert all(c.startswith(("metrics.", "params.", "tags.")) for c in frame.columns[len(BASE_COLUMNS) :])
    assert list(frame["run_id"]) == [b, a]  # start time DESC
    assert set(frame["status"]) == {"FINISHED"}
    assert set(frame["experiment_id"]) == {mlflow.get_experiment_by_name("search").experiment_id}
    assert all(
        uri.endswith(f"{run_id}/artifacts") for uri, run_id in zip(frame["artifact_uri"], [b, a], strict=True)
    )
    assert isinstance(frame["start_time"].dtype, pd.DatetimeTZDtype)
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert isinstance(frame["end_time"].iloc[0], pd.Timestamp)
    start = mlflow.get_run(a).info.start_time
    assert frame.set_index("run_id").loc[a, "start_time"] == pd.to_datetime(start, unit="ms", utc=True)


def test_search_runs_missing_metric_is_nan_and_missing_param_or_tag_is_null(
    two_runs: tuple[str, str],
) -> None:
    pd = pytest.importorskip("pandas")
    a, b = two_runs

    rows = mlflow.search_runs().set_index("run_id")

    assert rows.loc[a, "metrics.m"] == 1.0
    assert math.isnan(rows.loc[b, "metrics.m"])
    assert rows["metrics.m"].dtype == float
    assert rows.loc[a, "params.p"] == "x"
    assert rows.loc[a, "tags.t"] is None or pd.isna(rows.loc[a, "tags.t"])
    # None, as MLflow puts it; pandas' string columns show it as their missing value.
    assert rows.loc[b, "params.p"] is None or pd.isna(rows.loc[b, "params.p"])
    assert rows.loc[b, "tags.t"] == "y"


def test_search_runs_without_runs_has_only_the_base_columns(tracked: str) -> None:
    pytest.importorskip("pandas")
    mlflow.set_experiment("empty")

    frame = mlflow.search_runs()

    assert list(frame.columns) == BASE_COLUMNS
    assert len(frame) == 0


def test_search_runs_output_format_list_returns_runs(two_runs: tuple[str, str]) -> None:
    a, b = two_runs

    runs = mlflow.search_runs(output_format="list")

    assert isinstance(runs, list)
    assert [r.info.run_id for r in runs] == [b, a]
    assert all(isinstance(r, mlflow.entities.Run) for r in runs)
    assert runs[1].data.params == {"p": "x"}
    assert runs[0].data.metrics == {"n": 2.0}


def test_search_runs_experiment_names_selects_those_experiments(two_runs: tuple[str, str]) -> None:
    mlflow.set_experiment("elsewhere")
    with mlflow.start_run():
        pass

    found = mlflow.search_runs(experiment_names=["search", "no-such-experiment"], output_format="list")
    active_only = mlflow.search_runs(output_format="list")

    assert {r.info.run_id for r in found} == set(two_runs)
    assert len(active_only) == 1
    assert mlflow.search_runs(experiment_names=["no-such-experiment"], output_format="list") == []


def test_search_runs_experiment_ids_and_names_together_raise_invalid_parameter_value(
    two_runs: tuple[str, str],
) -> None:
    with pytest.raises(MlflowException) as caught:
        mlflow.search_runs(experiment_ids=["0"], experiment_names=["search"])

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_filter_and_max_results(two_runs: tuple[str, str]) -> None:
    a, b = two_runs

    assert [
        r.info.run_id for r in mlflow.search_runs(filter_string="metrics.m = 1", output_format="list")
    ] == [a]
    assert [r.info.run_id for r in mlflow.search_runs(max_results=1, output_format="list")] == [b]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("tracked")
@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: mlflow.get_run("0123456789abcdef0123456789abcdef"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: mlflow.get_experiment("424242"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: mlflow.set_experiment(), "INVALID_PARAMETER_VALUE"),
        (lambda: mlflow.start_run(experiment_id="424242"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: mlflow.create_experiment(""), "INVALID_PARAMETER_VALUE"),
        (
            lambda: (mlflow.create_experiment("twice"), mlflow.create_experiment("twice")),
            "RESOURCE_ALREADY_EXISTS",
        ),
        (lambda: mlflow.log_metric("m", "not a number"), "INVALID_PARAMETER_VALUE"),
        (lambda: mlflow.log_metric("../escape", 1.0), "INVALID_PARAMETER_VALUE"),
        (lambda: (mlflow.log_param("p", 1), mlflow.log_param("p", 2)), "INVALID_PARAMETER_VALUE"),
        (lambda: mlflow.search_runs(filter_string="metrics.m >< 1"), "INVALID_PARAMETER_VALUE"),
    ],
    ids=[
        "unknown-run",
        "unknown-experiment",
        "set-experiment-no-args",
        "start-run-unknown-experiment",
        "empty-experiment-name",
        "duplicate-experiment",
        "non-numeric-metric",
        "bad-metric-key",
        "changed-param",
        "bad-filter",
    ],
)
def test_fluent_error_is_mlflow_exception_with_mlflow_error_code(call: object, code: str) -> None:
    with pytest.raises(MlflowException) as caught:
        call()  # type: ignore[operator]

    assert caught.value.error_code == code
    assert caught.value.__cause__ is None
