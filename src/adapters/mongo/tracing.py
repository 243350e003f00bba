"""Traces on MongoDB (and Cosmos DB), mixed into :class:`MongoTrackingStore`.

Documents (docs/adr/0015):

* ``traces``: one per trace, its info: ``{_id (trace id), x (experiment id), xi (the id as a
  number, for ordering), ts (request time), d (duration), et (end time), st (state), rq, rs
  (previews), c (client request id), t: {tag}, md: {metadata}}``; tag and metadata keys encoded
  (:mod:`.keys`). ``search_traces`` is one query on ``(x, ts, _id)``.
* ``spans``: one per span, ``{_id, tr (trace id), sp (span id), s (start), j (the span as JSON)}``,
  keyed by trace and span id, so a rewrite replaces it and a retry stores nothing twice. A span
  whose JSON exceeds :data:`SPAN_INLINE_BYTES` (far below Cosmos DB's 2 MB) is stored as pieces
  in documents of its own, written before the span document that names them (``g``, ``k``).

``et`` is always ``ts + (d or 0)`` (what ``end_time_ms`` filters and orders on), written with them.

Writes need no transaction: span documents are upserts by id; ``log_spans`` creates a trace info
with ``$setOnInsert`` only, so it never overwrites what ``start_trace`` wrote, and changes a known
one with updates whose filters hold the values it read (times, state and name only while the trace
is open, previews only where still missing): one that lost a race matches nothing and is computed
again from a fresh read. ``start_trace`` is one update that sets its fields and merges tags and
metadata key by key, so it never loses what a concurrent ``log_spans`` or ``set_trace_tag`` wrote.
Semantics are on the port, not repeated here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from bson import Binary
from pymongo import ReplaceOne, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from genesis_flow.adapters.mongo import mapping
from genesis_flow.adapters.mongo import search as q
from genesis_flow.adapters.mongo.database import MongoDatabase, is_duplicate_key
from genesis_flow.adapters.mongo.keys import decode_map, encode, path
from genesis_flow.core import validation as v
from genesis_flow.core.commands import ExperimentSearch
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import InternalError
from genesis_flow.core.search.ast import Filter, OrderBy
from genesis_flow.core.tracing import (
    OPEN_STATES,
    TRACE_NAME_TAG,
    Span,
    SpanEvent,
    SpanLink,
    Trace,
    TraceInfo,
    carries_totals,
    check_delete_traces_arguments,
    info_from_spans,
    span_order,
    started,
    trace_not_found,
    trace_tag_not_found,
    update_info_from_spans,
    validate_span,
    validate_trace_id,
    validate_trace_info,
    validate_trace_tag,
)

# Bytes of span JSON kept in the span document; a longer span is split into pieces of this size.
SPAN_INLINE_BYTES = 1_000_000
# Racing upserts of one new document may fail with a duplicate key; sent again, they update it.
UPSERT_ATTEMPTS = 5
# Rounds of log_spans's info writes: a round whose guarded updates lost a race reads again.
INFO_WRITE_ROUNDS = 5
# What log_spans reads of a known trace: the fields its spans may change.
_INFO_FIELDS = {"x": 1, "ts": 1, "st": 1, "d": 1, "rq": 1, "rs": 1, "t": 1, "md": 1}
# Trace ids per query when deleting (keeps each command far below the message size limit).
DELETE_CHUNK = 1000


def _end_time(info: TraceInfo) -> int:
    # What end_time_ms means (MLflow's SQL store): timestamp + COALESCE(duration, 0).
    return info.request_time + (info.execution_duration or 0)


def _span_key(trace_id: str, span_id: str) -> str:
    # The trace id's length makes the key injective whatever characters the ids hold.
    return f"{len(trace_id)}:{trace_id}:{span_id}"


def _span_json(span: Span) -> str:
    return json.dumps(
        {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_id": span.parent_id,
            "name": span.name,
            "start_time_ns": span.start_time_ns,
            "end_time_ns": span.end_time_ns,
            "status_code": span.status_code.value,
            "status_message": span.status_message,
            "attributes": span.attributes,
            "events": [
                {"name": e.name, "timestamp_ns": e.timestamp_ns, "attributes": e.attributes}
                for e in span.events
            ],
            "links": [
                {"trace_id": link.trace_id, "span_id": link.span_id, "attributes": link.attributes}
                for link in span.links
            ],
            "otel_trace_id": span.otel_trace_id,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _span_from_json(text: str) -> Span:
    d = json.loads(text)
    return Span(
        d["trace_id"],
        d["span_id"],
        d["name"],
        d["start_time_ns"],
        parent_id=d["parent_id"],
        end_time_ns=d["end_time_ns"],
        status_code=d["status_code"],
        status_message=d["status_message"],
        attributes=d["attributes"],
        events=tuple(SpanEvent(e["name"], e["timestamp_ns"], e["attributes"]) for e in d["events"]),
        # Absent from spans stored before links and foreign trace ids were kept.
        links=tuple(SpanLink(k["trace_id"], k["span_id"], k["attributes"]) for k in d.get("links", ())),
        otel_trace_id=d.get("otel_trace_id"),
    )


def _span_writes(span: Span) -> list[ReplaceOne[dict[str, Any]]]:
    """The writes storing ``span``: its pieces first (if any), then its own document."""
    key = _span_key(span.trace_id, span.span_id)
    doc: dict[str, Any] = {"tr": span.trace_id, "sp": span.span_id, "s": span.start_time_ns}
    text = _span_json(span)
    data = text.encode()
    if len(data) <= SPAN_INLINE_BYTES:
        return [ReplaceOne({"_id": key}, {**doc, "j": text}, upsert=True)]
    # Pieces carry the content's hash: a rewrite never mixes its pieces with an older version's.
    generation = hashlib.sha256(data).hexdigest()[:16]
    pieces = [data[i : i + SPAN_INLINE_BYTES] for i in range(0, len(data), SPAN_INLINE_BYTES)]
    writes = [
        ReplaceOne(
            {"_id": f"{key}:{generation}:{n}"},
            {"tr": span.trace_id, "sp": span.span_id, "g": generation, "i": n, "b": Binary(piece)},
            upsert=True,
        )
        for n, piece in enumerate(pieces)
    ]
    writes.append(ReplaceOne({"_id": key}, {**doc, "g": generation, "k": len(pieces)}, upsert=True))
    return writes


def _spans_from(docs: Sequence[dict[str, Any]]) -> dict[str, list[Span]]:
    """Spans by trace id from span documents and pieces (in any order)."""
    pieces: dict[tuple[str, str, str], dict[int, bytes]] = {}
    for d in docs:
        if "i" in d:
            pieces.setdefault((d["tr"], d["sp"], d["g"]), {})[d["i"]] = bytes(d["b"])
    spans: dict[str, list[Span]] = {}
    for d in docs:
        if "i" in d:
            continue
        if "j" in d:
            text = d["j"]
        else:
            found = pieces.get((d["tr"], d["sp"], d["g"]), {})
            if len(found) < d["k"]:
                raise InternalError(
                    f"Span '{d['sp']}' of trace '{d['tr']}' is missing pieces of its stored content."
                )
            text = b"".join(found[n] for n in range(d["k"])).decode()
        spans.setdefault(d["tr"], []).append(_span_from_json(text))
    for group in spans.values():
        group.sort(key=span_order)
    return spans


def _info_fields(info: TraceInfo) -> dict[str, Any]:
    """What every write of a whole trace info sets: the experiment (its id also as a number, as
    experiments order), the times and the state."""
    return {
        "x": info.experiment_id,
        "xi": mapping.id_order(info.experiment_id),
        "ts": info.request_time,
        "et": _end_time(info),
        "st": info.state.value,
    }


def _info_doc(info: TraceInfo) -> dict[str, Any]:
    """A new trace document (``log_spans``'s ``$setOnInsert``)."""
    doc: dict[str, Any] = {
        **_info_fields(info),
        "t": {encode(k): val for k, val in info.tags.items()},
        "md": {encode(k): val for k, val in info.metadata.items()},
    }
    optional = {
        "d": info.execution_duration,
        "rq": info.request_preview,
        "rs": info.response_preview,
        "c": info.client_request_id,
    }
    doc.update({name: value for name, value in optional.items() if value is not None})
    return doc


def _info_update(info: TraceInfo) -> dict[str, Any]:
    """``start_trace`` as one update: merge_trace_info's rules, applied by the server."""
    fields = _info_fields(info)
    unset: dict[str, str] = {}
    # The new duration and client request id win even when absent; previews only when given.
    for name, value, always in (
        ("d", info.execution_duration, True),
        ("c", info.client_request_id, True),
        ("rq", info.request_preview, False),
        ("rs", info.response_preview, False),
    ):
        if value is not None:
            fields[name] = value
        elif always:
            unset[name] = ""
    for key, value in info.tags.items():
        fields[path("t", key)] = value
    for key, value in info.metadata.items():
        fields[path("md", key)] = value
    update: dict[str, Any] = {"$set": fields}
    if unset:
        update["$unset"] = unset
    return update


def _changes(stored: TraceInfo, new: TraceInfo) -> list[UpdateOne]:
    """The updates taking a known trace from ``stored`` (as read) to ``new``, each filtered on what
    it was computed from, so a concurrent write makes it match nothing rather than be undone."""
    writes: list[UpdateOne] = []
    named = False
    if (new.request_time, new.execution_duration, new.state, new.name) != (
        stored.request_time,
        stored.execution_duration,
        stored.state,
        stored.name,
    ):
        # Only while open (``stored`` is: a closed trace's times never change), and still as read:
        # a start_trace or another log_spans since then makes this match nothing.
        assert stored.state in OPEN_STATES
        guard: dict[str, Any] = {
            "_id": stored.trace_id,
            "st": stored.state.value,
            "ts": stored.request_time,
            "d": stored.execution_duration,  # null also matches a missing duration
        }
        fields: dict[str, Any] = {"ts": new.request_time, "et": _end_time(new), "st": new.state.value}
        if new.execution_duration is not None:
            fields["d"] = new.execution_duration
        if new.name is not None and stored.name is None:
            name = path("t", TRACE_NAME_TAG)
            guard[name] = {"$exists": False}
            fields[name] = new.name
            named = True
        writes.append(UpdateOne(guard, {"$set": fields}))
    # Tags and metadata the spans set, each guarded by the value it replaces.
    for prefix, old, changed in (("t", stored.tags, new.tags), ("md", stored.metadata, new.metadata)):
        for key, value in changed.items():
            if old.get(key) == value or (named and prefix == "t" and key == TRACE_NAME_TAG):
                continue
            field = path(prefix, key)
            before: Any = old.get(key, {"$exists": False})
            writes.append(UpdateOne({"_id": stored.trace_id, field: before}, {"$set": {field: value}}))
    for field, before, after in (
        ("rq", stored.request_preview, new.request_preview),
        ("rs", stored.response_preview, new.response_preview),
    ):
        if before is None and after is not None:
            writes.append(UpdateOne({"_id": stored.trace_id, field: None}, {"$set": {field: after}}))
    return writes


def _info_from(doc: dict[str, Any]) -> TraceInfo:
    return TraceInfo(
        trace_id=doc["_id"],
        experiment_id=doc["x"],
        request_time=doc["ts"],
        state=doc["st"],
        execution_duration=doc.get("d"),
        request_preview=doc.get("rq"),
        response_preview=doc.get("rs"),
        client_request_id=doc.get("c"),
        tags=decode_map(doc.get("t")),
        metadata=decode_map(doc.get("md")),
    )


def _find_all(collection: Collection[dict[str, Any]], query: dict[str, Any]) -> list[dict[str, Any]]:
    # One reply for up to 16 MB of documents: the default first batch is 101 documents.
    return list(collection.find(query).batch_size(1_000_000))


class MongoTraces:
    """The tracing port for :class:`MongoTrackingStore` (which provides the attributes below)."""

    _db: MongoDatabase

    def _active_experiment_doc(self, experiment_id: str) -> dict[str, Any]:
        raise NotImplementedError  # provided by MongoTrackingStore

    @property
    def _traces(self) -> Collection[dict[str, Any]]:
        return self._db["traces"]

    @property
    def _spans(self) -> Collection[dict[str, Any]]:
        return self._db["spans"]

    # --- writes ------------------------------------------------------------------------------------

    def start_trace(self, info: TraceInfo) -> TraceInfo:
        validate_trace_info(info)
        info = started(info)
        update = _info_update(info)

        def work() -> dict[str, Any] | None:
            self._active_experiment_doc(info.experiment_id)
            for attempt in range(1, UPSERT_ATTEMPTS + 1):
                try:
                    return self._traces.find_one_and_update(
                        {"_id": info.trace_id}, update, upsert=True, return_document=ReturnDocument.AFTER
                    )
                except DuplicateKeyError as error:
                    # A racing writer created it first: sent again, this updates its document.
                    if attempt == UPSERT_ATTEMPTS:
                        raise self._db.translate(error) from None
            return None  # pragma: no cover - the loop returns or raises

        doc = self._db.call(work)
        if doc is None:
            # Racing upserts may answer nothing on some servers; the write is applied.
            doc = self._db.call(lambda: self._traces.find_one({"_id": info.trace_id}))
        if doc is None:
            raise InternalError(f"Trace '{info.trace_id}' was written but cannot be read back.")
        return _info_from(doc)

    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        for span in spans:
            validate_span(span)
        if not spans:
            return
        experiment_id = str(experiment_id)
        by_trace: dict[str, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        # The last of repeated (trace, span) ids wins, as in one call after another.
        latest = {(s.trace_id, s.span_id): s for s in spans}
        writes = [w for s in latest.values() for w in _span_writes(s)]

        def work() -> None:
            self._active_experiment_doc(experiment_id)
            known = self._known_infos(list(by_trace))
            self._bulk(self._spans, writes, ordered=True)
            for _ in range(INFO_WRITE_ROUNDS):
                if self._write_infos(experiment_id, by_trace, known):
                    return
                known = self._known_infos(list(by_trace))
            raise InternalError(
                f"The infos of traces {sorted(by_trace)} kept changing while their spans were logged."
            )

        self._db.call(work)

    def _known_infos(self, trace_ids: list[str]) -> dict[str, TraceInfo]:
        docs = self._traces.find({"_id": {"$in": trace_ids}}, _INFO_FIELDS).batch_size(1_000_000)
        return {d["_id"]: _info_from(d) for d in docs}

    def _write_infos(
        self, experiment_id: str, by_trace: dict[str, list[Span]], known: dict[str, TraceInfo]
    ) -> bool:
        """One bulk write of what ``by_trace``'s spans change in the infos ``known`` (as read) and of
        the infos of traces not known; False when some write found the trace changed since the
        read (another writer came first), so that a fresh read decides again."""
        new: list[UpdateOne] = []
        guarded: list[UpdateOne] = []
        # The spans are stored by now: the traces' whole trees, this call's spans included.
        totalled = [i for i in known if carries_totals(by_trace[i])]
        earlier = _spans_from(_find_all(self._spans, {"tr": {"$in": totalled}})) if totalled else {}
        for trace_id, group in by_trace.items():
            stored = known.get(trace_id)
            if stored is None:
                # $setOnInsert: a trace another writer created meanwhile keeps its info (and is
                # updated in the next round).
                info = info_from_spans(trace_id, experiment_id, group)
                new.append(UpdateOne({"_id": trace_id}, {"$setOnInsert": _info_doc(info)}, upsert=True))
            else:
                updated = update_info_from_spans(stored, group, earlier.get(trace_id, ()))
                if updated is not stored:
                    guarded += _changes(stored, updated)
        if not new and not guarded:
            return True
        try:
            result = self._traces.bulk_write([*new, *guarded], ordered=False)
        except BulkWriteError as error:
            if is_duplicate_key(error):
                return False  # racing upserts of a new trace: it exists now
            raise
        return result.upserted_count == len(new) and result.matched_count == len(guarded)

    @staticmethod
    def _bulk(collection: Collection[dict[str, Any]], writes: Sequence[Any], *, ordered: bool) -> None:
        """Upserts by id; a duplicate key (racing upserts of one new id) is sent again."""
        for attempt in range(1, UPSERT_ATTEMPTS + 1):
            try:
                collection.bulk_write(list(writes), ordered=ordered)
                return
            except BulkWriteError as error:
                if not is_duplicate_key(error) or attempt == UPSERT_ATTEMPTS:
                    raise

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        validate_trace_id(trace_id)
        validate_trace_tag(key, value)

        def work() -> None:
            result = self._traces.update_one({"_id": trace_id}, {"$set": {path("t", key): value}})
            if result.matched_count == 0:
                raise trace_not_found(trace_id)

        self._db.call(work)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        validate_trace_id(trace_id)
        v.validate_lookup("key", key)
        field = path("t", key)

        def work() -> None:
            result = self._traces.update_one(
                {"_id": trace_id, field: {"$exists": True}}, {"$unset": {field: ""}}
            )
            if result.matched_count:
                return
            if self._traces.find_one({"_id": trace_id}, {"_id": 1}) is None:
                raise trace_not_found(trace_id)
            raise trace_tag_not_found(trace_id, key)

        self._db.call(work)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        experiment_id = check_delete_traces_arguments(
            experiment_id, max_timestamp_millis, max_traces, trace_ids
        )
        if trace_ids:
            wanted = [t for t in dict.fromkeys(trace_ids) if isinstance(t, str)]
            query: dict[str, Any] = {"x": experiment_id, "_id": {"$in": wanted}}
        else:
            query = {"x": experiment_id, "ts": {"$lte": max_timestamp_millis}}

        def find() -> list[str]:
            cursor = self._traces.find(query, {"_id": 1}).sort([("ts", 1), ("_id", 1)])
            if max_traces is not None:
                cursor = cursor.limit(max_traces)
            return [d["_id"] for d in cursor.batch_size(1_000_000)]

        doomed = self._db.call(find)
        deleted = 0
        for start in range(0, len(doomed), DELETE_CHUNK):
            chunk = doomed[start : start + DELETE_CHUNK]

            def delete(chunk: list[str] = chunk) -> int:
                # Spans first: a call cut short leaves traces that a second call deletes.
                self._spans.delete_many({"tr": {"$in": chunk}})
                return self._traces.delete_many({"_id": {"$in": chunk}, "x": experiment_id}).deleted_count

            deleted += self._db.call(delete)
        return deleted

    # --- reads -------------------------------------------------------------------------------------

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        validate_trace_id(trace_id)
        doc = self._db.call(lambda: self._traces.find_one({"_id": trace_id}))
        if doc is None:
            raise trace_not_found(trace_id)
        return _info_from(doc)

    def get_trace(self, trace_id: str) -> Trace:
        validate_trace_id(trace_id)

        def work() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            doc = self._traces.find_one({"_id": trace_id})
            if doc is None:
                return None, []
            return doc, _find_all(self._spans, {"tr": trace_id})

        doc, span_docs = self._db.call(work)
        if doc is None:
            raise trace_not_found(trace_id)
        return Trace(_info_from(doc), _spans_from(span_docs).get(trace_id, []))

    def batch_get_traces(self, trace_ids: Sequence[str]) -> tuple[Trace, ...]:
        v.validate_lookups("trace_ids", trace_ids)
        wanted = [t for t in dict.fromkeys(trace_ids) if isinstance(t, str)]
        if not wanted:
            return ()

        def work() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            docs = _find_all(self._traces, {"_id": {"$in": wanted}})
            found = [d["_id"] for d in docs]
            return docs, (_find_all(self._spans, {"tr": {"$in": found}}) if found else [])

        docs, span_docs = self._db.call(work)
        infos = {d["_id"]: _info_from(d) for d in docs}
        spans = _spans_from(span_docs)
        return tuple(Trace(infos[t], spans.get(t, [])) for t in wanted if t in infos)

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[TraceInfo]:
        search = ExperimentSearch.traces(experiment_ids, filter, max_results, order_by, page_token)
        clauses = q.trace_clauses(filter)
        sort, computed = q.trace_sort(order_by)
        base = {"x": {"$in": list(search.experiment_ids)}}
        query = {"$and": [base, *clauses]} if clauses else base
        docs, more = self._db.call(
            lambda: q.find_page(self._traces, query, sort, search.page, computed=computed)
        )
        return search.page.page([_info_from(d) for d in docs], more)
