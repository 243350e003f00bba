"""The Azure Blob artifact store against a Blob endpoint (Azurite in CI): block uploads that are
invisible until committed, streamed 20 MB round trips in flat memory, containers created on first
write, listings at every level, deletes that stay inside the root, and storage failures turned into
domain errors that never quote a key.

URI parsing, credential resolution and the throttling/network error paths need no server and always
run (the last two against a local stand-in that answers 503 or refuses connections). The others
need ``GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING`` and are skipped, with the reason, without it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import importlib.util
import io
import os
import secrets
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("azure.storage.blob", reason="azure-storage-blob is not installed (extra 'azure')")

from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ResourceTypes,
    generate_account_sas,
)

from genesis_flow.adapters.blob.azure import (
    ENV_ACCESS_KEY,
    ENV_CONNECTION_STRING,
    ENV_SAS_TOKEN,
    AzureBlobArtifactStore,
    parse_azure_blob_uri,
)
from genesis_flow.adapters.blob.base import CHUNK
from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import GenesisError
from genesis_flow.entrypoints.api import presentation

CONNECTION_STRING = os.environ.get("GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING", "")
# A well-formed key that no account has: 64 bytes, base64-encoded, as real keys are.
WRONG_KEY = base64.b64encode(b"genesis-flow-wrong-key-" + b"0" * 41).decode("ascii")


def code_of(error: BaseException) -> str | None:
    return error.error_code if isinstance(error, GenesisError) else None


def settings_of(connection_string: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in connection_string.split(";"))
    return {key.strip(): value.strip() for key, sep, value in pairs if sep}


def wasbs(container: str, account: str, path: str = "") -> str:
    return f"wasbs://{container}@{account}.blob.core.windows.net/{path}".rstrip("/")


def read_all(store: AzureBlobArtifactStore, path: str) -> bytes:
    with store.open_artifact(path) as stream:
        return stream.read()


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the developer's environment must not change what a test exercises."""
    for name in (ENV_CONNECTION_STRING, ENV_ACCESS_KEY, ENV_SAS_TOKEN):
        monkeypatch.delenv(name, raising=False)


# --- URIs (no server) -------------------------------------------------------------------------------


def test_wasbs_uri_names_container_account_and_path() -> None:
    location = parse_azure_blob_uri("wasbs://mlruns@myaccount.blob.core.windows.net/1/abc/artifacts")
    assert (location.account, location.container, location.path) == ("myaccount", "mlruns", "1/abc/artifacts")
    assert location.account_url == "https://myaccount.blob.core.windows.net"


def test_wasb_alias_sovereign_clouds_and_a_bare_container() -> None:
    assert parse_azure_blob_uri("wasb://c0n@acct1.blob.core.windows.net/x/").path == "x"
    china = parse_azure_blob_uri("wasbs://data@acct.blob.core.chinacloudapi.cn/p")
    assert china.account_url == "https://acct.blob.core.chinacloudapi.cn"
    assert parse_azure_blob_uri("wasbs://data@acct.blob.core.windows.net").path == ""
    # Host names are case-insensitive; the account is stored in lower case.
    assert parse_azure_blob_uri("wasbs://data@ACCT.Blob.Core.Windows.Net/p").account == "acct"


def test_https_uri_names_the_same_place_and_is_percent_decoded() -> None:
    location = parse_azure_blob_uri("https://myaccount.blob.core.windows.net/mlruns/1/my%20run/artifacts")
    assert (location.account, location.container, location.path) == (
        "myaccount",
        "mlruns",
        "1/my run/artifacts",
    )
    assert parse_azure_blob_uri("https://myaccount.blob.core.windows.net/mlruns").path == ""


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/path",
        "wasbs://myaccount.blob.core.windows.net/path",  # no container
        "wasbs://c@myaccount.dfs.core.windows.net/path",  # not the Blob endpoint
        "wasbs://c@myaccount.blob.core.windows.net:443/path",  # a port
        "https://myaccount.blob.core.windows.net/",  # no container
        "https://user@myaccount.blob.core.windows.net/c/p",
        "wasbs://UPPER@myaccount.blob.core.windows.net/p",  # containers are lower case
        "wasbs://a--b@myaccount.blob.core.windows.net/p",
        "wasbs://ab@myaccount.blob.core.windows.net/p",  # too short
        "wasbs://c0ntainer@my-account.blob.core.windows.net/p",  # accounts have no hyphen
        "wasbs://mlruns@myaccount.blob.core.windows.net/a/../b",
        "https://myaccount.blob.core.windows.net/mlruns/a/%2e%2e/b",
        "wasbs://mlruns@myaccount.blob.core.windows.net/notes./x",  # the service drops the dot
        "wasbs://mlruns@myaccount.blob.core.windows.net/p#frag",
    ],
)
def test_invalid_uris_are_invalid_parameter_values(uri: str) -> None:
    with pytest.raises(GenesisError) as raised:
        parse_azure_blob_uri(uri)
    assert code_of(raised.value) == "INVALID_PARAMETER_VALUE"


