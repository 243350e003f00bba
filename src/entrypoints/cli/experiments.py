"""``genesis experiments``: list, show, create, rename, delete and restore experiments.

Every command that names an existing experiment takes its id or its name (ids first, as
``runs list --experiment`` does).
"""

from __future__ import annotations

from typing import Any

import click

from genesis_flow.core.entities import Experiment, ViewType
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entrypoints.cli.browse import (
    VIEWS,
    echo_json,
    field_rows,
    iso,
    json_option,
    key_value_rows,
    next_page,
    resolve_experiment,
    search_options,
    tracking,
    view_option,
    wide_option,
)
from genesis_flow.entrypoints.cli.output import emit, format_option, handle_errors, output_format
from genesis_flow.entrypoints.cli.store import uri_option
from genesis_flow.ports import TrackingStore

# ``experiments show`` counts runs by loading one page per lifecycle stage: a store has no
# count operation, and paging through every run of a large experiment to count it is not cheap.
RUN_COUNT_CAP = 100

_COLUMNS = ("experiment_id", "name", "lifecycle_stage", "creation_time", "artifact_location")

ID_OR_NAME = "ID_OR_NAME"


@click.group()
def experiments() -> None:
    """List, show, create and curate experiments."""


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
@uri_option
@search_options
@view_option
@format_option
@wide_option
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
    wide: bool,
) -> None:
    """List experiments.

    Filter keys: name, tags.<key>, creation_time, last_update_time.
    """
    fmt = output_format(as_json, as_csv)
    page = tracking(uri).search_experiments(
        view_type=VIEWS[view],
        max_results=max_results,
        filter=parse_filter(SearchKind.EXPERIMENTS, filter_text),
        order_by=parse_order_by(SearchKind.EXPERIMENTS, list(order_by)),
        page_token=page_token,
    )
    rows = [experiment_row(e) for e in page.items]
    columns = (*_COLUMNS, "last_update_time", "tags") if fmt == "json" else _COLUMNS
    emit(rows, columns, fmt, title="Experiments", wide=wide)
    next_page(page.next_page_token)


@experiments.command("create")
@click.argument("name")
@click.option("--artifact-location", default=None, help="where the experiment's artifacts go")
@uri_option
@handle_errors
def create_experiment(name: str, artifact_location: str | None, uri: str | None) -> None:
    """Create an experiment and print its id."""
    experiment_id = tracking(uri).create_experiment(name, artifact_location=artifact_location)
    click.echo(experiment_id)


def run_counts(store: TrackingStore, experiment_id: str) -> dict[str, int | str]:
    """Active and deleted runs of the experiment, each counted up to :data:`RUN_COUNT_CAP`
    (``"100+"`` beyond it)."""
    counts: dict[str, int | str] = {}
    for stage, view in (("active", ViewType.ACTIVE_ONLY), ("deleted", ViewType.DELETED_ONLY)):
        page = store.search_runs([experiment_id], run_view_type=view, max_results=RUN_COUNT_CAP)
        counts[stage] = f"{RUN_COUNT_CAP}+" if page.next_page_token else len(page.items)
    return counts


@experiments.command("show")
@click.argument("ref", metavar=ID_OR_NAME)
@uri_option
@json_option
@wide_option
@handle_errors
def show_experiment(ref: str, uri: str | None, as_json: bool, wide: bool) -> None:
    """Show an experiment: info, tags, run counts.

    Runs are counted up to 100 per lifecycle stage ("100+" beyond).
    """
    store = tracking(uri)
    experiment = resolve_experiment(store, ref)
    document = experiment_row(experiment)
    document["runs"] = run_counts(store, experiment.experiment_id)
    if as_json:
        echo_json(document)
        return
    info = {k: v for k, v in document.items() if k not in ("tags", "runs")}
    info.update({f"runs ({stage})": count for stage, count in document["runs"].items()})
    emit(field_rows(info), ("field", "value"), "table", title=f"Experiment {experiment.name}", wide=wide)
    if document["tags"]:
        emit(key_value_rows(document["tags"]), ("key", "value"), "table", title="Tags", wide=wide)


@experiments.command("rename")
@click.argument("ref", metavar=ID_OR_NAME)
@click.argument("new_name")
@uri_option
@handle_errors
def rename_experiment(ref: str, new_name: str, uri: str | None) -> None:
    """Rename an experiment."""
    store = tracking(uri)
    experiment = resolve_experiment(store, ref)
    store.rename_experiment(experiment.experiment_id, new_name)
    click.echo(f"experiment {experiment.experiment_id} ('{experiment.name}') renamed to '{new_name}'")


@experiments.command("delete")
@click.argument("ref", metavar=ID_OR_NAME)
@uri_option
@handle_errors
def delete_experiment(ref: str, uri: str | None) -> None:
    """Mark an experiment and its runs deleted.

    `genesis experiments restore` brings them back; `genesis gc` purges deleted runs.
    """
    store = tracking(uri)
    experiment = resolve_experiment(store, ref)
    store.delete_experiment(experiment.experiment_id)
    click.echo(f"experiment {experiment.experiment_id} ('{experiment.name}') deleted")


@experiments.command("restore")
@click.argument("ref", metavar=ID_OR_NAME)
@uri_option
@handle_errors
def restore_experiment(ref: str, uri: str | None) -> None:
    """Restore a deleted experiment and its runs."""
    store = tracking(uri)
    experiment = resolve_experiment(store, ref)
    store.restore_experiment(experiment.experiment_id)
    click.echo(f"experiment {experiment.experiment_id} ('{experiment.name}') restored")
