"""``genesis migrate --from URI --to URI``: copy tracking and registry data between stores, then
verify (the logic is in :mod:`genesis_flow.entrypoints.migration`)."""

from __future__ import annotations

import sys
from types import TracebackType

import click

from genesis_flow.entrypoints.cli.output import fail, handle_errors, redacted
from genesis_flow.entrypoints.migration import KINDS, MigrationReport
from genesis_flow.entrypoints.migration import migrate as run_migration


class RichProgress:
    """A Rich progress bar per entity kind on stderr (count and throughput); silent when stderr
    is not a terminal."""

    def __init__(self) -> None:
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
                speed = task.finished_speed or task.speed
                return Text(f"{speed or 0:.1f}/s")

        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
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
@click.option("--from", "source", required=True, metavar="URI", help="source store (ours, or MLflow's)")
@click.option("--to", "destination", required=True, metavar="URI", help="destination store (ours)")
@click.option("--artifacts", is_flag=True, help="also copy each run's artifact files")
@click.option(
    "--artifact-root",
    default=None,
    metavar="URI",
    help="put the destination's artifact locations under this root (default: keep them)",
)
@click.option("--dry-run", is_flag=True, help="count what would be copied; write nothing")
@handle_errors
def migrate(source: str, destination: str, artifacts: bool, artifact_root: str | None, dry_run: bool) -> None:
    """Copy experiments, runs (full metric history, datasets), registered models and versions
    from one store to another, keeping ids, times and version numbers, then verify both sides.

    The source may be any Genesis-Flow store (memory:, sqlite:///, postgresql://, mongodb://), an
    MLflow mlruns directory (file:///path/mlruns or a path) or a database MLflow created
    (reading MLflow's stores needs MLflow: the [mlflow] extra). Interrupted migrations
    can be restarted: what is already in the destination is skipped, never duplicated.
    """
    with RichProgress() as progress:
        report = run_migration(
            source,
            destination,
            artifacts=artifacts,
            dry_run=dry_run,
            artifact_root=artifact_root,
            progress=progress,
        )
    click.echo(format_report(report))
    if report.mismatch is not None:
        fail(f"verification failed: first difference at {report.mismatch}", "INVALID_STATE")


def format_report(report: MigrationReport) -> str:
    """The summary: per kind, source and destination counts, copied and skipped."""
    action = "would copy" if report.dry_run else "copied"
    lines = [
        redacted(f"{'dry run' if report.dry_run else 'migrated'}: {report.source} -> {report.destination}")
    ]
    header = f"{'kind':<12} {'source':>8} {'destination':>12} {action:>11} {'skipped':>8}"
    lines.append(header)
    for kind in KINDS:
        source_count = "-" if report.dry_run else str(report.source_counts[kind])
        destination_count = "-" if report.dry_run else str(report.destination_counts[kind])
        lines.append(
            f"{kind:<12} {source_count:>8} {destination_count:>12}"
            f" {report.copied[kind]:>11} {report.skipped[kind]:>8}"
        )
    if report.artifacts_copied:
        lines.append(f"artifact files copied: {report.artifacts_copied}")
    if not report.dry_run:
        if report.mismatch is None:
            lines.append(f"verification: OK ({report.runs_verified} run checksums match)")
        else:
            lines.append(f"verification: FAILED at {report.mismatch}")
    return "\n".join(lines)
