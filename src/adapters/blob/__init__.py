"""Artifact stores: local files (``file://`` or a path) and Azure Blob Storage (``wasbs://``,
``https://<account>.blob.core.windows.net/...``). The stores are imported on first use, so the
local store never loads the Azure SDK.

Imported as ``genesis_flow.adapters.blob``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore
    from genesis_flow.adapters.blob.local import LocalArtifactStore

__all__ = ["AzureBlobArtifactStore", "LocalArtifactStore"]


def __getattr__(name: str) -> Any:
    if name == "LocalArtifactStore":
        from genesis_flow.adapters.blob.local import LocalArtifactStore

        return LocalArtifactStore
    if name == "AzureBlobArtifactStore":
        from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore

        return AzureBlobArtifactStore
    raise AttributeError(name)
