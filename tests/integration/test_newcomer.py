"""A newcomer's first hour, end to end, on a fresh virtual environment: install the checkout as the
README says (with the mlflow extra, a regular non-editable install), then, in an empty folder with
no tracking URI configured, the demo, a script logging YAML, `genesis ui` answering MLflow's REST
API, and the CLI commands. One venv for the module (the install is most of the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from genesis_flow.entrypoints.extras import DISTRIBUTION
from tests.integration.servers import free_port, serve

ROOT = Path(__file__).resolve().parents[2]
# `mlflow server` needs a few seconds to start on a busy machine; this bounds a hang, not a speed.
UI_START_LIMIT_S = 180.0

pytestmark = pytest.mark.slow


class Newcomer(NamedTuple):
    python: Path
    genesis: Path
    folder: Path  # the empty working folder: ./genesis.db lands here
    env: dict[str, str]  # no tracking or registry URI anywhere

    def run(self, argv: Sequence[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, cwd=self.folder, env=self.env, **kwargs
        )


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Newcomer:
    base = tmp_path_factory.mktemp("newcomer")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The README's command (`pip install '.[mlflow]'`), pinned as CI pins every install.
    pip: list[str | Path] = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    install = subprocess.run(
        [*pip, "-c", str(ROOT / "constraints.txt"), f"{ROOT}[mlflow]"],
        capture_output=True,
        text=True,
        cwd=base,
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"no package index reachable for a fresh install: {install.stderr.strip()[-200:]}")
    assert install.returncode == 0, install.stderr
    folder = base / "work"
    folder.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if not k.endswith(("_TRACKING_URI", "_REGISTRY_URI"))}
    user = Newcomer(python, env_dir / "bin" / "genesis", folder, clean_env)
    # Twice: the data lands in ./genesis.db and survives the process.
    for session in (1, 2):
        demo = user.run([user.genesis, "demo"])
        assert demo.returncode == 0, demo.stderr
        assert demo.stdout.count("FINISHED") == 4 * session, demo.stdout
        assert "learning_rate" in demo.stdout
    assert "genesis-demo-classifier version 2" in demo.stdout, "the second session registers version 2"
    assert (folder / "genesis.db").is_file()
    return user


def test_version_names_the_distribution(newcomer: Newcomer) -> None:
    code = f"import importlib.metadata as m; print(m.version({DISTRIBUTION!r}))"
    version = newcomer.run([newcomer.python, "-c", code])
    assert version.returncode == 0, version.stderr
    shown = newcomer.run([newcomer.genesis, "--version"])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"genesis, version {version.stdout.strip()}"


def test_a_script_logs_and_reads_back_yaml(newcomer: Newcomer) -> None:
    script = textwrap.dedent(
        """
        import json
        import genesis_flow as mlflow

        with mlflow.start_run() as run:
            mlflow.log_param("lr", 0.1)
            mlflow.log_metric("loss", 0.5)
            mlflow.log_dict({"layers": [64, 32], "name": "r\\u00e9seau"}, "config.yaml")
        data = mlflow.get_run(run.info.run_id).data
        print(json.dumps({
            "params": data.params,
            "metrics": data.metrics,
            "config": mlflow.artifacts.load_dict(run.info.artifact_uri + "/config.yaml"),
            "text": mlflow.artifacts.load_text(run.info.artifact_uri + "/config.yaml"),
        }))
        """
    )
    result = newcomer.run([newcomer.python, "-c", script])
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["params"] == {"lr": "0.1"} and seen["metrics"] == {"loss": 0.5}
    assert seen["config"] == {"layers": [64, 32], "name": "r\u00e9seau"}
    assert seen["text"].startswith("layers:"), "written as YAML, not JSON"


def _post(base: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_genesis_ui_serves_the_default_store_over_mlflows_rest_api(newcomer: Newcomer) -> None:
    port = free_port()
    command = [str(newcomer.genesis), "ui", "--port", str(port)]
    with serve(command, newcomer.folder, newcomer.env, port, timeout_s=UI_START_LIMIT_S) as (base, _logs):
        experiments = _post(base, "/api/2.0/mlflow/experiments/search", {"max_results": 100})["experiments"]
        demo = next(e for e in experiments if e["name"] == "genesis-demo")
        runs = _post(base, "/api/2.0/mlflow/runs/search", {"experiment_ids": [demo["experiment_id"]]})["runs"]
        assert len(runs) == 8, "both demo sessions' runs"
        assert {r["info"]["run_name"] for r in runs} == {"lr-0.01", "lr-0.03", "lr-0.1", "lr-0.3"}


# The commands a newcomer types after the demo, and a text each must print. A new command's step
# is one line here: (argv after `genesis`, expected text in its output).
CLI_STEPS: list[tuple[tuple[str, ...], str]] = [
    (("experiments", "list"), "genesis-demo"),
    (("runs", "list", "--experiment", "genesis-demo"), "lr-0.03"),
    (("models", "show", "genesis-demo-classifier"), "champion"),
    (("doctor",), "PASS connectivity"),
    (("doctor",), "PASS artifact root"),
    (("experiments", "show", "genesis-demo"), "genesis-demo"),
    (("runs", "list", "-e", "genesis-demo", "-n", "2", "--json"), '"run_name"'),
    (("--uri", "sqlite:///genesis.db", "runs", "list", "-e", "genesis-demo"), "lr-0.3"),
    (("models", "versions", "genesis-demo-classifier"), "champion"),
    (("gc", "--dry-run"), "would remove 0 run(s)"),
]


@pytest.mark.parametrize(("argv", "expected"), CLI_STEPS, ids=[" ".join(argv) for argv, _ in CLI_STEPS])
def test_cli_step(newcomer: Newcomer, argv: tuple[str, ...], expected: str) -> None:
    result = newcomer.run([newcomer.genesis, *argv])
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected in result.stdout, result.stdout


def test_the_wheel_installs_one_top_level_package(newcomer: Newcomer) -> None:
    site = newcomer.run(
        [newcomer.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True
    ).stdout.strip()
    installed = {p.name for p in Path(site).iterdir() if (p / "__init__.py").exists()}
    ours = {"genesis_flow", "adapters", "entrypoints", "ports", "genesis_core"} & installed
    assert ours == {"genesis_flow"}
    assert sys.version_info >= (3, 10)


def _champion_run_id(newcomer: Newcomer) -> str:
    shown = newcomer.run([newcomer.genesis, "models", "show", "genesis-demo-classifier", "--json"])
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    champion = document["aliases"]["champion"]
    run_id: str = next(v["run_id"] for v in document["latest_versions"] if v["version"] == champion)
    return run_id


def test_short_run_ids_reach_the_champion_run_its_history_and_model(newcomer: Newcomer) -> None:
    run_id = _champion_run_id(newcomer)
    short = run_id[:8]  # as `genesis demo` and the tables print it
    shown = newcomer.run([newcomer.genesis, "runs", "show", short, "--json"])
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["info"]["run_id"] == run_id
    history = newcomer.run([newcomer.genesis, "runs", "history", short, "loss", "--json"])
    assert history.returncode == 0, history.stderr
    assert [point["step"] for point in json.loads(history.stdout)] == [0, 1, 2, 3, 4]
    listed = newcomer.run([newcomer.genesis, "runs", "artifacts", short, "model"])
    assert listed.returncode == 0, listed.stderr
    assert "MLmodel" in listed.stdout
    fetched = newcomer.run([newcomer.genesis, "runs", "download", short, "model", "-d", "fetched"])
    assert fetched.returncode == 0, fetched.stderr
    assert (newcomer.folder / "fetched" / "model" / "MLmodel").is_file()


def test_the_demo_model_loads_through_genesis_flow_and_predicts(newcomer: Newcomer) -> None:
    script = textwrap.dedent(
        """
        import json, os
        import genesis_flow as mlflow

        folder = mlflow.artifacts.download_artifacts("models:/genesis-demo-classifier@champion")
        model = mlflow.pyfunc.load_model("models:/genesis-demo-classifier@champion")
        print(json.dumps({
            "files": sorted(os.listdir(folder)),
            "predictions": [int(p) for p in model.predict([[0.2, 0.3], [0.9, 0.6]])],
        }))
        """
    )
    result = newcomer.run([newcomer.python, "-c", script])
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "MLmodel" in seen["files"]
    assert len(seen["predictions"]) == 2 and set(seen["predictions"]) <= {0, 1}


def test_an_mlflow_users_folder_is_noticed_and_migrated_with_its_artifacts(newcomer: Newcomer) -> None:
    folder = newcomer.folder.parent / "mlflow-user"
    folder.mkdir()
    mlflow_user = newcomer._replace(folder=folder)
    # What real mlflow writes with no URI configured: ./mlflow.db and ./mlruns.
    script = textwrap.dedent(
        """
        import mlflow
        with mlflow.start_run() as run:
            mlflow.log_param("alpha", "0.5")
            mlflow.log_text("hello", "notes/hello.txt")
        print(run.info.run_id)
        """
    )
    logged = mlflow_user.run([newcomer.python, "-c", script])
    assert logged.returncode == 0, logged.stderr
    run_id = logged.stdout.strip().splitlines()[-1]
    assert (folder / "mlflow.db").is_file() and (folder / "mlruns").is_dir()

    listed = mlflow_user.run([newcomer.genesis, "experiments", "list"])
    assert listed.returncode == 0, listed.stderr
    assert "genesis migrate --from ./mlflow.db" in listed.stderr, "the MLflow data is not silently hidden"

    migrated = mlflow_user.run([newcomer.genesis, "migrate", "--from", "./mlflow.db", "--artifacts"])
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "verification: OK" in migrated.stdout
    shown = mlflow_user.run([newcomer.genesis, "runs", "show", run_id[:8], "--json"])
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["params"] == {"alpha": "0.5"}
    artifact_uri = document["info"]["artifact_uri"]
    assert "mlruns" not in artifact_uri, "the copied run points at the copies, not into the source"
    files = mlflow_user.run([newcomer.genesis, "runs", "artifacts", run_id[:8], "notes"])
    assert files.returncode == 0, files.stderr
    assert "hello.txt" in files.stdout
