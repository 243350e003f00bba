"""Test isolation for the MLflow-compatible API: one fixture the API test modules share."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.api import config, fluent, state

_VARS = (
    "TRACKING_URI",
    "REGISTRY_URI",
    "EXPERIMENT_NAME",
    "EXPERIMENT_ID",
    "RUN_ID",
    "ENABLE_ASYNC_LOGGING",
    "TRUNCATE_LONG_VALUES",
)
ENV_VARS = tuple(prefix + name for prefix in ("MLFLOW_", "GENESIS_") for name in _VARS)


def reset_stores() -> None:
    """Forget state, URIs, cached stores and the memory: stores, but not the async writers (a
    test of a reset's effect on them calls this on purpose; fluent.reset() would clear them)."""
    state.reset()
    config.reset()
    config.forget_stores()
    bootstrap.reset_memory_stores()


@pytest.fixture(autouse=True)
def clean_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No URI, experiment, run or async setting leaks in or out; artifacts land in tmp_path."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    reset_stores()
    yield
    with contextlib.suppress(Exception):
        while fluent.active_run() is not None:
            fluent.end_run()
    reset_stores()
    # set_tracking_uri / set_experiment / end_run write os.environ themselves.
    for name in ENV_VARS:
        os.environ.pop(name, None)
