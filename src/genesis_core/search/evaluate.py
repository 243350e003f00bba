"""Evaluate the search AST on domain entities: the reference semantics of every adapter.

:func:`matches` and :func:`sort` state MLflow 3.17.2's SQL-store behaviour in plain Python; the
memory adapter uses them directly, and the SQL and Mongo adapters must compile filters and orders
that give the same answers. The rules, per comparison:

* A comparison on a key the entity lacks (no such metric, param or tag; a NULL attribute such as
  a running run's ``end_time``) is false, whatever the comparator, ``!=`` and ``NOT IN``
  included. Only ``IS NULL`` matches a missing param or tag.
* ``LIKE`` is case-sensitive, ``ILIKE`` is not; ``%`` matches any run of characters (newlines
  too), ``_`` exactly one; there is no escape character. ``=`` and ``!=`` are case-sensitive.
* Metrics compare their latest value as a float. A NaN metric satisfies ``!=`` with any value and
  nothing else. MLflow stores +/-inf as the largest finite double, so they compare as that.
* ``datasets.<key>`` holds when one of the run's dataset inputs satisfies it; each dataset
  comparison may be met by a different input (MLflow joins one subquery per comparison).
  ``datasets.context`` compares the input's ``mlflow.data.context`` tag; inputs without one
  never match.
* Experiment ids compare as integers (ids are canonical decimal strings in the AST).
* Logged models: a metric comparison holds when any logged value of that metric satisfies it
  (restricted to metrics on the given ``datasets`` when there are any); with ``datasets`` and
  no metric comparison, the model must have some metric on one of those datasets. A NaN value
  compares as 0.0 there (MLflow's SQL store keeps it as 0.0).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from genesis_flow.core.entities import (
    DatasetRef,
    Experiment,
    LoggedModel,
    Metric,
    Run,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import ModelVersion, RegisteredModel
from genesis_flow.core.search.ast import Comparator, Comparison, Filter, KeyType, OrderBy, SearchKind
from genesis_flow.core.tracing import TraceInfo
from genesis_flow.core.validation import RUN_NAME_TAG

E = TypeVar("E")

_MAX_DOUBLE = sys.float_info.max


# --- comparisons ----------------------------------------------------------------------------------


def _segment_at(value: str, index: int, segment: str) -> bool:
    """Whether ``segment`` (``_`` = any one character) matches ``value`` at ``index``."""
    return all(p == "_" or value[index + k] == p for k, p in enumerate(segment))


def like(value: str, pattern: str, *, ignore_case: bool = False) -> bool:
    """SQL ``LIKE`` (``ILIKE`` with ``ignore_case``): ``%`` any run, ``_`` one character.

    No escape character, as in MLflow's queries. Linear-time segment matching rather than a
    regular expression, so no pattern can make a search backtrack for ever.
    """
    if ignore_case:
        value, pattern = value.lower(), pattern.lower()
    first, *rest = pattern.split("%")
    if not rest:
        return len(value) == len(first) and _segment_at(value, 0, first)
    *middle, last = rest
    end = len(value) - len(last)
    if end < len(first) or not _segment_at(value, 0, first) or not _segment_at(value, end, last):
        return False
    position = len(first)
    for segment in middle:
        # Leftmost match of each middle segment is optimal for patterns made of '%' and '_'.
        found = next(
            (i for i in range(position, end - len(segment) + 1) if _segment_at(value, i, segment)),
            None,
        )
        if found is None:
            return False
        position = found + len(segment)
    return True


def _compare(comparator: Comparator, lhs: Any, rhs: Any) -> bool:
    if comparator is Comparator.EQ:
        return bool(lhs == rhs)
    if comparator is Comparator.NE:
        return bool(lhs != rhs)
    if comparator is Comparator.LT:
        return bool(lhs < rhs)
    if comparator is Comparator.LE:
        return bool(lhs <= rhs)
    if comparator is Comparator.GT:
        return bool(lhs > rhs)
    if comparator is Comparator.GE:
        return bool(lhs >= rhs)
    if comparator is Comparator.LIKE:
        return like(lhs, rhs)
    if comparator is Comparator.ILIKE:
        return like(lhs, rhs, ignore_case=True)
    if comparator is Comparator.IN:
        return lhs in rhs
    if comparator is Comparator.NOT_IN:
        return lhs not in rhs
    raise InvalidParameterValue(f"Comparator {comparator.value} cannot compare values")


def clamp(value: float) -> float:
    """MLflow's SQL store keeps +/-inf as +/-the largest double."""
    if value == math.inf:
        return _MAX_DOUBLE
    if value == -math.inf:
        return -_MAX_DOUBLE
    return value


