"""An example third-party backend for Genesis-Flow: every port on plain JSON files.

* :class:`JsonTracingStore`: experiments, runs, metrics, logged models and traces
  (``TrackingStore`` + ``TraceStore``), in :mod:`.tracking` and :mod:`.tracing`;
* :class:`JsonRegistryStore`: registered models, versions and aliases (:mod:`.registry`);
* :class:`JsonArtifactStore`: artifacts as files named in a manifest (:mod:`.artifacts`).

Each store keeps one JSON document per entity under its root folder (:mod:`.files`; the
spelling of each entity is :mod:`.mapping`), written whole and renamed into place, and reads the
files on every call, so a store reopened on the same folder sees everything. The rules (checks,
search language, paging, trace merging) are Genesis-Flow's domain, called as any store calls
them; Genesis-Flow's contract kit (``pytest -p genesis_flow.testing``) is the proof.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genesis_jsonstore.artifacts import JsonArtifactStore
from genesis_jsonstore.registry import JsonRegistryStore
from genesis_jsonstore.tracing import JsonTracingStore
from genesis_jsonstore.tracking import JsonTrackingStore

__all__ = ["JsonArtifactStore", "JsonRegistryStore", "JsonTracingStore", "JsonTrackingStore"]

if TYPE_CHECKING:  # mypy compares each store with every port it serves
    from genesis_flow.ports import ArtifactStore, RegistryStore, TracingTrackingStore

    def _conforms(
        tracking: JsonTracingStore, registry: JsonRegistryStore, artifacts: JsonArtifactStore
    ) -> tuple[TracingTrackingStore, RegistryStore, ArtifactStore]:
        return tracking, registry, artifacts
