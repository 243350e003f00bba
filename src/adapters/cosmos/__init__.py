"""Azure Cosmos DB for MongoDB: the Mongo adapter's stores on a :class:`CosmosDatabase`, which
adds Cosmos DB's policies (docs/adr/0009-cosmos-db.md): no retryable writes, throttling (16500)
retried after the server's ``RetryAfterMs`` within a budget, unique indexes only on empty
collections, wildcard indexes where the account has them.

Imported as ``genesis_flow.adapters.cosmos``.
"""

from __future__ import annotations

from typing import Any

from genesis_flow.adapters.cosmos.database import CosmosDatabase, is_cosmos_uri

__all__ = ["CosmosDatabase", "CosmosRegistryStore", "CosmosTrackingStore", "is_cosmos_uri"]


def CosmosTrackingStore(uri: str, artifact_root: str = "./genesis-artifacts", **options: Any) -> Any:
    """The Mongo tracking store on a Cosmos DB database named by ``uri``."""
    from genesis_flow.adapters.mongo.tracking import MongoTrackingStore

    return MongoTrackingStore(CosmosDatabase.from_uri(uri), artifact_root=artifact_root, **options)


def CosmosRegistryStore(uri: str, **options: Any) -> Any:
    """The Mongo registry store on a Cosmos DB database named by ``uri``."""
    from genesis_flow.adapters.mongo.registry import MongoRegistryStore

    return MongoRegistryStore(CosmosDatabase.from_uri(uri), **options)
