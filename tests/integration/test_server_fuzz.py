"""Seeded hostile REST requests to real ``mlflow server``: on our plugin (``mongodb://``) no HTTP
500 that MLflow's own server on SQLite does not also give for the same request, and no traceback
in our server's log for such a request.

Both servers start once for the module and get the same seed data through REST (an experiment, a
run, a registered model with a version); ``{experiment}`` and ``{run}`` in a request stand for each
server's own ids. Bodies carry what a hostile client sends: numbers beyond 64 bits, lone surrogates
as JSON escapes ("\\ud800"), NaN, empty backtick order_by keys, 1000-clause filters, forged page
tokens, ids of the wrong type.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from genesis_flow.testing.hostile import (
    DANGEROUS_TEXTS,
    EXPERIMENT_IDS,
    JUNK_ORDER,
    METRIC_VALUES,
    PLAIN_FILTERS,
    RUN_IDS,
    STEPS,
    TIMESTAMPS,
    VERSIONS,
    Hostile,
)
from genesis_flow.testing.tracking_helpers import hypothesis_settings
from tests.integration.plugin_backends import fresh_database

pytest.importorskip("mlflow", reason="mlflow is not installed (extra 'dev' or 'mlflow')")

from tests.integration.test_plugin_ui import _mlflow_server

pytestmark = pytest.mark.slow

REQUESTS_PER_EXAMPLE = 1  # times the profile's examples (ci: 20 random requests after the sweep)
TRACEBACK = "Traceback (most recent call last)"


class Server:
    def __init__(self, label: str, base: str, logs: list[Path]) -> None:
        self.label, self.base, self.logs = label, base, logs
        self.ids: dict[str, str] = {}

    def log_size(self) -> list[int]:
        return [log.stat().st_size if log.exists() else 0 for log in self.logs]

    def log_since(self, sizes: list[int]) -> str:
        text = []
        for log, size in zip(self.logs, sizes, strict=True):
            with log.open("rb") as handle:
                handle.seek(size)
                text.append(handle.read().decode("utf-8", "replace"))
        return "".join(text)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for name, own in self.ids.items():
                value = value.replace("{" + name + "}", own)
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def send(self, method: str, path: str, body: Any) -> tuple[int, str]:
        """(HTTP status, body text); a GET sends ``body`` as the query string."""
        url = f"{self.base}/{path}"
        data = None
        if method == "GET":
            url += "?" + urllib.parse.urlencode(self.fill(body), doseq=True, errors="surrogatepass")
        else:
            # ensure_ascii: a lone surrogate goes out as the JSON escape "\ud800", as a client's would.
            data = _json(self.fill(body)).encode("ascii")
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                return reply.status, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def seed(self) -> None:
        status, text = self.send("POST", "api/2.0/mlflow/experiments/create", {"name": "fz"})
        assert status == 200, text
        self.ids["experiment"] = json.loads(text)["experiment_id"]
        status, text = self.send(
            "POST", "api/2.0/mlflow/runs/create", {"experiment_id": self.ids["experiment"], "start_time": 1}
        )
        assert status == 200, text
        self.ids["run"] = json.loads(text)["run"]["info"]["run_id"]
        for path, body in (
            (
                "api/2.0/mlflow/runs/log-metric",
                {"run_id": "{run}", "key": "m", "value": 1.5, "timestamp": 1, "step": 0},
            ),
            ("api/2.0/mlflow/registered-models/create", {"name": "fzm"}),
            (
                "api/2.0/mlflow/model-versions/create",
                {"name": "fzm", "source": "s3://b/m", "run_id": "{run}"},
            ),
        ):
            status, text = self.send("POST", path, body)
            assert status == 200, text


def _json(value: Any) -> str:
    # Python's json writes NaN/Infinity and integers of any size: both are what a fuzzer sends.
    return json.dumps(value, ensure_ascii=True, default=_plain)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """(ours on ``mongodb://``, MLflow's own on ``sqlite:///``), seeded alike."""
    with fresh_database("srvfuzz") as mongo_uri:
        ours_dir, theirs_dir = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("theirs")
        managers = [
            _mlflow_server(mongo_uri, ours_dir),
            _mlflow_server(f"sqlite:///{theirs_dir / 'mlflow.db'}", theirs_dir),
        ]
        with _started_together(managers) as [(ours_base, ours_logs), (theirs_base, theirs_logs)]:
            pair = Server("ours", ours_base, ours_logs), Server("mlflow", theirs_base, theirs_logs)
            for server in pair:
                server.seed()
            yield pair


@contextlib.contextmanager
def _started_together(managers: Sequence[AbstractContextManager[Any]]) -> Iterator[list[Any]]:
    """Enter the servers' context managers at once (each waits tens of seconds for its server),
    and exit every one that started, whatever happens."""
    with ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(m.__enter__) for m in managers]
    with contextlib.ExitStack() as stack:
        for manager, future in zip(managers, futures, strict=True):
            if future.exception() is None:
                stack.push(manager.__exit__)
        yield [future.result() for future in futures]


