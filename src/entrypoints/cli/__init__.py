"""The ``genesis`` command line (Click + Rich).

Commands live in modules of this package, each exposing Click commands that :func:`app` gathers:
``demo`` and ``db upgrade`` (demo.py), ``experiments``, ``runs``, ``models`` (experiments.py,
runs.py, models.py; what they share is in browse.py),
``migrate`` (migrate.py), ``doctor``, ``gc`` and ``ui`` (ops.py). Shared output rules are in
output.py (``--json``/``--csv``, one-line errors, exit code 1 for a failed operation and 2 for
bad usage, no credentials in any output); every command finds its store through store.py, so
``genesis --uri`` applies to all of them.

Imported as ``genesis_flow.entrypoints.cli``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from genesis_flow.entrypoints.cli.store import remember_global_uri, uri_option
from genesis_flow.entrypoints.extras import DISTRIBUTION

# module -> names of the Click commands or groups it defines (loaded when present, so a module
# can land in its own commit).
_COMMANDS: dict[str, tuple[str, ...]] = {
    "genesis_flow.entrypoints.cli.demo": ("demo", "db"),
    "genesis_flow.entrypoints.cli.experiments": ("experiments",),
    "genesis_flow.entrypoints.cli.runs": ("runs",),
    "genesis_flow.entrypoints.cli.models": ("models",),
    "genesis_flow.entrypoints.cli.migrate": ("migrate",),
    "genesis_flow.entrypoints.cli.ops": ("doctor", "gc", "ui"),
}


def app() -> click.Group:
    @click.group(
        name="genesis",
        context_settings={"help_option_names": ["-h", "--help"]},
        help="Genesis-Flow: browse, compare and migrate MLflow-compatible tracking data.",
    )
    @click.version_option(package_name=DISTRIBUTION, prog_name="genesis")
    @uri_option
    @click.pass_context
    def genesis(ctx: click.Context, uri: str | None) -> None:
        remember_global_uri(ctx, uri)

    for module_name, names in _COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        for name in names:
            genesis.add_command(getattr(module, name))
    return genesis


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failed operation, 2 bad usage)."""
    try:
        app().main(args=list(argv) if argv is not None else None, prog_name="genesis", standalone_mode=True)
    except SystemExit as exited:
        code = exited.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