def _compare_metric(comparator: Comparator, value: float | None, rhs: Any) -> bool:
    if value is None:
        return False
    if math.isnan(value):
        return comparator is Comparator.NE
    return _compare(comparator, clamp(value), clamp(float(rhs)))


def _compare_optional(c: Comparison, lhs: Any) -> bool:
    """Compare a value that may be missing: IS [NOT] NULL test presence, all else needs one."""
    if c.comparator is Comparator.IS_NULL:
        return lhs is None
    if c.comparator is Comparator.IS_NOT_NULL:
        return lhs is not None
    if lhs is None:
        return False
    return _compare(c.comparator, lhs, c.value)


def unknown_key(kind: SearchKind, c: Comparison) -> InvalidParameterValue:
    """The error for a comparison on a key ``kind`` does not have (a hand-built AST: the parser
    never produces one)."""
    return InvalidParameterValue(f"Cannot evaluate {c.key_type.value} '{c.key}' on {kind.value}")


# --- per kind -------------------------------------------------------------------------------------


def _run_attribute(run: Run, key: str, tags: dict[str, str] | None = None) -> Any:
    info = run.info
    if key == "run_name":
        # MLflow's SQL store filters run names through the mlflow.runName tag.
        return (run.data.tags_dict if tags is None else tags).get(RUN_NAME_TAG, info.run_name)
    if key == "status":
        return info.status.value
    if key == "run_id":
        return info.run_id
    if key in ("user_id", "artifact_uri", "start_time", "end_time"):
        return getattr(info, key)
    return _MISSING


_MISSING: Any = object()


class _RunValues:
    """A run with its metrics, params and tags by key, built once per run rather than once per
    comparison (a filter may hold a thousand)."""

    __slots__ = ("metrics", "params", "run", "tags")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.metrics = run.data.metrics_dict
        self.params = run.data.params_dict
        self.tags = run.data.tags_dict


def _match_run(values: _RunValues, c: Comparison) -> bool:
    run = values.run
    kt = c.key_type
    if kt is KeyType.METRIC:
        if c.comparator in (Comparator.IS_NULL, Comparator.IS_NOT_NULL):
            raise unknown_key(SearchKind.RUNS, c)
        return _compare_metric(c.comparator, values.metrics.get(c.key), c.value)
    if kt is KeyType.PARAM:
        return _compare_optional(c, values.params.get(c.key))
    if kt is KeyType.TAG:
        return _compare_optional(c, values.tags.get(c.key))
    if kt is KeyType.ATTRIBUTE:
        lhs = _run_attribute(run, c.key, values.tags)
        if lhs is _MISSING:
            raise unknown_key(SearchKind.RUNS, c)
        return _compare_optional(c, lhs)
    if kt is KeyType.DATASET:
        for dataset_input in run.inputs.dataset_inputs:
            if c.key == "context":
                value: str | None = dataset_input.context
            elif c.key in ("name", "digest"):
                value = getattr(dataset_input.dataset, c.key)
            else:
                raise unknown_key(SearchKind.RUNS, c)
            if value is not None and _compare(c.comparator, value, c.value):
                return True
        return False
    raise unknown_key(SearchKind.RUNS, c)


def _experiment_id_key(experiment_id: str) -> str:
    try:
        return str(int(experiment_id))
    except ValueError:
        return experiment_id


def _match_experiment(e: Experiment, c: Comparison) -> bool:
    if c.key_type is KeyType.TAG:
        return _compare_optional(c, e.tags_dict.get(c.key))
    if c.key_type is KeyType.ATTRIBUTE:
        if c.key == "experiment_id":
            return _compare_optional(c, _experiment_id_key(e.experiment_id))
        if c.key in ("name", "creation_time", "last_update_time"):
            return _compare_optional(c, getattr(e, c.key))
    raise unknown_key(SearchKind.EXPERIMENTS, c)


