"""Writers that tests/integration/test_crash_atomicity.py kills with SIGKILL.

Each worker opens its store through the composition root (as a user's process would), reports on
a line of its own file that it is ready, then writes in a loop and appends a line after each call
that returned. Lines are written with ``os.write`` on an unbuffered descriptor: a line is in the
file as soon as the call is acknowledged, whatever happens to the process next.

The contents of batch ``n`` follow from ``n`` alone, so the test knows what each batch should
have stored without being told. The workers run in processes forked from a
``multiprocessing`` fork server that imported this module once, so a kill costs a fork and a
store opening, not an interpreter start.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from genesis_flow.core.entities import Metric, Param, RunTag
from genesis_flow.entrypoints.api import async_logging
from genesis_flow.entrypoints.api.client import MlflowClient
from genesis_flow.entrypoints.bootstrap import build_registry_store, build_tracking_store

METRIC_KEYS = 2
STEPS = 100  # METRIC_KEYS x STEPS = 200 points per batch
PARAMS = 100
TAGS = 100
T0 = 1_700_000_000_000
ASYNC_FLUSH_EVERY = 200

# Loaded here, so the fork server imports each adapter once instead of every worker importing it.
for _adapter in ("sql", "mongo", "cosmos"):
    with contextlib.suppress(ImportError):  # a driver extra not installed: its tests skip
        importlib.import_module(f"genesis_flow.adapters.{_adapter}")


def batch_params(n: int) -> list[Param]:
    return [Param(f"p{n}_{j}", f"{n}-{j}") for j in range(PARAMS)]


def batch_tags(n: int) -> list[RunTag]:
    return [RunTag(f"t{n}_{j}", f"{n}:{j}") for j in range(TAGS)]


def batch_metrics(n: int) -> list[Metric]:
    return [
        Metric(f"b{n}_{k}", float(n * 1000 + step), T0 + n, step)
        for k in range(METRIC_KEYS)
        for step in range(STEPS)
    ]


@contextmanager
def _lines(path: str) -> Iterator[Callable[[str], int]]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        yield lambda text: os.write(fd, f"{text}\n".encode())
    finally:
        os.close(fd)


def log_batches(uri: str, ack_path: str, first: int) -> None:
    """Create a run, then log batch ``first``, ``first + 1``, ... forever."""
    store = build_tracking_store(uri)
    with _lines(ack_path) as say:
        run_id = store.create_run("0", "crash", T0, run_name=f"crash-{first}").info.run_id
        say(f"run {run_id}")
        n = first
        while True:
            store.log_batch(run_id, metrics=batch_metrics(n), params=batch_params(n), tags=batch_tags(n))
            say(f"ack {n}")
            n += 1


def log_asynchronously(uri: str, ack_path: str) -> None:
    """Create a run, then log param ``p{i}`` and point ``(value i, step i)`` of metric ``m``
    asynchronously, flushing every ASYNC_FLUSH_EVERY operations; a flushed ``i`` is acknowledged."""
    client = MlflowClient(tracking_uri=uri)
    with _lines(ack_path) as say:
        run_id = client.create_run("0").info.run_id
        say(f"run {run_id}")
        i = 0
        while True:
            client.log_param(run_id, f"p{i}", str(i), synchronous=False)
            client.log_metric(run_id, "m", float(i), timestamp=T0 + i, step=i, synchronous=False)
            if i % ASYNC_FLUSH_EVERY == ASYNC_FLUSH_EVERY - 1:
                async_logging.flush()
                say(f"ack {i}")
            i += 1


def rename_model(uri: str, ack_path: str, name: str, first: int) -> None:
    """Rename the model ``name`` to ``r{first}``, ``r{first + 1}``, ... forever."""
    registry = build_registry_store(uri)
    with _lines(ack_path) as say:
        say("run -")
        current, n = name, first
        while True:
            registry.rename_registered_model(current, f"r{n}")
            say(f"ack r{n}")
            current, n = f"r{n}", n + 1
