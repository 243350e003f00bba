"""SQLite with many writers: 4 processes x 4 threads logging metrics into one file at once.

Every point must be stored, every latest value right, and no "database is locked" may reach the
caller: WAL, the busy timeout, BEGIN IMMEDIATE and the retry of transient lock errors together
must absorb the contention. The processes are spawned fresh, as separate training scripts would be.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from genesis_flow.adapters.sql import SqlDatabase, SqlTrackingStore
from genesis_flow.core.entities import Metric, Param, RunTag

PROCESSES = 4
THREADS = 4
SINGLE_POINTS = 60  # log_metric calls per thread
BATCHES = 3  # log_batch calls of BATCH_SIZE points per thread
BATCH_SIZE = 100


def _thread(store: SqlTrackingStore, run_id: str, errors: list[BaseException]) -> None:
    try:
        for step in range(SINGLE_POINTS):
            store.log_metric(run_id, Metric("single", float(step), 1000 + step, step))
        for batch in range(BATCHES):
            points = [
                Metric("batched", float(i), 5000 + batch * BATCH_SIZE + i, i) for i in range(BATCH_SIZE)
            ]
            store.log_batch(run_id, metrics=points, tags=[RunTag("batch", str(batch))])
        store.log_param(run_id, Param("done", "yes"))
    except BaseException as error:  # reported to the parent, which fails the test with it
        errors.append(error)


def _process(uri: str, experiment_id: str, run_ids: list[str]) -> list[str]:
    store = SqlTrackingStore(SqlDatabase.from_uri(uri), artifact_root="unused")
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_thread, args=(store, run_id, errors)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [f"{type(e).__name__}: {e}" for e in errors]


def test_four_processes_of_four_threads_store_every_point(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/shared.db"
    store = SqlTrackingStore(SqlDatabase.from_uri(uri), artifact_root=str(tmp_path))
    experiment_id = store.create_experiment("contended")
    run_ids = [
        [store.create_run(experiment_id, "u", 1).info.run_id for _ in range(THREADS)]
        for _ in range(PROCESSES)
    ]

    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        outcomes = pool.starmap(_process, [(uri, experiment_id, ids) for ids in run_ids])

    assert outcomes == [[] for _ in range(PROCESSES)], "errors reached the writers"
    for run_id in (r for ids in run_ids for r in ids):
        run = store.get_run(run_id)
        assert run.data.params_dict == {"done": "yes"}
        assert run.data.metrics_dict == {"single": SINGLE_POINTS - 1, "batched": BATCH_SIZE - 1}
        assert len(store.get_metric_history(run_id, "single").items) == SINGLE_POINTS
        assert len(store.get_metric_history(run_id, "batched").items) == BATCHES * BATCH_SIZE