def test_a_sas_in_the_uri_is_refused_without_being_echoed() -> None:
    uri = "https://myaccount.blob.core.windows.net/mlruns/p?sv=2024-01-01&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D"
    with pytest.raises(GenesisError) as raised:
        AzureBlobArtifactStore(uri, credential=WRONG_KEY)
    assert code_of(raised.value) == "INVALID_PARAMETER_VALUE"
    assert "sig=" not in str(raised.value) and "c2VjcmV0" not in str(raised.value)


def test_from_uri_is_the_constructor() -> None:
    store = AzureBlobArtifactStore.from_uri(wasbs("mlruns", "myaccount", "p"), credential=WRONG_KEY)
    assert isinstance(store, AzureBlobArtifactStore) and store.location.path == "p"
    assert store.artifact_uri == wasbs("mlruns", "myaccount", "p")


# --- credentials (no server: building a client makes no request) ------------------------------------


def fake_connection_string(account: str, port: int = 9) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={WRONG_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{account};"
    )


def test_credentials_are_looked_up_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = wasbs("mlruns", "acct1", "p")
    monkeypatch.setenv(ENV_SAS_TOKEN, "?sv=2024-01-01&sig=abc")
    assert AzureBlobArtifactStore(uri).credential_source == ENV_SAS_TOKEN
    monkeypatch.setenv(ENV_ACCESS_KEY, WRONG_KEY)
    assert AzureBlobArtifactStore(uri).credential_source == ENV_ACCESS_KEY
    monkeypatch.setenv(ENV_CONNECTION_STRING, fake_connection_string("acct1"))
    assert AzureBlobArtifactStore(uri).credential_source == ENV_CONNECTION_STRING
    explicit = AzureBlobArtifactStore(uri, connection_string=fake_connection_string("acct1"))
    assert explicit.credential_source == "the connection string given to the store"
    assert AzureBlobArtifactStore(uri, credential=WRONG_KEY).credential_source == (
        "the credential given to the store"
    )


def test_no_credentials_is_an_invalid_state_naming_the_variables() -> None:
    if importlib.util.find_spec("azure.identity") is not None:
        pytest.skip("azure-identity is installed: DefaultAzureCredential is the last resort")
    with pytest.raises(GenesisError) as raised:
        AzureBlobArtifactStore(wasbs("mlruns", "acct1", "p"))
    assert code_of(raised.value) == "INVALID_STATE"
    for name in (ENV_CONNECTION_STRING, ENV_ACCESS_KEY, ENV_SAS_TOKEN, "azure-identity"):
        assert name in str(raised.value)


def test_a_connection_string_for_another_account_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = wasbs("mlruns", "theuriaccount", "p")
    with pytest.raises(GenesisError) as raised:
        AzureBlobArtifactStore(uri, connection_string=fake_connection_string("otheraccount"))
    assert code_of(raised.value) == "INVALID_PARAMETER_VALUE"
    assert "otheraccount" in str(raised.value) and "theuriaccount" in str(raised.value)
    assert WRONG_KEY not in str(raised.value)
    monkeypatch.setenv(ENV_CONNECTION_STRING, fake_connection_string("otheraccount"))
    with pytest.raises(GenesisError) as from_env:
        AzureBlobArtifactStore(uri)
    assert code_of(from_env.value) == "INVALID_PARAMETER_VALUE"


