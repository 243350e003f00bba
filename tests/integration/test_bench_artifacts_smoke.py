"""bench/ stays runnable: the artifact round trip at 8 MiB, on every store that can run here.

Only that it runs, verifies the download and prints a row per store is checked; speed and memory
are never asserted in a test. The figures come from 1 GiB runs (see bench/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURE_ENV = "GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING"


@pytest.mark.slow
def test_the_artifact_benchmark_round_trips_a_small_file_through_every_store(tmp_path: Path) -> None:
    pytest.importorskip(
        "genesis_flow.adapters.blob.local", reason="the local artifact store is not there yet"
    )
    azure = bool(os.environ.get(AZURE_ENV))
    if azure:
        pytest.importorskip(
            "genesis_flow.adapters.blob.azure", reason="the Azure artifact store is not there yet"
        )
    figures = tmp_path / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "artifacts_roundtrip.py"),
            "--size-mb",
            "8",
            "--tmp-dir",
            str(tmp_path),
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if "round trip" in line]
    assert any(line.startswith("LocalArtifactStore ") for line in rows), done.stdout
    assert any(line.startswith("AzureBlobArtifactStore") for line in rows) is azure, done.stdout
    report = json.loads(figures.read_text())
    stores = {row["store"].split()[0] for row in report["rows"]}
    assert stores == ({"LocalArtifactStore", "AzureBlobArtifactStore"} if azure else {"LocalArtifactStore"})
    assert all(row["seconds"] > 0 and row["rss_growth_bytes"] >= 0 for row in report["rows"])
