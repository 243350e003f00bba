"""The Diagnosable capability of open stores: what doctor sees, asked of the store itself."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from attrs import evolve

from genesis_flow.core.diagnostics import DatabaseKind, Diagnosis, Failed, Probe
from genesis_flow.entrypoints import bootstrap
from genesis_flow.ports import Diagnosable
from tests.contract.backends import required_backends


def _mongo_uri(backend: str, query: str) -> str:
    base = os.environ.get("GENESIS_TEST_MONGO_URI")
    if not base:
        if backend in required_backends():
            pytest.fail(f"GENESIS_TEST_MONGO_URI is not set and {backend} is required")
        pytest.skip("GENESIS_TEST_MONGO_URI is not set")
    parts = urlsplit(base)
    options = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit((parts.scheme, parts.netloc, f"/gf_diag_{uuid.uuid4().hex[:12]}", options, ""))


@pytest.fixture(params=["sql-sqlite", "mongo", "cosmos"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend: str = request.param
    if backend == "sql-sqlite":
        uri = f"sqlite:///{tmp_path}/diag.db"
    else:
        uri = _mongo_uri(backend, "genesis_cosmos=true" if backend == "cosmos" else "")
    yield uri
    if backend != "sql-sqlite":
        bootstrap._mongo_database(uri).drop_all()
    bootstrap.reset_memory_stores()


def test_a_store_in_use_diagnoses_as_ours_and_complete(uri: str) -> None:
    store = bootstrap.build_tracking_store(uri)
    store.create_experiment("e")
    bootstrap.build_registry_store(uri).create_registered_model("m")
    assert isinstance(store, Diagnosable)
    diagnosis = store.diagnose()
    assert diagnosis.kind is DatabaseKind.GENESIS
    assert not isinstance(diagnosis.server, Failed)
    assert isinstance(diagnosis.probe, Probe) and diagnosis.probe.ok
    assert not isinstance(diagnosis.present, Failed)
    if diagnosis.versioned:
        assert diagnosis.schema_version == diagnosis.expected_schema_version
        assert set(diagnosis.expected) <= set(diagnosis.present)
    else:
        indexes = diagnosis.indexes
        assert indexes is not None and not isinstance(indexes, Failed)
        assert (indexes.missing, indexes.different, indexes.unexpected) == ((), (), ())


def test_the_diagnosis_agrees_with_the_one_made_without_opening_the_store(uri: str) -> None:
    store = bootstrap.build_tracking_store(uri)
    store.create_experiment("e")
    assert isinstance(store, Diagnosable)
    handle = bootstrap.build_diagnostics(uri, connect_timeout_s=5)
    assert handle is not None
    assert _stable(handle.diagnose()) == _stable(store.diagnose())


def _stable(diagnosis: Diagnosis) -> Diagnosis:
    # Where the probe wrote differs per call (a fresh scratch name); the rest may not.
    present = diagnosis.present
    return evolve(
        diagnosis,
        location="",
        present=tuple(sorted(present)) if isinstance(present, tuple) else present,
        probe=Probe(isinstance(diagnosis.probe, Probe) and diagnosis.probe.ok, ""),
    )
