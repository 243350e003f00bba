"""Optional capability: a store (or a handle on a database) that can say how its database is."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from genesis_flow.core.diagnostics import Diagnosis


@runtime_checkable
class Diagnosable(Protocol):
    def diagnose(self) -> Diagnosis:
        """Look at the database: server version, schema version and kind, tables or collections,
        indexes, Cosmos DB policies, and a write/read/delete probe that leaves nothing behind.

        Never creates, upgrades or alters the schema. A finding that fails is reported as a
        ``Failed`` value in the diagnosis, the others are still made.

        Raises:
            GenesisError: the database cannot be reached at all (the message says why, with no
                secret of the URI in it).
        """
        ...
