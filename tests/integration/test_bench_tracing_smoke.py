"""bench/ stays runnable: the tracing benchmark at its --quick size, against MLflow's own store.

Only that it runs, checks its answers and prints every row is checked here; speed is never asserted
in a test. The figures come from full-scale runs (see bench/README.md). Our side runs on the
in-memory and SQLite stores, and on MongoDB when the test server is there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")
ROWS = ("(w1)", "(s1)", "(s2)", "(s3)", "(s4)", "(s5)", "(s6)", "(g)", "(w2)")


@pytest.mark.slow
def test_the_tracing_benchmark_runs_quick_and_prints_every_row() -> None:
    pytest.importorskip("mlflow", reason="the benchmark compares with MLflow's own store (dev extra)")
    backends = ["memory", "sqlite"] + (["mongo"] if MONGO_URI else [])
    command = [sys.executable, str(ROOT / "bench" / "tracing_vs_mlflow.py"), "--quick"]
    command += ["--backends", ",".join(backends)]
    env = {k: v for k, v in os.environ.items() if k != "GENESIS_TEST_SQL_POSTGRES_URI"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MLflow" in done.stdout and "SqlAlchemyStore" in done.stdout, done.stdout
    for backend in backends:
        table = done.stdout.split(f"\n{backend}: ", 1)
        assert len(table) == 2, f"no table for {backend}:\n{done.stdout}"
        for row in ROWS:
            assert row in table[1], f"{row} missing for {backend}:\n{done.stdout}"
    assert "skipped: " not in done.stdout, done.stdout
