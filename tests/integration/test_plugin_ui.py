"""The MLflow UI end to end: ``mlflow server`` on our store, driven by Playwright in headless Chromium.

Data is seeded with the real ``mlflow`` API (experiment "ui-demo", run "baseline" with params lr/depth
and a 20-step "loss" metric, registered model "ui-model" version 1 with alias "champion"); then
``mlflow server --backend-store-uri <uri> --artifacts-destination <dir>`` starts, a run logged
through it puts its artifact in that directory, and the browser checks the runs table (with the
param and metric columns), the run's metric chart and artifact, and the model with its alias,
on its own page and on its version's. Other hosts are never contacted. Screenshots go to
``$GENESIS_TEST_ARTIFACTS_DIR`` (default ``test-artifacts/``). No request may answer 5xx and the
server log may hold no traceback.

Three stores: ``sqlite`` is MLflow's own store, the control: when it passes and another fails, the
store is at fault, not the selectors. ``genesis-ui`` is the newcomer's path: the data is logged
with ``genesis+sqlite:///<folder>/genesis.db`` and ``genesis ui``, with no argument, started in
that folder, serves its default store (``sqlite:///genesis.db``) through the plugin; artifacts
logged through the server go to MLflow's default destination, ``./mlartifacts``. ``mongo`` is the
plugin on a fresh database of ``GENESIS_TEST_MONGO_URI`` (``mlflow server`` directly). The SQL
adapter runs here on SQLite only: PostgreSQL differs from it below the plugin, which the cheaper
plugin tests cover on every backend (plugin_backends.py).

The browser is the system chromium (scripts/browser.sh installs it); ``playwright install`` is
never needed. Skipped, with the reason, when the browser or the MongoDB server is missing, unless
``GENESIS_REQUIRED_BACKENDS`` lists "ui" (browser) or "mongo" (server).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.contract.backends import required_backends

# When CI requires the UI test, a missing package fails the collection instead of skipping it.
if "ui" not in required_backends():
    pytest.importorskip("mlflow", reason="mlflow is not installed (extra 'dev' or 'mlflow')")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (extra 'dev')")

# Page, expect and sync_playwright are re-exported (``as``) for test_plugin_tracing_ui, which must
# import them through this module so that these skip rules apply to it too.
from playwright.sync_api import Browser, Playwright
from playwright.sync_api import Page as Page
from playwright.sync_api import expect as expect
from playwright.sync_api import sync_playwright as sync_playwright

from genesis_flow.entrypoints.bootstrap import REGISTRY_URI_VARS, TRACKING_URI_VARS
from tests.integration.plugin_backends import fresh_plugin_uri
from tests.integration.servers import free_port as _free_port
from tests.integration.servers import serve as _serve
from tests.integration.servers import tail as _tail

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
UI_TIMEOUT_MS = 30_000
STEPS = 20
GENESIS_MAIN = "from genesis_flow.entrypoints.cli import main; raise SystemExit(main())"

# Run by a fresh interpreter: the fluent API as a user's training script calls it.
SEED_SCRIPT = """
import json, sys
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
experiment = mlflow.set_experiment("ui-demo")
with mlflow.start_run(run_name="baseline") as run:
    mlflow.log_params({"lr": "0.01", "depth": "6"})
    for step in range(int(sys.argv[2])):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_text("seeded for the UI test", "notes.txt")
client = MlflowClient()
client.create_registered_model("ui-model")
version = client.create_model_version(
    "ui-model", run.info.artifact_uri + "/model", run_id=run.info.run_id
)
client.set_registered_model_alias("ui-model", "champion", version.version)
print(json.dumps({"experiment_id": experiment.experiment_id, "run_id": run.info.run_id}))
"""

# Through the server: a new experiment's artifacts are proxied into --artifacts-destination.
SERVED_SCRIPT = """
import sys
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("ui-served")
with mlflow.start_run(run_name="served") as run:
    mlflow.log_text("through the server", "served.txt")