def _match_registered_model(m: RegisteredModel, c: Comparison) -> bool:
    if c.key_type is KeyType.TAG:
        return _compare_optional(c, m.tags_dict.get(c.key))
    if c.key_type is KeyType.ATTRIBUTE and c.key == "name":
        return _compare_optional(c, m.name)
    raise unknown_key(SearchKind.REGISTERED_MODELS, c)


_MODEL_VERSION_FIELDS = {
    "name": "name",
    "run_id": "run_id",
    "source_path": "source",
    "version_number": "version",
}


def _match_model_version(mv: ModelVersion, c: Comparison) -> bool:
    if c.key_type is KeyType.TAG:
        return _compare_optional(c, mv.tags_dict.get(c.key))
    if c.key_type is KeyType.ATTRIBUTE and c.key in _MODEL_VERSION_FIELDS:
        return _compare_optional(c, getattr(mv, _MODEL_VERSION_FIELDS[c.key]))
    raise unknown_key(SearchKind.MODEL_VERSIONS, c)


def _on_datasets(metric: Metric, datasets: Sequence[DatasetRef]) -> bool:
    return any(
        metric.dataset_name == d.name and (d.digest is None or metric.dataset_digest == d.digest)
        for d in datasets
    )


_LOGGED_MODEL_ATTRIBUTES = frozenset(
    {
        "name",
        "model_id",
        "experiment_id",
        "model_type",
        "source_run_id",
        "creation_timestamp",
        "last_updated_timestamp",
    }
)


def _logged_model_attribute(m: LoggedModel, key: str) -> Any:
    if key == "status":
        return m.status.value
    if key in _LOGGED_MODEL_ATTRIBUTES:
        return getattr(m, key)
    return _MISSING


def _logged_model_metric_value(value: float) -> float:
    # MLflow's SQL store keeps a logged model's NaN metric as 0.0 (and returns it so).
    return 0.0 if math.isnan(value) else value


def _match_logged_model(m: LoggedModel, c: Comparison, datasets: Sequence[DatasetRef]) -> bool:
    kt = c.key_type
    if kt is KeyType.METRIC:
        return any(
            m_.key == c.key
            and (not datasets or _on_datasets(m_, datasets))
            and _compare_metric(c.comparator, _logged_model_metric_value(m_.value), c.value)
            for m_ in m.metrics
        )
    if kt is KeyType.PARAM:
        return _compare_optional(c, {p.key: p.value for p in m.params}.get(c.key))
    if kt is KeyType.TAG:
        return _compare_optional(c, {t.key: t.value for t in m.tags}.get(c.key))
    if kt is KeyType.ATTRIBUTE:
        lhs = _logged_model_attribute(m, c.key)
        if lhs is not _MISSING:
            return _compare_optional(c, lhs)
    raise unknown_key(SearchKind.LOGGED_MODELS, c)


def trace_attribute(info: TraceInfo, key: str) -> Any:
    """A trace's value for a filter or order-by attribute (None when it has none)."""
    if key == "request_id":
        return info.trace_id
    if key == "timestamp_ms":
        return info.request_time
    if key == "execution_time_ms":
        return info.execution_duration
    if key == "end_time_ms":
        # MLflow's SQL store: timestamp_ms + COALESCE(execution_time_ms, 0).
        return info.request_time + (info.execution_duration or 0)
    if key == "status":
        return info.state.value
    if key == "client_request_id":
        return info.client_request_id
    if key == "name":
        return info.name
    if key == "run_id":
        return info.run_id
    if key == "experiment_id":
        return info.experiment_id
    raise InvalidParameterValue(f"Cannot evaluate attribute '{key}' on traces")


def _match_trace(info: TraceInfo, c: Comparison) -> bool:
    if c.key_type is KeyType.ATTRIBUTE:
        return _compare_optional(c, trace_attribute(info, c.key))
    if c.key_type is KeyType.TAG:
        return _compare_optional(c, info.tags.get(c.key))
    if c.key_type is KeyType.METADATA:
        return _compare_optional(c, info.metadata.get(c.key))
    raise unknown_key(SearchKind.TRACES, c)


