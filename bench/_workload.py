"""The benchmark workload shared by bench/*.py: seeded data, the six timed rows and their checks.

Standard library only: ``_mlflow_mongodb_worker.py`` imports it in an environment that has MLflow
and a plugin but not Genesis-Flow, so only :class:`Ours` reaches for Genesis-Flow, and only when
one is built.
"""

from __future__ import annotations

import abc
import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

TS0 = 1_700_000_000_000
BATCH = 1000  # MLflow's log_batch ceiling: the batch size is the point of (b) and (f), so it is not scaled
LRS = ("0.01", "0.001", "0.1", "0.0001")
FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
ORDER = ["metrics.acc DESC"]
TOP = 100
REPEATS = 5
ROWS = ("a", "b", "c", "d", "e", "f")
MEMORY_RUNS = 500  # (c)'s memory pass: the peak of one run's calls shows long before 5000 runs
MEMORY_METHOD = (
    f"tracemalloc peak (Python heap) of one extra, untimed repetition of each workload, "
    f"writes into scratch runs; (c) repeats its first {MEMORY_RUNS} runs"
)

Point = tuple[str, float, int, int]  # key, value, timestamp, step
Pair = tuple[str, str]
Result = tuple[float, int, Any]  # median seconds, peak bytes, last answer (to verify)


class Side(abc.ABC):
    """One store behind the calls the workload makes. Entities are built before the clock starts."""

    def __init__(self, label: str, store: Any, entities: ModuleType) -> None:
        self.label, self.store, self.entities = label, store, entities

    def metrics(self, points: Sequence[Point]) -> list[Any]:
        return [self.entities.Metric(*p) for p in points]

    def params(self, pairs: Sequence[Pair]) -> list[Any]:
        return [self.entities.Param(*p) for p in pairs]

    def tags(self, pairs: Sequence[Pair]) -> list[Any]:
        return [self.entities.RunTag(*p) for p in pairs]

    def create_run(self, experiment_id: str, start_time: int, name: str) -> str:
        return str(self.store.create_run(experiment_id, "bench", start_time, [], name).info.run_id)

    @abc.abstractmethod
    def search(self, exp_id: str, flt: str, order: list[str], size: int, token: str | None) -> Any: ...

    @abc.abstractmethod
    def history(self, run_id: str, key: str) -> Sequence[Any]: ...

    @abc.abstractmethod
    def acc(self, run: Any) -> float: ...


class Ours(Side):
    """A Genesis-Flow store (any adapter of the TrackingStore port), with Genesis-Flow's entities."""

    def __init__(self, label: str, store: Any, entities: ModuleType) -> None:
        super().__init__(label, store, entities)
        from genesis_flow.core.search import SearchKind, parse_filter, parse_order_by

        self._kind, self._parse_filter, self._parse_order_by = SearchKind.RUNS, parse_filter, parse_order_by

    def search(self, exp_id: str, flt: str, order: list[str], size: int, token: str | None) -> Any:
        # Parsing is timed with the call: MLflow's store parses its strings inside the call too.
        filter_, order_by = self._parse_filter(self._kind, flt), self._parse_order_by(self._kind, order)
        page = self.store.search_runs(
            [exp_id], filter_, max_results=size, order_by=order_by, page_token=token
        )
        return list(page.items), page.next_page_token

    def history(self, run_id: str, key: str) -> Sequence[Any]:
        return self.store.get_metric_history(run_id, key).items  # type: ignore[no-any-return]

    def acc(self, run: Any) -> float:
        return float(run.data.metrics_dict["acc"])


class MLflow(Side):
    """A store behind MLflow's AbstractStore API (its own or a plugin's), with MLflow's entities."""

    def search(self, exp_id: str, flt: str, order: list[str], size: int, token: str | None) -> Any:
        view = self.entities.ViewType.ACTIVE_ONLY
        runs = self.store.search_runs([exp_id], flt, view, size, order, token)
        return list(runs), runs.token

    def history(self, run_id: str, key: str) -> Sequence[Any]:
        return self.store.get_metric_history(run_id, key)  # type: ignore[no-any-return]

    def acc(self, run: Any) -> float:
        return float(run.data.metrics["acc"])


@dataclass
class Sizes:
    log_metric_calls: int
    batches: int
    runs: int
    page: int
    history_points: int

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        return cls(*(max(1, round(n * scale)) for n in (2000, 20, 5000, 1000, 100_000)))

    def label(self, key: str) -> str:
        return {
            "a": f"log_metric x{self.log_metric_calls} (1 run)",
            "b": f"log_batch {self.batches} x {BATCH} metrics",
            "c": f"{self.runs} runs: create_run + log_batch",
            "d": f"search_runs filter+order, top {TOP}",
            "e": f"paged scan of {self.runs} runs, {self.page}/page",
            "f": f"get_metric_history, {self.history_points} points",
        }[key]


@dataclass
class RunSpec:
    name: str
    points: list[Point]
    params: list[Pair]
    tags: list[Pair]


def make_runs(count: int) -> tuple[list[RunSpec], list[float]]:
    """The runs of (c), and the acc values search (d) must return, in order. Seeded, so both stores
    hold identical data and must give identical answers; about 1 run in 8 matches the filter."""
    rng = random.Random(20240601)
    specs, hits = [], []
    for i in range(count):
        acc, lr = rng.random(), rng.choice(LRS)
        points = [("acc", acc, TS0 + i, 0)] + [
            (k, rng.random(), TS0 + i, 0) for k in ("loss", "f1", "p", "r")
        ]
        params = [("lr", lr), ("batch_size", str(rng.choice((32, 64, 128)))), ("optimizer", "adam")]
        params += [("epochs", str(10 + i % 5)), ("seed", str(i))]
        tags = [("team", f"t{i % 7}"), ("dataset", f"ds{i % 3}"), ("stage", "bench")]
        specs.append(RunSpec(f"run-{i}", points, params, tags))
        if acc > 0.5 and lr == "0.01":
            hits.append(acc)
    return specs, sorted(hits, reverse=True)[:TOP]


