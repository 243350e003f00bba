"""Every "needs X" message gives a pip command that installs exactly its extra's requirements."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints import bootstrap, migration
from genesis_flow.entrypoints.cli import browse, ops
from genesis_flow.entrypoints.extras import DISTRIBUTION, extra_requirements, install_hint

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _refused(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidParameterValue) as refused:
        call()
    return refused.value.message


def _mongo(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setitem(sys.modules, "genesis_flow.adapters.cosmos", None)
    return _refused(lambda: bootstrap._mongo_database_type("mongodb://127.0.0.1:1/db"))


def _azure(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setitem(sys.modules, "genesis_flow.adapters.blob.azure", None)
    return _refused(lambda: bootstrap.build_artifact_store("wasbs://c@account.blob.core.windows.net/p"))


def _mlflow_migration(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    return _refused(migration._import_mlflow)


def _mlflow_ui(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real_find_spec(name, *a)
    )
    refusal = ops.ui_refusal("mongodb://127.0.0.1:1/db")
    assert refusal is not None
    return refusal


def _plot(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(SystemExit):
        browse.write_plot("unused.png", "loss", [])
    return capsys.readouterr().err


MESSAGES = {
    "mongo": _mongo,
    "azure": _azure,
    "mlflow-migration": _mlflow_migration,
    "mlflow-ui": _mlflow_ui,
    "plot": _plot,
}


def _requirements(texts: list[str]) -> list[Requirement]:
    return sorted((Requirement(text) for text in texts), key=str)


@pytest.mark.parametrize("case", MESSAGES)
def test_each_message_names_a_command_installing_its_extra(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = case.split("-")[0]
    message = MESSAGES[case](monkeypatch, capsys)
    found = re.search(r"pip install (.+?) \(the \[(\w+)\] extra of ([\w-]+)\)", message)
    assert found, message
    assert found[2] == extra and found[3] == DISTRIBUTION == PROJECT["name"]
    assert _requirements(shlex.split(found[1])) == _requirements(PROJECT["optional-dependencies"][extra])


def test_other_markers_stay_and_an_unknown_extra_still_names_the_distribution() -> None:
    assert extra_requirements("dev")[-1] == 'tomli>=2; python_version < "3.11"'
    assert install_hint("no-such-extra") == f"install the [no-such-extra] extra of {DISTRIBUTION}"
