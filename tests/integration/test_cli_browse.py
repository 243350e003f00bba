"""`genesis experiments|runs|models` end to end on a SQLite file seeded through the stores."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
)
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli import app
from genesis_flow.entrypoints.cli.browse import sparkline


class Seeded:
    def __init__(self, uri: str, experiment_id: str, run_ids: list[str]) -> None:
        self.uri = uri
        self.experiment_id = experiment_id
        self.run_ids = run_ids


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    monkeypatch.chdir(tmp_path)
    for name in bootstrap.TRACKING_URI_VARS + bootstrap.REGISTRY_URI_VARS:
        monkeypatch.delenv(name, raising=False)
    uri = f"sqlite:///{tmp_path}/t.db"
    tracking = bootstrap.build_tracking_store(uri)
    registry = bootstrap.build_registry_store(uri)
    experiment_id = tracking.create_experiment("vision")
    run_ids = []
    for index, lr in enumerate(("0.1", "0.01")):
        run = tracking.create_run(experiment_id, "tester", 1_700_000_000_000 + index, run_name=f"lr-{lr}")
        points = [
            Metric("loss", 1.0 / (step + 1 + index), 1_700_000_000_000 + step, step) for step in range(4)
        ]
        tracking.log_batch(
            run.info.run_id,
            metrics=[*points, Metric("accuracy", 0.8 + index / 10, 1_700_000_000_100, 3)],
            params=[Param("lr", lr), Param("epochs", "4")],
            tags=[RunTag("team", "cv")],
        )
        tracking.update_run_info(run.info.run_id, RunStatus.FINISHED, end_time=1_700_000_001_000)
        run_ids.append(run.info.run_id)
    tracking.log_inputs(
        run_ids[0],
        datasets=[
            DatasetInput(
                Dataset("mnist", "abc123", "local", "/data/mnist"),
                tags=(InputTag("mlflow.data.context", "training"),),
            )
        ],
    )
    registry.create_registered_model("digits", description="digit classifier")
    registry.create_model_version("digits", source="models:/x/1", run_id=run_ids[0])
    registry.create_model_version("digits", source="models:/x/2", run_id=run_ids[1])
    registry.set_registered_model_alias("digits", "champion", 2)
    yield Seeded(uri, experiment_id, run_ids)
    bootstrap.reset_memory_stores()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app(), list(args), env={"COLUMNS": "250"})


def ok(*args: str) -> Result:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def error_line(result: Result, code: str, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"genesis: error: {code}: "), lines[0]
    return lines[0]


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


# --- experiments -----------------------------------------------------------------------------------


def test_experiments_list_formats_and_paging(seeded: Seeded) -> None:
    table = ok("experiments", "list", "--uri", seeded.uri).stdout
    assert "vision" in table and "Default" in table

    rows = as_json(ok("experiments", "list", "--uri", seeded.uri, "--json", "--order-by", "name ASC"))
    assert [r["name"] for r in rows] == ["Default", "vision"]

    first = ok(
        "experiments", "list", "--uri", seeded.uri, "--csv", "--max-results", "1", "--order-by", "name"
    )
    parsed = list(csv.DictReader(io.StringIO(first.stdout)))
    assert [r["name"] for r in parsed] == ["Default"]
    assert "experiment_id" in first.stdout.splitlines()[0]
    token = first.stderr.strip().removeprefix("next page token: ")
    assert token and token != first.stderr.strip()
    second = ok(
        "experiments",
        "list",
        "--uri",
        seeded.uri,
        "--json",
        "--max-results",
        "1",
        "--order-by",
        "name",
        "--page-token",
        token,
    )
    assert [r["name"] for r in as_json(second)] == ["vision"]
    assert second.stderr == ""

    filtered = as_json(
        ok("experiments", "list", "--uri", seeded.uri, "--json", "--filter", "name = 'vision'")
    )
    assert [r["experiment_id"] for r in filtered] == [seeded.experiment_id]


def test_experiments_create_rename_delete_restore(seeded: Seeded) -> None:
    new_id = ok("experiments", "create", "audio", "--uri", seeded.uri).stdout.strip()
    ok("experiments", "rename", new_id, "speech", "--uri", seeded.uri)
    ok("experiments", "delete", new_id, "--uri", seeded.uri)
    active = as_json(ok("experiments", "list", "--uri", seeded.uri, "--json"))
    assert "speech" not in [r["name"] for r in active]
    deleted = as_json(ok("experiments", "list", "--uri", seeded.uri, "--json", "--view", "deleted"))
    assert [(r["name"], r["lifecycle_stage"]) for r in deleted] == [("speech", "deleted")]
    ok("experiments", "restore", new_id, "--uri", seeded.uri)
    assert "speech" in [r["name"] for r in as_json(ok("experiments", "list", "--uri", seeded.uri, "--json"))]

    error_line(invoke("experiments", "create", "vision", "--uri", seeded.uri), "RESOURCE_ALREADY_EXISTS")
    error_line(invoke("experiments", "delete", "999", "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST")


# --- runs ------------------------------------------------------------------------------------------


def test_runs_list_by_name_or_id(seeded: Seeded) -> None:
    table = ok("runs", "list", "--experiment", "vision", "--uri", seeded.uri).stdout
    for value in (
        *seeded.run_ids,
        "lr-0.1",
        "lr-0.01",
        "FINISHED",
        "params.lr",
        "metrics.loss",
        "2023-11-14T",
    ):
        assert value in table

    rows = as_json(
        ok(
            "runs",
            "list",
            "--experiment",
            seeded.experiment_id,
            "--uri",
            seeded.uri,
            "--json",
            "--order-by",
            "metrics.accuracy DESC",
        )
    )
    assert [r["run_id"] for r in rows] == [seeded.run_ids[1], seeded.run_ids[0]]
    assert rows[0]["metrics.accuracy"] == pytest.approx(0.9)
    assert rows[0]["params.lr"] == "0.01"

    header = ok("runs", "list", "--experiment", "vision", "--uri", seeded.uri, "--csv").stdout.splitlines()[0]
    assert header.split(",")[:4] == ["run_id", "run_name", "status", "start_time"]

    only = as_json(
        ok(
            "runs",
            "list",
            "--experiment",
            "vision",
            "--uri",
            seeded.uri,
            "--json",
            "--filter",
            "params.lr = '0.1'",
        )
    )
    assert [r["run_id"] for r in only] == [seeded.run_ids[0]]


def test_runs_delete_restore_and_view(seeded: Seeded) -> None:
    ok("runs", "delete", seeded.run_ids[0], "--uri", seeded.uri)
    active = as_json(ok("runs", "list", "--experiment", "vision", "--uri", seeded.uri, "--json"))
    assert [r["run_id"] for r in active] == [seeded.run_ids[1]]
    deleted = as_json(
        ok("runs", "list", "--experiment", "vision", "--uri", seeded.uri, "--json", "--view", "deleted")
    )
    assert [r["run_id"] for r in deleted] == [seeded.run_ids[0]]
    ok("runs", "restore", seeded.run_ids[0], "--uri", seeded.uri)
    every = as_json(
        ok("runs", "list", "--experiment", "vision", "--uri", seeded.uri, "--json", "--view", "all")
    )
    assert len(every) == 2


def test_runs_show(seeded: Seeded) -> None:
    run_id = seeded.run_ids[0]
    table = ok("runs", "show", run_id, "--uri", seeded.uri).stdout
    for value in (run_id, "lr-0.1", "accuracy", "team", "mnist", "training", "abc123"):
        assert value in table
    document = as_json(ok("runs", "show", run_id, "--uri", seeded.uri, "--json"))
    assert document["info"]["run_id"] == run_id
    assert document["params"] == {"epochs": "4", "lr": "0.1"}
    assert {m["key"]: m["value"] for m in document["metrics"]} == {"accuracy": 0.8, "loss": 0.25}
    assert document["tags"]["team"] == "cv"
    assert document["datasets"][0]["name"] == "mnist"
    assert document["datasets"][0]["context"] == "training"


def test_runs_compare(seeded: Seeded) -> None:
    a, b = seeded.run_ids
    table = ok("runs", "compare", a, b, "--uri", seeded.uri).stdout
    assert f"lr-0.1 ({a[:8]})" in table and f"lr-0.01 ({b[:8]})" in table
    assert "params.lr" in table and "metrics.loss" in table and "tags.team" in table

    rows = {r["key"]: r for r in as_json(ok("runs", "compare", a, b, "--uri", seeded.uri, "--json"))}
    assert rows["params.lr"][a] == "0.1" and rows["params.lr"][b] == "0.01"
    assert rows["params.lr"]["differs"] is True
    assert rows["params.epochs"]["differs"] is False
    assert rows["tags.team"]["differs"] is False

    header = ok("runs", "compare", a, b, "--uri", seeded.uri, "--csv").stdout.splitlines()[0]
    assert header == f"key,{a},{b},differs"


def test_runs_compare_highlights_differences(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_flow.entrypoints.cli import runs

    marked: list[str] = []

    def recording_emit(rows: Any, columns: Any, fmt: str, **kwargs: Any) -> None:
        marked.extend(row["key"] for row in rows if kwargs["highlight"](columns[1], row))

    monkeypatch.setattr(runs, "emit", recording_emit)
    ok("runs", "compare", *seeded.run_ids, "--uri", seeded.uri)
    assert marked == ["params.lr", "metrics.accuracy", "metrics.loss", "tags.mlflow.runName"]


def test_runs_compare_marks_differing_rows_without_colour(seeded: Seeded) -> None:
    table = ok("runs", "compare", *seeded.run_ids, "--uri", seeded.uri).stdout  # piped: no colour
    assert "\x1b[" not in table
    marks = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) > 2 and cells[1].startswith(("params.", "metrics.", "tags.")):
            marks[cells[1]] = cells[0]
    assert marks["params.lr"] == "*" and marks["metrics.loss"] == "*"
    assert marks["params.epochs"] == "" and marks["tags.team"] == ""


def test_runs_compare_metric_chart_and_plot(seeded: Seeded, tmp_path: Path) -> None:
    a, b = seeded.run_ids
    chart = ok("runs", "compare", a, b, "--uri", seeded.uri, "--metric", "loss").stdout
    assert "loss by step" in chart
    assert f"lr-0.1 ({a[:8]})   █▃▂▁" in chart and f"lr-0.01 ({b[:8]})  █▄▂▁" in chart
    assert "4 points" in chart

    history = as_json(ok("runs", "compare", a, b, "--uri", seeded.uri, "--metric", "loss", "--json"))
    assert [(h["run_id"], h["step"]) for h in history][:2] == [(a, 0), (a, 1)]
    assert len(history) == 8

    pytest.importorskip("matplotlib")
    out = tmp_path / "loss.png"
    ok("runs", "compare", a, b, "--uri", seeded.uri, "--metric", "loss", "--plot", str(out))
    assert out.read_bytes().startswith(b"\x89PNG")


def test_runs_compare_plot_without_matplotlib(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = invoke(
        "runs",
        "compare",
        *seeded.run_ids,
        "--uri",
        seeded.uri,
        "--metric",
        "loss",
        "--plot",
        str(tmp_path / "x.png"),
    )
    assert "the [plot] extra" in error_line(result, "INVALID_PARAMETER_VALUE")
    assert invoke("runs", "compare", seeded.run_ids[0], "--uri", seeded.uri, "--plot", "x.png").exit_code == 2


@pytest.mark.parametrize("where", ["missing-folder", "under-a-file", "a-directory"])
def test_runs_compare_plot_to_a_path_that_cannot_be_written_names_it(
    seeded: Seeded, tmp_path: Path, where: str
) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder.png").mkdir()
    path = {
        "missing-folder": tmp_path / "no" / "such" / "x.png",
        "under-a-file": tmp_path / "file.txt" / "x.png",
        "a-directory": tmp_path / "folder.png",
    }[where]
    args = ("runs", "compare", *seeded.run_ids, "--uri", seeded.uri, "--metric", "loss", "--plot", str(path))
    result = invoke(*args)
    if where == "a-directory":  # refused by the option's own check: a usage error naming the path
        assert result.exit_code == 2 and str(path) in result.stderr, result.output
        return
    line = error_line(result, "INVALID_PARAMETER_VALUE")
    assert str(path) in line and "Traceback" not in result.output


def test_sparkline() -> None:
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([2.0, 2.0]) == "▅▅"
    assert sparkline([float("nan"), 1.0, 3.0]) == " ▁█"


# --- models ----------------------------------------------------------------------------------------


def test_models_list_show_versions(seeded: Seeded) -> None:
    assert "digits" in ok("models", "list", "--uri", seeded.uri).stdout
    rows = as_json(ok("models", "list", "--uri", seeded.uri, "--json", "--filter", "name LIKE 'dig%'"))
    assert rows == [
        {
            "name": "digits",
            "latest_version": 2,
            "aliases": {"champion": 2},
            "last_updated_time": rows[0]["last_updated_time"],
            "description": "digit classifier",
        }
    ]
    assert as_json(ok("models", "list", "--uri", seeded.uri, "--json", "--filter", "name = 'other'")) == []

    shown = ok("models", "show", "digits", "--uri", seeded.uri).stdout
    assert "digit classifier" in shown and "champion" in shown
    document = as_json(ok("models", "show", "digits", "--uri", seeded.uri, "--json"))
    assert document["aliases"] == {"champion": 2}
    assert [v["version"] for v in document["latest_versions"]] == [2]

    versions = as_json(ok("models", "versions", "digits", "--uri", seeded.uri, "--json"))
    assert [(v["version"], v["stage"], v["run_id"], v["aliases"]) for v in versions] == [
        (1, "None", seeded.run_ids[0], {}),
        (2, "None", seeded.run_ids[1], {"champion": 2}),
    ]
    header = ok("models", "versions", "digits", "--uri", seeded.uri, "--csv").stdout.splitlines()[0]
    assert header == "version,stage,status,run_id,source,aliases,creation_time"


def test_models_transition_and_alias(seeded: Seeded) -> None:
    ok("models", "transition", "digits", "1", "production", "--uri", seeded.uri)
    ok("models", "transition", "digits", "2", "Production", "--archive-existing", "--uri", seeded.uri)
    stages = {
        v["version"]: v["stage"]
        for v in as_json(ok("models", "versions", "digits", "--uri", seeded.uri, "--json"))
    }
    assert stages == {1: "Archived", 2: "Production"}

    ok("models", "alias", "digits", "baseline", "1", "--uri", seeded.uri)
    assert as_json(ok("models", "show", "digits", "--uri", seeded.uri, "--json"))["aliases"] == {
        "baseline": 1,
        "champion": 2,
    }
    ok("models", "alias", "digits", "baseline", "--delete", "--uri", seeded.uri)
    assert as_json(ok("models", "show", "digits", "--uri", seeded.uri, "--json"))["aliases"] == {
        "champion": 2
    }

    error_line(
        invoke("models", "transition", "digits", "1", "Shipped", "--uri", seeded.uri),
        "INVALID_PARAMETER_VALUE",
    )
    error_line(invoke("models", "alias", "digits", "x", "9", "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST")
    assert invoke("models", "alias", "digits", "x", "--uri", seeded.uri).exit_code == 2
    assert invoke("models", "alias", "digits", "x", "1", "--delete", "--uri", seeded.uri).exit_code == 2
    assert invoke("models", "transition", "digits", "one", "Staging", "--uri", seeded.uri).exit_code == 2


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "show", "0123456789abcdef0123456789abcdef"),
        ("runs", "delete", "nope"),
        ("runs", "compare", "nope", "other"),
        ("runs", "list", "--experiment", "no-such-experiment"),
        ("experiments", "rename", "999", "x"),
        ("models", "show", "no-such-model"),
        ("models", "versions", "no-such-model"),
    ],
)
def test_unknown_resources(seeded: Seeded, args: tuple[str, ...]) -> None:
    error_line(invoke(*args, "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "list", "--experiment", "vision", "--filter", "params.lr =="),
        ("runs", "list", "--experiment", "vision", "--order-by", "nonsense.key"),
        ("experiments", "list", "--filter", "bogus = 1"),
        ("models", "list", "--filter", "name ~ 'x'"),
        ("experiments", "list", "--page-token", "not-a-token"),
    ],
)
def test_malformed_input(seeded: Seeded, args: tuple[str, ...]) -> None:
    error_line(invoke(*args, "--uri", seeded.uri), "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "show"),
        ("runs", "list"),
        ("runs", "compare"),
        ("experiments", "rename", "1"),
        ("models", "transition", "digits", "1"),
        ("experiments", "list", "--json", "--csv"),
    ],
)
def test_bad_usage_exits_2(seeded: Seeded, args: tuple[str, ...]) -> None:
    assert invoke(*args, "--uri", seeded.uri).exit_code == 2


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://u:secret@127.0.0.1:1/x?serverSelectionTimeoutMS=500",
        "postgresql://nobody:secret@127.0.0.1:1/x",
    ],
)
def test_unreachable_server_is_one_line_without_password(uri: str) -> None:
    pytest.importorskip("pymongo" if uri.startswith("mongodb") else "psycopg")
    for args in (("runs", "list", "--experiment", "1"), ("models", "list"), ("experiments", "list")):
        result = invoke(*args, "--uri", uri)
        assert result.exit_code == 1, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("genesis: error: ")
        assert "secret" not in result.output


# --- short run ids -----------------------------------------------------------------------------


def log_artifacts(run_id: str, uri: str, files: dict[str, bytes]) -> None:
    run = bootstrap.build_tracking_store(uri).get_run(run_id)
    store = bootstrap.build_artifact_store(run.info.artifact_uri)
    for path, content in files.items():
        store.log_stream(io.BytesIO(content), path)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (("runs", "show", "{a}"), "{run_id}"),
        (("runs", "delete", "{a}"), "run {run_id} deleted"),
        (("runs", "restore", "{a}"), "run {run_id} restored"),
        (("runs", "compare", "{a}", "{b}"), "lr-0.1 ({a})"),
        (("runs", "history", "{a}", "loss"), "4 points"),
        (("runs", "artifacts", "{a}"), "file_size"),
        (("runs", "download", "{a}", "-d", "out"), "downloaded to "),
    ],
)
def test_every_run_command_takes_a_unique_prefix(seeded: Seeded, command: tuple[str, ...], says: str) -> None:
    a, b = (run_id[:8] for run_id in seeded.run_ids)
    assert a != b
    result = ok(*(part.format(a=a, b=b) for part in command), "--uri", seeded.uri)
    assert says.format(a=a, run_id=seeded.run_ids[0]) in result.stdout


def test_run_id_prefix_errors(seeded: Seeded) -> None:
    tracking = bootstrap.build_tracking_store(seeded.uri)
    experiment = tracking.get_experiment(seeded.experiment_id)
    ids = [f"abcd{index:02x}{'0' * 26}" for index in range(12)]
    for run_id in ids:
        info = RunInfo(
            run_id, seeded.experiment_id, run_id, "t", RunStatus.FINISHED, 1, 2, experiment.artifact_location
        )
        tracking.import_run(Run(info), [])

    ambiguous = error_line(invoke("runs", "show", "abcd", "--uri", seeded.uri), "INVALID_PARAMETER_VALUE")
    assert "'abcd' is ambiguous" in ambiguous and ", ..." in ambiguous
    assert ids[9] in ambiguous and ids[10] not in ambiguous  # ten candidates, then "..."
    assert ids[11] in ok("runs", "show", ids[11][:6], "--uri", seeded.uri).stdout
    assert ids[11] in ok("runs", "show", ids[11], "--uri", seeded.uri).stdout

    assert "'ffffffff'" in error_line(
        invoke("runs", "delete", "ffffffff", "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST"
    )
    assert "at least 4" in error_line(
        invoke("runs", "show", "abc", "--uri", seeded.uri), "INVALID_PARAMETER_VALUE"
    )


# --- experiments by name, show, short flags ------------------------------------------------------


def test_experiment_commands_take_a_name_or_an_id(seeded: Seeded) -> None:
    ok("experiments", "rename", "vision", "sight", "--uri", seeded.uri)
    ok("experiments", "delete", "sight", "--uri", seeded.uri)
    deleted = as_json(ok("experiments", "list", "--uri", seeded.uri, "--json", "--view", "deleted"))
    assert [r["name"] for r in deleted] == ["sight"]
    ok("experiments", "restore", "sight", "--uri", seeded.uri)
    ok("experiments", "rename", seeded.experiment_id, "vision", "--uri", seeded.uri)

    by_name = as_json(ok("experiments", "show", "vision", "--uri", seeded.uri, "--json"))
    by_id = as_json(ok("experiments", "show", seeded.experiment_id, "--uri", seeded.uri, "--json"))
    assert by_name == by_id
    assert by_name["experiment_id"] == seeded.experiment_id and by_name["runs"] == {"active": 2, "deleted": 0}
    error_line(invoke("experiments", "show", "nothing", "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST")


def test_experiments_show_table(seeded: Seeded) -> None:
    tracking = bootstrap.build_tracking_store(seeded.uri)
    tracking.set_experiment_tag(seeded.experiment_id, ExperimentTag("owner", "vision-team"))
    tracking.delete_run(seeded.run_ids[1])
    table = ok("experiments", "show", "vision", "--uri", seeded.uri).stdout
    for value in ("runs (active)", "runs (deleted)", "owner", "vision-team", "artifact_location"):
        assert value in table
    assert [line.split("│")[2].strip() for line in table.splitlines() if "runs (" in line] == ["1", "1"]


def test_short_flags(seeded: Seeded) -> None:
    long = as_json(
        ok(
            "runs",
            "list",
            "--experiment",
            "vision",
            "--filter",
            "params.epochs = '4'",
            "--order-by",
            "params.lr",
            "--max-results",
            "1",
            "--uri",
            seeded.uri,
            "--json",
        )
    )
    short = as_json(
        ok(
            "runs",
            "list",
            "-e",
            "vision",
            "-f",
            "params.epochs = '4'",
            "-o",
            "params.lr",
            "-n",
            "1",
            "--uri",
            seeded.uri,
            "--json",
        )
    )
    assert short == long and [r["params.lr"] for r in short] == ["0.01"]


# --- output ----------------------------------------------------------------------------------------


def test_tables_cut_long_values_but_never_ids(seeded: Seeded) -> None:
    long_value = "x" * 30 + "y" * 70
    tracking = bootstrap.build_tracking_store(seeded.uri)
    tracking.set_tag(seeded.run_ids[0], RunTag("note", long_value))
    args = ("runs", "show", seeded.run_ids[0], "--uri", seeded.uri)
    table = ok(*args).stdout
    assert long_value not in table and "x" * 30 + "y" * 10 in table and "…" in table
    assert long_value in ok(*args, "--wide").stdout
    assert as_json(ok(*args, "--json"))["tags"]["note"] == long_value


def test_ids_are_never_wrapped_in_a_narrow_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from genesis_flow.entrypoints.cli.output import emit

    run_id = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    emit([{"run_id": run_id, "source": "s" * 80}], ("run_id", "source"), "table")
    printed = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)  # the terminal's styles
    assert run_id in printed and max(len(line) for line in printed.splitlines()) <= 50


@pytest.mark.parametrize(
    ("command", "aliases_of"),
    [
        (("models", "list"), lambda doc: doc[0]["aliases"]),
        (("models", "show", "digits"), lambda doc: doc["aliases"]),
        (("models", "show", "digits"), lambda doc: doc["latest_versions"][0]["aliases"]),
        (("models", "versions", "digits"), lambda doc: doc[1]["aliases"]),
        (("models", "versions", "list", "digits"), lambda doc: doc[1]["aliases"]),
        (("models", "versions", "--json", "digits"), lambda doc: doc[1]["aliases"]),
    ],
)
def test_aliases_have_one_json_shape(seeded: Seeded, command: tuple[str, ...], aliases_of: Any) -> None:
    assert aliases_of(as_json(ok(*command, "--uri", seeded.uri, "--json"))) == {"champion": 2}


def test_plot_steps_are_integers(seeded: Seeded) -> None:
    pytest.importorskip("matplotlib")
    from genesis_flow.entrypoints.cli.browse import metric_history, plot_figure

    tracking = bootstrap.build_tracking_store(seeded.uri)
    figure = plot_figure("loss", [("a", metric_history(tracking, seeded.run_ids[0], "loss"))])
    figure.canvas.draw()
    ticks = [tick for tick in figure.axes[0].get_xticks() if 0 <= tick <= 3]
    assert ticks and all(float(tick).is_integer() for tick in ticks)


# --- artifacts, history ----------------------------------------------------------------------------


def test_runs_artifacts_and_show(seeded: Seeded) -> None:
    run_id = seeded.run_ids[0]
    log_artifacts(
        run_id, seeded.uri, {"model/model.pkl": b"12345", "model/conda.yaml": b"a: 1", "notes.txt": b"hi"}
    )
    top = as_json(ok("runs", "artifacts", run_id, "--uri", seeded.uri, "--json"))
    assert top == [
        {"path": "model", "is_dir": True, "file_size": None},
        {"path": "notes.txt", "is_dir": False, "file_size": 2},
    ]
    below = as_json(ok("runs", "artifacts", run_id, "model", "--uri", seeded.uri, "--json"))
    assert [(r["path"], r["file_size"]) for r in below] == [("model/conda.yaml", 4), ("model/model.pkl", 5)]
    assert "notes.txt" in ok("runs", "artifacts", run_id, "--uri", seeded.uri).stdout
    error_line(
        invoke("runs", "artifacts", run_id, "../other", "--uri", seeded.uri), "INVALID_PARAMETER_VALUE"
    )

    document = as_json(ok("runs", "show", run_id, "--uri", seeded.uri, "--json"))
    assert [a["path"] for a in document["artifacts"]] == ["model", "notes.txt"]
    assert {m["key"]: m["history_length"] for m in document["metrics"]} == {"accuracy": 1, "loss": 4}
    table = ok("runs", "show", run_id, "--uri", seeded.uri).stdout
    assert "Artifacts (top level)" in table and "history_length" in table


def test_runs_show_counts_history_points_without_reading_them(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesis_flow.adapters.sql import SqlTrackingStore

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("runs show read a metric history to count its points")

    monkeypatch.setattr(SqlTrackingStore, "get_metric_history", refuse)
    document = as_json(ok("runs", "show", seeded.run_ids[1], "--uri", seeded.uri, "--json"))
    assert {m["key"]: m["history_length"] for m in document["metrics"]} == {"accuracy": 1, "loss": 4}


def test_runs_download(seeded: Seeded, tmp_path: Path) -> None:
    run_id = seeded.run_ids[0]
    log_artifacts(run_id, seeded.uri, {"model/model.pkl": b"12345", "notes.txt": b"hi"})
    folder = ok("runs", "download", run_id, "model", "-d", "out", "--uri", seeded.uri).stdout
    assert folder.strip() == f"downloaded to {Path.cwd() / 'out' / 'model'}"
    assert (tmp_path / "out" / "model" / "model.pkl").read_bytes() == b"12345"
    (tmp_path / "notes.txt").write_bytes(b"the user's own file")
    everything = ok("runs", "download", run_id, "--uri", seeded.uri).stdout  # the whole run
    assert everything.strip() == f"downloaded to {Path.cwd() / run_id}"
    assert (tmp_path / run_id / "notes.txt").read_bytes() == b"hi"
    assert (tmp_path / run_id / "model" / "model.pkl").exists()
    assert (tmp_path / "notes.txt").read_bytes() == b"the user's own file", "nothing in DEST overwritten"

    missing = invoke("runs", "download", run_id, "no/such", "-d", "nothing-here", "--uri", seeded.uri)
    assert "no/such" in error_line(missing, "RESOURCE_DOES_NOT_EXIST")
    assert not (tmp_path / "nothing-here").exists()


def test_runs_history(seeded: Seeded) -> None:
    run_id = seeded.run_ids[0]
    table = ok("runs", "history", run_id, "loss", "--uri", seeded.uri).stdout
    assert "2023-11-14T22:13:20.003" in table and "█▃▂▁" in table and "4 points" in table
    points = as_json(ok("runs", "history", run_id, "loss", "--uri", seeded.uri, "--json"))
    assert [(p["step"], p["value"], p["timestamp"]) for p in points] == [
        (step, pytest.approx(1.0 / (step + 1)), 1_700_000_000_000 + step) for step in range(4)
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(ok("runs", "history", run_id, "loss", "--uri", seeded.uri, "--csv").stdout)
        )
    )
    assert [r["step"] for r in rows] == ["0", "1", "2", "3"]
    missing = error_line(
        invoke("runs", "history", run_id, "los", "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST"
    )
    assert "accuracy, loss" in missing
    assert "(1 point)" in ok("runs", "history", run_id, "accuracy", "--uri", seeded.uri).stdout


def test_metric_history_reads_every_page(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from genesis_flow.entrypoints.cli.browse import metric_history

    store = bootstrap.build_tracking_store(seeded.uri)
    real = store.get_metric_history

    def paged(run_id: str, key: str, max_results: int | None = None, page_token: str | None = None) -> Any:
        return real(run_id, key, max_results=1, page_token=page_token)

    monkeypatch.setattr(store, "get_metric_history", paged)  # a store that pages by one point
    assert [p.step for p in metric_history(store, seeded.run_ids[0], "loss")] == [0, 1, 2, 3]


# --- models: create, rename, delete; versions delete ---------------------------------------------


def test_models_create_rename_delete(seeded: Seeded) -> None:
    ok("models", "create", "audio", "--description", "speech model", "--uri", seeded.uri)
    error_line(invoke("models", "create", "audio", "--uri", seeded.uri), "RESOURCE_ALREADY_EXISTS")
    ok("models", "rename", "audio", "speech", "--uri", seeded.uri)
    assert (
        as_json(ok("models", "show", "speech", "--uri", seeded.uri, "--json"))["description"]
        == "speech model"
    )

    kept = CliRunner().invoke(app(), ["models", "delete", "speech", "--uri", seeded.uri], input="n\n")
    # Declining is Click's "Aborted!" (exit 1), not an internal error.
    assert "Aborted!" in kept.output and "INTERNAL_ERROR" not in kept.output
    assert kept.exit_code == 1 and "speech" in [
        m["name"] for m in as_json(ok("models", "list", "--uri", seeded.uri, "--json"))
    ]
    ok("models", "delete", "speech", "--yes", "--uri", seeded.uri)
    assert [m["name"] for m in as_json(ok("models", "list", "--uri", seeded.uri, "--json"))] == ["digits"]
    error_line(invoke("models", "delete", "speech", "-y", "--uri", seeded.uri), "RESOURCE_DOES_NOT_EXIST")


def test_models_versions_delete(seeded: Seeded) -> None:
    confirmed = CliRunner().invoke(
        app(), ["models", "versions", "delete", "digits", "2", "--uri", seeded.uri], input="y\n"
    )
    assert confirmed.exit_code == 0, confirmed.output
    versions = as_json(ok("models", "versions", "digits", "--uri", seeded.uri, "--json"))
    assert [v["version"] for v in versions] == [1]
    assert as_json(ok("models", "show", "digits", "--uri", seeded.uri, "--json"))["aliases"] == {}
    error_line(
        invoke("models", "versions", "delete", "digits", "2", "-y", "--uri", seeded.uri),
        "RESOURCE_DOES_NOT_EXIST",
    )
