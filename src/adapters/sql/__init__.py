"""SQL adapter (SQLAlchemy 2.x Core): SQLite, the embedded default, and PostgreSQL.

The stores are imported on first use, so building only a tracking store never loads the registry
module and vice versa.

Imported as ``genesis_flow.adapters.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genesis_flow.adapters.sql.database import SqlDatabase

if TYPE_CHECKING:
    from genesis_flow.adapters.sql.registry import SqlRegistryStore
    from genesis_flow.adapters.sql.tracking import SqlTrackingStore

__all__ = ["SqlDatabase", "SqlRegistryStore", "SqlTrackingStore"]


def __getattr__(name: str) -> Any:
    if name == "SqlTrackingStore":
        from genesis_flow.adapters.sql.tracking import SqlTrackingStore

        return SqlTrackingStore
    if name == "SqlRegistryStore":
        from genesis_flow.adapters.sql.registry import SqlRegistryStore

        return SqlRegistryStore
    raise AttributeError(name)
