"""``genesis migrate --from URI --to URI``: copy tracking and registry data between stores, then
verify (the logic is in :mod:`genesis_flow.entrypoints.migration`)."""

from __future__ import annotations

import sys
from types import TracebackType

import click

from genesis_flow.entrypoints.cli.output import fail, handle_errors, redacted
from genesis_flow.entrypoints.cli.store import command_uri
from genesis_flow.entrypoints.migration import KINDS, MigrationReport
from genesis_flow.entrypoints.migration import migrate as run_migration


def rate_text(speed: float | None) -> str:
    """The throughput column: blank until there is a rate to show (never a made-up 0.0/s)."""
    return f"{speed:.1f}/s" if speed else ""


class RichProgress:
    """A Rich progress bar per entity kind on stderr (count and, unless ``rates`` is false,
    throughput); silent when stderr is not a terminal."""

    def __init__(self, *, rates: bool = True) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            Task,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task: Task) -> Text:
                return Text(rate_text(task.finished_speed or task.speed))

        console = Console(stderr=True)
        rate: tuple[ProgressColumn, ...] = (RateColumn(), TimeElapsedColumn()) if rates else ()
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            *rate,
            console=console,
            disable=not sys.stderr.isatty(),
        )
        self._tasks: dict[str, object] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def start(self, kind: str, total: int) -> None:
        self._tasks[kind] = self._progress.add_task(kind, total=total)

    def advance(self, kind: str) -> None:
        task = self._tasks.get(kind)
        if task is not None:
            self._progress.advance(task)  # type: ignore[arg-type]


@click.command()
@click.option(
    "--from",
    "source",
    required=True,
    metavar="URI",
    help="source store: ours, MLflow's database (./mlflow.db) or mlruns folder",
)
@click.option(
    "--to",
    "destination",
    default=None,
    metavar="URI",
    help="destination store (default: the store other commands use, e.g. sqlite:///genesis.db)",
)
@click.option(
    "--artifacts",
    is_flag=True,
    help="also copy each run's artifact files, check them, and point the runs at the copies",
)
@click.option(
    "--artifact-root",
    default=None,
    metavar="URI",
    help="where --artifacts puts the copies (default: the destination's, ./genesis-artifacts)",
)
@click.option("--dry-run", is_flag=True, help="count what would be copied; write nothing")
@handle_errors
def migrate(
    source: str, destination: str | None, artifacts: bool, artifact_root: str | None, dry_run: bool
) -> None:
    """Copy a store (ours or MLflow's) into a Genesis-Flow store.

    Experiments, runs (full metric history, datasets), registered models and versions are
    copied keeping ids, times and version numbers, then both sides are verified.

    The source may be any Genesis-Flow store (memory:, sqlite:///, postgresql://, mongodb://), an
    MLflow mlruns directory (file:///path/mlruns or a path) or a database MLflow created
    (reading MLflow's stores needs MLflow: the [mlflow] extra). Interrupted migrations
    can be restarted: what is already in the destination is skipped, never duplicated.
    """
    with RichProgress(rates=not dry_run) as progress:
        report = run_migration(
            source,
            destination or command_uri(None, mlflow_note=False),
            artifacts=artifacts,
            dry_run=dry_run,
            artifact_root=artifact_root,
            progress=progress,
        )
    click.echo(format_report(report))
    if report.mismatch is not None:
        fail(f"verification failed: first difference at {report.mismatch}", "INVALID_STATE")


def format_report(report: MigrationReport) -> str:
    """The summary: per kind, source and destination counts (a dry run's destination as it is
    now), copied and skipped; where the runs' artifact files are."""
    action = "would copy" if report.dry_run else "copied"
    lines = [
        redacted(f"{'dry run' if report.dry_run else 'migrated'}: {report.source} -> {report.destination}")
    ]
    header = f"{'kind':<12} {'source':>8} {'destination':>12} {action:>11} {'skipped':>8}"
    lines.append(header)
    for kind in KINDS:
        lines.append(
            f"{kind:<12} {report.source_counts[kind]:>8} {report.destination_counts[kind]:>12}"
            f" {report.copied[kind]:>11} {report.skipped[kind]:>8}"
        )
    if report.artifact_root is None:
        lines.append("artifacts: not copied; the runs point at the source's artifact files (see --artifacts)")
    elif report.dry_run:
        lines.append(f"artifacts: would be copied under {redacted(report.artifact_root)}")
    else:
        lines.append(
            f"artifacts: {report.artifacts_copied} file(s) copied and checked under"
            f" {redacted(report.artifact_root)}; the copied runs point there"
        )
    if not report.dry_run:
        if report.mismatch is None:
            lines.append(f"verification: OK ({report.runs_verified} run checksums match)")
        else:
            lines.append(f"verification: FAILED at {report.mismatch}")
    return "\n".join(lines)
