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
class Filter:
    """All comparisons must hold (AND). The empty filter matches everything."""

    comparisons: tuple[Comparison, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.comparisons)


@frozen
class OrderBy:
    """One ``order_by`` entry; ``key`` is canonical as in :class:`Comparison`."""

    key_type: KeyType
    key: str
    ascending: bool = True
