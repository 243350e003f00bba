"""The contract kit: Genesis-Flow's contract suite as a pytest plugin, for any backend.

Every store behind the ports (``TrackingStore``, ``TraceStore``, ``RegistryStore``,
``ArtifactStore``) passes the same tests, compared with the in-memory reference store. A backend
author runs them on their own store, with the ``testing`` extra of ``genesis-flow-store``
(installed in the folder of a Genesis-Flow checkout)::

    pip install '.[testing]' my-backend
    pytest -p genesis_flow.testing -o genesis_kit_dirs=tests tests

with a ``conftest.py`` in ``tests/`` that overrides the one fixture, ``genesis_backend``, to
yield a :class:`Backend` whose factories make stores on a fresh, empty namespace. Tests that need
a capability the backend does not offer (see :mod:`genesis_flow.testing.backend`) are skipped,
and the end of the run prints which and why. Importing :mod:`genesis_flow` never imports this
package (it needs pytest and Hypothesis: the ``testing`` extra).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from genesis_flow.ports import RegistryStore, TrackingStore
from genesis_flow.ports.artifacts import ArtifactStore
from genesis_flow.testing.backend import (
    ARTIFACTS,
    CAPABILITIES,
    CONCURRENCY,
    IMPORT,
    REGISTRY,
    SKIPPED,
    TRACING,
    TRACKING,
    Backend,
    Unavailable,
)
from genesis_flow.testing.support import TickingClock

__all__ = [
    "ARTIFACTS",
    "CAPABILITIES",
    "CONCURRENCY",
    "IMPORT",
    "REGISTRY",
    "TRACING",
    "TRACKING",
    "Backend",
    "KitDirectory",
    "TickingClock",
    "Unavailable",
]

KIT = Path(__file__).parent / "contract"

# CI budget (DESIGN.md section 6): five backends on two cores in well under 25 minutes.
settings.register_profile(
    "ci",
    max_examples=20,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("GENESIS_HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "genesis_kit_dirs",
        "directories (relative to the rootdir) that collect the contract kit's tests, next to their "
        "own conftest.py overriding the genesis_backend fixture",
        type="paths",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "genesis_requires(*capabilities): the test runs only on a backend offering them "
        f"(any of {sorted(CAPABILITIES)}); elsewhere it is skipped with the reason",
    )
    config.addinivalue_line("markers", "slow: long-running tests (still run in CI)")


# Dir is final for typing only: subclassing keeps its whole listing (conftest.py, the user's own
# test files) and adds the kit's modules after them.
class KitDirectory(pytest.Dir):  # type: ignore[misc]
    """A directory of the user's tree that also collects the kit's test modules, as if they were
    its own files: the directory's conftest.py (its ``genesis_backend``, its hooks) applies to
    them, and their node ids read ``<directory>/test_runs.py::...``."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        yield from super().collect()
        prefix = "" if self.nodeid in ("", ".") else self.nodeid + "/"
        for path in sorted(KIT.glob("test_*.py")):
            yield _KitModule.from_parent(self, path=self.path, name=path.name, nodeid=prefix + path.name)


class _KitModule(pytest.Module):
    """A kit module placed in the user's directory. Its node's path is that directory, so the
    directory's conftest.py hooks (e.g. pytest_generate_tests) apply to its tests as to the
    directory's own; its code is the installed module."""

    def _getobj(self) -> ModuleType:
        return importlib.import_module(f"{__name__}.contract.{Path(self.name).stem}")


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    kit_dirs: list[Path] = parent.config.getini("genesis_kit_dirs")
    if any(path == Path(d).resolve() for d in kit_dirs):
        return KitDirectory.from_parent(parent, path=path)
    return None


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def genesis_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """THE fixture a backend overrides (same name, in its conftest.py). This default is the
    in-memory reference store, so the kit runs out of the box."""
    from genesis_flow.adapters.blob.local import LocalArtifactStore
    from genesis_flow.adapters.memory import InMemoryRegistryStore, InMemoryTrackingStore

    root = str(tmp_path_factory.mktemp("genesis-memory"))
    yield Backend(
        "memory",
        lambda clock: InMemoryTrackingStore(clock=clock, artifact_root=root),
        lambda clock: InMemoryRegistryStore(clock=clock),
        artifacts=lambda: LocalArtifactStore(str(tmp_path_factory.mktemp("artifacts"))),
    )


@pytest.fixture(autouse=True)
def _genesis_requires(request: pytest.FixtureRequest) -> None:
    """Applies ``genesis_requires`` markers (a test's, its class's or its module's)."""
    needed = [c for mark in request.node.iter_markers("genesis_requires") for c in mark.args]
    # A test that takes no store (e.g. two memory models checked against each other) asks
    # nothing of the backend, whatever its module's marker says.
    if needed and "genesis_backend" in request.fixturenames:
        backend: Backend = request.getfixturevalue("genesis_backend")
        backend.require(*needed)


@pytest.fixture(scope="session")
def backend(genesis_backend: Backend) -> Backend:
    """The backend under test (tests that make several stores, e.g. the state machines)."""
    return genesis_backend


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def tracking(genesis_backend: Backend, clock: TickingClock) -> TrackingStore:
    """A tracking store on a fresh namespace, reading ``clock``."""
    return genesis_backend.make_tracking(clock)


@pytest.fixture
def registry(genesis_backend: Backend, clock: TickingClock) -> RegistryStore:
    """A registry store on a fresh namespace, reading ``clock``."""
    return genesis_backend.make_registry(clock)


@pytest.fixture
def artifacts(genesis_backend: Backend) -> ArtifactStore:
    """An artifact store on a fresh, empty root."""
    return genesis_backend.make_artifacts()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SKIPPED:
        terminalreporter.section("contract kit: tests skipped for a capability the backend does not offer")
        for (backend_id, capability), count in sorted(SKIPPED.items()):
            terminalreporter.write_line(f"SKIPPED {count} on backend {backend_id}: no {capability}")
