"""The MLflow UI's traces tab end to end: ``mlflow server`` on our stores, in headless Chromium.

Once per adapter (``genesis+sqlite`` for SQL, ``mongodb``; plugin_backends.py): what the page
shows depends on the adapter's trace storage, not on the database server behind it. A fresh
interpreter logs two traces with the real ``mlflow`` API into experiment "ui-traces" on the
store: "plan_trip" (a root with a nested "plan" span and a "search_flights" tool
span) and "summarize" (a root with two nested spans). Then ``mlflow server --backend-store-uri
<uri>`` starts and the browser checks the experiment's traces list (both traces, their request
previews) and one trace's detail (its span tree). No request may answer 5xx and the server log
may hold no traceback. Screenshots go to ``$GENESIS_TEST_ARTIFACTS_DIR`` (default
``test-artifacts/``). The server, browser and skip rules are those of test_plugin_ui.py.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Importing test_plugin_ui applies its skip rules (mlflow, playwright) to this module too; the
# Playwright names come through it for that reason.
from tests.integration.plugin_backends import ONE_PER_FAMILY, fresh_plugin_uri
from tests.integration.servers import tail as _tail
from tests.integration.test_plugin_ui import (
    CHROMIUM,
    Page,
    _artifacts_dir,
    _browser,
    _dismiss_overlays,
    _local_page,
    _mlflow_server,
    _run_script,
    _server_errors,
    _unavailable,
    expect,
    sync_playwright,
)

pytestmark = pytest.mark.slow

# Run by a fresh interpreter: an agent traced as a user's application traces it.
SEED_SCRIPT = """
import json, sys
import mlflow
from mlflow.entities import SpanType

mlflow.set_tracking_uri(sys.argv[1])
experiment = mlflow.set_experiment("ui-traces")

@mlflow.trace(span_type=SpanType.TOOL)
def search_flights(city):
    return [{"city": city, "price": 120}]

@mlflow.trace(span_type=SpanType.CHAIN)
def plan(city):
    with mlflow.start_span("choose_dates") as span:
        span.set_inputs({"city": city})
        span.set_outputs({"dates": "May 3-5"})
    return search_flights(city)

@mlflow.trace(span_type=SpanType.AGENT)
def plan_trip(question):
    flights = plan("Lisbon")
    return f"Fly to Lisbon for {flights[0]['price']} EUR"

@mlflow.trace
def summarize(text):
    with mlflow.start_span("split") as span:
        span.set_inputs({"text": text})
        with mlflow.start_span("count_words") as inner:
            inner.set_outputs(len(text.split()))
    return text[:12]

plan_trip("a weekend trip to Lisbon")
first = mlflow.get_last_active_trace_id()
summarize("a long report about the quarterly numbers")
second = mlflow.get_last_active_trace_id()
mlflow.flush_trace_async_logging()
print(json.dumps({"experiment_id": experiment.experiment_id, "trace_ids": [first, second]}))
"""


@pytest.fixture(params=ONE_PER_FAMILY)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Our store, a fresh namespace per test."""
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing (scripts/browser.sh installs Debian's chromium)", "ui")
    with fresh_plugin_uri(request.param, "ui_traces", tmp_path) as uri:
        yield uri


def test_ui_lists_traces_and_shows_a_span_tree(store_uri: str, tmp_path: Path) -> None:
    seeded = json.loads(_run_script(SEED_SCRIPT, tmp_path, store_uri))
    backend = "mongo" if store_uri.startswith("mongodb") else "sqlite"
    experiment_id = seeded["experiment_id"]
    shots = _artifacts_dir()
    saved: list[Path] = []
    server_5xx: list[str] = []
    off_host: list[str] = []
    trace_calls: list[str] = []

    def shot(page: Page, name: str) -> None:
        path = shots / f"ui-{backend}-traces-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
        print(f"screenshot: {path}")

    with _mlflow_server(store_uri, tmp_path) as (base, logs):
        try:
            with sync_playwright() as playwright, _browser(playwright) as browser:

                def trace_call(reply: Any) -> None:
                    if "trace" in reply.url:
                        trace_calls.append(f"{reply.status} {reply.request.method} {reply.url[len(base) :]}")

                page = _local_page(browser, base, off_host, server_5xx, trace_call)
                context = page.context
                _dismiss_overlays(page)
                _dismiss_tips(page)
                try:
                    _check_traces_list(page, base, experiment_id)
                    shot(page, "list")
                    _check_span_tree(page)
                    shot(page, "detail")
                except Exception:
                    with contextlib.suppress(Exception):
                        shot(page, "failure")
                    print(_tail(logs))
                    raise
                finally:
                    context.close()
        finally:
            print("trace requests:", *trace_calls, sep="\n  ")
            print("browser requests answered 5xx:", server_5xx or "none")
            print("requests to other hosts, refused:", off_host or "none")
    assert not server_5xx, f"the server answered 5xx: {server_5xx}\n{_tail(logs)}"
    errors = _server_errors(logs)
    assert not errors, "the server log shows errors:\n" + "\n".join(errors) + "\n" + _tail(logs)
    assert len(saved) == 2


def _dismiss_tips(page: Page) -> None:
    """The traces tab opens a "Detect Issues" tip on a first visit: close it whenever it shows."""
    tip = page.get_by_role("dialog").filter(has_text="Detect Issues in Your Traces")
    page.add_locator_handler(
        tip, lambda dialog: dialog.get_by_role("button", name="Got it").dispatch_event("click")
    )


def _check_traces_list(page: Page, base: str, experiment_id: str) -> None:
    """The experiment's traces tab lists both traces with their request and response previews."""
    page.goto(f"{base}/#/experiments/{experiment_id}/traces")
    expect(page.get_by_text("2 of 2")).to_be_visible()
    for text in (
        "a weekend trip to Lisbon",
        "Fly to Lisbon for 120 EUR",
        "a long report about the quarterly numbers",
    ):
        expect(page.get_by_text(text).first).to_be_visible()


def _check_span_tree(page: Page) -> None:
    """A trace opened from the list shows its span tree: the root, the nested and the tool span."""
    page.get_by_text("a weekend trip to Lisbon").first.click()
    expect(page.get_by_text("Spans", exact=True).first).to_be_visible()
    for name in ("plan_trip", "plan", "choose_dates", "search_flights"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
