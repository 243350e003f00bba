"""Settings shared by every suite."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

# The contract kit: its Hypothesis profiles ("ci", "dev", chosen by GENESIS_HYPOTHESIS_PROFILE)
# for every suite, and its tests collected in tests/contract (genesis_kit_dirs in pyproject.toml).
pytest_plugins = ["genesis_flow.testing"]


@pytest.fixture(autouse=True)
def _restore_mlflow_settings() -> Iterator[None]:
    """The MLflow-compatible API exports what code sets (``set_tracking_uri``, ``set_experiment``)
    to ``MLFLOW_*`` variables, as MLflow does, for child processes. A test must not hand its
    experiment or URI to the next test's subprocesses: put those variables back afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(("MLFLOW_", "GENESIS_"))}
    # Real mlflow (differential and plugin tests) keeps its URIs and active experiment in module
    # globals: one test's registry URI must not decide where the next test registers.
    globals_before = {(m, a): getattr(sys.modules[m], a) for m, a in _MLFLOW_GLOBALS if m in sys.modules}
    yield
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "GENESIS_"))]:
        if key not in saved:
            del os.environ[key]
    os.environ.update(saved)
    for module, attribute in _MLFLOW_GLOBALS:
        if module in sys.modules:
            setattr(sys.modules[module], attribute, globals_before.get((module, attribute)))


_MLFLOW_GLOBALS = (
    ("mlflow.tracking._tracking_service.utils", "_tracking_uri"),
    ("mlflow.tracking._model_registry.utils", "_registry_uri"),
    ("mlflow.tracking.fluent", "_active_experiment_id"),
)
