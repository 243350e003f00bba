"""Domain entities: canonical order, NaN equality, MLflow's latest-metric rule, stage parsing."""

from __future__ import annotations

import math

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from genesis_flow.core.entities import (
    Experiment,
    ExperimentTag,
    LifecycleStage,
    Metric,
    Param,
    RunData,
    RunStatus,
    ViewType,
    is_newer_metric,
    uri_with_path,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import ModelVersion, Stage, latest_versions_per_stage


def test_collections_are_tuples_in_canonical_order() -> None:
    data = RunData(params=[Param("b", "1"), Param("a", "2")])
    assert data.params == (Param("a", "2"), Param("b", "1"))
    exp = Experiment("1", "e", "loc", tags=[ExperimentTag("z", "1"), ExperimentTag("a", "2")])
    assert [t.key for t in exp.tags] == ["a", "z"]
    assert evolve(exp, name="f").tags == exp.tags  # converters are idempotent


def test_nan_metrics_compare_equal_so_equal_runs_are_equal() -> None:
    assert Metric("m", math.nan, 1, 0) == Metric("m", math.nan, 1, 0)
    assert Metric("m", math.nan, 1, 0) != Metric("m", 0.0, 1, 0)


def test_latest_metric_rule_prefers_step_then_timestamp_then_value() -> None:
    assert is_newer_metric(Metric("m", 0.0, 1, 2), Metric("m", 9.0, 9, 1))
    assert is_newer_metric(Metric("m", 0.0, 2, 1), Metric("m", 9.0, 1, 1))
    assert is_newer_metric(Metric("m", 2.0, 1, 1), Metric("m", 1.0, 1, 1))
    assert not is_newer_metric(Metric("m", 1.0, 1, 1), Metric("m", 1.0, 1, 1))


def test_nan_counts_as_zero_in_the_latest_rule_and_wins_the_tie_with_zero() -> None:
    assert is_newer_metric(Metric("m", 0.5, 1, 1), Metric("m", math.nan, 1, 1))
    assert is_newer_metric(Metric("m", math.nan, 1, 1), Metric("m", -0.5, 1, 1))
    assert is_newer_metric(Metric("m", math.nan, 1, 1), Metric("m", 0.0, 1, 1))
    assert not is_newer_metric(Metric("m", 0.0, 1, 1), Metric("m", math.nan, 1, 1))


points = st.builds(
    Metric,
    key=st.just("m"),
    value=st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, math.nan, math.inf])),
    timestamp=st.integers(0, 5),
    step=st.integers(-2, 2),
)


@given(st.lists(points, min_size=1, max_size=12), st.randoms())
def test_latest_metric_does_not_depend_on_arrival_order(history: list[Metric], rnd) -> None:  # type: ignore[no-untyped-def]
    def latest(seq: list[Metric]) -> Metric:
        best = seq[0]
        for m in seq[1:]:
            if is_newer_metric(m, best):
                best = m
        return best

    shuffled = list(history)
    rnd.shuffle(shuffled)
    assert latest(history) == latest(shuffled)


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("staging", Stage.STAGING),
        ("PRODUCTION", Stage.PRODUCTION),
        ("None", Stage.NONE),
        ("archived", Stage.ARCHIVED),
    ],
)
def test_stages_parse_case_insensitively(text: str, stage: Stage) -> None:
    assert Stage.parse(text) is stage


def test_unknown_stage_is_an_invalid_parameter_value() -> None:
    with pytest.raises(InvalidParameterValue):
        Stage.parse("prod")


def test_run_status_parse() -> None:
    assert RunStatus.parse("finished") is RunStatus.FINISHED
    assert RunStatus.FINISHED.is_terminal and not RunStatus.RUNNING.is_terminal
    with pytest.raises(InvalidParameterValue):
        RunStatus.parse("BOGUS")


def test_view_types_admit_lifecycle_stages() -> None:
    assert ViewType.ACTIVE_ONLY.admits(LifecycleStage.ACTIVE)
    assert not ViewType.ACTIVE_ONLY.admits(LifecycleStage.DELETED)
    assert ViewType.DELETED_ONLY.admits(LifecycleStage.DELETED)
    assert ViewType.ALL.admits(LifecycleStage.DELETED) and ViewType.ALL.admits(LifecycleStage.ACTIVE)


def test_latest_versions_per_stage_takes_the_highest_number_per_stage() -> None:
    def mv(n: int, stage: Stage) -> ModelVersion:
        return ModelVersion("m", n, 0, 0, current_stage=stage)

    latest = latest_versions_per_stage(
        [mv(1, Stage.NONE), mv(2, Stage.PRODUCTION), mv(3, Stage.NONE), mv(4, Stage.STAGING)]
    )
    assert [(v.version, v.current_stage) for v in latest] == [
        (2, Stage.PRODUCTION),
        (3, Stage.NONE),
        (4, Stage.STAGING),
    ]


# As MLflow's stores join artifact locations (observed with mlflow 3.17.2's append_to_uri_path).
JOINED_URIS = [
    ("s3://b/root", "s3://b/root/1/a"),
    ("s3://b/root?creds=x", "s3://b/root/1/a?creds=x"),
    ("s3://b/root/?creds=x#frag", "s3://b/root/1/a?creds=x#frag"),
    ("s3://b?creds=x", "s3://b/1/a?creds=x"),
    (
        "wasbs://c@acct.blob.core.windows.net/r?sv=1&sig=S",
        "wasbs://c@acct.blob.core.windows.net/r/1/a?sv=1&sig=S",
    ),
    ("db+driver://u:p@host.com?creds=c#f", "db+driver://u:p@host.com/1/a?creds=c#f"),
    ("file:path/to/dir", "file:path/to/dir/1/a"),
    ("file:path/to/dir?param=value", "file:path/to/dir/1/a?param=value"),
    ("file:///abs/dir?p=v#f", "file:///abs/dir/1/a?p=v#f"),
    ("file:/abs/dir", "file:///abs/dir/1/a"),
    ("mlflow-artifacts:/x", "mlflow-artifacts:/x/1/a"),
    ("relative/dir", "relative/dir/1/a"),
    ("/abs/dir/", "/abs/dir/1/a"),
    ("#path/to/folder?", "#path/to/folder?/1/a"),
]


@pytest.mark.parametrize(("uri", "expected"), JOINED_URIS)
def test_uri_with_path_appends_to_the_path_before_query_and_fragment(uri: str, expected: str) -> None:
    assert uri_with_path(uri, "1", "a") == expected


@pytest.mark.parametrize("query", ["x=../y", "x=%2e%2e", "x=%252E%252E"])
def test_uri_with_path_refuses_dot_dot_in_the_query_without_quoting_it(query: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        uri_with_path(f"wasbs://c@a.blob.core.windows.net/r?sig=SECRET&{query}", "1")
    assert "SECRET" not in str(caught.value)
