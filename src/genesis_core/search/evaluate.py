"""Evaluate the search AST on domain entities: the reference semantics of every adapter.

:func:`matches` and :func:`sort` state MLflow 3.17.2's SQL-store behaviour in plain Python; the
memory adapter uses them directly, and the SQL and Mongo adapters must compile filters and orders
that give the same answers. The rules, per comparison:

* A comparison on a key the entity lacks (no such metric, param or tag; a NULL attribute such as
  a running run's ``end_time``) is false, whatever the comparator, ``!=`` and ``NOT IN``
  included. Only ``IS NULL`` matches a missing param or tag.
* ``LIKE`` is case-sensitive, ``ILIKE`` is not; ``%`` matches any run of characters (newlines
  too), ``_`` exactly one; there is no escape character. ``=`` and ``!=`` are case-sensitive.
* ``RLIKE`` (traces) holds when the regular expression is found anywhere in the value
  (``re.search``, case-sensitive), as MLflow's SQLite store evaluates it.
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
import operator
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, cast

from genesis_flow.core.entities import (
    DatasetInput,
    DatasetRef,
    Experiment,
    LoggedModel,
    Metric,
    Run,
    RunInfo,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import IS_PROMPT_TAG, ModelVersion, RegisteredModel
from genesis_flow.core.search.ast import (
    Comparator,
    Comparison,
    Filter,
    KeyGroup,
    KeyType,
    OrderBy,
    SearchKind,
)
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
    return like_matcher(pattern, ignore_case=ignore_case)(value)


def like_matcher(pattern: str, *, ignore_case: bool = False) -> Callable[[str], bool]:
    """:func:`like` for one pattern, split once: a filter's pattern meets every entity."""
    if ignore_case:
        pattern = pattern.lower()
    first, *rest = pattern.split("%")
    if not rest:

        def exact(value: str) -> bool:
            if ignore_case:
                value = value.lower()
            return len(value) == len(first) and _segment_at(value, 0, first)

        return exact
    *middle, last = rest

    def match(value: str) -> bool:
        if ignore_case:
            value = value.lower()
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

    return match


def regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern of an ``RLIKE``, or InvalidParameterValue naming what is wrong.

    Python's syntax is the reference (MLflow's SQLite store searches with ``re``); PostgreSQL and
    MongoDB run the same pattern with their own engines, which agree on the common syntax
    (classes, anchors, quantifiers, groups, alternation)."""
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as error:
        raise InvalidParameterValue(f"Invalid regular expression {pattern!r} for RLIKE: {error}") from None


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
    if comparator is Comparator.RLIKE:
        return regex(rhs).search(lhs) is not None
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


# --- key groups, read once per search -------------------------------------------------------------

Test = Callable[[Any], bool]

_SET_COMPARATORS = frozenset({Comparator.IN, Comparator.NOT_IN})
_BOUNDS = (
    (Comparator.LT, min, operator.lt),
    (Comparator.LE, min, operator.le),
    (Comparator.GT, max, operator.gt),
    (Comparator.GE, max, operator.ge),
)
_FOLDED = frozenset(
    {
        Comparator.EQ,
        Comparator.NE,
        Comparator.IN,
        Comparator.NOT_IN,
        Comparator.LIKE,
        Comparator.ILIKE,
        Comparator.RLIKE,
    }
    | {comparator for comparator, _, _ in _BOUNDS}
)


def _foldable(tests: Sequence[tuple[Comparator, Any]]) -> bool:
    """Whether ``tests`` can be folded into sets and bounds with the same answers as comparing one
    at a time: all strings or all numbers (not NaN, which equals nothing), known comparators."""
    members: list[Any] = []
    for comparator, value in tests:
        if comparator not in _FOLDED:
            return False
        if comparator in _SET_COMPARATORS:
            if not isinstance(value, (tuple, list, set, frozenset)):
                return False
            members += value
        else:
            members.append(value)
    return all(isinstance(m, str) for m in members) or all(
        type(m) in (int, float) and not math.isnan(m) for m in members
    )


def _all_of(checks: Sequence[Test]) -> Test:
    if len(checks) == 1:
        return checks[0]

    return lambda value: all(check(value) for check in checks)


def _compare_all(tests: Sequence[tuple[Comparator, Any]]) -> Test:
    """A present value against every ``(comparator, value)`` of ``tests``, read once: equalities
    and exclusions become sets, bounds the tightest one, patterns are split once, so a thousand
    comparisons on one key cost a few per entity."""
    if not _foldable(tests):
        # A hand-built AST (mixed or unusual values): one comparison at a time.
        return lambda value: all(_compare(comparator, value, rhs) for comparator, rhs in tests)
    checks: list[Test] = []
    equal = {rhs for comparator, rhs in tests if comparator is Comparator.EQ}
    if len(equal) > 1:
        return lambda value: False
    if equal:
        (only,) = equal
        checks.append(lambda value: bool(value == only))
    within: set[Any] | None = None
    excluded: set[Any] = set()
    for comparator, rhs in tests:
        if comparator is Comparator.IN:
            within = set(rhs) if within is None else within & set(rhs)
        elif comparator is Comparator.NOT_IN:
            excluded.update(rhs)
        elif comparator is Comparator.NE:
            excluded.add(rhs)
    if within is not None:
        checks.append(within.__contains__)
    if excluded:
        checks.append(lambda value: value not in excluded)
    for bounded, tightest, op in _BOUNDS:
        limits = [rhs for comparator, rhs in tests if comparator is bounded]
        if limits:
            checks.append(partial(_against, op, tightest(limits)))
    checks += [
        like_matcher(rhs, ignore_case=comparator is Comparator.ILIKE)
        for comparator, rhs in tests
        if comparator in (Comparator.LIKE, Comparator.ILIKE)
    ]
    checks += [_searcher(regex(rhs)) for comparator, rhs in tests if comparator is Comparator.RLIKE]
    return _all_of(checks) if checks else lambda value: True


def _searcher(pattern: re.Pattern[str]) -> Test:
    return lambda value: pattern.search(value) is not None


def _against(op: Callable[[Any, Any], Any], bound: Any, value: Any) -> bool:
    return bool(op(value, bound))


def _optional_test(g: KeyGroup) -> Test:
    """Every comparison of ``g`` on a value that may be missing (None): ``IS NULL`` matches only
    a missing one, ``IS NOT NULL`` any present one, every other comparison needs a value."""
    if g.impossible:
        return lambda value: False
    if g.absent:
        return lambda value: value is None
    passes = _compare_all([(c.comparator, c.value) for c in g.tests])
    return lambda value: value is not None and passes(value)


def _metric_test(kind: SearchKind, g: KeyGroup) -> Test:
    """Every comparison of ``g`` on a metric's latest value (None when the entity lacks it)."""
    for c in g.comparisons:
        if c.comparator in (Comparator.IS_NULL, Comparator.IS_NOT_NULL):
            raise unknown_key(kind, c)
    nan_passes = all(c.comparator is Comparator.NE for c in g.comparisons)
    passes = _compare_all([(c.comparator, clamp(float(c.value))) for c in g.comparisons])  # type: ignore[arg-type]

    def test(value: float | None) -> bool:
        if value is None:
            return False
        if math.isnan(value):
            return nan_passes
        return passes(clamp(value))

    return test


# --- per kind -------------------------------------------------------------------------------------


def _run_attribute(info: RunInfo, key: str, tags: Mapping[str, str]) -> Any:
    if key == "run_name":
        # MLflow's SQL store filters run names through the mlflow.runName tag.
        return tags.get(RUN_NAME_TAG, info.run_name)
    if key == "status":
        return info.status.value
    if key == "run_id":
        return info.run_id
    if key in ("user_id", "artifact_uri", "start_time", "end_time"):
        return getattr(info, key)
    return _MISSING


_MISSING: Any = object()
_RUN_ATTRIBUTES = frozenset(
    {"run_name", "status", "run_id", "user_id", "artifact_uri", "start_time", "end_time"}
)


class RunValues:
    """What run filters and orders read of a run, by key: a :class:`Run`'s (:meth:`of`), or a
    store's own state, so that only the runs of a page need become entities."""

    __slots__ = ("dataset_inputs", "info", "metrics", "params", "tags")

    def __init__(
        self,
        info: RunInfo,
        metrics: Mapping[str, float],
        params: Mapping[str, str],
        tags: Mapping[str, str],
        dataset_inputs: Collection[DatasetInput],
    ) -> None:
        self.info = info
        self.metrics = metrics
        self.params = params
        self.tags = tags
        self.dataset_inputs = dataset_inputs

    @classmethod
    def of(cls, run: Run) -> RunValues:
        data = run.data
        return cls(run.info, data.metrics_dict, data.params_dict, data.tags_dict, run.inputs.dataset_inputs)


