"""The artifact port: files of a run under its artifact root.

An ArtifactStore is bound to one artifact root URI (a run's ``artifact_uri``,
``<artifact root>/<experiment id>/<run id>/artifacts``, as MLflow's artifact repositories are).

Semantics every adapter honours (executable form: tests/contract/test_artifacts.py):

* **Paths** are relative, '/'-separated, and checked in the domain
  (:func:`genesis_flow.core.artifacts.artifact_path`): ``..`` segments, absolute paths, drive
  letters, backslashes, control characters and percent-encoded traversal raise
  ``InvalidParameterValue`` and nothing is read, listed or written. A local store also refuses a
  path that leaves the root through a symlink, and never follows one found below a listed or
  downloaded path out of the root. A store is built on a root, never on a path below one: callers
  name what is below it by path, so every read is checked against the real root.
* **Writes** overwrite, stream in chunks (memory stays flat whatever the file size), and never
  leave a partial file visible under the final name: a reader sees the old content or the new
  (``download_artifacts`` starts over when a file changes under it; a stream from
  ``open_artifact`` may instead raise a domain error, never return a mix of both).
* **Listing** is one level: entries directly below ``path`` (files with their size, directories
  without), ordered by path, paths relative to the store's root. An unknown path, or a file,
  lists nothing. Empty directories may not exist in object stores: only files make directories.
* **Bytes only**: MLflow's text, dictionary, table, image and figure files are made by the API
  (``genesis_flow.entrypoints.api.presentation``) and written with ``log_stream``.
* **Errors**: a missing artifact raises ``ResourceDoesNotExist``; a storage failure the user can
  act on (missing container, refused credentials, throttling past the retry policy) raises a
  domain error that says what to do; driver exceptions never escape.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol, runtime_checkable

from genesis_flow.core.entities import FileInfo


@runtime_checkable
class ArtifactStore(Protocol):
    """Files under one artifact root. Thread-safe in every adapter."""

    @property
    def artifact_uri(self) -> str:
        """The root this store writes under (a URI or a local path)."""
        ...

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file to ``<root>/<artifact_path>/<file name>``; overwrites.
        Raises ResourceDoesNotExist when ``local_file`` is not a file."""
        ...

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory tree to ``<root>/<artifact_path>/``; overwrites. Empty files are
        copied; empty directories may not be (object stores have none)."""
        ...

    def log_stream(self, stream: BinaryIO, artifact_file: str) -> None:
        """Write a readable binary stream to ``<root>/<artifact_file>``, in chunks; overwrites."""
        ...

    def list_artifacts(self, path: str | None = None) -> tuple[FileInfo, ...]:
        """One level below ``path``, ordered by path; an unknown path lists nothing."""
        ...

    def download_artifacts(self, artifact_path: str, dst_path: str, *, relative_to: str = "") -> str:
        """Download a file or a directory tree into the local directory ``dst_path`` (created if
        missing), at its path below it as MLflow does, and return the local path of what was
        downloaded. ``""`` downloads the whole root (an empty root gives ``dst_path``).

        ``relative_to`` (a leading part of ``artifact_path``, whole segments) is what ``dst_path``
        stands for: ``("a/b", dst, relative_to="a")`` gives ``dst/b``, and a directory downloaded
        relative to itself lands directly in ``dst_path``. So a caller never needs a store rooted
        below its root to place a download (``mlflow.artifacts.download_artifacts`` gives
        ``dst/<last segment>``), and every path stays checked against the real root. A file
        downloaded relative to itself lands as ``dst_path/<its name>``.

        Raises:
            InvalidParameterValue: a path the artifact-path rule refuses, or ``relative_to`` is
                not a leading part of ``artifact_path``.
            ResourceDoesNotExist: nothing exists at a non-empty ``artifact_path``."""
        ...

    def open_artifact(self, artifact_path: str) -> BinaryIO:
        """A readable binary stream of one file (close it when done). Raises
        ResourceDoesNotExist."""
        ...

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or tree (everything under the root when None); idempotent."""
        ...
