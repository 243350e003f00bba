"""bench/ stays runnable: the fluent-API-vs-MLflow benchmark (imports, log_metric) at a tiny scale.

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
def test_the_api_benchmark_runs_at_a_tiny_scale_and_prints_every_row() -> None:
    pytest.importorskip("mlflow", reason="the benchmark compares with MLflow's own fluent API (dev extra)")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "api_vs_mlflow.py"), "--scale", "0.01"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for row in ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)"):
        assert row in done.stdout, done.stdout
    assert "after `import genesis_flow`:" in done.stdout, done.stdout
    assert "MLflow" in done.stdout
