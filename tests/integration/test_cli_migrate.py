"""`genesis migrate`: round trips through every backend, MLflow's own stores as sources, a
migration interrupted half way and restarted, dry runs and bad sources.

PostgreSQL and MongoDB legs need ``GENESIS_TEST_SQL_POSTGRES_URI`` / ``GENESIS_TEST_MONGO_URI``;
without them the leg is skipped with its reason, unless ``GENESIS_REQUIRED_BACKENDS`` lists
``sql-postgres`` / ``mongo`` (then it fails).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner, Result

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from genesis_flow.core.errors import RunNotFound
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag
from genesis_flow.entrypoints.bootstrap import build_registry_store, build_tracking_store, reset_memory_stores
from genesis_flow.entrypoints.cli import app
from genesis_flow.entrypoints.extras import install_hint
from genesis_flow.entrypoints.migration import (
    canonical_experiment,
    canonical_model,
    canonical_version,
    open_destination,
    open_source,
    store_checksums,
)
from tests.contract.backends import required_backends


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app(), list(args))


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    reset_memory_stores()
    yield
    reset_memory_stores()


def _required(backend_id: str) -> bool:
    return backend_id in required_backends()


def _server_uri(backend_id: str, variable: str) -> str | None:
    uri = os.environ.get(variable)
    if not uri:
        reason = f"{variable} is not set: the {backend_id} leg is skipped"
        if _required(backend_id):
            pytest.fail(f"{reason} (GENESIS_REQUIRED_BACKENDS lists {backend_id})", pytrace=False)
        print(f"SKIPPED leg {backend_id}: {reason}")
        return None
    return uri


@pytest.fixture
def mongo_uri() -> Iterator[str | None]:
    uri = _server_uri("mongo", "GENESIS_TEST_MONGO_URI")
    if uri is None:
        yield None
        return
    name = f"genesis_migrate_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(uri)
    yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    reset_memory_stores()
    import pymongo

    client: Any = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    client.drop_database(name)
    client.close()


@pytest.fixture
def postgres_uri() -> Iterator[str | None]:
    uri = _server_uri("sql-postgres", "GENESIS_TEST_SQL_POSTGRES_URI")
    if uri is None:
        yield None
        return
    import sqlalchemy as sa

    from genesis_flow.adapters.sql.database import normalize_uri

    schema = f"genesis_migrate_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(normalize_uri(uri))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in uri else "?"
    yield f"{uri}{separator}options=-csearch_path%3D{schema}"
    reset_memory_stores()
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


# --- seed data -------------------------------------------------------------------------------------


def seed(uri: str) -> None:
    """Experiments (one deleted), nested and deleted runs, NaN/inf metric histories, datasets, a
    registry with stages, tags, descriptions and aliases."""
    tracking = build_tracking_store(uri)
    registry = build_registry_store(uri)
    exp = tracking.create_experiment("migrate-a", tags=[ExperimentTag("team", "vision")])
    gone = tracking.create_experiment("migrate-gone")
    parent = tracking.create_run(exp, "alice", 1_700_000_000_000, run_name="parent")
    child = tracking.create_run(
        exp,
        "alice",
        1_700_000_001_000,
        run_name="child",
        tags=[RunTag("mlflow.parentRunId", parent.info.run_id)],
    )
    ts = 1_700_000_002_000
    tracking.log_batch(
        parent.info.run_id,
        metrics=[
            Metric("loss", 1.0, ts, 0),
            Metric("loss", 0.5, ts + 1, 1),
            Metric("loss", float("nan"), ts + 2, 2),
            Metric("gain", float("inf"), ts, 0),
            Metric("gain", float("-inf"), ts + 1, 1),
            Metric("zero", -0.0, ts, 0),
        ],
        params=[Param("lr", "0.1"), Param("layers", "3")],
        tags=[RunTag("note", "has [brackets]")],
    )
    tracking.log_inputs(
        parent.info.run_id,
        datasets=[
            DatasetInput(
                Dataset("iris", "d1g3st", "local", '{"uri": "iris.csv"}', schema='{"a": 1}', profile="{}"),
                tags=(InputTag("mlflow.data.context", "training"),),
            )
        ],
    )
    tracking.log_metric(child.info.run_id, Metric("acc", 0.9, ts, 0))
    tracking.update_run_info(parent.info.run_id, RunStatus.FINISHED, end_time=ts + 10)
    tracking.update_run_info(child.info.run_id, RunStatus.FAILED, end_time=ts + 11)
    deleted = tracking.create_run(exp, "bob", ts, run_name="deleted-run")
    tracking.log_param(deleted.info.run_id, Param("x", "1"))
    tracking.delete_run(deleted.info.run_id)
    in_gone = tracking.create_run(gone, "carol", ts, run_name="in-deleted-experiment")
    tracking.log_metric(in_gone.info.run_id, Metric("m", 2.0, ts, 5))
    tracking.delete_experiment(gone)
    default_run = tracking.create_run("0", "dave", ts, run_name="in-default")
    tracking.log_metric(default_run.info.run_id, Metric("m", 3.0, ts, 0))

    registry.create_registered_model("migrate-model", [RegisteredModelTag("owner", "ml")], "a model")
    for run in (parent, child, parent):
        registry.create_model_version(
            "migrate-model",
            f"{run.info.artifact_uri}/model",
            run_id=run.info.run_id,
            tags=[ModelVersionTag("v", "t")],
            description="version",
        )
    registry.transition_model_version_stage("migrate-model", 1, "Staging")
    registry.transition_model_version_stage("migrate-model", 2, "Production")
    registry.set_registered_model_alias("migrate-model", "champion", 2)
    registry.set_registered_model_alias("migrate-model", "old", 1)
    registry.delete_model_version("migrate-model", 3)
    registry.create_registered_model("migrate-empty")


def snapshot(uri: str) -> dict[str, Any]:
    reader = open_destination(uri)
    models = list(reader.registered_models())
    return {
        "runs": store_checksums(reader),
        "experiments": sorted(str(canonical_experiment(e)) for e in reader.experiments()),
        "models": sorted(str(canonical_model(m)) for m in models),
        "versions": sorted(str(canonical_version(v)) for m in models for v in reader.model_versions(m)),
    }


def migrate_ok(source: str, destination: str, *extra: str) -> Result:
    result = invoke("migrate", "--from", source, "--to", destination, *extra)
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "verification: OK" in result.output
    return result


# --- tests -----------------------------------------------------------------------------------------


def test_round_trip_through_every_backend_keeps_the_data(
    tmp_path: Path, mongo_uri: str | None, postgres_uri: str | None
) -> None:
    seed("memory:")
    before = snapshot("memory:")
    assert len(before["runs"]) == 5
    assert any("nan" in str(v) for v in before["versions"]) is False

    legs = [f"sqlite:///{tmp_path}/a.db"]
    if mongo_uri is not None:
        legs.append(mongo_uri)
    if postgres_uri is not None:
        legs.append(postgres_uri)
    previous = "memory:"
    for uri in legs:
        result = migrate_ok(previous, uri)
        assert "runs" in result.output
        assert snapshot(uri) == before, f"{previous} -> {uri}"
        previous = uri
    pg_password = urlsplit(postgres_uri or "").password
    reset_memory_stores()  # the last leg goes back to a fresh memory: store
    result = migrate_ok(previous, "memory:")
    if pg_password:
        assert pg_password not in result.output + result.stderr
    assert snapshot("memory:") == before
    # A second run skips everything and still verifies.
    again = migrate_ok(previous, "memory:")
    assert "skipped" in again.output
    assert snapshot("memory:") == before


def _mlflow_seed(mlflow: Any, tracking_uri: str) -> tuple[list[str], dict[str, Any]]:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType as MlflowViewType

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    experiment_id = mlflow.create_experiment("from-mlflow", tags={"origin": "mlflow"})
    with mlflow.start_run(experiment_id=experiment_id, run_name="outer") as outer:
        mlflow.log_params({"lr": "0.01", "epochs": "3"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("weird", float("nan"))
        mlflow.set_tag("stage", "dev")
        import numpy as np

        mlflow.log_input(mlflow.data.from_numpy(np.array([1, 2, 3]), name="arr"), context="training")
        with mlflow.start_run(experiment_id=experiment_id, run_name="inner", nested=True):
            mlflow.log_metric("acc", 0.75)
    with mlflow.start_run(experiment_id=experiment_id, run_name="to-delete") as doomed:
        mlflow.log_param("p", "q")
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    client.delete_run(doomed.info.run_id)
    client.create_registered_model("mlflow-model", tags={"k": "v"}, description="desc")
    version = client.create_model_version(
        "mlflow-model", f"{outer.info.artifact_uri}/model", run_id=outer.info.run_id
    )
    client.transition_model_version_stage("mlflow-model", version.version, "Production")
    client.set_registered_model_alias("mlflow-model", "prod", version.version)
    frame = mlflow.search_runs(experiment_ids=[experiment_id], run_view_type=MlflowViewType.ALL)
    run_ids = sorted(frame["run_id"])
    return run_ids, {"experiment_id": experiment_id, "outer": outer.info.run_id}


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_from_mlflow_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses to write one otherwise
    source = f"file://{tmp_path}/mlruns" if kind == "file" else f"sqlite:///{tmp_path}/mlflow.db"
    run_ids, seeded = _mlflow_seed(mlflow, source)
    if kind == "file":
        source = str(tmp_path / "mlruns")  # a plain path works too
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")  # the migration reads a file store without it

    destination = f"sqlite:///{tmp_path}/ours.db"
    result = migrate_ok(source, destination)
    assert "runs" in result.output

    ours = build_tracking_store(destination)
    page = ours.search_runs([seeded["experiment_id"]], run_view_type=ViewType.ALL)
    assert sorted(r.info.run_id for r in page.items) == run_ids
    outer = ours.get_run(seeded["outer"])
    assert outer.data.params_dict == {"lr": "0.01", "epochs": "3"}
    history = ours.get_metric_history(seeded["outer"], "loss").items
    assert [m.value for m in history] == [1.0, 0.5, 1.0 / 3]
    assert math.isnan(outer.data.metrics_dict["weird"])
    assert [d.dataset.name for d in outer.inputs.dataset_inputs] == ["arr"]
    registry = build_registry_store(destination)
    model = registry.get_registered_model("mlflow-model")
    assert model.description == "desc" and model.tags_dict == {"k": "v"}
    assert registry.get_model_version_by_alias("mlflow-model", "prod").current_stage.value == "Production"
    # `genesis runs list` shows the runs `mlflow.search_runs` showed.
    listed = invoke(
        "runs",
        "list",
        "--uri",
        destination,
        "--experiment",
        seeded["experiment_id"],
        "--view",
        "all",
        "--json",
    )
    assert listed.exit_code == 0, listed.output
    assert sorted(row["run_id"] for row in json.loads(listed.stdout)) == run_ids
    # Same data as MLflow reads it: checksums of both sides agree.
    assert store_checksums(open_source(source)) == {
        k: v for k, v in store_checksums(open_destination(destination)).items() if k in run_ids
    }


def test_interrupted_migration_resumes_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesis_flow.adapters.sql import SqlTrackingStore

    seed("memory:")
    for i in range(6):
        run = build_tracking_store("memory:").create_run("0", "eve", 1_700_000_000_000 + i, run_name=f"r{i}")
        build_tracking_store("memory:").log_metric(run.info.run_id, Metric("m", float(i), 1, i))
    destination = f"sqlite:///{tmp_path}/resume.db"
    original: Callable[..., None] = SqlTrackingStore.import_run
    calls = {"n": 0}

    def flaky(self: SqlTrackingStore, run: Any, history: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 4:
            raise RuntimeError("killed half way")
        original(self, run, history)

    monkeypatch.setattr(SqlTrackingStore, "import_run", flaky)
    broken = invoke("migrate", "--from", "memory:", "--to", destination)
    assert broken.exit_code == 1
    assert broken.stderr.strip().count("\n") == 0 and "killed half way" in broken.stderr
    assert len(build_tracking_store(destination).search_runs(["0"], run_view_type=ViewType.ALL).items) <= 4

    monkeypatch.setattr(SqlTrackingStore, "import_run", original)
    result = migrate_ok("memory:", destination)
    runs_line = result.output.splitlines()[3].split()
    assert runs_line[0] == "runs" and runs_line[-1] == "4"  # skipped: the four written before
    assert snapshot(destination) == snapshot("memory:")
    runs = store_checksums(open_destination(destination))
    assert len(runs) == 11


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    seed("memory:")
    target = tmp_path / "never.db"
    result = invoke("migrate", "--from", "memory:", "--to", f"sqlite:///{target}", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would copy" in result.output
    assert not target.exists()
    # The real stores and counts: the source's, and the (missing, so empty) destination's.
    assert result.output.splitlines()[0] == f"dry run: memory: -> sqlite:///{target}"
    runs = next(line.split() for line in result.output.splitlines() if line.startswith("runs "))
    assert runs == ["runs", "5", "0", "5", "0"]

    existing = f"sqlite:///{tmp_path}/existing.db"
    build_tracking_store(existing)  # an empty database of ours
    before = snapshot(existing)
    result = invoke("migrate", "--from", "memory:", "--to", existing, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[2:6]}
    assert lines["runs"][3] == "5" and lines["models"][3] == "2" and lines["versions"][3] == "2"
    assert lines["experiments"][1:3] == ["3", "1"]  # the destination holds its Default experiment
    assert snapshot(existing) == before


@pytest.mark.parametrize(("speed", "text"), [(None, ""), (0.0, ""), (12.34, "12.3/s")])
def test_the_progress_shows_no_rate_until_there_is_one(speed: float | None, text: str) -> None:
    from genesis_flow.entrypoints.cli.migrate import rate_text

    assert rate_text(speed) == text


def test_bad_source_is_one_line_and_exit_1(tmp_path: Path) -> None:
    for source in (str(tmp_path / "missing-mlruns"), f"sqlite:///{tmp_path}/missing.db", "nosuch://x"):
        result = invoke("migrate", "--from", source, "--to", "memory:")
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("genesis: error: ")
        assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / "missing.db").exists()


def test_password_never_printed(tmp_path: Path) -> None:
    result = invoke("migrate", "--from", "postgresql://u:s3cret@127.0.0.1:1/db", "--to", "memory:")
    assert result.exit_code == 1
    assert "s3cret" not in result.output + result.stderr
    # An unreachable server is the stores' connectivity error, not a bad parameter with the
    # driver's text (SQLAlchemy's background link) in it.
    assert result.stderr.startswith("genesis: error: TEMPORARILY_UNAVAILABLE: Cannot reach the database")
    assert "sqlalche.me" not in result.stderr


def test_artifacts_are_copied_to_a_new_root(tmp_path: Path) -> None:
    source, exp, run_id, _source_root = _source_with_files(tmp_path)
    destination = f"sqlite:///{tmp_path}/files.db"
    new_root = tmp_path / "new"
    migrate_ok(source, destination, "--artifacts", "--artifact-root", str(new_root))
    copied = build_tracking_store(destination).get_run(run_id)
    assert copied.info.artifact_uri == f"{new_root}/{exp}/{run_id}/artifacts"
    assert (Path(copied.info.artifact_uri) / "sub" / "a.txt").read_text() == "hello"
    assert (Path(copied.info.artifact_uri) / "b.bin").read_bytes() == b"\x00\x01"


def _source_with_files(tmp_path: Path) -> tuple[str, str, str, Path]:
    """A SQLite store of ours with one run holding two files: (uri, experiment id, run id, the
    run's source folder)."""
    source = f"sqlite:///{tmp_path}/files-source.db"
    tracking = build_tracking_store(source, artifact_root=str(tmp_path / "old"))
    exp = tracking.create_experiment("with-files")
    run = tracking.create_run(exp, "u", 1)
    source_root = Path(run.info.artifact_uri)
    (source_root / "sub").mkdir(parents=True)
    (source_root / "sub" / "a.txt").write_text("hello")
    (source_root / "b.bin").write_bytes(b"\x00\x01")
    return source, exp, run.info.run_id, source_root


@pytest.mark.parametrize("root", [None, "./copies"], ids=["destination-root", "relative-root"])
def test_artifacts_go_under_the_destinations_root_by_default_with_absolute_uris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: str | None
) -> None:
    monkeypatch.chdir(tmp_path)
    source, exp, run_id, source_root = _source_with_files(tmp_path)
    destination = f"sqlite:///{tmp_path}/files.db"
    result = migrate_ok(source, destination, "--artifacts", *(["--artifact-root", root] if root else []))
    expected_root = tmp_path / ("copies" if root else "genesis-artifacts")
    assert f"artifacts: 2 file(s) copied and checked under {expected_root}" in result.output
    tracking = build_tracking_store(destination)
    copied = tracking.get_run(run_id)
    assert copied.info.artifact_uri == f"{expected_root}/{exp}/{run_id}/artifacts"
    assert tracking.get_experiment(exp).artifact_location == f"{expected_root}/{exp}"
    assert (Path(copied.info.artifact_uri) / "sub" / "a.txt").read_text() == "hello"
    assert (source_root / "sub" / "a.txt").read_text() == "hello"  # the source is left as it was


