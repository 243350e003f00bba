"""A filter's bounds and its normal form (key groups): what keeps every store's query bounded."""

from __future__ import annotations

import pytest

from genesis_flow.core.entities import Param, Run, RunData, RunInfo, RunStatus
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search import (
    MAX_FILTER_COMPARISONS,
    MAX_FILTER_KEYS,
    MAX_FILTER_LENGTH,
    MAX_FILTER_VALUES,
    Comparator,
    Comparison,
    Filter,
    KeyType,
    SearchKind,
    matches,
    parse_filter,
)
from genesis_flow.core.search.ast import KeyGroup

RUNS = SearchKind.RUNS
C = Comparator
P, D, M = KeyType.PARAM, KeyType.DATASET, KeyType.METRIC


def repeated(clause: str, n: int) -> str:
    return " AND ".join([clause] * n)


# --- limits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SearchKind))
def test_the_most_comparisons_allowed_parse(kind: SearchKind) -> None:
    clause = {SearchKind.RUNS: "params.a = '1'", SearchKind.LOGGED_MODELS: "params.a = '1'"}.get(
        kind, "tags.a = '1'"
    )
    assert len(parse_filter(kind, repeated(clause, MAX_FILTER_COMPARISONS)).comparisons) == (
        MAX_FILTER_COMPARISONS
    )


def test_one_comparison_more_is_refused_naming_the_limit() -> None:
    with pytest.raises(InvalidParameterValue, match=f"limit of {MAX_FILTER_COMPARISONS} comparisons"):
        parse_filter(RUNS, repeated("params.a = '1'", MAX_FILTER_COMPARISONS + 1))


def test_too_many_distinct_keys_are_refused_naming_the_limit() -> None:
    at_limit = " AND ".join(f"params.k{i} = 'v'" for i in range(MAX_FILTER_KEYS))
    assert len(parse_filter(RUNS, at_limit).groups(RUNS)) == MAX_FILTER_KEYS
    with pytest.raises(InvalidParameterValue, match=f"limit of {MAX_FILTER_KEYS} per filter"):
        parse_filter(RUNS, at_limit + f" AND tags.k{MAX_FILTER_KEYS} IS NULL")


def test_dataset_comparisons_count_one_key_each() -> None:
    # Datasets are many per run, so each comparison is its own condition in the stores.
    text = " AND ".join(f"datasets.name = 'd{i}'" for i in range(MAX_FILTER_KEYS + 1))
    with pytest.raises(InvalidParameterValue, match=f"limit of {MAX_FILTER_KEYS} per filter"):
        parse_filter(RUNS, text)


def test_a_filter_longer_than_the_limit_is_refused_before_it_is_read() -> None:
    text = "params.a = '" + "x" * MAX_FILTER_LENGTH + "'"
    with pytest.raises(InvalidParameterValue, match=f"limit of {MAX_FILTER_LENGTH} characters"):
        parse_filter(RUNS, text)


def test_too_many_listed_values_are_refused_naming_the_limit() -> None:
    ids = ", ".join(f"'{i}'" for i in range(MAX_FILTER_VALUES + 1))
    with pytest.raises(InvalidParameterValue, match=f"limit of {MAX_FILTER_VALUES} values"):
        parse_filter(RUNS, f"attributes.run_id IN ({ids})")


# --- key groups -------------------------------------------------------------------------------------


def test_repeats_collapse_into_one_group_of_one_comparison() -> None:
    (group,) = parse_filter(RUNS, repeated("params.a = '1'", 500)).groups(RUNS)
    assert group == KeyGroup(P, "a", (Comparison(P, "a", C.EQ, "1"),))


def test_comparisons_group_per_key_in_first_order_of_appearance() -> None:
    flt = parse_filter(
        RUNS, "params.b = 'x' AND metrics.m > 1 AND params.a != 'y' AND params.b LIKE 'x%' AND metrics.m > 1"
    )
    groups = flt.groups(RUNS)
    assert [(g.key_type, g.key, [c.comparator for c in g.comparisons]) for g in groups] == [
        (P, "b", [C.EQ, C.LIKE]),
        (M, "m", [C.GT]),
        (P, "a", [C.NE]),
    ]


def test_a_param_and_a_tag_of_the_same_name_are_different_keys() -> None:
    assert len(parse_filter(RUNS, "params.a = '1' AND tags.a = '1'").groups(RUNS)) == 2


def test_multi_valued_keys_keep_one_group_per_distinct_comparison() -> None:
    runs = parse_filter(RUNS, "datasets.name = 'a' AND datasets.name = 'b' AND datasets.name = 'a'")
    assert [g.comparisons for g in runs.groups(RUNS)] == [
        (Comparison(D, "name", C.EQ, "a"),),
        (Comparison(D, "name", C.EQ, "b"),),
    ]
    models = parse_filter(SearchKind.LOGGED_MODELS, "metrics.m > 1 AND metrics.m < 0")
    assert len(models.groups(SearchKind.LOGGED_MODELS)) == 2


@pytest.mark.parametrize(
    ("text", "absent", "impossible", "tests"),
    [
        ("params.a IS NULL", True, False, 0),
        ("params.a IS NULL AND params.a IS NULL", True, False, 0),
        ("params.a IS NULL AND params.a = '1'", True, True, 1),
        ("params.a IS NULL AND params.a IS NOT NULL", True, True, 0),
        ("params.a IS NOT NULL AND params.a != 'x'", False, False, 1),
        ("params.a = '1' AND params.a = '2'", False, False, 2),
    ],
)
def test_group_flags(text: str, absent: bool, impossible: bool, tests: int) -> None:
    (group,) = parse_filter(RUNS, text).groups(RUNS)
    assert (group.absent, group.impossible, len(group.tests)) == (absent, impossible, tests)


def test_groups_of_an_empty_filter() -> None:
    assert Filter().groups(RUNS) == ()


def test_the_reference_semantics_of_repeats_and_contradictions() -> None:
    # What every store must answer (the memory oracle): a run has one value per param.
    info = RunInfo("r", "0", "name", "u", RunStatus.RUNNING, 1, None, "file:///a")
    run = Run(info, RunData(params=(Param("a", "1"),)))
    assert matches(RUNS, run, parse_filter(RUNS, repeated("params.a = '1'", 300)))
    assert not matches(RUNS, run, parse_filter(RUNS, "params.a = '1' AND params.a = '2'"))
    assert not matches(RUNS, run, parse_filter(RUNS, "params.a IS NULL AND params.a = '1'"))
    assert matches(RUNS, run, parse_filter(RUNS, "params.b IS NULL AND params.b IS NULL"))
    assert not matches(RUNS, run, parse_filter(RUNS, "params.b != 'x'"))


def test_order_by_is_bounded_naming_the_limit() -> None:
    from genesis_flow.core.search import MAX_ORDER_BY, parse_order_by

    assert len(parse_order_by(RUNS, [f"params.p{i}" for i in range(MAX_ORDER_BY)])) == MAX_ORDER_BY
    with pytest.raises(InvalidParameterValue, match=f"limit of {MAX_ORDER_BY}"):
        parse_order_by(RUNS, [f"params.p{i}" for i in range(MAX_ORDER_BY + 1)])