def timed(fn: Callable[[], Any], repeats: int = 1, again: Callable[[], Any] | None = None) -> Result:
    """Median time of ``repeats`` calls, then the heap peak of one more call (``again`` for writes,
    which must not add to the data the reads see). tracemalloc stays off while the clock runs: it
    slows allocation-heavy code several-fold, and more so on MLflow's ORM side than on ours."""
    times, answer = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    try:
        (again or fn)()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return statistics.median(times), peak, answer


def short_reason(error: BaseException, limit: int = 200) -> str:
    """One line for a failed row: the error, and the one at the bottom of its chain when that differs
    (a store that wraps the driver's error, even ``from None``, keeps it as the context)."""

    def line(e: BaseException) -> str:
        text = str(e).split(", full error:", 1)[0].strip()  # pymongo appends the whole server reply
        return f"{type(e).__name__}: {text}" if text else type(e).__name__

    root, seen = error, {id(error)}
    while (nxt := root.__cause__ or root.__context__) is not None and id(nxt) not in seen:
        root = nxt
        seen.add(id(nxt))
    reason = line(error) if root is error else f"{line(error)} <- {line(root)}"
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def run_side(
    side: Side,
    sizes: Sizes,
    specs: list[RunSpec],
    top: list[float],
    failures: dict[str, str] | None = None,
) -> dict[str, Result]:
    """Every row on one store. Without ``failures`` the first error or wrong answer propagates; with
    it, a row that fails is recorded there (row key -> short reason) and the next rows still run."""
    out: dict[str, Result] = {}

    def row(key: str, work: Callable[[], Result], check: Callable[[Any], str | None]) -> None:
        try:
            result = work()
        except Exception as error:
            if failures is None:
                raise
            failures[key] = short_reason(error)
            return
        wrong = check(result[2])
        if wrong is None:
            out[key] = result
        elif failures is None:
            raise AssertionError(f"{side.label}: {wrong}")
        else:
            failures[key] = f"wrong answer: {wrong}"

    writes = str(side.store.create_experiment("bench-writes"))
    runs_exp = str(side.store.create_experiment("bench-runs"))
    scratch = str(side.store.create_experiment("bench-scratch"))

    def log_single() -> Result:
        run_a, again_a = side.create_run(writes, TS0, "a"), side.create_run(scratch, TS0, "a")
        single = side.metrics([("loss", i / 1000, TS0 + i, i) for i in range(sizes.log_metric_calls)])
        return timed(
            lambda: [side.store.log_metric(run_a, m) for m in single],
            again=lambda: [side.store.log_metric(again_a, m) for m in single],
        )

    def log_batches() -> Result:
        run_b, again_b = side.create_run(writes, TS0, "b"), side.create_run(scratch, TS0, "b")
        batches = [
            side.metrics(
                [(f"m{k}", s / 7, TS0 + b, b * 100 + s) for s in range(BATCH // 10) for k in range(10)]
            )
            for b in range(sizes.batches)
        ]
        return timed(
            lambda: [side.store.log_batch(run_b, batch, [], []) for batch in batches],
            again=lambda: [side.store.log_batch(again_b, batch, [], []) for batch in batches],
        )

    built = [(s.name, side.metrics(s.points), side.params(s.params), side.tags(s.tags)) for s in specs]

    def create_runs(experiment_id: str, count: int) -> None:
        for i, (name, metrics, params, tags) in enumerate(built[:count]):
            side.store.log_batch(side.create_run(experiment_id, TS0 + i, name), metrics, params, tags)

    def scan() -> list[Any]:
        runs: list[Any]
        runs, token = side.search(runs_exp, "", [], sizes.page, None)
        while token:
            page, token = side.search(runs_exp, "", [], sizes.page, token)
            runs += page
        return runs

    def history() -> Result:
        run_f = side.create_run(writes, TS0, "f")
        for lo in range(0, sizes.history_points, BATCH):
            points = [("hist", j / 2, TS0 + j, j) for j in range(lo, min(lo + BATCH, sizes.history_points))]
            side.store.log_batch(run_f, side.metrics(points), [], [])
        return timed(lambda: side.history(run_f, "hist"), REPEATS)

    # A store that skips work must not win: check each answer against the data it was given.
    def check_d(runs: list[Any]) -> str | None:
        ok = [side.acc(run) for run in runs] == top
        return None if ok else f"(d) returned {len(runs)} runs or a wrong order"

    def check_e(runs: list[Any]) -> str | None:
        ok = len(runs) == len({run.info.run_id for run in runs}) == sizes.runs
        return None if ok else f"(e) saw {len(runs)} runs"

    def check_f(points: Sequence[Any]) -> str | None:
        return None if len(points) == sizes.history_points else f"(f) gave {len(points)} points"

    row("a", log_single, lambda _: None)
    row("b", log_batches, lambda _: None)
    row(
        "c",
        lambda: timed(
            lambda: create_runs(runs_exp, len(built)), again=lambda: create_runs(scratch, MEMORY_RUNS)
        ),
        lambda _: None,
    )
    row("d", lambda: timed(lambda: side.search(runs_exp, FILTER, ORDER, TOP, None)[0], REPEATS), check_d)
    row("e", lambda: timed(scan, REPEATS), check_e)
    row("f", history, check_f)
    return out
