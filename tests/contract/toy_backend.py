"""A third-party backend as a plugin author would write it, registered through package metadata.

It wraps the memory adapter: the point is the path (entry-point group ``genesis_flow.backends``
-> composition root -> contract suite), not the storage.
"""

from __future__ import annotations

import sys
from pathlib import Path

from genesis_flow.adapters.memory import InMemoryRegistryStore, InMemoryTrackingStore
from genesis_flow.ports import Clock, RegistryStore, TrackingStore

SCHEME = "toy"


def build_tracking_store(uri: str, clock: Clock | None = None) -> TrackingStore:
    return InMemoryTrackingStore(clock=clock)


def build_registry_store(uri: str, clock: Clock | None = None) -> RegistryStore:
    return InMemoryRegistryStore(clock=clock)


def register(site_dir: Path) -> None:
    """Install a distribution's metadata (no code) that points the ``toy`` scheme here."""
    dist_info = site_dir / "genesis_toy_backend-0.1.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: genesis-toy-backend\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[genesis_flow.backends]\n{SCHEME} = {__name__}\n")
    if str(site_dir) not in sys.path:
        sys.path.append(str(site_dir))
