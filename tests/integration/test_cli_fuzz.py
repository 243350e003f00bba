"""Seeded hostile arguments for ``genesis experiments|runs|models``: no traceback, exit 0, 1 or 2,
and a failure is one line with the code the memory store gives for the same command.

The same data is seeded into a SQLite file and the process's ``memory:`` store; each command runs
on both (``{run}``/``{experiment}`` stand for each store's ids) and SQLite must agree with
``memory:``: the exit code, the error code, and for a listing the names it lists. Hostile URIs and
``--plot`` paths have no reference: they must fail cleanly with a code meant for the caller's input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from genesis_flow.core.entities import Metric, Param, RunTag
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entrypoints import bootstrap
from genesis_flow.entrypoints.cli import app
from genesis_flow.testing.hostile import EXPERIMENT_IDS, RUN_IDS, Hostile
from genesis_flow.testing.tracking_helpers import hypothesis_settings

INPUT_ERROR_CODES = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_ALREADY_EXISTS",
        "INVALID_STATE",
        "BAD_REQUEST",
    }
)
ERROR_LINE = re.compile(r"^genesis: error: ([A-Z_]+): ")
COMMANDS_PER_STORE = 2  # times the profile's examples (ci: 40 commands)
# (URI, the exit codes and error codes it may give): an unreachable server is not the caller's
# mistake, so TEMPORARILY_UNAVAILABLE is right there; "sqlite://" is an in-memory SQLite database.
UNREACHABLE = ("TEMPORARILY_UNAVAILABLE",)
HOSTILE_URIS = (
    "",
    "sqlite://",
    "memory",
    "ftp://host/x",
    "http://mlflow.example.com",
    "sqlite:///{tmp}/no/such/dir/t.db",
    "sqlite:///{tmp}",
    "sqlite:///{tmp}/x\ud800.db",
    "mongodb://user:secret@127.0.0.1:1/db?serverSelectionTimeoutMS=200",
    "mongodb://[::1",
    "postgresql://user:secret@127.0.0.1:1/db?connect_timeout=1",
    "genesis+sqlite:///{tmp}/g.db?x=\x00",
    "x\ud800://y",
)
PLOT_PATHS = ("/no/such/dir/x.png", "{tmp}", "", "{tmp}/x\x00.png", "/proc/version", "{tmp}/ok.png")


def _seed(uri: str) -> tuple[str, list[str]]:
    tracking = bootstrap.build_tracking_store(uri)
    registry = bootstrap.build_registry_store(uri)
    experiment_id = tracking.create_experiment("fz")
    run_ids = []
    for index in range(3):
        run = tracking.create_run(experiment_id, "tester", 1_700_000_000_000 + index, run_name=f"r{index}")
        tracking.log_batch(
            run.info.run_id,
            metrics=[
                Metric("loss", 1.0 / (step + 1 + index), 1_700_000_000_000 + step, step) for step in range(3)
            ],
            params=[Param("p", str(index))],
            tags=[RunTag("t", "x" * index)],
        )
        run_ids.append(run.info.run_id)
    registry.create_registered_model("m1")
    for run_id in run_ids[:2]:
        registry.create_model_version("m1", source="s3://bucket/m", run_id=run_id)
    return experiment_id, run_ids


class Store:
    def __init__(self, label: str, uri: str) -> None:
        self.label, self.uri = label, uri
        self.experiment_id, self.run_ids = _seed(uri)

    def fill(self, args: list[str]) -> list[str]:
        return [
            a.replace("{experiment}", self.experiment_id)
            .replace("{run}", self.run_ids[0])
            .replace("{run2}", self.run_ids[1])
            for a in args
        ]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Store]]:
    """The reference (``memory:``) first, then a SQLite file. The command line's handling is the
    same on every store, and the stores' answers to hostile input are the contract fuzz test's."""
    bootstrap.reset_memory_stores()
    yield [Store("memory", "memory:"), Store("sqlite", f"sqlite:///{tmp_path_factory.mktemp('cli')}/t.db")]
    bootstrap.reset_memory_stores()


def invoke(args: list[str]) -> Result:
    env = {"COLUMNS": "250", "GENESIS_TRACKING_URI": None, "MLFLOW_TRACKING_URI": None}
    return CliRunner().invoke(app(), args, env=env)


def verdict(result: Result, also: tuple[str, ...] = ()) -> tuple[int, str | None]:
    """(exit code, error code or None) after checking the output's form: no traceback, exit 0, 1
    or 2, and a failure is one line naming a code meant for the caller's input (or in ``also``)."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), (result.exit_code, output)
    if result.exit_code != 1:
        return result.exit_code, None
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    match = ERROR_LINE.match(lines[0])
    assert match is not None, lines[0]
    assert match.group(1) in INPUT_ERROR_CODES | set(also), lines[0]
    return 1, match.group(1)


