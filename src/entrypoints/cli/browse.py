"""``genesis experiments``, ``genesis runs`` and ``genesis models``: browse, compare and curate
tracking and registry data on any store a URI names.

Lists take MLflow's ``--filter`` / ``--order-by`` syntax and page with ``--max-results`` /
``--page-token`` (the next page's token is printed on stderr, so ``--json`` stays a list of rows).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

import click

from genesis_flow.core.entities import Experiment, Metric, Run, ViewType
from genesis_flow.core.errors import ExperimentNotFound, InvalidParameterValue, ResourceDoesNotExist
from genesis_flow.core.registry import ModelVersion, RegisteredModel
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import Comparator, Comparison, Filter, KeyType, SearchKind
from genesis_flow.entrypoints.bootstrap import (
    build_registry_store,
    build_tracking_store,
    resolve_tracking_uri,
)
from genesis_flow.entrypoints.cli.output import emit, fail, format_option, handle_errors, output_format
from genesis_flow.entrypoints.extras import install_hint
from genesis_flow.ports import RegistryStore, TrackingStore

F = TypeVar("F", bound=Callable[..., Any])

_VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
_SPARK = "▁▂▃▄▅▆▇█"


# --- shared options and helpers ------------------------------------------------------------------


def _uri_option(function: F) -> F:
    return click.option(
        "--uri",
        default=None,
        metavar="URI",
        help="tracking URI (default: GENESIS_TRACKING_URI, MLFLOW_TRACKING_URI, else sqlite:///genesis.db)",
    )(function)


def _search_options(function: F) -> F:
    """``--filter``, ``--order-by`` (repeatable), ``--max-results``, ``--page-token``."""
    function = click.option("--page-token", default=None, help="token of the page to show")(function)
    function = click.option("--max-results", type=click.IntRange(min=1), default=None, help="rows per page")(
        function
    )
    function = click.option("--order-by", "order_by", multiple=True, help="'<key> [ASC|DESC]' (repeatable)")(
        function
    )
    function = click.option("--filter", "filter_text", default=None, help="MLflow search filter")(function)
    return function


def _view_option(function: F) -> F:
    return click.option(
        "--view",
        type=click.Choice(tuple(_VIEWS)),
        default="active",
        show_default=True,
        help="which lifecycle stages to list",
    )(function)


def _tracking(uri: str | None) -> TrackingStore:
    return build_tracking_store(resolve_tracking_uri(uri))


def _registry(uri: str | None) -> RegistryStore:
    return build_registry_store(resolve_tracking_uri(uri))


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as an ISO-8601 UTC time (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def _next_page(token: str | None) -> None:
    if token:
        click.echo(f"next page token: {token}", err=True)


def _field_rows(fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"field": key, "value": value} for key, value in fields.items()]


def _key_value_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": value} for key, value in sorted(values.items())]


def _echo_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, indent=2, default=str))


def resolve_experiment(store: TrackingStore, id_or_name: str) -> Experiment:
    """The experiment with that id, else the one with that name; ExperimentNotFound otherwise."""
    try:
        return store.get_experiment(id_or_name)
    except (ResourceDoesNotExist, InvalidParameterValue):
        pass
    experiment = store.get_experiment_by_name(id_or_name)
    if experiment is None:
        raise ExperimentNotFound(f"No experiment with id or name '{id_or_name}'")
    return experiment


# --- experiments -----------------------------------------------------------------------------------


@click.group()
def experiments() -> None:
    """List, create, rename, delete and restore experiments."""


_EXPERIMENT_COLUMNS = ("experiment_id", "name", "lifecycle_stage", "creation_time", "artifact_location")


def experiment_row(experiment: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "lifecycle_stage": experiment.lifecycle_stage.value,
        "creation_time": iso(experiment.creation_time),
        "last_update_time": iso(experiment.last_update_time),
        "artifact_location": experiment.artifact_location,
        "tags": experiment.tags_dict,
    }


@experiments.command("list")
@_uri_option
@_search_options
@_view_option
@format_option
@handle_errors
def list_experiments(
    uri: str | None,
    filter_text: str | None,
    order_by: tuple[str, ...],
    max_results: int | None,
    page_token: str | None,
    view: str,
    as_json: bool,
    as_csv: bool,
) -> None:
    """List experiments (filter keys: name, tags.*, creation_time, last_update_time)."""
    fmt = output_format(as_json, as_csv)
    page = _tracking(uri).search_experiments(
        view_type=_VIEWS[view],
        max_results=max_results,
        filter=parse_filter(SearchKind.EXPERIMENTS, filter_text),
        order_by=parse_order_by(SearchKind.EXPERIMENTS, list(order_by)),
        page_token=page_token,
    )
    rows = [experiment_row(e) for e in page.items]
    columns = (*_EXPERIMENT_COLUMNS, "last_update_time", "tags") if fmt == "json" else _EXPERIMENT_COLUMNS
    emit(rows, columns, fmt, title="Experiments")
    _next_page(page.next_page_token)


@experiments.command("create")
@click.argument("name")
@click.option("--artifact-location", default=None, help="where the experiment's artifacts go")
@_uri_option
@handle_errors
def create_experiment(name: str, artifact_location: str | None, uri: str | None) -> None:
    """Create an experiment and print its id."""
    experiment_id = _tracking(uri).create_experiment(name, artifact_location=artifact_location)
    click.echo(experiment_id)


@experiments.command("rename")
@click.argument("experiment_id", metavar="ID")
@click.argument("new_name")
@_uri_option
@handle_errors
def rename_experiment(experiment_id: str, new_name: str, uri: str | None) -> None:
    """Rename the experiment with id ID."""
    _tracking(uri).rename_experiment(experiment_id, new_name)
    click.echo(f"experiment {experiment_id} renamed to '{new_name}'")


@experiments.command("delete")
@click.argument("experiment_id", metavar="ID")
@_uri_option
@handle_errors
def delete_experiment(experiment_id: str, uri: str | None) -> None:
    """Mark the experiment and its runs deleted (restore brings them back)."""
    _tracking(uri).delete_experiment(experiment_id)
    click.echo(f"experiment {experiment_id} deleted")


@experiments.command("restore")
@click.argument("experiment_id", metavar="ID")
@_uri_option
@handle_errors
def restore_experiment(experiment_id: str, uri: str | None) -> None:
    """Make a deleted experiment and its runs active again."""
    _tracking(uri).restore_experiment(experiment_id)
    click.echo(f"experiment {experiment_id} restored")


# --- runs ------------------------------------------------------------------------------------------


@click.group()
def runs() -> None:
    """List, show, compare, delete and restore runs."""


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
    "--experiment",
    "experiment_refs",
    multiple=True,
    required=True,
    metavar="ID_OR_NAME",
    help="experiment id or name (repeatable)",
)
@_uri_option
@_search_options
@_view_option
@format_option
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
) -> None:
    """List the runs of one or more experiments with their params and latest metrics."""
    fmt = output_format(as_json, as_csv)
    store = _tracking(uri)
    experiment_ids = [resolve_experiment(store, ref).experiment_id for ref in experiment_refs]
    page = store.search_runs(
        experiment_ids,
        filter=parse_filter(SearchKind.RUNS, filter_text),
        run_view_type=_VIEWS[view],
        max_results=max_results,
        order_by=parse_order_by(SearchKind.RUNS, list(order_by)),
        page_token=page_token,
    )
    param_keys = sorted({f"params.{p.key}" for r in page.items for p in r.data.params})
    metric_keys = sorted({f"metrics.{m.key}" for r in page.items for m in r.data.metrics})
    base = ["run_id", "run_name", "status", "start_time"]
    if len(experiment_ids) > 1:
        base.insert(1, "experiment_id")
    emit([run_row(r) for r in page.items], [*base, *param_keys, *metric_keys], fmt, title="Runs")
    _next_page(page.next_page_token)


def run_document(run: Run) -> dict[str, Any]:
    """Everything ``runs show`` prints, as one JSON-ready object."""
    info = run.info
    return {
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
            {"key": m.key, "value": m.value, "step": m.step, "timestamp": iso(m.timestamp)}
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


@runs.command("show")
@click.argument("run_id")
@_uri_option
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@handle_errors
def show_run(run_id: str, uri: str | None, as_json: bool) -> None:
    """Show a run: info, params, latest metrics, tags and dataset inputs."""
    document = run_document(_tracking(uri).get_run(run_id))
    if as_json:
        _echo_json(document)
        return
    emit(_field_rows(document["info"]), ("field", "value"), "table", title=f"Run {run_id}")
    if document["params"]:
        emit(_key_value_rows(document["params"]), ("key", "value"), "table", title="Params")
    if document["metrics"]:
        emit(document["metrics"], ("key", "value", "step", "timestamp"), "table", title="Metrics (latest)")
    if document["tags"]:
        emit(_key_value_rows(document["tags"]), ("key", "value"), "table", title="Tags")
    if document["datasets"]:
        columns = ("name", "digest", "context", "source_type", "source")
        emit(document["datasets"], columns, "table", title="Dataset inputs")


@runs.command("delete")
@click.argument("run_id")
@_uri_option
@handle_errors
def delete_run(run_id: str, uri: str | None) -> None:
    """Mark a run deleted (restore brings it back)."""
    _tracking(uri).delete_run(run_id)
    click.echo(f"run {run_id} deleted")


@runs.command("restore")
@click.argument("run_id")
@_uri_option
@handle_errors
def restore_run(run_id: str, uri: str | None) -> None:
    """Make a deleted run active again."""
    _tracking(uri).restore_run(run_id)
    click.echo(f"run {run_id} restored")


def run_labels(items: Sequence[Run], short: bool) -> list[str]:
    """One distinct column label per run: run ids, or for a table ``name (id prefix)``."""
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
            rows.append(row)
    return rows


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def sparkline(values: Sequence[float]) -> str:
    """Values as a line of block characters scaled between their min and max (blank for NaN)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return " " * len(values)
    low, high = min(finite), max(finite)
    span = high - low
    chars = []
    for value in values:
        if not math.isfinite(value):
            chars.append(" ")
        elif span == 0:
            chars.append(_SPARK[len(_SPARK) // 2])
        else:
            chars.append(_SPARK[round((value - low) / span * (len(_SPARK) - 1))])
    return "".join(chars)


def _resample(values: Sequence[float], width: int) -> list[float]:
    if len(values) <= width:
        return list(values)
    return [values[int(i * len(values) / width)] for i in range(width)]


def metric_chart(key: str, histories: Sequence[tuple[str, Sequence[Metric]]], width: int = 60) -> str:
    """A plain-text chart: per run, a sparkline of the metric by step with min, max and last."""
    lines = [f"{key} by step (each line scaled to its own min..max)"]
    label_width = max((len(label) for label, _ in histories), default=0)
    for label, points in histories:
        values = [p.value for p in points]
        if not values:
            lines.append(f"{label.ljust(label_width)}  (no points)")
            continue
        lines.append(
            f"{label.ljust(label_width)}  {sparkline(_resample(values, width))}  "
            f"min {min(values):.6g}  max {max(values):.6g}  last {values[-1]:.6g}  ({len(values)} points)"
        )
    return "\n".join(lines)


def _history(store: TrackingStore, run_id: str, key: str) -> list[Metric]:
    points = store.get_metric_history(run_id, key).items
    return sorted(points, key=lambda p: (p.step, p.timestamp))


def write_plot(path: str, key: str, histories: Sequence[tuple[str, Sequence[Metric]]]) -> None:
    """Write a PNG line chart of the metric by step, one line per run (needs matplotlib)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        fail(f"--plot needs matplotlib: {install_hint('plot')}", "INVALID_PARAMETER_VALUE")
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    for label, points in histories:
        axes.plot([p.step for p in points], [p.value for p in points], marker=".", label=label)
    axes.set_xlabel("step")
    axes.set_ylabel(key)
    axes.set_title(key)
    axes.legend()
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as error:  # a missing folder, a directory, no permission: the user's path
        fail(f"cannot write the plot to {path!r}: {error.strerror or error}", "INVALID_PARAMETER_VALUE")


class _PlotPath(click.Path):
    """click's writable-file check, which raises a raw ValueError for a path with a NUL in it
    (only a program can pass one): that is bad usage like any other unusable path."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if "\x00" in str(value):
            self.fail(f"{value!r} contains a NUL character", param, ctx)
        return super().convert(value, param, ctx)


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--metric", default=None, metavar="KEY", help="show this metric's history across the runs")
@click.option(
    "--plot",
    type=_PlotPath(dir_okay=False, writable=True),
    default=None,
    metavar="OUT.png",
    help="with --metric: write the history chart as a PNG (needs matplotlib)",
)
@_uri_option
@format_option
@handle_errors
def compare_runs(
    run_ids: tuple[str, ...],
    metric: str | None,
    plot: str | None,
    uri: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Compare runs side by side: params, latest metrics and tags, one column per run, rows that
    differ highlighted. With --metric, the metric's history per run instead."""
    fmt = output_format(as_json, as_csv)
    if plot is not None and metric is None:
        raise click.UsageError("--plot needs --metric KEY")
    store = _tracking(uri)
    items = [store.get_run(run_id) for run_id in run_ids]
    if metric is None:
        labels = run_labels(items, short=fmt == "table")
        rows = comparison_rows(items, labels)
        columns = ["key", *labels] if fmt == "table" else ["key", *labels, "differs"]
        emit(rows, columns, fmt, title="Run comparison", highlight=lambda _column, row: bool(row["differs"]))
        return
    histories = [
        (label, _history(store, r.info.run_id, metric))
        for label, r in zip(run_labels(items, True), items, strict=True)
    ]
    if plot is not None:
        write_plot(plot, metric, histories)
        click.echo(f"wrote {plot}", err=fmt != "table")
    if fmt == "table":
        click.echo(metric_chart(metric, histories))
        return
    rows = [
        {
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "step": p.step,
            "timestamp": p.timestamp,
            "value": p.value,
        }
        for r, (_label, points) in zip(items, histories, strict=True)
        for p in points
    ]
    emit(rows, ("run_id", "run_name", "step", "timestamp", "value"), fmt)


# --- models ----------------------------------------------------------------------------------------


@click.group()
def models() -> None:
    """Browse registered models; move versions between stages; set and delete aliases."""


def _aliases_text(aliases: dict[str, int]) -> str:
    return ", ".join(f"{alias}=v{version}" for alias, version in sorted(aliases.items()))


def model_row(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "latest_version": max((v.version for v in model.latest_versions), default=None),
        "aliases": _aliases_text(model.aliases_dict),
        "creation_time": iso(model.creation_timestamp),
        "last_updated_time": iso(model.last_updated_timestamp),
        "description": model.description,
    }


def version_row(version: ModelVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "stage": version.current_stage.value,
        "status": version.status.value,
        "run_id": version.run_id,
        "source": version.source,
        "aliases": ", ".join(version.aliases),
        "creation_time": iso(version.creation_timestamp),
        "description": version.description,
    }


_VERSION_COLUMNS = ("version", "stage", "status", "run_id", "source", "aliases", "creation_time")


@models.command("list")
@_uri_option
@_search_options
@format_option
@handle_errors
def list_models(
    uri: str | None,
    filter_text: str | None,
    order_by: tuple[str, ...],
    max_results: int | None,
    page_token: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """List registered models (filter keys: name, tags.*)."""
    fmt = output_format(as_json, as_csv)
    page = _registry(uri).search_registered_models(
        filter=parse_filter(SearchKind.REGISTERED_MODELS, filter_text),
        max_results=max_results,
        order_by=parse_order_by(SearchKind.REGISTERED_MODELS, list(order_by)),
        page_token=page_token,
    )
    columns = ("name", "latest_version", "aliases", "last_updated_time", "description")
    emit([model_row(m) for m in page.items], columns, fmt, title="Registered models")
    _next_page(page.next_page_token)


@models.command("show")
@click.argument("name")
@_uri_option
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@handle_errors
def show_model(name: str, uri: str | None, as_json: bool) -> None:
    """Show a registered model: description, tags, aliases and latest version per stage."""
    model = _registry(uri).get_registered_model(name)
    latest = [version_row(v) for v in model.latest_versions]
    document: dict[str, Any] = {
        "name": model.name,
        "description": model.description,
        "creation_time": iso(model.creation_timestamp),
        "last_updated_time": iso(model.last_updated_timestamp),
        "tags": model.tags_dict,
        "aliases": model.aliases_dict,
        "latest_versions": latest,
    }
    if as_json:
        _echo_json(document)
        return
    info = {k: document[k] for k in ("name", "description", "creation_time", "last_updated_time")}
    emit(_field_rows(info), ("field", "value"), "table", title=f"Registered model {name}")
    if model.tags:
        emit(_key_value_rows(model.tags_dict), ("key", "value"), "table", title="Tags")
    if model.aliases:
        rows = [{"alias": a.alias, "version": a.version} for a in model.aliases]
        emit(rows, ("alias", "version"), "table", title="Aliases")
    if model.latest_versions:
        emit(latest, _VERSION_COLUMNS, "table", title="Latest versions")


def all_versions(store: RegistryStore, name: str) -> list[ModelVersion]:
    """Every live version of the model, by version number. Raises RegisteredModelNotFound."""
    store.get_registered_model(name)
    by_name = Filter((Comparison(KeyType.ATTRIBUTE, "name", Comparator.EQ, name),))
    found: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = store.search_model_versions(filter=by_name, page_token=token)
        found.extend(page.items)
        token = page.next_page_token
        if not token:
            return sorted(found, key=lambda v: v.version)


@models.command("versions")
@click.argument("name")
@_uri_option
@format_option
@handle_errors
def list_versions(name: str, uri: str | None, as_json: bool, as_csv: bool) -> None:
    """List every version of a registered model."""
    fmt = output_format(as_json, as_csv)
    rows = [version_row(v) for v in all_versions(_registry(uri), name)]
    columns = (*_VERSION_COLUMNS, "description") if fmt == "json" else _VERSION_COLUMNS
    emit(rows, columns, fmt, title=f"Versions of {name}")


@models.command("transition")
@click.argument("name")
@click.argument("version", type=int)
@click.argument("stage")
@click.option("--archive-existing", is_flag=True, help="move the other versions in STAGE to Archived")
@_uri_option
@handle_errors
def transition_version(name: str, version: int, stage: str, archive_existing: bool, uri: str | None) -> None:
    """Move version VERSION of model NAME to STAGE (None, Staging, Production, Archived)."""
    moved = _registry(uri).transition_model_version_stage(
        name, version, stage, archive_existing_versions=archive_existing
    )
    click.echo(f"{name} version {moved.version} is now in stage {moved.current_stage.value}")


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int, required=False)
@click.option("--delete", is_flag=True, help="delete the alias instead of setting it")
@_uri_option
@handle_errors
def alias_version(name: str, alias: str, version: int | None, delete: bool, uri: str | None) -> None:
    """Point ALIAS of model NAME at VERSION, or delete it with --delete."""
    if delete and version is not None:
        raise click.UsageError("give either VERSION or --delete, not both")
    if not delete and version is None:
        raise click.UsageError("missing VERSION (or --delete)")
    store = _registry(uri)
    if delete:
        store.delete_registered_model_alias(name, alias)
        click.echo(f"alias '{alias}' of {name} deleted")
        return
    assert version is not None
    store.set_registered_model_alias(name, alias, version)
    click.echo(f"alias '{alias}' of {name} -> version {version}")