def test_a_copy_that_differs_from_the_source_fails_naming_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesis_flow.adapters.blob.local import LocalArtifactStore

    source, _exp, run_id, _root = _source_with_files(tmp_path)
    destination = f"sqlite:///{tmp_path}/files.db"
    original = LocalArtifactStore.log_artifacts

    def loses_a_file(self: LocalArtifactStore, local_dir: str, artifact_path: str | None = None) -> None:
        original(self, local_dir, artifact_path)
        self.delete_artifacts("b.bin")

    monkeypatch.setattr(LocalArtifactStore, "log_artifacts", loses_a_file)
    result = invoke("migrate", "--from", source, "--to", destination, "--artifacts")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("genesis: error: INVALID_STATE: ") and run_id in result.stderr
    assert "'b.bin'" in result.stderr and result.stderr.count("\n") == 1
    with pytest.raises(RunNotFound):  # never written pointing at an incomplete copy
        build_tracking_store(destination).get_run(run_id)


def test_without_artifacts_the_summary_says_runs_point_at_the_source(tmp_path: Path) -> None:
    source, _exp, run_id, source_root = _source_with_files(tmp_path)
    destination = f"sqlite:///{tmp_path}/files.db"
    result = migrate_ok(source, destination)
    assert "the runs point at the source's artifact files" in result.output
    assert build_tracking_store(destination).get_run(run_id).info.artifact_uri == str(source_root)
    refused = invoke("migrate", "--from", source, "--to", destination, "--artifact-root", "x")
    assert refused.exit_code == 1 and "--artifact-root needs --artifacts" in refused.stderr