def _run_dataset_test(c: Comparison) -> Callable[[RunValues], bool]:
    """One dataset comparison: some dataset input of the run satisfies it."""
    if c.key not in ("name", "digest", "context"):
        raise unknown_key(SearchKind.RUNS, c)

    def test(run: RunValues) -> bool:
        for dataset_input in run.dataset_inputs:
            if c.key == "context":
                value: str | None = dataset_input.context
            else:
                value = getattr(dataset_input.dataset, c.key)
            if value is not None and _compare(c.comparator, value, c.value):
                return True
        return False

    return test


def _run_test(g: KeyGroup) -> Callable[[RunValues], bool]:
    key, kt = g.key, g.key_type
    if kt is KeyType.METRIC:
        metric = _metric_test(SearchKind.RUNS, g)
        return lambda run: metric(run.metrics.get(key))
    if kt is KeyType.DATASET:
        (c,) = g.comparisons  # many values per run: one group per comparison
        return _run_dataset_test(c)
    test = _optional_test(g)
    if kt is KeyType.PARAM:
        return lambda run: test(run.params.get(key))
    if kt is KeyType.TAG:
        return lambda run: test(run.tags.get(key))
    if kt is KeyType.ATTRIBUTE and key in _RUN_ATTRIBUTES:
        return lambda run: test(_run_attribute(run.info, key, run.tags))
    raise unknown_key(SearchKind.RUNS, g.comparisons[0])


def _experiment_id_key(experiment_id: str) -> str:
    try:
        return str(int(experiment_id))
    except ValueError:
        return experiment_id


def _experiment_value(g: KeyGroup) -> Callable[[Experiment], Any]:
    key = g.key
    if g.key_type is KeyType.TAG:
        return lambda e: e.tags_dict.get(key)
    if g.key_type is KeyType.ATTRIBUTE:
        if key == "experiment_id":
            return lambda e: _experiment_id_key(e.experiment_id)
        if key in ("name", "creation_time", "last_update_time"):
            return operator.attrgetter(key)
    raise unknown_key(SearchKind.EXPERIMENTS, g.comparisons[0])


def _registered_model_value(g: KeyGroup) -> Callable[[RegisteredModel], Any]:
    key = g.key
    if g.key_type is KeyType.TAG:
        return lambda m: m.tags_dict.get(key)
    if g.key_type is KeyType.ATTRIBUTE and key == "name":
        return operator.attrgetter("name")
    raise unknown_key(SearchKind.REGISTERED_MODELS, g.comparisons[0])


_MODEL_VERSION_FIELDS = {
    "name": "name",
    "run_id": "run_id",
    "source_path": "source",
    "version_number": "version",
}


def _model_version_value(g: KeyGroup) -> Callable[[ModelVersion], Any]:
    key = g.key
    if g.key_type is KeyType.TAG:
        return lambda mv: mv.tags_dict.get(key)
    if g.key_type is KeyType.ATTRIBUTE and key in _MODEL_VERSION_FIELDS:
        return operator.attrgetter(_MODEL_VERSION_FIELDS[key])
    raise unknown_key(SearchKind.MODEL_VERSIONS, g.comparisons[0])


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


def _logged_model_metric_holds(c: Comparison, datasets: Sequence[DatasetRef], m: LoggedModel) -> bool:
    """Some logged point of the metric (on one of ``datasets``, when given) satisfies ``c``."""
    return any(
        m_.key == c.key
        and (not datasets or _on_datasets(m_, datasets))
        and _compare_metric(c.comparator, _logged_model_metric_value(m_.value), c.value)
        for m_ in m.metrics
    )


def _logged_model_value(g: KeyGroup) -> Callable[[LoggedModel], Any]:
    key = g.key
    if g.key_type is KeyType.PARAM:
        return lambda m: {p.key: p.value for p in m.params}.get(key)
    if g.key_type is KeyType.TAG:
        return lambda m: {t.key: t.value for t in m.tags}.get(key)
    if g.key_type is KeyType.ATTRIBUTE and (key == "status" or key in _LOGGED_MODEL_ATTRIBUTES):
        return lambda m: _logged_model_attribute(m, key)
    raise unknown_key(SearchKind.LOGGED_MODELS, g.comparisons[0])


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


