"""Every `genesis` command and group, walked: summaries in their parent's --help are whole at 80
columns, every option says what it does, and --uri is described in the same words everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from genesis_flow.entrypoints.cli import app
from genesis_flow.entrypoints.cli.store import URI_HELP


def _walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, child in sorted(command.commands.items()):
            yield from _walk(child, (*path, name))


COMMANDS = list(_walk(app()))
GROUPS = [(path, command) for path, command in COMMANDS if isinstance(command, click.Group)]


def _label(path: tuple[str, ...]) -> str:
    return " ".join(("genesis", *path))


def test_the_walk_finds_every_top_level_command() -> None:
    top = {path[0] for path, _ in COMMANDS if len(path) == 1}
    assert top >= {"demo", "db", "doctor", "gc", "migrate", "ui"}


@pytest.mark.parametrize(("path", "group"), GROUPS, ids=[_label(p) for p, _ in GROUPS])
def test_summaries_in_a_groups_help_are_not_cut_at_80_columns(
    path: tuple[str, ...], group: click.Group
) -> None:
    result = CliRunner().invoke(app(), [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:", 1)[1].splitlines()
    cut = [line.strip() for line in listing if line.rstrip().endswith("...")]
    assert not cut, f"summaries cut in `{_label(path)} --help`: {cut}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[_label(p) for p, _ in COMMANDS])
def test_every_option_has_help_and_uri_has_the_shared_words(
    path: tuple[str, ...], command: click.Command
) -> None:
    options = [p for p in command.params if isinstance(p, click.Option) and "--help" not in p.opts]
    assert [o.name for o in options if not o.help] == [], f"options without help in `{_label(path)}`"
    for option in options:
        if "--uri" in option.opts:
            assert option.help == URI_HELP, f"`{_label(path)} --uri` has its own description"
