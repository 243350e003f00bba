"""Artifacts in Azure Blob Storage, under MLflow's URIs.

**URIs.** Two forms name the same place, as in MLflow:

* ``wasbs://<container>@<account>.blob.core.windows.net/<path>`` (``wasb://`` is accepted as an
  alias; the connection is HTTPS either way), and
* ``https://<account>.blob.core.windows.net/<container>/<path>`` (percent-encoded, as Azure shows
  blob URLs).

The Azure China (``blob.core.chinacloudapi.cn``) and Azure Government
(``blob.core.usgovcloudapi.net``) suffixes are accepted too. The store's root is ``<path>`` inside
``<container>``: every blob it writes, lists or deletes has the name ``<path>/<artifact path>``, and
nothing outside that prefix is ever touched. A URI of another shape, a query string (put a SAS
token in ``AZURE_STORAGE_SAS_TOKEN``, never in the URI), an invalid container name or a ``..``
segment raise ``InvalidParameterValue``.

**Credentials**, first found wins:

1. ``connection_string=`` and/or ``credential=`` given to the constructor (the composition root,
   tests). Given both, ``credential`` replaces the key in the connection string.
2. ``AZURE_STORAGE_CONNECTION_STRING``, as MLflow reads it.
3. ``AZURE_STORAGE_ACCESS_KEY``: the account key of the URI's account.
4. ``AZURE_STORAGE_SAS_TOKEN``: a SAS token for the URI's account.
5. ``DefaultAzureCredential`` when the optional ``azure-identity`` package is installed (managed
   identity, workload identity, ``AZURE_CLIENT_ID``/``AZURE_TENANT_ID``/``AZURE_CLIENT_SECRET``,
   a developer sign-in).

Otherwise the store refuses to start with ``InvalidState`` naming these variables.

**A URI with a connection string.** The URI names the account, the container and the path; the
connection string gives the endpoint and the key. The endpoint is the connection string's
``BlobEndpoint`` (or the one its ``AccountName``/``EndpointSuffix`` imply), not the host in the
URI, so the Azurite emulator or a private endpoint works with ordinary ``wasbs://`` URIs: only the
container and the path are taken from the URI. When the connection string names an account other
than the URI's, the store raises ``InvalidParameterValue`` rather than write to another account.
Without a connection string the store connects to ``https://<account>.<suffix of the URI>``.

**Writes** stage 4 MiB blocks and commit the block list at the end: nothing appears under the
blob's name before the commit, so a failed upload leaves the old content (or nothing), never a
part; its uncommitted blocks are discarded by the service (at the next write of that name, or after
a week). A missing container is created on the first write when the credentials allow it. Names
with a segment ending in ``.`` are refused (the service would drop the dot and store another
name). **Reads** fetch 4 MiB ranges of one version of the blob: a blob overwritten in between
fails an ``open_artifact`` stream with ``TemporarilyUnavailable``, while a download starts over.

**Errors** are domain errors: a missing blob ``ResourceDoesNotExist``; refused credentials, or a
missing container they may not create, ``InvalidState`` (never quoting a key or a SAS token);
throttling that outlasts the client's exponential retry ``RequestLimitExceeded``; any other
storage or network failure ``TemporarilyUnavailable``. One store (one client) is safe to share
between threads.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobBlock,
    BlobPrefix,
    BlobServiceClient,
    ContainerClient,
    ExponentialRetry,
)

from genesis_flow.adapters.blob.base import CHUNK, ArtifactStoreBase
from genesis_flow.core.artifacts import artifact_path
from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import (
    GenesisError,
    InvalidParameterValue,
    InvalidState,
    RequestLimitExceeded,
    ResourceDoesNotExist,
    TemporarilyUnavailable,
)

__all__ = ["AzureBlobArtifactStore", "AzureBlobLocation", "parse_azure_blob_uri"]

T = TypeVar("T")

Credential = str | dict[str, str] | AzureNamedKeyCredential | AzureSasCredential | TokenCredential

ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ENV_ACCESS_KEY = "AZURE_STORAGE_ACCESS_KEY"
ENV_SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"

_SUFFIXES = ("blob.core.windows.net", "blob.core.chinacloudapi.cn", "blob.core.usgovcloudapi.net")
_SUFFIX = "|".join(re.escape(s) for s in _SUFFIXES)
_WASB_NETLOC = re.compile(rf"([^@/]+)@([a-z0-9]+)\.({_SUFFIX})", re.IGNORECASE)
_HTTPS_NETLOC = re.compile(rf"([a-z0-9]+)\.({_SUFFIX})", re.IGNORECASE)
_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
# Azure's container rule: 3-63 of [a-z0-9-], starting with a letter or digit, no "--".
_CONTAINER = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]|\$root|\$web")
# Limits of the Blob service; past them it answers an opaque 400, so they are checked first.
_MAX_BLOB_NAME = 1024
_MAX_SEGMENTS = 254
_MAX_BLOCKS = 50_000
_BATCH = 256  # sub-requests per blob batch, the service's maximum
# A SAS travels in the query of every request URL, so a transport error quoting a URL would leak it.
_QUERY = re.compile(r"\?[^\s'\"<>)]*")
_THROTTLED = frozenset({429, 503})
_DOWNLOAD_RESTARTS = 8
_AUTH = frozenset({401, 403})


class _ChangedWhileReading(TemporarilyUnavailable):
    """The blob was overwritten between two ranged reads of one download (the SDK pins the first
    read's ETag, so it fails rather than mix two versions)."""


@dataclass(frozen=True)
class AzureBlobLocation:
    """Where an artifact URI points: ``path`` ('' or a checked '/'-joined prefix) in
    ``container`` of ``account``, served under ``suffix`` (``blob.core.windows.net``...)."""

    account: str
    container: str
    path: str
    suffix: str

    @property
    def account_url(self) -> str:
        return f"https://{self.account}.{self.suffix}"


def _invalid_uri(uri: str, why: str) -> InvalidParameterValue:
    # Never the query: it may hold a SAS token.
    shown = uri.split("?", 1)[0]
    return InvalidParameterValue(
        f"Invalid Azure Blob artifact URI {shown!r}: {why}. Expected "
        "wasbs://<container>@<account>.blob.core.windows.net/<path> or "
        "https://<account>.blob.core.windows.net/<container>/<path>"
    )


def parse_azure_blob_uri(uri: str) -> AzureBlobLocation:
    """The account, container and path prefix an MLflow Azure artifact URI names.

    Raises:
        InvalidParameterValue: not a ``wasbs://``/``wasb://``/``https://`` Azure Blob URI, a query
            or fragment, an invalid account or container name, or a path the artifact rules
            refuse (``..``, control characters...).
    """
    if not isinstance(uri, str):
        raise InvalidParameterValue(f"Invalid Azure Blob artifact URI {uri!r}: expected a string")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise _invalid_uri(uri, str(exc)) from None
    if parts.query or parts.fragment or "?" in uri:
        raise _invalid_uri(uri, "a query or fragment is not allowed (give a SAS token as a credential)")
    scheme = parts.scheme.lower()
    if scheme in ("wasbs", "wasb"):
        match = _WASB_NETLOC.fullmatch(parts.netloc)
        if match is None:
            raise _invalid_uri(uri, "the host must be <container>@<account>.blob.core.windows.net")
        container, account, suffix = match.group(1), match.group(2).lower(), match.group(3).lower()
        # MLflow takes a wasbs path as it is written; it is not percent-decoded.
        raw_path = parts.path
    elif scheme == "https":
        match = _HTTPS_NETLOC.fullmatch(parts.netloc)
        if match is None:
            raise _invalid_uri(uri, "the host must be <account>.blob.core.windows.net")
        account, suffix = match.group(1).lower(), match.group(2).lower()
        container, _, raw_path = parts.path.lstrip("/").partition("/")
        container = unquote(container)
        # A blob URL is percent-encoded; the blob name is the decoded text.
        raw_path = unquote(raw_path)
    else:
        raise _invalid_uri(uri, f"unsupported scheme {parts.scheme!r}")
    if not _ACCOUNT.fullmatch(account):
        raise _invalid_uri(uri, f"{account!r} is not a storage account name (3-24 lowercase letters, digits)")
    if not container:
        raise _invalid_uri(uri, "no container")
    if not _CONTAINER.fullmatch(container):
        raise _invalid_uri(
            uri,
            f"{container!r} is not a container name (3-63 lowercase letters, digits and single hyphens)",
        )
    try:
        path = artifact_path(raw_path.strip("/"))
    except InvalidParameterValue as exc:
        raise _invalid_uri(uri, exc.message) from None
    _check_blob_name(path, uri)
    return AzureBlobLocation(account=account, container=container, path=path, suffix=suffix)


def _check_blob_name(name: str, shown: str) -> None:
    if len(name) > _MAX_BLOB_NAME:
        raise InvalidParameterValue(
            f"{shown[:200]!r} is too long for Azure Blob Storage (blob names have at most "
            f"{_MAX_BLOB_NAME} characters)"
        )
    segments = name.split("/") if name else []
    if len(segments) > _MAX_SEGMENTS:
        raise InvalidParameterValue(
            f"{shown[:200]!r} is too deep for Azure Blob Storage (at most {_MAX_SEGMENTS} segments)"
        )
    if any(s.endswith(".") for s in segments):
        # The service drops a trailing dot from a URL segment: "a./b" would be stored as "a/b".
        raise InvalidParameterValue(
            f"{shown[:200]!r}: Azure Blob Storage does not keep a '.' at the end of a path segment"
        )


def _as_credential(credential: Credential) -> Credential:
    # The SDK takes every string for an account key; a SAS token must be wrapped to be sent as one.
    if isinstance(credential, str) and "sig=" in credential:
        return AzureSasCredential(credential.lstrip("?"))
    return credential


def _parse_connection_string(connection_string: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for part in connection_string.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            settings[key.strip().lower()] = value.strip()
    return settings


def _error_code(exc: HttpResponseError) -> str:
    # The storage SDK sets error_code on its errors; azure-core's own errors only carry the header.
    code = getattr(exc, "error_code", None)
    if code is None:
        headers = getattr(exc.response, "headers", None) or {}
        code = headers.get("x-ms-error-code")
    return str(getattr(code, "value", code) or "")


def _first_line(text: str) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= 300 else line[:297] + "..."


class _BlockReader(io.RawIOBase):
    """The chunks of a blob download as a raw stream: one chunk in memory at a time."""

    def __init__(self, chunks: Iterator[bytes], translate: Callable[[AzureError], GenesisError]) -> None:
        super().__init__()
        self._chunks = chunks
        self._translate = translate
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        while not self._pending:
            try:
                chunk = next(self._chunks, None)
            except AzureError as exc:
                # Later chunks are fetched while the caller reads; their failures must be ours too.
                raise self._translate(exc) from None
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._pending = memoryview(b"")
        self._chunks = iter(())
        super().close()


class AzureBlobArtifactStore(ArtifactStoreBase):
    """The ArtifactStore port on Azure Blob Storage; see the module docstring for URIs and
    credentials. Construction makes no request: the first storage call does."""

    def __init__(
        self,
        artifact_uri: str,
        *,
        credential: Credential | None = None,
        connection_string: str | None = None,
        retry_total: int = 4,
        retry_backoff: int = 2,
        **client_options: Any,
    ) -> None:
        """
        Args:
            artifact_uri: the root, ``wasbs://...`` or ``https://...``.
            credential: an account key, a SAS token, an ``AzureNamedKeyCredential``,
                ``AzureSasCredential`` or token credential; with ``connection_string`` it replaces
                the connection string's key.
            connection_string: endpoint and key (see "A URI with a connection string").
            retry_total: retries of a failed request (throttling, 5xx, network) before an error.
            retry_backoff: the n-th retry waits about ``retry_backoff ** n`` seconds (0: no wait).
            client_options: passed to ``BlobServiceClient`` (``connection_verify``, ``proxies``...).

        Raises:
            InvalidParameterValue: a bad URI or connection string, or a connection string for
                another account than the URI's.
            InvalidState: no credentials found.
        """
        super().__init__(artifact_uri)
        self._location = parse_azure_blob_uri(artifact_uri)
        self._prefix = self._location.path + "/" if self._location.path else ""
        self._secrets: list[str] = []
        options: dict[str, Any] = {
            # Downloads fetch 4 MiB at a time and uploads are staged in 4 MiB blocks: flat memory.
            "max_single_get_size": CHUNK,
            "max_chunk_get_size": CHUNK,
            "max_block_size": CHUNK,
            "max_single_put_size": CHUNK,
            # Throttling (503 ServerBusy), 5xx and network errors are retried with exponential
            # backoff (about 2, 4, 8, 16 s by default) before an error reaches us. The SDK caps each
            # kind of retry at 3 unless told otherwise, so retry_total is given to every kind.
            "retry_policy": ExponentialRetry(
                initial_backoff=0,
                increment_base=retry_backoff,
                retry_total=retry_total,
                retry_connect=retry_total,
                retry_read=retry_total,
                retry_status=retry_total,
                random_jitter_range=min(1, retry_backoff),
            ),
        }
        options.update(client_options)
        self._retry_total = retry_total
        self._service, self._credential_source = self._connect(credential, connection_string, options)
        self._container: ContainerClient = self._service.get_container_client(self._location.container)

    @classmethod
    def from_uri(cls, uri: str, **kwargs: Any) -> AzureBlobArtifactStore:
        """The store of ``uri``; ``kwargs`` as the constructor's."""
        return cls(uri, **kwargs)

    @property
    def location(self) -> AzureBlobLocation:
        return self._location

    @property
    def credential_source(self) -> str:
        """Where the credentials came from (never the credentials themselves)."""
        return self._credential_source

    # --- credentials ------------------------------------------------------------------------------

    def _connect(
        self, credential: Credential | None, connection_string: str | None, options: dict[str, Any]
    ) -> tuple[BlobServiceClient, str]:
        if connection_string:
            return self._from_connection_string(connection_string, credential, options), (
                "the connection string given to the store"
            )
        if credential is not None:
            self._remember_secret(credential)
            try:
                client = BlobServiceClient(
                    self._location.account_url, credential=_as_credential(credential), **options
                )
            except (ValueError, TypeError) as exc:
                raise InvalidParameterValue(
                    f"The Azure Storage credential given to the store is not usable ({type(exc).__name__}): "
                    "give an account key, a SAS token or an azure.core credential"
                ) from None
            return client, "the credential given to the store"
        env_connection_string = os.environ.get(ENV_CONNECTION_STRING)
        if env_connection_string:
            return self._from_connection_string(env_connection_string, None, options), ENV_CONNECTION_STRING
        key = os.environ.get(ENV_ACCESS_KEY)
        if key:
            self._secrets.append(key)
            named = AzureNamedKeyCredential(self._location.account, key)
            return BlobServiceClient(self._location.account_url, credential=named, **options), ENV_ACCESS_KEY
        sas = os.environ.get(ENV_SAS_TOKEN)
        if sas:
            sas = sas.lstrip("?")
            self._secrets.append(sas)
            sas_credential = AzureSasCredential(sas)
            client = BlobServiceClient(self._location.account_url, credential=sas_credential, **options)
            return client, ENV_SAS_TOKEN
        try:
            # Imported by name: azure-identity is optional, and absent in most installs.
            identity_module = importlib.import_module("azure.identity")
        except ImportError:
            raise InvalidState(
                f"No credentials for Azure Blob Storage account {self._location.account!r}: set "
                f"{ENV_CONNECTION_STRING}, {ENV_ACCESS_KEY} or {ENV_SAS_TOKEN}, or install "
                "azure-identity to use DefaultAzureCredential (managed identity, AZURE_CLIENT_ID/"
                "AZURE_TENANT_ID/AZURE_CLIENT_SECRET, a developer sign-in)"
            ) from None
        identity: TokenCredential = identity_module.DefaultAzureCredential()
        client = BlobServiceClient(self._location.account_url, credential=identity, **options)
        return client, "DefaultAzureCredential"

    def _from_connection_string(
        self, connection_string: str, credential: Credential | None, options: dict[str, Any]
    ) -> BlobServiceClient:
        settings = _parse_connection_string(connection_string)
        self._secrets.extend(
            v for k, v in settings.items() if k in ("accountkey", "sharedaccesssignature") and v
        )
        if credential is not None:
            self._remember_secret(credential)
        try:
            client = BlobServiceClient.from_connection_string(
                connection_string,
                credential=None if credential is None else _as_credential(credential),
                **options,
            )
        except (ValueError, TypeError, AzureError) as exc:
            # The SDK's message can quote the string, key included; say only what is wrong.
            raise InvalidParameterValue(
                f"The Azure Storage connection string is malformed ({type(exc).__name__}); expected "
                "'AccountName=...;AccountKey=...;BlobEndpoint=...' or "
                "'DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=...'"
            ) from None
        named = settings.get("accountname") or client.account_name
        if named and named.lower() != self._location.account:
            raise InvalidParameterValue(
                f"The Azure Storage connection string is for account {named!r} but the artifact URI "
                f"{self.artifact_uri!r} names account {self._location.account!r}; refusing to write "
                "to another account than the URI names"
            )
        return client

    def _remember_secret(self, credential: Credential) -> None:
        if isinstance(credential, str):
            self._secrets.append(credential.lstrip("?"))
        elif isinstance(credential, AzureNamedKeyCredential):
            self._secrets.append(credential.named_key.key)
        elif isinstance(credential, AzureSasCredential):
            self._secrets.append(credential.signature.lstrip("?"))
        elif isinstance(credential, dict):
            self._secrets.extend(v for k, v in credential.items() if k != "account_name" and v)

    # --- errors -----------------------------------------------------------------------------------

    def _where(self, path: str) -> str:
        name = self._prefix + path if path else self._location.path
        return (
            f"{name or '/'!r} in container {self._location.container!r} of account {self._location.account!r}"
        )

    def _scrub(self, text: str) -> str:
        text = _QUERY.sub("?<redacted>", text)
        for secret in self._secrets:
            if len(secret) >= 8:
                text = text.replace(secret, "<redacted>")
        return text

    def _translate(self, exc: AzureError, action: str, path: str) -> GenesisError:
        """The domain error for a failure of ``action`` on ``path``: one line, no secret."""
        where = self._where(path)
        if isinstance(exc, HttpResponseError) and exc.status_code is not None:
            return self._status_error(exc.status_code, _error_code(exc), action, path)
        if isinstance(exc, ClientAuthenticationError):
            # No HTTP status: the credential itself failed (a token not obtained, a key that is
            # not base64) before any request was answered.
            return InvalidState(
                f"The Azure Storage credentials from {self._credential_source} could not be used to "
                f"{action} {where}: {self._scrub(_first_line(str(exc.message or exc)))}"
            )
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            return TemporarilyUnavailable(
                f"Azure Blob Storage at {self._endpoint()} could not be reached to {action} {where} "
                f"after {self._retry_total} retries: {self._scrub(_first_line(str(exc.message or exc)))}"
            )
        return TemporarilyUnavailable(
            f"Azure Blob Storage failed to {action} {where}: {type(exc).__name__}: "
            f"{self._scrub(_first_line(str(exc.message or exc)))}"
        )

    def _status_error(self, status: int, code: str, action: str, path: str) -> GenesisError:
        where = self._where(path)
        reply = f"HTTP {status}{' ' + code if code else ''}"
        if status == 404:
            return ResourceDoesNotExist(f"No artifact {where} ({reply})")
        if code == "InvalidBlockList":
            # Committing a block list discards every other uncommitted block of the blob, so of two
            # uploads of one name at once, the later commit finds its blocks gone.
            return TemporarilyUnavailable(
                f"Another upload replaced {where} while this one was in progress ({reply}): write again"
            )
        if status == 412 and action == "read":
            return _ChangedWhileReading(
                f"The artifact {where} was overwritten while being read ({reply}): read it again"
            )
        if status in _AUTH:
            return InvalidState(
                f"Azure Blob Storage refused the credentials from {self._credential_source} to "
                f"{action} {where} ({reply}): check the key or SAS token and its permissions, or "
                "the identity's data role on the container"
            )
        if status in _THROTTLED:
            # The storage retry policy retries 503 (the Blob service's throttling answer), not 429.
            retried = f" after {self._retry_total} retries" if status != 429 else ""
            return RequestLimitExceeded(
                f"Azure Blob Storage is throttling requests to account {self._location.account!r} "
                f"({reply}) and still was{retried} to {action} {where}: retry later or lower the "
                "request rate"
            )
        return TemporarilyUnavailable(f"Azure Blob Storage failed to {action} {where} ({reply})")

    def _endpoint(self) -> str:
        # The URL without any SAS query.
        return str(self._service.url).split("?", 1)[0]

    @contextlib.contextmanager
    def _azure_errors(self, action: str, path: str) -> Iterator[None]:
        """Azure exceptions raised inside become domain errors: none escapes the store."""
        try:
            yield
        except AzureError as exc:
            raise self._translate(exc, action, path) from None

    # --- names ------------------------------------------------------------------------------------

    def _name(self, path: str) -> str:
        name = self._prefix + path
        _check_blob_name(name, path)
        return name

    def _relative(self, name: str) -> str:
        return name[len(self._prefix) :]

    # --- primitives -------------------------------------------------------------------------------

    def _put(self, stream: BinaryIO, path: str) -> None:
        name = self._name(path)
        blob = self._container.get_blob_client(name)
        # Ids unique to this upload: blocks staged by another writer of the same name (or a failed
        # attempt) are never committed by mistake. All ids of a blob must have one length.
        upload = uuid.uuid4().hex
        blocks: list[BlobBlock] = []
        with self._azure_errors("write", path):
            while True:
                data = _read_block(stream)
                if not data:
                    break
                if len(blocks) >= _MAX_BLOCKS:
                    raise InvalidParameterValue(
                        f"{path!r} is larger than Azure Blob Storage allows in {_MAX_BLOCKS} blocks of "
                        f"{CHUNK} bytes"
                    )
                block_id = base64.b64encode(f"{upload}-{len(blocks):06d}".encode("ascii")).decode("ascii")
                stage = functools.partial(blob.stage_block, block_id, data, length=len(data))
                if blocks:
                    stage()
                else:
                    self._creating_container(stage)
                blocks.append(BlobBlock(block_id=block_id))
                # Let go of this block before reading the next: one block in memory, not two.
                del data, stage
            if blocks:
                # The blob's content changes here, at once, from the old to the complete new one.
                blob.commit_block_list(blocks)
            else:
                self._creating_container(lambda: blob.upload_blob(b"", overwrite=True))

    def _creating_container(self, write: Callable[[], T]) -> T:
        """``write()``, retried once after creating the container if it does not exist."""
        try:
            return write()
        except ResourceNotFoundError as exc:
            if _error_code(exc) != "ContainerNotFound":
                raise
        self._create_container()
        return write()

    def _create_container(self) -> None:
        try:
            self._container.create_container()
        except ResourceExistsError:
            pass  # another writer created it first
        except HttpResponseError as exc:
            if exc.status_code in _AUTH:
                raise InvalidState(
                    f"Container {self._location.container!r} does not exist in Azure Storage account "
                    f"{self._location.account!r} and the credentials from {self._credential_source} "
                    f"may not create it (HTTP {exc.status_code} {_error_code(exc)}): create the "
                    "container, or use credentials allowed to"
                ) from None
            raise

    def _get(self, path: str) -> BinaryIO:
        name = self._name(path)
        with self._azure_errors("read", path):
            downloader = self._container.get_blob_client(name).download_blob()
            chunks = downloader.chunks()

        def translate(exc: AzureError) -> GenesisError:
            return self._translate(exc, "read", path)

        return io.BufferedReader(_BlockReader(chunks, translate), buffer_size=io.DEFAULT_BUFFER_SIZE)

    def _download_file(self, path: str, local: str) -> None:
        # A download goes to a temporary file, so unlike an open_artifact stream it can start over
        # when a writer replaces the blob under it; a bounded number of times, for busy writers.
        for attempt in range(_DOWNLOAD_RESTARTS + 1):
            try:
                super()._download_file(path, local)
                return
            except _ChangedWhileReading:
                if attempt == _DOWNLOAD_RESTARTS:
                    raise

    def _files(self, prefix: str) -> Iterator[tuple[str, int]]:
        start = self._name(prefix) + "/" if prefix else self._prefix
        with self._azure_errors("list", prefix):
            try:
                if prefix:
                    try:
                        properties = self._container.get_blob_client(start[:-1]).get_blob_properties()
                    except ResourceNotFoundError:
                        pass
                    else:
                        yield prefix, int(properties.size)
                for blob in self._container.list_blobs(name_starts_with=start):
                    relative = self._relative(str(blob.name))
                    # Names other tools wrote ("a//b", "a/", "../x") are not artifact paths, and
                    # "../x" would be downloaded outside the destination: they are left out.
                    if _is_plain_path(relative):
                        yield relative, int(blob.size)
            except ResourceNotFoundError as exc:
                if _error_code(exc) != "ContainerNotFound":
                    raise

    def _list_level(self, prefix: str) -> list[FileInfo]:
        start = self._name(prefix) + "/" if prefix else self._prefix
        entries: list[FileInfo] = []
        with self._azure_errors("list", prefix):
            try:
                for item in self._container.walk_blobs(name_starts_with=start, delimiter="/"):
                    leaf = str(item.name)[len(start) :]
                    size: int | None = None
                    if isinstance(item, BlobPrefix):
                        leaf = leaf.removesuffix("/")
                    else:
                        size = int(item.size)
                    if not leaf or "/" in leaf:
                        continue  # a marker blob "dir/" or an empty segment ("dir//x")
                    child = f"{prefix}/{leaf}" if prefix else leaf
                    if not _is_plain_path(child):
                        continue  # "..", "%2e%2e" written by another tool: not an artifact path
                    entries.append(FileInfo(path=child, is_dir=size is None, file_size=size))
            except ResourceNotFoundError as exc:
                if _error_code(exc) != "ContainerNotFound":
                    raise
        return entries

    def _remove(self, prefix: str) -> None:
        start = self._name(prefix) + "/" if prefix else self._prefix
        with self._azure_errors("delete", prefix):
            # The file itself first, then everything below; a missing name is simply skipped.
            batch: list[str] = [start[:-1]] if prefix else []
            try:
                for blob in self._container.list_blobs(name_starts_with=start):
                    batch.append(str(blob.name))
                    if len(batch) == _BATCH:
                        self._delete_batch(batch, prefix)
                        batch = []
            except ResourceNotFoundError as exc:
                if _error_code(exc) != "ContainerNotFound":
                    raise
                return
            if batch:
                self._delete_batch(batch, prefix)

    def _delete_batch(self, names: list[str], prefix: str) -> None:
        responses = self._container.delete_blobs(
            *names, delete_snapshots="include", raise_on_any_failure=False
        )
        for response in responses:
            status = int(response.status_code)
            if status < 300 or status == 404:
                continue
            code = str(response.headers.get("x-ms-error-code") or "")
            raise self._status_error(status, code, "delete", prefix)


def _read_block(stream: BinaryIO) -> bytes:
    """Up to CHUNK bytes: short reads (pipes, sockets) are gathered so blocks stay large."""
    data = stream.read(CHUNK)
    if not data:
        return b""
    if len(data) == CHUNK:
        # Files give bytes; a bytearray or memoryview is copied once so the SDK gets bytes.
        return data if isinstance(data, bytes) else bytes(data)
    parts = [data]
    size = len(data)
    while size < CHUNK:
        more = stream.read(CHUNK - size)
        if not more:
            break
        parts.append(more)
        size += len(more)
    return b"".join(parts)


def _is_plain_path(relative: str) -> bool:
    try:
        return artifact_path(relative) == relative and relative != ""
    except InvalidParameterValue:
        return False