def _listed(result: Result, args: list[str]) -> Any:
    """What a JSON listing listed (run names, model names, version numbers), else None."""
    if result.exit_code != 0 or "--json" not in args or args[1] not in ("list", "versions"):
        return None
    rows = json.loads(result.stdout)
    return [r.get("run_name") or r.get("name") or r.get("version") for r in rows]


def _search(h: Hostile, kind: SearchKind) -> list[str]:
    options: list[str] = []
    if h.chance(0.8):
        options += ["--filter", h.filter(kind)]
    for entry in h.order_by(kind) or []:
        options += ["--order-by", entry]
    if h.chance(0.4):
        options += ["--max-results", str(h.max_results())]
    if h.chance(0.3):
        options += ["--page-token", h.forged_token()]
    return options


def hostile_command(h: Hostile) -> list[str]:
    kind = h.rng.randrange(6)
    if kind == 0:
        view = h.choice(("active", "all", "deleted", "x"))
        return ["experiments", "list", "--json", *_search(h, SearchKind.EXPERIMENTS), "--view", view]
    if kind == 1:
        experiment = h.choice(("{experiment}", "fz")) if h.chance(0.75) else h.choice(EXPERIMENT_IDS)
        return ["runs", "list", "--json", "--experiment", experiment, *_search(h, SearchKind.RUNS)]
    if kind == 2:
        run = "{run}" if h.chance(0.4) else h.choice(RUN_IDS)
        return ["runs", "show", run, *h.choice(((), ("--json",)))]
    if kind == 3:
        ids = [h.choice(("{run}", "{run2}")) if h.chance(0.7) else h.choice(RUN_IDS) for _ in range(2)]
        metric = ["--metric", h.choice(("loss", "nope", h.text()))] if h.chance(0.6) else []
        return ["runs", "compare", *ids, *metric, *h.choice(((), ("--json",), ("--csv",)))]
    if kind == 4:
        return ["models", "list", "--json", *_search(h, SearchKind.REGISTERED_MODELS)]
    return ["models", h.choice(("show", "versions")), h.choice(("m1", h.text())), "--json"]


def commands() -> int:
    return COMMANDS_PER_STORE * hypothesis_settings().max_examples


def test_hostile_arguments_fail_cleanly_and_agree_with_memory(stores: list[Store]) -> None:
    problems: list[str] = []
    for number in range(commands()):
        args = hostile_command(Hostile(f"cli-{number}"))
        answers = {}
        for store in stores:
            full = [*store.fill(args), "--uri", store.uri]
            result = invoke(full)
            try:
                exit_code, code = verdict(result)
            except AssertionError as error:
                problems.append(f"{store.label}: genesis {full!r}\n      -> {str(error)[:400]}")
                continue
            answers[store.label] = (exit_code, code, _listed(result, args))
        reference = answers.get("memory")
        for label, answer in answers.items():
            if reference is not None and answer != reference:
                problems.append(f"{label}: genesis {args!r}\n      -> memory {reference} / {label} {answer}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("uri", HOSTILE_URIS)
def test_hostile_uri_is_one_line_with_an_input_code(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an empty URI means the default database, in the current folder
    result = invoke(["experiments", "list", "--uri", uri.replace("{tmp}", str(tmp_path))])
    exit_code, _ = verdict(result, also=UNREACHABLE if "127.0.0.1:1/" in uri else ())
    assert exit_code in (1, 2) or uri in ("", "sqlite://"), result.output
    assert "secret" not in result.output


@pytest.mark.parametrize("path", PLOT_PATHS)
def test_hostile_plot_path_is_one_line_with_an_input_code(
    path: str, stores: list[Store], tmp_path: Path
) -> None:
    store = stores[1]
    target = path.replace("{tmp}", str(tmp_path))
    args = ["runs", "compare", *store.fill(["{run}", "{run2}"]), "--metric", "loss", "--plot", target]
    exit_code, _ = verdict(invoke([*args, "--uri", store.uri]))
    if path.endswith("ok.png"):
        assert exit_code == 0 and Path(target).stat().st_size > 0
