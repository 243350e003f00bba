"""Properties of artifact paths: whatever a caller passes, ``artifact_path`` either refuses it or
returns a relative path that names something inside the artifact root, on any file system or
object store, and that no decoding step can turn into one that does not; the same for the path a
``runs:/`` or ``models:/`` URI carries (checked by the parser, so no caller holds an unchecked one).
"""

from __future__ import annotations

import ntpath
import posixpath
import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from genesis_flow.core.artifacts import artifact_path, artifact_segment
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints.api.uris import ArtifactLocation, ModelUri, parse_models_uri, parse_runs_uri

# Pieces that have turned paths into traversal somewhere: dot segments, drives, backslashes,
# percent-encodings a store or proxy may decode (both cases, double-encoded), control characters
# (C0, DEL, C1), a lone surrogate (not encodable as UTF-8), home directories, bidi overrides and
# compatibility characters that normalise to '.' or '/'.
HOSTILE_PIECES = [
    "..",
    ".",
    "",
    "...",
    ". ",
    " ",
    "C:",
    "c:",
    "z:x",
    "\\",
    "\\\\server\\share",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2E%2e",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "%25",
    "%252e",
    "%252F",
    "%3a",
    "%00",
    "%",
    "\x00",
    "\x01",
    "\t",
    "\n",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\ud800",
    "~",
    "~root",
    "\u00fc",
    "\u65e5\u672c",
    "\u202e",
    "\u2025",
    "\uff0e",
    "\uff0f",
    "\uff3c",
]

_piece = st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=4))
# A segment is a few pieces glued together ("a%2e", "C:..", "x\x00y"), so the pieces also show
# up in the middle and at the end of names.
_segment = st.lists(_piece, max_size=3).map("".join)


@st.composite
def hostile_paths(draw: st.DrawFn) -> str:
    segments = draw(st.lists(_segment, max_size=6))
    separator = draw(st.sampled_from(["/", "/", "/", "\\", "//"]))
    path = separator.join(segments)
    if draw(st.booleans()):
        path = draw(st.sampled_from(["/", "\\", "./", "../", "C:/", "c:\\", "~/", "//"])) + path
    if draw(st.booleans()):
        path += draw(st.sampled_from(["/", "/.", "/..", "\\", "%2f", "%2e"]))
    return path


_ENCODED_TRAVERSAL = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
ROOTS = {posixpath: "/srv/artifacts/run", ntpath: "C:\\artifacts\\run"}


def _assert_safe(path: str, result: str) -> None:
    segments = result.split("/") if result else []
    context = f"{path!r} was accepted as {result!r}"
    # (a) no segment a file system or an object store would resolve away, or to the parent
    assert not any(s in ("", ".", "..") for s in segments), context
    # (b) relative
    assert not result.startswith("/"), context
    # (c) nothing another layer could turn into a separator, a parent or the end of the string
    assert "\\" not in result, context
    assert not any(unicodedata.category(c) == "Cc" for c in result), f"{context}: control character"
    assert not _ENCODED_TRAVERSAL.search(result), f"{context}: percent-encoded traversal"
    # (d) already normal, and inside the root once joined, on POSIX and on Windows alike
    if result:
        assert posixpath.normpath(result) == result, context
        for flavour, root in ROOTS.items():
            joined = flavour.normpath(flavour.join(root, result))
            assert joined.startswith(root + flavour.sep), f"{context}: {flavour.__name__} gives {joined!r}"
    # (e) storable: every store writes names as UTF-8
    try:
        result.encode("utf-8")
    except UnicodeEncodeError:
        pytest.fail(f"{context}: not encodable as UTF-8")
    # Normalising is idempotent: a checked path checks to itself (and is not refused the second time).
    try:
        again = artifact_path(result)
    except InvalidParameterValue as refused:
        pytest.fail(f"{context}, which is itself refused: {refused}")
    assert again == result, context


@given(hostile_paths())
@example("../x")
@example("a/../../x")
@example("/etc/passwd")
@example("C:/x")
@example("a\\b")
@example("%2e%2e/x")
@example("a%2Fb")
@example("x\x00y")
@example("a\x85b")
@example("a\ud800b")
@example("a/%2E%2E/b")
@example("a/...")
@example("\u00f3:x")  # Windows (and ntpath) read any character before ':' as a drive
@example("1:/x")
@example("./~/x")
def test_a_hostile_path_is_refused_or_normalised_into_the_root(path: str) -> None:
    try:
        result = artifact_path(path)
    except InvalidParameterValue:
        return
    _assert_safe(path, result)


@given(st.text(max_size=40))
def test_any_text_is_refused_or_normalised_into_the_root(path: str) -> None:
    try:
        result = artifact_path(path)
    except InvalidParameterValue:
        return
    _assert_safe(path, result)


@pytest.mark.parametrize(
    "path",
    ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\b", "%2e%2e/x", "a%2Fb", "x\x00y", "..", "a/.."],
    ids=repr,
)
def test_the_classic_traversals_are_refused(path: str) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        artifact_path(path)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("not_text", [b"a/b", 3, ["a"], object()], ids=repr)
def test_a_path_that_is_not_text_is_refused(not_text: object) -> None:
    with pytest.raises(InvalidParameterValue):
        artifact_path(not_text)  # type: ignore[arg-type]


