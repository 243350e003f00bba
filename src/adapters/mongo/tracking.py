"""MongoTrackingStore: the tracking port on MongoDB (and, through the Cosmos adapter, Cosmos DB).

Documents (field names are short because every run document carries them):

* ``experiments``: ``{_id, xi (id as a number, for ordering), name (unique), art, l, ct, ut, t}``;
* ``runs``: ``{_id, x, n, u, st, t0, t1, a, l, p: {key: value}, t: {key: value},
  m: {key: latest point}, di: [dataset inputs], mi, mo}``, so ``search_runs`` is one query an
  index on ``(x, l, t0, _id)`` serves, and ``get_run`` one read;
* ``metrics``: one document per point with a deterministic ``_id`` (run, key, value, timestamp,
  step), so a retried write stores nothing twice;
* ``datasets`` (one per experiment, name and digest), ``logged_models``, ``counters``, ``meta``;
* ``run_values``: param and tag values moved out of a run document that would otherwise outgrow
  Cosmos DB's 2 MB limit (see :data:`INLINE_BUDGET`);
* ``traces`` and ``spans``: see :mod:`.tracing`.

User keys are encoded (:mod:`.keys`) before they become field names. Writes are idempotent or
conditional: a call's update of the run document states what makes it valid (the run active, new
params absent, the stored latest points older), so racing writers need no transaction and a
retried call stores nothing twice (docs/adr/0008). Semantics are on the port, not repeated here.
Documents are written and read in :mod:`.mapping`, searches compiled and paged in :mod:`.search`,
collections and indexes declared in :mod:`.schema`.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from genesis_flow.adapters.mongo import mapping
from genesis_flow.adapters.mongo import search as q
from genesis_flow.adapters.mongo.database import MongoDatabase, only_duplicates
from genesis_flow.adapters.mongo.diagnostics import diagnose_database
from genesis_flow.adapters.mongo.keys import decode_map, encode, path
from genesis_flow.adapters.mongo.tracing import MongoTraces
from genesis_flow.core import validation as v
from genesis_flow.core.commands import (
    ExperimentSearch,
    ImportedRun,
    LogBatch,
    LoggedModelParams,
    NewLoggedModel,
    PageRequest,
    RunIdPrefix,
    check_imported_experiment,
    check_new_experiment,
    check_run_inputs,
)
from genesis_flow.core.diagnostics import Diagnosis
from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Page,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
    experiment_artifact_location,
    experiment_exists,
    experiment_id_exists,
    experiment_not_active,
    experiment_not_found,
    experiment_not_renamable,
    experiment_tag_not_found,
    imported_deletion_time,
    logged_model_not_found,
    logged_model_tag_not_found,
    metric_history_key,
    run_artifact_uri,
    run_exists,
    run_not_active,
    run_not_found,
    run_tag_not_found,
)
from genesis_flow.core.errors import (
    InternalError,
    InvalidParameterValue,
    InvalidState,
)
from genesis_flow.core.search.ast import Comparator, Filter, KeyGroup, KeyType, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, IdGenerator, SystemClock, UuidIdGenerator
from genesis_flow.ports.tracking import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME

RUN_NAME_TAG = v.RUN_NAME_TAG
ACTIVE = LifecycleStage.ACTIVE.value
DELETED = LifecycleStage.DELETED.value
# The index every collection has on _id.
_BY_ID = [("_id", 1)]
# Bytes of param and tag text a run document holds before long values move to `run_values`:
# far below Cosmos DB's 2 MB document limit, leaving room for metrics and inputs.
INLINE_BUDGET = 1_000_000
# What a moved value leaves in the run document: its first characters (so ordering by it and
# IS NULL still work from the document) and a hash of the whole value (``ph``/``th``).
SPILL_PREFIX = 200
SPILLED_KEYS = "spilled-keys"
# A batch's history points wait in the run document (``w``, see :func:`.mapping.pending_entry`) between
# the update that makes the batch visible and their insert into ``metrics``. ``wz`` sums the
# entries' sizes; a batch whose entry would pass this budget first completes the entries there.
# One batch of 1,000 points with 250-character keys takes about 300 KB, so it always fits alone,
# and the run document stays under Cosmos DB's 2 MB with INLINE_BUDGET of params and tags.
PENDING_BUDGET = 512_000
# Writers complete entries older than this (their writer died, or is very slow); readers of a
# history complete every entry holding that key, whatever its age.
PENDING_LEASE_MS = 5_000


def _add_entry(
    condition: dict[str, Any], update: dict[str, Any], increments: dict[str, int], entry: dict[str, Any]
) -> None:
    """Make a run document update also record ``entry`` (once, and only while it fits)."""
    condition["w.i"] = {"$ne": entry["i"]}
    condition["wz"] = {"$not": {"$gt": PENDING_BUDGET - entry["z"]}}
    update["$push"] = {"w": entry}
    update["$inc"] = {**increments, "wz": entry["z"]}


def _wall_ms() -> int:
    # Pending entries are aged by the wall clock, not the store's clock: the lease compares times
    # written by different processes, which a clock injected into one store cannot speak for.
    return time.time_ns() // 1_000_000


class MongoTrackingStore(MongoTraces):
    """TrackingStore (and TraceStore, :mod:`.tracing`) on MongoDB. Thread-safe; many processes may
    share a database."""

    def __init__(
        self,
        database: MongoDatabase,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        artifact_root: str = "./genesis-artifacts",
    ) -> None:
        self._db = database
        self._clock = clock or SystemClock()
        self._ids = ids or UuidIdGenerator()
        self._artifact_root = artifact_root
        self._experiments = database["experiments"]
        self._runs = database["runs"]
        self._metrics = database["metrics"]
        self._values = database["run_values"]
        self._datasets = database["datasets"]
        self._dataset_values = database["dataset_values"]
        self._models = database["logged_models"]
        self._counters = database["counters"]
        self._meta = database["meta"]
        self._db.call(self._ensure_default_experiment)

    @classmethod
    def from_uri(
        cls, uri: str, artifact_root: str = "./genesis-artifacts", clock: Clock | None = None
    ) -> MongoTrackingStore:
        return cls(MongoDatabase.from_uri(uri), clock=clock, artifact_root=artifact_root)

    def diagnose(self) -> Diagnosis:
        return diagnose_database(self._db)

    @property
    def database(self) -> MongoDatabase:
        return self._db

    def _ensure_default_experiment(self) -> None:
        now = self._clock.now_ms()
        self._experiments.update_one(
            {"_id": DEFAULT_EXPERIMENT_ID},
            {
                "$setOnInsert": {
                    "xi": 0,
                    "name": DEFAULT_EXPERIMENT_NAME,
                    "art": self._location(DEFAULT_EXPERIMENT_ID),
                    "l": ACTIVE,
                    "ct": now,
                    "ut": now,
                }
            },
            upsert=True,
        )

    def _location(self, experiment_id: str) -> str:
        return experiment_artifact_location(self._artifact_root, experiment_id)

    # --- experiments -------------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] = ()
    ) -> str:
        check_new_experiment(name, artifact_location, tags)

        def reserve() -> str:
            if self._experiments.find_one({"name": name}, {"_id": 1}) is not None:
                raise experiment_exists(name)
            increment = {"$inc": {"value": 1}}
            after = ReturnDocument.AFTER
            counter = self._counters.find_one_and_update(
                {"_id": "experiment"}, increment, return_document=after
            )
            if counter is None:
                # No counter yet. Racing upserts of one document may answer nothing (seen on the
                # test server), so create it apart, ignoring a racer's copy, then increment.
                with contextlib.suppress(DuplicateKeyError):
                    self._counters.insert_one({"_id": "experiment", "value": 0})
                counter = self._counters.find_one_and_update(
                    {"_id": "experiment"}, increment, return_document=after
                )
            if counter is None:
                raise InvalidState(
                    "The experiment id counter vanished while an experiment was created; retry."
                )
            return str(counter["value"])

        # Each write is its own call, so a retried call never repeats the other's write. The
        # increment is not idempotent: a lost reply costs an id, never a duplicate.
        experiment_id = self._db.call(reserve, idempotent=False)
        now = self._clock.now_ms()
        location = artifact_location or self._location(experiment_id)
        doc = {
            "_id": experiment_id,
            **mapping.experiment_doc(experiment_id, name, location, LifecycleStage.ACTIVE, now, now, tags),
        }

        def insert() -> None:
            try:
                self._experiments.insert_one(doc)
            except DuplicateKeyError:
                stored = self._experiments.find_one({"_id": experiment_id}, {"name": 1})
                if stored is None or stored["name"] != name:  # not our own insert, sent again
                    raise experiment_exists(name) from None

        self._db.call(insert)
        return experiment_id

    def _experiment_doc(self, experiment_id: str) -> dict[str, Any]:
        experiment_id = v.experiment_id(experiment_id)
        doc = self._experiments.find_one({"_id": experiment_id})
        if doc is None:
            raise experiment_not_found(experiment_id)
        return doc

    def _active_experiment_doc(self, experiment_id: str) -> dict[str, Any]:
        doc = self._experiment_doc(experiment_id)
        if doc["l"] != ACTIVE:
            raise experiment_not_active(experiment_id, doc["l"])
        return doc

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._db.call(lambda: mapping.experiment_from(self._experiment_doc(experiment_id)))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        v.validate_text("name", name)  # no stored name can hold unstorable text
        doc = self._db.call(lambda: self._experiments.find_one({"name": name}))
        return None if doc is None else mapping.experiment_from(doc)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter: Filter = Filter(),
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Experiment]:
        kind = SearchKind.EXPERIMENTS
        page = PageRequest.search(kind, max_results, page_token, view_type, filter, tuple(order_by))
        query = {"$and": [{"l": {"$in": view_type.stage_values()}}, *q.experiment_clauses(filter)]}
        sort = q.experiment_sort(order_by)
        docs, more = self._db.call(lambda: q.find_page(self._experiments, query, sort, page))
        return page.page([mapping.experiment_from(d) for d in docs], more)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.validate_experiment_name(new_name)

        def work() -> None:
            doc = self._experiment_doc(experiment_id)
            if doc["l"] != ACTIVE:
                raise experiment_not_renamable()
            if doc["name"] == new_name:
                return
            try:
                self._experiments.update_one(
                    {"_id": doc["_id"]}, {"$set": {"name": new_name, "ut": self._clock.now_ms()}}
                )
            except DuplicateKeyError:
                raise experiment_exists(new_name) from None

        self._db.call(work)

    def delete_experiment(self, experiment_id: str) -> None:
        def work() -> None:
            doc = self._experiment_doc(experiment_id)
            if doc["l"] != ACTIVE:
                raise experiment_not_found(experiment_id)
            self._set_experiment_stage(doc["_id"], DELETED)

        self._db.call(work)

    def restore_experiment(self, experiment_id: str) -> None:
        def work() -> None:
            doc = self._experiment_doc(experiment_id)
            if doc["l"] != DELETED:
                raise experiment_not_found(experiment_id)
            self._set_experiment_stage(doc["_id"], ACTIVE)

        self._db.call(work)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        # Runs first, the experiment last: a call cut short in between is finished by calling it
        # again, since the experiment still shows its old stage (no transaction needed).
        # "dt" is when a run was deleted (purge_deleted_runs reads it).
        change: dict[str, Any] = (
            {"$set": {"l": stage, "dt": self._clock.now_ms()}}
            if stage == DELETED
            else {"$set": {"l": stage}, "$unset": {"dt": ""}}
        )
        self._runs.update_many({"x": experiment_id, "l": {"$ne": stage}}, change)
        self._experiments.update_one(
            {"_id": experiment_id}, {"$set": {"l": stage, "ut": self._clock.now_ms()}}
        )

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        v.validate_experiment_tag(tag.key, tag.value)

        def work() -> None:
            doc = self._active_experiment_doc(experiment_id)
            self._experiments.update_one({"_id": doc["_id"]}, {"$set": {path("t", tag.key): tag.value}})

        self._db.call(work)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        v.validate_lookup("key", key)

        def work() -> None:
            doc = self._active_experiment_doc(experiment_id)
            if encode(key) not in (doc.get("t") or {}):
                raise experiment_tag_not_found(experiment_id, key)
            self._experiments.update_one({"_id": doc["_id"]}, {"$unset": {path("t", key): ""}})

        self._db.call(work)

    # --- runs ----------------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        name, tag_map = v.run_name_and_tags(run_name, [(tag.key, tag.value) for tag in tags])
        start_time = v.validate_run_start(user_id, start_time)
        run_id = self._ids.new_id()

        def work() -> Run:
            experiment = self._active_experiment_doc(experiment_id)
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment["_id"],
                run_name=name,
                user_id=user_id,
                status=RunStatus.RUNNING,
                start_time=self._clock.now_ms() if start_time is None else start_time,
                end_time=None,
                artifact_uri=run_artifact_uri(experiment["art"], run_id),
            )
            doc = mapping.run_doc(info)
            self._place_values(doc, run_id, experiment["_id"], "t", tag_map)
            with contextlib.suppress(DuplicateKeyError):  # a retry after a lost reply: it is stored
                self._runs.insert_one(doc)
            return Run(info=info, data=RunData(tags=tuple(RunTag(k, val) for k, val in tag_map.items())))

        return self._db.call(work)

    def _place_values(
        self, doc: dict[str, Any], run_id: str, experiment_id: str, kind: str, values: dict[str, str]
    ) -> None:
        """Put params or tags into a new run document, moving long values out when over budget."""
        moved: list[tuple[str, str, str]] = []
        for key, value in values.items():
            size = mapping.value_size(key, value)
            if doc["sz"] + size > INLINE_BUDGET and len(value) > SPILL_PREFIX:
                moved.append((kind, key, value))
                doc[kind][encode(key)] = value[:SPILL_PREFIX]
                doc.setdefault(f"{kind}h", {})[encode(key)] = mapping.short_hash(value)
                doc["sz"] += mapping.value_size(key, value[:SPILL_PREFIX]) + 40
            else:
                doc[kind][encode(key)] = value
                doc["sz"] += size
        self._spill(run_id, experiment_id, moved)

    def _spill(self, run_id: str, experiment_id: str, moved: Sequence[tuple[str, str, str]]) -> None:
        """Store (kind, key, value) moved out of a run document: two commands for any number."""
        if not moved:
            return
        # The keys are registered first, so a search never misses a value that is out of line.
        self._meta.update_one(
            {"_id": SPILLED_KEYS},
            {"$addToSet": {"keys": {"$each": sorted({f"{kind}/{key}" for kind, key, _ in moved})}}},
            upsert=True,
        )
        self._values.bulk_write(
            [
                UpdateOne(
                    {"_id": f"{run_id}/{kind}/{encode(key)}/{mapping.short_hash(value)}"},
                    {
                        "$setOnInsert": {
                            "r": run_id,
                            "x": experiment_id,
                            "k": kind,
                            "n": key,
                            "h": mapping.short_hash(value),
                            "v": value,
                        }
                    },
                    upsert=True,
                )
                for kind, key, value in moved
            ],
            ordered=False,
        )

    def _run_doc_of(self, run_id: str, projection: dict[str, Any] | None = None) -> dict[str, Any]:
        v.validate_lookup("run_id", run_id)
        doc = self._runs.find_one({"_id": run_id}, projection)
        if doc is None:
            raise run_not_found(run_id)
        return doc

    def _active_run_doc(self, run_id: str, projection: dict[str, Any] | None = None) -> dict[str, Any]:
        doc = self._run_doc_of(run_id, projection)
        if doc["l"] != ACTIVE:
            raise run_not_active(run_id, doc["l"])
        return doc

    def _load_runs(self, docs: Sequence[dict[str, Any]]) -> list[Run]:
        """Runs for run documents: at most one more query for their datasets and one for values
        moved out of them, whatever their number."""
        spilled: dict[tuple[str, str, str], str] = {}
        if any(d.get("ph") or d.get("th") for d in docs):
            ids = [d["_id"] for d in docs if d.get("ph") or d.get("th")]
            for row in self._values.find({"r": {"$in": ids}}):
                spilled[(row["r"], row["k"], row["h"])] = row["v"]
        dataset_keys = {(d["x"], i["n"], i["d"]) for d in docs for i in d.get("di") or ()}
        datasets: dict[tuple[str, str, str], Dataset] = {}
        if dataset_keys:
            ids = [mapping.dataset_id(*k) for k in dataset_keys]
            rows = list(self._datasets.find({"_id": {"$in": ids}}))
            moved = self._moved_dataset_values(rows)
            for row in rows:
                datasets[(row["x"], row["name"], row["digest"])] = mapping.dataset_from(row, moved)
        return [mapping.run_from(d, spilled, datasets) for d in docs]

    def _moved_dataset_values(self, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], str]:
        """(dataset id, field) -> the whole value, for the fields ``rows`` moved out of line; one
        query by ``_id`` for all of them."""
        wanted = {
            mapping.chunk_id(row["_id"], field, digest, i): (row["_id"], field, i)
            for row in rows
            for field, (digest, count) in (row.get("ox") or {}).items()
            for i in range(count)
        }
        if not wanted:
            return {}
        parts: dict[tuple[str, str], dict[int, str]] = {}
        for chunk in self._dataset_values.find({"_id": {"$in": list(wanted)}}):
            dataset_id, field, i = wanted[chunk["_id"]]
            parts.setdefault((dataset_id, field), {})[i] = chunk["v"]
        if sum(len(p) for p in parts.values()) != len(wanted):
            # Chunks are written before the dataset document that names them: never expected.
            raise InternalError("A dataset value stored out of line is incomplete")
        return {key: "".join(p[i] for i in range(len(p))) for key, p in parts.items()}

    def get_run(self, run_id: str) -> Run:
        def work() -> Run:
            doc = self._run_doc_of(run_id)
            self._complete_stale(run_id, doc.get("w") or ())
            return self._load_runs([doc])[0]

        return self._db.call(work)

    def run_ids_with_prefix(self, prefix: str, limit: int) -> tuple[str, ...]:
        lookup = RunIdPrefix.of(prefix, limit)
        # A range on _id (strings compare by UTF-8 bytes: code points) walks the _id index; a
        # regex would need the user's text escaped. MongoDB 8 plans a range on _id alone as a
        # collection scan unless hinted (it takes the index for equality only).
        bounds: dict[str, str] = {"$gte": lookup.prefix}
        if lookup.upper is not None:
            bounds["$lt"] = lookup.upper

        def work() -> tuple[str, ...]:
            cursor = self._runs.find({"_id": bounds}, {"_id": 1}).sort(_BY_ID).hint(_BY_ID)
            return tuple(doc["_id"] for doc in cursor.limit(lookup.limit))

        return self._db.call(work)

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        end_time = v.validate_run_update(end_time, run_name)
        status = RunStatus.parse(run_status) if run_status is not None else None

        def work() -> RunInfo:
            self._active_run_doc(run_id, {"l": 1})
            values: dict[str, Any] = {}
            if status is not None:
                values["st"] = status.value
            if end_time is not None:
                values["t1"] = end_time
            update: dict[str, Any] = {"$set": values}
            if run_name:
                values["n"] = run_name
                values[path("t", RUN_NAME_TAG)] = run_name
                update["$unset"] = {path("th", RUN_NAME_TAG): ""}
            projection = {"p": 0, "t": 0, "m": 0, "di": 0}
            doc = (
                self._runs.find_one_and_update(
                    {"_id": run_id}, update, projection, return_document=ReturnDocument.AFTER
                )
                if values
                else self._runs.find_one({"_id": run_id}, projection)
            )
            if doc is None:
                raise run_not_found(run_id)
            return mapping.run_info_from(doc)

        return self._db.call(work)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, ACTIVE)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        v.validate_lookup("run_id", run_id)

        def work() -> None:
            if stage == DELETED:
                # Only a run not deleted yet gets a deletion time: deleting again keeps the first.
                done = self._runs.update_one(
                    {"_id": run_id, "l": {"$ne": DELETED}},
                    {"$set": {"l": DELETED, "dt": self._clock.now_ms()}},
                )
                if done.matched_count == 0 and self._runs.find_one({"_id": run_id}, {"_id": 1}) is None:
                    raise run_not_found(run_id)
                return
            done = self._runs.update_one({"_id": run_id}, {"$set": {"l": stage}, "$unset": {"dt": ""}})
            if done.matched_count == 0:
                raise run_not_found(run_id)

        self._db.call(work)

    def purge_deleted_runs(self, older_than_ms: int, *, dry_run: bool = False) -> list[RunInfo]:
        def find() -> list[RunInfo]:
            query: dict[str, Any] = {"l": DELETED}
            if older_than_ms != 0:
                query["dt"] = {"$lte": self._clock.now_ms() - older_than_ms}
            projection = {"p": 0, "t": 0, "m": 0, "di": 0, "ph": 0, "th": 0}
            return [mapping.run_info_from(doc) for doc in self._runs.find(query, projection).sort("_id", 1)]

        infos = self._db.call(find)
        if dry_run:
            return infos
        ids = [info.run_id for info in infos]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]

            def purge(chunk: list[str] = chunk) -> None:
                # Children first, the run documents last: a purge cut short is finished by the
                # next one, since the runs are still there and still deleted. Re-read which are
                # still deleted right before, so a run restored meanwhile keeps its history.
                still = [d["_id"] for d in self._runs.find({"_id": {"$in": chunk}, "l": DELETED}, {"_id": 1})]
                if not still:
                    return
                self._metrics.delete_many({"r": {"$in": still}})
                self._values.delete_many({"r": {"$in": still}})
                self._runs.delete_many({"_id": {"$in": still}, "l": DELETED})

            self._db.call(purge)
        return infos

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        v.validate_lookup("run_id", run_id)
        v.validate_lookup("key", key)
        field = path("t", key)

        def work() -> None:
            doc = self._active_run_doc(run_id, {"l": 1, field: 1})
            if encode(key) not in (doc.get("t") or {}):
                raise run_tag_not_found(run_id, key)
            self._runs.update_one({"_id": run_id}, {"$unset": {field: "", path("th", key): ""}})

        self._db.call(work)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        batch = LogBatch.prepare(metrics, params, tags)
        v.validate_lookup("run_id", run_id)
        linked = list(batch.model_ids)
        latest = dict(batch.latest)
        param_values = {p.key: p.value for p in batch.params}
        tag_values = batch.tag_values
        # The points travel in the run document's update (one atomic write makes the whole batch
        # visible), then go to `metrics`, then leave the document: a crash anywhere leaves the
        # batch whole or absent, and whoever finds the entry completes it (docs/adr/0008). One id
        # per call: an attempt sent again after a lost reply finds its own entry.
        entry = mapping.pending_entry(secrets.token_hex(12), _wall_ms(), metrics) if metrics else None

        def work() -> None:
            if linked:
                found = {d["_id"] for d in self._models.find({"_id": {"$in": linked}}, {"_id": 1})}
                missing = [m for m in linked if m not in found]
                if missing:
                    raise logged_model_not_found(missing[0])
            # The common case in one update: new params, newer points, room in the document.
            pending = self._write_run_blind(run_id, param_values, tag_values, latest, entry)
            if pending is None:
                self._write_run_checked(run_id, batch, tag_values, latest, entry)
            else:
                self._complete_stale(run_id, pending)
            if entry is not None:
                self._complete(run_id, entry)

        self._db.call(work)

    def _write_run_blind(
        self,
        run_id: str,
        params: dict[str, str],
        tags: dict[str, str],
        latest: dict[str, Metric],
        entry: dict[str, Any] | None,
    ) -> list[dict[str, Any]] | None:
        """One update that succeeds when the run is active, none of ``params`` is stored yet,
        every point of ``latest`` is newer than the stored one and the values and ``entry`` fit
        their budgets: then nothing needed checking. Returns the pending entries (``i`` and
        ``at``) the document held before, or None (nothing written), which sends the caller to
        :meth:`_write_run_checked` to find out why."""
        added = sum(mapping.value_size(k, val) for k, val in params.items()) + sum(
            mapping.value_size(k, val) for k, val in tags.items()
        )
        condition: dict[str, Any] = {"_id": run_id, "l": ACTIVE}
        sets: dict[str, Any] = {}
        unsets: dict[str, Any] = {}
        for key, value in params.items():
            condition[path("p", key)] = {"$exists": False}
            sets[path("p", key)] = value
        for key, value in tags.items():
            sets[path("t", key)] = value
            unsets[path("th", key)] = ""
        for key, m in latest.items():
            field = path("m", key)
            # Missing, or an older point: `$not $gte` also matches the missing field.
            condition[f"{field}.k"] = {"$not": {"$gte": mapping.order_code(m)}}
            sets[field] = mapping.latest_doc(m)
        if RUN_NAME_TAG in tags:
            sets["n"] = tags[RUN_NAME_TAG]
        update: dict[str, Any] = {"$set": sets}
        increments: dict[str, int] = {}
        if added:
            condition["sz"] = {"$lte": INLINE_BUDGET - added}
            increments["sz"] = added
        if unsets:
            update["$unset"] = unsets
        if entry is None:
            if increments:
                update["$inc"] = increments
            return [] if self._runs.update_one(condition, update).matched_count == 1 else None
        _add_entry(condition, update, increments, entry)
        before = self._runs.find_one_and_update(
            condition, update, {"_id": 0, "w.i": 1, "w.at": 1}, return_document=ReturnDocument.BEFORE
        )
        return None if before is None else list(before.get("w") or ())

    def _write_run_checked(
        self,
        run_id: str,
        batch: LogBatch,
        tag_values: dict[str, str],
        latest: dict[str, Metric],
        entry: dict[str, Any] | None,
    ) -> None:
        """The careful path: read what the batch touches, raise the caller's errors, then write
        with conditions on what was read, again if a racing writer got in between. Atomic:
        every check that can fail runs before the one write that makes the batch visible."""
        projection: dict[str, Any] = {"l": 1, "x": 1, "sz": 1, "wz": 1, "w.i": 1, "w.at": 1}
        for p in batch.params:
            projection[path("p", p.key)] = 1
            projection[path("ph", p.key)] = 1
        for key in latest:
            projection[path("m", key)] = 1
        for _ in range(5):
            doc = self._active_run_doc(run_id, projection)
            pending = list(doc.get("w") or ())
            if entry is not None and any(e.get("i") == entry["i"] for e in pending):
                return  # written by an attempt of this call whose reply was lost
            fresh = self._new_params(run_id, doc, batch)
            if entry is not None and doc.get("wz", 0) + entry["z"] > PENDING_BUDGET:
                # Other batches' points fill the room: completing them is safe whoever wrote
                # them (inserts are idempotent), and one batch always fits alone.
                self._complete_pending(run_id, lambda e: True)
                continue
            self._complete_stale(run_id, pending)
            if self._write_run(run_id, doc, fresh, tag_values, latest, entry):
                return
            # Lost a race: the run was deleted, another writer stored a param of this batch or a
            # newer point first. Look again: a different param value is the caller's error.
        raise InvalidState(f"The run {run_id} kept changing while its values were written; retry.")

    def _new_params(self, run_id: str, doc: dict[str, Any], batch: LogBatch) -> dict[str, str]:
        """The batch's params ``doc`` does not hold yet (:meth:`LogBatch.new_params` raises for a
        changed one). A value moved out of line is compared by its hash, and read back only
        when it differs, for the error message."""
        stored = decode_map(doc.get("p"))
        hashes = decode_map(doc.get("ph"))
        known: dict[str, str] = {}
        for p in batch.params:
            if p.key not in stored:
                continue
            if p.key not in hashes:
                known[p.key] = stored[p.key]
            elif mapping.short_hash(p.value) == hashes[p.key]:
                known[p.key] = p.value
            else:
                known[p.key] = self._spilled_value(run_id, "p", p.key, hashes[p.key])
        return {p.key: p.value for p in batch.new_params(run_id, known)}

    def _spilled_value(self, run_id: str, kind: str, key: str, digest: str) -> str:
        row = self._values.find_one({"_id": f"{run_id}/{kind}/{encode(key)}/{digest}"})
        return "" if row is None else str(row["v"])

    def _write_run(
        self,
        run_id: str,
        doc: dict[str, Any],
        params: dict[str, str],
        tags: dict[str, str],
        latest: dict[str, Metric],
        entry: dict[str, Any] | None,
    ) -> bool:
        """One conditional update of the run document for new params, tags, latest metric
        values and the batch's pending ``entry``, made against ``doc`` as read: False when the
        run changed meanwhile (deleted, a param of ``params`` stored, a latest value moved, the
        pending room taken) and nothing was written."""
        size = doc.get("sz", 0)
        sets: dict[str, Any] = {}
        unsets: dict[str, Any] = {}
        condition: dict[str, Any] = {"_id": run_id, "l": ACTIVE}
        moved: list[tuple[str, str, str]] = []
        for kind, values in (("p", params), ("t", tags)):
            for key, value in values.items():
                field, hash_field = path(kind, key), path(f"{kind}h", key)
                if size + mapping.value_size(key, value) > INLINE_BUDGET and len(value) > SPILL_PREFIX:
                    moved.append((kind, key, value))
                    sets[field] = value[:SPILL_PREFIX]
                    sets[hash_field] = mapping.short_hash(value)
                    size += mapping.value_size(key, value[:SPILL_PREFIX]) + 40
                else:
                    sets[field] = value
                    if kind == "t":
                        unsets[hash_field] = ""
                    size += mapping.value_size(key, value)
                if kind == "p":
                    # Absent still: a racing writer of the same param makes this update miss.
                    condition[field] = {"$exists": False}
        self._spill(run_id, doc["x"], moved)
        stored_latest = doc.get("m") or {}
        for key, m in latest.items():
            field = path("m", key)
            stored = stored_latest.get(encode(key))
            if stored is None:
                condition[field] = {"$exists": False}
            elif mapping.order_code(m) > stored["k"]:
                condition[f"{field}.k"] = stored["k"]  # still the point that was read
            else:
                continue  # the stored point is newer
            sets[field] = mapping.latest_doc(m)
        if not sets and entry is None:
            return True
        if params or tags:
            sets["sz"] = size
        if RUN_NAME_TAG in tags:
            sets["n"] = tags[RUN_NAME_TAG]
        update: dict[str, Any] = {"$set": sets} if sets else {}
        if unsets:
            update["$unset"] = unsets
        if entry is not None:
            _add_entry(condition, update, {}, entry)
        return self._runs.update_one(condition, update).matched_count == 1

    def _complete(self, run_id: str, entry: dict[str, Any]) -> None:
        """Store a pending entry's points (history, and the logged models' copies), then take
        the entry out of the run document. Idempotent, so anyone may do it, any number of
        times, concurrently with its writer: the inserts ignore what is stored, and the entry
        leaves (with its size) once."""
        points = mapping.pending_points(entry)
        self._insert_points(run_id, points)
        linked = [m for m in points if m.model_id is not None]
        if linked:
            self._add_model_metrics(run_id, linked)
        self._runs.update_one(
            {"_id": run_id, "w.i": entry["i"]},
            {"$pull": {"w": {"i": entry["i"]}}, "$inc": {"wz": -entry["z"]}},
        )

    def _complete_pending(self, run_id: str, wanted: Callable[[dict[str, Any]], bool]) -> None:
        self._complete_entries(run_id, self._runs.find_one({"_id": run_id}, {"w": 1}), wanted)

    def _complete_entries(
        self,
        run_id: str,
        doc: dict[str, Any] | None,
        wanted: Callable[[dict[str, Any]], bool] = lambda entry: True,
    ) -> None:
        """Store the points of the pending entries of ``doc`` (the run document, read with its
        ``w``) that ``wanted`` picks."""
        for entry in (doc or {}).get("w") or ():
            if wanted(entry):
                self._complete(run_id, entry)

    def _complete_stale(self, run_id: str, pending: Iterable[dict[str, Any]]) -> None:
        """Complete the entries (as read: ``i`` and ``at`` at least) older than the lease:
        their writer died or stalls. A live writer's entry is left to it."""
        expired = _wall_ms() - PENDING_LEASE_MS
        stale = {e["i"] for e in pending if e.get("at", 0) < expired}
        if stale:
            self._complete_pending(run_id, lambda e: e["i"] in stale)

    def _insert_points(self, run_id: str, metrics: Sequence[Metric]) -> None:
        # A retry after a lost reply, or a second completer, inserts nothing twice
        # (deterministic ids).
        points = {d["_id"]: d for d in (mapping.history_doc(run_id, m) for m in metrics)}
        try:
            self._metrics.insert_many(list(points.values()), ordered=False)
        except BulkWriteError as error:
            if not only_duplicates(error):
                raise

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Metric]:
        page = PageRequest.metric_history(run_id, metric_key, max_results, page_token)

        def work() -> list[Metric]:
            doc = self._runs.find_one({"_id": run_id}, {"w": 1})
            if doc is None:
                raise run_not_found(run_id)
            # Whatever their age: a latest value shown by get_run must have its point here.
            self._complete_entries(run_id, doc, lambda entry: any(g["k"] == metric_key for g in entry["g"]))
            cursor = self._metrics.find({"r": run_id, "k": metric_key}, {"r": 0, "_id": 0}).batch_size(10_000)
            if page.fetch is None:
                # The whole history: sorting it here is cheaper than asking the server to
                # (measured: 35% of the call on the test server), and the order is total.
                return sorted((mapping.metric_from_history(d) for d in cursor), key=metric_history_key)
            cursor = (
                cursor.sort([("t", 1), ("s", 1), ("v", 1), ("nan", 1)]).skip(page.offset).limit(page.fetch)
            )
            return [mapping.metric_from_history(d) for d in cursor]

        points = self._db.call(work)
        return page.slice(points) if page.fetch is None else page.page(points)

    def metric_history_lengths(self, run_id: str) -> dict[str, int]:
        def work() -> dict[str, int]:
            # Points still pending in the run document are not in the history yet: store them
            # first (as a history read does), so each counts, and counts once.
            self._complete_entries(run_id, self._run_doc_of(run_id, {"w": 1}))
            # The history index (r, k, ...) finds the run's points; the group reads only ``k``, which
            # that index holds, so MongoDB can count without loading the documents.
            groups = self._metrics.aggregate(
                [{"$match": {"r": run_id}}, {"$group": {"_id": "$k", "n": {"$sum": 1}}}]
            )
            return {group["_id"]: group["n"] for group in groups}

        return self._db.call(work)

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[LoggedModelInput] = (),
    ) -> None:
        check_run_inputs(datasets, models)

        def work() -> None:
            doc = self._active_run_doc(run_id, {"l": 1, "x": 1})
            self._attach_inputs(run_id, doc["x"], datasets)
            if models:
                self._runs.update_one(
                    {"_id": run_id}, {"$addToSet": {"mi": {"$each": [m.model_id for m in models]}}}
                )

        self._db.call(work)

    def _attach_inputs(self, run_id: str, experiment_id: str, datasets: Sequence[DatasetInput]) -> None:
        if not datasets:
            return
        # The first stored dataset of that (name, digest) in the experiment wins, as in MLflow,
        # and so does the first input of it to a run: both writes only ever insert.
        self._attach_dataset_rows(experiment_id, datasets)
        self._runs.bulk_write(
            [
                UpdateOne(
                    {
                        "_id": run_id,
                        "di": {"$not": {"$elemMatch": {"n": i.dataset.name, "d": i.dataset.digest}}},
                    },
                    {"$push": {"di": mapping.dataset_input_doc(i)}},
                )
                for i in datasets
            ],
            ordered=True,  # the same dataset twice in one call: the first input wins
        )

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        v.validate_model_outputs(models)

        def work() -> None:
            self._active_run_doc(run_id, {"l": 1})
            if not models:
                return
            ids = sorted({m.model_id for m in models})
            found = {d["_id"] for d in self._models.find({"_id": {"$in": ids}, "l": ACTIVE}, {"_id": 1})}
            for model_id in ids:
                if model_id not in found:
                    raise logged_model_not_found(model_id)
            self._runs.update_one(
                {"_id": run_id},
                {"$addToSet": {"mo": {"$each": [{"m": m.model_id, "s": m.step} for m in models]}}},
            )

        self._db.call(work)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        search = ExperimentSearch.runs(
            experiment_ids, filter, run_view_type, max_results, order_by, page_token
        )
        wanted = list(search.experiment_ids)
        base = {"x": {"$in": wanted}, "l": {"$in": run_view_type.stage_values()}}

        def work() -> tuple[list[Run], bool]:
            spilled = self._spilled_keys(filter, order_by)
            clauses = q.run_clauses(filter, self._spill_lookup(spilled, wanted))
            sort, computed = q.run_sort(order_by, self._spilled_order(spilled, order_by, wanted))
            query = {"$and": [base, *clauses]} if clauses else base
            # Pending points are not part of a run; their entries' ids and ages are.
            docs, more = q.find_page(
                self._runs, query, sort, search.page, computed=computed, hidden={"w.g": 0}
            )
            for doc in docs:
                self._complete_stale(doc["_id"], doc.get("w") or ())
            return self._load_runs(docs), more

        return search.page.page(*self._db.call(work))

    def _spilled_keys(self, filter: Filter, order_by: Sequence[OrderBy]) -> set[str]:
        """The ``kind/key`` names some run moved out of its document, read only when the search
        compares or orders by a param or tag (one small read)."""
        needs = any(
            c.key_type in (KeyType.PARAM, KeyType.TAG)
            and c.comparator not in (Comparator.IS_NULL, Comparator.IS_NOT_NULL)
            for c in filter.comparisons
        ) or any(o.key_type in (KeyType.PARAM, KeyType.TAG) for o in order_by)
        if not needs:
            return set()
        meta = self._meta.find_one({"_id": SPILLED_KEYS})
        return set(meta["keys"]) if meta else set()

    def _spill_lookup(self, spilled: set[str], experiments: list[str]) -> q.SpillLookup:
        """For comparisons on keys some run moved out of its document: which of those runs match."""

        def lookup(kind: str, g: KeyGroup) -> list[dict[str, Any]] | None:
            if f"{kind}/{g.key}" not in spilled:
                return None
            tests = [{"v": q.condition(c.comparator, c.value)} for c in g.tests]
            rows = self._values.find(
                {"k": kind, "n": g.key, "x": {"$in": experiments}, "$and": tests}, {"r": 1, "h": 1}
            )
            # A value counts only while the run document still names it (by its hash).
            return [{"_id": row["r"], path(f"{kind}h", g.key): row["h"]} for row in rows]

        return lookup

    def _spilled_order(
        self, spilled: set[str], order_by: Sequence[OrderBy], experiments: list[str]
    ) -> dict[int, dict[str, Any]]:
        """For each order_by entry (by position) on a key some run moved out: an expression giving
        the full value of those runs (their documents hold a prefix only), the stored one else."""
        exprs: dict[int, dict[str, Any]] = {}
        for i, o in enumerate(order_by):
            kind = {KeyType.PARAM: "p", KeyType.TAG: "t"}.get(o.key_type)
            if kind is None or f"{kind}/{o.key}" not in spilled:
                continue
            rows = self._values.find(
                {"k": kind, "n": o.key, "x": {"$in": experiments}}, {"r": 1, "h": 1, "v": 1}
            )
            hash_field = "$" + path(f"{kind}h", o.key)
            branches = [
                {
                    "case": {"$and": [{"$eq": ["$_id", row["r"]]}, {"$eq": [hash_field, row["h"]]}]},
                    "then": {"$literal": row["v"]},
                }
                for row in rows
            ]
            if branches:
                exprs[i] = {"$switch": {"branches": branches, "default": "$" + path(kind, o.key)}}
        return exprs

    def search_datasets(self, experiment_ids: Sequence[str]) -> tuple[DatasetSummary, ...]:
        wanted = sorted(set(v.experiment_ids(experiment_ids)))

        def work() -> list[dict[str, Any]]:
            return list(self._runs.find({"x": {"$in": wanted}, "di.0": {"$exists": True}}, {"x": 1, "di": 1}))

        summaries = {
            DatasetSummary(d["x"], i["n"], i["d"], i.get("c"))
            for d in self._db.call(work)
            for i in d.get("di") or ()
        }
        return tuple(sorted(summaries, key=lambda d: (d.experiment_id, d.name, d.digest, d.context or "")))

    # --- logged models ---------------------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[LoggedModelTag] = (),
        params: Sequence[LoggedModelParameter] = (),
        model_type: str | None = None,
    ) -> LoggedModel:
        new = NewLoggedModel.checked(name, source_run_id, tags, params, model_type)
        # One id per call, drawn before the retried work: a retry after a lost reply finds its model.
        unique_id = self._ids.new_id()

        def work() -> LoggedModel:
            experiment = self._active_experiment_doc(experiment_id)
            model = new.build(unique_id, experiment["_id"], experiment["art"], self._clock.now_ms())
            with contextlib.suppress(DuplicateKeyError):  # a retry after a lost reply
                self._models.insert_one(mapping.logged_model_doc(model))
            return model

        return self._db.call(work)

    def _model_doc(self, model_id: str, *, allow_deleted: bool = False) -> dict[str, Any]:
        # As in MLflow, reads hide deleted models while writes (delete again, tags, finalize)
        # still reach them.
        v.validate_lookup("model_id", model_id)
        doc = self._models.find_one({"_id": model_id})
        if doc is None or (doc["l"] != ACTIVE and not allow_deleted):
            raise logged_model_not_found(model_id)
        return doc

    def _add_model_metrics(self, run_id: str, metrics: Iterable[Metric]) -> None:
        updates = []
        for m in metrics:
            point = mapping.model_point(run_id, m)
            field = path("ml", m.key)
            updates.append(
                UpdateOne({"_id": m.model_id, "ms.i": {"$ne": point["i"]}}, {"$push": {"ms": point}})
            )
            # The value the model is ordered by: greatest timestamp, then step, then smallest run id.
            newer = {
                "$or": [
                    {field: {"$exists": False}},
                    {f"{field}.t": {"$lt": m.timestamp}},
                    {f"{field}.t": m.timestamp, f"{field}.s": {"$lt": m.step}},
                    {f"{field}.t": m.timestamp, f"{field}.s": m.step, f"{field}.run": {"$gt": run_id}},
                ]
            }
            updates.append(
                UpdateOne(
                    {"_id": m.model_id, **newer},
                    {"$set": {field: {"v": point["v"], "t": m.timestamp, "s": m.step, "run": run_id}}},
                )
            )
        # In order: the points of one call arrive in the order given, like the other stores.
        self._models.bulk_write(updates, ordered=True)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._db.call(lambda: mapping.logged_model_from(self._model_doc(model_id)))

    def delete_logged_model(self, model_id: str) -> None:
        def work() -> None:
            self._model_doc(model_id, allow_deleted=True)
            self._models.update_one({"_id": model_id}, {"$set": {"l": DELETED, "ut": self._clock.now_ms()}})

        self._db.call(work)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        parsed = LoggedModelStatus.parse(status)

        def work() -> LoggedModel:
            self._model_doc(model_id, allow_deleted=True)
            doc = self._models.find_one_and_update(
                {"_id": model_id},
                {"$set": {"status": parsed.value, "ut": self._clock.now_ms()}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                raise logged_model_not_found(model_id)
            return mapping.logged_model_from(doc)

        return self._db.call(work)

    def set_logged_model_tags(self, model_id: str, tags: Sequence[LoggedModelTag]) -> None:
        for tag in tags:
            v.validate_run_tag(tag.key, tag.value)

        def work() -> None:
            self._model_doc(model_id, allow_deleted=True)
            if tags:
                self._models.update_one(
                    {"_id": model_id}, {"$set": {path("t", x.key): x.value for x in tags}}
                )

        self._db.call(work)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        v.validate_lookup("key", key)

        def work() -> None:
            doc = self._model_doc(model_id, allow_deleted=True)
            if encode(key) not in (doc.get("t") or {}):
                raise logged_model_tag_not_found(model_id, key)
            self._models.update_one({"_id": model_id}, {"$unset": {path("t", key): ""}})

        self._db.call(work)

    def log_logged_model_params(self, model_id: str, params: Sequence[LoggedModelParameter]) -> None:
        command = LoggedModelParams.prepare(params)

        def work() -> None:
            doc = self._model_doc(model_id, allow_deleted=True)
            new = command.new_params(model_id, decode_map(doc.get("p")))
            fresh = {path("p", p.key): p.value for p in new}
            if fresh:
                condition = {f: {"$exists": False} for f in fresh}
                done = self._models.update_one({"_id": model_id, **condition}, {"$set": fresh})
                if done.matched_count == 0:
                    raise InvalidParameterValue(
                        f"Changing param values is not allowed: another writer logged params of logged"
                        f" model ID='{model_id}' at the same time."
                    )

        self._db.call(work)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        datasets: Sequence[DatasetRef] = (),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        search = ExperimentSearch.logged_models(
            experiment_ids, filter, datasets, max_results, order_by, page_token
        )
        wanted = list(search.experiment_ids)
        query = {"$and": [{"x": {"$in": wanted}, "l": ACTIVE}, *q.logged_model_clauses(filter, datasets)]}
        sort, computed = q.logged_model_sort(order_by)
        docs, more = self._db.call(
            lambda: q.find_page(self._models, query, sort, search.page, computed=computed)
        )
        return search.page.page([mapping.logged_model_from(d) for d in docs], more)

    # --- import (migration) ----------------------------------------------------------------------------

    def import_experiment(self, experiment: Experiment) -> None:
        check_imported_experiment(experiment)
        experiment_id = experiment.experiment_id
        doc = mapping.experiment_doc(
            experiment_id,
            experiment.name,
            experiment.artifact_location,
            experiment.lifecycle_stage,
            experiment.creation_time,
            experiment.last_update_time,
            experiment.tags,
        )

        def write() -> None:
            existing = self._experiments.find_one({"_id": experiment_id})
            if existing is not None and experiment_id != DEFAULT_EXPERIMENT_ID:
                if {k: existing.get(k) for k in doc} == doc:
                    return  # our own write, sent again after a lost reply
                raise experiment_id_exists(experiment_id)
            other = self._experiments.find_one(
                {"name": experiment.name, "_id": {"$ne": experiment_id}}, {"_id": 1}
            )
            if other is not None:
                raise experiment_exists(experiment.name)
            try:
                self._experiments.replace_one({"_id": experiment_id}, doc, upsert=True)
            except DuplicateKeyError:
                raise experiment_exists(experiment.name) from None

        self._db.call(write)
        if experiment_id.isdigit():
            # Later experiments are numbered after every imported id.
            self._db.call(
                lambda: self._counters.update_one(
                    {"_id": "experiment"}, {"$max": {"value": int(experiment_id)}}, upsert=True
                )
            )

    def import_run(self, run: Run, metric_history: Sequence[Metric]) -> None:
        imported = ImportedRun.prepare(run.info.run_id, run.data.params, run.data.tags, metric_history)
        run_id = run.info.run_id

        def work() -> None:
            self._experiment_doc(run.info.experiment_id)
            if self._runs.find_one({"_id": run_id}, {"_id": 1}) is not None:
                raise run_exists(run_id)
            # History first, the run document last: an import cut short is simply run again.
            if imported.points:
                self._insert_points(run_id, imported.points)
            self._attach_dataset_rows(run.info.experiment_id, run.inputs.dataset_inputs)
            doc = mapping.run_doc(run.info)
            self._place_values(
                doc, run_id, run.info.experiment_id, "p", {p.key: p.value for p in run.data.params}
            )
            self._place_values(
                doc, run_id, run.info.experiment_id, "t", {x.key: x.value for x in run.data.tags}
            )
            doc["m"] = {encode(k): mapping.latest_doc(m) for k, m in imported.latest.items()}
            seen: set[tuple[str, str]] = set()
            doc["di"] = []
            for i in run.inputs.dataset_inputs:
                if (i.dataset.name, i.dataset.digest) in seen:
                    continue
                seen.add((i.dataset.name, i.dataset.digest))
                doc["di"].append(mapping.dataset_input_doc(i))
            # Model links are kept as given: in a migration the models may arrive later.
            doc["mi"] = sorted({m.model_id for m in run.inputs.model_inputs})
            doc["mo"] = [{"m": m.model_id, "s": m.step} for m in run.outputs.model_outputs]
            deleted_time = imported_deletion_time(run.info)
            if deleted_time is not None:
                doc["dt"] = deleted_time
            try:
                self._runs.insert_one(doc)
            except DuplicateKeyError:
                raise run_exists(run_id) from None

        self._db.call(work)

    def _insert_chunk(self, chunk: dict[str, Any]) -> None:
        with contextlib.suppress(DuplicateKeyError):  # an idempotent id: already stored
            self._dataset_values.insert_one(chunk)

    def _attach_dataset_rows(self, experiment_id: str, inputs: Sequence[DatasetInput]) -> None:
        if not inputs:
            return
        rows: list[UpdateOne] = []
        ids = [mapping.dataset_id(experiment_id, i.dataset.name, i.dataset.digest) for i in inputs]
        # The first stored dataset wins: one stored already needs no write of its long values.
        stored = {d["_id"] for d in self._datasets.find({"_id": {"$in": ids}}, {"_id": 1})}
        for dataset_id, i in zip(ids, inputs, strict=True):
            if dataset_id in stored:
                continue
            values, chunks = mapping.dataset_values(dataset_id, i.dataset)
            # Chunks first, so a dataset document never names a chunk that is not there yet. One
            # insert each keeps every request under 1 MB, and its own call retries just that
            # chunk when throttled (a retry of the whole call could send 80 again and again).
            for chunk in chunks:
                self._db.call(functools.partial(self._insert_chunk, chunk))
            rows.append(
                UpdateOne(
                    {"_id": dataset_id},
                    {
                        "$setOnInsert": {
                            "x": experiment_id,
                            "name": i.dataset.name,
                            "digest": i.dataset.digest,
                            "source_type": i.dataset.source_type,
                            **values,
                        }
                    },
                    upsert=True,
                )
            )
        if rows:
            self._datasets.bulk_write(rows, ordered=False)


__all__ = ["MongoTrackingStore"]
