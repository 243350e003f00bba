"""What every ``genesis`` command shares: output formats, one-line errors, exit codes, redaction.

* ``--json`` / ``--csv`` print machine-readable rows on stdout; the default is a Rich table.
* Errors are one line on stderr, ``genesis: error: <CODE>: <message>``, with exit code 1 for a
  failed operation (bad id, unreachable server, refused input) and 2 for bad usage (Click's own).
* Nothing printed may contain a password or key: URIs go through :func:`redacted`, and every
  error message is redacted before it is printed.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from genesis_flow.core.errors import GenesisError
from genesis_flow.core.redaction import hidden_values, redact_text

FORMATS = ("table", "json", "csv")
P = ParamSpec("P")
R = TypeVar("R")


# Where a command's URIs come from when not given as an option (see bootstrap's resolution order).
_URI_VARIABLES = (
    "GENESIS_TRACKING_URI",
    "MLFLOW_TRACKING_URI",
    "GENESIS_REGISTRY_URI",
    "MLFLOW_REGISTRY_URI",
    "AZURE_STORAGE_CONNECTION_STRING",
)


def redacted(text: str, uris: Iterable[str | None] = ()) -> str:
    """``text`` (a whole message may be passed) with the secrets of any URI or connection string
    in it removed, and whatever the redaction of ``uris`` hides, should the text quote it bare."""
    hidden = sorted({value for uri in uris if uri for value in hidden_values(uri)}, key=len, reverse=True)
    return redact_text(text, hidden)


def fail(
    message: str,
    code: str = "INVALID_PARAMETER_VALUE",
    exit_code: int = 1,
    uris: Iterable[str | None] = (),
) -> NoReturn:
    """Print ``message`` as the one error line and exit. ``uris``: the URIs the command used
    (the environment's are added), whose hidden values must not show even where the message
    quotes them without their URI (a driver's message that slipped past an adapter)."""
    line = redacted(message, [*uris, *(os.environ.get(name) for name in _URI_VARIABLES)])
    click.echo(f"genesis: error: {code}: {line}".replace("\n", " "), err=True)
    raise SystemExit(exit_code)


def handle_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Domain errors (and driver errors that escaped an adapter) become one line and exit 1."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        uris = [value for name, value in kwargs.items() if _names_a_uri(name) and isinstance(value, str)]
        try:
            return function(*args, **kwargs)
        except GenesisError as error:
            fail(error.message, error.error_code, uris=uris)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise  # Click's own: usage errors, and a question answered no ("Aborted!", exit 1)
        except Exception as error:  # never a traceback for the operator
            fail(f"{type(error).__name__}: {error}", "INTERNAL_ERROR", uris=uris)

    return wrapper


def _names_a_uri(parameter: str) -> bool:
    return parameter.endswith("uri") or parameter in ("source", "destination")


def format_option(function: Callable[P, R]) -> Callable[P, R]:
    """``--json`` / ``--csv`` (mutually exclusive; the default is a table)."""
    function = click.option("--csv", "as_csv", is_flag=True, help="print CSV instead of a table")(function)
    function = click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")(function)
    return function


def output_format(as_json: bool, as_csv: bool) -> str:
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")
    return "json" if as_json else "csv" if as_csv else "table"


# Table cells longer than this end in an ellipsis (``--wide``, ``--json`` and ``--csv`` show them whole).
CELL_WIDTH = 60
ID_COLUMNS = frozenset({"run_id", "experiment_id", "version", "model_id", "trace_id"})


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    highlight: Callable[[str, dict[str, Any]], bool] | None = None,
    wide: bool = False,
) -> None:
    """Print ``rows`` (dicts) with ``columns`` in the chosen format. JSON keeps value types;
    CSV and tables print ``""`` for a missing value. ``highlight(column, row)`` marks cells.
    A table cuts values longer than :data:`CELL_WIDTH` with an ellipsis unless ``wide`` (then
    it folds them); ids (:data:`ID_COLUMNS`) are never cut or folded, since they are typed back.
    Other columns may still wrap in a terminal too narrow for the table."""
    if fmt == "json":
        click.echo(json.dumps([{c: row.get(c) for c in columns} for row in rows], indent=2, default=str))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        click.echo(buffer.getvalue(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Every title, header and cell is a Text, never markup: they quote user data (experiment
    # and run names, keys, values), where '[' is a character and '[/]' no error.
    table = Table(title=None if title is None else Text(title), show_lines=False)
    for column in columns:
        if column in ID_COLUMNS:
            longest = max((len(str(row.get(column) or "")) for row in rows), default=0)
            table.add_column(Text(column), no_wrap=True, min_width=max(longest, len(column)))
        else:
            # Wrappable, so a narrow terminal takes its width from these columns, not the ids.
            table.add_column(Text(column), overflow="fold" if wide else "ellipsis")
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            cut = not wide and column not in ID_COLUMNS
            text = "" if value is None else _plain(value, CELL_WIDTH if cut else None)
            marked = highlight is not None and highlight(column, row)
            cells.append(Text(text, style="bold yellow" if marked else ""))
        table.add_row(*cells)
    # A pipe or file has no width: do not fold ids and names to 80 columns there.
    width = None if sys.stdout.isatty() else 400
    Console(file=sys.stdout, soft_wrap=False, width=width).print(table)


def _plain(value: Any, width: int | None = None) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def join(values: Iterable[str]) -> str:
    return ", ".join(values)
