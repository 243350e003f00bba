"""MongoDB adapter (pymongo): the tracking and registry ports on MongoDB, and the base of the
Cosmos DB adapter. The stores are imported on first use.

Imported as ``genesis_flow.adapters.mongo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genesis_flow.adapters.mongo.database import MongoDatabase

if TYPE_CHECKING:
    from genesis_flow.adapters.mongo.registry import MongoRegistryStore
    from genesis_flow.adapters.mongo.tracking import MongoTrackingStore

__all__ = ["MongoDatabase", "MongoRegistryStore", "MongoTrackingStore"]


def __getattr__(name: str) -> Any:
    if name == "MongoTrackingStore":
        from genesis_flow.adapters.mongo.tracking import MongoTrackingStore

        return MongoTrackingStore
    if name == "MongoRegistryStore":
        from genesis_flow.adapters.mongo.registry import MongoRegistryStore

        return MongoRegistryStore
    raise AttributeError(name)
