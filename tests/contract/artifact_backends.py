"""Backends of the artifact contract suite: one id per artifact store, each opened once per session.

``local`` needs nothing. ``azure-blob`` needs a connection string in
``GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING`` (an Azurite emulator's in CI): the session gets one
container of its own, every store a fresh random prefix in it, and the container is deleted when
the session closes. A backend that cannot run raises :class:`Unavailable` saying why.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from genesis_flow.ports.artifacts import ArtifactStore
from genesis_flow.testing import Backend, Unavailable

ARTIFACT_BACKEND_IDS = ["local", "azure-blob"]
AZURE_ENV = "GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING"


def artifact_backend(
    backend_id: str, make: Callable[[], ArtifactStore], close: Callable[[], None]
) -> Backend:
    """A backend of artifact stores only: ``make_artifacts()`` gives a store on a fresh, empty root."""
    return Backend(backend_id, close=close, artifacts=make, capabilities=frozenset())


def open_artifact_backend(backend_id: str, *, scratch: Callable[[], Path], env: dict[str, str]) -> Backend:
    """``scratch()`` gives a new empty local directory (a local store's root); ``env`` is where
    connection strings are read from (``os.environ`` in the suite)."""
    if backend_id == "local":
        return _open_local(scratch)
    if backend_id == "azure-blob":
        return _open_azure(env.get(AZURE_ENV, ""))
    raise Unavailable(f"unknown artifact backend id {backend_id!r}")


def _open_local(scratch: Callable[[], Path]) -> Backend:
    try:
        from genesis_flow.adapters.blob.local import LocalArtifactStore
    except ImportError as error:
        raise Unavailable(f"the local artifact store cannot be imported: {error}") from error
    return artifact_backend("local", lambda: LocalArtifactStore(str(scratch())), lambda: None)


def _open_azure(connection_string: str) -> Backend:
    if not connection_string:
        raise Unavailable(f"{AZURE_ENV} is unset (scripts/services.sh sets it for Azurite)")
    try:
        from azure.storage.blob import BlobServiceClient
    except ImportError as error:
        raise Unavailable(f"the Azure Blob SDK is not installed: {error}") from error
    try:
        from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore
    except ImportError as error:
        raise Unavailable(f"the Azure Blob artifact store cannot be imported: {error}") from error
    account = _account_name(connection_string)
    # Lower-case letters, digits and dashes: a container name Azure accepts.
    container = f"gf-contract-{secrets.token_hex(6)}"
    service = BlobServiceClient.from_connection_string(connection_string)
    try:
        service.create_container(container)
    except Exception as error:  # any SDK or network error: the emulator is not usable here
        service.close()
        raise Unavailable(f"cannot create a container with {AZURE_ENV}: {error!r}") from error

    def make() -> ArtifactStore:
        uri = f"wasbs://{container}@{account}.blob.core.windows.net/runs/{secrets.token_hex(8)}/artifacts"
        return AzureBlobArtifactStore(uri, connection_string=connection_string)

    def close() -> None:
        try:
            service.delete_container(container)
        finally:
            service.close()

    return artifact_backend("azure-blob", make, close)


def _account_name(connection_string: str) -> str:
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part and part.strip())
    if "AccountName" not in fields:
        raise Unavailable(f"{AZURE_ENV} has no AccountName")
    return fields["AccountName"]