_MATCHERS: dict[SearchKind, tuple[type, Callable[[Any, Comparison], bool]]] = {
    SearchKind.RUNS: (Run, _match_run),
    SearchKind.EXPERIMENTS: (Experiment, _match_experiment),
    SearchKind.REGISTERED_MODELS: (RegisteredModel, _match_registered_model),
    SearchKind.MODEL_VERSIONS: (ModelVersion, _match_model_version),
    SearchKind.TRACES: (TraceInfo, _match_trace),
}


def matches(kind: SearchKind, entity: object, filter: Filter, *, datasets: Sequence[DatasetRef] = ()) -> bool:
    """Whether ``entity`` (a Run, Experiment, RegisteredModel, ModelVersion or LoggedModel, as
    ``kind`` says) satisfies every comparison of ``filter``.

    ``datasets`` applies to logged models only (``search_logged_models(datasets=...)``): metric
    comparisons then consider metrics logged on one of those datasets, and without any metric
    comparison the model must have at least one metric on one of them.

    The empty filter (and no datasets) matches everything. The prompt rule of MLflow's registry
    searches (leave out models tagged ``mlflow.prompt.is_prompt``) is the store's business, not
    this function's.

    Raises:
        InvalidParameterValue: the filter names a key that cannot apply to ``kind`` (it was not
            produced by :func:`parse_filter` for that kind).
        TypeError: ``entity`` is not of the type ``kind`` names.
    """
    return matcher(kind, filter, datasets=datasets)(entity)


def matcher(
    kind: SearchKind, filter: Filter, *, datasets: Sequence[DatasetRef] = ()
) -> Callable[[object], bool]:
    """:func:`matches` for many entities: the filter is read once (each distinct comparison
    once, however often it is repeated), so a long filter costs per entity what its distinct
    comparisons cost."""
    comparisons = tuple(c for group in filter.groups(kind) for c in group.comparisons)
    if kind is SearchKind.LOGGED_MODELS:
        has_metric_clause = any(c.key_type is KeyType.METRIC for c in comparisons)

        def logged_model(entity: object) -> bool:
            if not isinstance(entity, LoggedModel):
                raise TypeError(f"expected a LoggedModel for {kind.value}, got {type(entity).__name__}")
            if (
                datasets
                and not has_metric_clause
                and not any(_on_datasets(m, datasets) for m in entity.metrics)
            ):
                return False
            return all(_match_logged_model(entity, c, datasets) for c in comparisons)

        return logged_model
    expected, match = _MATCHERS[kind]

    def one(entity: object) -> bool:
        if not isinstance(entity, expected):
            raise TypeError(f"expected a {expected.__name__} for {kind.value}, got {type(entity).__name__}")
        prepared = _RunValues(entity) if isinstance(entity, Run) else entity
        return all(match(prepared, c) for c in comparisons)

    return one


# --- MLflow's prompt registry ---------------------------------------------------------------------

IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
"""MLflow's prompt registry stores prompts as registered models (and versions) with this tag."""


def prompt_scope(filter: Filter) -> tuple[Filter, bool]:
    """MLflow's prompt rule for registry searches: ``(filter to apply, whether the search is for
    prompts)``.

    A search is for prompts when its first clause on the prompt tag is ``= 'true'`` or
    ``!= 'false'`` (case-insensitive values); then the filter applies as written. Otherwise
    prompts are left out and every clause on the prompt tag is dropped, so
    ``tags.`mlflow.prompt.is_prompt` = 'false'`` matches every ordinary model.
    """
    for clause in filter.comparisons:
        if clause.key_type is KeyType.TAG and clause.key == IS_PROMPT_TAG:
            value = str(clause.value).lower()
            if (clause.comparator is Comparator.EQ and value == "true") or (
                clause.comparator is Comparator.NE and value == "false"
            ):
                return filter, True
            break
    kept = tuple(c for c in filter.comparisons if not (c.key_type is KeyType.TAG and c.key == IS_PROMPT_TAG))
    return Filter(kept), False


# --- ordering -------------------------------------------------------------------------------------


