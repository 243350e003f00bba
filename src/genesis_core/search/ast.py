"""The frozen AST of MLflow's search-filter and order-by language.

A filter is a conjunction (AND only: MLflow has no OR and no parentheses) of comparisons. The
parser (:mod:`genesis_flow.core.search.parser`) produces these; the memory adapter evaluates them
(:mod:`genesis_flow.core.search.evaluate`); the SQL and Mongo adapters compile them into one query.
"""

from __future__ import annotations

from enum import Enum

from attrs import frozen


class SearchKind(Enum):
    """Which entity a filter or order-by applies to: each has its own keys and comparators."""

    RUNS = "runs"
    EXPERIMENTS = "experiments"
    REGISTERED_MODELS = "registered_models"
    MODEL_VERSIONS = "model_versions"
    LOGGED_MODELS = "logged_models"
    TRACES = "traces"


class KeyType(str, Enum):
    METRIC = "metric"
    PARAM = "param"
    TAG = "tag"
    ATTRIBUTE = "attribute"
    DATASET = "dataset"
    METADATA = "metadata"  # a trace's request metadata


class Comparator(str, Enum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    RLIKE = "RLIKE"  # a regular expression found anywhere in the value (traces only, as MLflow)
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


# A comparison's value: a number for numeric keys, a string for string keys, a tuple of strings
# for IN / NOT IN, None for IS [NOT] NULL.
Value = float | int | str | tuple[str, ...] | None


@frozen
class Comparison:
    """``<key_type>.<key> <comparator> <value>``.

    ``key`` is canonical: attribute aliases are resolved by the parser (``attr.run_name`` and
    ``attributes.run_name`` both give ``(ATTRIBUTE, "run_name")``; for datasets the key is one of
    ``name``, ``digest``, ``context``).
    """

    key_type: KeyType
    key: str
    comparator: Comparator
    value: Value


@frozen
class KeyGroup:
    """A filter's comparisons on one key, each once, in their first order of appearance.

    On a single-valued key (a run has at most one value per param key) every comparison of the
    group tests the same value, so a store compiles the group into one condition on one row (one
    join, one ``EXISTS``, one field) however often the filter names the key.
    """

    key_type: KeyType
    key: str
    comparisons: tuple[Comparison, ...]

    @property
    def absent(self) -> bool:
        """The key must be missing (``IS NULL``)."""
        return any(c.comparator is Comparator.IS_NULL for c in self.comparisons)

    @property
    def impossible(self) -> bool:
        """Nothing matches: the key must be missing and also have (or be) a value."""
        return self.absent and any(c.comparator is not Comparator.IS_NULL for c in self.comparisons)

    @property
    def tests(self) -> tuple[Comparison, ...]:
        """The comparisons on the key's value (all but ``IS [NOT] NULL``)."""
        return tuple(
            c for c in self.comparisons if c.comparator not in (Comparator.IS_NULL, Comparator.IS_NOT_NULL)
        )


# Keys that can hold several values per entity: each comparison needs its own witness (a run
# with datasets 'a' and 'b' matches ``datasets.name = 'a' AND datasets.name = 'b'``; a logged
# model's metric matches when any of its logged points does).
_MULTI_VALUED = frozenset({(SearchKind.RUNS, KeyType.DATASET), (SearchKind.LOGGED_MODELS, KeyType.METRIC)})


@frozen
class Filter:
    """All comparisons must hold (AND). The empty filter matches everything."""

    comparisons: tuple[Comparison, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.comparisons)

    def groups(self, kind: SearchKind) -> tuple[KeyGroup, ...]:
        """The comparisons grouped per key (repeats dropped), in first order of appearance; on a
        multi-valued key (run datasets, logged-model metrics) one group per distinct comparison.
        Stores compile a group into one condition, so the cost of a query follows the number of
        groups, which the parser bounds, not the length of the filter."""
        grouped: dict[tuple[KeyType, str] | Comparison, dict[Comparison, None]] = {}
        for c in self.comparisons:
            slot: tuple[KeyType, str] | Comparison = (
                c if (kind, c.key_type) in _MULTI_VALUED else (c.key_type, c.key)
            )
            grouped.setdefault(slot, {})[c] = None
        return tuple(
            KeyGroup(first.key_type, first.key, tuple(members))
            for members in grouped.values()
            for first in (next(iter(members)),)
        )


@frozen
class OrderBy:
    """One ``order_by`` entry; ``key`` is canonical as in :class:`Comparison`."""

    key_type: KeyType
    key: str
    ascending: bool = True
