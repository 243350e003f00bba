"""``genesis models``: list, show, create, rename and delete registered models; list and delete
their versions; move versions between stages; set and delete aliases.

Aliases have one JSON shape everywhere, ``{"alias": version}`` (:func:`aliases_value`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from genesis_flow.core.registry import ModelVersion, RegisteredModel
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import Comparator, Comparison, Filter, KeyType, SearchKind
from genesis_flow.entrypoints.cli.browse import (
    echo_json,
    field_rows,
    iso,
    json_option,
    key_value_rows,
    next_page,
    registry,
    search_options,
    wide_option,
)
from genesis_flow.entrypoints.cli.output import emit, format_option, handle_errors, output_format
from genesis_flow.entrypoints.cli.store import uri_option
from genesis_flow.ports import RegistryStore

F = TypeVar("F", bound=Callable[..., Any])

_VERSION_COLUMNS = ("version", "stage", "status", "run_id", "source", "aliases", "creation_time")


def _yes_option(what: str) -> Callable[[F], F]:
    return click.option("-y", "--yes", is_flag=True, help=f"delete {what} without asking")


@click.group()
def models() -> None:
    """Browse and curate registered models."""


def aliases_value(aliases: Mapping[str, int], fmt: str) -> dict[str, int] | str:
    """Aliases as every command prints them: ``{"alias": version}`` in JSON, ``alias=vN, ...``
    in a table or CSV cell."""
    ordered = dict(sorted(aliases.items()))
    if fmt == "json":
        return ordered
    return ", ".join(f"{alias}=v{version}" for alias, version in ordered.items())


def model_row(model: RegisteredModel, fmt: str) -> dict[str, Any]:
    return {
        "name": model.name,
        "latest_version": max((v.version for v in model.latest_versions), default=None),
        "aliases": aliases_value(model.aliases_dict, fmt),
        "creation_time": iso(model.creation_timestamp),
        "last_updated_time": iso(model.last_updated_timestamp),
        "description": model.description,
    }


def version_row(version: ModelVersion, fmt: str) -> dict[str, Any]:
    return {
        "version": version.version,
        "stage": version.current_stage.value,
        "status": version.status.value,
        "run_id": version.run_id,
        "source": version.source,
        "aliases": aliases_value(dict.fromkeys(version.aliases, version.version), fmt),
        "creation_time": iso(version.creation_timestamp),
        "description": version.description,
    }


@models.command("list")
@uri_option
@search_options
@format_option
@wide_option
@handle_errors
def list_models(
    uri: str | None,
    filter_text: str | None,
    order_by: tuple[str, ...],
    max_results: int | None,
    page_token: str | None,
    as_json: bool,
    as_csv: bool,
    wide: bool,
) -> None:
    """List registered models.

    Filter keys: name, tags.<key>.
    """
    fmt = output_format(as_json, as_csv)
    page = registry(uri).search_registered_models(
        filter=parse_filter(SearchKind.REGISTERED_MODELS, filter_text),
        max_results=max_results,
        order_by=parse_order_by(SearchKind.REGISTERED_MODELS, list(order_by)),
        page_token=page_token,
    )
    columns = ("name", "latest_version", "aliases", "last_updated_time", "description")
    emit([model_row(m, fmt) for m in page.items], columns, fmt, title="Registered models", wide=wide)
    next_page(page.next_page_token)


@models.command("show")
@click.argument("name")
@uri_option
@json_option
@wide_option
@handle_errors
def show_model(name: str, uri: str | None, as_json: bool, wide: bool) -> None:
    """Show a registered model.

    Description, tags, aliases and the latest version per stage.
    """
    fmt = "json" if as_json else "table"
    model = registry(uri).get_registered_model(name)
    latest = [version_row(v, fmt) for v in model.latest_versions]
    document: dict[str, Any] = {
        "name": model.name,
        "description": model.description,
        "creation_time": iso(model.creation_timestamp),
        "last_updated_time": iso(model.last_updated_timestamp),
        "tags": model.tags_dict,
        "aliases": aliases_value(model.aliases_dict, "json"),
        "latest_versions": latest,
    }
    if as_json:
        echo_json(document)
        return
    info = {k: document[k] for k in ("name", "description", "creation_time", "last_updated_time")}
    emit(field_rows(info), ("field", "value"), "table", title=f"Registered model {name}", wide=wide)
    if model.tags:
        emit(key_value_rows(model.tags_dict), ("key", "value"), "table", title="Tags", wide=wide)
    if model.aliases:
        rows = [{"alias": a.alias, "version": a.version} for a in model.aliases]
        emit(rows, ("alias", "version"), "table", title="Aliases", wide=wide)
    if latest:
        emit(latest, _VERSION_COLUMNS, "table", title="Latest versions", wide=wide)


@models.command("create")
@click.argument("name")
@click.option("--description", default=None, help="what the model is for")
@uri_option
@handle_errors
def create_model(name: str, description: str | None, uri: str | None) -> None:
    """Register a new model name."""
    model = registry(uri).create_registered_model(name, description=description)
    click.echo(f"registered model '{model.name}' created")


@models.command("rename")
@click.argument("name")
@click.argument("new_name")
@uri_option
@handle_errors
def rename_model(name: str, new_name: str, uri: str | None) -> None:
    """Rename a registered model.

    Its versions, tags and aliases follow it.
    """
    registry(uri).rename_registered_model(name, new_name)
    click.echo(f"registered model '{name}' renamed to '{new_name}'")


@models.command("delete")
@click.argument("name")
@_yes_option("the model and its versions")
@uri_option
@handle_errors
def delete_model(name: str, yes: bool, uri: str | None) -> None:
    """Delete a model and all its versions.

    This cannot be undone: the model's versions, tags and aliases go with it (the runs and
    their artifacts stay). Asks first unless --yes.
    """
    store = registry(uri)
    store.get_registered_model(name)  # a missing model is an error before any question
    if not yes:
        click.confirm(f"Delete registered model '{name}' and all its versions?", abort=True, err=True)
    store.delete_registered_model(name)
    click.echo(f"registered model '{name}' deleted")


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


class _ListByDefault(click.Group):
    """A group whose first argument, when it names no subcommand, is the ``list`` subcommand's:
    ``genesis models versions NAME`` keeps listing, as it did before ``versions delete``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["list", *args]
        return super().parse_args(ctx, args)