class _Desc:
    """Reverses the order of a comparable value (for DESC keys inside one tuple sort key)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __hash__(self) -> int:  # pragma: no cover - sort keys are never hashed
        return hash(self.value)


def _directed(value: Any, ascending: bool) -> Any:
    return value if ascending else _Desc(value)


def _present_first(value: Any, ascending: bool) -> tuple[int, Any]:
    """Values in order, then missing (None), in both directions."""
    if value is None:
        return (1, 0)
    return (0, _directed(value, ascending))


def _nulls_smallest(value: Any, ascending: bool) -> tuple[int, Any]:
    """SQLite's NULL order: NULL before every value ascending, after every value descending."""
    if value is None:
        return (0 if ascending else 1, 0)
    return (1 if ascending else 0, _directed(value, ascending))


def _metric_rank(value: float | None, ascending: bool) -> tuple[int, Any]:
    """Runs' metric order: numbers in order, then NaN, then missing (both directions)."""
    if value is None:
        return (2, 0)
    if math.isnan(value):
        return (1, 0)
    return (0, _directed(clamp(value), ascending))


def _run_sort_key(order_by: Sequence[OrderBy]) -> Callable[[Run], tuple[Any, ...]]:
    has_start_time = any(o.key_type is KeyType.ATTRIBUTE and o.key == "start_time" for o in order_by)

    def key(run: Run) -> tuple[Any, ...]:
        parts: list[Any] = []
        for o in order_by:
            if o.key_type is KeyType.METRIC:
                parts.append(_metric_rank(run.data.metrics_dict.get(o.key), o.ascending))
                continue
            if o.key_type is KeyType.PARAM:
                value: Any = run.data.params_dict.get(o.key)
            elif o.key_type is KeyType.TAG:
                value = run.data.tags_dict.get(o.key)
            elif o.key_type is KeyType.ATTRIBUTE and o.key == "run_name":
                value = run.info.run_name
            elif o.key_type is KeyType.ATTRIBUTE:
                value = _run_attribute(run, o.key)
                if value is _MISSING:
                    raise InvalidParameterValue(f"Cannot order runs by attribute '{o.key}'")
            else:
                raise InvalidParameterValue(f"Cannot order runs by {o.key_type.value} '{o.key}'")
            parts.append(_present_first(value, o.ascending))
        if not has_start_time:
            parts.append(_nulls_smallest(run.info.start_time, False))
        parts.append(run.info.run_id)
        return tuple(parts)

    return key


_EXPERIMENT_ORDER_KEYS = frozenset({"name", "experiment_id", "creation_time", "last_update_time"})
_REGISTERED_MODEL_ORDER_KEYS = frozenset({"name", "last_updated_timestamp"})
_MODEL_VERSION_ORDER_FIELDS = {
    "name": "name",
    "version_number": "version",
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}


def complete_order(kind: SearchKind, order_by: Sequence[OrderBy]) -> tuple[OrderBy, ...]:
    """``order_by`` with the kind's default order and tie-breakers (see :func:`sort`) appended,
    every key checked. For experiments, registered models, model versions, logged models and traces, whose
    tie-breakers are plain order_by entries; runs break ties on a NULL-aware start time, which
    their sort and compilers spell out themselves.

    Raises:
        InvalidParameterValue: a key the kind cannot be ordered by.
        KeyError: ``kind`` is RUNS.
    """
    return _COMPLETERS[kind](list(order_by))


def _complete_experiments(orders: list[OrderBy]) -> tuple[OrderBy, ...]:
    if not orders:
        orders = [
            OrderBy(KeyType.ATTRIBUTE, "creation_time", False),
            OrderBy(KeyType.ATTRIBUTE, "experiment_id", True),
        ]
    if not any(o.key == "experiment_id" for o in orders):
        orders.append(OrderBy(KeyType.ATTRIBUTE, "experiment_id", False))
    for o in orders:
        if o.key_type is not KeyType.ATTRIBUTE or o.key not in _EXPERIMENT_ORDER_KEYS:
            raise InvalidParameterValue(f"Cannot order experiments by {o.key_type.value} '{o.key}'")
    return tuple(orders)


def _complete_registered_models(orders: list[OrderBy]) -> tuple[OrderBy, ...]:
    if not any(o.key == "name" for o in orders):
        orders.append(OrderBy(KeyType.ATTRIBUTE, "name", True))
    for o in orders:
        if o.key_type is not KeyType.ATTRIBUTE or o.key not in _REGISTERED_MODEL_ORDER_KEYS:
            raise InvalidParameterValue(f"Cannot order registered models by {o.key_type.value} '{o.key}'")
    return tuple(orders)


