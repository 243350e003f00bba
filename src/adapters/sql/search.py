"""The search AST compiled to SQL: WHERE clauses and ORDER BY lists with the memory oracle's answers.

:mod:`genesis_flow.core.search.evaluate` states the semantics; here they become SQL. The parts
that need care:

* a comparison on a key the entity lacks is false (``EXISTS`` over the key's row; SQL's NULL
  rules do the same for NULL columns), only ``IS NULL`` matches a missing param or tag;
* ``LIKE`` has no escape character and is case-sensitive; SQLite gets the domain's own matcher as
  a SQL function (its LIKE ignores ASCII case and ILIKE would fold ASCII only), PostgreSQL its
  LIKE / ILIKE with backslashes doubled (backslash is PostgreSQL's default escape);
* ``RLIKE`` is the domain's ``re.search`` as a SQL function on SQLite (as MLflow registers one),
  PostgreSQL's ``~`` (case-sensitive, anywhere in the value);
* strings order by code point: PostgreSQL compares them ``COLLATE "C"``, SQLite's BINARY does so;
* metrics store NaN as 0.0 plus ``is_nan`` and +/-inf as they are, while comparisons see +/-inf
  as +/-the largest double (MLflow's rule): only a bound at that largest double needs the clamp.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

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

_MAX_DOUBLE = sys.float_info.max


class Dialect:
    """The few places where SQLite and PostgreSQL need different SQL."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_sqlite = name == "sqlite"

    def text(self, column: Any) -> Any:
        """A string column that compares and orders by code point."""
        return column if self.is_sqlite else column.collate("C")

    def like(self, column: Any, pattern: str, *, ignore_case: bool) -> ColumnElement[bool]:
        if self.is_sqlite:
            return sa.func.genesis_like(column, pattern, 1 if ignore_case else 0) == 1
        escaped = pattern.replace("\\", "\\\\")
        matched: ColumnElement[bool] = column.ilike(escaped) if ignore_case else column.like(escaped)
        return matched

    def regexp(self, column: Any, pattern: Any) -> ColumnElement[bool]:
        if self.is_sqlite:
            return sa.func.genesis_regexp(column, pattern) == 1
        return column.op("~")(pattern)  # type: ignore[no-any-return]

    def insert(self, table: sa.Table) -> Any:
        """An INSERT that can take the dialect's ON CONFLICT clauses."""
        return (sqlite.insert if self.is_sqlite else postgresql.insert)(table)

    def insert_ignore(self, table: sa.Table) -> Any:
        return self.insert(table).on_conflict_do_nothing()

    def upsert(self, table: sa.Table, keys: Sequence[str], update: Sequence[str], where: Any = None) -> Any:
        """An INSERT that sets the ``update`` columns of the row already stored under ``keys``."""
        stmt = self.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}, where=where
        )


def compare(dialect: Dialect, column: Any, comparator: Comparator, value: Any) -> ColumnElement[bool]:
    """``column <comparator> value`` for a present value (NULL makes every comparison false)."""
    if isinstance(value, str) and comparator in (Comparator.LT, Comparator.LE, Comparator.GT, Comparator.GE):
        column = dialect.text(column)
    if comparator is Comparator.EQ:
        return column == value  # type: ignore[no-any-return]
    if comparator is Comparator.NE:
        return column != value  # type: ignore[no-any-return]
    if comparator is Comparator.LT:
        return column < value  # type: ignore[no-any-return]
    if comparator is Comparator.LE:
        return column <= value  # type: ignore[no-any-return]
    if comparator is Comparator.GT:
        return column > value  # type: ignore[no-any-return]
    if comparator is Comparator.GE:
        return column >= value  # type: ignore[no-any-return]
    if comparator is Comparator.LIKE:
        return dialect.like(column, str(value), ignore_case=False)
    if comparator is Comparator.ILIKE:
        return dialect.like(column, str(value), ignore_case=True)
    if comparator is Comparator.RLIKE:
        return dialect.regexp(column, str(value))
    if comparator is Comparator.IN:
        return column.in_(list(value))  # type: ignore[no-any-return]
    if comparator is Comparator.NOT_IN:
        return column.not_in(list(value))  # type: ignore[no-any-return]
    raise InvalidParameterValue(f"Comparator {comparator.value} cannot compare values")


class _Parenthesised(ColumnElement[bool]):
    """A boolean kept in parentheses: SQLAlchemy flattens nested ANDs (and drops a Grouping),
    while SQLite parses a flat chain one tree level per term and refuses past 1000 levels."""

    inherit_cache = True
    _traverse_internals = [("inner", InternalTraversal.dp_clauseelement)]
    type = sa.Boolean()

    def __init__(self, inner: ColumnElement[bool]) -> None:
        self.inner = inner


