"""The in-memory adapter: the reference semantics (the oracle of the contract suite), thread-safe.

Imported as ``genesis_flow.adapters.memory``.
"""

from genesis_flow.adapters.memory.registry import InMemoryRegistryStore
from genesis_flow.adapters.memory.tracking import InMemoryTrackingStore

__all__ = ["InMemoryRegistryStore", "InMemoryTrackingStore"]
