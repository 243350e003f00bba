"""Every adapter against every port it serves, checked by mypy (``mypy tests``): each list below
is typed with a port, so a store whose method drifts from the port's signature fails type
checking, naming the member. The tests add the runtime view of the capability Protocols."""

from __future__ import annotations

from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore
from genesis_flow.adapters.blob.local import LocalArtifactStore
from genesis_flow.adapters.memory import InMemoryRegistryStore, InMemoryTrackingStore
from genesis_flow.adapters.mongo.diagnostics import MongoDiagnostics
from genesis_flow.adapters.mongo.registry import MongoRegistryStore
from genesis_flow.adapters.mongo.tracking import MongoTrackingStore
from genesis_flow.adapters.sql.diagnostics import SqlDiagnostics
from genesis_flow.adapters.sql.registry import SqlRegistryStore
from genesis_flow.adapters.sql.tracking import SqlTrackingStore
from genesis_flow.ports import (
    ArtifactStore,
    Diagnosable,
    RegistryStore,
    TracingTrackingStore,
    TrackingStore,
)
from tests.contract import toy_backend


def conformance(
    memory: InMemoryTrackingStore,
    sql: SqlTrackingStore,
    mongo: MongoTrackingStore,  # Cosmos DB's store too: the same class on a CosmosDatabase
    memory_registry: InMemoryRegistryStore,
    sql_registry: SqlRegistryStore,
    mongo_registry: MongoRegistryStore,
    local: LocalArtifactStore,
    azure: AzureBlobArtifactStore,
    sql_diagnostics: SqlDiagnostics,
    mongo_diagnostics: MongoDiagnostics,
) -> None:
    """Never called: its body is what mypy checks."""
    tracking: list[TracingTrackingStore] = [memory, sql, mongo]
    registries: list[RegistryStore] = [memory_registry, sql_registry, mongo_registry]
    artifacts: list[ArtifactStore] = [local, azure]
    diagnosable: list[Diagnosable] = [sql, mongo, sql_diagnostics, mongo_diagnostics]
    third_party: list[TrackingStore | RegistryStore] = [
        toy_backend.build_tracking_store("toy://"),
        toy_backend.build_registry_store("toy://"),
    ]
    del tracking, registries, artifacts, diagnosable, third_party


def test_diagnostics_handles_are_diagnosable_without_connecting() -> None:
    assert isinstance(SqlDiagnostics("sqlite:///absent.db", connect_timeout_s=1), Diagnosable)
    assert isinstance(MongoDiagnostics("mongodb://127.0.0.1:1/x", connect_timeout_s=1), Diagnosable)


def test_the_memory_store_serves_tracing_and_has_no_database_to_diagnose() -> None:
    store = InMemoryTrackingStore()
    assert isinstance(store, TracingTrackingStore)
    assert not isinstance(store, Diagnosable)
