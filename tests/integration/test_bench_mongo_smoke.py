"""bench/ stays runnable: the Mongo benchmark at a tiny scale, our store only, against the test server.

Only that it runs and prints every row is checked here; speed is never asserted in a test. The
plugin's side needs its own environment (see bench/README.md), so it is left out with --ours-only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")


@pytest.mark.slow
def test_the_mongo_benchmark_runs_our_side_at_a_tiny_scale_and_prints_every_workload() -> None:
    if not MONGO_URI:
        pytest.skip("GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)")
    pytest.importorskip("genesis_flow.adapters.mongo", reason="the MongoDB adapter is not there yet")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "mongo_vs_mlflow_mongodb.py"),
            "--scale",
            "0.01",
            "--ours-only",
            "--mongo-uri",
            MONGO_URI,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for row in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)"):
        assert row in done.stdout, done.stdout
    assert "MongoTrackingStore" in done.stdout, done.stdout
    assert "mlflow-mongodb" not in done.stdout, done.stdout
