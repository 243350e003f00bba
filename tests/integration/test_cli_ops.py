"""`genesis doctor`, `genesis gc` and `genesis ui` through Click's runner."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result

from genesis_flow.adapters.sql.migrations import SCHEMA_VERSION
from genesis_flow.core.entities import LifecycleStage, Run, RunInfo, RunStatus, ViewType
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli import app
from genesis_flow.entrypoints.cli.ops import (
    mlflow_server_argv,
    mlflow_server_env,
    parse_duration_ms,
    ui_refusal,
)
from genesis_flow.entrypoints.extras import install_hint
from tests.contract.backends import required_backends

DAY_MS = 86_400_000
SECRET_URI = "mongodb://u:secret@127.0.0.1:1/x?serverSelectionTimeoutMS=300"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app(), list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in bootstrap.TRACKING_URI_VARS + bootstrap.REGISTRY_URI_VARS:
        monkeypatch.delenv(name, raising=False)
    bootstrap.reset_memory_stores()
    yield
    bootstrap.reset_memory_stores()


# --- doctor ------------------------------------------------------------------------------------------


def _sqlite_store(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path}/doctor.db"
    bootstrap.build_tracking_store(uri).create_experiment("kept")
    return uri


def test_doctor_passes_on_a_sqlite_store_and_leaves_no_trace(tmp_path: Path) -> None:
    uri = _sqlite_store(tmp_path)
    before = _sqlite_dump(tmp_path / "doctor.db")
    result = invoke("doctor", "--uri", uri)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines and all(line.startswith("PASS ") for line in lines if "cosmos" not in line)
    assert "SKIP cosmos: not Cosmos DB" in lines
    current = f"schema version: found {SCHEMA_VERSION}, expected {SCHEMA_VERSION}"
    for check in ("connectivity", "server version: SQLite", current, "probe"):
        assert check in result.output
    assert _sqlite_dump(tmp_path / "doctor.db") == before


def _sqlite_dump(path: Path) -> list[str]:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def test_doctor_json_lists_every_check(tmp_path: Path) -> None:
    result = invoke("doctor", "--uri", _sqlite_store(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {row["check"] for row in rows} >= {
        "connectivity",
        "server version",
        "schema version",
        "tables",
        "cosmos",
        "write/read/delete probe",
        "artifact root",
    }
    assert {row["check"] for row in rows if row["status"] != "PASS"} == {"cosmos"}


@pytest.mark.parametrize("prefix", ["", "genesis+"])
def test_doctor_names_the_uri_real_mlflow_opens_a_sql_store_with(prefix: str, tmp_path: Path) -> None:
    uri = prefix + _sqlite_store(tmp_path)
    result = invoke("doctor", "--uri", uri, "--json")
    assert result.exit_code == 0, result.output
    rows = {row["check"]: row for row in json.loads(result.output)}
    assert rows["schema version"]["status"] == "PASS"
    assert rows["mlflow uri"]["detail"].startswith(f"genesis+sqlite:///{tmp_path}/doctor.db ")


def test_doctor_fails_on_a_missing_sqlite_file_without_creating_it(tmp_path: Path) -> None:
    result = invoke("doctor", "--uri", f"sqlite:///{tmp_path}/absent.db")
    assert result.exit_code == 1
    assert "FAIL connectivity" in result.output
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("uri", ["memory:", "genesis+memory:"])
def test_doctor_on_memory_passes_and_skips_what_does_not_apply(uri: str) -> None:
    result = invoke("doctor", "--uri", uri)
    assert result.exit_code == 0, result.output
    assert "mlflow uri: genesis+memory: (inside one process only" in result.output
    rows = {
        row["check"]: row["status"] for row in json.loads(invoke("doctor", "--uri", uri, "--json").output)
    }
    skipped = {"server version", "schema version", "indexes", "cosmos", "write/read/delete probe"}
    assert {check for check, status in rows.items() if status == "SKIP"} == skipped
    assert rows["connectivity"] == rows["artifact root"] == "PASS"


def _artifact_root_row(*args: str) -> tuple[int, dict[str, str]]:
    result = invoke("doctor", "--uri", "memory:", "--json", *args)
    return result.exit_code, {row["check"]: row for row in json.loads(result.output)}["artifact root"]


def test_doctor_probes_a_writable_artifact_root_and_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "kept").mkdir(parents=True)
    code, row = _artifact_root_row("--artifact-root", str(root))
    assert code == 0 and row["status"] == "PASS" and "probe passed" in row["detail"], row
    assert sorted(p.name for p in root.iterdir()) == ["kept"]


def test_doctor_checks_the_default_artifact_root_without_creating_it(tmp_path: Path) -> None:
    code, row = _artifact_root_row()  # the working directory is tmp_path
    assert code == 0 and row["status"] == "PASS", row
    assert row["detail"].startswith(str(tmp_path / "genesis-artifacts")) and "first use" in row["detail"]
    assert not (tmp_path / "genesis-artifacts").exists()
    (tmp_path / "genesis-artifacts").mkdir()
    code, row = _artifact_root_row()
    assert "probe passed" in row["detail"] and not any((tmp_path / "genesis-artifacts").iterdir())


# Root writes into read-only folders: there the doctor runs as this unprivileged user instead.
_NOBODY = 65534


def _drop_privileges() -> list[str]:
    return ["setpriv", f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups"]


def _unprivileged_python_runs() -> bool:
    if shutil.which("setpriv") is None:
        return False
    probe = [*_drop_privileges(), sys.executable, "-c", "import genesis_flow.entrypoints.cli"]
    return subprocess.run(probe, capture_output=True, timeout=120).returncode == 0


def _artifact_root_row_unprivileged(root: Path) -> tuple[int, dict[str, str]]:
    code = (
        "import sys; from genesis_flow.entrypoints.cli import main;"
        " sys.exit(main(['doctor', '--uri', 'memory:', '--json', '--artifact-root', sys.argv[1]]))"
    )
    argv = [sys.executable, "-c", code, str(root)]
    done = subprocess.run([*_drop_privileges(), *argv], capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    return done.returncode, {row["check"]: row for row in json.loads(done.stdout)}["artifact root"]


@pytest.mark.parametrize("missing", [False, True], ids=["existing", "below-it"])
def test_doctor_fails_on_an_unwritable_artifact_root(tmp_path: Path, missing: bool) -> None:
    as_root = os.geteuid() == 0
    if as_root and not _unprivileged_python_runs():
        pytest.skip("running as root, and no unprivileged user can run this Python (setpriv, permissions)")
    # The unprivileged user must reach the folder: pytest's own temporary folders are private.
    base = Path(tempfile.mkdtemp(prefix="genesis-doctor-")) if as_root else tmp_path
    try:
        base.chmod(0o755)
        locked = base / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "new" if missing else locked
        code, row = (
            _artifact_root_row_unprivileged(target)
            if as_root
            else _artifact_root_row("--artifact-root", str(target))
        )
        assert code == 1 and row["status"] == "FAIL", row
        assert list(locked.iterdir()) == []
    finally:
        if (base / "locked").exists():
            (base / "locked").chmod(0o700)
        if as_root:
            shutil.rmtree(base)


@pytest.mark.parametrize("below", ["", "new"], ids=["the-root", "below-it"])
def test_doctor_fails_on_an_artifact_root_that_is_a_file(tmp_path: Path, below: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, row = _artifact_root_row("--artifact-root", str(blocker / below) if below else str(blocker))
    assert code == 1 and row["status"] == "FAIL" and "is not a directory" in row["detail"], row
    assert blocker.read_text() == "not a folder"


def test_doctor_probes_an_azure_blob_artifact_root(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = os.environ.get("GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING", "")
    if not connection:
        reason = (
            "GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING is not set (scripts/services.sh sets it for Azurite)"
        )
        if "azure-blob" in required_backends():
            pytest.fail(
                f"{reason}; GENESIS_REQUIRED_BACKENDS lists azure-blob: CI must run it", pytrace=False
            )
        print(f"skipped: {reason}")
        pytest.skip(reason)
    pytest.importorskip("azure.storage.blob")
    from azure.storage.blob import BlobServiceClient

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    service = BlobServiceClient.from_connection_string(connection)
    container = f"doctor{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    try:
        account = service.account_name
        code, row = _artifact_root_row(
            "--artifact-root", f"wasbs://{container}@{account}.blob.core.windows.net/root"
        )
        assert code == 0 and row["status"] == "PASS" and "probe passed" in row["detail"], row
        assert list(service.get_container_client(container).list_blobs()) == []
    finally:
        service.delete_container(container)


def test_doctor_fails_on_an_unreachable_mongodb_without_showing_the_password() -> None:
    started = time.monotonic()
    result = invoke("doctor", "--uri", SECRET_URI)
    assert result.exit_code == 1
    assert "FAIL connectivity" in result.output
    assert "secret" not in result.output and "secret" not in (result.stderr_bytes or b"").decode()
    assert "u:***@" in result.output
    assert time.monotonic() - started < 30
    as_json = invoke("doctor", "--uri", SECRET_URI, "--json")
    assert as_json.exit_code == 1 and "secret" not in as_json.output
    assert json.loads(as_json.output)[1]["status"] == "FAIL"


@pytest.mark.skipif(not os.environ.get("GENESIS_TEST_MONGO_URI"), reason="GENESIS_TEST_MONGO_URI is not set")
def test_doctor_passes_on_the_mongo_test_server() -> None:
    pytest.importorskip("pymongo")
    base = os.environ["GENESIS_TEST_MONGO_URI"]
    name = f"gf_doctor_{uuid.uuid4().hex[:12]}"
    uri = _with_database(base, name)
    store = bootstrap.build_tracking_store(uri)
    store.create_run("0", "u", None)
    bootstrap.build_registry_store(uri).create_registered_model("m")
    try:
        result = invoke("doctor", "--uri", uri, "--json")
        assert result.exit_code == 0, result.output
        rows = {row["check"]: row for row in json.loads(result.output)}
        assert rows["server version"]["detail"].startswith("MongoDB ")
        assert rows["indexes"]["status"] == "PASS"
        assert "genesis_doctor_" in rows["write/read/delete probe"]["detail"]
        database = bootstrap._mongo_database(uri)
        assert not [c for c in database.db.list_collection_names() if c.startswith("genesis_doctor_")]
        # A missing index is reported.
        database.db["runs"].drop_index("gf_exp_start")
        failed = invoke("doctor", "--uri", uri)
        assert failed.exit_code == 1
        assert "runs.gf_exp_start" in failed.output
    finally:
        bootstrap._mongo_database(uri).drop_all()


@pytest.mark.skipif(not os.environ.get("GENESIS_TEST_MONGO_URI"), reason="GENESIS_TEST_MONGO_URI is not set")
def test_doctor_reports_cosmos_settings() -> None:
    pytest.importorskip("pymongo")
    uri = _with_database(os.environ["GENESIS_TEST_MONGO_URI"], f"gf_doctor_{uuid.uuid4().hex[:12]}")
    uri += ("&" if "?" in uri else "?") + "genesis_cosmos=true&genesis_retry_budget_ms=5000"
    result = invoke("doctor", "--uri", uri, "--json")
    assert result.exit_code == 0, result.output
    cosmos = {row["check"]: row for row in json.loads(result.output)}["cosmos"]
    assert "retryWrites=false" in cosmos["detail"] and "5000 ms" in cosmos["detail"]


def _with_database(uri: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


# --- gc ----------------------------------------------------------------------------------------------


def _seed_gc(uri: str, tmp_path: Path) -> tuple[str, str, str, Path, Path]:
    """(active, old, new) run ids and the artifact folders of old and new: ``old`` was deleted 40
    days ago (imported deleted, as a migration brings it), ``new`` just now."""
    store = bootstrap.build_tracking_store(uri)
    experiment_id = store.create_experiment("gc")
    active = store.create_run(experiment_id, "u", None).info.run_id
    new = store.create_run(experiment_id, "u", None)
    new_artifacts = Path(new.info.artifact_uri)
    new_artifacts.mkdir(parents=True)
    (new_artifacts / "model.txt").write_text("new")
    store.delete_run(new.info.run_id)
    long_ago = int(time.time() * 1000) - 40 * DAY_MS
    old_id = uuid.uuid4().hex
    old_artifacts = tmp_path / "old-artifacts" / old_id / "artifacts"
    old_artifacts.mkdir(parents=True)
    (old_artifacts / "model.txt").write_text("old")
    store.import_run(
        Run(
            RunInfo(
                run_id=old_id,
                experiment_id=experiment_id,
                run_name="old",
                user_id="u",
                status=RunStatus.FINISHED,
                start_time=long_ago - 1000,
                end_time=long_ago,
                artifact_uri=str(old_artifacts),
                lifecycle_stage=LifecycleStage.DELETED,
            )
        ),
        [],
    )
    return active, old_id, new.info.run_id, old_artifacts, new_artifacts


@pytest.fixture(params=["sqlite", "memory"])
def gc_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/gc.db" if request.param == "sqlite" else "memory:"


def test_gc_dry_run_lists_only_old_deleted_runs(gc_uri: str, tmp_path: Path) -> None:
    active, old, new, old_artifacts, _ = _seed_gc(gc_uri, tmp_path)
    result = invoke("gc", "--uri", gc_uri, "--older-than", "30d", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would remove 1 run(s)" in result.output
    assert old in result.output and new not in result.output and active not in result.output
    store = bootstrap.build_tracking_store(gc_uri)
    assert store.get_run(old).info.lifecycle_stage is LifecycleStage.DELETED
    assert (old_artifacts / "model.txt").exists()


def test_gc_removes_old_deleted_runs_and_their_artifacts(gc_uri: str, tmp_path: Path) -> None:
    from genesis_flow.core.errors import RunNotFound

    active, old, new, old_artifacts, new_artifacts = _seed_gc(gc_uri, tmp_path)
    result = invoke("gc", "--uri", gc_uri, "--older-than", "30d")
    assert result.exit_code == 0, result.output
    assert "removed 1 run(s)" in result.output
    store = bootstrap.build_tracking_store(gc_uri)
    with pytest.raises(RunNotFound):
        store.get_run(old)
    assert not old_artifacts.exists() or not any(old_artifacts.iterdir())
    assert (new_artifacts / "model.txt").exists()
    store.get_run(new)
    store.get_run(active)
    # 0s: every deleted run; --no-artifacts keeps the files.
    result = invoke("gc", "--uri", gc_uri, "--older-than", "0s", "--no-artifacts")
    assert result.exit_code == 0, result.output
    assert "removed 1 run(s) (artifacts kept)" in result.output
    with pytest.raises(RunNotFound):
        store.get_run(new)
    assert (new_artifacts / "model.txt").exists()
    assert store.get_run(active).info.lifecycle_stage is LifecycleStage.ACTIVE


@pytest.mark.parametrize("bad", ["30", "d", "3x", "-1d", "1.5h", ""])
def test_gc_refuses_a_bad_duration_as_usage_error(bad: str) -> None:
    result = invoke("gc", "--uri", "memory:", "--older-than", bad)
    assert result.exit_code == 2
    assert "--older-than" in result.output


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_gc_without_older_than_removes_every_deleted_run_as_mlflow_gc(
    gc_uri: str, tmp_path: Path, dry_run: bool
) -> None:
    active, old, new, *_ = _seed_gc(gc_uri, tmp_path)
    result = invoke("gc", "--uri", gc_uri, *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 0, result.output
    assert f"{'would remove' if dry_run else 'removed'} 2 run(s)" in result.output
    store = bootstrap.build_tracking_store(gc_uri)
    assert store.get_run(active).info.lifecycle_stage is LifecycleStage.ACTIVE
    kept = {
        run.info.run_id
        for run in store.search_runs(
            [store.get_run(active).info.experiment_id], run_view_type=ViewType.ALL
        ).items
    }
    assert kept == ({active, old, new} if dry_run else {active})


def test_parse_duration() -> None:
    assert parse_duration_ms("30d") == 30 * DAY_MS
    assert parse_duration_ms("12h") == 12 * 3_600_000
    assert parse_duration_ms("90m") == 90 * 60_000
    assert parse_duration_ms("0s") == 0


# --- ui ----------------------------------------------------------------------------------------------


def test_ui_runs_mlflow_server_with_the_uri_in_its_environment_not_its_argv() -> None:
    # The command line is readable by every local user (ps, /proc/<pid>/cmdline); the
    # environment only by the same user.
    uri = "mongodb://u:p%40ss@db.example:27017/genesis"
    assert mlflow_server_argv() == [sys.executable, "-m", "mlflow", "server"]
    assert mlflow_server_argv(host="0.0.0.0", port=5001)[-4:] == ["--host", "0.0.0.0", "--port", "5001"]
    env = mlflow_server_env(uri, {"PATH": "/bin"})
    assert env == {"PATH": "/bin", "MLFLOW_BACKEND_STORE_URI": uri}


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs mlflow")
def test_ui_accepts_mongodb_when_mlflow_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_flow.entrypoints.cli import ops

    assert ui_refusal("mongodb://127.0.0.1:27017/genesis") is None
    started: list[tuple[list[str], str]] = []

    def fake_run(argv: list[str], env: dict[str, str]) -> int:
        started.append((argv, env["MLFLOW_BACKEND_STORE_URI"]))
        return 0

    monkeypatch.setattr(ops, "run_process_group", fake_run)
    result = invoke("ui", "--uri", "mongodb://127.0.0.1:27017/genesis", "--port", "5055")
    assert result.exit_code == 0, result.output
    assert started == [(mlflow_server_argv(None, 5055), "mongodb://127.0.0.1:27017/genesis")]


def test_ui_without_mlflow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "mlflow" else real_find_spec(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    result = invoke("ui", "--uri", "mongodb://u:secret@127.0.0.1:27017/genesis")
    assert result.exit_code == 1
    assert install_hint("mlflow") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "secret" not in result.output + result.stderr


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs mlflow")
@pytest.mark.parametrize(
    ("arguments", "served"),
    [
        ((), "genesis+sqlite:///genesis.db"),  # the default store
        (("--uri", "sqlite:///x.db"), "genesis+sqlite:///x.db"),
        (("--uri", "genesis+sqlite:///x.db"), "genesis+sqlite:///x.db"),
    ],
    ids=["default", "sqlite", "genesis+sqlite"],
)
def test_ui_serves_sql_stores_under_the_plugins_scheme(
    arguments: tuple[str, ...], served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plain sqlite:// would make `mlflow server` open MLflow's own store on our database.
    from genesis_flow.entrypoints.cli import ops

    started: list[str] = []

    def fake_run(argv: list[str], env: dict[str, str]) -> int:
        started.append(env["MLFLOW_BACKEND_STORE_URI"])
        return 0

    monkeypatch.setattr(ops, "run_process_group", fake_run)
    result = invoke("ui", *arguments)
    assert result.exit_code == 0, result.output
    assert started == [served]


def test_ui_refuses_an_mlflow_database_naming_mlflow_server_and_migrate(tmp_path: Path) -> None:
    import sqlite3

    connection = sqlite3.connect(tmp_path / "mlflow.db")
    connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    connection.close()
    result = invoke("ui", "--uri", f"sqlite:///{tmp_path}/mlflow.db")
    assert result.exit_code == 1
    assert "an MLflow database" in result.stderr
    assert "`mlflow server --backend-store-uri URI`" in result.stderr and "genesis migrate" in result.stderr


def test_ui_refuses_an_unreachable_sql_server_without_showing_the_password() -> None:
    result = invoke("ui", "--uri", "postgresql://u:secret@127.0.0.1:1/genesis")
    assert result.exit_code == 1
    assert "TEMPORARILY_UNAVAILABLE: Cannot reach the database" in result.stderr
    assert "u:***@" in result.stderr
    assert "secret" not in result.output + result.stderr


@pytest.mark.parametrize("uri", ["memory:", "genesis+memory:"])
def test_ui_refuses_memory(uri: str) -> None:
    result = invoke("ui", "--uri", uri)
    assert result.exit_code == 1
    assert "memory: lives inside one process" in result.stderr


# --- ui: the server's processes ---------------------------------------------------------------------

UI_START_TIMEOUT_S = 180
UI_STOP_TIMEOUT_S = 60


def _descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live (not zombie) process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            children.setdefault(int(ppid), []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            found[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        todo.extend(children.get(pid, []))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ui_stops_the_whole_server_on_a_signal_and_never_shows_the_uri_in_a_command_line(
    signum: int, tmp_path: Path
) -> None:
    pytest.importorskip("mlflow", reason="needs mlflow")
    import subprocess
    import urllib.request

    from tests.integration.plugin_backends import fresh_database

    with socket_port() as port, fresh_database("ui_signal") as uri:
        # The database's name is unique: it must show in no process's command line. The
        # server must still open that store (an experiment made here is served).
        marker = urlsplit(uri).path.strip("/")
        bootstrap.build_tracking_store(uri).create_experiment(marker)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GENESIS_"))}
        env |= {"GENESIS_TRACKING_URI": uri, "MLFLOW_WORKERS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
        command = [sys.executable, "-c", "from genesis_flow.entrypoints.cli import main; exit(main())"]
        log = (tmp_path / "ui.log").open("wb")
        argv = [*command, "ui", "--port", str(port)]
        ui = subprocess.Popen(argv, env=env, stdout=log, stderr=log, cwd=tmp_path)
        seen: dict[int, str] = {}
        try:
            deadline = time.monotonic() + UI_START_TIMEOUT_S
            while True:
                assert ui.poll() is None, (tmp_path / "ui.log").read_text()
                seen |= _descendants(ui.pid)
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.5)
            seen |= _descendants(ui.pid)
            assert seen, "mlflow server runs as a child of genesis ui"
            served = (
                f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?experiment_name={marker}"
            )
            with urllib.request.urlopen(served, timeout=30) as reply:
                assert json.load(reply)["experiment"]["name"] == marker
            for pid, line in {ui.pid: " ".join(argv), **seen}.items():
                assert marker not in line and uri not in line, f"the URI is in {pid}'s command line: {line}"

            ui.send_signal(signum)
            assert ui.wait(timeout=UI_STOP_TIMEOUT_S) == 128 + signum
            deadline = time.monotonic() + UI_STOP_TIMEOUT_S
            while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not [pid for pid in seen if _alive(pid)], f"left running: {seen}"
            assert not _port_open(port)
        finally:
            for pid in [ui.pid, *seen]:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            ui.wait()
            log.close()


@contextlib.contextmanager
def socket_port() -> Iterator[int]:
    """A port nobody listens on (free when asked)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    yield port
