"""What MLflow's client adds to a new run: a generated name and the system tags.

MLflow resolves these through "context providers": the user and the script (always), the git
commit, branch and remote of the script's repository (when it is in one). We compute the same
tags without GitPython or a ``git`` process: the repository's files are read directly, once per
process, because a training script starts many runs from the same checkout.
"""

from __future__ import annotations

import configparser
import functools
import getpass
import os
import random
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MLFLOW_USER = "mlflow.user"
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
MLFLOW_GIT_REPO_URL = "mlflow.source.git.repoURL"
MLFLOW_RUN_NAME = "mlflow.runName"
MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_RUN_NOTE = "mlflow.note.content"
MLFLOW_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
DEFAULT_USER = "unknown"

# Short, friendly words in MLflow's "adjective-noun-number" pattern (our own lists).
_ADJECTIVES = (
    "able", "amber", "ample", "bold", "brave", "bright", "calm", "clever", "cool", "crisp",
    "curious", "dapper", "eager", "fair", "fancy", "gentle", "glad", "grand", "happy", "honest",
    "jolly", "keen", "kind", "lively", "loyal", "lucky", "mellow", "merry", "neat", "nimble",
    "noble", "polite", "proud", "quick", "quiet", "rare", "sharp", "shy", "smooth", "snappy",
    "spry", "steady", "sunny", "swift", "tidy", "upbeat", "vivid", "warm", "wise", "witty",
)  # fmt: skip
_NOUNS = (
    "ant", "bat", "bear", "bee", "carp", "cat", "colt", "crab", "crow", "deer", "doe", "dove",
    "duck", "eel", "elk", "finch", "fish", "fox", "frog", "goat", "gull", "hare", "hawk", "hen",
    "jay", "kite", "koi", "lamb", "lark", "lynx", "mole", "moth", "newt", "owl", "ox", "panda",
    "pig", "pug", "ram", "robin", "seal", "shrew", "sloth", "snail", "squid", "stork", "swan",
    "toad", "trout", "wolf",
)  # fmt: skip
_MAX_NAME_LENGTH = 20


def generate_run_name() -> str:
    """``<adjective>-<noun>-<0..1000>``, at most 20 characters, as MLflow names unnamed runs."""
    name = f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 1000)}"
    return name[:_MAX_NAME_LENGTH]


def system_tags() -> dict[str, str]:
    """The tags MLflow's default and git context providers give a new run."""
    tags = {
        MLFLOW_USER: _user(),
        MLFLOW_SOURCE_NAME: sys.argv[0] if sys.argv and sys.argv[0] else "<console>",
        MLFLOW_SOURCE_TYPE: "LOCAL",
    }
    main_file = sys.argv[0] if sys.argv and sys.argv[0] else None
    if main_file:
        tags.update(_git_tags(os.path.abspath(main_file)))
    return tags


def resolve_tags(user_tags: dict[str, str]) -> dict[str, str]:
    """System tags overridden by the user's, as MLflow's context registry merges them."""
    return {**system_tags(), **user_tags}


def _user() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):  # no passwd entry, e.g. an arbitrary container uid
        return DEFAULT_USER


@functools.lru_cache(maxsize=32)
def _git_tags(main_file: str) -> dict[str, str]:
    path = Path(main_file)
    start = path.parent if path.suffix or path.is_file() else path
    git_dir = _find_git_dir(start)
    if git_dir is None:
        return {}
    try:
        branch, commit = _head(git_dir)
    except OSError:
        return {}
    if commit is None:
        return {}
    tags = {MLFLOW_GIT_COMMIT: commit}
    if branch is not None:
        tags[MLFLOW_GIT_BRANCH] = branch
    url = _remote_url(git_dir)
    if url is not None:
        tags[MLFLOW_GIT_REPO_URL] = url
    return tags


def _find_git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def _head(git_dir: Path) -> tuple[str | None, str | None]:
    head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    if not head.startswith("ref:"):
        return None, head or None  # detached HEAD
    ref = head[len("ref:") :].strip()
    branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref
    common = _common_dir(git_dir)
    for base in (git_dir, common):
        ref_file = base / ref
        if ref_file.is_file():
            return branch, ref_file.read_text(encoding="utf-8").strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return branch, parts[0]
    return branch, None  # a branch with no commit yet


def _common_dir(git_dir: Path) -> Path:
    pointer = git_dir / "commondir"
    if pointer.is_file():
        target = Path(pointer.read_text(encoding="utf-8").strip())
        return target if target.is_absolute() else (git_dir / target).resolve()
    return git_dir


def _remote_url(git_dir: Path) -> str | None:
    """The first remote's URL (as MLflow takes it), without any user name or token in it: a run
    tag must never carry a credential."""
    config = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        config.read(_common_dir(git_dir) / "config", encoding="utf-8")
    except (configparser.Error, OSError):
        return None
    for section in config.sections():
        if section.startswith("remote ") and config.has_option(section, "url"):
            return _without_credentials(config.get(section, "url"))
    return None


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url  # scp-like "git@host:path" names a user, never a secret