def _surrogate(h: Hostile) -> str:
    return h.choice(("x\ud800", "\udfff", "a\x00b", "$gt", "a.b"))


def hostile_request(h: Hostile) -> tuple[str, str, Any]:
    """(method, path, body or query) for one of the endpoints a client or the UI calls."""
    from genesis_flow.core.search.ast import SearchKind

    run = "{run}" if h.chance(0.7) else h.choice(RUN_IDS)
    experiment = "{experiment}" if h.chance(0.7) else h.choice(EXPERIMENT_IDS)
    kind = h.rng.randrange(9)
    if kind in (0, 1):
        body: dict[str, Any] = {"experiment_ids": [experiment], "filter": h.filter(SearchKind.RUNS)}
        if h.chance(0.6):
            body["order_by"] = h.order_by(SearchKind.RUNS) or []
        if h.chance(0.4):
            body["max_results"] = h.max_results()
        if h.chance(0.4):
            body["page_token"] = h.forged_token()
        if h.chance(0.2):
            body["run_view_type"] = h.choice((3, "ALL", 99, -1, 10**400))
        return "POST", "api/2.0/mlflow/runs/search", body
    if kind == 2:
        metrics = [
            {
                "key": h.choice(("m", h.text())),
                "value": h.maybe(METRIC_VALUES, 0.5),
                "timestamp": h.maybe(TIMESTAMPS, 1),
                "step": h.maybe(STEPS, 0),
            }
            for _ in range(h.rng.randrange(0, 3))
        ]
        params = [{"key": h.text(), "value": h.text()} for _ in range(h.rng.randrange(0, 2))]
        tags = [{"key": h.text(), "value": h.text()} for _ in range(h.rng.randrange(0, 2))]
        return (
            "POST",
            "api/2.0/mlflow/runs/log-batch",
            {"run_id": run, "metrics": metrics, "params": params, "tags": tags},
        )
    if kind == 3:
        return "GET", "api/2.0/mlflow/experiments/get-by-name", {"experiment_name": h.text()}
    if kind == 4:
        query: dict[str, Any] = {"filter": h.filter(SearchKind.REGISTERED_MODELS)}
        if h.chance(0.6):
            query["order_by"] = h.order_by(SearchKind.REGISTERED_MODELS) or []
        if h.chance(0.4):
            query["max_results"] = h.max_results()
        if h.chance(0.4):
            query["page_token"] = h.forged_token()
        return "GET", "api/2.0/mlflow/registered-models/search", query
    if kind == 5:
        name = "fzm" if h.chance(0.6) else h.text()
        return "GET", "api/2.0/mlflow/model-versions/get", {"name": name, "version": h.choice((1, *VERSIONS))}
    if kind == 6:
        query = {"run_id": run, "metric_key": h.choice(("m", h.text()))}
        if h.chance(0.4):
            query["max_results"] = h.max_results()
        if h.chance(0.4):
            query["page_token"] = h.forged_token()
        return "GET", "api/2.0/mlflow/metrics/get-history", query
    if kind == 7:
        location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}}
        body = {"locations": [location], "filter": h.filter(SearchKind.TRACES)}
        if h.chance(0.6):
            body["order_by"] = h.order_by(SearchKind.TRACES) or []
        if h.chance(0.4):
            body["max_results"] = h.max_results()
        if h.chance(0.4):
            body["page_token"] = h.forged_token()
        return "POST", "api/3.0/mlflow/traces/search", body
    return (
        "POST",
        "api/2.0/mlflow/runs/log-parameter",
        {"run_id": run, "key": _surrogate(h), "value": h.text()},
    )