def test_a_malformed_connection_string_is_refused_without_being_echoed() -> None:
    malformed = f"AccountKey={WRONG_KEY};nonsense"
    with pytest.raises(GenesisError) as raised:
        AzureBlobArtifactStore(wasbs("mlruns", "acct1", "p"), connection_string=malformed)
    assert code_of(raised.value) == "INVALID_PARAMETER_VALUE"
    assert WRONG_KEY not in str(raised.value)


# --- throttling and network failures (a local stand-in, no server) ----------------------------------


class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers every request as a throttled Blob service does."""

    requests = 0

    def _answer(self) -> None:
        type(self).requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(503, "The server is busy.")
        self.send_header("x-ms-error-code", "ServerBusy")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def busy_port() -> Iterator[int]:
    _Busy.requests = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_throttling_past_the_retry_policy_is_request_limit_exceeded(busy_port: int) -> None:
    store = AzureBlobArtifactStore(
        wasbs("mlruns", "acct1", "p"),
        connection_string=fake_connection_string("acct1", busy_port),
        retry_total=2,
        retry_backoff=0,
    )
    for attempt in (lambda: presentation.log_text(store, "x", "a.txt"), lambda: store.list_artifacts()):
        _Busy.requests = 0
        with pytest.raises(GenesisError) as raised:
            attempt()
        assert code_of(raised.value) == "REQUEST_LIMIT_EXCEEDED"
        assert "ServerBusy" in str(raised.value) and WRONG_KEY not in str(raised.value)
        assert _Busy.requests == 3  # the first try and two retries


def test_an_unreachable_endpoint_is_temporarily_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = AzureBlobArtifactStore(
        wasbs("mlruns", "acct1", "p"),
        connection_string=fake_connection_string("acct1", port),
        retry_total=0,
        retry_backoff=0,
    )
    for attempt in (
        lambda: presentation.log_text(store, "x", "a.txt"),
        lambda: store.open_artifact("a.txt"),
        lambda: store.delete_artifacts(),
    ):
        with pytest.raises(GenesisError) as raised:
            attempt()
        assert code_of(raised.value) == "TEMPORARILY_UNAVAILABLE"
        assert "\n" not in str(raised.value) and WRONG_KEY not in str(raised.value)


# --- against the Blob endpoint ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service() -> Iterator[BlobServiceClient]:
    if not CONNECTION_STRING:
        pytest.skip(
            "GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING is unset (scripts/services.sh sets it for Azurite)"
        )
    client = BlobServiceClient.from_connection_string(CONNECTION_STRING)
    yield client
    client.close()


@pytest.fixture(scope="module")
def account() -> str:
    return settings_of(CONNECTION_STRING).get("AccountName", "devstoreaccount1")


@pytest.fixture(scope="module")
def created(service: BlobServiceClient) -> Iterator[list[str]]:
    """Names of the containers this module made; all are deleted at its end."""
    names: list[str] = []
    yield names
    for name in names:
        # Already gone, or never created by a test whose creation was refused.
        with contextlib.suppress(Exception):
            service.delete_container(name)


@pytest.fixture(scope="module")
def container(service: BlobServiceClient, created: list[str]) -> ContainerClient:
    name = f"gf-azart-{secrets.token_hex(6)}"
    client = service.create_container(name)
    created.append(name)
    return client


@pytest.fixture
def make_store(container: ContainerClient, account: str) -> Callable[..., AzureBlobArtifactStore]:
    """A store on a fresh root ``runs/<random>/artifacts`` of the module's container."""

    def make(root: str | None = None, **options: Any) -> AzureBlobArtifactStore:
        path = root if root is not None else f"runs/{secrets.token_hex(6)}/artifacts"
        uri = wasbs(container.container_name, account, path)
        return AzureBlobArtifactStore(uri, connection_string=CONNECTION_STRING, **options)

    return make


