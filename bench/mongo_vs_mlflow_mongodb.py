"""Genesis-Flow's MongoDB tracking store against the mlflow-mongodb plugin: same workload, same server.

Usage: python bench/mongo_vs_mlflow_mongodb.py [--scale 1.0] [--mongo-uri URI] [--ours-only]
                                               [--mlflow-mongodb-python PATH] [--json out.json]

Both stores run the workload of bench/sql_vs_mlflow.py against one MongoDB server (--mongo-uri, else
GENESIS_TEST_MONGO_URI), each in a fresh database dropped at the end. The plugin registers the same
URI schemes as our store, so it never shares our environment: its side runs in a subprocess
(bench/_mlflow_mongodb_worker.py) with the interpreter of --mlflow-mongodb-python, else
GENESIS_BENCH_MLFLOW_MONGODB_PYTHON, else a venv this script creates once in the user's cache
folder. A row that fails on the plugin's side is reported as failed, not fatal. The ratio is the
plugin's time divided by ours ("x faster"). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import venv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pymongo
from _workload import MEMORY_METHOD, REPEATS, ROWS, Ours, Result, Sizes, make_runs, run_side

import genesis_flow
from genesis_flow.adapters.mongo import MongoTrackingStore
from genesis_flow.core import entities as gfe

MONGO_ENV = "GENESIS_TEST_MONGO_URI"
PYTHON_ENV = "GENESIS_BENCH_MLFLOW_MONGODB_PYTHON"
# The plugin release under test, with the MLflow of our dev environment (the plugin takes >=3.5,<4).
PLUGIN_PINS = ("mlflow==3.17.2", "mlflow-mongodb==0.1.0b2")
PLUGIN_VENV = "mlflow-mongodb-0.1.0b2"
PINS_FILE = "genesis-bench-pins.txt"  # written last: a venv without it is an interrupted install
WORKER = Path(__file__).resolve().parent / "_mlflow_mongodb_worker.py"
THEIRS = "mlflow-mongodb"
TARGET = 1.0  # the requirement: ahead on every row


def database_uri(uri: str, database: str) -> str:
    """``uri`` with its database path set to ``database`` (hosts, credentials and options kept)."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{database}"))


def open_ours(uri: str, artifact_root: str) -> Ours:
    store = MongoTrackingStore.from_uri(uri, artifact_root=artifact_root)
    return Ours(f"Genesis-Flow {genesis_flow.__version__} MongoTrackingStore", store, gfe)


def close_store(store: Any) -> None:
    """Close the store's client: the store's own ``close`` or else its database's."""
    for owner in (store, getattr(store, "database", None)):
        close = getattr(owner, "close", None)
        if callable(close):
            close()
            return


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def plugin_python(given: str | None) -> str:
    """The interpreter of the plugin's side: given, or a venv of its own in the user's cache folder,
    created on first use and reused while it holds the pinned versions."""
    if given:  # absolute: the worker runs in a temporary folder
        return os.path.abspath(given) if os.path.exists(given) else given
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "genesis-bench" / PLUGIN_VENV
    python, pins, wanted = venv_python(folder), folder / PINS_FILE, "\n".join(PLUGIN_PINS) + "\n"
    if python.exists() and pins.exists() and pins.read_text() == wanted:
        return str(python)
    print(f"installing {' '.join(PLUGIN_PINS)} into a venv of their own: {folder}", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(folder)
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PLUGIN_PINS]
    done = subprocess.run(install, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"installing {THEIRS} failed:\n{done.stderr[-3000:]}")
    pins.write_text(wanted)
    return str(python)


def run_theirs(python: str, uri: str, folder: str, scale: float) -> tuple[str, dict[str, dict[str, Any]]]:
    """The plugin's rows from the worker: each ``{"seconds", "peak_bytes"}`` or ``{"failed"}``."""
    out = os.path.join(folder, "theirs.json")
    command = [python, str(WORKER), "--uri", uri, "--artifact-root", os.path.join(folder, "theirs")]
    command += ["--scale", repr(scale), "--out", out]
    # Nothing of our environment may leak into theirs, and the worker writes nothing into the repo.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
    if done.returncode == 0 and os.path.exists(out):
        with open(out) as figures:
            report: dict[str, Any] = json.load(figures)
        return str(report["label"]), report["rows"]
    lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
    return THEIRS, {key: {"failed": f"worker: {lines[-1][:200]}"} for key in ROWS}


@dataclass
class Row:
    key: str
    workload: str
    ours_s: float
    ours_peak_bytes: int
    theirs_s: float | None = None
    theirs_peak_bytes: int | None = None
    theirs_failed: str | None = None
    ratio: float | None = field(init=False)

    def __post_init__(self) -> None:
        if self.theirs_s is None:
            self.ratio = None
        else:
            self.ratio = self.theirs_s / self.ours_s if self.ours_s > 0 else float("inf")


