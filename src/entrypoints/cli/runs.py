"""``genesis runs``: list, show, compare, delete and restore runs; list and download their
artifacts; show a metric's history.

RUN is a run id or a unique prefix of one (git's rule: at least 4 characters), as the tables
print them shortened (:func:`genesis_flow.entrypoints.cli.browse.resolve_run_id`).
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Callable, Sequence
from typing import Any

import click

from genesis_flow.core.artifacts import artifact_path
from genesis_flow.core.entities import Metric, Run
from genesis_flow.core.errors import GenesisError, ResourceDoesNotExist
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entrypoints.bootstrap import build_artifact_store
from genesis_flow.entrypoints.cli.browse import (
    VIEWS,
    PlotPath,
    echo_json,
    field_rows,
    iso,
    json_option,
    key_value_rows,
    metric_chart,
    metric_history,
    next_page,
    resolve_experiment,
    resolve_run_id,
    search_options,
    tracking,
    view_option,
    wide_option,
    write_plot,
)
from genesis_flow.entrypoints.cli.output import emit, format_option, handle_errors, output_format, redacted
from genesis_flow.entrypoints.cli.store import uri_option
from genesis_flow.ports import TrackingStore

RUN = "RUN"
# The table of ``runs compare`` marks rows whose values differ with this, so the difference
# shows without colour (a pipe, NO_COLOR, a screen reader).
DIFF_MARK = "*"
_ARTIFACT_COLUMNS = ("path", "is_dir", "file_size")


@click.group()
def runs() -> None:
    """List, show, compare and curate runs."""


def run_row(run: Run) -> dict[str, Any]:
    """A run as one flat row: attributes, then ``params.<key>`` and ``metrics.<key>``."""
    row: dict[str, Any] = {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "run_name": run.info.run_name,
        "status": run.info.status.value,
        "start_time": iso(run.info.start_time),
        "end_time": iso(run.info.end_time),
        "lifecycle_stage": run.info.lifecycle_stage.value,
    }
    row.update({f"params.{p.key}": p.value for p in run.data.params})
    row.update({f"metrics.{m.key}": m.value for m in run.data.metrics})
    return row


@runs.command("list")
@click.option(
    "-e",
    "--experiment",
    "experiment_refs",
    multiple=True,
    required=True,
    metavar="ID_OR_NAME",
    help="experiment id or name (repeatable)",
)
@uri_option
@search_options
@view_option
@format_option
@wide_option
@handle_errors
def list_runs(
    experiment_refs: tuple[str, ...],
    uri: str | None,
    filter_text: str | None,
    order_by: tuple[str, ...],
    max_results: int | None,
    page_token: str | None,
    view: str,
    as_json: bool,
    as_csv: bool,
    wide: bool,
) -> None:
    """List the runs of one or more experiments.

    One row per run with its params and latest metrics.
    """
    fmt = output_format(as_json, as_csv)
    store = tracking(uri)
    experiment_ids = [resolve_experiment(store, ref).experiment_id for ref in experiment_refs]
    page = store.search_runs(
        experiment_ids,
        filter=parse_filter(SearchKind.RUNS, filter_text),
        run_view_type=VIEWS[view],
        max_results=max_results,
        order_by=parse_order_by(SearchKind.RUNS, list(order_by)),
        page_token=page_token,
    )
    param_keys = sorted({f"params.{p.key}" for r in page.items for p in r.data.params})
    metric_keys = sorted({f"metrics.{m.key}" for r in page.items for m in r.data.metrics})
    base = ["run_id", "run_name", "status", "start_time"]
    if len(experiment_ids) > 1:
        base.insert(1, "experiment_id")
    rows = [run_row(r) for r in page.items]
    emit(rows, [*base, *param_keys, *metric_keys], fmt, title="Runs", wide=wide)
    next_page(page.next_page_token)


def artifact_rows(run: Run, path: str | None) -> list[dict[str, Any]]:
    """One level of the run's artifacts below ``path`` (the domain refuses a path outside the
    root)."""
    files = build_artifact_store(run.info.artifact_uri).list_artifacts(path)
    return [{"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size} for f in files]


def run_document(store: TrackingStore, run: Run) -> dict[str, Any]:
    """Everything ``runs show`` prints, as one JSON-ready object. Each metric says how many
    points its history has; ``artifacts`` is the top level of the run's artifacts (None, with
    ``artifacts_error``, when the artifact store cannot be read: the rest is still worth showing)."""
    info = run.info
    lengths = store.metric_history_lengths(info.run_id)
    document: dict[str, Any] = {
        "info": {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "user_id": info.user_id,
            "status": info.status.value,
            "start_time": iso(info.start_time),
            "end_time": iso(info.end_time),
            "lifecycle_stage": info.lifecycle_stage.value,
            "artifact_uri": info.artifact_uri,
        },
        "params": run.data.params_dict,
        "metrics": [
            {
                "key": m.key,
                "value": m.value,
                "step": m.step,
                "timestamp": iso(m.timestamp),
                "history_length": lengths.get(m.key, 0),
            }
            for m in run.data.metrics
        ],
        "tags": run.data.tags_dict,
        "datasets": [
            {
                "name": d.dataset.name,
                "digest": d.dataset.digest,
                "context": d.context,
                "source_type": d.dataset.source_type,
                "source": d.dataset.source,
            }
            for d in run.inputs.dataset_inputs
        ],
        "model_inputs": [m.model_id for m in run.inputs.model_inputs],
        "model_outputs": [m.model_id for m in run.outputs.model_outputs],
    }
    try:
        document["artifacts"] = artifact_rows(run, None)
    except GenesisError as error:
        document["artifacts"] = None
        document["artifacts_error"] = redacted(error.message, [info.artifact_uri])
    return document


@runs.command("show")
@click.argument("ref", metavar=RUN)
@uri_option
@json_option
@wide_option
@handle_errors
def show_run(ref: str, uri: str | None, as_json: bool, wide: bool) -> None:
    """Show a run: info, data and artifacts.

    Params, latest metrics (with the length of each one's history), tags, dataset inputs and
    the top level of the run's artifacts.
    """
    store = tracking(uri)
    document = run_document(store, store.get_run(resolve_run_id(store, ref)))
    if as_json:
        echo_json(document)
        return
    run_id = document["info"]["run_id"]
    emit(field_rows(document["info"]), ("field", "value"), "table", title=f"Run {run_id}", wide=wide)
    if document["params"]:
        emit(key_value_rows(document["params"]), ("key", "value"), "table", title="Params", wide=wide)
    if document["metrics"]:
        columns = ("key", "value", "step", "timestamp", "history_length")
        emit(document["metrics"], columns, "table", title="Metrics (latest)", wide=wide)
    if document["tags"]:
        emit(key_value_rows(document["tags"]), ("key", "value"), "table", title="Tags", wide=wide)
    if document["datasets"]:
        columns = ("name", "digest", "context", "source_type", "source")
        emit(document["datasets"], columns, "table", title="Dataset inputs", wide=wide)
    if document["artifacts"]:
        emit(document["artifacts"], _ARTIFACT_COLUMNS, "table", title="Artifacts (top level)", wide=wide)
    elif document["artifacts"] is None:
        click.echo(f"artifacts: cannot be listed: {document['artifacts_error']}", err=True)


@runs.command("delete")
@click.argument("ref", metavar=RUN)
@uri_option
@handle_errors
def delete_run(ref: str, uri: str | None) -> None:
    """Mark a run deleted (restore undoes it)."""
    store = tracking(uri)
    run_id = resolve_run_id(store, ref)
    store.delete_run(run_id)
    click.echo(f"run {run_id} deleted")


@runs.command("restore")
@click.argument("ref", metavar=RUN)
@uri_option
@handle_errors
def restore_run(ref: str, uri: str | None) -> None:
    """Make a deleted run active again."""
    store = tracking(uri)
    run_id = resolve_run_id(store, ref)
    store.restore_run(run_id)
    click.echo(f"run {run_id} restored")


def run_labels(items: Sequence[Run], short: bool) -> list[str]:
    """One distinct column label per run: run ids, or for a table ``name (id prefix)`` (a prefix
    every command accepts as RUN)."""
    if not short:
        return [r.info.run_id for r in items]
    labels = [f"{r.info.run_name or '-'} ({r.info.run_id[:8]})" for r in items]
    if len(set(labels)) < len(labels):
        return [r.info.run_id for r in items]
    return labels


def comparison_rows(items: Sequence[Run], labels: Sequence[str]) -> list[dict[str, Any]]:
    """One row per ``params.``/``metrics.``/``tags.`` key, one column per run, and ``differs``."""
    sources: list[tuple[str, Callable[[Run], dict[str, Any]]]] = [
        ("params", lambda r: r.data.params_dict),
        ("metrics", lambda r: r.data.metrics_dict),
        ("tags", lambda r: r.data.tags_dict),
    ]
    rows: list[dict[str, Any]] = []
    for prefix, values_of in sources:
        per_run = [values_of(r) for r in items]
        for key in sorted({k for values in per_run for k in values}):
            row: dict[str, Any] = {"key": f"{prefix}.{key}"}
            cells = [values.get(key) for values in per_run]
            row.update(zip(labels, cells, strict=True))
            row["differs"] = len({_comparable(c) for c in cells}) > 1
            row["diff"] = DIFF_MARK if row["differs"] else ""
            rows.append(row)
    return rows


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def point_row(point: Metric, fmt: str) -> dict[str, Any]:
    """One metric point; a table shows its time, JSON and CSV its milliseconds."""
    timestamp = iso(point.timestamp, "milliseconds") if fmt == "table" else point.timestamp
    return {"step": point.step, "value": point.value, "timestamp": timestamp}


@runs.command("compare")
@click.argument("refs", nargs=-1, required=True, metavar="RUN...")
@click.option("--metric", default=None, metavar="KEY", help="show this metric's history across the runs")
@click.option(
    "--plot",
    type=PlotPath(dir_okay=False, writable=True),
    default=None,
    metavar="OUT.png",
    help="with --metric: write the history chart as a PNG (needs matplotlib)",
)
@uri_option
@format_option
@wide_option
@handle_errors
def compare_runs(
    refs: tuple[str, ...],
    metric: str | None,
    plot: str | None,
    uri: str | None,
    as_json: bool,
    as_csv: bool,
    wide: bool,
) -> None:
    """Compare runs side by side.

    Params, latest metrics and tags, one column per run; rows whose values differ are marked
    with '*' in the diff column (and highlighted). With --metric, the metric's history per run
    instead.
    """
    fmt = output_format(as_json, as_csv)
    if plot is not None and metric is None:
        raise click.UsageError("--plot needs --metric KEY")
    store = tracking(uri)
    items = [store.get_run(resolve_run_id(store, ref)) for ref in refs]
    if metric is None:
        labels = run_labels(items, short=fmt == "table")
        rows = comparison_rows(items, labels)
        columns = ["diff", "key", *labels] if fmt == "table" else ["key", *labels, "differs"]
        emit(
            rows,
            columns,
            fmt,
            title="Run comparison",
            highlight=lambda _column, row: bool(row["differs"]),
            wide=wide,
        )
        return
    histories = [
        (label, metric_history(store, r.info.run_id, metric))
        for label, r in zip(run_labels(items, True), items, strict=True)
    ]
    if plot is not None:
        write_plot(plot, metric, histories)
        click.echo(f"wrote {plot}", err=fmt != "table")
    if fmt == "table":
        click.echo(metric_chart(metric, histories))
        return
    rows = [
        {"run_id": r.info.run_id, "run_name": r.info.run_name, **point_row(p, fmt)}
        for r, (_label, points) in zip(items, histories, strict=True)
        for p in points
    ]
    emit(rows, ("run_id", "run_name", "step", "timestamp", "value"), fmt)


@runs.command("history")
@click.argument("ref", metavar=RUN)
@click.argument("key")
@uri_option
@format_option
@handle_errors
def metric_history_command(ref: str, key: str, uri: str | None, as_json: bool, as_csv: bool) -> None:
    """Show every point of a run's metric.

    A table of step, value and time, ordered by step, under a sparkline of the values.
    """
    fmt = output_format(as_json, as_csv)
    store = tracking(uri)
    run_id = resolve_run_id(store, ref)
    points = metric_history(store, run_id, key)
    if not points:
        logged = sorted(store.get_run(run_id).data.metrics_dict)
        raise ResourceDoesNotExist(
            f"Run '{run_id}' has no metric '{key}' (its metrics: {', '.join(logged) or 'none'})"
        )
    emit([point_row(p, fmt) for p in points], ("step", "value", "timestamp"), fmt, title=key)
    if fmt == "table":
        click.echo(metric_chart(key, [(run_id[:8], points)]))


@runs.command("artifacts")
@click.argument("ref", metavar=RUN)
@click.argument("path", required=False, default=None)
@uri_option
@format_option
@wide_option
@handle_errors
def list_artifacts(
    ref: str, path: str | None, uri: str | None, as_json: bool, as_csv: bool, wide: bool
) -> None:
    """List a run's artifact files and folders.

    One level below PATH (default: the top), with file sizes in bytes.
    """
    fmt = output_format(as_json, as_csv)
    store = tracking(uri)
    run = store.get_run(resolve_run_id(store, ref))
    rows = artifact_rows(run, path)
    emit(rows, _ARTIFACT_COLUMNS, fmt, title=f"Artifacts ({path or 'top level'})", wide=wide)


@runs.command("download")
@click.argument("ref", metavar=RUN)
@click.argument("path", required=False, default="")
@click.option(
    "-d",
    "--dest",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="local folder to download into",
)
@uri_option
@handle_errors
def download_artifacts(ref: str, path: str, dest: str, uri: str | None) -> None:
    """Download a run's artifacts.

    PATH (a file or folder) lands in DEST under its own name, as `mlflow artifacts download`
    places it; without PATH, the whole run lands in DEST/<run id>. Prints the absolute path of
    what it wrote.
    """
    store = tracking(uri)
    run = store.get_run(resolve_run_id(store, ref))
    source = artifact_path(path)
    if not source:
        # A folder of its own: the run's files never mix with (or overwrite) what DEST holds.
        dest = os.path.join(dest, run.info.run_id)
    artifacts = build_artifact_store(run.info.artifact_uri)
    local = artifacts.download_artifacts(source, dest, relative_to=posixpath.dirname(source))
    click.echo(f"downloaded to {os.path.abspath(local)}")
