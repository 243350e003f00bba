"""A writer killed with SIGKILL at a random moment leaves every batch entirely stored or not at all.

A child process (:mod:`tests.integration.crash_workers`) opens the store through the composition
root, as a training job would, and loops: ``log_batch`` (200 points, 100 params, 100 tags, all
derived from the batch number), asynchronous ``log_param``/``log_metric`` with flushes, or
registered-model renames. It notes each call that returned. The test kills it at a seeded random
moment, many times, then opens the store afresh and checks through the port:

* each batch is all there (params, tags, latest values and every history point) or absent;
* every acknowledged batch is all there;
* asynchronous operations stored form a prefix of those submitted, covering every flushed one;
* after a rename cut short, the model, its versions and a search by name agree on the name.

Runs on every tracking backend that outlives a process: ``sql-sqlite``, ``sql-postgres``,
``mongo`` and ``cosmos`` (the Cosmos adapter behind the throttling proxy). A backend without its
server is skipped with the reason, or fails when ``GENESIS_REQUIRED_BACKENDS`` lists it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from genesis_flow.core.search import parse_filter
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import RegistryStore, TrackingStore
from tests.contract.backends import required_backends
from tests.integration import crash_workers as w

BACKENDS = ["sql-sqlite", "sql-postgres", "mongo", "cosmos"]
BATCH_KILLS = 30
ASYNC_KILLS = 6
RENAME_KILLS = 12
SEED = 20261123
READY_TIMEOUT = 60.0


def _required(backend_id: str) -> bool:
    return backend_id in required_backends()


def _unavailable(backend_id: str, reason: str) -> None:
    if _required(backend_id):
        pytest.fail(f"{reason} (GENESIS_REQUIRED_BACKENDS lists {backend_id})", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def forkserver() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # Imported once by the fork server: each worker is a fork of it, ready in milliseconds.
    context.set_forkserver_preload(["tests.integration.crash_workers"])
    return context


@pytest.fixture(params=BACKENDS)
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URI of a fresh, empty namespace on the backend, dropped afterwards."""
    backend_id = request.param
    if backend_id == "sql-sqlite":
        yield f"sqlite:///{tmp_path}/crash.db"
        return
    if backend_id == "sql-postgres":
        base = os.environ.get("GENESIS_TEST_SQL_POSTGRES_URI")
        if not base:
            _unavailable(backend_id, "GENESIS_TEST_SQL_POSTGRES_URI is unset")
        assert base is not None
        import sqlalchemy as sa

        from genesis_flow.adapters.sql.database import normalize_uri

        schema = f"gf_crash_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(normalize_uri(base))
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        try:
            yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            engine.dispose()
        return
    base = os.environ.get("GENESIS_TEST_MONGO_URI")
    if not base:
        _unavailable(backend_id, "GENESIS_TEST_MONGO_URI is unset")
    assert base is not None
    pytest.importorskip("pymongo", reason="pymongo is not installed (extra 'mongo')")
    import pymongo

    name = f"gf_crash_{uuid.uuid4().hex[:10]}"
    proxy: Any = None
    if backend_id == "cosmos":
        from tests.fault_proxy import ThrottlingProxy

        proxy = ThrottlingProxy(base, rate=0.2, seed=SEED, retry_after_ms=2).start()
        parts = urlsplit(proxy.uri)
        target = urlunsplit(parts._replace(path="/" + name, query=parts.query + "&genesis_cosmos=true"))
    else:
        target = urlunsplit(urlsplit(base)._replace(path="/" + name))
    try:
        yield target
    finally:
        if proxy is not None:
            proxy.stop()
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(base, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(name)


class Killer:
    """Starts a worker, waits until it reports ready, lets it work for a seeded random while and
    X"""

    def __init__(self, context: ForkServerContext, folder: Path, seed: int) -> None:
        self.context = context
        self.folder = folder
        self.random = random.Random(seed)
        self.call_seconds = 0.2  # until measured
        self.kills = 0

    def run(self, target: Callable[..., None], *args: Any) -> list[str]:
        """Run ``target(*args, ack_path)`` until killed; the lines it wrote."""
        ack = self.folder / f"ack{self.kills}"
        process = self.context.Process(target=target, args=(*args[:1], str(ack), *args[1:]), daemon=True)
        process.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not _lines(ack):
            assert process.is_alive(), f"the worker exited with {process.exitcode} before it was ready"
            assert time.monotonic() < deadline, "the worker did not get ready"
            time.sleep(0.005)
        started = time.monotonic()
        time.sleep(self.random.uniform(0, 1.5 * self.call_seconds))
        process.kill()
        process.join()
        assert process.exitcode == -9, f"the worker ended by itself ({process.exitcode}), not killed"
        self.kills += 1
        lines = _lines(ack)
        acked = len(lines) - 1
        if acked:
            # Mean of what was seen so far, weighted to the newest measurement.
            self.call_seconds = 0.5 * self.call_seconds + 0.5 * (time.monotonic() - started) / acked
        return lines


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [line for line in text.split("\n")[:-1]]  # a line without its newline is unwritten


def batch_state(tracking: TrackingStore, run: Any, n: int) -> tuple[int, int, int, int]:
    """How much of batch ``n`` the store shows: params, tags, latest values and history points
    with the expected values (all of them: see FULL)."""
    params, tags, metrics = run.data.params_dict, run.data.tags_dict, run.data.metrics_dict
    p = sum(params.get(x.key) == x.value for x in w.batch_params(n))
    t = sum(tags.get(x.key) == x.value for x in w.batch_tags(n))
    expected = w.batch_metrics(n)
    latest = {m.key: m.value for m in expected if m.step == w.STEPS - 1}
    m = sum(metrics.get(key) == value for key, value in latest.items())
    points = 0
    for key in latest:
        history = tracking.get_metric_history(run.info.run_id, key).items
        wanted = {(x.value, x.timestamp, x.step) for x in expected if x.key == key}
        got = [(x.value, x.timestamp, x.step) for x in history]
        assert len(got) == len(set(got)) and set(got) <= wanted, (n, key, got[:5])
        points += len(got)
    return p, t, m, points


FULL = (w.PARAMS, w.TAGS, w.METRIC_KEYS, w.METRIC_KEYS * w.STEPS)
NONE = (0, 0, 0, 0)


def test_log_batch_killed_anywhere_stores_each_batch_whole_or_not_at_all(
    uri: str, forkserver: ForkServerContext, tmp_path: Path
) -> None:
    from genesis_flow.entrypoints.bootstrap import build_tracking_store

    build_tracking_store(uri)  # schema and indexes exist before the first worker races to make them
    killer = Killer(forkserver, tmp_path, SEED)
    children: list[tuple[str, int, set[int]]] = []
    for k in range(BATCH_KILLS):
        first = k * 10_000
        lines = killer.run(w.log_batches, uri, first)
        run_id = lines[0].split()[1]
        acked = {int(line.split()[1]) for line in lines[1:]}
        children.append((run_id, first, acked))
    tracking = build_tracking_store(uri)
    partial, whole, absent = [], 0, 0
    for run_id, first, acked in children:
        run = tracking.get_run(run_id)
        last = max(acked, default=first - 1)
        for n in range(first, last + 2):  # the acknowledged ones and the one in flight
            state = batch_state(tracking, run, n)
            if state == FULL:
                whole += 1
            elif state == NONE:
                assert n not in acked, f"acknowledged batch {n} of run {run_id} is missing"
                absent += 1
            else:
                partial.append((run_id, n, state))
        assert batch_state(tracking, run, last + 2) == NONE
    print(
        f"\n{uri.split(':')[0]}: {killer.kills} kills, {whole} whole batches, {absent} in flight and"
        f" absent, {len(partial)} partial; mean call {killer.call_seconds * 1000:.0f} ms"
    )
    assert not partial, f"batches partly stored (params, tags, latest values, points): {partial}"


def test_asynchronous_logging_killed_anywhere_stores_a_prefix_of_what_was_logged(
    uri: str, forkserver: ForkServerContext, tmp_path: Path
) -> None:
    from genesis_flow.entrypoints.bootstrap import build_tracking_store

    build_tracking_store(uri)
    killer = Killer(forkserver, tmp_path, SEED + 1)
    children = []
    for _ in range(ASYNC_KILLS):
        lines = killer.run(w.log_asynchronously, uri)
        flushed = max((int(line.split()[1]) for line in lines[1:]), default=-1)
        children.append((lines[0].split()[1], flushed))
    tracking = build_tracking_store(uri)
    for run_id, flushed in children:
        run = tracking.get_run(run_id)
        params = {int(k[1:]) for k, value in run.data.params_dict.items() if value == k[1:]}
        steps = [m.step for m in tracking.get_metric_history(run_id, "m").items]
        # Params and points were submitted in order: what is stored of each is a prefix of
        # what was submitted (no batch cut short), covering everything flushed.
        assert params == set(range(len(params))), (run_id, sorted(params)[:5])
        assert steps == list(range(len(steps))), (run_id, steps[:5])
        assert min(len(params), len(steps)) > flushed, (run_id, len(params), len(steps), flushed)
        latest = run.data.metrics_dict.get("m")
        assert latest == (float(len(steps) - 1) if steps else None), (run_id, latest, len(steps))


def test_model_rename_killed_anywhere_leaves_one_consistent_name(
    uri: str, forkserver: ForkServerContext, tmp_path: Path
) -> None:
    from genesis_flow.entrypoints.bootstrap import build_registry_store

    registry = build_registry_store(uri)
    registry.create_registered_model("r-start")
    for _ in range(3):
        registry.create_model_version("r-start", "s3://bucket/model")
    killer = Killer(forkserver, tmp_path, SEED + 2)
    name = "r-start"
    for k in range(RENAME_KILLS):
        lines = killer.run(w.rename_model, uri, name, k * 10_000)
        acked = [line.split()[1] for line in lines[1:]]
        # The last acknowledged name, or the one the killed call was giving.
        candidates = {acked[-1] if acked else name, f"r{k * 10_000 + len(acked)}"}
        name = _consistent_name(build_registry_store(uri), candidates)


def _consistent_name(registry: RegistryStore, candidates: set[str]) -> str:
    """The model's one name after a killed renamer, checked to agree everywhere it shows."""
    versions = registry.search_model_versions(parse_filter(SearchKind.MODEL_VERSIONS, ""))
    models = registry.search_registered_models(parse_filter(SearchKind.REGISTERED_MODELS, ""))
    assert len(models.items) == 1, [m.name for m in models.items]
    name = models.items[0].name
    assert name in candidates, (name, candidates)
    by_name = registry.search_model_versions(parse_filter(SearchKind.MODEL_VERSIONS, f"name = '{name}'"))
    assert sorted(v.version for v in by_name.items) == [1, 2, 3], (name, by_name.items)
    assert {v.name for v in versions.items} == {name}, (name, [v.name for v in versions.items])
    model = registry.get_registered_model(name)
    assert {v.name for v in model.latest_versions} == {name}
    assert registry.get_model_version(name, 2).name == name
    return name