@models.group("versions", cls=_ListByDefault)
def versions() -> None:
    """List or delete a model's versions.

    `genesis models versions NAME` is `genesis models versions list NAME`.
    """


@versions.command("list")
@click.argument("name")
@uri_option
@format_option
@wide_option
@handle_errors
def list_versions(name: str, uri: str | None, as_json: bool, as_csv: bool, wide: bool) -> None:
    """List every version of a model."""
    fmt = output_format(as_json, as_csv)
    rows = [version_row(v, fmt) for v in all_versions(registry(uri), name)]
    columns: Sequence[str] = (*_VERSION_COLUMNS, "description") if fmt == "json" else _VERSION_COLUMNS
    emit(rows, columns, fmt, title=f"Versions of {name}", wide=wide)


@versions.command("delete")
@click.argument("name")
@click.argument("version", type=int)
@_yes_option("the version")
@uri_option
@handle_errors
def delete_version(name: str, version: int, yes: bool, uri: str | None) -> None:
    """Delete one version of a model.

    Aliases pointing at it go too; its number is never reused. Asks first unless --yes.
    """
    store = registry(uri)
    store.get_model_version(name, version)  # a missing version is an error before any question
    if not yes:
        click.confirm(f"Delete version {version} of registered model '{name}'?", abort=True, err=True)
    store.delete_model_version(name, version)
    click.echo(f"{name} version {version} deleted")


@models.command("transition")
@click.argument("name")
@click.argument("version", type=int)
@click.argument("stage")
@click.option("--archive-existing", is_flag=True, help="move the other versions in STAGE to Archived")
@uri_option
@handle_errors
def transition_version(name: str, version: int, stage: str, archive_existing: bool, uri: str | None) -> None:
    """Move a model version to a stage.

    STAGE is None, Staging, Production or Archived.
    """
    moved = registry(uri).transition_model_version_stage(
        name, version, stage, archive_existing_versions=archive_existing
    )
    click.echo(f"{name} version {moved.version} is now in stage {moved.current_stage.value}")


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int, required=False)
@click.option("--delete", is_flag=True, help="delete the alias instead of setting it")
@uri_option
@handle_errors
def alias_version(name: str, alias: str, version: int | None, delete: bool, uri: str | None) -> None:
    """Set or delete a model version alias.

    Points ALIAS of model NAME at VERSION, or deletes it with --delete.
    """
    if delete and version is not None:
        raise click.UsageError("give either VERSION or --delete, not both")
    if not delete and version is None:
        raise click.UsageError("missing VERSION (or --delete)")
    store = registry(uri)
    if delete:
        store.delete_registered_model_alias(name, alias)
        click.echo(f"alias '{alias}' of {name} deleted")
        return
    assert version is not None
    store.set_registered_model_alias(name, alias, version)
    click.echo(f"alias '{alias}' of {name} -> version {version}")
