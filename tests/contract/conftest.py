"""Our backends for the contract kit (genesis_flow.testing): every kit test runs on every id.

The kit's tests are collected here (``genesis_kit_dirs`` in pyproject.toml) and take their stores
from ``genesis_backend``, overridden below: tracking and registry tests run on each of
``BACKEND_IDS``, artifact tests on each of ``ARTIFACT_BACKEND_IDS``. A backend that cannot run is
skipped with its reason (printed once per backend at the end of the run), unless
GENESIS_REQUIRED_BACKENDS lists it: then it fails.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from genesis_flow.testing import Backend, Unavailable
from tests.contract.artifact_backends import ARTIFACT_BACKEND_IDS, open_artifact_backend
from tests.contract.backends import BACKEND_IDS, open_backend, required_backends

_UNAVAILABLE: dict[str, str] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "genesis_backend" in metafunc.fixturenames:
        ids = ARTIFACT_BACKEND_IDS if "artifacts" in metafunc.fixturenames else BACKEND_IDS
        metafunc.parametrize("genesis_backend", ids, indirect=True, scope="session")


@pytest.fixture(scope="session")
def genesis_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """One open backend per id per session, or a skip that says why."""
    backend_id: str = request.param
    try:
        if backend_id in ARTIFACT_BACKEND_IDS:
            opened = open_artifact_backend(
                backend_id,
                scratch=lambda: tmp_path_factory.mktemp(f"artifact-root-{backend_id}"),
                env=dict(os.environ),
            )
        else:
            root = tmp_path_factory.mktemp(f"artifacts-{backend_id}")
            opened = open_backend(backend_id, artifact_root=str(root))
    except Unavailable as exc:
        if backend_id in required_backends():
            pytest.fail(f"{exc} (GENESIS_REQUIRED_BACKENDS lists it: CI must run it)", pytrace=False)
        _UNAVAILABLE[backend_id] = str(exc)
        pytest.skip(str(exc))
    yield opened
    opened.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    mongo_backend = sys.modules.get("tests.contract.mongo_backend")
    if mongo_backend is not None and mongo_backend.STATS:
        terminalreporter.section("contract suite: Cosmos DB throttling injected and retried")
        for backend_id, line in sorted(mongo_backend.STATS.items()):
            terminalreporter.write_line(f"backend {backend_id}: {line}")
    if _UNAVAILABLE:
        terminalreporter.section("contract suite: backends skipped")
        for backend_id, reason in sorted(_UNAVAILABLE.items()):
            terminalreporter.write_line(f"SKIPPED backend {backend_id}: {reason}")