def test_to_defaults_to_the_commands_store_and_from_takes_a_database_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("GENESIS_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    source_store = build_tracking_store(f"sqlite:///{tmp_path}/mlflow.db")
    run_id = source_store.create_run("0", "u", 1).info.run_id
    result = invoke("migrate", "--from", "./mlflow.db")
    assert result.exit_code == 0, (result.output, result.stderr)
    assert result.stderr == ""  # no note pointing at the migration being run
    assert build_tracking_store(f"sqlite:///{tmp_path}/genesis.db").get_run(run_id).info.run_id == run_id
    result = invoke("--uri", f"sqlite:///{tmp_path}/global.db", "migrate", "--from", "./mlflow.db")
    assert result.exit_code == 0, (result.output, result.stderr)
    assert build_tracking_store(f"sqlite:///{tmp_path}/global.db").get_run(run_id).info.run_id == run_id


def test_mlflow_source_without_mlflow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if MLflow were not installed
    result = invoke("migrate", "--from", str(tmp_path / "mlruns"), "--to", "memory:")
    assert result.exit_code == 1
    assert install_hint("mlflow") in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_a_migration_killed_mid_way_finishes_on_the_next_run_without_duplicates(tmp_path: Path) -> None:
    # A real kill (SIGKILL, no cleanup) of a `genesis migrate` process, then the same command again.
    source = f"sqlite:///{tmp_path}/source.db"
    store = build_tracking_store(source)
    total = 1500
    for i in range(total):
        run = store.create_run("0", "eve", 1_700_000_000_000 + i, run_name=f"r{i}")
        store.log_batch(
            run.info.run_id, [Metric("m", float(i), 1, s) for s in range(3)], [Param("i", str(i))]
        )
    destination = f"sqlite:///{tmp_path}/destination.db"
    genesis = [
        os.path.join(os.path.dirname(sys.executable), "genesis"),
        "migrate",
        "--from",
        source,
        "--to",
        destination,
    ]
    process = subprocess.Popen(
        genesis, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        done = (
            len(build_tracking_store(destination).search_runs(["0"], max_results=5000).items)
            if Path(tmp_path / "destination.db").exists()
            else 0
        )
        if done >= 50:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = len(build_tracking_store(destination).search_runs(["0"], max_results=5000).items)
    assert 0 < written < total, f"the kill should land mid-way ({written} of {total} runs written)"

    result = migrate_ok(source, destination)  # verification inside: counts and checksums agree
    assert "verified" in result.output.lower() or result.exit_code == 0
    runs = build_tracking_store(destination).search_runs(["0"], max_results=5000).items
    assert len(runs) == total and len({r.info.run_id for r in runs}) == total