def make_row(key: str, workload: str, mine: Result, theirs: dict[str, Any] | None) -> Row:
    row = Row(key, workload, mine[0], mine[1])
    if theirs is None:
        return row
    if "failed" in theirs:
        return replace(row, theirs_failed=str(theirs["failed"]))
    return replace(row, theirs_s=float(theirs["seconds"]), theirs_peak_bytes=int(theirs["peak_bytes"]))


def secs(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def mib(b: int) -> str:
    return f"{b / 2**20:.1f} MiB"


def print_table(title: str, rows: list[Row], ours_only: bool) -> None:
    if ours_only:
        widths: tuple[int, ...] = (40, 10, 11)
        lines: list[tuple[str, ...]] = [("workload", "ours", "ours peak")]
        lines += [(f"({r.key}) {r.workload}", secs(r.ours_s), mib(r.ours_peak_bytes)) for r in rows]
    else:
        widths = (40, 10, 14, 19, 10, 11, 19)
        lines = [("workload", "ours", THEIRS, f"{THEIRS}/ours", "target", "ours peak", f"{THEIRS} peak")]
        for r in rows:
            if r.ratio is None:
                theirs, ratio, target, peak = "FAILED", "-", "-", "-"
            else:
                theirs = secs(r.theirs_s or 0.0)
                ratio = f"{r.ratio:.1f}x faster" if r.ratio >= 1 else f"{1 / r.ratio:.1f}x SLOWER"
                target = f">{TARGET:g}x " + ("ok" if r.ratio > TARGET else "MISS")
                peak = mib(r.theirs_peak_bytes or 0)
            figures = (secs(r.ours_s), theirs, ratio, target, mib(r.ours_peak_bytes), peak)
            lines.append((f"({r.key}) {r.workload}", *figures))
    print(f"\n{title}")
    for i, cells in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    if ours_only:
        return
    for r in rows:
        if r.theirs_failed is not None:
            print(f"({r.key}) {THEIRS} failed: {r.theirs_failed}")
    measured = [r for r in rows if r.ratio is not None]
    ahead = sum(r.ratio is not None and r.ratio > TARGET for r in measured)
    failed = "".join(f"({r.key})" for r in rows if r.ratio is None)
    print(
        f"ahead on {ahead} of {len(measured)} rows both stores completed (target: every row)"
        + (f"; {THEIRS} failed {failed}" if failed else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.05: smoke run)")
    parser.add_argument("--mongo-uri", default=os.environ.get(MONGO_ENV), help=f"default: ${MONGO_ENV}")
    parser.add_argument("--ours-only", action="store_true", help=f"time our store only, skip {THEIRS}")
    parser.add_argument(
        "--mlflow-mongodb-python",
        metavar="PATH",
        default=os.environ.get(PYTHON_ENV),
        help=f"interpreter with MLflow and {THEIRS} installed (default: ${PYTHON_ENV}, else a cached venv)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error(f"bad --scale {args.scale}")
    if not args.mongo_uri:
        parser.error(f"no MongoDB server: pass --mongo-uri or set {MONGO_ENV}")
    python = None if args.ours_only else plugin_python(args.mlflow_mongodb_python)

    sizes = Sizes.scaled(args.scale)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(args.mongo_uri)
    server = client.server_info().get("version", "?")
    print(f"scale {args.scale:g}: {asdict(sizes)}")
    print(f"Python {platform.python_version()}, pymongo {pymongo.version}, {platform.platform()}")
    print(f"server: MongoDB {server} (as it reports itself)")
    print(f"time: wall clock, one pass for (a)-(c), median of {REPEATS} for (d)-(f)")
    print(f"memory: {MEMORY_METHOD}")
    if args.scale != 1:
        print("note: fixed costs weigh more at small scales and shift the ratios")
    report: dict[str, Any] = {"scale": args.scale, "sizes": asdict(sizes), "memory": MEMORY_METHOD}
    report["server_version"] = server
    prefix = f"gf_bench_{secrets.token_hex(4)}"
    ours_db, theirs_db = f"{prefix}_ours", f"{prefix}_mlflow_mongodb"
    specs, top = make_runs(sizes.runs)
    theirs: dict[str, dict[str, Any]]
    try:
        with tempfile.TemporaryDirectory(prefix="gf-bench-") as tmp:
            ours = open_ours(database_uri(args.mongo_uri, ours_db), os.path.join(tmp, "ours"))
            try:
                mine = run_side(ours, sizes, specs, top)
            finally:
                close_store(ours.store)
                client.drop_database(ours_db)  # the plugin's side gets the server to itself
            title, theirs = ours.label, {}
            if python is not None:
                label, theirs = run_theirs(python, database_uri(args.mongo_uri, theirs_db), tmp, args.scale)
                title = f"{ours.label} vs {label}"
            rows = [make_row(k, sizes.label(k), mine[k], theirs.get(k)) for k in ROWS]
    finally:
        for database in (ours_db, theirs_db):
            client.drop_database(database)
        client.close()
    print_table(title, rows, ours_only=python is None)
    report.update(title=title, target=f"{THEIRS}/ours > {TARGET:g} on every row")
    report["rows"] = [asdict(r) for r in rows]
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
