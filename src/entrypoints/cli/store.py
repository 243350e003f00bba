"""Which store a ``genesis`` command works on: the command's ``--uri``, else the global
``genesis --uri``, else the environment and the default (bootstrap's resolution order).

Every command resolves its URI here, so the global option and the hints about the folder's
MLflow data apply to all of them alike.
"""

from __future__ import annotations

from genesis_flow.entrypoints.bootstrap import resolve_tracking_uri


def command_uri(uri: str | None) -> str:
    """The tracking URI the running command uses (``uri``: its own ``--uri`` option)."""
    return resolve_tracking_uri(uri)
