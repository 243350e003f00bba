"""Artifact paths: the text rules every artifact store relies on, checked once, here.

An artifact path is relative to a run's artifact root, '/'-separated, and names something *inside*
that root. Anything that could name something else is refused with InvalidParameterValue before
a store touches storage: ``..`` segments, absolute paths, drive letters, backslashes (a separator
on Windows), NUL and other control characters, and percent-encoded forms of any of these (a store
or a proxy that decodes them would otherwise walk out of the root). Whether a *local* path
escapes through a symlink needs the file system, so the local store checks that itself.
"""

from __future__ import annotations

import re
import unicodedata

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.validation import text_problem

# A drive ("C:", "c:x"; Windows reads any character before a colon as one), at the start of
# any segment.
_DRIVE = re.compile(r"^.:", re.DOTALL)
# Percent-encoded '.', '/', '\', ':', '%' and controls: decoding them could form traversal.
_ENCODED = re.compile(r"%(2[eEfF]|5[cC]|3[aA]|25|[01][0-9a-fA-F]|7[fF])")
MAX_ARTIFACT_PATH_LENGTH = 4096


def _refuse(path: str, why: str) -> InvalidParameterValue:
    shown = path if len(path) <= 200 else path[:197] + "..."
    return InvalidParameterValue(f"Invalid artifact path {shown!r}: {why}")


def artifact_path(path: str | None) -> str:
    """``path`` checked and normalised: '' for the root (None or ''), else '/'-joined segments
    without empty or '.' segments and without a trailing '/'.

    Raises:
        InvalidParameterValue: the path is not a string, too long, absolute, has a drive letter,
            a backslash, a ``..`` segment, a control character (NUL included), or a
            percent-encoded '.', '/', '\\', ':', '%' or control character.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidParameterValue(f"Invalid artifact path {path!r}: expected a string")
    if len(path) > MAX_ARTIFACT_PATH_LENGTH:
        raise _refuse(path, f"longer than {MAX_ARTIFACT_PATH_LENGTH} characters")
    if any(unicodedata.category(c) == "Cc" for c in path):  # C0, DEL and C1; NUL included
        raise _refuse(path, "control characters (NUL included) are not allowed")
    problem = text_problem(path)  # the rule every stored string follows: no file or blob either
    if problem is not None:
        raise _refuse(path, problem)
    if "\\" in path:
        raise _refuse(path, "backslashes are not allowed; use '/'")
    if path.startswith("/") or path.startswith("~"):
        raise _refuse(path, "must be relative to the run's artifact root")
    if _ENCODED.search(path):
        raise _refuse(path, "percent-encoded separators, dots or control characters are not allowed")
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if segments and segments[0].startswith("~"):
        raise _refuse(path, "must be relative to the run's artifact root")
    for segment in segments:
        if segment == "..":
            raise _refuse(path, "'..' segments are not allowed")
        if _DRIVE.match(segment):
            raise _refuse(path, "drive letters are not allowed")
        if segment.strip(" .") == "" or segment != segment.rstrip(" "):
            # "..." or ". " resolve to the parent or to another name on some file systems.
            raise _refuse(path, f"segment {segment!r} is not a plain name")
    return "/".join(segments)


def join_artifact_path(*parts: str | None) -> str:
    """The checked paths joined: ``join_artifact_path("a", None, "b/c")`` is ``"a/b/c"``."""
    return "/".join(p for p in (artifact_path(part) for part in parts) if p)


def artifact_file_name(name: str) -> str:
    """A single file name (one segment), checked as a path."""
    checked = artifact_path(name)
    if "/" in checked or not checked:
        raise _refuse(name, "expected a file name, not a path")
    return checked


def artifact_segment(name: str) -> str:
    """``name`` unchanged when it is one plain segment the rule keeps as it is: what an id that
    becomes a folder (a trace's attachments) must be, since "./x" or "x/" would name another one.

    Raises:
        InvalidParameterValue: anything else.
    """
    if artifact_file_name(name) != name:
        raise _refuse(name, "expected a plain name, written as it is stored")
    return name
