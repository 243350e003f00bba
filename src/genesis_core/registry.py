"""Model registry entities: registered models, model versions, stages and aliases."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from attrs import field, frozen

from genesis_flow.core.errors import (
    InvalidParameterValue,
    ModelVersionNotFound,
    RegisteredModelAlreadyExists,
    RegisteredModelNotFound,
    ResourceAlreadyExists,
)


class Stage(str, Enum):
    """Model version stage. Parsing is case-insensitive, as in MLflow (``"staging"`` works)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: str | Stage) -> Stage:
        if isinstance(value, Stage):
            return value
        for stage in cls:
            if stage.value.lower() == str(value).lower():
                return stage
        allowed = ", ".join(s.value for s in cls)
        raise InvalidParameterValue(f"Invalid Model Version stage: {value}. Value must be one of {allowed}.")


IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
"""MLflow's prompt registry stores prompts as registered models (and versions) with this tag."""

# Stages that transition_model_version_stage(archive_existing_versions=True) may archive.
ACTIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)


class ModelVersionStatus(str, Enum):
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


@frozen
class RegisteredModelTag:
    key: str
    value: str


@frozen
class ModelVersionTag:
    key: str
    value: str


@frozen
class RegisteredModelAlias:
    alias: str
    version: int


def _sorted_model_tags(items: Iterable[RegisteredModelTag]) -> tuple[RegisteredModelTag, ...]:
    return tuple(sorted(items, key=lambda t: t.key))


def _sorted_version_tags(items: Iterable[ModelVersionTag]) -> tuple[ModelVersionTag, ...]:
    return tuple(sorted(items, key=lambda t: t.key))


def _sorted_names(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(items))


def _sorted_versions(items: Iterable[ModelVersion]) -> tuple[ModelVersion, ...]:
    return tuple(sorted(items, key=lambda v: v.version))


def _sorted_aliases(items: Iterable[RegisteredModelAlias]) -> tuple[RegisteredModelAlias, ...]:
    return tuple(sorted(items, key=lambda a: a.alias))


@frozen
class ModelVersion:
    """One version of a registered model. ``aliases`` are the alias names pointing at it, sorted."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: Stage = Stage.NONE
    description: str | None = None
    user_id: str | None = None
    source: str | None = None
    run_id: str | None = None
    status: ModelVersionStatus = ModelVersionStatus.READY
    status_message: str | None = None
    run_link: str | None = None
    model_id: str | None = None
    tags: tuple[ModelVersionTag, ...] = field(default=(), converter=_sorted_version_tags)
    aliases: tuple[str, ...] = field(default=(), converter=_sorted_names)

    @property
    def tags_dict(self) -> dict[str, str]:
        return {t.key: t.value for t in self.tags}


@frozen
class RegisteredModel:
    """A registered model.

    ``latest_versions`` holds, per stage, the highest-numbered version in that stage (MLflow's
    rule), ordered by version number.
    """

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    latest_versions: tuple[ModelVersion, ...] = field(default=(), converter=_sorted_versions)
    tags: tuple[RegisteredModelTag, ...] = field(default=(), converter=_sorted_model_tags)
    aliases: tuple[RegisteredModelAlias, ...] = field(default=(), converter=_sorted_aliases)

    @property
    def tags_dict(self) -> dict[str, str]:
        return {t.key: t.value for t in self.tags}

    @property
    def aliases_dict(self) -> dict[str, int]:
        return {a.alias: a.version for a in self.aliases}


def latest_versions_per_stage(versions: Iterable[ModelVersion]) -> tuple[ModelVersion, ...]:
    """The highest-numbered version in each stage, ordered by version number."""
    best: dict[Stage, ModelVersion] = {}
    for v in versions:
        current = best.get(v.current_stage)
        if current is None or v.version > current.version:
            best[v.current_stage] = v
    return tuple(sorted(best.values(), key=lambda v: v.version))


def transition_target(stage: str | Stage, archive_existing_versions: bool) -> Stage:
    """The stage a transition moves to. Raises InvalidParameterValue for an unknown stage, and
    when archiving with a target other than Staging/Production (MLflow raises that one without an
    error code, so it reaches its users as INTERNAL_ERROR; it is bad input)."""
    target = Stage.parse(stage)
    if archive_existing_versions and target not in ACTIVE_STAGES:
        raise InvalidParameterValue(
            "Model version transition cannot archive existing model versions because"
            f" '{target.value}' is not an Active stage. Valid stages are"
            f" {[s.value for s in ACTIVE_STAGES]}"
        )
    return target


# MLflow's messages for the registry's lookups, shared by every adapter.


def model_not_found(name: str) -> RegisteredModelNotFound:
    return RegisteredModelNotFound(f"Registered Model with name={name} not found")


def model_exists(name: str) -> RegisteredModelAlreadyExists:
    return RegisteredModelAlreadyExists(f"Registered Model (name={name}) already exists.")


def name_taken(
    name: str, existing_tag_keys: Iterable[str], new_tag_keys: Iterable[str]
) -> RegisteredModelAlreadyExists:
    """The error of create_registered_model for a taken name, as MLflow words it: a prompt and a
    model cannot share a name, and the message says which of the two holds it and which was being
    created. Either counts as a prompt when its tags have the prompt tag, whatever its value (MLflow
    asks only for the key here; a search asks for ``'true'``). A rename onto a taken name says
    :func:`model_exists` whatever the two are, as MLflow does."""
    taken_by = "Prompt" if IS_PROMPT_TAG in set(existing_tag_keys) else "Registered Model"
    creating = "Prompt" if IS_PROMPT_TAG in set(new_tag_keys) else "Registered Model"
    if taken_by != creating:
        return RegisteredModelAlreadyExists(
            f"Tried to create a {creating.lower()} with name {name!r}, but the name is already taken by"
            f" a {taken_by.lower()}. MLflow does not allow creating a model and a prompt with the same name."
        )
    return RegisteredModelAlreadyExists(f"{creating} (name={name}) already exists.")


def version_not_found(name: str, version: int) -> ModelVersionNotFound:
    return ModelVersionNotFound(f"Model Version (name={name}, version={version}) not found")


def version_exists(name: str, version: int) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Model Version (name={name}, version={version}) already exists.")


def latest_version_not_found(name: str) -> ModelVersionNotFound:
    return ModelVersionNotFound(f"Latest version not found for model {name}.")


def alias_not_found(alias: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Registered model alias {alias} not found.")
