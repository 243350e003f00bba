"""The demo's registered model is a real one: its files download, real mlflow loads it through the
plugin and predicts, and a version whose source holds nothing is an error, not an empty folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import genesis_flow.artifacts
from genesis_flow import MlflowClient
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli import main
from genesis_flow.entrypoints.demo_model import _load_pyfunc
from genesis_flow.exceptions import MlflowException
from tests.integration.api_state import clean_state  # noqa: F401 - autouse fixture

CHAMPION = "models:/genesis-demo-classifier@champion"
# Points on either side of the demo classifier's line x1 + x2 = 1.
POINTS, CLASSES = [[0.2, 0.3], [0.9, 0.6], [0.1, 0.1], [1.0, 1.0]], [0, 1, 0, 1]


@pytest.fixture
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """A SQLite store in tmp_path (artifacts below it too) after one `genesis demo`."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/demo.db"
    assert main(["demo", "--uri", uri]) == 0
    capsys.readouterr()
    return uri


def test_demo_model_downloads_with_its_files(demo_store: str, tmp_path: Path) -> None:
    path = Path(
        genesis_flow.artifacts.download_artifacts(
            CHAMPION, dst_path=str(tmp_path / "out"), tracking_uri=demo_store
        )
    )

    assert {"MLmodel", "weights.json"} <= {p.name for p in path.iterdir()}
    assert "genesis_flow.entrypoints.demo_model" in (path / "MLmodel").read_text()
    assert _load_pyfunc(str(path / "weights.json")).predict(POINTS) == CLASSES


def test_demo_ends_with_the_next_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/demo.db"
    assert main(["demo", "--uri", uri]) == 0
    steps = capsys.readouterr().out.split("Next steps:", 1)[1]

    assert f"genesis ui --uri {uri}" in steps
    assert "import genesis_flow as mlflow" in steps and "mlflow.start_run()" in steps
    assert f'mlflow.set_tracking_uri("{uri}")' in steps and "mlflow.pyfunc.load_model" in steps
    assert CHAMPION in steps


@pytest.mark.parametrize("source", ["{root}/never-written", "runs:/{run_id}/never-written"])
@pytest.mark.parametrize("destination", [None, "busy", "new"])
def test_download_of_a_version_whose_source_holds_nothing_raises_resource_does_not_exist(
    tmp_path: Path, source: str, destination: str | None
) -> None:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/t.db")
    run = client.create_run("0")
    client.create_registered_model("m")
    client.create_model_version(
        "m", source.format(root=run.info.artifact_uri, run_id=run.info.run_id), run.info.run_id
    )
    # A folder of the user's that already holds files must not pass for the downloaded model.
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("mine")
    dst_path = str(tmp_path / destination) if destination else None

    with pytest.raises(MlflowException) as caught:
        genesis_flow.artifacts.download_artifacts(
            "models:/m/1", dst_path=dst_path, tracking_uri=f"sqlite:///{tmp_path}/t.db"
        )

    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "models:/m/1" in caught.value.message
    assert not (tmp_path / "new").exists()  # a failed download makes no folder


def test_download_of_a_version_whose_source_is_one_file_gives_the_file(tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/t.db")
    run_id = client.create_run("0").info.run_id
    client.log_text(run_id, "weights", "model.bin")
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{run_id}/model.bin", run_id)

    local = genesis_flow.artifacts.download_artifacts(
        "models:/m/1", tracking_uri=f"sqlite:///{tmp_path}/t.db"
    )

    assert Path(local).read_text() == "weights"


def test_download_of_a_logged_model_without_files_raises_resource_does_not_exist(tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/t.db")
    model = client.create_logged_model("0", name="empty")

    with pytest.raises(MlflowException) as caught:  # MLflow 3.17.2's code for this call
        genesis_flow.artifacts.download_artifacts(
            f"models:/{model.model_id}", tracking_uri=f"sqlite:///{tmp_path}/t.db"
        )

    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_download_of_a_missing_run_path_raises_resource_does_not_exist(tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/t.db")
    run_id = client.create_run("0").info.run_id

    with pytest.raises(MlflowException) as caught:  # MLflow 3.17.2's code for this call
        genesis_flow.artifacts.download_artifacts(
            f"runs:/{run_id}/missing", tracking_uri=f"sqlite:///{tmp_path}/t.db"
        )

    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture
def real_mlflow(demo_store: str) -> Iterator[object]:
    mlflow = pytest.importorskip("mlflow", reason="real mlflow loads the model (the mlflow extra)")
    plugin = bootstrap.plugin_uri(demo_store)
    assert plugin is not None
    mlflow.set_tracking_uri(plugin)
    try:
        yield mlflow
    finally:
        mlflow.set_tracking_uri(None)


def test_real_mlflow_loads_the_demo_model_through_the_plugin_and_predicts(real_mlflow: object) -> None:
    loaded = real_mlflow.pyfunc.load_model(CHAMPION)  # type: ignore[attr-defined]

    assert list(loaded.predict(POINTS)) == CLASSES
