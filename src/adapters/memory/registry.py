"""In-memory RegistryStore: the reference semantics every other registry adapter is compared with.

State lives in plain dicts guarded by one re-entrant lock; every read returns frozen entities, so
callers can never mutate what is stored. Semantics are documented on the port
(:mod:`genesis_flow.ports.registry`), not repeated here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from attrs import define, evolve, field

from genesis_flow.core import validation as v
from genesis_flow.core.commands import PageRequest
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import (
    RegisteredModelNotFound,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    Stage,
    alias_not_found,
    latest_version_not_found,
    latest_versions_per_stage,
    model_exists,
    name_taken,
    transition_target,
    version_exists,
    version_not_found,
)
from genesis_flow.core.search import (
    IS_PROMPT_TAG,
    matches,
    prompt_scope,
    sort,
)
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, SystemClock


@define
class _ModelState:
    """Mutable bookkeeping for one registered model; snapshots go out as frozen entities.

    ``versions`` holds the live versions without aliases (aliases live in ``aliases`` and are
    attached on the way out). ``highest_version`` is the highest number ever assigned or imported
    and ``retired`` the deleted numbers, so no number is handed out twice.
    """

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    tags: dict[str, str] = field(factory=dict)
    aliases: dict[str, int] = field(factory=dict)
    versions: dict[int, ModelVersion] = field(factory=dict)
    highest_version: int = 0
    retired: set[int] = field(factory=set)

    def aliases_of(self, version: int) -> tuple[str, ...]:
        return tuple(alias for alias, target in self.aliases.items() if target == version)

    def version_entity(self, version: ModelVersion) -> ModelVersion:
        return evolve(version, aliases=self.aliases_of(version.version))

    def live_version(self, version: int) -> ModelVersion:
        found = self.versions.get(version)
        if found is None:
            raise version_not_found(self.name, version)
        return found

    def entity(self) -> RegisteredModel:
        return RegisteredModel(
            name=self.name,
            creation_timestamp=self.creation_timestamp,
            last_updated_timestamp=self.last_updated_timestamp,
            description=self.description,
            latest_versions=tuple(
                self.version_entity(mv) for mv in latest_versions_per_stage(self.versions.values())
            ),
            tags=tuple(RegisteredModelTag(k, val) for k, val in self.tags.items()),
            aliases=tuple(RegisteredModelAlias(a, n) for a, n in self.aliases.items()),
        )

    def is_prompt(self) -> bool:
        return self.tags.get(IS_PROMPT_TAG) == "true"

    def has_prompt_version(self) -> bool:
        return any(mv.tags_dict.get(IS_PROMPT_TAG) == "true" for mv in self.versions.values())


class InMemoryRegistryStore:
    """The model registry in process memory. Thread-safe: one lock guards all state."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._models: dict[str, _ModelState] = {}

    # --- registered models -----------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
    ) -> RegisteredModel:
        tag_values = v.new_registered_model(name, tags, description)
        with self._lock:
            if name in self._models:
                raise name_taken(name, self._models[name].tags, tag_values)
            now = self._clock.now_ms()
            state = _ModelState(name, now, now, description, tag_values)
            self._models[name] = state
            return state.entity()

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._lock:
            return self._model(name).entity()

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        v.validate_texts(description=description)
        with self._lock:
            state = self._model(name)
            state.description = description
            state.last_updated_timestamp = self._clock.now_ms()
            return state.entity()

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        # MLflow checks the new name before looking the old one up.
        v.validate_model_name(new_name, path="new_name")
        with self._lock:
            state = self._model(name)
            if new_name != name and new_name in self._models:
                raise model_exists(new_name)
            now = self._clock.now_ms()
            del self._models[name]
            state.name = new_name
            state.last_updated_timestamp = now
            state.versions = {
                n: evolve(mv, name=new_name, last_updated_timestamp=now) for n, mv in state.versions.items()
            }
            self._models[new_name] = state
            return state.entity()

    def delete_registered_model(self, name: str) -> None:
        with self._lock:
            self._model(name)
            # Versions go with the model, numbering included: a model created later under the
            # same name starts again at 1, as in MLflow.
            del self._models[name]

    def search_registered_models(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        kind = SearchKind.REGISTERED_MODELS
        page = PageRequest.search(kind, max_results, page_token, filter, tuple(order_by))
        effective, prompts = prompt_scope(filter)
        with self._lock:
            candidates = [s.entity() for s in self._models.values() if prompts or not s.is_prompt()]
        found = [model for model in candidates if matches(kind, model, effective)]
        return page.slice(sort(kind, found, order_by))

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> tuple[ModelVersion, ...]:
        with self._lock:
            state = self._model(name)
            wanted = {Stage.parse(s) for s in stages} if stages else set(Stage)
            return tuple(
                state.version_entity(mv)
                for mv in latest_versions_per_stage(state.versions.values())
                if mv.current_stage in wanted
            )

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        v.validate_model_name(name)
        v.validate_registry_tag(tag.key, tag.value)
        with self._lock:
            # MLflow leaves last_updated_timestamp alone for tag writes.
            self._model(name).tags[tag.key] = tag.value

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        v.validate_model_name(name)
        v.validate_key(key, "key", "tag")
        with self._lock:
            self._model(name).tags.pop(key, None)

    # --- model versions --------------------------------------------------------------------------

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
        tag_values = v.new_model_version(name, source, run_id, tags, run_link, description, user_id, model_id)
        with self._lock:
            state = self._model(name)
            now = self._clock.now_ms()
            number = state.highest_version + 1
            version = ModelVersion(
                name=name,
                version=number,
                creation_timestamp=now,
                last_updated_timestamp=now,
                description=description,
                user_id=user_id,
                source=source,
                run_id=run_id,
                run_link=run_link,
                model_id=model_id,
                tags=tuple(ModelVersionTag(k, val) for k, val in tag_values.items()),
            )
            state.versions[number] = version
            state.highest_version = number
            state.last_updated_timestamp = now
            return state.version_entity(version)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        number = v.model_version_number(name, version)
        with self._lock:
            state = self._model_of_version(name, number)
            return state.version_entity(state.live_version(number))

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        v.validate_texts(description=description)
        number = v.model_version_number(name, version)
        with self._lock:
            state = self._model_of_version(name, number)
            # Only the version's time moves; MLflow leaves the model's alone here.
            updated = evolve(
                state.live_version(number),
                description=description,
                last_updated_timestamp=self._clock.now_ms(),
            )
            state.versions[number] = updated
            return state.version_entity(updated)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        target = transition_target(stage, archive_existing_versions)
        number = v.model_version_number(name, version)
        with self._lock:
            state = self._model_of_version(name, number)
            moved = state.live_version(number)
            now = self._clock.now_ms()
            if archive_existing_versions:
                for other in list(state.versions.values()):
                    if other.version != number and other.current_stage is target:
                        state.versions[other.version] = evolve(
                            other, current_stage=Stage.ARCHIVED, last_updated_timestamp=now
                        )
            moved = evolve(moved, current_stage=target, last_updated_timestamp=now)
            state.versions[number] = moved
            state.last_updated_timestamp = now
            return state.version_entity(moved)

    def delete_model_version(self, name: str, version: int) -> None:
        number = v.model_version_number(name, version)
        with self._lock:
            state = self._model_of_version(name, number)
            state.live_version(number)
            del state.versions[number]
            state.retired.add(number)
            state.aliases = {a: n for a, n in state.aliases.items() if n != number}
            state.last_updated_timestamp = self._clock.now_ms()

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        number = v.model_version_number(name, version)
        with self._lock:
            source = self._model_of_version(name, number).live_version(number).source
        return source if source is not None else ""

    def search_model_versions(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        kind = SearchKind.MODEL_VERSIONS
        page = PageRequest.search(kind, max_results, page_token, filter, tuple(order_by))
        effective, prompts = prompt_scope(filter)
        with self._lock:
            candidates = [
                state.version_entity(mv)
                for state in self._models.values()
                if prompts or not state.has_prompt_version()
                for mv in state.versions.values()
            ]
        found = [mv for mv in candidates if matches(kind, mv, effective)]
        return page.slice(sort(kind, found, order_by))

    def set_model_version_tag(self, name: str, version: int, tag: ModelVersionTag) -> None:
        number = v.model_version_number(name, version)
        v.validate_registry_tag(tag.key, tag.value)
        with self._lock:
            state = self._model_of_version(name, number)
            current = state.live_version(number)
            # MLflow leaves both last_updated_timestamps alone for tag writes.
            state.versions[number] = evolve(current, tags=_replace_tag(current.tags, tag))

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        number = v.model_version_number(name, version)
        v.validate_key(key, "key", "tag")
        with self._lock:
            state = self._model_of_version(name, number)
            current = state.live_version(number)
            state.versions[number] = evolve(current, tags=tuple(t for t in current.tags if t.key != key))

    # --- aliases ---------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias)
        number = v.model_version_number(name, version)
        with self._lock:
            # MLflow looks the version up directly, so an unknown model reports the version missing.
            state = self._model_of_version(name, number)
            state.live_version(number)
            state.aliases[alias] = number

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)
        with self._lock:
            self._model(name).aliases.pop(alias, None)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)
        with self._lock:
            state = self._model(name)
            if alias.lower() == "latest":
                if not state.versions:
                    raise latest_version_not_found(name)
                return state.version_entity(state.versions[max(state.versions)])
            number = state.aliases.get(alias)
            if number is None:
                raise alias_not_found(alias)
            return state.version_entity(state.live_version(number))

    # --- import (migration) ----------------------------------------------------------------------

    def import_registered_model(self, model: RegisteredModel) -> None:
        tag_values = v.imported_registered_model(model)
        with self._lock:
            if model.name in self._models:
                raise model_exists(model.name)
            self._models[model.name] = _ModelState(
                model.name,
                model.creation_timestamp,
                model.last_updated_timestamp,
                model.description,
                tag_values,
            )

    def import_model_version(self, version: ModelVersion) -> None:
        number, tag_values = v.imported_model_version(version)
        with self._lock:
            state = self._model(version.name)
            # A deleted number counts as taken too: numbers are never reused.
            if number in state.versions or number in state.retired:
                raise version_exists(version.name, number)
            state.versions[number] = evolve(
                version,
                version=number,
                tags=tuple(ModelVersionTag(k, val) for k, val in tag_values.items()),
                aliases=(),
            )
            state.highest_version = max(state.highest_version, number)
            for alias in version.aliases:
                state.aliases[alias] = number

    # --- helpers ---------------------------------------------------------------------------------

    def _model(self, name: str) -> _ModelState:
        v.validate_model_name(name)
        state = self._models.get(name)
        if state is None:
            raise RegisteredModelNotFound(f"Registered Model with name={name} not found")
        return state

    def _model_of_version(self, name: str, version: int) -> _ModelState:
        state = self._models.get(name)
        if state is None:
            raise version_not_found(name, version)
        return state


def _replace_tag(tags: tuple[ModelVersionTag, ...], tag: ModelVersionTag) -> tuple[ModelVersionTag, ...]:
    return (*(t for t in tags if t.key != tag.key), ModelVersionTag(tag.key, tag.value))
