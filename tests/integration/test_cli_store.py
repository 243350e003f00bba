"""Which store a `genesis` command uses: its own --uri, the global `genesis --uri`, the
environment, the default; the note about MLflow's store in the folder; `file:` URIs' hint."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli.store import command_uri

# The CLI tests' clean working folder and environment (autouse) and their invoke().
from tests.integration.test_cli_ops import _clean, invoke  # noqa: F401


def _doctor_uri(*args: str) -> str:
    result = invoke(*args, "--json")
    rows = {row["check"]: row for row in json.loads(result.stdout)}
    detail: str = rows["uri"]["detail"]
    return detail


def test_the_global_uri_applies_to_every_command_and_a_commands_own_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"sqlite:///{tmp_path}/other.db"
    assert _doctor_uri("--uri", "memory:", "doctor") == "memory:"
    assert _doctor_uri("--uri", other, "doctor", "--uri", "memory:") == "memory:"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert _doctor_uri("doctor") == other
    monkeypatch.setenv("GENESIS_TRACKING_URI", "genesis+memory:")
    assert _doctor_uri("doctor") == "genesis+memory:"
    assert _doctor_uri("--uri", "memory:", "doctor") == "memory:"
    # Commands of every module see it (gc here: it creates nothing on memory:).
    result = invoke("--uri", "memory:", "gc", "--dry-run")
    assert result.exit_code == 0 and "would remove 0 run(s)" in result.stdout
    assert not (tmp_path / "genesis.db").exists()


@pytest.mark.parametrize(("name", "source"), [("mlflow.db", "./mlflow.db"), ("mlruns", "./mlruns")])
def test_the_default_store_beside_mlflows_says_how_to_copy_it_once(
    tmp_path: Path, name: str, source: str
) -> None:
    if name == "mlruns":
        (tmp_path / name).mkdir()
    else:
        (tmp_path / name).write_bytes(b"")
    result = invoke("gc", "--dry-run")
    assert result.exit_code == 0, result.output
    note = (
        f"genesis: note: found an MLflow store here ({name}): copy it with `genesis migrate --from {source}`"
    )
    assert result.stderr.splitlines() == [note]
    # Now the Genesis database exists: the user has chosen it, no more notes.
    assert (tmp_path / bootstrap.DEFAULT_DATABASE_FILE).exists()
    assert invoke("gc", "--dry-run").stderr == ""


def test_no_note_when_a_uri_is_given_or_nothing_of_mlflows_is_here(tmp_path: Path) -> None:
    assert invoke("--uri", "memory:", "gc", "--dry-run").stderr == ""
    (tmp_path / "mlflow.db").write_bytes(b"")
    assert invoke("gc", "--uri", "memory:", "--dry-run").stderr == ""
    (tmp_path / "mlflow.db").unlink()
    assert invoke("gc", "--dry-run").stderr == ""


def test_the_note_is_printed_once_per_command(tmp_path: Path) -> None:
    (tmp_path / "mlruns").mkdir()

    @click.command()
    def twice() -> None:
        command_uri(None)
        command_uri(None)

    result = CliRunner().invoke(twice, [])
    assert result.exit_code == 0 and result.stderr.count("genesis: note:") == 1


@pytest.mark.parametrize("uri", ["file:///data/mlruns", "./mlruns", "/data/my mlruns"])
def test_a_file_store_uri_names_the_migration_everywhere(uri: str) -> None:
    quoted = "'/data/my mlruns'" if " " in uri else uri
    hint = f"copy it with `genesis migrate --from {quoted}`"
    with pytest.raises(InvalidParameterValue, match="genesis migrate") as raised:
        bootstrap.build_tracking_store(uri)
    assert hint in raised.value.message
    import genesis_flow

    with pytest.raises(genesis_flow.MlflowException) as api_error:
        genesis_flow.MlflowClient(uri).search_experiments()
    assert hint in str(api_error.value)
    for argv in (["gc", "--uri", uri], ["--uri", uri, "demo"], ["doctor", "--uri", uri]):
        result = invoke(*argv)
        assert result.exit_code == 1, (argv, result.output)
        assert hint in result.output + result.stderr, argv
