"""What a backend hands the kit: store factories and the capabilities it offers.

A backend is not a store but a maker of stores: every test gets stores on a fresh, empty
namespace, so tests never see each other's data. A factory left ``None`` is a capability the
backend does not offer; the tests that need it are skipped with a printed reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from attrs import define, field

from genesis_flow.ports import Clock, RegistryStore, TrackingStore
from genesis_flow.ports.artifacts import ArtifactStore

# Capabilities a test declares with ``@pytest.mark.genesis_requires(...)``. The first three
# follow from the factories; the others are promises a backend makes in ``capabilities``.
TRACKING = "tracking"
REGISTRY = "registry"
ARTIFACTS = "artifacts"
TRACING = "tracing"  # the tracking store is also a TraceStore
IMPORT = "import"  # the import_* methods (`genesis migrate`) keep ids and times
CONCURRENCY = "concurrency"  # several threads may share one store
CAPABILITIES = frozenset({TRACKING, REGISTRY, ARTIFACTS, TRACING, IMPORT, CONCURRENCY})
DECLARED = CAPABILITIES - {TRACKING, REGISTRY, ARTIFACTS}


class Unavailable(Exception):
    """The backend cannot run here; the message says why (a server unset or unreachable)."""


def _no_close() -> None:
    return None


@define
class Backend:
    """One open backend: factories of stores on a fresh, empty namespace, ``None`` for a store it
    does not offer, and ``close``, run once at the end of the session."""

    backend_id: str
    tracking: Callable[[Clock], TrackingStore] | None = None
    registry: Callable[[Clock], RegistryStore] | None = None
    close: Callable[[], None] = _no_close
    artifacts: Callable[[], ArtifactStore] | None = None
    capabilities: frozenset[str] = field(default=DECLARED)

    def missing(self, needed: set[str]) -> list[str]:
        """The capabilities of ``needed`` this backend does not offer, sorted."""
        offered = set(self.capabilities)
        for name, factory in (
            (TRACKING, self.tracking),
            (REGISTRY, self.registry),
            (ARTIFACTS, self.artifacts),
        ):
            if factory is not None:
                offered.add(name)
        return sorted(needed - offered)

    def require(self, *capabilities: str) -> None:
        """Skip the current test (or fixture) unless every capability is offered; the skip is
        counted and printed at the end of the run."""
        unknown = set(capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}; known: {sorted(CAPABILITIES)}")
        missing = self.missing(set(capabilities))
        if missing:
            for capability in missing:
                SKIPPED[self.backend_id, capability] = SKIPPED.get((self.backend_id, capability), 0) + 1
            pytest.skip(f"backend {self.backend_id!r} does not offer {', '.join(missing)}")

    def make_tracking(self, clock: Clock) -> TrackingStore:
        """A tracking store on a fresh namespace (a skip when the backend has none)."""
        self.require(TRACKING)
        assert self.tracking is not None
        return self.tracking(clock)

    def make_registry(self, clock: Clock) -> RegistryStore:
        """A registry store on a fresh namespace (a skip when the backend has none)."""
        self.require(REGISTRY)
        assert self.registry is not None
        return self.registry(clock)

    def make_artifacts(self) -> ArtifactStore:
        """An artifact store on a fresh, empty root (a skip when the backend has none)."""
        self.require(ARTIFACTS)
        assert self.artifacts is not None
        return self.artifacts()


# (backend id, capability) -> tests skipped for it; printed by the plugin's terminal summary.
SKIPPED: dict[tuple[str, str], int] = {}
