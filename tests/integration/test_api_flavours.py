"""MLflow's model flavours through ``import genesis_flow as mlflow``: real mlflow's modules, loaded
on first touch, logging into our store and our active run (docs/adr/0024). The store tests run
once per adapter family (SQLite, MongoDB): each loads mlflow and trains a model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import genesis_flow as mlflow
from genesis_flow import MlflowClient
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.api import flavours
from genesis_flow.exceptions import MlflowException
from tests.integration.api_state import clean_state  # noqa: F401 - autouse fixture
from tests.integration.plugin_backends import ONE_PER_FAMILY, fresh_plugin_uri

real_mlflow = pytest.importorskip("mlflow", reason="the flavours are real mlflow's (the mlflow extra)")
linear_model = pytest.importorskip("sklearn.linear_model", reason="scikit-learn trains the model")
np = pytest.importorskip("numpy")

FEATURES = [[0.0], [1.0], [2.0], [3.0]]
LABELS = [0, 0, 1, 1]


@pytest.fixture(autouse=True)
def disconnected() -> Iterator[None]:
    """Later tests drive real mlflow and genesis_flow side by side: they must not find our runs
    mirrored onto mlflow's."""
    yield
    flavours.disconnect()


@pytest.fixture(params=ONE_PER_FAMILY)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Our fluent API on a fresh store, under the URI a user writes (``sqlite:///...``, not the
    plugin's ``genesis+`` form)."""
    with fresh_plugin_uri(request.param, "flavours", tmp_path) as uri:
        mlflow.set_tracking_uri(bootstrap.unprefixed_uri(uri))
        yield uri


def _trained(**params: Any) -> Any:
    return linear_model.LogisticRegression(**params).fit(np.array(FEATURES), np.array(LABELS))


def test_a_logged_model_belongs_to_our_run_and_loads_by_its_alias(store_uri: str) -> None:
    model = _trained()
    features = np.array(FEATURES)
    signature = mlflow.models.infer_signature(features, model.predict(features))

    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="classifier",
            signature=signature,
            pip_requirements=["scikit-learn"],  # inferring them starts a subprocess
        )
    MlflowClient().set_registered_model_alias("classifier", "champion", "1")
    loaded = mlflow.pyfunc.load_model("models:/classifier@champion")

    assert loaded.predict(features).tolist() == LABELS
    assert info.run_id == run.info.run_id
    assert info.signature == signature
    stored = mlflow.get_run(run.info.run_id)
    assert [output.model_id for output in stored.outputs.model_outputs] == [info.model_id]
    assert stored.info.status == "FINISHED"
    assert [r.info.run_id for r in mlflow.search_runs(output_format="list")] == [run.info.run_id]
    assert MlflowClient().get_model_version_by_alias("classifier", "champion").run_id == run.info.run_id
    assert real_mlflow.active_run() is None


# scikit-learn's own deprecation, raised inside mlflow's autolog of a classifier's metrics
@pytest.mark.filterwarnings("ignore:`y_pred` was renamed:FutureWarning")
def test_last_logged_model_is_the_newest_of_ours_and_the_flavours(tmp_path: Path) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'last.db'}")
    with mlflow.start_run():
        logged = mlflow.sklearn.log_model(_trained(), name="by-flavour")
        assert mlflow.last_logged_model().model_id == logged.model_id
        ours = mlflow.initialize_logged_model(name="by-us")
        assert mlflow.last_logged_model().model_id == ours.model_id


def test_autolog_inside_our_run_logs_into_it(store_uri: str) -> None:
    mlflow.set_experiment("autologged")
    mlflow.autolog(log_models=False, log_datasets=False, silent=True)
    try:
        with mlflow.start_run() as run:
            _trained(C=0.25)
    finally:
        mlflow.autolog(disable=True)

    assert mlflow.get_run(run.info.run_id).data.params["C"] == "0.25"
    assert [r.info.run_id for r in mlflow.search_runs(output_format="list")] == [run.info.run_id]


# mlflow 3 names mlflow.models.evaluate as the new home of mlflow.evaluate, which still works
@pytest.mark.filterwarnings("ignore:The `mlflow.evaluate` API has been deprecated:FutureWarning")
def test_evaluate_inside_our_run_logs_its_metrics_into_it(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'evaluated.db'}")
    data = pandas.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 0.5, 2.5], "y": [0, 0, 1, 1, 0, 1]})

    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            lambda frame: (frame["x"] > 0.75).astype(int), data=data, targets="y", model_type="classifier"
        )

    stored = mlflow.get_run(run.info.run_id)
    assert stored.data.metrics["accuracy_score"] == result.metrics["accuracy_score"] == 5 / 6
    assert stored.data.metrics["example_count"] == 6
    assert stored.info.status == "FINISHED"
    assert [r.info.run_id for r in mlflow.search_runs(output_format="list")] == [run.info.run_id]


SYSTEM_METRICS_VARS = (
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING",
    "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
    "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING",
    "MLFLOW_SYSTEM_METRICS_NODE_ID",
)