@compiles(_Parenthesised)
def _compile_parenthesised(element: _Parenthesised, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + compiler.process(element.inner, **kw) + ")"


_FAN_OUT = 8


def all_of(terms: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    """AND of ``terms`` as a balanced tree of parenthesised groups, so its depth grows with the
    logarithm of the number of terms (a filter may hold up to a thousand)."""
    level = list(terms)
    if not level:
        return sa.true()
    while len(level) > _FAN_OUT:
        level = [
            _Parenthesised(sa.and_(*chunk)) if len(chunk) > 1 else chunk[0]
            for chunk in (level[i : i + _FAN_OUT] for i in range(0, len(level), _FAN_OUT))
        ]
    return sa.and_(*level) if len(level) > 1 else level[0]


def _optional(dialect: Dialect, column: Any, c: Comparison) -> ColumnElement[bool]:
    """A column that may be NULL: IS [NOT] NULL test it, everything else needs a value."""
    if c.comparator is Comparator.IS_NULL:
        return column.is_(None)  # type: ignore[no-any-return]
    if c.comparator is Comparator.IS_NOT_NULL:
        return column.is_not(None)  # type: ignore[no-any-return]
    return sa.and_(column.is_not(None), compare(dialect, column, c.comparator, c.value))


def optional_group(dialect: Dialect, column: Any, g: KeyGroup) -> ColumnElement[bool]:
    """Every comparison of ``g`` on a column that may be NULL."""
    return all_of([_optional(dialect, column, c) for c in g.comparisons])


def keyed_groups(
    dialect: Dialect,
    table: sa.Table,
    owner: Sequence[tuple[Any, str]],
    groups: Sequence[KeyGroup],
    tests: Callable[[Any, KeyGroup], list[ColumnElement[bool]]] | None = None,
) -> list[ColumnElement[bool]]:
    """Key groups on key/value rows with one row per owner and key (params, tags, latest metrics),
    ``owner`` pairing the entity's columns with the row's column names: at most two conditions
    however many keys the filter names, so no planner weighs a join order per key (PostgreSQL
    took seconds over 100 keys). ``tests`` gives a group's row tests (default: its comparisons on
    ``value``).

    Keys that need a value: an owner qualifies when it has as many passing rows among those
    keys' rows as there are keys (every comparison needs its key's row, and an owner has at most
    one row per key). SQLite counts them per owner, so a search walking runs in page order stops
    at the page's end (all of them at once was 50 times slower over 10k runs); PostgreSQL, which
    sorts the matching runs anyway, reads the keys' rows once and groups them (see
    :func:`_hashed`). ``IS NULL`` keys: the owner has none of their rows."""
    test = tests or _row_value_tests(dialect)
    if any(g.impossible for g in groups):
        return [sa.false()]
    needed = [g for g in groups if not g.absent]
    missing = [g for g in groups if g.absent]
    clauses: list[ColumnElement[bool]] = []
    if needed:
        row = table.alias()
        link = [row.c[name] == column for column, name in owner]
        keys = [g.key for g in needed]
        passing = sa.or_(*(sa.and_(row.c.key == g.key, *test(row, g)) for g in needed))
        if len(needed) == 1:
            (g,) = needed
            clauses.append(sa.exists().where(*link, row.c.key == g.key, *test(row, g)))
        elif dialect.is_sqlite:
            count = sa.select(sa.func.count()).where(*link, row.c.key.in_(keys), passing).scalar_subquery()
            clauses.append(count == len(needed))
        else:
            by = [row.c[name] for _, name in owner]
            grouped = (
                sa.select(*by)
                .where(row.c.key.in_(keys), passing)
                .group_by(*by)
                # ">=" is "=" here (at most one passing row per key); PostgreSQL estimates an
                # equality on an aggregate at 0.5% of the groups.
                .having(sa.func.count() >= len(needed))
            )
            clauses.append(_hashed(_owner_of(owner).in_(grouped)))
    if missing:
        row = table.alias()
        keys = [g.key for g in missing]
        if dialect.is_sqlite:
            link = [row.c[name] == column for column, name in owner]
            clauses.append(~sa.exists().where(*link, row.c.key.in_(keys)))
        else:
            having = sa.select(*(row.c[name] for _, name in owner)).where(row.c.key.in_(keys))
            clauses.append(_owner_of(owner).not_in(having))  # never a join: see _hashed
    return clauses


def _owner_of(owner: Sequence[tuple[Any, str]]) -> Any:
    return owner[0][0] if len(owner) == 1 else sa.tuple_(*(column for column, _ in owner))


def _hashed(membership: ColumnElement[bool]) -> ColumnElement[bool]:
    """``x IN (subquery)`` kept from becoming a join on PostgreSQL: it then reads the subquery
    once into a hash table and probes it per row. As a join its plan hangs on row estimates,
    which right after a bulk load (no statistics yet) made it nest loops over the aggregate: over
    a minute for 100 keys over 10k runs, against 0.4 s hashed. Past its hash memory (some 100k
    matching owners under the default work_mem) PostgreSQL would rescan the subquery per row."""
    return membership.is_(sa.true())


def _row_value_tests(dialect: Dialect) -> Callable[[Any, KeyGroup], list[ColumnElement[bool]]]:
    return lambda row, g: _value_tests(dialect, row.c.value, g)


def _value_tests(dialect: Dialect, column: Any, g: KeyGroup) -> list[ColumnElement[bool]]:
    tests = g.tests
    return [all_of([compare(dialect, column, c.comparator, c.value) for c in tests])] if tests else []


def clamped(column: Any) -> Any:
    """+/-inf as +/-the largest double, as MLflow's SQL store keeps them."""
    return sa.case(
        (column > _MAX_DOUBLE, sa.literal(_MAX_DOUBLE)),
        (column < -_MAX_DOUBLE, sa.literal(-_MAX_DOUBLE)),
        else_=column,
    )


def metric_value_compare(column: Any, comparator: Comparator, value: Any) -> ColumnElement[bool]:
    """A non-NaN stored metric value (+/-inf kept as they are) against a bound, with MLflow's inf
    clamping."""
    bound = clamp(float(value))
    # inf and the largest double only compare differently against that largest double itself.
    lhs = clamped(column) if abs(bound) == _MAX_DOUBLE else column
    return compare(Dialect("sqlite"), lhs, comparator, bound)


# --- runs -----------------------------------------------------------------------------------------


_RUN_COLUMNS = {
    "status": "status",
    "run_id": "run_id",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "start_time": "start_time",
    "end_time": "end_time",
}


def _metric_test(dialect: Dialect, lm: Any, c: Comparison) -> ColumnElement[bool]:
    # The column already holds +/-inf as +/-the largest double (schema.latest_metrics).
    value_test = compare(dialect, lm.c.value, c.comparator, clamp(float(c.value)))  # type: ignore[arg-type]
    if c.comparator is Comparator.NE:
        # A NaN metric differs from every number.
        return sa.or_(lm.c.is_nan, value_test)
    return sa.and_(sa.not_(lm.c.is_nan), value_test)


def run_where(
    dialect: Dialect, runs: sa.Table, filter: Filter, t: Any
) -> tuple[list[ColumnElement[bool]], list[tuple[Any, Any]], dict[str, Any]]:
    """(WHERE terms, inner joins, metric aliases) for ``filter`` on ``runs``; ``t`` is the schema
    module. The aliases are latest-metric rows the filter requires to be present and not NaN, by
    key: ordering by such a key can use them directly (see :func:`run_order`).

    Metric, param and tag groups are a fixed number of conditions per table
    (:func:`keyed_groups`), however many keys the filter names. On SQLite a table's one key that
    needs its row is an inner join on that row instead: (run, key) is unique in those tables, so
    no run is repeated, and the planner may drive the query from the most selective key rather
    than probe every run of the experiments in turn.
    """
    clauses: list[ColumnElement[bool]] = []
    joins: list[tuple[Any, Any]] = []
    present: dict[str, Any] = {}
    keyed: dict[KeyType, list[KeyGroup]] = {KeyType.METRIC: [], KeyType.PARAM: [], KeyType.TAG: []}
    for g in filter.groups(SearchKind.RUNS):
        kt = g.key_type
        if kt is KeyType.METRIC and len(g.tests) != len(g.comparisons):
            raise unknown_key(SearchKind.RUNS, g.comparisons[0])
        if kt in keyed:
            keyed[kt].append(g)
        elif kt is KeyType.ATTRIBUTE and g.key == "run_name":
            # MLflow's SQL store filters run names through the mlflow.runName tag.
            clauses.append(optional_group(dialect, run_name_expression(runs, t), g))
        elif kt is KeyType.ATTRIBUTE and g.key in _RUN_COLUMNS:
            clauses.append(optional_group(dialect, runs.c[_RUN_COLUMNS[g.key]], g))
        elif kt is KeyType.DATASET and g.key in ("name", "digest", "context"):
            # Datasets are many per run: each comparison (a group of one) has its own witness.
            (c,) = g.comparisons
            ri = t.run_inputs.alias()
            column = {"name": ri.c.dataset_name, "digest": ri.c.dataset_digest, "context": ri.c.context}[
                c.key
            ]
            clauses.append(
                sa.exists().where(
                    ri.c.run_id == runs.c.run_id,
                    column.is_not(None),
                    compare(dialect, column, c.comparator, c.value),
                )
            )
        else:
            raise unknown_key(SearchKind.RUNS, g.comparisons[0])
    for kt, groups in keyed.items():
        table = {KeyType.METRIC: t.latest_metrics, KeyType.PARAM: t.params, KeyType.TAG: t.tags}[kt]
        tests = _metric_tests(dialect) if kt is KeyType.METRIC else _row_value_tests(dialect)
        needed = [g for g in groups if not g.absent]
        if dialect.is_sqlite and len(needed) == 1 and not any(g.impossible for g in groups):
            (lone,) = needed
            row = table.alias()
            joins.append(
                (row, sa.and_(row.c.run_id == runs.c.run_id, row.c.key == lone.key, *tests(row, lone)))
            )
            if kt is KeyType.METRIC and any(c.comparator is not Comparator.NE for c in lone.comparisons):
                present[lone.key] = row
            groups = [g for g in groups if g is not lone]
        clauses += keyed_groups(dialect, table, [(runs.c.run_id, "run_id")], groups, tests)
    return clauses, joins, present


def _metric_tests(dialect: Dialect) -> Callable[[Any, KeyGroup], list[ColumnElement[bool]]]:
    """A metric group's tests on its latest-metric row."""
    return lambda row, g: [all_of([_metric_test(dialect, row, c) for c in g.comparisons])]


def run_name_expression(runs: Any, t: Any) -> Any:
    tag = t.tags.alias()
    name_tag = (
        sa.select(tag.c.value)
        .where(tag.c.run_id == runs.c.run_id, tag.c.key == RUN_NAME_TAG)
        .scalar_subquery()
    )
    return sa.func.coalesce(name_tag, runs.c.name)


def run_order(
    dialect: Dialect,
    runs: sa.Table,
    order_by: Sequence[OrderBy],
    t: Any,
    present: dict[str, Any] | None = None,
) -> tuple[list[Any], list[tuple[Any, Any]]]:
    """(ORDER BY terms, outer joins they need) in MLflow's run order, tie-breakers included.

    ``present``: latest-metric aliases the filter already requires present and not NaN (from
    :func:`run_where`); ordering by one of those keys needs no join and no rank, so SQLite can
    walk the (key, value) index in order and stop at the page's end."""
    terms: list[Any] = []
    joins: list[tuple[Any, Any]] = []
    for o in order_by:
        if o.key_type is KeyType.METRIC:
            known = (present or {}).get(o.key)
            if known is not None:
                terms.append(known.c.value.asc() if o.ascending else known.c.value.desc())
                continue
            lm = t.latest_metrics.alias()
            joins.append((lm, sa.and_(lm.c.run_id == runs.c.run_id, lm.c.key == o.key)))
            rank = sa.case((lm.c.run_id.is_(None), 2), (lm.c.is_nan, 1), else_=0)
            terms += [rank.asc(), lm.c.value.asc() if o.ascending else lm.c.value.desc()]
            continue
        if o.key_type in (KeyType.PARAM, KeyType.TAG):
            row = (t.params if o.key_type is KeyType.PARAM else t.tags).alias()
            joins.append((row, sa.and_(row.c.run_id == runs.c.run_id, row.c.key == o.key)))
            column: Any = dialect.text(row.c.value)
        elif o.key_type is KeyType.ATTRIBUTE and o.key == "run_name":
            column = dialect.text(runs.c.name)
        elif o.key_type is KeyType.ATTRIBUTE and o.key in _RUN_COLUMNS:
            column = runs.c[_RUN_COLUMNS[o.key]]
            if o.key not in ("start_time", "end_time"):
                column = dialect.text(column)
        elif o.key_type is KeyType.ATTRIBUTE:
            raise InvalidParameterValue(f"Cannot order runs by attribute '{o.key}'")
        else:
            raise InvalidParameterValue(f"Cannot order runs by {o.key_type.value} '{o.key}'")
        terms += present_first(column, o.ascending)
    if not any(o.key_type is KeyType.ATTRIBUTE and o.key == "start_time" for o in order_by):
        terms.append(runs.c.start_time.desc().nulls_last())
    terms.append(dialect.text(runs.c.run_id).asc())
    return terms, joins


def present_first(column: Any, ascending: bool) -> list[Any]:
    """Values in order, then missing ones, in both directions."""
    return [sa.case((column.is_(None), 1), else_=0).asc(), column.asc() if ascending else column.desc()]


def nulls_smallest(column: Any, ascending: bool) -> Any:
    """SQLite's NULL order on every dialect: first ascending, last descending."""
    return column.asc().nulls_first() if ascending else column.desc().nulls_last()


# --- experiments ----------------------------------------------------------------------------------


def experiment_where(dialect: Dialect, e: sa.Table, filter: Filter, t: Any) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    tags: list[KeyGroup] = []
    for g in filter.groups(SearchKind.EXPERIMENTS):
        if g.key_type is KeyType.TAG:
            tags.append(g)
        elif g.key_type is KeyType.ATTRIBUTE and g.key in (
            "experiment_id",
            "name",
            "creation_time",
            "last_update_time",
        ):
            clauses.append(optional_group(dialect, e.c[g.key], g))
        else:
            raise unknown_key(SearchKind.EXPERIMENTS, g.comparisons[0])
    return clauses + keyed_groups(dialect, t.experiment_tags, [(e.c.experiment_id, "experiment_id")], tags)


def experiment_order(dialect: Dialect, e: sa.Table, order_by: Sequence[OrderBy]) -> list[Any]:
    terms: list[Any] = []
    for o in complete_order(SearchKind.EXPERIMENTS, order_by):
        if o.key == "experiment_id":
            # Numeric ids in numeric order, then any others as strings; the whole key reverses DESC.
            non_numeric = sa.case((e.c.id_order.is_(None), 1), else_=0)
            for column in (non_numeric, e.c.id_order, dialect.text(e.c.experiment_id)):
                terms.append(column.asc() if o.ascending else column.desc())
        elif o.key == "name":
            terms.append(nulls_smallest(dialect.text(e.c.name), o.ascending))
        else:
            terms.append(nulls_smallest(e.c[o.key], o.ascending))
    return terms


# --- logged models --------------------------------------------------------------------------------

_LOGGED_MODEL_COLUMNS = frozenset(
    {
        "name",
        "model_id",
        "experiment_id",
        "model_type",
        "source_run_id",
        "creation_timestamp",
        "last_updated_timestamp",
        "status",
    }
)


def _on_datasets(metric: Any, datasets: Sequence[DatasetRef]) -> ColumnElement[bool]:
    return sa.or_(
        *(
            sa.and_(
                metric.c.dataset_name == d.name,
                *(() if d.digest is None else (metric.c.dataset_digest == d.digest,)),
            )
            for d in datasets
        )
    )


def logged_model_where(
    dialect: Dialect, lm: sa.Table, filter: Filter, datasets: Sequence[DatasetRef], t: Any
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    has_metric_clause = False
    keyed: dict[KeyType, list[KeyGroup]] = {KeyType.PARAM: [], KeyType.TAG: []}
    for g in filter.groups(SearchKind.LOGGED_MODELS):
        kt = g.key_type
        if kt is KeyType.METRIC:
            # Many points per key: each comparison (a group of one) has its own witness.
            (c,) = g.comparisons
            has_metric_clause = True
            if c.comparator in (Comparator.IS_NULL, Comparator.IS_NOT_NULL):
                raise unknown_key(SearchKind.LOGGED_MODELS, c)
            m = t.logged_model_metrics.alias()
            # A NaN point is stored as 0.0, which is the value MLflow compares it as here.
            terms = [m.c.model_id == lm.c.model_id, m.c.key == c.key]
            terms.append(metric_value_compare(m.c.value, c.comparator, c.value))
            if datasets:
                terms.append(_on_datasets(m, datasets))
            clauses.append(sa.exists().where(*terms))
        elif kt in keyed:
            keyed[kt].append(g)
        elif kt is KeyType.ATTRIBUTE and g.key in _LOGGED_MODEL_COLUMNS:
            clauses.append(optional_group(dialect, lm.c[g.key], g))
        else:
            raise unknown_key(SearchKind.LOGGED_MODELS, g.comparisons[0])
    if datasets and not has_metric_clause:
        m = t.logged_model_metrics.alias()
        clauses.append(sa.exists().where(m.c.model_id == lm.c.model_id, _on_datasets(m, datasets)))
    owner = [(lm.c.model_id, "model_id")]
    clauses += keyed_groups(dialect, t.logged_model_params, owner, keyed[KeyType.PARAM])
    return clauses + keyed_groups(dialect, t.logged_model_tags, owner, keyed[KeyType.TAG])


def logged_model_order(dialect: Dialect, lm: sa.Table, order_by: Sequence[OrderBy], t: Any) -> list[Any]:
    terms: list[Any] = []
    for o in complete_order(SearchKind.LOGGED_MODELS, order_by):
        if o.key_type is KeyType.METRIC:
            m = t.logged_model_metrics.alias()
            # The latest point: greatest timestamp, then step, then the smallest run id.
            latest = (
                sa.select(clamped(m.c.value))
                .where(m.c.model_id == lm.c.model_id, m.c.key == o.key)
                .order_by(
                    m.c.timestamp.desc(),
                    m.c.step.desc(),
                    dialect.text(sa.func.coalesce(m.c.run_id, "")).asc(),
                )
                .limit(1)
                .scalar_subquery()
            )
            terms += present_first(latest, o.ascending)
        else:  # an attribute: complete_order has checked the key
            column = lm.c[o.key]
            if o.key not in ("creation_timestamp", "last_updated_timestamp"):
                column = dialect.text(column)
            terms += present_first(column, o.ascending)
    return terms


# --- traces ---------------------------------------------------------------------------------------


def _trace_columns(ti: Any) -> dict[str, Any]:
    """Trace attributes that are columns (or an expression of them) of ``trace_info``."""
    return {
        "request_id": ti.c.trace_id,
        "experiment_id": ti.c.experiment_id,
        "timestamp_ms": ti.c.request_time,
        "execution_time_ms": ti.c.execution_duration,
        # As MLflow's SQL store: the request time while the duration is unknown.
        "end_time_ms": ti.c.request_time + sa.func.coalesce(ti.c.execution_duration, 0),
        "status": ti.c.state,
        "client_request_id": ti.c.client_request_id,
    }


# Attributes kept in a tag or metadata row, as MLflow keeps them: (table name, key).
_TRACE_KEYED_ATTRIBUTES = {
    "name": ("trace_tags", TRACE_NAME_TAG),
    "run_id": ("trace_metadata", SOURCE_RUN_METADATA),
}
_TRACE_TEXT_ATTRIBUTES = frozenset({"request_id", "status", "client_request_id"})
_TRACE_NULLABLE_ATTRIBUTES = frozenset({"execution_time_ms", "client_request_id"})


class Binds:
    """Collects a statement's values as named bind parameters, so that the statement depends only
    on the query's shape: built and compiled once per shape, then sent again with new values."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> Any:
        name = f"v{len(self.values)}"
        self.values[name] = value
        # Untyped: the column it meets types it, as it would type a literal.
        return sa.bindparam(name)


def trace_filter_shape(filter: Filter) -> tuple[Any, ...]:
    """What of ``filter`` changes the SQL :func:`trace_where` builds (not keys or values)."""
    shape: list[Any] = []
    for g in filter.groups(SearchKind.TRACES):
        tests: list[Any] = []
        for c in g.comparisons:
            value = c.value
            if isinstance(value, (list, tuple, set, frozenset)):
                of: Any = len(value)
            else:
                of = type(value).__name__
            tests.append((c.comparator, of))
        key = g.key if g.key_type is KeyType.ATTRIBUTE else None
        shape.append((g.key_type, key, tuple(tests)))
    return tuple(shape)


def _bound_compare(
    dialect: Dialect, column: Any, comparator: Comparator, value: Any, bind: Binds
) -> ColumnElement[bool]:
    """:func:`compare` with the value sent as bind parameters."""
    if comparator is Comparator.LIKE or comparator is Comparator.ILIKE:
        ignore_case = comparator is Comparator.ILIKE
        pattern = str(value)
        if dialect.is_sqlite:
            return (
                sa.func.genesis_like(column, bind(pattern), sa.literal_column("1" if ignore_case else "0"))
                == 1
            )
        escaped = bind(pattern.replace("\\", "\\\\"))
        matched: ColumnElement[bool] = column.ilike(escaped) if ignore_case else column.like(escaped)
        return matched
    if comparator is Comparator.RLIKE:
        return dialect.regexp(column, bind(value))
    if comparator is Comparator.IN or comparator is Comparator.NOT_IN:
        return compare(dialect, column, comparator, [bind(v) for v in value])
    if isinstance(value, str) and comparator in (Comparator.LT, Comparator.LE, Comparator.GT, Comparator.GE):
        column = dialect.text(column)
    return compare(dialect, column, comparator, bind(value))


def _trace_keyed_group(g: KeyGroup) -> bool:
    """Whether ``g`` is on a trace's tag or metadata rows (see :func:`_trace_keyed`)."""
    return g.key_type in (KeyType.TAG, KeyType.METADATA) or (
        g.key_type is KeyType.ATTRIBUTE and g.key in _TRACE_KEYED_ATTRIBUTES
    )


def _trace_keyed_plan(filter: Filter) -> list[tuple[str, list[tuple[str, KeyGroup]]]]:
    """The filter's groups kept in tag or metadata rows, per table (tags, then metadata) as
    (row key, group), in the filter's order: :func:`trace_where` and :func:`trace_values` both
    walk this, so they bind the same values in the same order."""
    tables: dict[str, list[tuple[str, KeyGroup]]] = {"trace_tags": [], "trace_metadata": []}
    for g in filter.groups(SearchKind.TRACES):
        if g.key_type is KeyType.TAG:
            tables["trace_tags"].append((g.key, g))
        elif g.key_type is KeyType.METADATA:
            tables["trace_metadata"].append((g.key, g))
        elif g.key_type is KeyType.ATTRIBUTE and g.key in _TRACE_KEYED_ATTRIBUTES:
            table, key = _TRACE_KEYED_ATTRIBUTES[g.key]
            tables[table].append((key, g))
    return [(name, entries) for name, entries in tables.items() if entries]


def _trace_keyed(
    dialect: Dialect, table: sa.Table, ti: Any, entries: Sequence[tuple[str, KeyGroup]], bind: Binds
) -> list[ColumnElement[bool]]:
    """Key groups on a trace's tag or metadata rows (one per key and trace; missing row = missing
    key) as membership in sets of traces, which the planner reads from the (key, value,
    trace_id) index once instead of probing rows for every trace in the page order. On
    PostgreSQL, however many keys: one set for those that need a value (traces with a passing row
    for each, counted as in :func:`keyed_groups`); everywhere one for the ``IS NULL`` ones
    (traces with any of their rows)."""
    if any(g.impossible for _, g in entries):
        return [sa.false()]
    needed = [(key, g) for key, g in entries if not g.absent]
    missing = [key for key, g in entries if g.absent]
    clauses: list[ColumnElement[bool]] = []

    def tests(row: Any, g: KeyGroup) -> list[ColumnElement[bool]]:
        bound = [_bound_compare(dialect, row.c.value, c.comparator, c.value, bind) for c in g.tests]
        return [all_of(bound)] if bound else []

    if len(needed) == 1 or dialect.is_sqlite:
        # SQLite reads each key's set from the index faster than it groups them all (measured).
        for key, g in needed:
            row = table.alias()
            matching = sa.select(row.c.trace_id).where(row.c.key == bind(key), *tests(row, g))
            clauses.append(ti.c.trace_id.in_(matching))
    elif needed:
        row = table.alias()
        keys = [bind(key) for key, _ in needed]
        passing = sa.or_(*(sa.and_(row.c.key == bind(key), *tests(row, g)) for key, g in needed))
        matching = (
            sa.select(row.c.trace_id)
            .where(row.c.key.in_(keys), passing)
            .group_by(row.c.trace_id)
            # ">=" for "=": see keyed_groups.
            .having(sa.func.count() >= len(needed))
        )
        clauses.append(_hashed(ti.c.trace_id.in_(matching)))
    if missing:
        row = table.alias()
        having = sa.select(row.c.trace_id).where(row.c.key.in_([bind(key) for key in missing]))
        clauses.append(ti.c.trace_id.not_in(having))
    return clauses


def _bound_optional(dialect: Dialect, column: Any, c: Comparison, bind: Binds) -> ColumnElement[bool]:
    if c.comparator is Comparator.IS_NULL:
        return column.is_(None)  # type: ignore[no-any-return]
    if c.comparator is Comparator.IS_NOT_NULL:
        return column.is_not(None)  # type: ignore[no-any-return]
    return sa.and_(column.is_not(None), _bound_compare(dialect, column, c.comparator, c.value, bind))


def trace_where(
    dialect: Dialect, ti: sa.Table, filter: Filter, t: Any, bind: Binds
) -> list[ColumnElement[bool]]:
    """WHERE terms for ``filter`` on ``trace_info`` (``t`` is the schema module), its keys and
    values as ``bind`` parameters: the SQL depends only on :func:`trace_filter_shape`."""
    clauses: list[ColumnElement[bool]] = []
    columns = _trace_columns(ti)
    for g in filter.groups(SearchKind.TRACES):
        if _trace_keyed_group(g):
            continue  # see below
        if g.key_type is KeyType.ATTRIBUTE and g.key in columns:
            column = columns[g.key]
            clauses.append(all_of([_bound_optional(dialect, column, c, bind) for c in g.comparisons]))
        else:
            raise unknown_key(SearchKind.TRACES, g.comparisons[0])
    for name, entries in _trace_keyed_plan(filter):
        clauses += _trace_keyed(dialect, getattr(t, name), ti, entries, bind)
    return clauses


def trace_order(
    dialect: Dialect, ti: sa.Table, order_by: Sequence[OrderBy], t: Any, bind: Binds
) -> tuple[list[tuple[Any, bool]], list[tuple[Any, Any]]]:
    """((expression, ascending) terms, outer joins they need) in the domain's trace order: per
    key, values in order, then missing ones, in both directions; then ``timestamp_ms`` DESC and
    ``request_id`` ASC unless present. Experiment ids order as integers (then any non-numeric
    ones as strings). Tag and metadata keys are ``bind`` parameters."""
    terms: list[tuple[Any, bool]] = []
    joins: list[tuple[Any, Any]] = []
    columns = _trace_columns(ti)
    for o in complete_order(SearchKind.TRACES, order_by):
        if o.key_type in (KeyType.TAG, KeyType.METADATA) or (
            o.key_type is KeyType.ATTRIBUTE and o.key in _TRACE_KEYED_ATTRIBUTES
        ):
            if o.key_type is KeyType.ATTRIBUTE:
                name, key = _TRACE_KEYED_ATTRIBUTES[o.key]
                table = getattr(t, name)
            else:
                table, key = (t.trace_tags if o.key_type is KeyType.TAG else t.trace_metadata), o.key
            row = table.alias()
            joins.append((row, sa.and_(row.c.trace_id == ti.c.trace_id, row.c.key == bind(key))))
            terms += _present_first_terms(dialect.text(row.c.value), o.ascending)
        elif o.key_type is KeyType.ATTRIBUTE and o.key == "experiment_id":
            e = t.experiments.alias()
            joins.append((e, e.c.experiment_id == ti.c.experiment_id))
            non_numeric = sa.case((e.c.id_order.is_(None), 1), else_=0)
            for column in (non_numeric, e.c.id_order, dialect.text(ti.c.experiment_id)):
                terms.append((column, o.ascending))
        elif o.key_type is KeyType.ATTRIBUTE and o.key in columns:
            column = columns[o.key]
            if o.key in _TRACE_TEXT_ATTRIBUTES:
                column = dialect.text(column)
            if o.key in _TRACE_NULLABLE_ATTRIBUTES:
                terms += _present_first_terms(column, o.ascending)
            else:
                terms.append((column, o.ascending))
        else:
            raise InvalidParameterValue(f"Cannot order traces by {o.key_type.value} '{o.key}'")
    return terms, joins


def trace_order_shape(order_by: Sequence[OrderBy]) -> tuple[Any, ...]:
    """What of ``order_by`` changes the SQL :func:`trace_order` builds (not tag or metadata keys)."""
    return tuple(
        (o.key_type, o.key if o.key_type is KeyType.ATTRIBUTE else None, o.ascending) for o in order_by
    )


def _present_first_terms(column: Any, ascending: bool) -> list[tuple[Any, bool]]:
    return [(sa.case((column.is_(None), 1), else_=0), True), (column, ascending)]


def trace_values(dialect: Dialect, filter: Filter, order_by: Sequence[OrderBy]) -> dict[str, Any]:
    """The values :func:`trace_where` then :func:`trace_order` bind, by the names they bind them
    under (in the same order), without building any SQL: a statement cached for the query's shape
    is sent with these."""
    values: list[Any] = []

    def tested(g: KeyGroup) -> None:
        for c in g.tests:
            if c.comparator in (Comparator.LIKE, Comparator.ILIKE):
                pattern = str(c.value)
                values.append(pattern if dialect.is_sqlite else pattern.replace("\\", "\\\\"))
            elif c.comparator in (Comparator.IN, Comparator.NOT_IN):
                values.extend(c.value)  # type: ignore[arg-type]
            else:
                values.append(c.value)

    for g in filter.groups(SearchKind.TRACES):
        if not _trace_keyed_group(g):
            tested(g)  # IS [NOT] NULL bind nothing (see _bound_optional)
    for _, entries in _trace_keyed_plan(filter):
        if any(g.impossible for _, g in entries):
            continue  # no SQL at all (see _trace_keyed)
        needed = [(key, g) for key, g in entries if not g.absent]
        if len(needed) > 1 and not dialect.is_sqlite:
            values += [key for key, _ in needed]
        for key, g in needed:
            values.append(key)
            tested(g)
        values += [key for key, g in entries if g.absent]
    for o in complete_order(SearchKind.TRACES, order_by):
        if o.key_type in (KeyType.TAG, KeyType.METADATA):
            values.append(o.key)
        elif o.key_type is KeyType.ATTRIBUTE and o.key in _TRACE_KEYED_ATTRIBUTES:
            values.append(_TRACE_KEYED_ATTRIBUTES[o.key][1])
    return {f"v{i}": v for i, v in enumerate(values)}
