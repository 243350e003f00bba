"""The artifact port: files of a run under its artifact root.

An ArtifactStore is bound to one artifact root URI (a run's ``artifact_uri``, as MLflow's
artifact repositories are). Artifact paths are relative, '/'-separated, and validated in the
domain: no ``..`` segments, no absolute paths, no drive letters, no NUL bytes
(``InvalidParameterValue``, nothing written).
"""

from __future__ import annotations

from typing import BinaryIO, Protocol, runtime_checkable

from genesis_flow.core.entities import FileInfo


@runtime_checkable
class ArtifactStore(Protocol):
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file to ``<root>/<artifact_path>/<file name>``; overwrites."""
        ...

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory tree to ``<root>/<artifact_path>/``; overwrites."""
        ...

    def list_artifacts(self, path: str | None = None) -> tuple[FileInfo, ...]:
        """One level below ``path``, ordered by path; an unknown path lists nothing."""
        ...

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        """Download a file or directory under ``dst_path`` and return the local path.
        Raises ResourceDoesNotExist when nothing exists at ``artifact_path``."""
        ...

    def open_artifact(self, artifact_path: str) -> BinaryIO:
        """A readable binary stream of one file. Raises ResourceDoesNotExist."""
        ...

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or tree (everything under the root when None); idempotent."""
        ...
