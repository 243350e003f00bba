"""Run Genesis-Flow's contract kit on this store: ``pytest -p genesis_flow.testing``.

The one thing a backend provides is the ``genesis_backend`` fixture: a Backend whose factories
make stores on a fresh, empty namespace. This store offers artifacts only; the kit prints the
tests it skipped for tracking, registry and tracing at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from genesis_jsonstore import JsonArtifactStore

from genesis_flow.testing import Backend


@pytest.fixture(scope="session")
def genesis_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    yield Backend(
        "jsonstore",
        artifacts=lambda: JsonArtifactStore(str(tmp_path_factory.mktemp("jsonstore"))),
        capabilities=frozenset(),
    )
