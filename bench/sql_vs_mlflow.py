"""Genesis-Flow's SQL tracking store against MLflow's SqlAlchemyStore: same workload, same process.

Usage: python bench/sql_vs_mlflow.py [--scale 1.0] [--backends sqlite,postgres] [--json out.json]

PostgreSQL runs when GENESIS_TEST_SQL_POSTGRES_URI is set; each store gets a fresh schema, dropped
at the end. The ratio is MLflow's time divided by ours ("x faster"). See bench/README.md.
"""

from __future__ import annotations

import abc
import argparse
import gc
import json
import logging
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import quote

# MLflow must neither phone home nor log to the console while it is being measured.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
import sqlalchemy as sa
from mlflow import entities as mle
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

import genesis_flow
from genesis_flow.core import entities as gfe
from genesis_flow.core.search import SearchKind, parse_filter, parse_order_by

PG_ENV = "GENESIS_TEST_SQL_POSTGRES_URI"
TS0 = 1_700_000_000_000
BATCH = 1000  # MLflow's log_batch ceiling: the batch size is the point of (b) and (f), so it is not scaled
LRS = ("0.01", "0.001", "0.1", "0.0001")
FILTER = "metrics.acc > 0.5 and params.lr = '0.01'"
ORDER = ["metrics.acc DESC"]
TOP = 100
REPEATS = 5
# Required MLflow-time / our-time on SQLite, from the issue that asked for this benchmark.
TARGETS = {"a": 10.0, "b": 20.0, "c": 10.0, "d": 20.0, "e": 20.0, "f": 20.0}
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
    def search(self, exp_id: str, flt: str, order: list[str], size: int, token: str | None) -> Any:
        # Parsing is timed with the call: MLflow's store parses its strings inside the call too.
        filter_, order_by = parse_filter(SearchKind.RUNS, flt), parse_order_by(SearchKind.RUNS, order)
        page = self.store.search_runs(
            [exp_id], filter_, max_results=size, order_by=order_by, page_token=token
        )
        return list(page.items), page.next_page_token

    def history(self, run_id: str, key: str) -> Sequence[Any]:
        return self.store.get_metric_history(run_id, key).items  # type: ignore[no-any-return]

    def acc(self, run: Any) -> float:
        return float(run.data.metrics_dict["acc"])


class MLflow(Side):
    def search(self, exp_id: str, flt: str, order: list[str], size: int, token: str | None) -> Any:
        runs = self.store.search_runs([exp_id], flt, mle.ViewType.ACTIVE_ONLY, size, order, token)
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


