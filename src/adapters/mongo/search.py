"""The search AST compiled to MongoDB query documents and sort specifications.

:mod:`genesis_flow.core.search.evaluate` states the semantics; here they become one ``find`` (or
one aggregation when an order needs a computed rank). Only standard query operators are used
(``$eq`` ... ``$regex``, ``$elemMatch``, ``$exists``, ``$type``) so Cosmos DB and older servers
answer the same. The parts that need care:

* a comparison on a key the entity lacks is false: ``$ne`` and ``$nin`` match missing fields in
  MongoDB, so they also require the value's type (``$type``), which excludes missing and null;
* ``LIKE`` becomes an anchored ``$regex`` with every other character escaped (no escape
  character, as MLflow), ``ILIKE`` the same with the ``i`` option; ``(?s)`` lets ``%`` span
  newlines and a negative lookahead anchors at the very end (``$`` would accept a final newline);
* ``RLIKE`` is the pattern itself as a ``$regex`` (unanchored and case-sensitive, as ``re.search``);
* strings compare and sort by UTF-8 bytes (the simple collation), which is code-point order;
* a latest metric is stored as ``{v: value with +/-inf clamped, r: 2, ...}`` or ``r: 1`` for NaN,
  so comparisons require ``r: 2`` (NaN only satisfies ``!=``) and sorting on ``r`` descending
  first puts numbers, then NaN, then runs without the metric, in both directions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from pymongo.collection import Collection

from genesis_flow.adapters.mongo.keys import path
from genesis_flow.core.commands import PageRequest
from genesis_flow.core.entities import DatasetRef
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search import clamp, complete_order, unknown_key
from genesis_flow.core.search.ast import (
    Comparator,
    Comparison,
    Filter,
    KeyGroup,
    KeyType,
    OrderBy,
    SearchKind,
)
from genesis_flow.core.tracing import SOURCE_RUN_METADATA, TRACE_NAME_TAG
from genesis_flow.core.validation import RUN_NAME_TAG

NUMBER_RANK = 2
NAN_RANK = 1

_OPERATORS = {
    Comparator.EQ: "$eq",
    Comparator.NE: "$ne",
    Comparator.LT: "$lt",
    Comparator.LE: "$lte",
    Comparator.GT: "$gt",
    Comparator.GE: "$gte",
    Comparator.IN: "$in",
    Comparator.NOT_IN: "$nin",
}


def unique_fields(spec: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The sort specification with repeated fields dropped: the first one decides, and MongoDB
    would otherwise let a later direction win or refuse the sort."""
    seen: set[str] = set()
    kept = []
    for field, direction in spec:
        if field not in seen:
            seen.add(field)
            kept.append((field, direction))
    return kept