# The numbers MLflow's JSON parsing lets through to a store (the client fuzz test tries them all).
_BATCH_FIELDS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("value", (1e308, 2**63, 10**400, float("nan"), float("inf"))),
    ("timestamp", (1e15, 2**63, -1, 1.5)),
    ("step", (1.5, 2**63, -(2**63) - 1, True)),
)


def sweep() -> list[tuple[str, str, Any]]:
    """Every hostile value of the pools once, as the only hostile part of its request."""
    from genesis_flow.core.search.ast import SearchKind

    h = Hostile("server-sweep")
    runs, models = "api/2.0/mlflow/runs/search", "api/2.0/mlflow/registered-models/search"
    found: list[tuple[str, str, Any]] = []
    for entry in JUNK_ORDER:
        found.append(("POST", runs, {"experiment_ids": ["{experiment}"], "order_by": [entry]}))
        found.append(("GET", models, {"order_by": [entry]}))
    for kind, (method, path) in (
        (SearchKind.RUNS, ("POST", runs)),
        (SearchKind.REGISTERED_MODELS, ("GET", models)),
    ):
        for text in PLAIN_FILTERS[kind]:
            found.append((method, path, {"experiment_ids": ["{experiment}"], "filter": text}))
        found.append((method, path, {"experiment_ids": ["{experiment}"], "page_token": h.forged_token()}))
    point = {"key": "m", "value": 0.5, "timestamp": 1, "step": 0}
    for field, pool in _BATCH_FIELDS:
        for value in pool:
            batch = {"run_id": "{run}", "metrics": [{**point, field: value}]}
            found.append(("POST", "api/2.0/mlflow/runs/log-batch", batch))
    for text in DANGEROUS_TEXTS:
        found.append(("POST", "api/2.0/mlflow/runs/set-tag", {"run_id": "{run}", "key": "k", "value": text}))
    location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "{experiment}"}}
    for entry in ("``", "timestamp_ms DESC", "tags.``", "x\ud800"):
        found.append(("POST", "api/3.0/mlflow/traces/search", {"locations": [location], "order_by": [entry]}))
    return found


def requests() -> list[tuple[str, str, Any]]:
    count = REQUESTS_PER_EXAMPLE * hypothesis_settings().max_examples
    return sweep() + [hostile_request(Hostile(f"server-{n}")) for n in range(count)]


def test_hostile_requests_give_no_500_that_mlflow_does_not(servers: tuple[Server, Server]) -> None:
    ours, theirs = servers
    problems: list[str] = []
    for method, path, body in requests():
        before = ours.log_size(), theirs.log_size()
        status, text = ours.send(method, path, body)
        their_status, _ = theirs.send(method, path, body)
        our_log, their_log = ours.log_since(before[0]), theirs.log_since(before[1])
        shown = f"{method} /{path} {_json(body)[:300]}"
        if status >= 500 and their_status < 500:
            problems.append(f"{shown}\n      -> ours {status} {text[:300]} / mlflow {their_status}")
        if TRACEBACK in our_log and TRACEBACK not in their_log:
            last = [line for line in our_log.splitlines() if line.strip()][-1:]
            problems.append(f"{shown}\n      -> traceback in our server's log: {last}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
