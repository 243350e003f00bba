"""The folder a store keeps its JSON files in: whole-file writes by rename, appended lines.

Every entity is one JSON document named after a hash of its id, so any id or name the ports
accept (spaces, dots, slashes, any case) is a safe file name on every file system; the document
itself carries the real id. A document is written to a temporary file and renamed over the old
one (``os.replace``), so a reader sees the old file or the whole new one. Metric histories are
JSON lines, appended; a torn last line (a crash mid-append) is ignored on read.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

Document = dict[str, Any]


def file_name(key: str) -> str:
    """The file name of an entity: the SHA-256 of its id (or name), in hex."""
    return hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()


class Folder:
    """A directory of JSON documents (``<kind>/<name>.json``) and JSON-lines files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def read(self, path: Path) -> Document | None:
        """The document at ``path``, or None when there is none."""
        try:
            with open(path, encoding="utf-8") as handle:
                document: Document = json.load(handle)
                return document
        except FileNotFoundError:
            return None

    def write(self, path: Path, document: Document) -> None:
        """Replace the document at ``path`` in one rename."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
        os.replace(temporary, path)

    def documents(self, directory: Path, pattern: str = "*.json") -> Iterator[Document]:
        """Every document directly under ``directory`` matching ``pattern``, in name order."""
        if not directory.is_dir():
            return
        for path in sorted(directory.glob(pattern)):
            document = self.read(path)
            if document is not None:  # removed since the listing
                yield document

    def append_lines(self, path: Path, documents: Iterable[Document]) -> None:
        lines = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in documents)
        if not lines:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            end = handle.seek(0, os.SEEK_END)
            if end:
                handle.seek(end - 1)
                if handle.read(1) != b"\n":
                    # A torn line left by a crash mid-append: drop it before writing after it.
                    handle.seek(0)
                    handle.truncate(handle.read().rfind(b"\n") + 1)
            handle.write(lines.encode("utf-8"))

    def read_lines(self, path: Path) -> list[Document]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        complete = text[: text.rfind("\n") + 1]  # a torn last line has no newline yet
        return [json.loads(line) for line in complete.splitlines() if line]

    def remove(self, path: Path) -> None:
        """Remove a file or a directory tree; nothing there is fine."""
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
