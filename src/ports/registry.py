"""The model-registry port: registered models, versions, stages, tags and aliases.

Semantics every adapter honours (executable form: tests/contract/):

* **Names** follow MLflow: non-blank, no ``/`` or ``:``, not path-like. Model names are unique
  (``RegisteredModelAlreadyExists``). Unknown models raise ``RegisteredModelNotFound``, unknown
  versions ``ModelVersionNotFound``. An id, key or name to find something by whose text no backend can store
  (a lone surrogate or a NUL: ``genesis_flow.core.validation.validate_lookup``) raises
  ``InvalidParameterValue`` naming the parameter, never "not found" and never an empty result.
* **Version numbers** are assigned per model, 1, 2, 3 ..., never reused while the model lives
  (after deleting the highest version the next number still grows; an import cannot revive a
  deleted number) and distinct and gapless under concurrent creation. Deleting the registered
  model deletes its versions, so a model re-created under that name starts again at 1 (MLflow).
* **Stages** are None/Staging/Production/Archived, parsed case-insensitively; anything else is
  ``InvalidParameterValue``. ``archive_existing_versions=True`` moves the other versions that are
  in the *target* stage to Archived (only allowed when the target is Staging or Production).
* **Aliases** match ``[\\w-]+`` (``latest`` and ``v<n>`` reserved); an alias points at one version
  of its model; setting it again moves it; deleting a version removes its aliases; an unknown
  alias raises ``InvalidParameterValue``. Every returned version carries its aliases (MLflow's SQL
  store leaves them empty in search results and ``latest_versions``; we do not).
* **Paging**: registered models default 100 / max 1000, versions default 10000 / max 200000;
  opaque tokens bound to their query, as in the tracking port.
* **Times** (MLflow's rules): the model's ``last_updated_timestamp`` moves on
  update_registered_model, rename, create_model_version, transition and delete_model_version;
  a version's moves on update_model_version, transition (also for the versions it archives) and
  rename. Tag and alias writes move neither.
* **Prompts**: MLflow's prompt registry stores prompts as models tagged
  ``mlflow.prompt.is_prompt = 'true'``. Both searches leave them out (for versions: every version
  of a model that has a version with that tag) unless the filter's first clause on that tag is
  ``= 'true'`` or ``!= 'false'``; otherwise clauses on that tag are ignored. ``get_*`` return
  prompts like any model. A prompt and a model cannot share a name; the error for a taken name
  says which holds it (any value of the tag makes a prompt there, as in MLflow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from genesis_flow.core.entities import Page
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Stage,
)
from genesis_flow.core.search.ast import Filter, OrderBy


@runtime_checkable
class RegistryStore(Protocol):
    """Persistence of the model registry. Thread-safe in every adapter."""

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
    ) -> RegisteredModel:
        """Raises InvalidParameterValue (bad name or tag); RegisteredModelAlreadyExists, worded as
        MLflow words it (``genesis_flow.core.registry.name_taken``): whether a prompt or a model
        holds the name, and which of the two was being created."""
        ...

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and latest version per stage.
        Raises RegisteredModelNotFound."""
        ...

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Replace the description. Raises RegisteredModelNotFound."""
        ...

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename the model; its versions, tags and aliases follow. Raises
        RegisteredModelNotFound; InvalidParameterValue (bad name);
        RegisteredModelAlreadyExists."""
        ...

    def delete_registered_model(self, name: str) -> None:
        """Delete the model with all its versions, tags and aliases. Raises
        RegisteredModelNotFound."""
        ...

    def search_registered_models(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models matching the filter (keys: name, tags). Order: the ``order_by`` entries
        (name, last_updated_timestamp; MLflow does not order models by creation time), then
        name ASC. Raises InvalidParameterValue (max_results, page token)."""
        ...

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> tuple[ModelVersion, ...]:
        """The highest version in each stage; with ``stages`` (case-insensitive) only those
        stages; None or empty means every stage. Ordered by version. Raises
        RegisteredModelNotFound; InvalidParameterValue for an unknown stage."""
        ...

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        """Set or overwrite. Raises RegisteredModelNotFound; InvalidParameterValue (limits:
        key 250, value 100000)."""
        ...

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Raises RegisteredModelNotFound. A missing tag is a no-op, as in MLflow."""
        ...

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] = (),
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Create the next version (READY, stage None). Raises RegisteredModelNotFound;
        InvalidParameterValue for a bad tag."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Raises ModelVersionNotFound (also when the model does not exist)."""
        ...

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        """Replace the description. Raises ModelVersionNotFound."""
        ...

    def transition_model_version_stage(
        self, name: str, version: int, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move the version to ``stage``; see the module docstring for archiving. Raises
        InvalidParameterValue for an unknown stage, and when archiving with a target other than
        Staging/Production (checked before the version is looked up; MLflow raises that one
        without an error code, so it reaches its users as INTERNAL_ERROR); ModelVersionNotFound."""
        ...

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete the version and the aliases pointing at it; its number is never reused.
        Raises ModelVersionNotFound."""
        ...

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """The version's source. Raises ModelVersionNotFound."""
        ...

    def search_model_versions(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Live versions matching the filter (keys: name, version_number, run_id, source_path,
        tags). Order: the ``order_by`` entries (default: last_updated_timestamp DESC), then name
        ASC, then version DESC. Raises InvalidParameterValue (max_results, page token)."""
        ...

    def set_model_version_tag(self, name: str, version: int, tag: ModelVersionTag) -> None:
        """Raises ModelVersionNotFound; InvalidParameterValue."""
        ...

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Raises ModelVersionNotFound. A missing tag is a no-op, as in MLflow."""
        ...

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it if set). Raises InvalidParameterValue
        (bad or reserved alias); ModelVersionNotFound, also when the model does not exist (MLflow
        looks the version up directly)."""
        ...

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove the alias; a missing alias (reserved names included) is a no-op. Raises
        RegisteredModelNotFound; InvalidParameterValue for a malformed alias."""
        ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at. ``latest`` (any case) is the highest live version,
        as in MLflow's store; ModelVersionNotFound when there is none. Raises
        RegisteredModelNotFound; InvalidParameterValue for an unknown or malformed alias
        (``v<n>`` is not resolved here)."""
        ...

    # --- import (migration) ----------------------------------------------------------------------

    def import_registered_model(self, model: RegisteredModel) -> None:
        """Write a model with its original times, description and tags (not its versions or
        aliases). Raises RegisteredModelAlreadyExists."""
        ...

    def import_model_version(self, version: ModelVersion) -> None:
        """Write a version with its original number, times, stage, status, tags and aliases
        (an alias already set elsewhere moves here); the model's times stay as imported. Later
        versions are numbered after the highest number ever seen. Raises RegisteredModelNotFound;
        ResourceAlreadyExists when that number exists or was deleted; InvalidParameterValue (number
        below 1, bad tag or alias)."""
        ...
