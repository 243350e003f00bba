"""Asynchronous logging (MLflow's ``synchronous=False`` / ``MLFLOW_ENABLE_ASYNC_LOGGING``).

One background writer per tracking store. Callers append to a pending list and return at once
with a :class:`RunOperations`; the writer takes everything pending, groups it by run (keeping each
run's order) and writes it as few ``log_batch`` calls as the batch limits allow. Coalescing is
what makes it fast: a thousand ``log_metric`` calls become one write.

Guarantees:
* **No point is dropped.** The pending list is bounded (``GENESIS_ASYNC_LOGGING_MAX_PENDING``,
  default 100000 operations); a caller that finds it full waits for room instead of discarding.
  A coalesced batch the store rejects is replayed operation by operation, so one bad operation
  fails alone and the others are written. A transient store failure is retried with backoff.
* **Durability at flush.** :func:`flush` (and ``end_run``, ``set_terminated`` and interpreter
  exit) returns only after every operation submitted before it has been written by the store,
  so a crash of the process after ``flush()`` returned loses nothing.
* **Errors are not lost either.** A failed operation raises from ``RunOperations.wait()``, and
  is logged at ERROR level when it happens (MLflow does the same).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from genesis_flow.core import validation
from genesis_flow.core.errors import GenesisError, RequestLimitExceeded, TemporarilyUnavailable
from genesis_flow.entrypoints.api.exceptions import translate

if TYPE_CHECKING:
    from genesis_flow.core.entities import Metric, Param, RunTag
    from genesis_flow.ports import TrackingStore

_logger = logging.getLogger("genesis_flow")

MAX_PENDING_VAR = "GENESIS_ASYNC_LOGGING_MAX_PENDING"
_DEFAULT_MAX_PENDING = 100_000
_MAX_REMEMBERED_FAILURES = 10_000
_TRANSIENT = (TemporarilyUnavailable, RequestLimitExceeded)
_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0)

# (sequence number, run id, metrics, params, tags)
_Item = tuple[int, str, Sequence["Metric"], Sequence["Param"], Sequence["RunTag"]]


class RunOperations:
    """Handle of asynchronous writes (MLflow's ``RunOperations``). ``wait()`` blocks until they
    were written and raises the first failure as an MlflowException."""

    __slots__ = ("_operations",)

    def __init__(self, operations: Iterable[tuple[AsyncLogger, int]] = ()) -> None:
        self._operations = tuple(operations)

    @classmethod
    def combine(cls, parts: Iterable[RunOperations | None]) -> RunOperations:
        return cls(op for part in parts if part is not None for op in part._operations)

    def wait(self) -> None:
        for logger, sequence in self._operations:
            logger.wait_for(sequence)
        for logger, sequence in self._operations:
            failure = logger.failure(sequence)
            if failure is not None:
                raise translate(failure) if isinstance(failure, GenesisError) else failure

    def __repr__(self) -> str:
        return f"RunOperations({len(self._operations)} operations)"


class AsyncLogger:
    """The background writer of one tracking store. Thread-safe."""

    def __init__(self, store: TrackingStore, max_pending: int | None = None) -> None:
        self._store = store
        self._max_pending = max_pending or int(os.environ.get(MAX_PENDING_VAR) or _DEFAULT_MAX_PENDING)
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._pending: list[_Item] = []
        self._issued = 0
        self._completed = 0
        self._failures: OrderedDict[int, BaseException] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._writer_running = False  # cheaper than Thread.is_alive() on every submit
        self._idle = False

    # --- callers -----------------------------------------------------------------------------

    def submit(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> RunOperations:
        """Queue one operation (already validated by the caller). Blocks only while the pending
        list is full."""
        with self._lock:
            while len(self._pending) >= self._max_pending:
                self._ensure_writer()
                self._progress.wait()
            self._issued += 1
            sequence = self._issued
            self._pending.append((sequence, run_id, metrics, params, tags))
            if not self._writer_running:
                self._ensure_writer()
            elif self._idle:
                self._work.notify()
        return RunOperations(((self, sequence),))

    def flush(self) -> None:
        """Return when everything submitted before this call has been written (or failed)."""
        with self._lock:
            target = self._issued
            while self._completed < target:
                self._ensure_writer()
                self._progress.wait(timeout=1.0)

    def wait_for(self, sequence: int) -> None:
        with self._lock:
            while self._completed < sequence:
                self._ensure_writer()
                self._progress.wait(timeout=1.0)

    def failure(self, sequence: int) -> BaseException | None:
        with self._lock:
            return self._failures.get(sequence)

    # --- the writer ----------------------------------------------------------------------------

    def _ensure_writer(self) -> None:
        # Called with the lock held. The writer is a daemon so a forgotten flush never hangs the
        # interpreter; the atexit hook flushes before daemons stop.
        if not self._writer_running or self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="genesis-flow-async-logging", daemon=True)
            self._writer_running = True
            self._thread.start()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            with self._lock:
                self._writer_running = False

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._idle = True
                    self._work.wait(timeout=5.0)
                    self._idle = False
                items, self._pending = self._pending, []
                self._progress.notify_all()  # room for blocked callers
            failures = self._write(items)
            with self._lock:
                for sequence, error in failures:
                    self._failures[sequence] = error
                while len(self._failures) > _MAX_REMEMBERED_FAILURES:
                    self._failures.popitem(last=False)
                self._completed = items[-1][0]
                self._progress.notify_all()

    def _write(self, items: list[_Item]) -> list[tuple[int, BaseException]]:
        by_run: dict[str, list[_Item]] = {}
        for item in items:
            by_run.setdefault(item[1], []).append(item)
        failures: list[tuple[int, BaseException]] = []
        for run_id, run_items in by_run.items():
            for batch in _batches(run_items):
                failures.extend(self._write_batch(run_id, batch))
        return failures

    def _write_batch(self, run_id: str, batch: list[_Item]) -> list[tuple[int, BaseException]]:
        metrics = [m for item in batch for m in item[2]]
        params = [p for item in batch for p in item[3]]
        tags = [t for item in batch for t in item[4]]
        try:
            self._log_batch(run_id, metrics, params, tags)
            return []
        except GenesisError as error:
            if len(batch) == 1:
                self._report(run_id, batch, error)
                return [(batch[0][0], error)]
        except Exception as error:  # a bug or driver failure: fail these operations, keep going
            self._report(run_id, batch, error)
            return [(item[0], error) for item in batch]
        # The store rejected the batch as a whole and wrote nothing (log_batch is atomic):
        # replay one operation at a time so only the bad one fails.
        failures: list[tuple[int, BaseException]] = []
        for item in batch:
            try:
                self._log_batch(run_id, item[2], item[3], item[4])
            except Exception as error:
                self._report(run_id, [item], error)
                failures.append((item[0], error))
        return failures

    def _log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        for delay in (*_RETRY_DELAYS, None):
            try:
                self._store.log_batch(run_id, metrics, params, tags)
                return
            except _TRANSIENT:
                if delay is None:
                    raise
                time.sleep(delay)

    @staticmethod
    def _report(run_id: str, batch: list[_Item], error: BaseException) -> None:
        counts = (sum(len(i[2]) for i in batch), sum(len(i[3]) for i in batch), sum(len(i[4]) for i in batch))
        _logger.error(
            "Run %s: failed to log %d metrics, %d params and %d tags asynchronously: %s",
            run_id,
            *counts,
            error,
        )


def _batches(items: list[_Item]) -> list[list[_Item]]:
    """Consecutive operations of one run, packed into store batches: within the limits, and
    never two writes of one param or tag key in a batch (their order must stay observable)."""
    if all(len(item[2]) == 1 and not item[3] and not item[4] for item in items):
        # A training loop's log_metric calls: one point each, so plain slices are the batches.
        size = validation.MAX_METRICS_PER_BATCH
        return [items[i : i + size] for i in range(0, len(items), size)]
    batches: list[list[_Item]] = []
    current: list[_Item] = []
    n_metrics = n_params = n_tags = 0
    param_keys: set[str] = set()
    tag_keys: set[str] = set()
    for item in items:
        _, _, metrics, params, tags = item
        fits = (
            n_metrics + len(metrics) <= validation.MAX_METRICS_PER_BATCH
            and n_params + len(params) <= validation.MAX_PARAMS_TAGS_PER_BATCH
            and n_tags + len(tags) <= validation.MAX_PARAMS_TAGS_PER_BATCH
            and n_metrics + n_params + n_tags + len(metrics) + len(params) + len(tags)
            <= validation.MAX_ENTITIES_PER_BATCH
            and not any(p.key in param_keys for p in params)
            and not any(t.key in tag_keys for t in tags)
        )
        if current and not fits:
            batches.append(current)
            current = []
            n_metrics = n_params = n_tags = 0
            param_keys = set()
            tag_keys = set()
        current.append(item)
        n_metrics += len(metrics)
        n_params += len(params)
        n_tags += len(tags)
        param_keys.update(p.key for p in params)
        tag_keys.update(t.key for t in tags)
    if current:
        batches.append(current)
    return batches


# --- one writer per tracking URI ---------------------------------------------------------------

_registry_lock = threading.Lock()
# Keyed by (URI, store object): a store rebuilt for the same URI (memory: after a reset) gets its
# own writer instead of feeding the old store.
_loggers: dict[tuple[str, int], AsyncLogger] = {}


def async_logger(uri: str, store: TrackingStore) -> AsyncLogger:
    key = (uri, id(store))
    logger = _loggers.get(key)
    if logger is None or logger._store is not store:
        with _registry_lock:
            logger = _loggers.get(key)
            if logger is None or logger._store is not store:
                logger = _loggers[key] = AsyncLogger(store)
    return logger


def flush(uri: str | None = None) -> None:
    """Flush the writers of ``uri``, or every writer."""
    for (logger_uri, _), logger in list(_loggers.items()):
        if uri is None or logger_uri == uri:
            logger.flush()


def reset() -> None:
    """Flush and forget every writer (tests; after the stores were reset)."""
    flush()
    with _registry_lock:
        _loggers.clear()


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception as error:  # never turn a clean exit into a traceback
        _logger.error("Flushing asynchronous logging at exit failed: %s", error)


def _forget_after_fork() -> None:
    # A forked child inherits the writers' locks and pending lists but not their threads: start
    # afresh there (the parent still writes its own pending operations).
    global _registry_lock
    _registry_lock = threading.Lock()
    _loggers.clear()


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
