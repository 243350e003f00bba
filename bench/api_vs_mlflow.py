"""`import genesis_flow as mlflow` against `import mlflow`: import cost and fluent log_metric throughput.

Usage: python bench/api_vs_mlflow.py [--scale 1.0] [--json out.json]

Every measurement runs in a fresh child process (this script with --worker, or a one-line
`python -c`), so neither library is ever loaded next to the other. Imports: the `import` statement's
wall time, the whole child's wall time and its peak RSS above a child that imports nothing, median
of several children. log_metric: the fluent API inside one run, on a fresh SQLite database per side,
synchronous and with synchronous=False plus a flush; every point is read back afterwards. Ratios are
MLflow's time divided by ours ("x faster"), measured in the same run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
HEAVY = ("mlflow", "sqlalchemy", "pymongo")  # none of these may be loaded by `import genesis_flow`
# Settings a child must not inherit: URIs, and the run context (experiment, run, async switch).
_SETTINGS = (
    "TRACKING_URI",
    "REGISTRY_URI",
    "EXPERIMENT_ID",
    "EXPERIMENT_NAME",
    "RUN_ID",
    "ENABLE_ASYNC_LOGGING",
)
URI_VARS = tuple(prefix + name for name in _SETTINGS for prefix in ("GENESIS_", "MLFLOW_"))
SIDES = {"ours": "genesis_flow", "mlflow": "mlflow"}
# Targets from the issue that asked for this benchmark.
IMPORT_TIME_TARGET = 10.0  # MLflow's import time / ours
IMPORT_MEMORY_TARGET = 5.0  # MLflow's peak RSS growth / ours
ASYNC_RATE_TARGET = 100_000.0  # our points/s, async log_metric up to the flush's return

# The import child: nothing but the statement runs under the clock, and the peak RSS is read before
# anything else is imported. `pass` is the baseline: the interpreter and its site imports. On Linux the
# peak is VmHWM, the high-water mark of the child's own address space: ru_maxrss would not do there,
# since exec carries the parent's high-water mark into the child's (subprocess forks this process,
# whose RSS is above a bare interpreter's). Elsewhere ru_maxrss (KiB, bytes on macOS).
IMPORT_CHILD = """\
import resource, sys, time
before = len(sys.modules)
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * {rss_unit}
added = len(sys.modules) - before
loaded = [name for name in {heavy!r} if name in sys.modules]
print(repr((elapsed, peak, added, loaded)))
"""
RSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass
class Sizes:
    sync_points: int
    async_points: int
    mlflow_async_points: int
    import_repeats: int

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        sync, async_, mlflow_async = (max(1, round(n * scale)) for n in (2000, 200_000, 2000))
        return cls(sync, async_, mlflow_async, max(3, round(7 * scale)))


# --- the children ---------------------------------------------------------------------------------


@dataclass
class ImportFigures:
    statement_s: float
    process_s: float
    peak_rss_bytes: int
    modules_added: int
    heavy_loaded: list[str]


def import_once(statement: str, cwd: str, env: dict[str, str]) -> ImportFigures:
    code = IMPORT_CHILD.format(statement=statement, heavy=HEAVY, rss_unit=RSS_UNIT)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env)
    process_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"`{statement}` failed in a child process:\n{done.stderr[-3000:]}")
    elapsed, peak, added, loaded = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    return ImportFigures(elapsed, process_s, peak, added, loaded)


def measure_imports(repeats: int, cwd: str, env: dict[str, str]) -> dict[str, ImportFigures]:
    """Median of ``repeats`` children per statement, after one untimed child each (bytecode
    caches written, files in the page cache: what every import after a package's first sees)."""
    statements = {"baseline": "pass", "ours": "import genesis_flow", "mlflow": "import mlflow"}
    for statement in statements.values():
        import_once(statement, cwd, env)
    samples: dict[str, list[ImportFigures]] = {side: [] for side in statements}
    for _ in range(repeats):
        for side, statement in statements.items():
            samples[side].append(import_once(statement, cwd, env))
    medians = {}
    for side, runs in samples.items():
        medians[side] = ImportFigures(
            statistics.median(r.statement_s for r in runs),
            statistics.median(r.process_s for r in runs),
            int(statistics.median(r.peak_rss_bytes for r in runs)),
            runs[-1].modules_added,
            runs[-1].heavy_loaded,
        )
    return medians


def worker(side: str, mode: str, points: int, folder: str) -> dict[str, Any]:
    """One side's log_metric run, in its own process: fluent API, fresh SQLite file, one run."""
    import logging

    uri = f"sqlite:///{folder}/{'mlflow' if side == 'mlflow' else 'genesis'}.db"
    if side == "mlflow":
        import mlflow as api
    else:
        import genesis_flow as api
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # after the import, which sets it to INFO
    api.set_tracking_uri(uri)
    run_id = api.start_run().info.run_id
    synchronous = mode == "sync"
    # The first call is on the clock, with whatever it sets up (MLflow starts its async pool there).
    start = time.perf_counter()
    for i in range(points):
        api.log_metric("loss", i * 0.001, step=i, synchronous=synchronous)
    calls_s = time.perf_counter() - start
    if not synchronous:
        api.flush_async_logging()
    total_s = time.perf_counter() - start
    api.end_run()

    if side == "mlflow":
        history = api.MlflowClient(uri).get_metric_history(run_id, "loss")
    else:
        history = api.build_tracking_store(uri).get_metric_history(run_id, "loss").items
    steps = sorted(m.step for m in history)
    if steps != list(range(points)):
        raise SystemExit(
            f"{side} {mode}: {len(history)} points stored for {points} logged "
            f"({len(set(steps))} distinct steps): points were lost or duplicated"
        )
    return {"calls_s": calls_s, "total_s": total_s, "stored": len(history)}


@dataclass
class Throughput:
    points: int
    calls_s: float
    total_s: float

    @property
    def rate(self) -> float:
        return self.points / self.total_s

    @property
    def call_rate(self) -> float:
        return self.points / self.calls_s


def run_worker(side: str, mode: str, points: int, tmp: str, env: dict[str, str]) -> Throughput:
    folder = os.path.join(tmp, f"{side}-{mode}")
    os.mkdir(folder)
    argv = [sys.executable, os.path.abspath(__file__), "--worker", side, mode, str(points), folder]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=folder, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{side} log_metric {mode} x{points} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Throughput(points, figures["calls_s"], figures["total_s"])


# --- the report -----------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    ours: str
    mlflow: str
    ratio: str
    target: str


def secs(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def mib(b: float) -> str:
    return f"{b / 2**20:.1f} MiB"


def per_s(rate: float) -> str:
    return f"{rate:,.0f} pts/s"


def times(ratio: float, word: str = "faster", opposite: str = "SLOWER") -> str:
    return f"{ratio:.1f}x {word}" if ratio >= 1 else f"{1 / ratio:.1f}x {opposite}"


def check(value: float, target: float, label: str) -> str:
    return f">={label} " + ("ok" if value >= target else "MISS")


def import_rows(m: dict[str, ImportFigures], repeats: int) -> list[Row]:
    ours, theirs, base = m["ours"], m["mlflow"], m["baseline"]
    time_ratio = theirs.statement_s / ours.statement_s
    grow_ours = max(ours.peak_rss_bytes - base.peak_rss_bytes, 0)
    grow_theirs = max(theirs.peak_rss_bytes - base.peak_rss_bytes, 0)
    memory_ratio = grow_theirs / grow_ours if grow_ours else float("inf")
    return [
        Row(
            "a",
            f"import statement, median of {repeats}",
            secs(ours.statement_s),
            secs(theirs.statement_s),
            times(time_ratio),
            check(time_ratio, IMPORT_TIME_TARGET, f"{IMPORT_TIME_TARGET:g}x"),
        ),
        Row(
            "b",
            "whole child process, start to exit",
            secs(ours.process_s),
            secs(theirs.process_s),
            times(theirs.process_s / ours.process_s),
            "-",
        ),
        Row(
            "c",
            "peak RSS above a bare interpreter",
            mib(grow_ours),
            mib(grow_theirs),
            times(memory_ratio, "leaner", "HEAVIER"),
            check(memory_ratio, IMPORT_MEMORY_TARGET, f"{IMPORT_MEMORY_TARGET:g}x"),
        ),
        Row("d", "modules the import loads", str(ours.modules_added), str(theirs.modules_added), "-", "-"),
    ]


def throughput_rows(sync: dict[str, Throughput], async_: dict[str, Throughput]) -> list[Row]:
    ours, theirs = async_["ours"], async_["mlflow"]
    points = f"x{ours.points}" if ours.points == theirs.points else f"x{ours.points} / x{theirs.points}"
    return [
        Row(
            "e",
            f"log_metric sync, x{sync['ours'].points}",
            per_s(sync["ours"].rate),
            per_s(sync["mlflow"].rate),
            times(sync["ours"].rate / sync["mlflow"].rate),
            "-",
        ),
        Row(
            "f",
            f"log_metric async to flush, {points}",
            per_s(ours.rate),
            per_s(theirs.rate),
            times(ours.rate / theirs.rate),
            check(ours.rate, ASYNC_RATE_TARGET, f"{ASYNC_RATE_TARGET / 1000:g}k/s"),
        ),
        Row(
            "g",
            "log_metric async, calls only (same runs)",
            per_s(ours.call_rate),
            per_s(theirs.call_rate),
            times(ours.call_rate / theirs.call_rate),
            "-",
        ),
    ]


def print_table(title: str, rows: list[Row]) -> None:
    widths = (46, 14, 14, 14, 12)
    lines = [("measurement", "ours", "MLflow", "MLflow/ours", "target")]
    lines += [(f"({r.key}) {r.label}", r.ours, r.mlflow, r.ratio, r.target) for r in rows]
    print(f"\n{title}")
    for i, cells in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.01: smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    # One side's log_metric run, in the child process the bench starts for it.
    parser.add_argument("--worker", nargs=4, metavar=("SIDE", "MODE", "N", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        side, mode, points, folder = args.worker
        print(json.dumps(worker(side, mode, int(points), folder)))
        return 0
    if args.scale <= 0:
        parser.error(f"bad --scale {args.scale}")

    sizes = Sizes.scaled(args.scale)
    env = {**os.environ, **TELEMETRY_OFF}
    for name in URI_VARS:
        env.pop(name, None)  # each worker sets its own URI and run; nothing may point elsewhere
    print(f"scale {args.scale:g}: {asdict(sizes)}")
    print(
        f"Genesis-Flow {version('genesis-flow-store')}, MLflow {version('mlflow')}, "
        f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} cores"
    )
    print("imports: fresh child per measurement, one untimed child per statement first, medians")
    print("memory: child's peak RSS (VmHWM on Linux) minus that of a child that imports nothing")
    print("log_metric: one child per side and mode, fluent API, one run, fresh SQLite file per side")
    if args.scale != 1:
        print("note: the targets are set for --scale 1; at other scales fixed costs shift the ratios")
    if sizes.mlflow_async_points != sizes.async_points:
        print(
            f"note: MLflow's async side logs {sizes.mlflow_async_points} points, not "
            f"{sizes.async_points} (about 200 points/s); rates are compared, not totals"
        )

    report: dict[str, Any] = {"scale": args.scale, "sizes": asdict(sizes), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="gf-bench-api-") as tmp:
        imports = measure_imports(sizes.import_repeats, tmp, env)
        rows = import_rows(imports, sizes.import_repeats)
        base = imports["baseline"]
        print_table("import, one fresh process each (ours: genesis_flow)", rows)
        print(f"bare interpreter: {secs(base.process_s)} start to exit, {mib(base.peak_rss_bytes)} peak RSS")
        loaded = imports["ours"].heavy_loaded
        print(
            "after `import genesis_flow`: "
            + ", ".join(f"{n} {'LOADED' if n in loaded else 'not loaded'}" for n in HEAVY)
            + (" (ok)" if not loaded else " (MISS)")
        )
        report["imports"] = {side: asdict(f) for side, f in imports.items()}

        sync = {side: run_worker(side, "sync", sizes.sync_points, tmp, env) for side in SIDES}
        async_ = {
            "ours": run_worker("ours", "async", sizes.async_points, tmp, env),
            "mlflow": run_worker("mlflow", "async", sizes.mlflow_async_points, tmp, env),
        }
        more = throughput_rows(sync, async_)
        print_table("log_metric on SQLite, fluent API inside one run, every point read back", more)
        rows += more
        report["log_metric"] = {
            "sync": {side: {**asdict(t), "rate": t.rate} for side, t in sync.items()},
            "async": {
                side: {**asdict(t), "rate": t.rate, "call_rate": t.call_rate} for side, t in async_.items()
            },
        }
    report["rows"] = [asdict(r) for r in rows]
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
