"""Backends of the contract suite: one id per adapter, each opened once per session.

A backend whose server or adapter is unavailable is skipped with its reason (pytest prints it
with ``-ra``). Servers come from ``GENESIS_TEST_<ID>_URI`` (CI sets them), e.g.
``GENESIS_TEST_SQL_POSTGRES_URI``; ``memory`` needs nothing.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from genesis_flow.ports import Clock, RegistryStore, TrackingStore
from genesis_flow.testing import Backend, Unavailable

BACKEND_IDS = ["memory", "sql-sqlite", "sql-postgres", "mongo", "cosmos", "plugin-toy"]


def required_backends() -> set[str]:
    """Backends that must run (scripts/test.sh sets GENESIS_REQUIRED_BACKENDS for the servers it
    starts): for them an unavailable server is a failure, never a skip."""
    return {b.strip() for b in os.environ.get("GENESIS_REQUIRED_BACKENDS", "").split(",") if b.strip()}


def env_var(backend_id: str) -> str:
    return "GENESIS_TEST_" + backend_id.upper().replace("-", "_") + "_URI"


def open_backend(backend_id: str, *, artifact_root: str) -> Backend:
    if backend_id == "memory":
        from genesis_flow.adapters.memory import InMemoryRegistryStore, InMemoryTrackingStore

        def tracking(clock: Clock) -> TrackingStore:
            return InMemoryTrackingStore(clock=clock, artifact_root=artifact_root)

        def registry(clock: Clock) -> RegistryStore:
            return InMemoryRegistryStore(clock=clock)

        return Backend(backend_id, tracking, registry)
    if backend_id == "plugin-toy":
        # A third-party backend found through the `genesis_flow.backends` entry-point group.
        from genesis_flow.entrypoints.bootstrap import build_registry_store, build_tracking_store
        from tests.contract import toy_backend

        toy_backend.register(Path(artifact_root) / "site-packages")
        namespaces = itertools.count()
        return Backend(
            backend_id,
            lambda clock: build_tracking_store(f"toy://ns{next(namespaces)}", clock=clock),
            lambda clock: build_registry_store(f"toy://ns{next(namespaces)}", clock=clock),
        )
    if backend_id in ("sql-sqlite", "sql-postgres"):
        from tests.contract.sql_backend import open_sql_backend

        return open_sql_backend(
            backend_id, artifact_root=artifact_root, uri=os.environ.get(env_var(backend_id))
        )
    if backend_id in ("mongo", "cosmos"):
        from tests.contract.mongo_backend import open_mongo_backend

        return open_mongo_backend(backend_id, artifact_root=artifact_root)
    raise Unavailable(f"unknown backend id {backend_id!r}")
