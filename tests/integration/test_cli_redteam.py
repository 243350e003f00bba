"""A newcomer's and an attacker's mistakes with `genesis`: each case once broke (a traceback or
INTERNAL_ERROR for user data, the wrong entity acted on, a migration left half done)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from genesis_flow.core.entities import Param
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli import app


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app(), list(args), catch_exceptions=False)


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    for name in bootstrap.TRACKING_URI_VARS + bootstrap.REGISTRY_URI_VARS:
        monkeypatch.delenv(name, raising=False)
    yield f"sqlite:///{tmp_path}/t.db"
    bootstrap.reset_memory_stores()


@pytest.mark.parametrize("name", ["[/]", "[bold]b", "back\\[/]slash\\"])
def test_rich_markup_in_names_and_values_prints_literally(uri: str, name: str) -> None:
    tracking = bootstrap.build_tracking_store(uri)
    experiment_id = tracking.create_experiment(name)
    runs = [tracking.create_run(experiment_id, "u", 1, run_name=f"{name}{i}") for i in range(2)]
    tracking.log_batch(runs[0].info.run_id, params=[Param("k", name)])
    run_ids = [r.info.run_id for r in runs]
    for args in (
        ("experiments", "show", name),
        ("runs", "list", "-e", name),
        ("runs", "compare", *run_ids),
        ("runs", "show", run_ids[0]),
    ):
        result = invoke("--uri", uri, *args)
        assert result.exit_code == 0, (args, result.output)
        assert name in result.output, (args, result.output)


@pytest.mark.parametrize("command", ["show", "rename", "delete", "restore"])
def test_an_experiment_named_like_another_ones_id_is_ambiguous_not_guessed(uri: str, command: str) -> None:
    tracking = bootstrap.build_tracking_store(uri)
    first = tracking.create_experiment("vision")
    named_like_it = tracking.create_experiment(first)
    extra = ("new-name",) if command == "rename" else ()
    result = invoke("--uri", uri, "experiments", command, first, *extra)
    assert result.exit_code == 1
    assert "INVALID_PARAMETER_VALUE" in result.output and "ambiguous" in result.output
    assert "'vision'" in result.output and named_like_it in result.output
    assert tracking.get_experiment(first).name == "vision"
    assert tracking.get_experiment(first).lifecycle_stage.value == "active"
    shown = invoke("--uri", uri, "experiments", "show", named_like_it, "--json")
    assert f'"name": "{first}"' in shown.output
    assert invoke("--uri", uri, "runs", "list", "-e", first).exit_code == 1


@pytest.mark.parametrize("in_default", [False, True], ids=["experiment", "default-experiment-run"])
def test_migrate_artifacts_after_a_plain_migration_refuses_before_writing(
    uri: str, tmp_path: Path, in_default: bool
) -> None:
    """The summary of a plain migration points at --artifacts; running it again with --artifacts
    skipped every run already copied, left them pointing into the source and failed
    verification with 'first difference at experiment N'."""
    source = f"sqlite:///{tmp_path}/source.db"
    tracking = bootstrap.build_tracking_store(source, artifact_root=str(tmp_path / "old"))
    experiment_id = "0" if in_default else tracking.create_experiment("with-files")
    run = tracking.create_run(experiment_id, "u", 1)
    Path(run.info.artifact_uri).mkdir(parents=True)
    (Path(run.info.artifact_uri) / "a.txt").write_text("hello")
    assert invoke("migrate", "--from", source, "--to", uri).exit_code == 0
    before = bootstrap.build_tracking_store(uri).get_run(run.info.run_id).info.artifact_uri

    for dry_run in ((), ("--dry-run",)):
        result = invoke("migrate", "--from", source, "--to", uri, "--artifacts", *dry_run)
        assert result.exit_code == 1, result.output
        assert "INVALID_PARAMETER_VALUE" in result.output and "migrated without --artifacts" in result.output
    assert "verification" not in result.output
    assert bootstrap.build_tracking_store(uri).get_run(run.info.run_id).info.artifact_uri == before
    assert not (tmp_path / "genesis-artifacts" / experiment_id / run.info.run_id).exists()
