"""The local artifact store on a real file system: atomic writes, symlink escapes, roots, listings,
downloads and MLflow's helpers round-tripped through ``open_artifact``."""

from __future__ import annotations

import errno
import io
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import yaml  # type: ignore[import-untyped]  # a base dependency: a missing PyYAML must fail here

from genesis_flow.adapters.blob.local import LocalArtifactStore
from genesis_flow.core.entities import FileInfo
from genesis_flow.core.errors import GenesisError, InvalidParameterValue, ResourceDoesNotExist
from genesis_flow.entrypoints.api import presentation
from genesis_flow.ports.artifacts import ArtifactStore

ESCAPE = "leaves the artifact root through a symlink"


def _read(store: LocalArtifactStore, path: str) -> bytes:
    with store.open_artifact(path) as stream:
        return stream.read()


def _all_files(directory: Path) -> list[str]:
    """Every entry below ``directory`` (temporaries included), '/'-separated and sorted."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))


def _symlink(link: Path, target: Path) -> None:
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except (OSError, NotImplementedError) as error:  # Windows without the symlink privilege
        pytest.skip(f"symlinks are not available here: {error}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def store(root: Path) -> LocalArtifactStore:
    return LocalArtifactStore(str(root))


# --- the port ------------------------------------------------------------------------------------------


def test_the_store_is_an_artifact_store(store: LocalArtifactStore) -> None:
    assert isinstance(store, ArtifactStore)


# --- atomic writes -----------------------------------------------------------------------------------


class _FailingStream(io.RawIOBase):
    """Gives ``chunks`` chunks, then fails as a broken network stream would."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left == 0:
            raise OSError("connection reset mid-copy")
        self.left -= 1
        return b"n" * 1000


