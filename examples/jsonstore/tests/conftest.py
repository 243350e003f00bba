"""Run Genesis-Flow's contract kit on this store: ``pytest -p genesis_flow.testing``.

The one thing a backend provides is the ``genesis_backend`` fixture: a Backend whose factories
make stores on a fresh, empty namespace (here a new folder each) and the capabilities it offers.
These stores offer all of them, so the whole kit runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from genesis_jsonstore import JsonArtifactStore, JsonRegistryStore, JsonTracingStore

from genesis_flow.ports import Clock
from genesis_flow.testing import CONCURRENCY, IMPORT, TRACING, Backend


@pytest.fixture(scope="session")
def genesis_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    def tracking(clock: Clock) -> JsonTracingStore:
        root = tmp_path_factory.mktemp("tracking")
        return JsonTracingStore(root, clock=clock, artifact_root=str(root / "artifacts"))

    def registry(clock: Clock) -> JsonRegistryStore:
        return JsonRegistryStore(tmp_path_factory.mktemp("registry"), clock=clock)

    yield Backend(
        "jsonstore",
        tracking,
        registry,
        artifacts=lambda: JsonArtifactStore(str(tmp_path_factory.mktemp("artifacts"))),
        capabilities=frozenset({TRACING, IMPORT, CONCURRENCY}),
    )