def test_the_root_is_the_empty_path() -> None:
    for root in (None, "", ".", "./", "/"[1:], "./."):
        assert artifact_path(root) == "", root


_word = st.text(
    alphabet=st.one_of(
        st.characters(categories=("Lu", "Ll", "Lo", "Nd")),
        st.sampled_from("-_"),
    ),
    min_size=1,
    max_size=10,
)
# Single dots inside names only: "model.v1.json", never ".hidden" nor "a..b" nor "a.".
_safe_name = st.lists(_word, min_size=1, max_size=3).map(".".join)
safe_paths = st.lists(_safe_name, min_size=1, max_size=5).map("/".join)


@given(safe_paths)
@example("model.v1.json")
@example("\u00fc/\u00e4.txt")
@example("\u65e5\u672c/\u8a9e.bin")
@example("a-b_c/d.e")
def test_plain_names_are_accepted_unchanged(path: str) -> None:
    assert artifact_path(path) == path


@given(safe_paths, st.data())
def test_redundant_separators_and_dot_segments_normalise_away(path: str, data: st.DataObject) -> None:
    # A leading '/' would make the path absolute, so the first segment gets only './' noise.
    noisy = "/".join(
        data.draw(st.sampled_from(["", "./", "/", "././"] if i else ["", "./", "././"])) + segment
        for i, segment in enumerate(path.split("/"))
    )
    noisy += data.draw(st.sampled_from(["", "/", "/.", "//"]))
    assert artifact_path(noisy) == path, noisy


# --- the path a runs:/ or models:/ URI carries -------------------------------------------------------

URI_FORMS = [
    "runs:/0123abcd/{}",
    "models:/model/1/{}",
    "models:/model/Production/{}",
    "models:/model/latest/{}",
    "models:/model@champion/{}",
]


def _parsed_path(form: str, path: str) -> str:
    uri = form.format(path)
    return parse_runs_uri(uri)[1] if uri.startswith("runs:") else parse_models_uri(uri).path


@pytest.mark.parametrize("form", URI_FORMS)
@given(path=hostile_paths())
@example(path="../../../../etc/passwd")
@example(path="a/../../x")
@example(path="%2e%2e/x")
@example(path="..%2fx")
@example(path="a\\..\\..\\x")
@example(path="C:/x")
@example(path="~/x")
@example(path="a/\x00/x")
def test_a_uri_path_comes_out_checked_or_is_refused(form: str, path: str) -> None:
    try:
        parsed = _parsed_path(form, path)
    except InvalidParameterValue:
        return
    _assert_safe(path, parsed)


@pytest.mark.parametrize("form", URI_FORMS)
@pytest.mark.parametrize(
    "path", ["..", "../x", "a/../../x", "a/%2e%2e/x", "a\\..\\x", "C:/x", "a/\x00"], ids=repr
)
def test_a_uri_path_that_leaves_its_root_is_refused(form: str, path: str) -> None:
    with pytest.raises(InvalidParameterValue) as raised:
        _parsed_path(form, path)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("form", URI_FORMS)
@pytest.mark.parametrize(("path", "expected"), [("", ""), ("a/b.txt", "a/b.txt"), ("./a//b/", "a/b")])
def test_a_plain_uri_path_is_kept_normalised(form: str, path: str, expected: str) -> None:
    assert _parsed_path(form, path) == expected


def test_a_runs_uri_keeps_its_run_id_and_its_leading_separators_are_not_absolute() -> None:
    # As MLflow: the path is what follows the run id, so "//etc" names "etc" below the root.
    assert parse_runs_uri("runs:/r1//etc/passwd") == ("r1", "etc/passwd")
    assert parse_runs_uri("runs:/r1") == ("r1", "")


def test_a_model_uri_cannot_be_built_with_an_unchecked_path() -> None:
    with pytest.raises(InvalidParameterValue):
        ModelUri("model", version=1, path="../x")
    assert ModelUri("model", version=1, path="./a//b").path == "a/b"


def test_an_artifact_location_holds_only_checked_paths_below_its_base() -> None:
    for path, base in (("../x", ""), ("a", "../a"), ("b/c", "a")):
        with pytest.raises(InvalidParameterValue):
            ArtifactLocation("file:///root", path, base=base)
    where = ArtifactLocation("file:///root", "model/sub/x.txt", base="model")
    assert where.uri == "file:///root/model/sub/x.txt"
    assert where.below_base("model/sub/x.txt") == "sub/x.txt"
    assert ArtifactLocation("file:///root").uri == "file:///root"


# --- one plain name (a folder an id becomes) ----------------------------------------------------------


@given(hostile_paths())
@example("tr-0123")
@example("./x")
@example("x/")
@example(".")
def test_a_segment_is_one_plain_name_kept_as_written(name: str) -> None:
    try:
        result = artifact_segment(name)
    except InvalidParameterValue:
        return
    assert result == name and "/" not in name
    _assert_safe(name, result)


@pytest.mark.parametrize(
    "name", ["", ".", "./x", "x/", "a/b", "..", "%2e%2e", "C:x", "~x", "a\\b", "x\x00"], ids=repr
)
def test_a_segment_that_is_not_plain_is_refused(name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        artifact_segment(name)
