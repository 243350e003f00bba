"""The local artifact store: a run's artifacts as files under a directory.

The root is a ``file:`` URI (``file:///abs/dir``, ``file:rel/dir``; percent-encoded) or a plain
path; a relative root is made absolute when the store is built, so a later ``chdir`` does not move
it. The directory is created by the first write.

Paths arrive checked by the domain, which cannot see the file system: a symlink below the root can
still point anywhere. So every read, write, listing and delete resolves its target with
``os.path.realpath`` first and refuses one that lands outside the real root; entries found *below*
a listed or downloaded prefix that point outside are skipped, so nothing outside is read or
revealed. Recursive walks never descend into symlinked directories, which also keeps them free of
cycles.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from genesis_flow.adapters.blob.base import CHUNK, ArtifactStoreBase
from genesis_flow.core.artifacts import artifact_file_name
from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist

# '%25' in a name is refused by the domain, so a temporary can never collide with an artifact,
# and listings, which show only names the domain accepts, never show one mid-write.
_TEMPORARY_PREFIX = ".genesis-%25"
_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows would translate line ends without it
_O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)


def local_root(artifact_uri: str) -> str:
    """The absolute local directory a ``file:`` URI or a plain path names (relative ones against
    the current directory).

    Raises:
        InvalidParameterValue: empty, a ``file:`` URI naming another host, or one with a query or
            fragment (an unencoded '?' or '#' that would silently cut the path).
    """
    return os.path.abspath(_named_path(artifact_uri))


def _named_path(artifact_uri: str) -> str:
    """The local path ``artifact_uri`` names, decoded but not yet made absolute."""
    if not artifact_uri:
        raise InvalidParameterValue("A local artifact root is required")
    if not artifact_uri.lower().startswith("file:"):
        return artifact_uri
    parts = urlsplit(artifact_uri)
    if parts.query or parts.fragment or artifact_uri.endswith(("?", "#")):
        raise InvalidParameterValue(
            f"Artifact root {artifact_uri!r} has a query or fragment; percent-encode '?' and '#' in file URIs"
        )
    path = unquote(parts.path)
    if parts.netloc not in ("", "localhost"):
        if os.name != "nt":
            raise InvalidParameterValue(
                f"Artifact root {artifact_uri!r} names the host {parts.netloc!r}; "
                "a local store needs file:///<absolute path>"
            )
        path = f"//{unquote(parts.netloc)}{path}"  # a UNC share
    elif os.name == "nt" and len(path) > 2 and path[0] == "/" and path[2] == ":":
        path = path[1:]  # file:///C:/dir
    if not path:
        raise InvalidParameterValue(f"Artifact root {artifact_uri!r} names no directory")
    return path


class LocalArtifactStore(ArtifactStoreBase):
    """Artifacts as files under one local directory. Thread-safe: the only state is on disk, and
    every write goes through its own uniquely named temporary."""

    def __init__(self, artifact_uri: str) -> None:
        named = _named_path(artifact_uri)
        root = os.path.abspath(named)
        # A relative root is reported as the absolute directory it was resolved to: the current
        # directory may change, the store's root does not.
        super().__init__(artifact_uri if os.path.isabs(named) else root)
        self._root = root

    @property
    def root(self) -> str:
        """The absolute local directory artifacts are written under."""
        return self._root

    # --- path resolution ------------------------------------------------------------------------------

    def _local(self, path: str) -> str:
        return os.path.join(self._root, *path.split("/")) if path else self._root

    def _real_root(self) -> str:
        # Resolved on every call: the root may appear, or be re-linked, after construction.
        return os.path.realpath(self._root)

    @staticmethod
    def _inside(real: str, real_root: str) -> bool:
        real, real_root = os.path.normcase(real), os.path.normcase(real_root)
        return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)

    def _resolve(self, path: str, local: str | None = None) -> str:
        """The real path of ``path`` (or of ``local``, a path under the root standing for it).

        Raises:
            InvalidParameterValue: it resolves outside the real root.
        """
        real = os.path.realpath(self._local(path) if local is None else local)
        if not self._inside(real, self._real_root()):
            raise InvalidParameterValue(
                f"Artifact path {path or '/'!r} leaves the artifact root through a symlink"
            )
        return real

    def _entry_stat(self, entry: os.DirEntry[str], real_root: str) -> os.stat_result | None:
        """The stat of a directory entry worth showing (through a link inside the root), or None:
        names the domain refuses (our temporaries among them), links leading out of the root or
        nowhere, and anything neither a regular file nor a directory are skipped."""
        if not _is_artifact_name(entry.name):
            return None
        try:
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
                if not self._inside(real, real_root):
                    return None
                info = os.stat(real)
            else:
                info = entry.stat(follow_symlinks=False)
        except OSError:  # removed while we looked, or a dangling link
            return None
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            return None
        return info

    # --- primitives -----------------------------------------------------------------------------------

    def _put(self, stream: BinaryIO, path: str) -> None:
        # Checked before anything is created: makedirs through an escaping link would create
        # directories outside the root.
        real = self._resolve(path)
        parent = os.path.dirname(real)
        try:
            os.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidParameterValue(
                f"Cannot write artifact {path!r}: a file is in the way of its directory"
            ) from None
        # A link may have replaced a directory since the first check.
        self._resolve(path, parent)
        if os.path.isdir(real):
            raise InvalidParameterValue(f"Cannot write artifact {path!r}: a directory has that name")
        temporary = os.path.join(parent, f"{_TEMPORARY_PREFIX}{secrets.token_hex(8)}.tmp")
        # O_EXCL never opens an existing file or link; mode 0o666 lets the umask decide, as a
        # plain open() would (mkstemp's 0o600 would hide artifacts from other readers).
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
        try:
            with os.fdopen(os.open(temporary, flags, 0o666), "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            # rename() replaces a link at the final name instead of writing through it.
            os.replace(temporary, real)
        except BaseException as error:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            if isinstance(error, IsADirectoryError):  # a directory appeared under the name
                raise InvalidParameterValue(
                    f"Cannot write artifact {path!r}: a directory has that name"
                ) from None
            raise

    def _get(self, path: str) -> BinaryIO:
        real = self._resolve(path)
        if os.path.isdir(real):
            raise ResourceDoesNotExist(f"Artifact {path or '/'!r} is a directory, not a file")
        try:
            # O_NOFOLLOW: a link swapped in at the final name after the check is not followed.
            handle = os.open(real, os.O_RDONLY | _O_BINARY | _O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ResourceDoesNotExist(f"No artifact {path!r} under {self.artifact_uri}") from None
        except OSError as error:
            if _O_NOFOLLOW and os.path.islink(real):
                raise InvalidParameterValue(
                    f"Artifact path {path!r} leaves the artifact root through a symlink"
                ) from error
            raise
        return os.fdopen(handle, "rb")

    def _files(self, prefix: str) -> Iterator[tuple[str, int]]:
        real = self._resolve(prefix)
        real_root = self._real_root()
        try:
            info = os.stat(real)
        except OSError:
            return
        if stat.S_ISREG(info.st_mode):
            if prefix:
                yield prefix, info.st_size
            return
        # Our own walk rather than os.walk: one scandir per directory gives the names, the link
        # checks and the sizes together. Linked directories are not entered (no cycles, no
        # escapes); linked files inside the root are read through.
        pending = [(real, prefix)]
        while pending:
            folder, base = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    found = list(entries)
            except (FileNotFoundError, NotADirectoryError):  # removed while we walked
                continue
            for entry in found:
                found_stat = self._entry_stat(entry, real_root)
                if found_stat is None:
                    continue
                path = f"{base}/{entry.name}" if base else entry.name
                if stat.S_ISREG(found_stat.st_mode):
                    yield path, found_stat.st_size
                elif not entry.is_symlink():
                    pending.append((entry.path, path))

    def _list_level(self, prefix: str) -> list[FileInfo]:
        real = self._resolve(prefix)
        real_root = self._real_root()
        try:
            with os.scandir(real) as entries:
                found = list(entries)
        except (FileNotFoundError, NotADirectoryError):
            return []
        listing = []
        for entry in found:
            info = self._entry_stat(entry, real_root)
            if info is None:
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            path = f"{prefix}/{entry.name}" if prefix else entry.name
            size = None if is_dir else info.st_size
            listing.append(FileInfo(path=path, is_dir=is_dir, file_size=size))
        return listing

    def _remove(self, prefix: str) -> None:
        real = self._resolve(prefix)
        local = self._local(prefix)
        if prefix and os.path.islink(local):
            # The link itself goes; what it points to (inside the root) stays.
            _remove_quietly(os.unlink, local)
            return
        if not prefix:
            # Everything below the root; the root directory stays, so a root that is itself a
            # link keeps working.
            try:
                with os.scandir(real) as entries:
                    found = list(entries)
            except (FileNotFoundError, NotADirectoryError):
                return
            for entry in found:
                if entry.is_dir(follow_symlinks=False):
                    _rmtree(entry.path)
                else:
                    _remove_quietly(os.unlink, entry.path)
            return
        if os.path.isdir(real):
            _rmtree(real)
        else:
            _remove_quietly(os.unlink, real)


def _is_artifact_name(name: str) -> bool:
    try:
        artifact_file_name(name)
    except InvalidParameterValue:
        return False
    return True


def _remove_quietly(remove: Callable[[str], None], path: str) -> None:
    # A concurrent delete may have got there first: deletes are idempotent.
    with contextlib.suppress(FileNotFoundError):
        remove(path)


def _rmtree(path: str) -> None:
    # rmtree unlinks symlinks instead of following them, so nothing outside the root goes.
    def ignore_missing(_function: Any, _path: str, error: BaseException) -> None:
        if not isinstance(error, FileNotFoundError):
            raise error

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=ignore_missing)
    else:
        shutil.rmtree(path, onerror=lambda f, p, info: ignore_missing(f, p, info[1]))
