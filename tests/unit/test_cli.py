"""`genesis demo`: logs a small experiment and prints its runs as a table; `genesis db`: its
arguments and errors (tests/integration/test_sql_schema.py runs it against real databases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli import main


@pytest.fixture(autouse=True)
def fresh_memory_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's model files land below the default artifact root
    bootstrap.reset_memory_stores()


def test_demo_logs_runs_registers_a_version_and_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--uri", "memory:"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("run "))
    for column in ("run id", "status", "epochs", "learning_rate", "accuracy", "loss"):
        assert column in header
    rows = [line for line in lines if line.startswith("lr-")]
    assert len(rows) == 4 and all("FINISHED" in row for row in rows)
    assert "genesis-demo-classifier version 1" in out

    tracking = bootstrap.build_tracking_store("memory:")
    experiment = tracking.get_experiment_by_name("genesis-demo")
    assert experiment is not None
    runs = tracking.search_runs([experiment.experiment_id]).items
    assert len(runs) == 4
    history = tracking.get_metric_history(runs[0].info.run_id, "loss").items
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    registry = bootstrap.build_registry_store("memory:")
    champion = registry.get_model_version_by_alias("genesis-demo-classifier", "champion")
    best = max(runs, key=lambda r: r.data.metrics_dict["accuracy"])
    assert champion.run_id == best.info.run_id


def test_demo_twice_in_one_process_adds_a_second_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--uri", "memory:"]) == 0
    assert main(["demo", "--uri", "memory:"]) == 0
    assert "genesis-demo-classifier version 2" in capsys.readouterr().out


def test_demo_on_an_unsupported_uri_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--uri", "http://localhost:5000"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("genesis: error: INVALID_PARAMETER_VALUE") and "\n" not in err


def test_db_help_lists_the_upgrade_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: genesis db") and "upgrade" in out


def test_db_upgrade_help_names_the_uri_and_what_the_command_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("Usage: genesis db upgrade [OPTIONS] URI")
    assert "PostgreSQL database is only upgraded by this command" in out and "genesis migrate" in out


@pytest.mark.parametrize("argv", [["db", "upgrade"], ["db", "downgrade", "sqlite:///x.db"]])
def test_db_with_missing_or_unknown_arguments_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "Usage: genesis db" in capsys.readouterr().err


def test_db_without_a_command_prints_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db"]) in (0, 2)  # Click shows a group's help when no command is given
    assert "Usage: genesis db" in " ".join(capsys.readouterr())


@pytest.mark.parametrize("uri", ["memory:", "mongodb://localhost/genesis", "http://localhost:5000"])
def test_db_upgrade_on_a_uri_that_is_not_sql_fails_with_one_line(
    uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", uri]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"genesis: error: INVALID_PARAMETER_VALUE: Not a SQL URI: {uri!r}")
    assert captured.err.count("\n") == 1
