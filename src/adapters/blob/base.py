"""What every artifact store shares: path checks, local-file plumbing, streams.

A concrete store implements five primitives on *checked* paths relative to its root ('' is the
root itself): :meth:`_put`, :meth:`_get`, :meth:`_files` (every file under a prefix, with its
size), :meth:`_list_level` and :meth:`_remove`. Everything else, the port's whole surface, is
written once here on top of them, so the local and Azure stores cannot drift apart.
"""

from __future__ import annotations

import abc
import functools
import io
import os
import posixpath
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar

from genesis_flow.core.artifacts import artifact_file_name, artifact_path, join_artifact_path
from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import (
    GenesisError,
    InvalidParameterValue,
    InvalidState,
    ResourceDoesNotExist,
    TemporarilyUnavailable,
)

CHUNK = 4 * 1024 * 1024  # bytes per read/write: memory stays flat whatever the file size

F = TypeVar("F", bound=Callable[..., Any])


def domain_errors(method: F) -> F:
    """File-system errors of a port method (the store's own, or the caller's local files) as
    domain errors; a store's primitives raise domain errors for their storage already."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except _CallerStreamError as error:
            raise error.original from None  # the caller's own stream failed: theirs, unchanged
        except GenesisError:
            raise
        except FileNotFoundError as error:
            raise ResourceDoesNotExist(f"No such file: {error.filename!r}") from None
        except PermissionError as error:
            raise InvalidState(f"Permission denied on {error.filename!r}: {error.strerror}") from None
        except OSError as error:
            where = f" ({error.filename!r})" if error.filename else ""
            raise TemporarilyUnavailable(
                f"Artifact storage failed: {error.strerror or error}{where}"
            ) from None

    return wrapper  # type: ignore[return-value]


class _CallerStreamError(Exception):
    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class _CallerStream(io.RawIOBase):
    """A caller's stream whose read errors are marked as theirs, so :func:`domain_errors` lets
    them through unchanged instead of reporting them as a storage failure."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except Exception as error:
            raise _CallerStreamError(error) from error

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ArtifactStoreBase(abc.ABC):
    """The ArtifactStore port on top of five storage primitives. Thread-safe when they are."""

    def __init__(self, artifact_uri: str) -> None:
        self._artifact_uri = artifact_uri

    @property
    def artifact_uri(self) -> str:
        return self._artifact_uri

    # --- primitives --------------------------------------------------------------------------------

    @abc.abstractmethod
    def _put(self, stream: BinaryIO, path: str) -> None:
        """Store ``stream`` at ``path`` (a checked file path), in chunks; the final name shows the
        old content or the complete new one, never a part."""

    @abc.abstractmethod
    def _get(self, path: str) -> BinaryIO:
        """A readable stream of the file at ``path``; ResourceDoesNotExist if there is none."""

    @abc.abstractmethod
    def _files(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(path, size) of every file at or below ``prefix`` ('' is everything), paths relative
        to the root; the file ``prefix`` itself when it is one."""

    @abc.abstractmethod
    def _list_level(self, prefix: str) -> list[FileInfo]:
        """Entries directly below the directory ``prefix``, unordered."""

    @abc.abstractmethod
    def _remove(self, prefix: str) -> None:
        """Delete the file ``prefix`` or everything below it ('' is everything); idempotent."""

    # --- the port -------------------------------------------------------------------------------------

    @domain_errors
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        if not os.path.isfile(local_file):
            raise ResourceDoesNotExist(f"No such local file to log: {local_file!r}")
        target = join_artifact_path(artifact_path, artifact_file_name(os.path.basename(local_file)))
        with open(local_file, "rb") as stream:
            self._put(stream, target)

    @domain_errors
    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise ResourceDoesNotExist(f"No such local directory to log: {local_dir!r}")
        base = join_artifact_path(artifact_path)
        # Every name is checked before the first write: a tree with one bad name writes nothing.
        planned = []
        for folder, _dirs, files in os.walk(local_dir):
            relative = os.path.relpath(folder, local_dir)
            parts = [] if relative == "." else relative.split(os.sep)
            for name in sorted(files):
                planned.append((os.path.join(folder, name), join_artifact_path(base, *parts, name)))
        for local, target in planned:
            with open(local, "rb") as stream:
                self._put(stream, target)

    @domain_errors
    def log_stream(self, stream: BinaryIO, artifact_file: str) -> None:
        target = artifact_path(artifact_file)
        if not target:
            raise InvalidParameterValue("An artifact file path is required")
        self._put(_CallerStream(stream), target)  # type: ignore[arg-type]

    @domain_errors
    def list_artifacts(self, path: str | None = None) -> tuple[FileInfo, ...]:
        return tuple(sorted(self._list_level(artifact_path(path)), key=lambda f: f.path))

    @domain_errors
    def download_artifacts(self, artifact_path_: str, dst_path: str, *, relative_to: str = "") -> str:
        source = artifact_path(artifact_path_)
        base = artifact_path(relative_to)
        if base and source != base and not source.startswith(base + "/"):
            raise InvalidParameterValue(f"{relative_to!r} is not a leading part of the path {source!r}")
        placed = source[len(base) :].lstrip("/")
        files = list(self._files(source))
        if not files:
            if source == "":
                os.makedirs(dst_path, exist_ok=True)
                return dst_path  # an empty root downloads as an empty directory, as in MLflow
            # Before any folder is made: a missing artifact leaves no empty destination behind.
            raise ResourceDoesNotExist(f"No artifact at {source!r} under {self._artifact_uri}")
        os.makedirs(dst_path, exist_ok=True)
        single = len(files) == 1 and files[0][0] == source and source != ""
        if single:
            # At its path below dst_path (relative to ``base``), as MLflow places a downloaded file.
            local = os.path.join(dst_path, *(placed or posixpath.basename(source)).split("/"))
            self._download_file(source, local)
            return local
        root = os.path.join(dst_path, *placed.split("/")) if placed else dst_path
        real_root = os.path.realpath(root)
        # An object store may hold a blob "a" beside blobs "a/...": the directory wins, at any depth.
        folders = {
            path.rsplit("/", depth)[0] for path, _size in files for depth in range(1, path.count("/") + 1)
        }
        for path, _size in files:
            # A stored name is checked again: an object store may hold names we would never
            # write (another tool's "a/../../x"), and they must not steer the download.
            relative = artifact_path(path[len(source) :].lstrip("/") if source else path)
            if not relative or path in folders:
                continue
            local = os.path.join(root, *relative.split("/"))
            if os.path.commonpath([real_root, os.path.realpath(local)]) != real_root:
                raise InvalidParameterValue(f"Artifact {path!r} would be written outside {dst_path!r}")
            self._download_file(path, local)
        return root

    def _download_file(self, path: str, local: str) -> None:
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        # Into a temporary file next to the target, renamed when complete: no partial file.
        # Opened with the default mode (umask applies), as a plain download would be.
        temporary = os.path.join(os.path.dirname(local) or ".", f".genesis-download-{uuid.uuid4().hex}")
        try:
            with open(temporary, "xb") as out, self._get(path) as src:
                shutil.copyfileobj(src, out, CHUNK)
            os.replace(temporary, local)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    @domain_errors
    def open_artifact(self, artifact_path_: str) -> BinaryIO:
        path = artifact_path(artifact_path_)
        if not path:
            raise InvalidParameterValue("An artifact file path is required")
        return self._get(path)

    @domain_errors
    def delete_artifacts(self, artifact_path_: str | None = None) -> None:
        self._remove(artifact_path(artifact_path_))