class _PausingStream(io.RawIOBase):
    """Gives one chunk, then waits until the test has looked at the store mid-write."""

    def __init__(self, content: bytes) -> None:
        self.parts = [content[: len(content) // 2], content[len(content) // 2 :]]
        self.halfway = threading.Event()
        self.resume = threading.Event()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if len(self.parts) == 1:
            self.halfway.set()
            assert self.resume.wait(10)
        return self.parts.pop(0) if self.parts else b""


def test_overwrite_replaces_the_content_and_leaves_no_temporary(
    store: LocalArtifactStore, root: Path
) -> None:
    presentation.log_text(store, "old content, longer than the new one", "d/f.txt")
    presentation.log_text(store, "new", "d/f.txt")
    assert _read(store, "d/f.txt") == b"new"
    assert _all_files(root) == ["d", "d/f.txt"]


def test_a_reader_mid_write_sees_the_old_content_and_listings_hide_the_temporary(
    store: LocalArtifactStore, root: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "dst"
    presentation.log_text(store, "old", "f.txt")
    new = b"N" * 100_000
    stream = _PausingStream(new)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            store.log_stream(stream, "f.txt")  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert stream.halfway.wait(10)
        # Half the new content is on disk, under another name.
        assert len(_all_files(root)) == 2
        assert _read(store, "f.txt") == b"old"
        assert store.list_artifacts() == (FileInfo("f.txt", False, 3),)
        downloaded = Path(store.download_artifacts("", str(dst)))
        assert _all_files(downloaded) == ["f.txt"]
        assert (downloaded / "f.txt").read_bytes() == b"old"
    finally:
        stream.resume.set()
        writer.join(10)
    assert errors == []
    assert _read(store, "f.txt") == new
    assert _all_files(root) == ["f.txt"]


def test_a_stream_failing_mid_copy_keeps_the_old_content_and_leaves_no_temporary(
    store: LocalArtifactStore, root: Path
) -> None:
    presentation.log_text(store, "old", "d/f.txt")
    with pytest.raises(OSError, match="connection reset"):
        store.log_stream(_FailingStream(3), "d/f.txt")  # type: ignore[arg-type]
    assert _read(store, "d/f.txt") == b"old"
    with pytest.raises(OSError, match="connection reset"):
        store.log_stream(_FailingStream(2), "d/new.txt")  # type: ignore[arg-type]
    assert _all_files(root) == ["d", "d/f.txt"]


def test_a_directory_or_a_file_in_the_way_refuses_the_write(store: LocalArtifactStore, root: Path) -> None:
    presentation.log_text(store, "x", "d/inner.txt")
    with pytest.raises(InvalidParameterValue, match="directory"):
        presentation.log_text(store, "y", "d")
    with pytest.raises(InvalidParameterValue, match="file is in the way"):
        presentation.log_text(store, "y", "d/inner.txt/below.txt")
    assert _all_files(root) == ["d", "d/inner.txt"]
    assert _read(store, "d/inner.txt") == b"x"


def test_concurrent_writers_each_land_whole(store: LocalArtifactStore, root: Path) -> None:
    contents = {i: bytes([65 + i]) * (50_000 + i) for i in range(8)}

    def write(i: int) -> None:
        for _ in range(5):
            store.log_stream(io.BytesIO(contents[i]), f"own/{i}.bin")
            store.log_stream(io.BytesIO(contents[i]), "shared.bin")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _read(store, "shared.bin") in contents.values()
    for i, content in contents.items():
        assert _read(store, f"own/{i}.bin") == content
    assert len(_all_files(root)) == 1 + 1 + 8  # shared.bin, own, own/*: no temporary left


# --- symlink escapes ---------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.txt").write_text("secret")
    return directory


@pytest.fixture
def escaping(store: LocalArtifactStore, root: Path, outside: Path) -> LocalArtifactStore:
    """A store whose root holds ``fine.txt``, ``evil`` (a link to a directory outside) and
    ``leak.txt`` (a link to a file outside)."""
    presentation.log_text(store, "fine", "fine.txt")
    _symlink(root / "evil", outside)
    _symlink(root / "leak.txt", outside / "secret.txt")
    return store


def _outside_untouched(outside: Path) -> None:
    assert _all_files(outside) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret"


def test_reads_through_an_escaping_link_are_refused(escaping: LocalArtifactStore, outside: Path) -> None:
    for path in ("evil/secret.txt", "leak.txt", "evil"):
        with pytest.raises(InvalidParameterValue, match=ESCAPE):
            escaping.open_artifact(path)


def test_writes_through_an_escaping_link_are_refused_and_write_nothing_outside(
    escaping: LocalArtifactStore, outside: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "sub" / "x.txt").write_text("x")
    writes: list[Callable[[], None]] = [
        lambda: presentation.log_text(escaping, "new", "evil/new.txt"),
        lambda: presentation.log_text(escaping, "overwritten", "evil/secret.txt"),
        lambda: presentation.log_text(escaping, "overwritten", "leak.txt"),
        lambda: presentation.log_text(escaping, "deep", "evil/a/b/c.txt"),
        lambda: escaping.log_artifact(str(local / "sub" / "x.txt"), "evil"),
        lambda: escaping.log_artifacts(str(local), "evil"),
    ]
    for write in writes:
        with pytest.raises(InvalidParameterValue, match=ESCAPE):
            write()
    _outside_untouched(outside)


def test_listing_refuses_an_escaping_prefix_and_skips_escaping_entries(
    escaping: LocalArtifactStore, outside: Path
) -> None:
    for path in ("evil", "leak.txt", "evil/anything"):
        with pytest.raises(InvalidParameterValue, match=ESCAPE):
            escaping.list_artifacts(path)
    # Nothing outside the root is revealed, not even a size.
    assert escaping.list_artifacts() == (FileInfo("fine.txt", False, 4),)


def test_deletes_through_an_escaping_link_are_refused(
    escaping: LocalArtifactStore, outside: Path, root: Path
) -> None:
    for path in ("evil", "evil/secret.txt", "leak.txt"):
        with pytest.raises(InvalidParameterValue, match=ESCAPE):
            escaping.delete_artifacts(path)
    _outside_untouched(outside)
    # Deleting everything removes the links themselves, never what they point to.
    escaping.delete_artifacts()
    assert _all_files(root) == []
    _outside_untouched(outside)


@pytest.mark.parametrize("placed", ["at its path", "relative to its parent", "relative to itself"])
def test_downloads_through_an_escaping_link_are_refused_and_skipped(
    escaping: LocalArtifactStore, tmp_path: Path, placed: str
) -> None:
    def relative_to(path: str) -> str:
        return {"at its path": "", "relative to its parent": path.rpartition("/")[0]}.get(placed, path)

    for path in ("evil", "evil/secret.txt", "leak.txt"):
        with pytest.raises(InvalidParameterValue, match=ESCAPE):
            escaping.download_artifacts(path, str(tmp_path / "dst"), relative_to=relative_to(path))
    assert _all_files(tmp_path / "dst") == []
    whole = Path(escaping.download_artifacts("", str(tmp_path / "all")))
    assert _all_files(whole) == ["fine.txt"]


def test_a_link_made_between_writes_is_caught(store: LocalArtifactStore, root: Path, outside: Path) -> None:
    presentation.log_text(store, "a", "d/a.txt")
    store.delete_artifacts("d")
    _symlink(root / "d", outside)
    with pytest.raises(InvalidParameterValue, match=ESCAPE):
        presentation.log_text(store, "b", "d/b.txt")
    with pytest.raises(InvalidParameterValue, match=ESCAPE):
        presentation.log_text(store, "b", "d/new/b.txt")
    _outside_untouched(outside)


def test_a_link_at_the_final_name_made_between_writes_is_caught(
    store: LocalArtifactStore, root: Path, outside: Path
) -> None:
    presentation.log_text(store, "a", "f.txt")
    (root / "f.txt").unlink()
    _symlink(root / "f.txt", outside / "secret.txt")
    with pytest.raises(InvalidParameterValue, match=ESCAPE):
        presentation.log_text(store, "overwritten", "f.txt")
    _outside_untouched(outside)


def test_a_link_swapped_in_while_the_directories_are_made_is_caught(
    store: LocalArtifactStore, root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    presentation.log_text(store, "a", "d/a.txt")
    make_directories = os.makedirs

    def racing_makedirs(name: str, mode: int = 0o777, exist_ok: bool = False) -> None:
        # Another process replaces the directory with a link right after it was checked.
        make_directories(name, mode, exist_ok)
        store.delete_artifacts("d")
        _symlink(root / "d", outside)

    monkeypatch.setattr(os, "makedirs", racing_makedirs)
    with pytest.raises(InvalidParameterValue, match=ESCAPE):
        presentation.log_text(store, "b", "d/b.txt")
    _outside_untouched(outside)


def test_links_that_stay_inside_the_root_are_followed(
    store: LocalArtifactStore, root: Path, tmp_path: Path
) -> None:
    presentation.log_text(store, "x", "real/x.txt")
    _symlink(root / "alias", root / "real")
    _symlink(root / "x-link.txt", root / "real" / "x.txt")
    assert _read(store, "alias/x.txt") == b"x"
    assert _read(store, "x-link.txt") == b"x"
    assert store.list_artifacts("alias") == (FileInfo("alias/x.txt", False, 1),)
    assert {f.path for f in store.list_artifacts()} == {"alias", "real", "x-link.txt"}
    # Downloads do not enter linked directories: a tree is copied once, and a cycle ends.
    _symlink(root / "real" / "loop", root)
    downloaded = Path(store.download_artifacts("", str(tmp_path / "dst")))
    assert _all_files(downloaded) == ["real", "real/x.txt", "x-link.txt"]
    # Deleting a link removes the link, not what it points to.
    store.delete_artifacts("alias")
    store.delete_artifacts("x-link.txt")
    assert _read(store, "real/x.txt") == b"x"


def test_a_root_that_is_itself_a_link_works(tmp_path: Path) -> None:
    (tmp_path / "actual").mkdir()
    _symlink(tmp_path / "linked", tmp_path / "actual")
    store = LocalArtifactStore(str(tmp_path / "linked"))
    presentation.log_text(store, "x", "d/x.txt")
    assert _read(store, "d/x.txt") == b"x"
    store.delete_artifacts()
    presentation.log_text(store, "y", "y.txt")
    assert (tmp_path / "actual" / "y.txt").read_text() == "y"


# --- roots ---------------------------------------------------------------------------------------------


def test_a_file_uri_root(tmp_path: Path) -> None:
    directory = tmp_path / "with space" / "runs"
    uri = directory.as_uri()  # file:///.../with%20space/runs
    assert "%20" in uri
    store = LocalArtifactStore(uri)
    assert store.artifact_uri == uri
    assert store.root == str(directory)
    presentation.log_text(store, "x", "a.txt")
    assert (directory / "a.txt").read_text() == "x"
    assert LocalArtifactStore(f"file://localhost{directory.as_posix()}").root == str(directory)


def test_a_plain_absolute_root_is_created_by_the_first_write(tmp_path: Path) -> None:
    directory = tmp_path / "not" / "yet"
    store = LocalArtifactStore(str(directory))
    assert not directory.exists()
    assert store.list_artifacts() == ()
    # An empty root downloads as an empty directory, as in MLflow.
    assert store.download_artifacts("", str(tmp_path / "dst")) == str(tmp_path / "dst")
    assert list((tmp_path / "dst").iterdir()) == []
    store.delete_artifacts()
    assert not directory.exists()
    presentation.log_text(store, "x", "a.txt")
    assert (directory / "a.txt").read_text() == "x"


@pytest.mark.parametrize("form", ["plain", "file:"])
def test_a_relative_root_is_fixed_when_the_store_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalArtifactStore("mlruns/1" if form == "plain" else "file:mlruns/1")
    assert store.root == str(tmp_path / "mlruns" / "1")
    assert store.artifact_uri == store.root
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    presentation.log_text(store, "x", "a.txt")
    assert (tmp_path / "mlruns" / "1" / "a.txt").read_text() == "x"
    assert _all_files(elsewhere) == []


@pytest.mark.parametrize(
    "uri", ["", "file://otherhost/tmp/runs", "file:///tmp/run#1", "file:///tmp/run?x=1", "file://"]
)
def test_roots_that_name_no_local_directory_are_refused(uri: str) -> None:
    if os.name == "nt" and uri.startswith("file://otherhost"):
        pytest.skip("a UNC share on Windows")
    with pytest.raises(InvalidParameterValue):
        LocalArtifactStore(uri)


# --- listing and downloading ------------------------------------------------------------------------


@pytest.fixture
def tree(store: LocalArtifactStore) -> LocalArtifactStore:
    presentation.log_text(store, "a", "a.txt")
    presentation.log_text(store, "bb", "d/b.txt")
    presentation.log_text(store, "ccc", "d/e/c.txt")
    presentation.log_text(store, "gggg", "d/e/f/g.txt")
    return store


def test_listing_at_every_level(tree: LocalArtifactStore) -> None:
    assert tree.list_artifacts() == (FileInfo("a.txt", False, 1), FileInfo("d", True, None))
    assert tree.list_artifacts(None) == tree.list_artifacts("") == tree.list_artifacts(".")
    assert tree.list_artifacts("d") == (FileInfo("d/b.txt", False, 2), FileInfo("d/e", True, None))
    assert tree.list_artifacts("d/") == tree.list_artifacts("d")
    assert tree.list_artifacts("d/e") == (FileInfo("d/e/c.txt", False, 3), FileInfo("d/e/f", True, None))
    assert tree.list_artifacts("d/e/f") == (FileInfo("d/e/f/g.txt", False, 4),)
    # A file, or an unknown path, lists nothing.
    assert tree.list_artifacts("a.txt") == ()
    assert tree.list_artifacts("d/e/f/g.txt") == ()
    assert tree.list_artifacts("nope") == ()
    assert tree.list_artifacts("a.txt/below") == ()


def test_download_of_a_subdirectory(tree: LocalArtifactStore, tmp_path: Path) -> None:
    local = Path(tree.download_artifacts("d/e", str(tmp_path / "dst")))
    assert local == tmp_path / "dst" / "d" / "e"
    assert _all_files(local) == ["c.txt", "f", "f/g.txt"]
    assert (local / "f" / "g.txt").read_text() == "gggg"


def test_download_of_a_file_and_of_the_whole_root(tree: LocalArtifactStore, tmp_path: Path) -> None:
    single = Path(tree.download_artifacts("d/e/f/g.txt", str(tmp_path / "one")))
    assert single == tmp_path / "one" / "d" / "e" / "f" / "g.txt"  # at its path, as MLflow places it
    assert single.read_text() == "gggg"
    whole = Path(tree.download_artifacts("", str(tmp_path / "all")))
    assert _all_files(whole) == ["a.txt", "d", "d/b.txt", "d/e", "d/e/c.txt", "d/e/f", "d/e/f/g.txt"]
    with pytest.raises(ResourceDoesNotExist):
        tree.download_artifacts("nope", str(tmp_path / "none"))


def test_open_missing_or_a_directory_does_not_exist(tree: LocalArtifactStore) -> None:
    for path in ("nope.txt", "d", "d/e", "a.txt/below"):
        with pytest.raises(ResourceDoesNotExist):
            tree.open_artifact(path)
    with pytest.raises(InvalidParameterValue):
        tree.open_artifact("")


def test_deletes_are_idempotent_at_every_level(tree: LocalArtifactStore, root: Path) -> None:
    tree.delete_artifacts("d/e/f/g.txt")
    tree.delete_artifacts("d/e/f/g.txt")
    assert tree.list_artifacts("d/e/f") == ()
    tree.delete_artifacts("d/e")
    tree.delete_artifacts("d/e")
    assert tree.list_artifacts("d") == (FileInfo("d/b.txt", False, 2),)
    tree.delete_artifacts()
    tree.delete_artifacts()
    assert tree.list_artifacts() == ()
    presentation.log_text(tree, "again", "a.txt")
    assert _all_files(root) == ["a.txt"]


def test_empty_files(store: LocalArtifactStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    store.log_artifact(str(empty), "e")
    assert store.list_artifacts("e") == (FileInfo("e/empty.txt", False, 0),)
    assert _read(store, "e/empty.txt") == b""
    local = Path(store.download_artifacts("e", str(tmp_path / "dst")))
    assert (local / "empty.txt").read_bytes() == b""


def test_unicode_names(store: LocalArtifactStore, tmp_path: Path) -> None:
    presentation.log_text(store, "grüße", "ü/ä.txt")
    assert store.list_artifacts() == (FileInfo("ü", True, None),)
    assert store.list_artifacts("ü") == (FileInfo("ü/ä.txt", False, len("grüße".encode())),)
    assert _read(store, "ü/ä.txt").decode() == "grüße"
    local = Path(store.download_artifacts("ü", str(tmp_path / "dst")))
    assert (local / "ä.txt").read_text(encoding="utf-8") == "grüße"


def test_log_artifacts_copies_a_tree(store: LocalArtifactStore, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "sub" / "deeper").mkdir(parents=True)
    (local / "top.txt").write_text("t")
    (local / "sub" / "deeper" / "x.bin").write_bytes(b"\x00\x01")
    store.log_artifacts(str(local), "copied")
    assert _read(store, "copied/top.txt") == b"t"
    assert _read(store, "copied/sub/deeper/x.bin") == b"\x00\x01"


@pytest.mark.skipif(os.name == "nt", reason="a backslash is a separator on Windows")
def test_log_artifacts_of_a_tree_with_a_refused_name_writes_nothing(
    store: LocalArtifactStore, root: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("a")
    (local / "sub" / "a\\b").write_text("bad")
    with pytest.raises(InvalidParameterValue, match="backslash"):
        store.log_artifacts(str(local))
    assert not root.exists() or _all_files(root) == []


@pytest.mark.parametrize("path", ["../x.txt", "/etc/x.txt", "a/../../x.txt", "%2e%2e/x.txt", "C:/x.txt"])
def test_paths_the_domain_refuses_write_nothing(store: LocalArtifactStore, tmp_path: Path, path: str) -> None:
    with pytest.raises(InvalidParameterValue):
        presentation.log_text(store, "x", path)
    assert _all_files(tmp_path) == []


# --- MLflow's helpers --------------------------------------------------------------------------------


def test_log_text(store: LocalArtifactStore) -> None:
    presentation.log_text(store, "line 1\nline 2\r\n", "notes/readme.txt")
    assert _read(store, "notes/readme.txt") == b"line 1\nline 2\r\n"


def test_log_dict_as_json_and_yaml(store: LocalArtifactStore) -> None:
    data: dict[str, Any] = {"a": 1, "b": [1, 2], "c": {"d": "ü"}}
    presentation.log_dict(store, data, "config/params.json")
    assert json.loads(_read(store, "config/params.json")) == data
    presentation.log_dict(store, data, "config/params.yaml")
    presentation.log_dict(store, data, "config/params.yml")
    assert yaml.safe_load(_read(store, "config/params.yaml")) == data
    assert yaml.safe_load(_read(store, "config/params.yml")) == data


def test_log_table_from_a_dict_and_a_data_frame(store: LocalArtifactStore) -> None:
    presentation.log_table(store, {"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
    assert json.loads(_read(store, "tables/t.json")) == {"columns": ["x", "y"], "data": [[1, "a"], [2, "b"]]}
    pandas = pytest.importorskip("pandas")
    presentation.log_table(store, pandas.DataFrame({"x": [1.5], "y": ["c"]}), "tables/df.json")
    assert json.loads(_read(store, "tables/df.json")) == {"columns": ["x", "y"], "data": [[1.5, "c"]]}
    with pytest.raises(InvalidParameterValue):
        presentation.log_table(store, {"x": [1]}, "tables/t.csv")


def test_log_image_from_pil_and_numpy(store: LocalArtifactStore) -> None:
    image_module = pytest.importorskip("PIL.Image")
    presentation.log_image(store, image_module.new("RGB", (4, 3), (255, 0, 0)), "images/red.png")
    with store.open_artifact("images/red.png") as stream, image_module.open(stream) as image:
        assert image.format == "PNG"
        assert image.size == (4, 3)
        assert image.getpixel((0, 0)) == (255, 0, 0)
    numpy = pytest.importorskip("numpy")
    presentation.log_image(store, numpy.zeros((2, 5, 3), dtype=numpy.uint8), "images/black.jpg")
    with store.open_artifact("images/black.jpg") as stream, image_module.open(stream) as image:
        assert image.format == "JPEG"
        assert image.size == (5, 2)


@pytest.fixture
def figure() -> Iterator[Any]:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1, 2], [2, 0, 1])
    yield fig


def test_log_figure_with_matplotlib(store: LocalArtifactStore, figure: Any) -> None:
    presentation.log_figure(store, figure, "plots/curve.png")
    presentation.log_figure(store, figure, "plots/curve.svg")
    png = _read(store, "plots/curve.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in _read(store, "plots/curve.svg")
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(png)) as image:
        assert image.size[0] > 0


def test_log_stream_refuses_the_root(store: LocalArtifactStore) -> None:
    stream: BinaryIO = io.BytesIO(b"x")
    with pytest.raises(InvalidParameterValue):
        store.log_stream(stream, "")


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "x"), "TEMPORARILY_UNAVAILABLE"),
        (PermissionError(errno.EACCES, "Permission denied", "x"), "INVALID_STATE"),
    ],
)
def test_a_file_system_failure_is_a_domain_error_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: OSError, code: str
) -> None:
    store = LocalArtifactStore(str(tmp_path / "root"))
    presentation.log_text(store, "old", "a.txt")

    def failing_replace(src: str, dst: str) -> None:
        raise failure

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(GenesisError) as raised:
        presentation.log_text(store, "new", "a.txt")
    monkeypatch.undo()
    assert raised.value.error_code == code
    assert (tmp_path / "root" / "a.txt").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["a.txt"]