def _complete_model_versions(orders: list[OrderBy]) -> tuple[OrderBy, ...]:
    if not orders:
        orders = [OrderBy(KeyType.ATTRIBUTE, "last_updated_timestamp", False)]
    if not any(o.key == "name" for o in orders):
        orders.append(OrderBy(KeyType.ATTRIBUTE, "name", True))
    if not any(o.key == "version_number" for o in orders):
        orders.append(OrderBy(KeyType.ATTRIBUTE, "version_number", False))
    for o in orders:
        if o.key_type is not KeyType.ATTRIBUTE or o.key not in _MODEL_VERSION_ORDER_FIELDS:
            raise InvalidParameterValue(f"Cannot order model versions by {o.key_type.value} '{o.key}'")
    return tuple(orders)


def _complete_logged_models(orders: list[OrderBy]) -> tuple[OrderBy, ...]:
    if not any(o.key_type is KeyType.ATTRIBUTE and o.key == "creation_timestamp" for o in orders):
        orders.append(OrderBy(KeyType.ATTRIBUTE, "creation_timestamp", False))
    if not any(o.key_type is KeyType.ATTRIBUTE and o.key == "model_id" for o in orders):
        orders.append(OrderBy(KeyType.ATTRIBUTE, "model_id", True))
    for o in orders:
        if o.key_type is KeyType.ATTRIBUTE:
            if o.key != "status" and o.key not in _LOGGED_MODEL_ATTRIBUTES:
                raise InvalidParameterValue(f"Cannot order logged models by attribute '{o.key}'")
        elif o.key_type is not KeyType.METRIC:
            raise InvalidParameterValue(f"Cannot order logged models by {o.key_type.value} '{o.key}'")
    return tuple(orders)


def _complete_traces(orders: list[OrderBy]) -> tuple[OrderBy, ...]:
    present = {(o.key_type, o.key) for o in orders}
    for key, ascending in (("timestamp_ms", False), ("request_id", True)):
        if (KeyType.ATTRIBUTE, key) not in present:
            orders.append(OrderBy(KeyType.ATTRIBUTE, key, ascending))
    return tuple(orders)


_COMPLETERS: dict[SearchKind, Callable[[list[OrderBy]], tuple[OrderBy, ...]]] = {
    SearchKind.EXPERIMENTS: _complete_experiments,
    SearchKind.REGISTERED_MODELS: _complete_registered_models,
    SearchKind.MODEL_VERSIONS: _complete_model_versions,
    SearchKind.LOGGED_MODELS: _complete_logged_models,
    SearchKind.TRACES: _complete_traces,
}


def _experiment_id_order(experiment_id: str) -> tuple[int, Any]:
    # MLflow's experiment_id column is an integer: "10" sorts after "9".
    try:
        return (0, int(experiment_id))
    except ValueError:
        return (1, experiment_id)


def _experiment_sort_key(order_by: Sequence[OrderBy]) -> Callable[[Experiment], tuple[Any, ...]]:
    orders = complete_order(SearchKind.EXPERIMENTS, order_by)

    def key(e: Experiment) -> tuple[Any, ...]:
        parts: list[Any] = []
        for o in orders:
            if o.key == "experiment_id":
                parts.append(_directed(_experiment_id_order(e.experiment_id), o.ascending))
            else:
                parts.append(_nulls_smallest(getattr(e, o.key), o.ascending))
        return tuple(parts)

    return key


def _registered_model_sort_key(order_by: Sequence[OrderBy]) -> Callable[[RegisteredModel], tuple[Any, ...]]:
    orders = complete_order(SearchKind.REGISTERED_MODELS, order_by)

    def key(m: RegisteredModel) -> tuple[Any, ...]:
        return tuple(_directed(getattr(m, o.key), o.ascending) for o in orders)

    return key


def _model_version_sort_key(order_by: Sequence[OrderBy]) -> Callable[[ModelVersion], tuple[Any, ...]]:
    orders = complete_order(SearchKind.MODEL_VERSIONS, order_by)
    fields = _MODEL_VERSION_ORDER_FIELDS

    def key(mv: ModelVersion) -> tuple[Any, ...]:
        return tuple(_directed(getattr(mv, fields[o.key]), o.ascending) for o in orders)

    return key


