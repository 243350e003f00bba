"""Artifacts on plain files.

File contents are stored once each under ``blobs/`` (named by a random id), and ``manifest.json``
maps every artifact path to its blob and size. A write stores the blob first and then replaces
the manifest in one rename, so a reader sees the old file or the whole new one, never a part.
The store implements the five primitives of :class:`ArtifactStoreBase`; the base class gives the
whole ``ArtifactStore`` port (path checks, listings, downloads) on top of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from genesis_flow.adapters.blob.base import ArtifactStoreBase
from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist

__all__ = ["JsonArtifactStore"]

CHUNK = 1024 * 1024


class JsonArtifactStore(ArtifactStoreBase):
    """Artifacts under ``root``: ``blobs/<id>`` files and a ``manifest.json`` naming them.
    Thread-safe: one lock per store orders manifest updates."""

    def __init__(self, root: str) -> None:
        super().__init__("json://" + str(Path(root).resolve()))
        self._root = Path(root)
        (self._root / "blobs").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    # --- the manifest ----------------------------------------------------------------------------

    def _read(self) -> dict[str, dict[str, int | str]]:
        try:
            with open(self._root / "manifest.json", encoding="utf-8") as handle:
                manifest: dict[str, dict[str, int | str]] = json.load(handle)
                return manifest
        except FileNotFoundError:
            return {}

    def _write(self, manifest: dict[str, dict[str, int | str]]) -> None:
        temporary = self._root / f"manifest.{secrets.token_hex(8)}.tmp"
        temporary.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self._root / "manifest.json")

    # --- the five primitives ---------------------------------------------------------------------

    def _put(self, stream: BinaryIO, path: str) -> None:
        blob = secrets.token_hex(16)
        size = 0
        with open(self._root / "blobs" / blob, "wb") as handle:
            while chunk := stream.read(CHUNK):
                handle.write(chunk)
                size += len(chunk)
        with self._lock:
            manifest = self._read()
            if any(other.startswith(path + "/") for other in manifest):
                self._discard(blob)
                raise InvalidParameterValue(f"Cannot write artifact {path!r}: a directory has that name")
            parts = path.split("/")
            if any("/".join(parts[:i]) in manifest for i in range(1, len(parts))):
                self._discard(blob)
                raise InvalidParameterValue(
                    f"Cannot write artifact {path!r}: a file is in the way of its directory"
                )
            old = manifest.get(path)
            manifest[path] = {"blob": blob, "size": size}
            self._write(manifest)
        if old is not None:
            self._discard(str(old["blob"]))

    def _get(self, path: str) -> BinaryIO:
        entry = self._read().get(path)
        if entry is None:
            raise ResourceDoesNotExist(f"No artifact {path!r} under {self.artifact_uri}")
        try:
            return open(self._root / "blobs" / str(entry["blob"]), "rb")
        except FileNotFoundError:
            # Replaced between reading the manifest and opening the blob: read the new one.
            return self._get(path)

    def _files(self, prefix: str) -> Iterator[tuple[str, int]]:
        for path, entry in sorted(self._read().items()):
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                yield path, int(entry["size"])

    def _list_level(self, prefix: str) -> list[FileInfo]:
        below = prefix + "/" if prefix else ""
        level: dict[str, FileInfo] = {}
        for path, entry in self._read().items():
            if not path.startswith(below) or path == prefix:
                continue
            name, _, rest = path[len(below) :].partition("/")
            child = below + name
            level[child] = FileInfo(child, True, None) if rest else FileInfo(child, False, int(entry["size"]))
        return list(level.values())

    def _remove(self, prefix: str) -> None:
        with self._lock:
            manifest = self._read()
            gone = [p for p in manifest if not prefix or p == prefix or p.startswith(prefix + "/")]
            blobs = [str(manifest.pop(p)["blob"]) for p in gone]
            if gone:
                self._write(manifest)
        for blob in blobs:
            self._discard(blob)

    def _discard(self, blob: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # a concurrent replace got there first
            os.unlink(self._root / "blobs" / blob)
