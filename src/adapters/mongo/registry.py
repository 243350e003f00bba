"""MongoRegistryStore: the registry port on MongoDB (and, through the Cosmos adapter, Cosmos DB).

Documents:

* ``registered_models``: ``{_id: model key, name (unique), ct, ut, d, t: {tag}, al: {alias:
  version}, hv: highest number ever assigned, rt: [deleted numbers], rs: renames so far,
  pd: the operation in progress}``. The key is not the name, so a rename is one update of this
  document plus one ``update_many`` of the versions' copy of it;
* ``model_versions``: ``{_id: "<model key>:<number>", mid, n (the model's name, for searches), rs
  (the rename ``n`` is from), v, ct, ut, d, u, src, run, rl, lm, st, status, t: {tag}, pt (has the
  prompt tag)}``.

A rename or a deletion spans two collections, so the model document records it first (``pd``, in
the same write that renames it or marks it deleted), and every call that meets the record (any
call by name, any search) finishes it: versions renamed (only those whose ``rs`` is older, so a
late finisher never undoes a newer rename) or deleted, then the record cleared. A writer killed
half-way leaves a state the next call heals.

Version numbers come from an atomic ``$inc`` of ``hv``, so concurrent creations get distinct,
consecutive numbers and a number is never reused. Semantics are on the port.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from genesis_flow.adapters.mongo import mapping
from genesis_flow.adapters.mongo import search as q
from genesis_flow.adapters.mongo.database import MongoDatabase
from genesis_flow.adapters.mongo.keys import decode_map, encode, path
from genesis_flow.core import validation as v
from genesis_flow.core.commands import PageRequest
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import (
    InvalidState,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Stage,
    alias_not_found,
    latest_version_not_found,
    model_exists,
    model_not_found,
    name_taken,
    transition_target,
    version_exists,
    version_not_found,
)
from genesis_flow.core.search import IS_PROMPT_TAG, prompt_scope
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, IdGenerator, SystemClock, UuidIdGenerator


class MongoRegistryStore:
    """The model registry on MongoDB. Thread-safe; many processes may share a database."""

    def __init__(
        self, database: MongoDatabase, clock: Clock | None = None, ids: IdGenerator | None = None
    ) -> None:
        self._db = database
        self._clock = clock or SystemClock()
        self._ids = ids or UuidIdGenerator()
        self._models = database["registered_models"]
        self._versions = database["model_versions"]

    @classmethod
    def from_uri(cls, uri: str, clock: Clock | None = None) -> MongoRegistryStore:
        return cls(MongoDatabase.from_uri(uri), clock=clock)

    @property
    def database(self) -> MongoDatabase:
        return self._db

    # --- helpers ---------------------------------------------------------------------------------

    def _model(self, name: str) -> dict[str, Any]:
        v.validate_model_name(name)
        doc = self._finish(self._models.find_one({"name": name}))
        if doc is None:
            raise model_not_found(name)
        return doc

    def _model_of_version(self, name: str, number: int) -> dict[str, Any]:
        doc = self._finish(self._models.find_one({"name": name}))
        if doc is None:
            raise version_not_found(name, number)
        return doc

    def _finish(self, model: dict[str, Any] | None) -> dict[str, Any] | None:
        """Finish the rename or deletion ``model`` records as in progress (``pd``), whoever
        started it and whether or not they are still at it: each step is idempotent. Returns
        the model as it is afterwards, None when it was being deleted."""
        if model is None or not model.get("pd"):
            return model
        pending, key = model["pd"], model["_id"]
        if pending["op"] == "delete":
            self._versions.delete_many({"mid": key})
            self._models.delete_one({"_id": key, "pd.s": pending["s"]})
            return None
        # Only versions named by an older rename: a finisher that arrives late never undoes a
        # newer one.
        self._versions.update_many(
            {"mid": key, "rs": {"$not": {"$gte": pending["s"]}}},
            {"$set": {"n": pending["n"], "ut": pending["ut"], "rs": pending["s"]}},
        )
        self._models.update_one({"_id": key, "pd.s": pending["s"]}, {"$unset": {"pd": ""}})
        return {k: val for k, val in model.items() if k != "pd"}

    def _finish_all(self) -> None:
        """Finish every rename and deletion in progress (before a search over many models)."""
        for model in self._models.find({"pd.s": {"$gt": 0}}):
            self._finish(model)

    def _start(self, name: str, op: dict[str, Any], sets: dict[str, Any]) -> dict[str, Any]:
        """Record ``op`` as the model's operation in progress, with ``sets``, in one update
        conditional on no other operation having started since the model was read; returns the
        model document after it. A name already taken raises DuplicateKeyError."""
        for _ in range(20):
            model = self._model(name)
            seq = int(model.get("rs") or 0) + 1
            after = self._models.find_one_and_update(
                {"_id": model["_id"], "name": name, "rs": model.get("rs"), "pd": None},
                {"$set": {**sets, "rs": seq, "pd": {**op, "s": seq}}},
                return_document=ReturnDocument.AFTER,
            )
            if after is not None:
                return after
        raise InvalidState(f"The registered model {name!r} kept changing; retry.")

    def _live_version(self, model: dict[str, Any], number: int) -> dict[str, Any]:
        doc = self._versions.find_one({"_id": f"{model['_id']}:{number}"})
        if doc is None:
            raise version_not_found(model["name"], number)
        return doc

    def _latest_per_stage(self, model_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The highest version per stage of each model: one aggregation for any number of models."""
        found: dict[str, list[dict[str, Any]]] = {mid: [] for mid in model_ids}
        if not model_ids:
            return found
        rows = self._versions.aggregate(
            [
                {"$match": {"mid": {"$in": model_ids}}},
                {"$sort": {"mid": 1, "st": 1, "v": -1}},
                {"$group": {"_id": {"mid": "$mid", "st": "$st"}, "doc": {"$first": "$$ROOT"}}},
            ]
        )
        for row in rows:
            found[row["doc"]["mid"]].append(row["doc"])
        for docs in found.values():
            docs.sort(key=lambda d: d["v"])
        return found

    def _entity(self, model: dict[str, Any]) -> RegisteredModel:
        return mapping.registered_model_from(model, self._latest_per_stage([model["_id"]])[model["_id"]])

    # --- registered models -----------------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
    ) -> RegisteredModel:
        tag_values = v.new_registered_model(name, tags, description)
        model_id = self._ids.new_id()

        def work() -> RegisteredModel:
            now = self._clock.now_ms()
            doc = mapping.registered_model_doc(model_id, name, now, now, description, tag_values)
            try:
                self._models.insert_one(doc)
            except DuplicateKeyError:
                stored = self._models.find_one({"_id": model_id})
                if stored is None:  # the name is taken (not a retry of our own insert) ...
                    holder = self._finish(self._models.find_one({"name": name}))
                    if holder is not None:
                        raise name_taken(name, decode_map(holder.get("t")), tag_values) from None
                    # ... by a model whose deletion was cut short, and is now finished.
                    try:
                        self._models.insert_one(doc)
                    except DuplicateKeyError:
                        holder = self._models.find_one({"name": name}) or {}
                        raise name_taken(name, decode_map(holder.get("t")), tag_values) from None
                else:
                    doc = stored
            return mapping.registered_model_from(doc, ())

        return self._db.call(work)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._db.call(lambda: self._entity(self._model(name)))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        v.validate_texts(description=description)

        def work() -> RegisteredModel:
            v.validate_model_name(name)
            doc = self._models.find_one_and_update(
                {"name": name},
                {"$set": {"d": description, "ut": self._clock.now_ms()}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise model_not_found(name)
            return self._entity(doc)

        return self._db.call(work)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        # MLflow checks the new name before looking the old one up.
        v.validate_model_name(new_name, path="new_name")

        now = self._clock.now_ms()

        def rename_model() -> dict[str, Any]:
            op = {"op": "rename", "n": new_name, "ut": now}
            try:
                return self._start(name, op, {"name": new_name, "ut": now})
            except DuplicateKeyError:
                # The name may belong to a model whose deletion was cut short: finish it, then
                # the name is free (or really taken).
                if self._finish(self._models.find_one({"name": new_name})) is not None:
                    raise model_exists(new_name) from None
            try:
                return self._start(name, op, {"name": new_name, "ut": now})
            except DuplicateKeyError:
                raise model_exists(new_name) from None

        # Separate calls, so a retried one never repeats the other: the model (with the rename
        # recorded), then the versions' copy of its name and the record cleared.
        model = self._db.call(rename_model)
        self._db.call(lambda: self._finish(model))
        return self._db.call(lambda: self._entity(self._model(new_name)))

    def delete_registered_model(self, name: str) -> None:
        # The model is marked deleted first (from then on every call treats it as gone and
        # finishes the deletion), then its versions go, then the model. Separate calls, so a
        # retried finish never looks the model up again (it would find it gone).
        model = self._db.call(lambda: self._start(name, {"op": "delete"}, {}))
        self._db.call(lambda: self._finish(model))

    def search_registered_models(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        page = PageRequest.search(
            SearchKind.REGISTERED_MODELS, max_results, page_token, filter, tuple(order_by)
        )
        effective, prompts = prompt_scope(filter)
        clauses = q.registered_model_clauses(effective)
        if not prompts:
            clauses.append({path("t", IS_PROMPT_TAG): {"$ne": "true"}})
        query = {"$and": clauses}
        sort = q.registered_model_sort(order_by)

        def work() -> tuple[list[RegisteredModel], bool]:
            self._finish_all()
            docs, more = q.find_page(self._models, query, sort, page)
            latest = self._latest_per_stage([d["_id"] for d in docs])
            return [mapping.registered_model_from(d, latest[d["_id"]]) for d in docs], more

        return page.page(*self._db.call(work))

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> tuple[ModelVersion, ...]:
        def work() -> tuple[ModelVersion, ...]:
            doc = self._model(name)
            # The model is looked up before the stages are parsed, as in MLflow.
            wanted = {Stage.parse(s) for s in stages} if stages else set(Stage)
            latest = self._latest_per_stage([doc["_id"]])[doc["_id"]]
            return tuple(mapping.version_from(mv, doc) for mv in latest if Stage(mv["st"]) in wanted)

        return self._db.call(work)

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        v.validate_model_name(name)
        v.validate_registry_tag(tag.key, tag.value)

        def work() -> None:
            # MLflow leaves last_updated_timestamp alone for tag writes.
            if (
                self._models.update_one(
                    {"name": name}, {"$set": {path("t", tag.key): tag.value}}
                ).matched_count
                == 0
            ):
                raise model_not_found(name)

        self._db.call(work)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        v.validate_model_name(name)
        v.validate_key(key, "key", "tag")

        def work() -> None:
            if self._models.update_one({"name": name}, {"$unset": {path("t", key): ""}}).matched_count == 0:
                raise model_not_found(name)

        self._db.call(work)

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

        now = self._clock.now_ms()

        def reserve() -> dict[str, Any]:
            # The atomic increment hands out the number: racing creators get 1..n, no gap.
            model = self._models.find_one_and_update(
                {"name": name}, {"$inc": {"hv": 1}, "$set": {"ut": now}}, return_document=ReturnDocument.AFTER
            )
            if model is None or (model.get("pd") or {}).get("op") == "delete":
                self._finish(model)
                raise model_not_found(name)
            return model

        # Not idempotent: a lost reply of the increment costs a number, never a duplicate. The
        # insert is a call of its own, so retrying it never takes another number.
        model = self._db.call(reserve, idempotent=False)
        doc = mapping.version_doc(
            model["_id"],
            name,
            model["hv"],
            now,
            now,
            description=description,
            user_id=user_id,
            source=source,
            run_id=run_id,
            run_link=run_link,
            model_id=model_id,
            tags=tag_values,
        )
        doc["rs"] = model.get("rs") or 0  # the name is the one of the model's last rename

        def insert() -> None:
            with contextlib.suppress(DuplicateKeyError):  # our own insert, sent again
                self._versions.insert_one(doc)

        self._db.call(insert)
        return mapping.version_from(doc, model)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        number = v.model_version_number(name, version)

        def work() -> ModelVersion:
            model = self._model_of_version(name, number)
            return mapping.version_from(self._live_version(model, number), model)

        return self._db.call(work)

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        v.validate_texts(description=description)
        number = v.model_version_number(name, version)

        def work() -> ModelVersion:
            model = self._model_of_version(name, number)
            # Only the version's time moves; MLflow leaves the model's alone here.
            doc = self._versions.find_one_and_update(
                {"_id": f"{model['_id']}:{number}"},
                {"$set": {"d": description, "ut": self._clock.now_ms()}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise version_not_found(name, number)
            return mapping.version_from(doc, model)

        return self._db.call(work)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        target = transition_target(stage, archive_existing_versions)
        number = v.model_version_number(name, version)
        # Read once, outside the retried work: a throttled retry must stamp the versions it
        # archives and the one it moves with the same time as the first attempt did.
        now = self._clock.now_ms()

        def work() -> ModelVersion:
            model = self._model_of_version(name, number)
            self._live_version(model, number)
            if archive_existing_versions:
                self._versions.update_many(
                    {"mid": model["_id"], "st": target.value, "v": {"$ne": number}},
                    {"$set": {"st": Stage.ARCHIVED.value, "ut": now}},
                )
            doc = self._versions.find_one_and_update(
                {"_id": f"{model['_id']}:{number}"},
                {"$set": {"st": target.value, "ut": now}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise version_not_found(name, number)
            self._models.update_one({"_id": model["_id"]}, {"$set": {"ut": now}})
            return mapping.version_from(doc, model)

        return self._db.call(work)

    def delete_model_version(self, name: str, version: int) -> None:
        number = v.model_version_number(name, version)

        def work() -> None:
            model = self._model_of_version(name, number)
            self._live_version(model, number)
            # The number is retired before the version goes, so it can never be handed out again.
            unset = {path("al", a): "" for a in mapping.aliases_of(model, number)}
            update: dict[str, Any] = {"$addToSet": {"rt": number}, "$set": {"ut": self._clock.now_ms()}}
            if unset:
                update["$unset"] = unset
            self._models.update_one({"_id": model["_id"]}, update)
            self._versions.delete_one({"_id": f"{model['_id']}:{number}"})

        self._db.call(work)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        source = self.get_model_version(name, version).source
        return source if source is not None else ""

    def search_model_versions(
        self,
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        page = PageRequest.search(SearchKind.MODEL_VERSIONS, max_results, page_token, filter, tuple(order_by))
        effective, prompts = prompt_scope(filter)
        clauses = q.model_version_clauses(effective)
        sort = q.model_version_sort(order_by)

        def work() -> tuple[list[ModelVersion], bool]:
            self._finish_all()  # the versions' copies of model names are current
            query = list(clauses)
            if not prompts:
                # Every version of a model that has a prompt version stays out (MLflow's rule).
                prompt_models = self._versions.distinct("mid", {"pt": True})
                if prompt_models:
                    query.append({"mid": {"$nin": prompt_models}})
            docs, more = q.find_page(self._versions, {"$and": query} if query else {}, sort, page)
            models = {
                m["_id"]: m for m in self._models.find({"_id": {"$in": list({d["mid"] for d in docs})}})
            }
            return [mapping.version_from(d, models.get(d["mid"])) for d in docs], more

        return page.page(*self._db.call(work))

    def set_model_version_tag(self, name: str, version: int, tag: ModelVersionTag) -> None:
        number = v.model_version_number(name, version)
        v.validate_registry_tag(tag.key, tag.value)
        update: dict[str, Any] = {path("t", tag.key): tag.value}
        if tag.key == IS_PROMPT_TAG:
            update["pt"] = tag.value == "true"

        def work() -> None:
            model = self._model_of_version(name, number)
            # MLflow leaves both last_updated_timestamps alone for tag writes.
            if (
                self._versions.update_one({"_id": f"{model['_id']}:{number}"}, {"$set": update}).matched_count
                == 0
            ):
                raise version_not_found(name, number)

        self._db.call(work)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        number = v.model_version_number(name, version)
        v.validate_key(key, "key", "tag")
        update: dict[str, Any] = {"$unset": {path("t", key): ""}}
        if key == IS_PROMPT_TAG:
            update["$set"] = {"pt": False}

        def work() -> None:
            model = self._model_of_version(name, number)
            if self._versions.update_one({"_id": f"{model['_id']}:{number}"}, update).matched_count == 0:
                raise version_not_found(name, number)

        self._db.call(work)

    # --- aliases ---------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias)
        number = v.model_version_number(name, version)

        def work() -> None:
            # MLflow looks the version up directly, so an unknown model reports the version missing.
            model = self._model_of_version(name, number)
            self._live_version(model, number)
            self._models.update_one({"_id": model["_id"]}, {"$set": {path("al", alias): number}})

        self._db.call(work)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)

        def work() -> None:
            if (
                self._models.update_one({"name": name}, {"$unset": {path("al", alias): ""}}).matched_count
                == 0
            ):
                raise model_not_found(name)

        self._db.call(work)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_alias(alias, allow_reserved=True)

        def work() -> ModelVersion:
            model = self._model(name)
            if alias.lower() == "latest":
                doc = self._versions.find_one({"mid": model["_id"]}, sort=[("v", -1)])
                if doc is None:
                    raise latest_version_not_found(name)
                return mapping.version_from(doc, model)
            number = (model.get("al") or {}).get(encode(alias))
            if number is None:
                raise alias_not_found(alias)
            return mapping.version_from(self._live_version(model, number), model)

        return self._db.call(work)

    # --- import (migration) ----------------------------------------------------------------------

    def import_registered_model(self, model: RegisteredModel) -> None:
        tag_values = v.imported_registered_model(model)
        model_id = self._ids.new_id()

        def work() -> None:
            if self._models.find_one({"name": model.name}, {"_id": 1}) is not None:
                raise model_exists(model.name)
            try:
                self._models.insert_one(
                    mapping.registered_model_doc(
                        model_id,
                        model.name,
                        model.creation_timestamp,
                        model.last_updated_timestamp,
                        model.description,
                        tag_values,
                    )
                )
            except DuplicateKeyError:
                if self._models.find_one({"_id": model_id}, {"_id": 1}) is None:
                    raise model_exists(model.name) from None

        self._db.call(work)

    def import_model_version(self, version: ModelVersion) -> None:
        number, tag_values = v.imported_model_version(version)

        def insert() -> str:
            model = self._model(version.name)
            taken = version_exists(version.name, number)
            # A deleted number counts as taken too: numbers are never reused.
            if number in (model.get("rt") or ()):
                raise taken
            doc = mapping.version_doc(
                model["_id"],
                version.name,
                number,
                version.creation_timestamp,
                version.last_updated_timestamp,
                stage=version.current_stage,
                status=version.status,
                status_message=version.status_message,
                description=version.description,
                user_id=version.user_id,
                source=version.source,
                run_id=version.run_id,
                run_link=version.run_link,
                model_id=version.model_id,
                tags=tag_values,
            )
            try:
                self._versions.insert_one(doc)
            except DuplicateKeyError:
                stored = self._versions.find_one({"_id": doc["_id"]})
                if stored != doc:  # not our own insert, sent again after a lost reply
                    raise taken from None
            return str(model["_id"])

        model_key = self._db.call(insert)
        update: dict[str, Any] = {"$max": {"hv": number}}
        if version.aliases:
            update["$set"] = {path("al", a): number for a in version.aliases}
        self._db.call(lambda: self._models.update_one({"_id": model_key}, update))
