"""The README's first command on a fresh virtual environment: a regular (non-editable) install."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_fresh_venv_installs_and_genesis_demo_prints_the_table(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(ROOT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    if install.returncode != 0 and "No matching distribution" in install.stderr:
        pytest.skip(f"no package index reachable for a fresh install: {install.stderr.strip()[-200:]}")
    assert install.returncode == 0, install.stderr

    # No URI configured anywhere: the data lands in ./genesis.db and survives the process.
    clean_env = {k: v for k, v in os.environ.items() if not k.endswith(("_TRACKING_URI", "_REGISTRY_URI"))}
    genesis = env_dir / "bin" / "genesis"
    demo = subprocess.run([genesis, "demo"], capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert demo.returncode == 0, demo.stderr
    assert "learning_rate" in demo.stdout and demo.stdout.count("FINISHED") == 4
    assert (tmp_path / "genesis.db").is_file()
    again = subprocess.run([genesis, "demo"], capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("FINISHED") == 8, "the second session shows both sessions' runs"
    assert "genesis-demo-classifier version 2" in again.stdout

    # The wheel puts exactly one top-level package into site-packages.
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    installed = {p.name for p in Path(site).iterdir() if (p / "__init__.py").exists()}
    ours = {"genesis_flow", "adapters", "entrypoints", "ports", "genesis_core"} & installed
    assert ours == {"genesis_flow"}
    assert sys.version_info >= (3, 10)
