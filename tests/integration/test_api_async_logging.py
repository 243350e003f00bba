"""Asynchronous logging: coalesced writes, nothing dropped, errors kept, durable at flush."""

from __future__ import annotations

import json
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

import genesis_flow
from genesis_flow.adapters.memory import InMemoryTrackingStore
from genesis_flow.core.entities import Metric, Param, RunTag
from genesis_flow.core.errors import TemporarilyUnavailable
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.api import config, fluent, state
from genesis_flow.entrypoints.api.async_logging import AsyncLogger
from genesis_flow.exceptions import MlflowException


class CountingStore:
    """A real memory store that counts (and can slow down or fail) log_batch calls."""

    def __init__(self, delay: float = 0.0, transient_failures: int = 0) -> None:
        self.inner = InMemoryTrackingStore()
        self.batches: list[tuple[int, int, int]] = []
        self.delay = delay
        self.transient_failures = transient_failures

    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = ()) -> None:
        if self.transient_failures:
            self.transient_failures -= 1
            raise TemporarilyUnavailable("the database is restarting")
        time.sleep(self.delay)
        self.inner.log_batch(run_id, metrics, params, tags)
        self.batches.append((len(metrics), len(params), len(tags)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def run_id(store: CountingStore) -> str:
    return store.inner.create_run("0", "me", 0).info.run_id


def history(store: CountingStore, run_id: str, key: str) -> list[Metric]:
    return list(store.inner.get_metric_history(run_id, key).items)


def test_many_log_metric_calls_are_coalesced_into_few_batches(store: CountingStore, run_id: str) -> None:
    writer = AsyncLogger(store)
    store.delay = 0.01  # while one batch is written, the next accumulates
    for step in range(5000):
        writer.submit(run_id, (Metric("loss", step / 10, 1000 + step, step),))
    writer.flush()
    assert len(history(store, run_id, "loss")) == 5000
    assert sum(m for m, _, _ in store.batches) == 5000
    assert len(store.batches) <= 50, store.batches[:20]
    assert max(m + p + t for m, p, t in store.batches) <= 1000  # MLflow's batch limit


def test_a_full_queue_makes_callers_wait_and_drops_nothing(store: CountingStore, run_id: str) -> None:
    writer = AsyncLogger(store, max_pending=10)
    store.delay = 0.002
    for step in range(300):
        writer.submit(run_id, (Metric("m", 1.0, 1, step),))
    writer.flush()
    assert [m.step for m in history(store, run_id, "m")] == list(range(300))


def test_a_bad_operation_fails_alone_and_the_others_are_written(store: CountingStore, run_id: str) -> None:
    writer = AsyncLogger(store)
    store.inner.log_param(run_id, Param("lr", "0.1"))
    store.delay = 0.02
    writer.submit(run_id, (Metric("m", 1.0, 1, 0),))  # written while the rest queues up
    before = writer.submit(run_id, (Metric("m", 2.0, 2, 1),))
    bad = writer.submit(run_id, params=(Param("lr", "0.2"),))  # changing a param is refused
    after = writer.submit(run_id, (Metric("m", 3.0, 3, 2),), tags=(RunTag("t", "v"),))
    writer.flush()
    before.wait()
    after.wait()
    with pytest.raises(MlflowException) as caught:
        bad.wait()
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert [m.value for m in history(store, run_id, "m")] == [1.0, 2.0, 3.0]
    run = store.inner.get_run(run_id)
    assert run.data.params_dict == {"lr": "0.1"} and run.data.tags_dict["t"] == "v"


def test_repeated_tag_keys_keep_their_order(store: CountingStore, run_id: str) -> None:
    writer = AsyncLogger(store)
    for value in ("a", "b", "c"):
        writer.submit(run_id, tags=(RunTag("phase", value),))
    writer.flush()
    assert store.inner.get_run(run_id).data.tags_dict["phase"] == "c"


def test_transient_store_failures_are_retried(store: CountingStore, run_id: str) -> None:
    store.transient_failures = 2
    writer = AsyncLogger(store)
    operation = writer.submit(run_id, (Metric("m", 1.0, 1, 0),))
    operation.wait()
    assert len(history(store, run_id, "m")) == 1


def test_callers_in_many_threads_lose_nothing(store: CountingStore, run_id: str) -> None:
    writer = AsyncLogger(store)

    def log(thread: int) -> None:
        for step in range(500):
            writer.submit(run_id, (Metric(f"m{thread}", float(step), 1, step),))

    threads = [threading.Thread(target=log, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    assert all(len(history(store, run_id, f"m{i}")) == 500 for i in range(8))


def clean_env() -> dict[str, str]:
    """The environment without MLflow/Genesis settings, so a child picks its own store and run."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GENESIS_"))}


@pytest.fixture
def fresh_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("TRACKING_URI", "ENABLE_ASYNC_LOGGING", "EXPERIMENT_ID", "EXPERIMENT_NAME", "RUN_ID"):
        monkeypatch.delenv("MLFLOW_" + name, raising=False)
        monkeypatch.delenv("GENESIS_" + name, raising=False)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/async.db"
    genesis_flow.set_tracking_uri(uri)
    yield uri
    fluent.end_run()
    state.reset()
    config.reset()
    config.forget_stores()
    bootstrap.reset_memory_stores()


def test_fluent_async_log_metric_lands_by_end_run(fresh_api: str) -> None:
    with genesis_flow.start_run() as run:
        operations = [genesis_flow.log_metric("loss", i / 3, step=i, synchronous=False) for i in range(2000)]
        genesis_flow.log_params({"a": 1, "b": 2}, synchronous=False)
        genesis_flow.set_tags({"t": "v"}, synchronous=False)
    assert all(op is not None for op in operations)
    client = genesis_flow.MlflowClient()
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 2000
    data = client.get_run(run.info.run_id).data
    assert data.params == {"a": "1", "b": "2"} and data.tags["t"] == "v"
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_async_bad_input_fails_in_the_callers_frame(fresh_api: str) -> None:
    with genesis_flow.start_run(), pytest.raises(MlflowException) as caught:
        genesis_flow.log_metric("bad key!", 1.0, synchronous=False)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_crash_after_flush_loses_nothing(tmp_path: Path) -> None:
    # The process is killed (no atexit, no cleanup) right after flush_async_logging returned.
    uri = f"sqlite:///{tmp_path}/crash.db"
    script = f"""
        import os, json, genesis_flow as mlflow
        mlflow.set_tracking_uri({uri!r})
        run = mlflow.start_run()
        for i in range(20000):
            mlflow.log_metric("loss", i * 0.5, step=i, synchronous=False)
        mlflow.log_params({{"p%d" % i: i for i in range(150)}}, synchronous=False)
        mlflow.flush_async_logging()
        print(json.dumps(run.info.run_id), flush=True)
        os._exit(9)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert done.returncode == 9, done.stderr[-2000:]
    run_id = json.loads(done.stdout.strip().splitlines()[-1])
    client = genesis_flow.MlflowClient(tracking_uri=uri)
    assert len(client.get_metric_history(run_id, "loss")) == 20000
    assert len(client.get_run(run_id).data.params) == 150
    config.forget_stores()
    bootstrap.reset_memory_stores()


def test_interpreter_exit_flushes_pending_points(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/exit.db"
    script = f"""
        import json, genesis_flow as mlflow
        mlflow.set_tracking_uri({uri!r})
        run = mlflow.start_run()
        for i in range(5000):
            mlflow.log_metric("loss", float(i), step=i, synchronous=False)
        print(json.dumps(run.info.run_id), flush=True)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run_id = json.loads(done.stdout.strip().splitlines()[-1])
    client = genesis_flow.MlflowClient(tracking_uri=uri)
    assert len(client.get_metric_history(run_id, "loss")) == 5000
    assert client.get_run(run_id).info.status == "FINISHED"  # the atexit end_run
    config.forget_stores()
    bootstrap.reset_memory_stores()
