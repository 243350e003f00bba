"""Metrics: values MLflow accepts, idempotent points, history order and paging, the latest value.

The latest value of a metric (``run.data.metrics``) follows MLflow's SQL store: the point with
the greatest ``(step, timestamp, value)`` wins, where NaN is compared as its stored value 0
(``sanitize_metric_value`` stores NaN as 0 with an ``is_nan`` flag), so at the same step and
timestamp 2.0 beats NaN and NaN beats -1.0.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genesis_flow.core.entities import Metric
from genesis_flow.core.errors import InvalidParameterValue, RunNotFound
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import BASE_TIME, all_pages, hypothesis_settings, metric, new_run

NAN = float("nan")
INF = float("inf")


def point(m: Metric) -> tuple[str, object, int, int]:
    """What a metric point is, NaN-comparable."""
    return (m.key, "nan" if math.isnan(m.value) else m.value, m.timestamp, m.step)


def history(tracking: TrackingStore, run_id: str, key: str) -> list[tuple[str, object, int, int]]:
    return [point(m) for m in tracking.get_metric_history(run_id, key).items]


def latest(tracking: TrackingStore, run_id: str, key: str) -> tuple[str, object, int, int]:
    found = [m for m in tracking.get_run(run_id).data.metrics if m.key == key]
    assert len(found) == 1
    return point(found[0])


# --- values --------------------------------------------------------------------------------------------


def test_log_metric_then_get_run_shows_latest_value(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("acc", 0.5, BASE_TIME, 0))
    assert tracking.get_run(run_id).data.metrics_dict == {"acc": 0.5}
    assert latest(tracking, run_id, "acc") == ("acc", 0.5, BASE_TIME, 0)


def test_metrics_come_back_sorted_by_key(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    for key in ["z", "a", "m"]:
        tracking.log_metric(run_id, metric(key, 1.0))
    assert [m.key for m in tracking.get_run(run_id).data.metrics] == ["a", "m", "z"]


def test_nan_metric_is_stored_and_read_back_as_nan(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("loss", NAN))
    assert math.isnan(tracking.get_run(run_id).data.metrics_dict["loss"])
    assert math.isnan(tracking.get_metric_history(run_id, "loss").items[0].value)


@pytest.mark.parametrize("value", [INF, -INF])
def test_infinite_metric_is_stored_and_read_back(tracking: TrackingStore, value: float) -> None:
    # MLflow's SQL store clamps +/-inf to +/-1.7976931348623157e308; its file store and the
    # entity contract keep infinity, and every backend here can store it.
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", value))
    assert tracking.get_run(run_id).data.metrics_dict["m"] == value
    assert tracking.get_metric_history(run_id, "m").items[0].value == value


@pytest.mark.parametrize("value", [0.0, -1.5, 1e-300, 1e300, 5, 10**15, -(2**53)])
def test_finite_metric_values_round_trip(tracking: TrackingStore, value: float) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", value))
    assert tracking.get_run(run_id).data.metrics_dict["m"] == value


@pytest.mark.parametrize("value", [True, False, "1.0", "abc", None, [1.0]])
def test_non_numeric_metric_value_is_rejected(tracking: TrackingStore, value: object) -> None:
    # MLflow's store refuses bools and strings; converting with float() is the client's job.
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_metric(run_id, Metric("m", value, BASE_TIME, 0))
    assert tracking.get_run(run_id).data.metrics == ()


@pytest.mark.parametrize("timestamp", [-1, -BASE_TIME, "1", None, 1.5])
def test_bad_metric_timestamp_is_rejected(tracking: TrackingStore, timestamp: object) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_metric(run_id, Metric("m", 1.0, timestamp, 0))
    assert tracking.get_run(run_id).data.metrics == ()


def test_metric_timestamp_zero_is_accepted(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", 1.0, timestamp=0))
    assert latest(tracking, run_id, "m") == ("m", 1.0, 0, 0)


@pytest.mark.parametrize("step", [-1, 0, 2**40, -(2**40)])
def test_any_integer_step_is_accepted(tracking: TrackingStore, step: int) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", 1.0, step=step))
    assert latest(tracking, run_id, "m") == ("m", 1.0, BASE_TIME, step)


@pytest.mark.parametrize("step", ["3", None])
def test_non_integer_step_is_rejected(tracking: TrackingStore, step: object) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_metric(run_id, Metric("m", 1.0, BASE_TIME, step))


@pytest.mark.parametrize("key", ["a/../b", "/abs", "", "$x", "a@b", "x" * 251], ids=lambda k: repr(k[:12]))
def test_bad_metric_key_is_rejected(tracking: TrackingStore, key: str) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_metric(run_id, metric(key, 1.0))
    assert tracking.get_run(run_id).data.metrics == ()


@pytest.mark.parametrize("key", ["a b", "a.b", "a/b", "a:b", "é", "x" * 250], ids=lambda k: repr(k[:12]))
def test_metric_keys_mlflow_accepts_are_accepted(tracking: TrackingStore, key: str) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric(key, 1.0))
    assert tracking.get_run(run_id).data.metrics_dict == {key: 1.0}


def test_log_metric_on_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.log_metric("0" * 32, metric("m", 1.0))


# --- idempotent points -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1.0, NAN, INF, -INF, 0.0])
def test_identical_point_logged_twice_is_stored_once(tracking: TrackingStore, value: float) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", value, BASE_TIME, 3))
    tracking.log_metric(run_id, metric("m", value, BASE_TIME, 3))
    assert len(tracking.get_metric_history(run_id, "m").items) == 1


@pytest.mark.parametrize(
    "other",
    [metric("m", 2.0, BASE_TIME, 3), metric("m", 1.0, BASE_TIME + 1, 3), metric("m", 1.0, BASE_TIME, 4)],
    ids=["value", "timestamp", "step"],
)
def test_points_differing_in_one_field_are_both_stored(tracking: TrackingStore, other: Metric) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", 1.0, BASE_TIME, 3))
    tracking.log_metric(run_id, other)
    assert len(tracking.get_metric_history(run_id, "m").items) == 2


# --- history -------------------------------------------------------------------------------------------

# (value, timestamp, step), logged in this order; MLflow returns them ordered by timestamp, then
# step, then value.
HISTORY = [(1.0, 300, 1), (3.0, 200, 2), (2.0, 100, 3), (4.0, 100, 1), (0.5, 100, 1)]
HISTORY_ORDER = [(0.5, 100, 1), (4.0, 100, 1), (2.0, 100, 3), (3.0, 200, 2), (1.0, 300, 1)]


def _log_history(tracking: TrackingStore, run_id: str) -> None:
    for value, timestamp, step in HISTORY:
        tracking.log_metric(run_id, metric("m", value, timestamp, step))


def test_metric_history_is_ordered_by_timestamp_step_value(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    page = tracking.get_metric_history(run_id, "m")
    assert [(m.value, m.timestamp, m.step) for m in page.items] == HISTORY_ORDER
    assert page.next_page_token is None


def test_metric_history_keeps_key_of_every_point(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    assert {m.key for m in tracking.get_metric_history(run_id, "m").items} == {"m"}


def test_metric_history_is_per_key_and_per_run(tracking: TrackingStore) -> None:
    first, second = new_run(tracking), new_run(tracking)
    tracking.log_metric(first, metric("a", 1.0))
    tracking.log_metric(first, metric("b", 2.0))
    tracking.log_metric(second, metric("a", 3.0))
    assert history(tracking, first, "a") == [("a", 1.0, BASE_TIME, 0)]
    assert history(tracking, first, "b") == [("b", 2.0, BASE_TIME, 0)]
    assert history(tracking, second, "a") == [("a", 3.0, BASE_TIME, 0)]


def test_metric_history_of_unknown_key_is_empty(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_metric(run_id, metric("m", 1.0))
    page = tracking.get_metric_history(run_id, "other")
    assert page.items == ()
    assert page.next_page_token is None


def test_metric_history_of_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    # MLflow's SQL store answers an empty list here; its file store and the port raise.
    with pytest.raises(RunNotFound):
        tracking.get_metric_history("0" * 32, "m")


def test_metric_history_of_deleted_run_is_still_readable(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    tracking.delete_run(run_id)
    assert len(tracking.get_metric_history(run_id, "m").items) == len(HISTORY)


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 5, 6, 100])
def test_metric_history_pages_concatenate_to_full_history(tracking: TrackingStore, page_size: int) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    full = tracking.get_metric_history(run_id, "m").items
    paged = all_pages(lambda token: tracking.get_metric_history(run_id, "m", page_size, token))
    assert [point(m) for m in paged] == [point(m) for m in full]


def test_metric_history_page_sizes_are_respected(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    first = tracking.get_metric_history(run_id, "m", max_results=2)
    assert len(first.items) == 2
    assert first.next_page_token is not None


def test_metric_history_exact_fit_page_has_no_token(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    page = tracking.get_metric_history(run_id, "m", max_results=len(HISTORY))
    assert len(page.items) == len(HISTORY)
    assert page.next_page_token is None


def test_metric_history_with_max_results_zero_is_an_empty_last_page(tracking: TrackingStore) -> None:
    # MLflow's SQL store answers max_results=0 with an empty list.
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    page = tracking.get_metric_history(run_id, "m", max_results=0)
    assert page.items == ()
    assert page.next_page_token is None


def test_metric_history_with_negative_max_results_is_rejected(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    with pytest.raises(InvalidParameterValue):
        tracking.get_metric_history(run_id, "m", max_results=-1)


@pytest.mark.parametrize("token", ["garbage", "eyJvZmZzZXQiOiAwfQ==", "!!"])
def test_metric_history_with_bad_page_token_is_rejected(tracking: TrackingStore, token: str) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    with pytest.raises(InvalidParameterValue):
        tracking.get_metric_history(run_id, "m", max_results=2, page_token=token)


# --- history lengths -------------------------------------------------------------------------------------


def test_metric_history_lengths_count_the_points_of_log_metric_and_log_batch(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    tracking.log_batch(run_id, metrics=[metric("b", float(i), BASE_TIME, i) for i in range(3)])
    tracking.log_batch(run_id, metrics=[metric("m", 9.0, 400, 9), metric("c", 1.0)])
    lengths = tracking.metric_history_lengths(run_id)
    assert lengths == {"m": len(HISTORY) + 1, "b": 3, "c": 1}
    assert lengths == {key: len(tracking.get_metric_history(run_id, key).items) for key in lengths}


@pytest.mark.parametrize("value", [1.0, NAN, INF, 0.0])
def test_metric_history_lengths_count_an_identical_point_once(tracking: TrackingStore, value: float) -> None:
    run_id = new_run(tracking)
    again = metric("m", value, BASE_TIME, 3)
    tracking.log_metric(run_id, again)
    tracking.log_metric(run_id, again)
    tracking.log_batch(run_id, metrics=[again, again, metric("m", value, BASE_TIME, 4)])
    tracking.log_batch(run_id, metrics=[again])
    assert tracking.metric_history_lengths(run_id) == {"m": 2}


def test_metric_history_lengths_keep_keys_with_dots_spaces_and_slashes_apart(tracking: TrackingStore) -> None:
    # "a", "a.b" and "a.b.c" would collide as document paths; '$' is not a key character at all.
    keys = ["a", "a.b", "a.b.c", "x y", "ü/ä", "_id"]
    run_id = new_run(tracking)
    tracking.log_batch(
        run_id,
        metrics=[metric(key, 1.0, BASE_TIME, step) for i, key in enumerate(keys) for step in range(i + 1)],
    )
    assert tracking.metric_history_lengths(run_id) == {key: i + 1 for i, key in enumerate(keys)}


def test_metric_history_lengths_are_per_run_and_empty_without_metrics(tracking: TrackingStore) -> None:
    first, second, empty = new_run(tracking), new_run(tracking), new_run(tracking)
    tracking.log_metric(first, metric("a", 1.0))
    tracking.log_batch(second, metrics=[metric("a", 1.0), metric("a", 2.0)])
    assert tracking.metric_history_lengths(first) == {"a": 1}
    assert tracking.metric_history_lengths(second) == {"a": 2}
    assert tracking.metric_history_lengths(empty) == {}


def test_metric_history_lengths_of_a_deleted_run_are_still_readable(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    _log_history(tracking, run_id)
    tracking.delete_run(run_id)
    assert tracking.metric_history_lengths(run_id) == {"m": len(HISTORY)}


def test_metric_history_lengths_of_unknown_run_raise_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.metric_history_lengths("0" * 32)


# --- the latest value ------------------------------------------------------------------------------------

LATEST_CASES = {
    "greater step beats later timestamp": ([(1.0, 200, 4), (2.0, 100, 5)], (2.0, 100, 5)),
    "same step: later timestamp wins": ([(2.0, 200, 5), (1.0, 100, 5)], (2.0, 200, 5)),
    "same step and timestamp: greater value wins": ([(3.0, 100, 1), (2.0, 100, 1)], (3.0, 100, 1)),
    "greater value wins in either order": ([(2.0, 100, 1), (3.0, 100, 1)], (3.0, 100, 1)),
    "step 0 beats step -1": ([(9.0, 500, -1), (1.0, 100, 0)], (1.0, 100, 0)),
    "older point logged last does not win": ([(1.0, 100, 2), (5.0, 50, 1)], (1.0, 100, 2)),
    "2.0 beats NaN (NaN compares as 0)": ([(2.0, 100, 1), (NAN, 100, 1)], (2.0, 100, 1)),
    "NaN logged first still loses to 2.0": ([(NAN, 100, 1), (2.0, 100, 1)], (2.0, 100, 1)),
    "NaN beats -1.0": ([(-1.0, 100, 1), (NAN, 100, 1)], ("nan", 100, 1)),
    "NaN at later timestamp wins": ([(5.0, 100, 1), (NAN, 200, 1)], ("nan", 200, 1)),
    "inf beats finite": ([(1e300, 100, 1), (INF, 100, 1)], (INF, 100, 1)),
    "finite beats -inf": ([(-INF, 100, 1), (-1e300, 100, 1)], (-1e300, 100, 1)),
}


@pytest.mark.parametrize("case", list(LATEST_CASES))
def test_latest_metric_follows_mlflow_rule(tracking: TrackingStore, case: str) -> None:
    points, expected = LATEST_CASES[case]
    run_id = new_run(tracking)
    for value, timestamp, step in points:
        tracking.log_metric(run_id, metric("m", value, timestamp, step))
    assert latest(tracking, run_id, "m") == ("m", *expected)


@pytest.mark.parametrize("case", list(LATEST_CASES))
def test_latest_metric_rule_holds_within_one_batch(tracking: TrackingStore, case: str) -> None:
    points, expected = LATEST_CASES[case]
    run_id = new_run(tracking)
    tracking.log_batch(run_id, metrics=[metric("m", v, ts, s) for v, ts, s in points])
    assert latest(tracking, run_id, "m") == ("m", *expected)


def _mlflow_order(p: tuple[float, int, int]) -> tuple[int, int, float]:
    value, timestamp, step = p
    return (step, timestamp, 0.0 if math.isnan(value) else value)


# Values that never tie with another under the rule (NaN compares as 0, so 0 itself is left out;
# MLflow's SQL store would also clamp infinity to the largest float, so that one is left out too).
_values = st.one_of(
    st.just(NAN),
    st.floats(allow_nan=False).filter(lambda x: x != 0 and abs(x) != 1.7976931348623157e308),
)
_points = st.lists(
    st.tuples(_values, st.integers(0, 5), st.integers(-2, 3)),
    min_size=1,
    max_size=12,
)


@hypothesis_settings()
@given(points=_points, batched=st.booleans())
def test_latest_metric_is_the_max_by_step_timestamp_value(
    tracking: TrackingStore, points: list[tuple[float, int, int]], batched: bool
) -> None:
    run_id = new_run(tracking)
    metrics = [metric("m", v, ts, s) for v, ts, s in points]
    if batched:
        # A batch holds at most one point per identity anyway after dedup; MLflow dedups too.
        tracking.log_batch(run_id, metrics=metrics)
    else:
        for m in metrics:
            tracking.log_metric(run_id, m)
    value, timestamp, step = max(points, key=_mlflow_order)
    assert latest(tracking, run_id, "m") == point(metric("m", value, timestamp, step))


@hypothesis_settings()
@given(points=_points)
def test_metric_history_holds_each_distinct_point_once(
    tracking: TrackingStore, points: list[tuple[float, int, int]]
) -> None:
    run_id = new_run(tracking)
    for value, timestamp, step in points + points:
        tracking.log_metric(run_id, metric("m", value, timestamp, step))
    stored = sorted(map(repr, history(tracking, run_id, "m")))
    distinct = sorted({repr(point(metric("m", v, ts, s))) for v, ts, s in points})
    assert stored == distinct
