"""The artifact contract: every ArtifactStore behaves the same, on every backend id.

Each test gets ``artifacts``, a store on a fresh, empty root (the backend's ``make_artifacts``). The
semantics checked here are the ones src/ports/artifacts.py promises.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import GenesisError, InvalidParameterValue, ResourceDoesNotExist
from genesis_flow.ports.artifacts import ArtifactStore

MiB = 1024 * 1024


# --- helpers ------------------------------------------------------------------------------------

# Nested folders, an empty file, unicode names, and siblings whose names start like a directory's
# ("ab.txt" next to "a/", "a/bc.txt" next to "a/b/"): an object store that lists or deletes by bare
# name prefix would take them along.
TREE: dict[str, bytes] = {
    "top.txt": b"top",
    "empty.txt": b"",
    "ab.txt": b"a sibling named like the directory a",
    "a/one.txt": b"one",
    "a/bc.txt": b"a sibling named like the directory a/b",
    "a/b/two.bin": bytes(range(256)) * 4,
    "a/b/c/three.txt": b"three",
    "\u00fc/\u00e4.txt": "\u00e4".encode(),
    "\u65e5\u672c/\u8a9e.bin": b"\x00\xff" * 10,
}


def _write_tree(root: Path, tree: dict[str, bytes]) -> Path:
    for path, content in tree.items():
        target = root.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _read_tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root``, by '/'-separated relative path."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _levels(tree: dict[str, bytes]) -> list[str]:
    """The root and every directory of ``tree``."""
    levels = {""}
    for path in tree:
        parts = path.split("/")[:-1]
        levels.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(levels)


def _expected_level(tree: dict[str, bytes], level: str) -> tuple[FileInfo, ...]:
    entries: dict[str, FileInfo] = {}
    prefix = f"{level}/" if level else ""
    for path, content in tree.items():
        if not path.startswith(prefix):
            continue
        head, _, rest = path[len(prefix) :].partition("/")
        child = prefix + head
        entries[child] = FileInfo(child, True, None) if rest else FileInfo(child, False, len(content))
    return tuple(sorted(entries.values(), key=lambda f: f.path))


def _populate(store: ArtifactStore, tmp_path: Path, tree: dict[str, bytes] = TREE) -> None:
    store.log_artifacts(str(_write_tree(tmp_path / "upload", tree)))


def _read(store: ArtifactStore, path: str) -> bytes:
    with store.open_artifact(path) as stream:
        return stream.read()


def _sha256_of_stream(stream: io.RawIOBase | io.BufferedIOBase | Any) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def _sha256_of_file(path: Path) -> str:
    with path.open("rb") as stream:
        return _sha256_of_stream(stream)


def _files_below(root: Path) -> list[str]:
    return (
        sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


class _Unseekable(io.RawIOBase):
    """A stream that can only be read forwards, in odd-sized pieces, like a socket or a pipe."""

    def __init__(self, content: bytes, piece: int = 65_537) -> None:
        self._content = memoryview(content)
        self._position = 0
        self._piece = piece

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._piece, len(self._content) - self._position)
        buffer[:size] = self._content[self._position : self._position + size]
        self._position += size
        return size


# --- an empty root --------------------------------------------------------------------------------


def test_a_fresh_root_lists_nothing(artifacts: ArtifactStore) -> None:
    assert artifacts.list_artifacts() == ()
    assert artifacts.list_artifacts("") == ()
    assert artifacts.list_artifacts("anything") == ()


def test_open_on_an_empty_root_raises_resource_does_not_exist(artifacts: ArtifactStore) -> None:
    with pytest.raises(ResourceDoesNotExist) as raised:
        artifacts.open_artifact("missing.txt")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# --- trees and listings -------------------------------------------------------------------------


def test_a_tree_lists_one_level_at_every_depth_with_sizes_and_directories(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    _populate(artifacts, tmp_path)
    for level in _levels(TREE):
        assert artifacts.list_artifacts(level) == _expected_level(TREE, level), level
    assert artifacts.list_artifacts(None) == _expected_level(TREE, "")


def test_listing_paths_are_normalised_before_use(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    assert artifacts.list_artifacts("a/") == _expected_level(TREE, "a")
    assert artifacts.list_artifacts("./a/./b") == _expected_level(TREE, "a/b")
    assert artifacts.list_artifacts("a//b/c/") == _expected_level(TREE, "a/b/c")


def test_listing_an_unknown_path_or_a_file_lists_nothing(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    for path in (
        "missing",
        "a/missing",
        "missing/deeper",
        "top.txt",
        "a/b/two.bin",
        "t",
        "a/b/tw",
        "a/b/c/t",
    ):
        assert artifacts.list_artifacts(path) == (), path


def test_a_tree_logged_under_an_artifact_path_lands_below_it(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    _write_tree(tmp_path / "upload", TREE)
    artifacts.log_artifacts(str(tmp_path / "upload"), "nested/deeper")
    shifted = {f"nested/deeper/{path}": content for path, content in TREE.items()}
    for level in _levels(shifted):
        assert artifacts.list_artifacts(level) == _expected_level(shifted, level), level
    downloaded = artifacts.download_artifacts("", str(tmp_path / "dst"))
    assert _read_tree(Path(downloaded)) == shifted


def test_empty_local_directories_do_not_break_a_tree_upload(artifacts: ArtifactStore, tmp_path: Path) -> None:
    local = _write_tree(tmp_path / "upload", {"kept/file.txt": b"x"})
    (local / "empty" / "deeper").mkdir(parents=True)
    artifacts.log_artifacts(str(local))
    # Object stores have no empty directories, so whether "empty" is listed is not specified.
    assert FileInfo("kept", True, None) in artifacts.list_artifacts()
    assert artifacts.list_artifacts("kept") == (FileInfo("kept/file.txt", False, 1),)


def test_log_artifact_stores_one_file_under_its_own_name(artifacts: ArtifactStore, tmp_path: Path) -> None:
    local = tmp_path / "model.pkl"
    local.write_bytes(b"weights" * 100)
    artifacts.log_artifact(str(local))
    artifacts.log_artifact(str(local), "x/y")
    assert artifacts.list_artifacts() == (FileInfo("model.pkl", False, 700), FileInfo("x", True, None))
    assert artifacts.list_artifacts("x/y") == (FileInfo("x/y/model.pkl", False, 700),)
    assert _read(artifacts, "model.pkl") == _read(artifacts, "x/y/model.pkl") == b"weights" * 100


def test_logging_a_missing_local_file_or_directory_raises_and_writes_nothing(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with pytest.raises(ResourceDoesNotExist):
        artifacts.log_artifact(str(tmp_path / "missing.txt"))
    with pytest.raises(ResourceDoesNotExist):
        artifacts.log_artifact(str(tmp_path))  # a directory is not a file
    with pytest.raises(ResourceDoesNotExist):
        artifacts.log_artifacts(str(tmp_path / "missing-dir"))
    assert artifacts.list_artifacts() == ()


def test_empty_files_are_stored_listed_and_read_back(artifacts: ArtifactStore, tmp_path: Path) -> None:
    artifacts.log_stream(io.BytesIO(b""), "e/empty")
    assert artifacts.list_artifacts("e") == (FileInfo("e/empty", False, 0),)
    assert _read(artifacts, "e/empty") == b""
    downloaded = Path(artifacts.download_artifacts("e/empty", str(tmp_path / "dst")))
    assert downloaded.is_file() and downloaded.read_bytes() == b""


def test_unicode_names_round_trip(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    assert _read(artifacts, "\u00fc/\u00e4.txt") == TREE["\u00fc/\u00e4.txt"]
    assert _read(artifacts, "\u65e5\u672c/\u8a9e.bin") == TREE["\u65e5\u672c/\u8a9e.bin"]
    assert artifacts.list_artifacts("\u65e5\u672c") == (FileInfo("\u65e5\u672c/\u8a9e.bin", False, 20),)
    downloaded = Path(artifacts.download_artifacts("\u00fc", str(tmp_path / "dst")))
    assert _read_tree(downloaded) == {"\u00e4.txt": "\u00e4".encode()}


def test_a_50_mb_file_round_trips_unchanged(artifacts: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(50):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            out.write(chunk)
    expected = digest.hexdigest()
    artifacts.log_artifact(str(source), "big")
    assert artifacts.list_artifacts("big") == (FileInfo("big/big.bin", False, 50 * MiB),)
    downloaded = Path(artifacts.download_artifacts("big/big.bin", str(tmp_path / "dst")))
    assert downloaded.stat().st_size == 50 * MiB
    assert _sha256_of_file(downloaded) == expected
    with artifacts.open_artifact("big/big.bin") as stream:
        assert _sha256_of_stream(stream) == expected


# --- downloads and reads ----------------------------------------------------------------------------


def test_download_of_a_file_returns_its_local_path(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    dst = tmp_path / "dst" / "not-yet-there"
    got = Path(artifacts.download_artifacts("a/b/two.bin", str(dst)))
    assert got.is_file() and got.name == "two.bin"
    assert got.resolve().is_relative_to(dst.resolve())
    assert got.read_bytes() == TREE["a/b/two.bin"]
    # That file only: no neighbours, no temporary files left behind.
    assert _files_below(dst) == [got.relative_to(dst).as_posix()]


def test_download_of_a_directory_returns_its_local_tree(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    for source in ("a", "a/b", "a/b/c"):
        dst = tmp_path / f"dst-{source.replace('/', '-')}"
        got = Path(artifacts.download_artifacts(source, str(dst)))
        assert got.is_dir() and got.name == source.rsplit("/", 1)[-1], got
        assert got.resolve().is_relative_to(dst.resolve())
        expected = {p[len(source) + 1 :]: c for p, c in TREE.items() if p.startswith(source + "/")}
        assert _read_tree(got) == expected, source
        # Nothing outside the returned directory: not "ab.txt", not "a/bc.txt".
        assert len(_files_below(dst)) == len(expected), source


def test_download_of_the_whole_root_with_an_empty_path(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    dst = tmp_path / "dst"
    got = Path(artifacts.download_artifacts("", str(dst)))
    assert got.resolve().is_relative_to(dst.resolve())
    assert _read_tree(got) == TREE
    assert len(_files_below(dst)) == len(TREE)


@pytest.mark.parametrize(
    ("source", "relative_to", "lands_at"),
    [
        ("a/b/two.bin", "a/b", "two.bin"),  # mlflow.artifacts.download_artifacts' layout: dst/<name>
        ("a/b/two.bin", "a", "b/two.bin"),
        ("a/b/two.bin", "a/b/two.bin", "two.bin"),  # a file relative to itself keeps its name
        ("a/b", "a", "b"),
        ("a/b", "a/b", ""),  # a directory relative to itself: its content directly in dst
        ("", "", ""),
    ],
)
def test_download_relative_to_a_leading_part_places_it_below_dst(
    artifacts: ArtifactStore, tmp_path: Path, source: str, relative_to: str, lands_at: str
) -> None:
    _populate(artifacts, tmp_path)
    dst = tmp_path / "dst"
    got = Path(artifacts.download_artifacts(source, str(dst), relative_to=relative_to))
    assert got == dst / lands_at if lands_at else got == dst
    if source in TREE:
        expected = {lands_at: TREE[source]}
    else:
        inside = {p: c for p, c in TREE.items() if not source or p.startswith(source + "/")}
        below = {p[len(source) + 1 :] if source else p: c for p, c in inside.items()}
        expected = {f"{lands_at}/{p}" if lands_at else p: c for p, c in below.items()}
    assert _read_tree(dst) == expected


@pytest.mark.parametrize("relative_to", ["a/bc", "x", "a/b/two", "..", "../a", "/a"])
def test_download_relative_to_anything_but_a_leading_part_is_refused(
    artifacts: ArtifactStore, tmp_path: Path, relative_to: str
) -> None:
    _populate(artifacts, tmp_path)
    dst = tmp_path / "dst"
    with pytest.raises(InvalidParameterValue) as raised:
        artifacts.download_artifacts("a/b", str(dst), relative_to=relative_to)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert _files_below(dst) == []


def test_a_missing_file_raises_resource_does_not_exist_on_open_and_download(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    _populate(artifacts, tmp_path)
    dst = tmp_path / "dst"
    # "t" and "a/b/tw" are name prefixes of files; "three.txt/more" goes below a file.
    for missing in ("missing.txt", "a/missing", "nope/deeper/x", "t", "a/b/tw", "a/b/c/three.txt/more"):
        with pytest.raises(ResourceDoesNotExist) as raised:
            artifacts.download_artifacts(missing, str(dst))
        assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST", missing
        with pytest.raises(ResourceDoesNotExist) as raised:
            artifacts.open_artifact(missing)
        assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST", missing
    assert _files_below(dst) == []


def test_opening_a_directory_or_the_root_is_refused(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    with pytest.raises((ResourceDoesNotExist, InvalidParameterValue)):
        artifacts.open_artifact("a")
    with pytest.raises(InvalidParameterValue):
        artifacts.open_artifact("")


# --- overwrites ---------------------------------------------------------------------------------------


def test_every_write_overwrites_whole_files(artifacts: ArtifactStore, tmp_path: Path) -> None:
    artifacts.log_stream(io.BytesIO(b"x" * 1000), "f.txt")
    artifacts.log_stream(io.BytesIO(b"short"), "f.txt")
    assert _read(artifacts, "f.txt") == b"short"
    assert artifacts.list_artifacts() == (FileInfo("f.txt", False, 5),)

    local = tmp_path / "f.txt"
    local.write_bytes(b"from log_artifact")
    artifacts.log_artifact(str(local))
    assert _read(artifacts, "f.txt") == b"from log_artifact"

    artifacts.log_stream(io.BytesIO(b"s"), "f.txt")
    assert artifacts.list_artifacts() == (FileInfo("f.txt", False, 1),)


def test_log_artifacts_overwrites_the_files_it_copies_and_keeps_the_others(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    _populate(artifacts, tmp_path)
    artifacts.log_artifacts(str(_write_tree(tmp_path / "second", {"a/one.txt": b"1", "new.txt": b"n"})))
    expected = {**TREE, "a/one.txt": b"1", "new.txt": b"n"}
    assert _read_tree(Path(artifacts.download_artifacts("", str(tmp_path / "dst")))) == expected


@pytest.mark.parametrize("reader", ["download_artifacts", "open_artifact"])
def test_a_reader_sees_the_old_or_the_new_content_never_a_part(
    artifacts: ArtifactStore, tmp_path: Path, reader: str
) -> None:
    # Bigger than one write (and read) chunk, so a store writing in place, or reading a file in
    # ranges without pinning its version, would expose a partial or mixed file.
    old, new = b"o" * (6 * MiB), b"n" * (9 * MiB)
    artifacts.log_stream(io.BytesIO(old), "model.bin")
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for content in (new, old, new, old, new):
                artifacts.log_stream(io.BytesIO(content), "model.bin")
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            done.set()

    def download(attempt: int) -> bytes:
        return Path(artifacts.download_artifacts("model.bin", str(tmp_path / f"dst-{attempt}"))).read_bytes()

    read = download if reader == "download_artifacts" else lambda _attempt: _read(artifacts, "model.bin")
    writer = threading.Thread(target=write)
    writer.start()
    seen: list[bool] = []
    refused: list[GenesisError] = []
    while not done.is_set() or not seen:
        try:
            seen.append(read(len(seen) + len(refused)) in (old, new))
        except GenesisError as error:
            # A stream already handed out cannot restart from scratch, so open_artifact may give up
            # with a domain error when the file changes under it; a download can always restart.
            if reader != "open_artifact":
                raise
            refused.append(error)
    writer.join()
    assert not failures, failures
    assert all(seen), f"{seen.count(False)} of {len(seen)} reads saw a partial or mixed file"
    assert _read(artifacts, "model.bin") == new
    assert artifacts.list_artifacts() == (FileInfo("model.bin", False, len(new)),)


# --- deletes ----------------------------------------------------------------------------------------------


def test_delete_of_a_file_leaves_its_neighbours(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    artifacts.delete_artifacts("a/b/two.bin")
    remaining = {p: c for p, c in TREE.items() if p != "a/b/two.bin"}
    with pytest.raises(ResourceDoesNotExist):
        artifacts.open_artifact("a/b/two.bin")
    assert artifacts.list_artifacts("a/b") == _expected_level(remaining, "a/b")
    assert _read_tree(Path(artifacts.download_artifacts("", str(tmp_path / "dst")))) == remaining


def test_delete_of_a_subtree_leaves_siblings_with_the_same_name_prefix(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    _populate(artifacts, tmp_path)
    artifacts.delete_artifacts("a/b")
    remaining = {p: c for p, c in TREE.items() if not p.startswith("a/b/")}
    assert "a/bc.txt" in remaining
    assert artifacts.list_artifacts("a") == _expected_level(remaining, "a")
    assert artifacts.list_artifacts("a/b") == ()
    artifacts.delete_artifacts("a")
    remaining = {p: c for p, c in remaining.items() if not p.startswith("a/")}
    assert "ab.txt" in remaining
    assert artifacts.list_artifacts() == _expected_level(remaining, "")
    assert _read_tree(Path(artifacts.download_artifacts("", str(tmp_path / "dst")))) == remaining


@pytest.mark.parametrize("everything", [None, ""], ids=["None", "empty-string"])
def test_delete_of_everything_is_idempotent_and_the_root_stays_usable(
    artifacts: ArtifactStore, tmp_path: Path, everything: str | None
) -> None:
    _populate(artifacts, tmp_path)
    artifacts.delete_artifacts(everything)
    assert artifacts.list_artifacts() == ()
    with pytest.raises(ResourceDoesNotExist):
        artifacts.open_artifact("top.txt")
    artifacts.delete_artifacts(everything)
    artifacts.delete_artifacts("a")
    artifacts.delete_artifacts("missing/deeper/file.txt")
    assert artifacts.list_artifacts() == ()
    artifacts.log_stream(io.BytesIO(b"again"), "again/x.txt")
    assert artifacts.list_artifacts() == (FileInfo("again", True, None),)
    assert _read(artifacts, "again/x.txt") == b"again"


def test_delete_of_a_missing_path_is_a_no_op(artifacts: ArtifactStore, tmp_path: Path) -> None:
    _populate(artifacts, tmp_path)
    for missing in ("missing", "a/missing", "t", "a/b/tw", "missing/deeper"):
        artifacts.delete_artifacts(missing)
    assert _read_tree(Path(artifacts.download_artifacts("", str(tmp_path / "dst")))) == TREE


# --- log_stream and MLflow's helpers --------------------------------------------------------------------


def test_log_stream_writes_seekable_and_forward_only_streams(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    content = os.urandom(9 * MiB + 123)  # a few write chunks and a ragged end
    artifacts.log_stream(io.BytesIO(content), "seekable.bin")
    artifacts.log_stream(_Unseekable(content), "streams/forward-only.bin")  # type: ignore[arg-type]
    local = tmp_path / "local.bin"
    local.write_bytes(content)
    with local.open("rb") as stream:
        artifacts.log_stream(stream, "streams/file.bin")
    for path in ("seekable.bin", "streams/forward-only.bin", "streams/file.bin"):
        assert _read(artifacts, path) == content, path
    assert artifacts.list_artifacts("streams") == (
        FileInfo("streams/file.bin", False, len(content)),
        FileInfo("streams/forward-only.bin", False, len(content)),
    )


def test_log_stream_needs_a_file_path(artifacts: ArtifactStore) -> None:
    for empty in ("", ".", "./"):
        with pytest.raises(InvalidParameterValue):
            artifacts.log_stream(io.BytesIO(b"x"), empty)
    assert artifacts.list_artifacts() == ()


# --- hostile paths ---------------------------------------------------------------------------------------

HOSTILE = [
    "../x",
    "a/../../x",
    "/etc/passwd",
    "C:/x",
    "a\\b",
    "%2e%2e/x",
    "a%2Fb",
    "x\x00y",
    "..",
    "a/..",
    "%2E%2E%2Fx",
    "a/c:/x",
    "~/x",
    "x\ny",
]
HOSTILE_IDS = [repr(p)[1:-1] for p in HOSTILE]


def _local_file(tmp_path: Path) -> str:
    local = tmp_path / "f.txt"
    local.write_bytes(b"x")
    return str(local)


def _local_tree(tmp_path: Path) -> str:
    return str(_write_tree(tmp_path / "tree", {"f.txt": b"x", "d/g.txt": b"y"}))


# Each takes (store, hostile path, tmp_path) and writes to the hostile path.
WRITES: dict[str, Callable[[ArtifactStore, str, Path], None]] = {
    "log_artifact": lambda s, p, t: s.log_artifact(_local_file(t), p),
    "log_artifacts": lambda s, p, t: s.log_artifacts(_local_tree(t), p),
    "log_stream": lambda s, p, t: s.log_stream(io.BytesIO(b"x"), p),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_paths_are_refused_by_every_write_and_nothing_is_written(
    artifacts: ArtifactStore, tmp_path: Path, write: str, hostile: str
) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        WRITES[write](artifacts, hostile, tmp_path)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert artifacts.list_artifacts() == ()


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_paths_are_refused_by_reads_and_deletes_and_nothing_changes(
    artifacts: ArtifactStore, tmp_path: Path, hostile: str
) -> None:
    _populate(artifacts, tmp_path)
    dst = tmp_path / "dst"
    calls: list[Callable[[], object]] = [
        lambda: artifacts.list_artifacts(hostile),
        lambda: artifacts.open_artifact(hostile),
        lambda: artifacts.download_artifacts(hostile, str(dst)),
        lambda: artifacts.delete_artifacts(hostile),
    ]
    for call in calls:
        with pytest.raises(InvalidParameterValue):
            call()
    assert _files_below(dst) == []
    assert _read_tree(Path(artifacts.download_artifacts("", str(tmp_path / "check")))) == TREE


@pytest.mark.parametrize("name", ["x\\y.txt", "x\x01y.txt", "..."], ids=["backslash", "control", "dots"])
def test_a_local_tree_with_one_hostile_name_writes_nothing(
    artifacts: ArtifactStore, tmp_path: Path, name: str
) -> None:
    # The bad name sorts after the good ones, so a store checking as it goes would write those first.
    local = _write_tree(tmp_path / "tree", {"a.txt": b"a", "d/b.txt": b"b"})
    (local / "z").mkdir()
    (local / "z" / name).write_bytes(b"hostile")
    with pytest.raises(InvalidParameterValue):
        artifacts.log_artifacts(str(local))
    with pytest.raises(InvalidParameterValue):
        artifacts.log_artifact(str(local / "z" / name))
    assert artifacts.list_artifacts() == ()


def test_a_local_store_refuses_paths_through_a_symlink_out_of_its_root(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    if not artifacts.artifact_uri.startswith("file://"):
        # An object store has no links: "link/..." is a name inside the root like any other.
        artifacts.log_stream(io.BytesIO(b"x"), "link/planted.txt")
        assert [f.path for f in artifacts.list_artifacts("link")] == ["link/planted.txt"]
        return
    outside = tmp_path / "outside"
    _write_tree(outside, {"secret.txt": b"secret"})
    root = Path(artifacts.artifact_uri.removeprefix("file://"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "link").symlink_to(outside, target_is_directory=True)
    writes: tuple[Callable[[], object], ...] = (
        lambda: artifacts.log_stream(io.BytesIO(b"x"), "link/planted.txt"),
        lambda: artifacts.log_stream(io.BytesIO(b"x"), "link/secret.txt"),
        lambda: artifacts.log_artifact(_local_file(tmp_path), "link"),
    )
    for write in writes:
        with pytest.raises(InvalidParameterValue):
            write()
    with pytest.raises((InvalidParameterValue, ResourceDoesNotExist)):
        artifacts.open_artifact("link/secret.txt")
    with pytest.raises((InvalidParameterValue, ResourceDoesNotExist)):
        artifacts.download_artifacts("link", str(tmp_path / "dst"))
    assert _files_below(tmp_path / "dst") == []
    try:
        listed = artifacts.list_artifacts("link")
    except InvalidParameterValue:
        listed = ()
    assert listed == ()
    # A whole-root download copies what is inside the root, not what the link points at.
    artifacts.log_stream(io.BytesIO(b"inside"), "inside.txt")
    whole = Path(artifacts.download_artifacts("", str(tmp_path / "whole")))
    assert _read_tree(whole) == {"inside.txt": b"inside"}
    # Refusing is as good as removing the link itself; following it is not.
    with contextlib.suppress(GenesisError):
        artifacts.delete_artifacts("link")
    assert _read_tree(outside) == {"secret.txt": b"secret"}