@pytest.fixture
def system_metrics_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    """mlflow's switches set process variables: none is set at the start, each test's are undone
    afterwards (set first, so monkeypatch records them; mlflow reads an empty one as a value)."""
    for name in SYSTEM_METRICS_VARS:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_system_metrics_are_sampled_into_our_run(system_metrics_switches: None, tmp_path: Path) -> None:
    pytest.importorskip("psutil", reason="mlflow's system-metrics monitor samples the host with psutil")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'sampled.db'}")
    mlflow.enable_system_metrics_logging()
    mlflow.set_system_metrics_sampling_interval(0.1)
    mlflow.set_system_metrics_node_id("node0")

    with mlflow.start_run() as run:
        # The first sample is written as soon as it is taken; waiting for it is no timing claim.
        deadline = time.monotonic() + 60
        while not mlflow.get_run(run.info.run_id).data.metrics and time.monotonic() < deadline:
            time.sleep(0.05)

    stored = mlflow.get_run(run.info.run_id)
    assert "system/node0/cpu_utilization_percentage" in stored.data.metrics
    assert stored.info.status == "FINISHED"
    assert flavours._monitors == {}  # stopped with the run
    with mlflow.start_run(log_system_metrics=False) as quiet:
        pass
    assert mlflow.get_run(quiet.info.run_id).data.metrics == {}


def test_a_run_resumed_while_sampled_keeps_one_monitor(system_metrics_switches: None, tmp_path: Path) -> None:
    pytest.importorskip("psutil", reason="mlflow's system-metrics monitor samples the host with psutil")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'resumed.db'}")
    mlflow.set_system_metrics_sampling_interval(60)  # no sample is needed, only the threads

    def monitors() -> int:
        return sum(t.name == "SystemMetricsMonitor" and t.is_alive() for t in threading.enumerate())

    before = monitors()
    # A second monitor on the same run had no owner: nothing ever stopped its thread.
    with (
        mlflow.start_run(log_system_metrics=True) as run,
        mlflow.start_run(run_id=run.info.run_id, nested=True, log_system_metrics=True),
    ):
        assert monitors() == before + 1

    assert flavours._monitors == {}
    assert monitors() == before


def test_system_metrics_without_psutil_warn_once_and_the_runs_go_on(
    system_metrics_switches: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # as if psutil were not installed
    monkeypatch.setattr(flavours, "_warned", set())
    mlflow.set_tracking_uri("memory:")

    for _ in range(2):
        with mlflow.start_run(log_system_metrics=True) as run:
            mlflow.log_metric("m", 1.0)

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "psutil" in warnings[0] and "pip install psutil" in warnings[0]
    assert mlflow.get_run(run.info.run_id).info.status == "FINISHED"


def test_a_bad_system_metrics_switch_is_refused_before_a_run_is_written(
    system_metrics_switches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_tracking_uri("memory:")
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "yes")

    with pytest.raises(MlflowException, match="MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING") as raised:
        mlflow.start_run()

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []
    assert mlflow.active_run() is None


def test_mlflow_follows_our_run_stack_and_never_ends_our_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "memory:")
    mlflow.set_experiment("followed")
    with mlflow.start_run() as outer:
        _ = mlflow.models.Model  # the first touch: mlflow mirrors the run that is already active
        assert real_mlflow.active_run().info.run_id == outer.info.run_id
        with mlflow.start_run(nested=True) as inner:
            assert real_mlflow.active_run().info.run_id == inner.info.run_id
        assert real_mlflow.active_run().info.run_id == outer.info.run_id
        assert real_mlflow.get_tracking_uri() == "genesis+memory:"
        assert real_mlflow.get_experiment(real_mlflow.tracking.fluent._get_experiment_id()).name == "followed"
    with pytest.raises(RuntimeError), mlflow.start_run() as failed:
        raise RuntimeError("boom")

    assert real_mlflow.active_run() is None
    # mlflow exports the URI it is given; the user's variable, which ours resolve from, stays.
    assert os.environ["MLFLOW_TRACKING_URI"] == mlflow.get_tracking_uri() == "memory:"
    assert mlflow.get_run(inner.info.run_id).info.status == "FINISHED"
    assert mlflow.get_run(failed.info.run_id).info.status == "FAILED"
    flavours.disconnect()
    with mlflow.start_run():
        assert real_mlflow.active_run() is None


def test_a_store_the_plugin_does_not_serve_is_refused_when_a_flavour_is_used() -> None:
    mlflow.set_tracking_uri("thirdparty://somewhere")

    with pytest.raises(MlflowException, match="does not serve 'thirdparty://somewhere'") as raised:
        _ = mlflow.models.infer_signature

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    # A function that touches no store is mlflow's own, whatever the store.
    assert mlflow.validate_evaluation_results is real_mlflow.validate_evaluation_results


def test_without_mlflow_a_flavour_fails_with_one_line_naming_the_extra() -> None:
    code = """
        import sys
        sys.modules["mlflow"] = None  # as if mlflow were not installed
        import genesis_flow
        print(hasattr(genesis_flow, "sklearn"), hasattr(genesis_flow, "evaluate"), flush=True)
        genesis_flow.set_tracking_uri("memory:")
        with genesis_flow.start_run(log_system_metrics=True) as run:
            pass
        print(genesis_flow.get_run(run.info.run_id).info.status, flush=True)
        genesis_flow.sklearn.log_model
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )

    assert done.stdout.split() == ["False", "False", "FINISHED"]
    assert "During handling" not in done.stderr
    assert "System metrics are not logged: they need mlflow" in done.stderr  # and the run went on
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("genesis_flow.entrypoints.api.flavours.FlavourUnavailable: genesis_flow.sklearn")
    assert "pip install" in last and "[mlflow] extra" in last
