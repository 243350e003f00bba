"""The mlflow-mongodb side of bench/mongo_vs_mlflow_mongodb.py, run in that plugin's own environment.

Usage: python bench/_mlflow_mongodb_worker.py --uri mongodb://HOST/DB --artifact-root DIR --scale S --out FILE

It imports MLflow and the plugin only, never Genesis-Flow: the plugin registers the same URI schemes
as our store, so the two never share an environment. The store class is the one the plugin
registers for ``mongodb://`` under MLflow's ``mlflow.tracking_store`` entry points, called through
MLflow's store API exactly as bench/sql_vs_mlflow.py calls MLflow's SqlAlchemyStore. It writes its
figures to FILE as JSON: per row either seconds and peak bytes, or ``failed`` with a short reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from importlib.metadata import entry_points, version
from typing import Any

# MLflow must neither phone home nor log to the console while it is being measured.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from _workload import ROWS, MLflow, Sizes, make_runs, run_side, short_reason
from mlflow import entities as mle

PLUGIN = "mlflow-mongodb"
SCHEME = "mongodb"


def plugin_store_class() -> type:
    found = [ep for ep in entry_points(group="mlflow.tracking_store") if ep.name == SCHEME]
    if not found:
        raise RuntimeError(f"no mlflow.tracking_store entry point for {SCHEME!r}: is {PLUGIN} installed?")
    return found[0].load()  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uri", required=True, help="MongoDB URI naming a fresh database")
    parser.add_argument("--artifact-root", required=True)
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--out", required=True, help="where to write the figures (JSON)")
    args = parser.parse_args(argv)
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    sizes = Sizes.scaled(args.scale)
    specs, top = make_runs(sizes.runs)
    store_class = plugin_store_class()
    label = f"MLflow {mlflow.__version__} + {PLUGIN} {version(PLUGIN)} {store_class.__name__}"
    label += f" (pymongo {version('pymongo')})"
    rows: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    try:
        side = MLflow(label, store_class(args.uri, args.artifact_root), mle)
        results = run_side(side, sizes, specs, top, failures)
    except Exception as error:  # the setup itself (connecting, creating experiments) failed
        results, reason = {}, short_reason(error)
        failures = {key: f"setup: {reason}" for key in ROWS}
    for key in ROWS:
        if key in results:
            seconds, peak, _ = results[key]
            rows[key] = {"seconds": seconds, "peak_bytes": peak}
        else:
            rows[key] = {"failed": failures.get(key, "no result")}
    with open(args.out, "w") as out:
        json.dump({"label": label, "rows": rows}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
