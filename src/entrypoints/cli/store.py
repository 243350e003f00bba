"""Which store a ``genesis`` command works on: the command's ``--uri``, else the global
``genesis --uri``, else the environment and the default (bootstrap's resolution order).

Every command resolves its URI here, so the global option and the hints about the folder's
MLflow data apply to all of them alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import click

from genesis_flow.entrypoints.bootstrap import (
    DEFAULT_DATABASE_FILE,
    DEFAULT_TRACKING_URI,
    migrate_hint,
    resolve_tracking_uri,
)

F = TypeVar("F", bound=Callable[..., object])

# The one description of --uri, on the group and on every command, so they cannot drift apart.
URI_HELP = (
    "the store's URI (default: `genesis --uri`, else $GENESIS_TRACKING_URI, $MLFLOW_TRACKING_URI,"
    f" else {DEFAULT_TRACKING_URI})"
)
# What MLflow 3 creates in the working directory with no tracking URI set: its SQLite database
# and its file store, with the --from each is migrated with.
MLFLOW_DEFAULT_STORES = (("mlflow.db", "./mlflow.db"), ("mlruns", "./mlruns"))
# click.Context.meta is shared by a command's context and its parents': the global option's
# value and the "already said" mark live there, for one invocation.
_GLOBAL_URI = "genesis.uri"
_NOTED = "genesis.mlflow_store_noted"


def uri_option(function: F) -> F:
    """``--uri URI`` with the shared help text."""
    return click.option("--uri", default=None, metavar="URI", help=URI_HELP)(function)


def remember_global_uri(ctx: click.Context, uri: str | None) -> None:
    """Keep ``genesis --uri`` for the commands of this invocation (the group's callback)."""
    ctx.meta[_GLOBAL_URI] = uri


def command_uri(uri: str | None, *, mlflow_note: bool = True) -> str:
    """The tracking URI the running command uses (``uri``: its own ``--uri`` option).

    When that is the default store, which does not exist yet, in a folder holding MLflow's
    default store, one note on stderr (once per command) says how to copy MLflow's data: the
    command would otherwise work on a new, empty database beside it. ``mlflow_note=False``:
    the command is that copy (``genesis migrate``)."""
    ctx = click.get_current_context(silent=True)
    given = uri or (ctx.meta.get(_GLOBAL_URI) if ctx is not None else None)
    resolved = resolve_tracking_uri(given)
    noted = not mlflow_note or (ctx is not None and ctx.meta.get(_NOTED))
    if resolved == DEFAULT_TRACKING_URI and not noted:
        note = mlflow_store_note()
        if note is not None:
            click.echo(f"genesis: note: {note}", err=True)
            if ctx is not None:
                ctx.meta[_NOTED] = True
    return resolved


def mlflow_store_note(folder: str = ".") -> str | None:
    """The note about MLflow's default store in ``folder``, or None: there is none, or the
    Genesis-Flow database exists already (the user has chosen it)."""
    if os.path.exists(os.path.join(folder, DEFAULT_DATABASE_FILE)):
        return None
    for name, source in MLFLOW_DEFAULT_STORES:
        if os.path.exists(os.path.join(folder, name)):
            return f"found an MLflow store here ({name}): {migrate_hint(source)}"
    return None