def find_page(
    collection: Collection[dict[str, Any]],
    query: dict[str, Any],
    sort: Sequence[tuple[str, int]],
    page: PageRequest,
    *,
    computed: dict[str, Any] | None = None,
    hidden: dict[str, int] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The documents of ``page`` of a search (at most its limit), and whether more follow.

    A plain ``find`` sorts on stored fields; a sort on ``computed`` fields (a rank that puts
    missing values last, a full value out of line) needs an aggregation, which drops them again.
    ``hidden`` names the stored fields the caller does not want back (an exclusion projection).
    """
    if computed:
        stages: list[dict[str, Any]] = [
            {"$match": query},
            {"$addFields": computed},
            {"$sort": dict(sort)},
            {"$skip": page.offset},
        ]
        if page.fetch is not None:
            stages.append({"$limit": page.fetch})
        stages.append({"$project": {**(hidden or {}), **{name: 0 for name in computed}}})
        docs = list(collection.aggregate(stages))
    else:
        cursor = collection.find(query, hidden).sort(list(sort)).skip(page.offset)
        docs = list(cursor if page.fetch is None else cursor.limit(page.fetch))
    if page.limit is None:
        return docs, False
    return docs[: page.limit], len(docs) > page.limit


def present_rank(field: str) -> dict[str, Any]:
    """A computed rank, 1 where ``field`` holds a value and 0 where it is missing or null: sorted
    descending before the field, it puts missing values last in both directions (MongoDB puts
    them first ascending)."""
    return {"$cond": [{"$in": [{"$type": f"${field}"}, ["missing", "null"]]}, 0, 1]}


def like_regex(pattern: str) -> str:
    """SQL LIKE (``%`` any run, ``_`` one character, no escape) as an anchored regex."""
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return f"(?s)^{body}(?![\\s\\S])"


def condition(comparator: Comparator, value: Any) -> dict[str, Any]:
    """The operator document of ``<field> <comparator> value`` for a field that must be present."""
    if comparator is Comparator.IS_NULL:
        return {"$in": [None]}
    if comparator is Comparator.IS_NOT_NULL:
        return {"$exists": True, "$ne": None}
    if comparator in (Comparator.LIKE, Comparator.ILIKE):
        return {"$regex": like_regex(str(value)), "$options": "i" if comparator is Comparator.ILIKE else ""}
    if comparator is Comparator.RLIKE:
        return {"$regex": str(value)}
    operand = list(value) if isinstance(value, tuple) else value
    cond: dict[str, Any] = {_OPERATORS[comparator]: operand}
    if comparator in (Comparator.NE, Comparator.NOT_IN):
        # $ne / $nin also match a missing or null field; a missing value never matches.
        sample = operand[0] if isinstance(operand, list) and operand else operand
        cond["$type"] = "string" if isinstance(sample, str) else "number"
    return cond


def field_clause(field: str, c: Comparison) -> dict[str, Any]:
    return {field: condition(c.comparator, c.value)}


def group_clause(g: KeyGroup, clause: Callable[[Comparison], dict[str, Any]]) -> dict[str, Any]:
    """One query clause for a key group (:meth:`Filter.groups`): its comparisons, each once."""
    parts = [clause(c) for c in g.comparisons]
    return parts[0] if len(parts) == 1 else {"$and": parts}


def group_field_clause(field: str, g: KeyGroup) -> dict[str, Any]:
    # Many exclusions of text values on one field ("a != 'x0' AND a != 'x1' ...", NOT IN lists)
    # are one $nin: each comparison would otherwise be evaluated on every document examined.
    folded = [c for c in g.comparisons if _text_exclusion(c)]
    if len(folded) < 2:
        return group_clause(g, partial(field_clause, field))
    excluded: dict[str, None] = {}
    for c in folded:
        excluded.update(dict.fromkeys(c.value if isinstance(c.value, tuple) else (c.value,)))  # type: ignore[arg-type]
    parts = [field_clause(field, c) for c in g.comparisons if c not in folded]
    parts.append({field: {"$nin": list(excluded), "$type": "string"}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _text_exclusion(c: Comparison) -> bool:
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    return (
        c.comparator in (Comparator.NE, Comparator.NOT_IN)
        and bool(values)
        and all(isinstance(v, str) for v in values)
    )


def metric_clause(field: str, c: Comparison) -> dict[str, Any]:
    """A latest-metric comparison on the subdocument at ``field`` (``m.<key>``)."""
    if c.comparator in (Comparator.IS_NULL, Comparator.IS_NOT_NULL, Comparator.IN, Comparator.NOT_IN):
        raise unknown_key(SearchKind.RUNS, c)
    assert c.value is not None and not isinstance(c.value, tuple)
    value = clamp(float(c.value))
    if c.comparator is Comparator.NE:
        return {f"{field}.r": {"$in": [NUMBER_RANK, NAN_RANK]}, f"{field}.v": {"$ne": value}}
    return {f"{field}.r": NUMBER_RANK, f"{field}.v": condition(c.comparator, value)}


# --- runs ------------------------------------------------------------------------------------------

RUN_FIELDS = {
    "run_id": "_id",
    "status": "st",
    "user_id": "u",
    "artifact_uri": "a",
    "start_time": "t0",
    "end_time": "t1",
    "run_name": "n",
}
DATASET_FIELDS = {"name": "n", "digest": "d", "context": "c"}

SpillLookup = Callable[[str, KeyGroup], "list[dict[str, Any]] | None"]


def run_clauses(filter: Filter, spilled: SpillLookup) -> list[dict[str, Any]]:
    """One query clause per key group (AND). ``spilled(kind, group)`` gives, for the runs whose
    value for the key lives outside their document and passes the group's value tests, clauses
    naming each run and the hash of that value; None when no run moved that key out (see the
    tracking store's size budget)."""
    clauses: list[dict[str, Any]] = []
    for g in filter.groups(SearchKind.RUNS):
        kt = g.key_type
        if kt is KeyType.METRIC:
            field = path("m", g.key)
            clauses.append(group_clause(g, partial(metric_clause, field)))
        elif kt in (KeyType.PARAM, KeyType.TAG):
            kind = "p" if kt is KeyType.PARAM else "t"
            clauses.append(_kv_clause(kind, g, spilled))
        elif kt is KeyType.ATTRIBUTE:
            if g.key not in RUN_FIELDS:
                raise unknown_key(SearchKind.RUNS, g.comparisons[0])
            if g.key == "run_name":
                # MLflow's SQL store filters run names through the mlflow.runName tag.
                tag = path("t", RUN_NAME_TAG)
                by_tag = group_field_clause(tag, g)
                by_name = group_field_clause("n", g)
                clauses.append({"$or": [by_tag, {"$and": [{tag: {"$exists": False}}, by_name]}]})
            else:
                clauses.append(group_field_clause(RUN_FIELDS[g.key], g))
        elif kt is KeyType.DATASET:
            # Datasets are many per run: each comparison (a group of one) has its own witness.
            if g.key not in DATASET_FIELDS:
                raise unknown_key(SearchKind.RUNS, g.comparisons[0])
            field = DATASET_FIELDS[g.key]
            clauses.append(group_clause(g, partial(_dataset_clause, field)))
        else:
            raise unknown_key(SearchKind.RUNS, g.comparisons[0])
    return clauses


def _dataset_clause(field: str, c: Comparison) -> dict[str, Any]:
    return {"di": {"$elemMatch": field_clause(field, c)}}


def _kv_clause(kind: str, g: KeyGroup, spilled: SpillLookup) -> dict[str, Any]:
    inline = group_field_clause(path(kind, g.key), g)
    if g.absent or not g.tests:
        return inline  # a value moved out keeps its key (and a prefix) in the document
    matches = spilled(kind, g)
    if matches is None:
        return inline
    # For a moved value the document holds only a prefix (and the hash at `<kind>h`), which
    # cannot decide the comparison: those runs match through the lookup instead.
    in_document = {"$and": [inline, {path(f"{kind}h", g.key): {"$exists": False}}]}
    return {"$or": [in_document, *matches]}


def run_sort(
    order_by: Sequence[OrderBy], full_values: dict[int, dict[str, Any]] | None = None
) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """(sort specification, computed fields for ``$addFields``; empty when a plain ``find`` can
    sort). Per key: values in order, then NaN, then missing, both directions; then start time
    DESC (a NULL start last) unless ordered by it; then run id ASC. ``full_values`` maps an entry's
    position to an expression of its value for runs whose document holds only a prefix of it."""
    spec: list[tuple[str, int]] = []
    computed: dict[str, Any] = {}
    for i, o in enumerate(order_by):
        direction = 1 if o.ascending else -1
        if o.key_type is KeyType.METRIC:
            field = path("m", o.key)
            spec += [(f"{field}.r", -1), (f"{field}.v", direction)]
            continue
        if o.key_type is KeyType.PARAM:
            field = path("p", o.key)
        elif o.key_type is KeyType.TAG:
            field = path("t", o.key)
        elif o.key_type is KeyType.ATTRIBUTE and o.key in RUN_FIELDS:
            field = RUN_FIELDS[o.key]
        else:
            raise InvalidParameterValue(f"Cannot order runs by {o.key_type.value} '{o.key}'")
        if any(f == field for f, _ in spec):
            continue  # ordered by this key already: the first direction decides
        rank = f"_o{i}"
        computed[rank] = present_rank(field)
        if full_values and i in full_values:
            computed[f"_v{i}"] = full_values[i]
            spec += [(rank, -1), (f"_v{i}", direction)]
        else:
            spec += [(rank, -1), (field, direction)]
    if not any(o.key_type is KeyType.ATTRIBUTE and o.key == "start_time" for o in order_by):
        spec.append(("t0", -1))
    spec.append(("_id", 1))
    kept = unique_fields(spec)
    # A repeated key's rank field stays, but is redundant: only the first key's direction counts.
    return kept, {name: rule for name, rule in computed.items() if any(f == name for f, _ in kept)}


# --- experiments, registry, logged models ----------------------------------------------------------

EXPERIMENT_FIELDS = {
    "name": "name",
    "creation_time": "ct",
    "last_update_time": "ut",
    "experiment_id": "_id",
}
EXPERIMENT_ORDER_FIELDS = {**EXPERIMENT_FIELDS, "experiment_id": "xi"}


def experiment_clauses(filter: Filter) -> list[dict[str, Any]]:
    clauses = []
    for g in filter.groups(SearchKind.EXPERIMENTS):
        if g.key_type is KeyType.TAG:
            clauses.append(group_field_clause(path("t", g.key), g))
        elif g.key_type is KeyType.ATTRIBUTE and g.key in EXPERIMENT_FIELDS:
            clauses.append(group_field_clause(EXPERIMENT_FIELDS[g.key], g))
        else:
            raise unknown_key(SearchKind.EXPERIMENTS, g.comparisons[0])
    return clauses


def experiment_sort(order_by: Sequence[OrderBy]) -> list[tuple[str, int]]:
    # Missing times are null, which MongoDB orders first ascending and last descending: the
    # reference order (SQLite's NULL rule) exactly.
    return unique_fields(
        [
            (EXPERIMENT_ORDER_FIELDS[o.key], 1 if o.ascending else -1)
            for o in complete_order(SearchKind.EXPERIMENTS, order_by)
        ]
    )


MODEL_FIELDS = {"name": "name", "last_updated_timestamp": "ut"}


def registered_model_clauses(filter: Filter) -> list[dict[str, Any]]:
    clauses = []
    for g in filter.groups(SearchKind.REGISTERED_MODELS):
        if g.key_type is KeyType.TAG:
            clauses.append(group_field_clause(path("t", g.key), g))
        elif g.key_type is KeyType.ATTRIBUTE and g.key == "name":
            clauses.append(group_field_clause("name", g))
        else:
            raise unknown_key(SearchKind.REGISTERED_MODELS, g.comparisons[0])
    return clauses


def registered_model_sort(order_by: Sequence[OrderBy]) -> list[tuple[str, int]]:
    return unique_fields(
        [
            (MODEL_FIELDS[o.key], 1 if o.ascending else -1)
            for o in complete_order(SearchKind.REGISTERED_MODELS, order_by)
        ]
    )


VERSION_FIELDS = {
    "name": "n",
    "version_number": "v",
    "run_id": "run",
    "source_path": "src",
    "creation_timestamp": "ct",
    "last_updated_timestamp": "ut",
}


def model_version_clauses(filter: Filter) -> list[dict[str, Any]]:
    clauses = []
    for g in filter.groups(SearchKind.MODEL_VERSIONS):
        if g.key_type is KeyType.TAG:
            clauses.append(group_field_clause(path("t", g.key), g))
        elif g.key_type is KeyType.ATTRIBUTE and g.key in ("name", "version_number", "run_id", "source_path"):
            clauses.append(group_field_clause(VERSION_FIELDS[g.key], g))
        else:
            raise unknown_key(SearchKind.MODEL_VERSIONS, g.comparisons[0])
    return clauses


def model_version_sort(order_by: Sequence[OrderBy]) -> list[tuple[str, int]]:
    return unique_fields(
        [
            (VERSION_FIELDS[o.key], 1 if o.ascending else -1)
            for o in complete_order(SearchKind.MODEL_VERSIONS, order_by)
        ]
    )


LOGGED_MODEL_FIELDS = {
    "name": "name",
    "model_id": "_id",
    "experiment_id": "x",
    "model_type": "type",
    "source_run_id": "src",
    "creation_timestamp": "ct",
    "last_updated_timestamp": "ut",
    "status": "status",
}


def logged_model_clauses(filter: Filter, datasets: Sequence[DatasetRef]) -> list[dict[str, Any]]:
    """Clauses on logged model documents; a metric comparison (and ``datasets``) holds for a model
    with some metric point that matches (on one of the datasets)."""
    clauses: list[dict[str, Any]] = []
    on_datasets = [{"dn": d.name, **({"dd": d.digest} if d.digest is not None else {})} for d in datasets]
    has_metric_clause = False
    for c in filter.comparisons:
        kt = c.key_type
        if kt is KeyType.METRIC:
            has_metric_clause = True
            if c.comparator in (Comparator.IS_NULL, Comparator.IS_NOT_NULL, Comparator.IN, Comparator.NOT_IN):
                raise unknown_key(SearchKind.LOGGED_MODELS, c)
            assert c.value is not None and not isinstance(c.value, tuple)
            point: dict[str, Any] = {"k": c.key, "v": condition(c.comparator, clamp(float(c.value)))}
            clauses.append(_any_point(point, on_datasets))
        elif kt in (KeyType.PARAM, KeyType.TAG):
            clauses.append(field_clause(path("p" if kt is KeyType.PARAM else "t", c.key), c))
        elif kt is KeyType.ATTRIBUTE and c.key in LOGGED_MODEL_FIELDS:
            clauses.append(field_clause(LOGGED_MODEL_FIELDS[c.key], c))
        else:
            raise unknown_key(SearchKind.LOGGED_MODELS, c)
    if on_datasets and not has_metric_clause:
        clauses.append(_any_point({}, on_datasets))
    return clauses


def _any_point(point: dict[str, Any], on_datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """Some metric point matches ``point`` (and lies on one of the datasets, when given). One
    ``$elemMatch`` per dataset: some servers refuse ``$or`` inside ``$elemMatch``."""
    if not on_datasets:
        return {"ms": {"$elemMatch": point}}
    return {"$or": [{"ms": {"$elemMatch": {**point, **d}}} for d in on_datasets]}


def logged_model_sort(order_by: Sequence[OrderBy]) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """(sort specification, computed ranks): per key, values in order, then missing, in both
    directions; a metric orders by each model's latest value of it (``ml``)."""
    spec: list[tuple[str, int]] = []
    computed: dict[str, Any] = {}
    for i, o in enumerate(complete_order(SearchKind.LOGGED_MODELS, order_by)):
        field = path("ml", o.key, "v") if o.key_type is KeyType.METRIC else LOGGED_MODEL_FIELDS[o.key]
        if any(f == field for f, _ in spec):
            continue  # ordered by this key already: the first direction decides
        rank = f"_o{i}"
        computed[rank] = present_rank(field)
        spec += [(rank, -1), (field, 1 if o.ascending else -1)]
    return spec, computed


# --- traces ----------------------------------------------------------------------------------------

# Trace attributes as fields of a trace document. ``name`` is a tag and ``run_id`` a metadata
# entry (as in MLflow); ``experiment_id`` orders by ``xi``, the id as a number.
TRACE_FIELDS = {
    "request_id": "_id",
    "experiment_id": "x",
    "timestamp_ms": "ts",
    "execution_time_ms": "d",
    "end_time_ms": "et",
    "status": "st",
    "client_request_id": "c",
    "name": path("t", TRACE_NAME_TAG),
    "run_id": path("md", SOURCE_RUN_METADATA),
}
# Fields every trace document has: ordering by them needs no missing-last rank. ``et`` is
# ``ts + (d or 0)``, written with them (end_time_ms is timestamp + COALESCE(duration, 0)).
_ALWAYS_PRESENT = frozenset({"_id", "x", "ts", "et", "st"})


def _trace_field(key_type: KeyType, key: str) -> str | None:
    if key_type is KeyType.TAG:
        return path("t", key)
    if key_type is KeyType.METADATA:
        return path("md", key)
    if key_type is KeyType.ATTRIBUTE:
        return TRACE_FIELDS.get(key)
    return None


def trace_clauses(filter: Filter) -> list[dict[str, Any]]:
    """One query clause per key group (AND); tag and metadata keys are encoded field names."""
    clauses = []
    for g in filter.groups(SearchKind.TRACES):
        field = _trace_field(g.key_type, g.key)
        if field is None:
            raise unknown_key(SearchKind.TRACES, g.comparisons[0])
        clauses.append(group_field_clause(field, g))
    return clauses


def trace_sort(order_by: Sequence[OrderBy]) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """(sort specification, computed fields for ``$addFields``; empty when a plain ``find`` can
    sort). Per key: values in order, then missing, in both directions; then ``timestamp_ms`` DESC
    and ``request_id`` ASC unless present. ``experiment_id`` orders as a number."""
    spec: list[tuple[str, int]] = []
    computed: dict[str, Any] = {}
    for i, o in enumerate(complete_order(SearchKind.TRACES, order_by)):
        direction = 1 if o.ascending else -1
        field = _trace_field(o.key_type, o.key)
        if field is None:
            raise InvalidParameterValue(f"Cannot order traces by {o.key_type.value} '{o.key}'")
        if any(f == field for f, _ in spec):
            continue  # ordered by this key already: the first direction decides
        if field == "x":
            spec += [("xi", direction), ("x", direction)]
            continue
        if field not in _ALWAYS_PRESENT:
            rank = f"_o{i}"
            computed[rank] = present_rank(field)
            spec.append((rank, -1))
        spec.append((field, direction))
    return unique_fields(spec), computed