def run_side(side: Side, sizes: Sizes, specs: list[RunSpec], top: list[float]) -> dict[str, Result]:
    out: dict[str, Result] = {}
    writes = str(side.store.create_experiment("bench-writes"))
    runs_exp = str(side.store.create_experiment("bench-runs"))
    scratch = str(side.store.create_experiment("bench-scratch"))

    run_a, again_a = side.create_run(writes, TS0, "a"), side.create_run(scratch, TS0, "a")
    single = side.metrics([("loss", i / 1000, TS0 + i, i) for i in range(sizes.log_metric_calls)])
    out["a"] = timed(
        lambda: [side.store.log_metric(run_a, m) for m in single],
        again=lambda: [side.store.log_metric(again_a, m) for m in single],
    )

    run_b, again_b = side.create_run(writes, TS0, "b"), side.create_run(scratch, TS0, "b")
    batches = [
        side.metrics([(f"m{k}", s / 7, TS0 + b, b * 100 + s) for s in range(BATCH // 10) for k in range(10)])
        for b in range(sizes.batches)
    ]
    out["b"] = timed(
        lambda: [side.store.log_batch(run_b, batch, [], []) for batch in batches],
        again=lambda: [side.store.log_batch(again_b, batch, [], []) for batch in batches],
    )

    built = [(s.name, side.metrics(s.points), side.params(s.params), side.tags(s.tags)) for s in specs]

    def create_runs(experiment_id: str, count: int) -> None:
        for i, (name, metrics, params, tags) in enumerate(built[:count]):
            side.store.log_batch(side.create_run(experiment_id, TS0 + i, name), metrics, params, tags)

    out["c"] = timed(
        lambda: create_runs(runs_exp, len(built)), again=lambda: create_runs(scratch, MEMORY_RUNS)
    )
    out["d"] = timed(lambda: side.search(runs_exp, FILTER, ORDER, TOP, None)[0], REPEATS)

    def scan() -> list[Any]:
        runs: list[Any]
        runs, token = side.search(runs_exp, "", [], sizes.page, None)
        while token:
            page, token = side.search(runs_exp, "", [], sizes.page, token)
            runs += page
        return runs

    out["e"] = timed(scan, REPEATS)

    run_f = side.create_run(writes, TS0, "f")
    for lo in range(0, sizes.history_points, BATCH):
        points = [("hist", j / 2, TS0 + j, j) for j in range(lo, min(lo + BATCH, sizes.history_points))]
        side.store.log_batch(run_f, side.metrics(points), [], [])
    out["f"] = timed(lambda: side.history(run_f, "hist"), REPEATS)

    # A store that skips work must not win: check each answer against the data it was given.
    accs = [side.acc(run) for run in out["d"][2]]
    assert accs == top, f"{side.label}: (d) returned {len(accs)} runs or a wrong order"
    scanned = {run.info.run_id for run in out["e"][2]}
    assert len(out["e"][2]) == len(scanned) == sizes.runs, f"{side.label}: (e) saw {len(out['e'][2])} runs"
    assert len(out["f"][2]) == sizes.history_points, f"{side.label}: (f) gave {len(out['f'][2])} points"
    return out


def open_ours(uri: str, artifact_root: str, engine: sa.Engine | None = None) -> Ours:
    try:
        from genesis_flow.adapters.sql import SqlDatabase, SqlTrackingStore
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("genesis_flow.adapters.sql"):
            raise
        # Only while the SQL adapter is being written: exercises the harness, measures nothing real.
        from genesis_flow.adapters.memory import InMemoryTrackingStore

        print(f"WARNING: {error}; 'ours' is the in-memory store, not SQL", flush=True)
        return Ours("Genesis-Flow memory", InMemoryTrackingStore(artifact_root=artifact_root), gfe)
    if engine is None:
        store = SqlTrackingStore.from_uri(uri, artifact_root=artifact_root)
    else:
        store = SqlTrackingStore(SqlDatabase(engine, uri=uri), artifact_root=artifact_root)
    return Ours(f"Genesis-Flow {genesis_flow.__version__} SqlTrackingStore", store, gfe)


def open_mlflow(uri: str, artifact_root: str) -> MLflow:
    store = SqlAlchemyStore(uri, artifact_root)  # type: ignore[no-untyped-call]
    return MLflow(f"MLflow {mlflow.__version__} SqlAlchemyStore", store, mle)


def _drop_mlflow_engine(uri: str) -> None:
    engine = SqlAlchemyStore._engine_map.pop(uri, None)  # MLflow caches one engine per URI
    if engine is not None:
        engine.dispose()


@contextmanager
def sqlite_pair(tmp: str) -> Iterator[tuple[Side, Side]]:
    mlflow_uri = f"sqlite:///{tmp}/mlflow.db"
    try:
        yield (
            open_ours(f"sqlite:///{tmp}/genesis.db", f"{tmp}/ours"),
            open_mlflow(mlflow_uri, f"{tmp}/mlflow"),
        )
    finally:
        _drop_mlflow_engine(mlflow_uri)


@contextmanager
def postgres_pair(uri: str, tmp: str) -> Iterator[tuple[Side, Side]]:
    scheme, rest = uri.split("://", 1)
    uri = "postgresql+psycopg://" + rest if scheme in ("postgresql", "postgres") else uri
    ours_schema, mlflow_schema = (f"gf_bench_{secrets.token_hex(4)}_{s}" for s in ("ours", "mlflow"))
    admin = sa.create_engine(uri, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for schema in (ours_schema, mlflow_schema):
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(uri, connect_args={"options": f"-csearch_path={ours_schema}"})
    # MLflow takes only a URI, so its schema rides in libpq's options parameter.
    mlflow_uri = f"{uri}{'&' if '?' in uri else '?'}options={quote(f'-csearch_path={mlflow_schema}')}"
    try:
        yield open_ours(uri, f"{tmp}/ours", engine), open_mlflow(mlflow_uri, f"{tmp}/mlflow")
    finally:
        engine.dispose()
        _drop_mlflow_engine(mlflow_uri)
        with admin.connect() as conn:
            for schema in (ours_schema, mlflow_schema):
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@dataclass
class Row:
    key: str
    workload: str
    target: float
    ours_s: float
    mlflow_s: float
    ours_peak_bytes: int
    mlflow_peak_bytes: int
    ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = self.mlflow_s / self.ours_s if self.ours_s > 0 else float("inf")


def bench_backend(pair: Any, sizes: Sizes) -> tuple[list[Row], str]:
    specs, top = make_runs(sizes.runs)
    with pair as (ours, theirs):
        mine, base = run_side(ours, sizes, specs, top), run_side(theirs, sizes, specs, top)
        rows = [
            Row(k, sizes.label(k), t, mine[k][0], base[k][0], mine[k][1], base[k][1])
            for k, t in TARGETS.items()
        ]
        return rows, f"{ours.label} vs {theirs.label}"


def print_table(backend: str, title: str, rows: list[Row], with_targets: bool) -> None:
    def secs(s: float) -> str:
        return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"

    def mib(b: int) -> str:
        return f"{b / 2**20:.1f} MiB"

    widths = (40, 10, 10, 14, 11, 11, 11)
    lines = [("workload", "ours", "MLflow", "MLflow/ours", "target", "ours peak", "MLflow peak")]
    for r in rows:
        ratio = f"{r.ratio:.1f}x faster" if r.ratio >= 1 else f"{1 / r.ratio:.1f}x SLOWER"
        target = f">={r.target:g}x " + ("ok" if r.ratio >= r.target else "MISS") if with_targets else "-"
        times = (secs(r.ours_s), secs(r.mlflow_s), ratio, target)
        lines.append((f"({r.key}) {r.workload}", *times, mib(r.ours_peak_bytes), mib(r.mlflow_peak_bytes)))
    print(f"\n{backend}: {title}")
    for i, cells in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.05: smoke run)")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - {"sqlite", "postgres"} or args.scale <= 0:
        parser.error(f"bad --backends {args.backends!r} or --scale {args.scale}")
    for noisy in ("alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    sizes = Sizes.scaled(args.scale)
    print(f"scale {args.scale:g}: {asdict(sizes)}")
    print(f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}, {platform.platform()}")
    print(f"time: wall clock, one pass for (a)-(c), median of {REPEATS} for (d)-(f)")
    print(f"memory: {MEMORY_METHOD}")
    if args.scale != 1:
        print("note: the targets are set for --scale 1; at other scales fixed costs shift the ratios")
    report: dict[str, Any] = {"scale": args.scale, "sizes": asdict(sizes), "memory": MEMORY_METHOD}
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as tmp:
        for backend in backends:
            if backend == "postgres" and not os.environ.get(PG_ENV):
                print(f"\npostgres: skipped ({PG_ENV} is not set)")
                continue
            folder = os.path.join(tmp, backend)
            os.mkdir(folder)
            pair = sqlite_pair(folder) if backend == "sqlite" else postgres_pair(os.environ[PG_ENV], folder)
            rows, title = bench_backend(pair, sizes)
            print_table(backend, title, rows, with_targets=backend == "sqlite")
            report[backend] = {"title": title, "rows": [asdict(r) for r in rows]}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
