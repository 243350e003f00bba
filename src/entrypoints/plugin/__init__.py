"""The MLflow plugin: real ``mlflow`` (fluent API, client, model flavors, ``mlflow server`` and its
UI) on every Genesis-Flow store: SQLite, PostgreSQL, MongoDB / Cosmos DB and (in one process) memory.

Registered in the entry-point groups ``mlflow.tracking_store`` and ``mlflow.model_registry_store``
for ``mongodb``, ``mongodb+srv`` and the prefixed ``genesis+sqlite``, ``genesis+postgresql``,
``genesis+postgresql+psycopg``, ``genesis+postgres`` and ``genesis+memory`` (ADR 22): a plugin
scheme replaces MLflow's built-in store of that scheme, so ``sqlite``, ``postgresql``, ``file`` and
``http(s)`` stay MLflow's own, and our SQL and memory stores go by ``genesis+`` names (the
composition root strips the prefix, for the plugin and ``genesis_flow`` alike).
This package imports mlflow; nothing else in genesis_flow does. MLflow builds a store once per
URI in every process (the CLI, then each server worker), so the builders are cheap: the database
client behind them is shared per URI (see the composition root).

Imported as ``genesis_flow.entrypoints.plugin``.
"""

from __future__ import annotations

from typing import Any


def tracking_store(store_uri: str, artifact_uri: str | None = None) -> Any:
    """MLflow's tracking-store builder: ``builder(store_uri=..., artifact_uri=...)``."""
    from genesis_flow.entrypoints.plugin.tracking import GenesisTrackingStore

    return GenesisTrackingStore(store_uri, artifact_uri)


def registry_store(store_uri: str, tracking_uri: str | None = None) -> Any:
    """MLflow's model-registry-store builder: ``builder(store_uri=...[, tracking_uri=...])``."""
    from genesis_flow.entrypoints.plugin.registry import GenesisRegistryStore

    return GenesisRegistryStore(store_uri, tracking_uri)
