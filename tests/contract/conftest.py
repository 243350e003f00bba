"""Fixtures of the ONE contract suite: every test runs on every backend id.

Tests take ``tracking`` and/or ``registry``: a store on a fresh namespace, with a
:class:`~tests.support.TickingClock` (``clock``) so times are distinct and increasing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from genesis_flow.ports import RegistryStore, TrackingStore
from tests.contract.backends import BACKEND_IDS, Backend, Unavailable, open_backend, required_backends
from tests.support import TickingClock

_UNAVAILABLE: dict[str, str] = {}


@pytest.fixture(scope="session", params=BACKEND_IDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """One open backend per id per session, or a skip that says why (printed once per backend
    at the end of the run, see pytest_terminal_summary)."""
    root = tmp_path_factory.mktemp(f"artifacts-{request.param}")
    try:
        opened = open_backend(request.param, artifact_root=str(root))
    except Unavailable as exc:
        if request.param in required_backends():
            pytest.fail(f"{exc} (GENESIS_REQUIRED_BACKENDS lists it: CI must run it)", pytrace=False)
        _UNAVAILABLE[request.param] = str(exc)
        pytest.skip(str(exc))
    yield opened
    opened.close()


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def tracking(backend: Backend, clock: TickingClock) -> TrackingStore:
    return backend.make_tracking(clock)


@pytest.fixture
def registry(backend: Backend, clock: TickingClock) -> RegistryStore:
    return backend.make_registry(clock)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    import sys

    mongo_backend = sys.modules.get("tests.contract.mongo_backend")
    if mongo_backend is not None and mongo_backend.STATS:
        terminalreporter.section("contract suite: Cosmos DB throttling injected and retried")
        for backend_id, line in sorted(mongo_backend.STATS.items()):
            terminalreporter.write_line(f"backend {backend_id}: {line}")
    if _UNAVAILABLE:
        terminalreporter.section("contract suite: backends skipped")
        for backend_id, reason in sorted(_UNAVAILABLE.items()):
            terminalreporter.write_line(f"SKIPPED backend {backend_id}: {reason}")
