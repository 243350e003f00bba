"""The registry port on plain JSON files.

Under the store's root, ``registry/<h>.json`` holds one registered model with its versions,
aliases and numbering (:func:`genesis_jsonstore.mapping.registered_model_document`); ``<h>`` is
the hash of the name, so renaming a model writes the new file and removes the old one. One lock
per store orders the calls of all its threads, which is what makes concurrent version numbers
distinct and gapless. Semantics are the port's (:mod:`genesis_flow.ports.registry`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from attrs import evolve

from genesis_flow.core import validation as v
from genesis_flow.core.commands import PageRequest
from genesis_flow.core.entities import Page
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Stage,
    alias_not_found,
    latest_version_not_found,
    latest_versions_per_stage,
    model_exists,
    model_not_found,
    name_taken,
    transition_target,
    version_exists,
    version_not_found,
)
from genesis_flow.core.search import IS_PROMPT_TAG, matcher, prompt_scope, sort
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, SystemClock
from genesis_jsonstore import mapping as js
from genesis_jsonstore.files import Document, Folder, file_name


class JsonRegistryStore:
    """RegistryStore on JSON files under ``root``. Reopening the same root sees everything."""

    def __init__(self, root: str | Path, *, clock: Clock | None = None) -> None:
        self._files = Folder(root)
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()

    # --- files -----------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self._files.path("registry", file_name(name) + ".json")

    def _models(self) -> list[Document]:
        return list(self._files.documents(self._files.path("registry")))

    def _save(self, model: Document) -> None:
        self._files.write(self._path(model["name"]), model)

    def _model(self, name: str) -> Document:
        v.validate_model_name(name)
        model = self._files.read(self._path(name))
        if model is None:
            raise model_not_found(name)
        return model

    def _model_of_version(self, name: str, number: int) -> Document:
        """The model of a version lookup: an unknown model reports the version missing."""
        model = self._files.read(self._path(name))
        if model is None:
            raise version_not_found(name, number)
        return model

    @staticmethod
    def _live(model: Document, number: int) -> Document:
        version: Document | None = model["versions"].get(str(number))
        if version is None:
            raise version_not_found(model["name"], number)
        return version

    # --- registered models -----------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Sequence[RegisteredModelTag] = (), description: str | None = None
    ) -> RegisteredModel:
        tag_values = v.new_registered_model(name, tags, description)
        with self._lock:
            existing = self._files.read(self._path(name))
            if existing is not None:
                raise name_taken(name, existing["tags"], tag_values)
            now = self._clock.now_ms()
            model = js.registered_model_document(name, now, now, description, tag_values)
            self._save(model)
            return js.registered_model_from(model)

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._lock:
            return js.registered_model_from(self._model(name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        v.validate_texts(description=description)
        with self._lock:
            model = self._model(name)
            model["description"] = description
            model["last_updated_timestamp"] = self._clock.now_ms()
            self._save(model)
            return js.registered_model_from(model)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        v.validate_model_name(new_name, path="new_name")  # MLflow checks it before the lookup
        with self._lock:
            model = self._model(name)
            if new_name != name and self._files.read(self._path(new_name)) is not None:
                raise model_exists(new_name)
            now = self._clock.now_ms()
            model["name"] = new_name
            model["last_updated_timestamp"] = now
            for version in model["versions"].values():
                version["name"] = new_name
                version["last_updated_timestamp"] = now
            self._save(model)
            if new_name != name:
                self._files.remove(self._path(name))
            return js.registered_model_from(model)

    def delete_registered_model(self, name: str) -> None:
        with self._lock:
            self._model(name)
            # The numbering goes with the model: one re-created under the name starts at 1.
            self._files.remove(self._path(name))

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
        keep = matcher(kind, effective)
        with self._lock:
            models = self._models()
        candidates = [
            js.registered_model_from(m) for m in models if prompts or m["tags"].get(IS_PROMPT_TAG) != "true"
        ]
        return page.slice(sort(kind, [m for m in candidates if keep(m)], order_by))

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> tuple[ModelVersion, ...]:
        with self._lock:
            model = self._model(name)
        wanted = {Stage.parse(s) for s in stages} if stages else set(Stage)
        versions = [js.version_of(model, int(n)) for n in model["versions"]]
        return tuple(mv for mv in latest_versions_per_stage(versions) if mv.current_stage in wanted)

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        v.validate_model_name(name)
        v.validate_registry_tag(tag.key, tag.value)
        with self._lock:
            model = self._model(name)
            model["tags"][tag.key] = tag.value  # tag writes leave the times alone (MLflow)
            self._save(model)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        v.validate_model_name(name)
        v.validate_key(key, "key", "tag")
        with self._lock:
            model = self._model(name)
            if model["tags"].pop(key, None) is not None:
                self._save(model)

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
            model = self._model(name)
            now = self._clock.now_ms()
            number = model["highest_version"] + 1
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
                tags=tuple(ModelVersionTag(k, x) for k, x in tag_values.items()),
            )
            model["versions"][str(number)] = js.model_version_document(version)
            model["highest_version"] = number
            model["last_updated_timestamp"] = now
            self._save(model)
            return js.version_of(model, number)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        number = v.model_version_number(name, version)
        with self._lock:
            model = self._model_of_version(name, number)
            self._live(model, number)
            return js.version_of(model, number)

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        v.validate_texts(description=description)
        number = v.model_version_number(name, version)
        with self._lock:
            model = self._model_of_version(name, number)
            stored = self._live(model, number)
            stored["description"] = description
            stored["last_updated_timestamp"] = self._clock.now_ms()  # the model's time stays
            self._save(model)
            return js.version_of(model, number)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        target = transition_target(stage, archive_existing_versions)
        number = v.model_version_number(name, version)
        with self._lock:
            model = self._model_of_version(name, number)
            moved = self._live(model, number)
            now = self._clock.now_ms()
            if archive_existing_versions:
                for other in model["versions"].values():
                    if other["version"] != number and other["current_stage"] == target.value:
                        other["current_stage"] = Stage.ARCHIVED.value
                        other["last_updated_timestamp"] = now
            moved["current_stage"] = target.value
            moved["last_updated_timestamp"] = now
            model["last_updated_timestamp"] = now
            self._save(model)
            return js.version_of(model, number)

    def delete_model_version(self, name: str, version: int) -> None:
        number = v.model_version_number(name, version)
        with self._lock:
            model = self._model_of_version(name, number)
            self._live(model, number)
            del model["versions"][str(number)]
            model["retired"].append(number)
            model["aliases"] = {a: n for a, n in model["aliases"].items() if n != number}
            model["last_updated_timestamp"] = self._clock.now_ms()
            self._save(model)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        number = v.model_version_number(name, version)
        with self._lock:
            source = self._live(self._model_of_version(name, number), number)["source"]
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
        keep = matcher(kind, effective)
        with self._lock:
            models = self._models()
        candidates = [
            js.version_of(model, int(n))
            for model in models
            # A model with any prompt version is a prompt: all its versions stay out (MLflow).
            if prompts
            or not any(mv["tags"].get(IS_PROMPT_TAG) == "true" for mv in model["versions"].values())
            for n in model["versions"]
        ]
        return page.slice(sort(kind, [mv for mv in candidates if keep(mv)], order_by))

    def set_model_version_tag(self, name: str, version: int, tag: ModelVersionTag) -> None:
        number = v.model_version_number(name, version)
        v.validate_registry_tag(tag.key, tag.value)
        with self._lock:
            model = self._model_of_version(name, number)
            self._live(model, number)["tags"][tag.key] = tag.value
            self._save(model)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        number = v.model_version_number(name, version)
        v.validate_key(key, "key", "tag")
        with self._lock:
            model = self._model_of_version(name, number)
            if self._live(model, number)["tags"].pop(key, None) is not None:
                self._save(model)

    # --- aliases ---------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias)
        number = v.model_version_number(name, version)
        with self._lock:
            model = self._model_of_version(name, number)
            self._live(model, number)
            model["aliases"][alias] = number
            self._save(model)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)
        with self._lock:
            model = self._model(name)
            if model["aliases"].pop(alias, None) is not None:
                self._save(model)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)
        with self._lock:
            model = self._model(name)
        if alias.lower() == "latest":
            if not model["versions"]:
                raise latest_version_not_found(name)
            return js.version_of(model, max(int(n) for n in model["versions"]))
        number = model["aliases"].get(alias)
        if number is None:
            raise alias_not_found(alias)
        self._live(model, number)
        return js.version_of(model, number)

    # --- import (migration) ----------------------------------------------------------------------

    def import_registered_model(self, model: RegisteredModel) -> None:
        tag_values = v.imported_registered_model(model)
        with self._lock:
            if self._files.read(self._path(model.name)) is not None:
                raise model_exists(model.name)
            self._save(
                js.registered_model_document(
                    model.name,
                    model.creation_timestamp,
                    model.last_updated_timestamp,
                    model.description,
                    tag_values,
                )
            )

    def import_model_version(self, version: ModelVersion) -> None:
        number, tag_values = v.imported_model_version(version)
        with self._lock:
            model = self._model(version.name)
            # A deleted number counts as taken: numbers are never reused.
            if str(number) in model["versions"] or number in model["retired"]:
                raise version_exists(version.name, number)
            tags = tuple(ModelVersionTag(k, x) for k, x in tag_values.items())
            imported = evolve(version, version=number, tags=tags, aliases=())
            model["versions"][str(number)] = js.model_version_document(imported)
            model["highest_version"] = max(model["highest_version"], number)
            for alias in version.aliases:
                model["aliases"][alias] = number
            self._save(model)