print(run.info.artifact_uri)
"""


def _unavailable(reason: str, backend: str) -> None:
    if backend in required_backends():
        pytest.fail(f"{reason} (GENESIS_REQUIRED_BACKENDS lists {backend!r}: CI must run it)", pytrace=False)
    print(f"skipped: {reason}")
    pytest.skip(reason)


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    return env


@pytest.fixture(params=["sqlite", "genesis-ui", "mongo"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URI the data is logged to; a fresh database per test."""
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing (scripts/browser.sh installs Debian's chromium)", "ui")
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mlflow.db'}"
    elif request.param == "genesis-ui":
        yield f"genesis+sqlite:///{tmp_path / 'genesis.db'}"  # the default store of a `genesis ui` there
    else:
        with fresh_plugin_uri("mongo", "ui", tmp_path) as uri:
            yield uri


def _run_script(script: str, cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mlflow script failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def _mlflow_server(uri: str, workdir: Path) -> Iterator[tuple[str, list[Path]]]:
    """``mlflow server`` on ``uri`` in its own process group, its artifacts in ``workdir/artifacts``;
    yields its base URL and its log files."""
    port = _free_port()
    artifacts = workdir / "artifacts"
    artifacts.mkdir()
    options = {
        "--backend-store-uri": uri,
        "--artifacts-destination": str(artifacts),
        "--host": "127.0.0.1",
        "--port": str(port),
        "--workers": "1",
    }
    command = [sys.executable, "-m", "mlflow", "server", *(a for pair in options.items() for a in pair)]
    with _serve(command, workdir, _child_env(), port) as served:
        yield served


@contextlib.contextmanager
def _genesis_ui(workdir: Path) -> Iterator[tuple[str, list[Path]]]:
    """``genesis ui`` with no argument, started in ``workdir`` with no tracking URI set: MLflow's
    server on the default store there; yields its base URL and its log files."""
    port = _free_port()
    command = [sys.executable, "-c", GENESIS_MAIN, "ui", "--host", "127.0.0.1", "--port", str(port)]
    env = {k: v for k, v in _child_env().items() if k not in (*TRACKING_URI_VARS, *REGISTRY_URI_VARS)}
    env["MLFLOW_WORKERS"] = "1"
    with _serve(command, workdir, env, port) as served:
        yield served


def _server_errors(logs: list[Path]) -> list[str]:
    """Lines of the server log that show a 5xx answer or a traceback (MLflow logs those of 500s)."""
    bad = re.compile(r'" 5\d\d |Traceback \(most recent call last\)|Exception on /')
    return [line for log in logs for line in log.read_text(errors="replace").splitlines() if bad.search(line)]


def _artifacts_dir() -> Path:
    out = Path(os.environ.get("GENESIS_TEST_ARTIFACTS_DIR") or REPO_ROOT / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def _browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def _local_page(
    browser: Browser,
    base: str,
    off_host: list[str],
    server_5xx: list[str],
    on_reply: Callable[[Any], None] | None = None,
) -> Page:
    """A page in a context of its own that talks to ``base`` only: requests to any other host are
    refused and listed in ``off_host``, 5xx answers listed in ``server_5xx``; ``on_reply`` sees
    every answer. The caller closes ``page.context``."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.set_default_timeout(UI_TIMEOUT_MS)

    # Nothing may leave the machine: every request to another host is refused.
    def route(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            off_host.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()

    def response(reply: Any) -> None:
        if reply.status >= 500:
            server_5xx.append(f"{reply.status} {reply.request.method} {reply.url}")
        if on_reply is not None:
            on_reply(reply)

    page.on("response", response)
    return page


def _dismiss_overlays(page: Page) -> None:
    """MLflow opens an Assistant side panel and a Model Registry promo dialog on a first visit:
    close them whenever they show, before Playwright acts (they cover the page, not what is checked)."""
    assistant_close = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
    # A DOM click, not a pointer one: another first-visit dialog can sit on top of the panel, and
    # Playwright runs one handler at a time, so a pointer click would wait for it forever.
    page.add_locator_handler(assistant_close, lambda button: button.dispatch_event("click"))
    promo = page.get_by_role("dialog").filter(has_text="new Model Registry UI")
    page.add_locator_handler(promo, lambda dialog: dialog.get_by_role("button", name="Close").click())


def test_ui_shows_experiment_runs_chart_and_model(store_uri: str, tmp_path: Path) -> None:
    seeded = json.loads(_run_script(SEED_SCRIPT, tmp_path, store_uri, str(STEPS)))
    experiment_id, run_id = seeded["experiment_id"], seeded["run_id"]
    label = {"sqlite": "sqlite", "genesis+sqlite": "genesis-ui", "mongodb": "mongo"}[
        urlsplit(store_uri).scheme
    ]
    # Through `genesis ui`, artifacts logged through the server go to MLflow's default destination.
    server, destination = (
        (_genesis_ui(tmp_path), tmp_path / "mlartifacts")
        if label == "genesis-ui"
        else (_mlflow_server(store_uri, tmp_path), tmp_path / "artifacts")
    )
    shots = _artifacts_dir()
    saved: list[Path] = []
    server_5xx: list[str] = []
    off_host: list[str] = []

    def shot(page: Page, name: str) -> None:
        path = shots / f"ui-{label}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
        print(f"screenshot: {path}")

    with server as (base, logs):
        served_uri = _run_script(SERVED_SCRIPT, tmp_path, base)
        assert served_uri.startswith("mlflow-artifacts:"), served_uri
        served = list(destination.rglob("served.txt"))
        assert [p.read_text() for p in served] == ["through the server"], f"not in the destination: {served}"
        try:
            with sync_playwright() as playwright, _browser(playwright) as browser:
                page = _local_page(browser, base, off_host, server_5xx)
                context = page.context
                _dismiss_overlays(page)
                try:
                    _check_runs_table(page, base, experiment_id)
                    shot(page, "runs-table")
                    _check_run_chart(page, run_id)
                    shot(page, "run-chart")
                    _check_run_artifacts(page)
                    _check_models(page, base)
                    shot(page, "models")
                    _check_model_version(page)
                    shot(page, "model-version")
                except Exception:
                    with contextlib.suppress(Exception):
                        shot(page, "failure")
                    print(_tail(logs))
                    raise
                finally:
                    context.close()
        finally:
            print("browser requests answered 5xx:", server_5xx or "none")
            print("requests to other hosts, refused:", off_host or "none")
    assert not server_5xx, f"the server answered 5xx: {server_5xx}\n{_tail(logs)}"
    errors = _server_errors(logs)
    assert not errors, "the server log shows errors:\n" + "\n".join(errors) + "\n" + _tail(logs)
    assert len(saved) == 4


def _check_runs_table(page: Page, base: str, experiment_id: str) -> None:
    """The experiment's runs table: the run, then its param and metric columns once shown."""
    page.goto(f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning")
    expect(page.get_by_text("ui-demo").first).to_be_visible()
    named = page.get_by_role("row").filter(has_text="baseline")
    expect(named).to_have_count(1)
    # The grid renders pinned and scrolling columns in separate row elements sharing a row index.
    row = page.locator(f'[role="row"][row-index="{named.get_attribute("row-index")}"]')
    # Params and metrics are not default columns: select their groups in the Columns menu.
    page.get_by_role("button", name="Columns").click()
    page.get_by_text("Metrics (1)").click()
    page.get_by_text("Parameters (2)").click()
    page.keyboard.press("Escape")
    for header in ("Metrics", "Parameters", "loss", "lr", "depth"):
        expect(page.get_by_role("columnheader", name=header, exact=True).first).to_be_visible()
    for value in ("0.05", "0.01", "6"):  # last loss 1/20, lr, depth
        cell = row.get_by_role("gridcell").filter(has_text=re.compile(f"^{re.escape(value)}$"))
        expect(cell).to_have_count(1)


def _check_run_chart(page: Page, run_id: str) -> None:
    """The run page, reached from the table, draws the 20 steps of "loss" in its metrics tab."""
    page.get_by_role("link", name="baseline").first.click()
    expect(page).to_have_url(re.compile(f"/runs/{run_id}"))
    page.get_by_role("tab", name="Model metrics").click()
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    expect(page.get_by_text("baseline (loss)").first).to_be_visible()
    expect(chart.locator("path.point")).to_have_count(STEPS)
    series = chart.evaluate("e => (e.data || []).map(d => Array.from(d.y || []))")
    assert any(
        len(ys) == STEPS and all(abs(y - 1.0 / (i + 1)) < 1e-9 for i, y in enumerate(ys)) for ys in series
    ), f"no chart series carries the logged loss values: {series}"


def _check_run_artifacts(page: Page) -> None:
    """The Artifacts tab lists the logged file and shows its text (read from the run's artifact URI)."""
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text("notes.txt", exact=True).first.click()
    expect(page.get_by_text("seeded for the UI test").first).to_be_visible()


def _check_models(page: Page, base: str) -> None:
    """The registered models list shows the model, its latest version and its alias."""
    page.goto(f"{base}/#/models")
    row = page.get_by_role("row").filter(has_text="ui-model")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Version 1")
    expect(row).to_contain_text("champion")


def _check_model_version(page: Page) -> None:
    """The model page lists version 1 with its alias; the version page names its source run."""
    page.get_by_role("link", name="ui-model").first.click()
    version_row = page.get_by_role("row").filter(has_text="Version 1")
    expect(version_row).to_contain_text("champion")
    version_row.get_by_role("link", name="Version 1").click()
    expect(page.get_by_text("Source Run").first).to_be_visible()
    expect(page.get_by_role("link", name="baseline").first).to_be_visible()
    expect(page.get_by_text("champion").first).to_be_visible()
