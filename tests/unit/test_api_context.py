"""System tags of a new run: user, source, and git read from the repository's files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from genesis_flow.entrypoints.api import context


def make_repo(root: Path, remote: str) -> str:
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(root)], check=True)
    (root / "train.py").write_text("print('hi')\n")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    subprocess.run([*git, "remote", "add", "origin", remote], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return head.stdout.strip()


@pytest.fixture
def git_available() -> None:
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed: the repository is made with it")


def test_git_tags_come_from_the_scripts_repository_without_credentials(
    tmp_path: Path, git_available: None
) -> None:
    commit = make_repo(tmp_path, "https://someone:s3cret-token@git.example.com/team/models.git")
    tags = context._git_tags(str(tmp_path / "train.py"))
    assert tags == {
        context.MLFLOW_GIT_COMMIT: commit,
        context.MLFLOW_GIT_BRANCH: "trunk",
        context.MLFLOW_GIT_REPO_URL: "https://git.example.com/team/models.git",
    }


def test_a_script_outside_any_repository_gets_no_git_tags(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    assert context._git_tags(str(tmp_path / "train.py")) == {}


def test_packed_refs_are_read(tmp_path: Path, git_available: None) -> None:
    commit = make_repo(tmp_path, "git@git.example.com:team/models.git")
    subprocess.run(["git", "-C", str(tmp_path), "pack-refs", "--all"], check=True)
    tags = context._git_tags(str(tmp_path / "train.py"))
    assert tags[context.MLFLOW_GIT_COMMIT] == commit
    assert tags[context.MLFLOW_GIT_REPO_URL] == "git@git.example.com:team/models.git"


def test_system_tags_name_the_user_and_the_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/nowhere/train.py"])
    tags = context.system_tags()
    assert tags[context.MLFLOW_SOURCE_NAME] == "/nowhere/train.py"
    assert tags[context.MLFLOW_SOURCE_TYPE] == "LOCAL"
    assert tags[context.MLFLOW_USER]


def test_generated_names_follow_mlflows_pattern() -> None:
    import re

    names = {context.generate_run_name() for _ in range(200)}
    assert all(re.fullmatch(r"[a-z]+-[a-z]+-\d{1,4}", n) and len(n) <= 20 for n in names)
    assert len(names) > 100
