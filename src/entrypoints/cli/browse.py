"""What ``genesis experiments``, ``genesis runs`` and ``genesis models`` (experiments.py, runs.py,
models.py) share: their options, the store a command uses, the experiment or run a user's words
name, and the metric charts.

Lists take MLflow's ``--filter`` / ``--order-by`` syntax and page with ``--max-results`` /
``--page-token`` (the next page's token is printed on stderr, so ``--json`` stays a list of rows).
Tables cut long values (``--wide`` shows them whole; ``--json`` and ``--csv`` always do).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import click

from genesis_flow.core.entities import Experiment, Metric, ViewType
from genesis_flow.core.errors import (
    ExperimentNotFound,
    InvalidParameterValue,
    ResourceDoesNotExist,
    RunNotFound,
)
from genesis_flow.entrypoints.bootstrap import build_registry_store, build_tracking_store
from genesis_flow.entrypoints.cli.output import fail
from genesis_flow.entrypoints.cli.store import command_uri
from genesis_flow.entrypoints.extras import install_hint
from genesis_flow.ports import RegistryStore, TrackingStore

if TYPE_CHECKING:
    from matplotlib.figure import Figure

F = TypeVar("F", bound=Callable[..., Any])

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
_SPARK = "▁▂▃▄▅▆▇█"
# git's rule for abbreviated ids: shorter prefixes match too much to be worth a lookup.
MIN_RUN_PREFIX = 4
# How many candidates an ambiguous prefix's error lists.
SHOWN_CANDIDATES = 10


# --- options ---------------------------------------------------------------------------------------


def search_options(function: F) -> F:
    """``-f/--filter``, ``-o/--order-by`` (repeatable), ``-n/--max-results``, ``--page-token``."""
    function = click.option("--page-token", default=None, help="token of the page to show")(function)
    function = click.option(
        "-n", "--max-results", type=click.IntRange(min=1), default=None, help="rows per page"
    )(function)
    function = click.option(
        "-o", "--order-by", "order_by", multiple=True, help="'<key> [ASC|DESC]' (repeatable)"
    )(function)
    function = click.option("-f", "--filter", "filter_text", default=None, help="MLflow search filter")(
        function
    )
    return function


def view_option(function: F) -> F:
    return click.option(
        "--view",
        type=click.Choice(tuple(VIEWS)),
        default="active",
        show_default=True,
        help="which lifecycle stages to list",
    )(function)


def wide_option(function: F) -> F:
    return click.option(
        "--wide", is_flag=True, help="show long values whole in tables (JSON and CSV always do)"
    )(function)


def json_option(function: F) -> F:
    """``--json`` for commands that print one document rather than rows (so no ``--csv``)."""
    return click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")(function)


# --- stores and what the user's words name ---------------------------------------------------------


def tracking(uri: str | None) -> TrackingStore:
    return build_tracking_store(command_uri(uri))


def registry(uri: str | None) -> RegistryStore:
    return build_registry_store(command_uri(uri))


def resolve_experiment(store: TrackingStore, id_or_name: str) -> Experiment:
    """The experiment with that id or that name.

    Raises:
        ExperimentNotFound: none has that id or name.
        InvalidParameterValue: one experiment has that id and another that name (an experiment
            named "1" beside experiment 1): guessing would delete or rename the wrong one.
    """
    try:
        by_id: Experiment | None = store.get_experiment(id_or_name)
    except (ResourceDoesNotExist, InvalidParameterValue):
        by_id = None
    by_name = store.get_experiment_by_name(id_or_name)
    if by_id is not None and by_name is not None and by_id.experiment_id != by_name.experiment_id:
        raise InvalidParameterValue(
            f"'{id_or_name}' is ambiguous: it is the id of experiment '{by_id.name}' and the name of"
            f" experiment {by_name.experiment_id}; give '{by_id.name}' or {by_name.experiment_id}"
        )
    experiment = by_id or by_name
    if experiment is None:
        raise ExperimentNotFound(f"No experiment with id or name '{id_or_name}'")
    return experiment


def resolve_run_id(store: TrackingStore, ref: str) -> str:
    """The id of the run ``ref`` names: a full run id as is, else the one run whose id starts
    with ``ref`` (at least :data:`MIN_RUN_PREFIX` characters), deleted runs included.

    Raises:
        RunNotFound: no run id is or starts with ``ref``.
        InvalidParameterValue: ``ref`` is a shorter prefix, or several run ids start with it (the
            message lists up to :data:`SHOWN_CANDIDATES` of them).
    """
    if not ref:
        raise InvalidParameterValue("A run id or a prefix of one is required")
    candidates = store.run_ids_with_prefix(ref, SHOWN_CANDIDATES + 1)
    if ref in candidates:
        return ref
    if len(ref) < MIN_RUN_PREFIX:
        raise InvalidParameterValue(
            f"Run id prefix '{ref}' is too short: give at least {MIN_RUN_PREFIX} characters"
        )
    if not candidates:
        raise RunNotFound(f"No run id starts with '{ref}'")
    if len(candidates) > 1:
        shown = ", ".join(candidates[:SHOWN_CANDIDATES])
        more = ", ..." if len(candidates) > SHOWN_CANDIDATES else ""
        raise InvalidParameterValue(
            f"Run id prefix '{ref}' is ambiguous: runs {shown}{more} start with it; give more characters"
        )
    return candidates[0]


# --- printing --------------------------------------------------------------------------------------


def iso(ms: int | None, timespec: str = "seconds") -> str | None:
    """Milliseconds since the epoch as an ISO-8601 UTC time (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec=timespec)


def next_page(token: str | None) -> None:
    if token:
        click.echo(f"next page token: {token}", err=True)


def field_rows(fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"field": key, "value": value} for key, value in fields.items()]


def key_value_rows(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": value} for key, value in sorted(values.items())]


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


# --- metric histories and charts -------------------------------------------------------------------


def metric_history(store: TrackingStore, run_id: str, key: str) -> list[Metric]:
    """Every point of the metric (all pages), by step then time. Raises RunNotFound."""
    points: list[Metric] = []
    token: str | None = None
    while True:
        page = store.get_metric_history(run_id, key, page_token=token)
        points.extend(page.items)
        token = page.next_page_token
        if not token:
            return sorted(points, key=lambda p: (p.step, p.timestamp))


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


def _points(count: int) -> str:
    return "1 point" if count == 1 else f"{count} points"


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
            f"min {min(values):.6g}  max {max(values):.6g}  last {values[-1]:.6g}  ({_points(len(values))})"
        )
    return "\n".join(lines)


def plot_figure(key: str, histories: Sequence[tuple[str, Sequence[Metric]]]) -> Figure:
    """A line chart of the metric by step, one line per run (needs matplotlib)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
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
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    figure.tight_layout()
    return figure


def write_plot(path: str, key: str, histories: Sequence[tuple[str, Sequence[Metric]]]) -> None:
    """Write :func:`plot_figure` as a PNG to ``path``."""
    figure = plot_figure(key, histories)
    try:
        figure.savefig(path, format="png")
    except OSError as error:  # a missing folder, a directory, no permission: the user's path
        fail(f"cannot write the plot to {path!r}: {error.strerror or error}", "INVALID_PARAMETER_VALUE")


class PlotPath(click.Path):
    """click's writable-file check, which raises a raw ValueError for a path with a NUL in it
    (only a program can pass one): that is bad usage like any other unusable path."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if "\x00" in str(value):
            self.fail(f"{value!r} contains a NUL character", param, ctx)
        return super().convert(value, param, ctx)