def _trace_value(g: KeyGroup) -> Callable[[TraceInfo], Any]:
    key = g.key
    if g.key_type is KeyType.ATTRIBUTE:
        return lambda info: trace_attribute(info, key)
    if g.key_type is KeyType.TAG:
        return lambda info: info.tags.get(key)
    if g.key_type is KeyType.METADATA:
        return lambda info: info.metadata.get(key)
    raise unknown_key(SearchKind.TRACES, g.comparisons[0])


# How each kind reads a single-valued key's value (None when missing) off an entity.
_VALUES: dict[SearchKind, Callable[[KeyGroup], Callable[[Any], Any]]] = {
    SearchKind.EXPERIMENTS: _experiment_value,
    SearchKind.REGISTERED_MODELS: _registered_model_value,
    SearchKind.MODEL_VERSIONS: _model_version_value,
    SearchKind.LOGGED_MODELS: _logged_model_value,
    SearchKind.TRACES: _trace_value,
}

_ENTITY_TYPES: dict[SearchKind, type] = {
    SearchKind.RUNS: Run,
    SearchKind.EXPERIMENTS: Experiment,
    SearchKind.REGISTERED_MODELS: RegisteredModel,
    SearchKind.MODEL_VERSIONS: ModelVersion,
    SearchKind.LOGGED_MODELS: LoggedModel,
    SearchKind.TRACES: TraceInfo,
}


def _group_test(kind: SearchKind, g: KeyGroup, datasets: Sequence[DatasetRef]) -> Test:
    if kind is SearchKind.RUNS:
        return _run_test(g)
    if kind is SearchKind.LOGGED_MODELS and g.key_type is KeyType.METRIC:
        (c,) = g.comparisons  # many points per key: one group per comparison
        return partial(_logged_model_metric_holds, c, datasets)
    value = _VALUES[kind](g)
    test = _optional_test(g)
    return lambda entity: test(value(entity))


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
    """:func:`matches` for many entities (runs also as :class:`RunValues`): the filter is read
    once, each key's comparisons folded into one test (see :func:`_compare_all`), so a long
    filter costs per entity about what its distinct keys cost.

    Raises:
        InvalidParameterValue: as :func:`matches`, here rather than per entity.
    """
    groups = filter.groups(kind)
    passes = _all_of([_group_test(kind, g, datasets) for g in groups]) if groups else lambda entity: True
    expected = _ENTITY_TYPES[kind]
    accepted = RunValues if kind is SearchKind.RUNS else expected
    # With datasets and no metric comparison, a logged model needs some metric on one of them.
    on_datasets = (
        kind is SearchKind.LOGGED_MODELS
        and bool(datasets)
        and not any(g.key_type is KeyType.METRIC for g in groups)
    )

    def one(entity: object) -> bool:
        if kind is SearchKind.RUNS and isinstance(entity, Run):
            entity = RunValues.of(entity)
        if not isinstance(entity, accepted):
            raise TypeError(f"expected a {expected.__name__} for {kind.value}, got {type(entity).__name__}")
        if on_datasets and not any(_on_datasets(m, datasets) for m in cast(LoggedModel, entity).metrics):
            return False
        return passes(entity)

    return one


# --- MLflow's prompt registry ---------------------------------------------------------------------


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


def _run_sort_key(order_by: Sequence[OrderBy]) -> Callable[[RunValues], tuple[Any, ...]]:
    has_start_time = any(o.key_type is KeyType.ATTRIBUTE and o.key == "start_time" for o in order_by)

    def key(run: RunValues) -> tuple[Any, ...]:
        parts: list[Any] = []
        for o in order_by:
            if o.key_type is KeyType.METRIC:
                parts.append(_metric_rank(run.metrics.get(o.key), o.ascending))
                continue
            if o.key_type is KeyType.PARAM:
                value: Any = run.params.get(o.key)
            elif o.key_type is KeyType.TAG:
                value = run.tags.get(o.key)
            elif o.key_type is KeyType.ATTRIBUTE and o.key == "run_name":
                value = run.info.run_name
            elif o.key_type is KeyType.ATTRIBUTE:
                value = _run_attribute(run.info, o.key, run.tags)
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
    kind's tie-breakers, giving a total, deterministic order. Runs may be :class:`RunValues`.

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
    key = _SORT_KEYS[kind](order_by)
    if kind is SearchKind.RUNS:
        run_key = key
        key = lambda run: run_key(run if isinstance(run, RunValues) else RunValues.of(run))  # noqa: E731
    return sorted(entities, key=key)
