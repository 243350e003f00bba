"""bench/ stays runnable: the SQL-vs-MLflow benchmark at a tiny scale, both stores, one run.

Only that it runs and prints every row is checked here; speed is never asserted in a test. The
figures come from full-scale runs (see bench/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_sql_benchmark_runs_at_a_tiny_scale_and_prints_every_workload() -> None:
    pytest.importorskip("mlflow", reason="the benchmark compares with MLflow's own store (dev extra)")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sql_vs_mlflow.py"), "--scale", "0.01", "--backends", "sqlite"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for row in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)"):
        assert row in done.stdout, done.stdout
    assert "MLflow" in done.stdout