def _latest_logged_model_metric(m: LoggedModel, key: str) -> float | None:
    """The value MLflow orders logged models by: the latest by timestamp, then step, then the
    smallest run id."""
    candidates = [metric for metric in m.metrics if metric.key == key]
    if not candidates:
        return None
    best = min(candidates, key=lambda metric: (-metric.timestamp, -metric.step, metric.run_id or ""))
    return float(best.value)


def _logged_model_sort_key(order_by: Sequence[OrderBy]) -> Callable[[LoggedModel], tuple[Any, ...]]:
    orders = complete_order(SearchKind.LOGGED_MODELS, order_by)

    def key(m: LoggedModel) -> tuple[Any, ...]:
        parts: list[Any] = []
        for o in orders:
            if o.key_type is KeyType.METRIC:
                value = _latest_logged_model_metric(m, o.key)
                if value is not None:
                    value = clamp(_logged_model_metric_value(value))
                parts.append(_present_first(value, o.ascending))
            else:
                parts.append(_present_first(_logged_model_attribute(m, o.key), o.ascending))
        return tuple(parts)

    return key


def trace_order_value(info: TraceInfo, o: OrderBy) -> Any:
    """The value a trace orders by for ``o`` (None when missing)."""
    if o.key_type is KeyType.TAG:
        return info.tags.get(o.key)
    if o.key_type is KeyType.METADATA:
        return info.metadata.get(o.key)
    if o.key == "experiment_id":
        return _experiment_id_order(info.experiment_id)
    return trace_attribute(info, o.key)


def _trace_sort_key(order_by: Sequence[OrderBy]) -> Callable[[TraceInfo], tuple[Any, ...]]:
    orders = complete_order(SearchKind.TRACES, order_by)

    def key(info: TraceInfo) -> tuple[Any, ...]:
        return tuple(_present_first(trace_order_value(info, o), o.ascending) for o in orders)

    return key


_SORT_KEYS: dict[SearchKind, Callable[[Sequence[OrderBy]], Callable[[Any], tuple[Any, ...]]]] = {
    SearchKind.RUNS: _run_sort_key,
    SearchKind.EXPERIMENTS: _experiment_sort_key,
    SearchKind.REGISTERED_MODELS: _registered_model_sort_key,
    SearchKind.MODEL_VERSIONS: _model_version_sort_key,
    SearchKind.LOGGED_MODELS: _logged_model_sort_key,
    SearchKind.TRACES: _trace_sort_key,
}


def sort(kind: SearchKind, entities: Iterable[E], order_by: Sequence[OrderBy]) -> list[E]:
    """``entities`` in MLflow's order for ``kind``: each ``order_by`` key in turn, then the
    kind's tie-breakers, giving a total, deterministic order.

    * runs: per key, values in order, then NaN (metrics), then missing, in ASC and DESC alike;
      then ``start_time`` DESC (unless ordered by it; a NULL start time last) and ``run_id`` ASC.
      Params and tags order as strings, metrics as numbers (their latest value).
    * experiments: no ``order_by`` means ``creation_time`` DESC, ``experiment_id`` ASC; otherwise
      ``experiment_id`` DESC is appended unless present. Ids order as integers; a NULL time
      orders first ascending and last descending (SQLite's rule).
    * registered models: then ``name`` ASC unless present.
    * model versions: no ``order_by`` means ``last_updated_timestamp`` DESC, ``name`` ASC,
      ``version_number`` DESC; otherwise ``name`` ASC and ``version_number`` DESC are appended
      unless present.
    * logged models: per key, values in order, then missing;
      then ``creation_timestamp`` DESC and ``model_id`` ASC unless present. A metric orders by
      its latest value (greatest timestamp, then step, then smallest run id); NaN counts as 0.0.
    * traces: per key, values in order, then missing, in ASC and DESC alike; then
      ``timestamp_ms`` DESC and ``request_id`` ASC unless present. ``name`` is the
      ``mlflow.traceName`` tag, ``run_id`` the ``mlflow.sourceRun`` metadata; experiment ids
      order as integers.
    """
    return sorted(entities, key=_SORT_KEYS[kind](order_by))