class GeneratedStream(io.RawIOBase):
    """``size`` pseudo-random bytes made on the fly (never held whole); raises ``fail_after`` reads
    in, after handing out that many chunks."""

    def __init__(self, size: int, seed: bytes = b"genesis", fail_after: int | None = None) -> None:
        super().__init__()
        self.remaining = size
        self.digest = hashlib.sha256()
        self.reads = 0
        self.fail_after = fail_after
        self._block = hashlib.sha512(seed).digest() * (CHUNK // 64)
        self._counter = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.fail_after is not None and self.reads >= self.fail_after:
            raise OSError("the source broke half way")
        self.reads += 1
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        size = min(size, len(self._block))
        self._counter += 1
        # Each chunk differs (its first bytes carry a counter), so a misplaced block changes the hash.
        # Built in one allocation: the test's own copies stay out of the measured peak.
        data = b"".join((self._counter.to_bytes(8, "big"), memoryview(self._block)[8:size]))[:size]
        self.remaining -= size
        self.digest.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def test_small_file_round_trip(make_store: Callable[..., AzureBlobArtifactStore], tmp_path: Path) -> None:
    store = make_store()
    local = tmp_path / "model.txt"
    local.write_text("weights: 1\n", encoding="utf-8")
    store.log_artifact(str(local), "model")
    presentation.log_text(store, "hello", "notes.txt")
    store.log_stream(io.BytesIO(b""), "empty.bin")
    presentation.log_dict(store, {"a": 1}, "conf/params.json")

    assert read_all(store, "model/model.txt") == b"weights: 1\n"
    assert read_all(store, "notes.txt") == b"hello"
    assert read_all(store, "empty.bin") == b""
    assert store.list_artifacts() == (
        FileInfo("conf", True, None),
        FileInfo("empty.bin", False, 0),
        FileInfo("model", True, None),
        FileInfo("notes.txt", False, 5),
    )
    presentation.log_text(store, "hello again", "notes.txt")  # overwrites
    assert read_all(store, "notes.txt") == b"hello again"

    single = store.download_artifacts("model/model.txt", str(tmp_path / "one"))
    assert Path(single).read_text(encoding="utf-8") == "weights: 1\n"
    tree = Path(store.download_artifacts("", str(tmp_path / "all")))
    found = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert found == ["conf/params.json", "empty.bin", "model/model.txt", "notes.txt"]


def test_twenty_megabytes_stream_through_in_blocks_and_flat_memory(
    make_store: Callable[..., AzureBlobArtifactStore], container: ContainerClient, tmp_path: Path
) -> None:
    # The SDK joins each GET's body through a list it presizes to the body's length in bytes: 8
    # bytes of (mostly untouched, so not resident) pointer space per byte, which tracemalloc counts.
    # Small GETs keep that well under the file's size, so the peak still shows it is not held whole.
    store = make_store(max_single_get_size=512 * 1024, max_chunk_get_size=512 * 1024)
    size = 20 * 1024 * 1024 + 12345
    source = GeneratedStream(size)
    tracemalloc.start()
    try:
        store.log_stream(source, "big/blob.bin")  # type: ignore[arg-type]
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        downloaded = hashlib.sha256()
        with store.open_artifact("big/blob.bin") as stream:
            while chunk := stream.read(1024 * 1024):
                downloaded.update(chunk)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert downloaded.hexdigest() == source.digest.hexdigest()
    # Well under the file's size: a few blocks in flight at most.
    assert upload_peak < 3 * CHUNK, upload_peak
    assert download_peak < size // 2, download_peak

    committed, uncommitted = container.get_blob_client(f"{store.location.path}/big/blob.bin").get_block_list(
        "all"
    )
    assert len(committed) == -(-size // CHUNK) and not uncommitted
    assert store.list_artifacts("big") == (FileInfo("big/blob.bin", False, size),)

    local = Path(store.download_artifacts("big/blob.bin", str(tmp_path)))
    assert local.stat().st_size == size
    on_disk = hashlib.sha256()
    with local.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            on_disk.update(chunk)
    assert on_disk.hexdigest() == source.digest.hexdigest()


def test_a_failed_upload_leaves_nothing_under_the_final_name(
    make_store: Callable[..., AzureBlobArtifactStore], container: ContainerClient
) -> None:
    store = make_store()
    with pytest.raises(OSError, match="half way"):
        store.log_stream(GeneratedStream(5 * CHUNK, fail_after=2), "new.bin")  # type: ignore[arg-type]
    assert store.list_artifacts() == ()
    assert not container.get_blob_client(f"{store.location.path}/new.bin").exists()
    with pytest.raises(GenesisError) as raised:
        store.open_artifact("new.bin")
    assert code_of(raised.value) == "RESOURCE_DOES_NOT_EXIST"

    presentation.log_text(store, "the old content", "old.bin")
    with pytest.raises(OSError, match="half way"):
        store.log_stream(GeneratedStream(5 * CHUNK, fail_after=2), "old.bin")  # type: ignore[arg-type]
    assert read_all(store, "old.bin") == b"the old content"
    assert store.list_artifacts() == (FileInfo("old.bin", False, len(b"the old content")),)
    # A later complete upload of the same name is not confused by the abandoned blocks.
    presentation.log_text(store, "the new content", "old.bin")
    assert read_all(store, "old.bin") == b"the new content"


def test_a_missing_container_is_created_on_first_write(
    service: BlobServiceClient, created: list[str], account: str
) -> None:
    name = f"gf-azart-new-{secrets.token_hex(6)}"
    created.append(name)
    store = AzureBlobArtifactStore(wasbs(name, account, "r/artifacts"), connection_string=CONNECTION_STRING)
    assert store.list_artifacts() == ()  # reads of a missing container find nothing...
    with pytest.raises(GenesisError) as raised:
        store.open_artifact("a.txt")
    assert code_of(raised.value) == "RESOURCE_DOES_NOT_EXIST"
    store.delete_artifacts()  # ...and deletes have nothing to do
    presentation.log_text(store, "first", "a.txt")
    assert service.get_container_client(name).exists()
    assert read_all(store, "a.txt") == b"first"

    empty_first = f"gf-azart-new-{secrets.token_hex(6)}"
    created.append(empty_first)
    other = AzureBlobArtifactStore(wasbs(empty_first, account, "r"), connection_string=CONNECTION_STRING)
    other.log_stream(io.BytesIO(b""), "empty.txt")  # the empty-blob path creates it too
    assert other.list_artifacts() == (FileInfo("empty.txt", False, 0),)


def test_a_container_the_credentials_may_not_create_is_an_invalid_state(
    service: BlobServiceClient, created: list[str], account: str
) -> None:
    settings = settings_of(CONNECTION_STRING)
    if "AccountKey" not in settings:
        pytest.skip("the test connection string has no account key to sign a SAS with")
    # Objects only: blobs may be written, containers may not be created.
    sas = generate_account_sas(
        account,
        settings["AccountKey"],
        resource_types=ResourceTypes(object=True),
        permission=AccountSasPermissions(read=True, write=True, list=True, delete=True, create=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    endpoint = str(service.url).rstrip("/")
    name = f"gf-azart-denied-{secrets.token_hex(6)}"
    created.append(name)
    store = AzureBlobArtifactStore(
        wasbs(name, account, "r"),
        connection_string=f"BlobEndpoint={endpoint};SharedAccessSignature={sas}",
    )
    with pytest.raises(GenesisError) as raised:
        presentation.log_text(store, "x", "a.txt")
    assert code_of(raised.value) == "INVALID_STATE"
    assert "does not exist" in str(raised.value) and name in str(raised.value)
    signature = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    assert signature not in str(raised.value) and "sig=" not in str(raised.value)
    assert not service.get_container_client(name).exists()


@pytest.mark.parametrize("key", [WRONG_KEY, "not-base64!"])
def test_refused_credentials_are_an_invalid_state_without_the_key(
    key: str, container: ContainerClient, account: str, tmp_path: Path
) -> None:
    settings = settings_of(CONNECTION_STRING)
    if "AccountKey" not in settings:
        pytest.skip("the test connection string has no account key to replace")
    wrong = CONNECTION_STRING.replace(settings["AccountKey"], key)
    store = AzureBlobArtifactStore(
        wasbs(container.container_name, account, "refused"), connection_string=wrong, retry_total=0
    )
    for attempt in (
        lambda: presentation.log_text(store, "x", "a.txt"),
        lambda: store.list_artifacts(),
        lambda: store.open_artifact("a.txt"),
        lambda: store.download_artifacts("", str(tmp_path)),
        lambda: store.delete_artifacts(),
    ):
        with pytest.raises(GenesisError) as raised:
            attempt()
        assert code_of(raised.value) == "INVALID_STATE", raised.value
        message = str(raised.value)
        assert key not in message and settings["AccountKey"] not in message
        assert "credentials" in message and "\n" not in message


def test_a_missing_blob_is_resource_does_not_exist(
    make_store: Callable[..., AzureBlobArtifactStore], tmp_path: Path
) -> None:
    store = make_store()
    presentation.log_text(store, "x", "dir/present.txt")
    for attempt in (
        lambda: store.open_artifact("absent.txt"),
        lambda: store.open_artifact("dir"),  # a directory is not a file
        lambda: store.download_artifacts("absent", str(tmp_path)),
        lambda: store.download_artifacts("dir/pres", str(tmp_path)),  # a name prefix is not a path
    ):
        with pytest.raises(GenesisError) as raised:
            attempt()
        assert code_of(raised.value) == "RESOURCE_DOES_NOT_EXIST"


def test_listing_at_every_level(make_store: Callable[..., AzureBlobArtifactStore]) -> None:
    store = make_store()
    for path, text in {
        "a.txt": "a",
        "d/b.txt": "bb",
        "d/e/c.txt": "ccc",
        "d/e/f/g.txt": "gggg",
        "d/ee.txt": "eeeee",
    }.items():
        presentation.log_text(store, text, path)
    assert store.list_artifacts() == (FileInfo("a.txt", False, 1), FileInfo("d", True, None))
    assert store.list_artifacts("") == store.list_artifacts(None) == store.list_artifacts()
    assert store.list_artifacts("d") == (
        FileInfo("d/b.txt", False, 2),
        FileInfo("d/e", True, None),
        FileInfo("d/ee.txt", False, 5),
    )
    assert store.list_artifacts("d/") == store.list_artifacts("d")
    assert store.list_artifacts("d/e") == (FileInfo("d/e/c.txt", False, 3), FileInfo("d/e/f", True, None))
    assert store.list_artifacts("d/e/f") == (FileInfo("d/e/f/g.txt", False, 4),)
    assert store.list_artifacts("a.txt") == ()  # a file lists nothing
    assert store.list_artifacts("nowhere") == ()
    assert store.list_artifacts("d/e/f/g.txt") == ()


def test_deleting_a_subtree_leaves_its_siblings(
    make_store: Callable[..., AzureBlobArtifactStore], container: ContainerClient
) -> None:
    store = make_store()
    for path in ("a.txt", "d/b.txt", "d/e/c.txt", "d/e/f/g.txt", "d/ee.txt", "d/e.txt"):
        presentation.log_text(store, path, path)
    store.delete_artifacts("d/e")
    assert store.list_artifacts("d") == (
        FileInfo("d/b.txt", False, len("d/b.txt")),
        FileInfo("d/e.txt", False, len("d/e.txt")),
        FileInfo("d/ee.txt", False, len("d/ee.txt")),
    )
    store.delete_artifacts("d/e")  # idempotent
    store.delete_artifacts("d/e.txt")  # one file, not its name-prefix siblings
    assert [f.path for f in store.list_artifacts("d")] == ["d/b.txt", "d/ee.txt"]
    store.delete_artifacts("never/was")

    # More blobs than one batch deletes.
    many = [f"{store.location.path}/bulk/{i:04d}.txt" for i in range(300)]
    with _Pool(16) as run:
        run(lambda name: container.upload_blob(name, b"x", overwrite=True), many)
    assert len(store.list_artifacts("bulk")) == 300
    store.delete_artifacts("bulk")
    assert store.list_artifacts("bulk") == ()
    assert [f.path for f in store.list_artifacts()] == ["a.txt", "d"]


def test_deleting_the_root_leaves_everything_outside_it(
    make_store: Callable[..., AzureBlobArtifactStore], container: ContainerClient
) -> None:
    base = f"runs/{secrets.token_hex(6)}"
    store = make_store(f"{base}/artifacts")
    presentation.log_text(store, "inside", "x/in.txt")
    presentation.log_text(store, "inside", "top.txt")
    outside = [f"{base}/artifactsX/y.txt", f"{base}/artifacts.txt", f"{base}/other/z.txt", "elsewhere.txt"]
    for name in outside:
        container.upload_blob(name, b"outside", overwrite=True)
    store.delete_artifacts()
    assert store.list_artifacts() == ()
    for name in outside:
        assert container.get_blob_client(name).download_blob().readall() == b"outside", name
        container.delete_blob(name)


def test_a_blob_that_is_also_a_folder_downloads_as_the_folder_at_any_depth(
    make_store: Callable[..., AzureBlobArtifactStore], tmp_path: Path
) -> None:
    # Blob storage holds a blob "m/weights" beside blobs "m/weights/...": a file system cannot.
    store = make_store()
    presentation.log_text(store, "a file", "m/weights")
    presentation.log_text(store, "inside", "m/weights/part-0.bin")
    presentation.log_text(store, "config", "m/config.json")
    got = Path(store.download_artifacts("m", str(tmp_path / "dst")))
    files = sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file())
    assert files == ["config.json", "weights/part-0.bin"]


def test_listings_leave_out_names_that_are_not_artifact_paths(
    make_store: Callable[..., AzureBlobArtifactStore], container: ContainerClient
) -> None:
    # Names another tool may write below a root: none names an artifact, so none is listed.
    base = f"runs/{secrets.token_hex(6)}/artifacts"
    store = make_store(base)
    presentation.log_text(store, "fine", "fine.txt")
    for name in ("%2e%2e/x.txt", "a%2fb.txt", "C:x.txt", "~home/x.txt"):
        container.upload_blob(f"{base}/{name}", b"foreign", overwrite=True)
    assert [f.path for f in store.list_artifacts()] == ["fine.txt"]


def test_one_store_is_shared_by_threads(make_store: Callable[..., AzureBlobArtifactStore]) -> None:
    store = make_store()
    paths = [f"t{t}/f{i}.txt" for t in range(8) for i in range(5)]
    with _Pool(8) as run:
        run(lambda path: presentation.log_text(store, path, path), paths)
        contents = run(lambda path: read_all(store, path), paths)
    assert contents == [p.encode() for p in paths]
    assert [f.path for f in store.list_artifacts()] == [f"t{t}" for t in range(8)]


class _Pool:
    """A few threads mapping a function over items; the first error is re-raised."""

    def __init__(self, workers: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._executor = ThreadPoolExecutor(max_workers=workers)

    def __enter__(self) -> Callable[[Callable[[Any], Any], list[Any]], list[Any]]:
        return lambda function, items: list(self._executor.map(function, items))

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown(wait=True)


def test_a_blob_overwritten_while_read_fails_the_stream_and_restarts_the_download(
    make_store: Callable[..., AzureBlobArtifactStore], tmp_path: Path
) -> None:
    small_gets: dict[str, Any] = {"max_single_get_size": 1024 * 1024, "max_chunk_get_size": 1024 * 1024}
    store = make_store(**small_gets)
    old, new = b"o" * (3 * 1024 * 1024), b"n" * (3 * 1024 * 1024)
    store.log_stream(io.BytesIO(old), "model.bin")
    with store.open_artifact("model.bin") as stream:
        assert stream.read(10) == b"o" * 10  # the first range is fetched
        store.log_stream(io.BytesIO(new), "model.bin")
        with pytest.raises(GenesisError) as raised:
            stream.read()
    assert code_of(raised.value) == "TEMPORARILY_UNAVAILABLE"
    assert "overwritten while being read" in str(raised.value)

    class Racing(AzureBlobArtifactStore):
        """Replaces the blob right after the first download's first range."""

        raced = False

        def _get(self, path: str) -> Any:
            stream = super()._get(path)
            if not self.raced:
                self.raced = True
                self.log_stream(io.BytesIO(old), path)
            return stream

    racing = Racing(store.artifact_uri, connection_string=CONNECTION_STRING, **small_gets)
    local = Path(racing.download_artifacts("model.bin", str(tmp_path)))
    assert racing.raced and local.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]  # no temporary left behind
