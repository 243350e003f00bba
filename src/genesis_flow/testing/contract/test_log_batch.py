"""log_batch: MLflow's batch limits, atomicity (a rejected batch stores nothing), idempotent retry."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from genesis_flow.core.entities import Metric, Param, Run, RunTag
from genesis_flow.core.errors import InvalidParameterValue, RunNotFound
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import BASE_TIME, metric, new_run


def _metrics(n: int, key: str = "m") -> list[Metric]:
    return [metric(key, float(i), BASE_TIME + i, i) for i in range(n)]


def _params(n: int) -> list[Param]:
    return [Param(f"p{i}", str(i)) for i in range(n)]


def _tags(n: int) -> list[RunTag]:
    return [RunTag(f"t{i}", str(i)) for i in range(n)]


def _seeded_run(tracking: TrackingStore) -> tuple[str, Run]:
    """A run with a param, a tag and a metric already stored, and its state."""
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("stored", "1"))
    tracking.set_tag(run_id, RunTag("stored", "1"))
    tracking.log_metric(run_id, metric("stored", 1.0))
    return run_id, tracking.get_run(run_id)


def _history_sizes(tracking: TrackingStore, run_id: str, keys: Sequence[str]) -> dict[str, int]:
    return {k: len(tracking.get_metric_history(run_id, k).items) for k in keys}


# --- the happy path ----------------------------------------------------------------------------------


def test_log_batch_stores_metrics_params_and_tags(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_batch(
        run_id,
        metrics=[metric("acc", 0.5, BASE_TIME, 0), metric("acc", 0.7, BASE_TIME + 1, 1)],
        params=[Param("lr", "0.1"), Param("opt", "adam")],
        tags=[RunTag("team", "nlp")],
    )
    data = tracking.get_run(run_id).data
    assert data.metrics_dict == {"acc": 0.7}
    assert data.params_dict == {"lr": "0.1", "opt": "adam"}
    assert data.tags_dict == {"team": "nlp"}
    assert len(tracking.get_metric_history(run_id, "acc").items) == 2


def test_empty_log_batch_changes_nothing(tracking: TrackingStore) -> None:
    run_id, before = _seeded_run(tracking)
    tracking.log_batch(run_id)
    assert tracking.get_run(run_id) == before


def test_log_batch_on_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.log_batch("0" * 32, params=[Param("a", "b")])


def test_log_batch_with_stored_param_value_again_is_fine(tracking: TrackingStore) -> None:
    run_id, _ = _seeded_run(tracking)
    tracking.log_batch(run_id, params=[Param("stored", "1"), Param("new", "2")])
    assert tracking.get_run(run_id).data.params_dict == {"stored": "1", "new": "2"}


def test_log_batch_duplicate_tag_keys_last_value_wins(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_batch(run_id, tags=[RunTag("t", "1"), RunTag("t", "2")])
    assert tracking.get_run(run_id).data.tags_dict == {"t": "2"}


def test_log_batch_overwrites_stored_tag(tracking: TrackingStore) -> None:
    run_id, _ = _seeded_run(tracking)
    tracking.log_batch(run_id, tags=[RunTag("stored", "2")])
    assert tracking.get_run(run_id).data.tags_dict == {"stored": "2"}


def test_log_batch_identical_points_within_batch_are_stored_once(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    point = metric("m", 1.0, BASE_TIME, 1)
    tracking.log_batch(run_id, metrics=[point, point, point])
    assert len(tracking.get_metric_history(run_id, "m").items) == 1


def test_retried_log_batch_stores_no_duplicate_points(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    batch = {
        "metrics": [*_metrics(10), metric("nan", float("nan"))],
        "params": _params(5),
        "tags": _tags(5),
    }
    tracking.log_batch(run_id, **batch)  # type: ignore[arg-type]
    first = tracking.get_run(run_id)
    tracking.log_batch(run_id, **batch)  # type: ignore[arg-type]
    assert tracking.get_run(run_id) == first
    assert _history_sizes(tracking, run_id, ["m", "nan"]) == {"m": 10, "nan": 1}


# --- limits ----------------------------------------------------------------------------------------------

AT_LIMIT = {
    "1000 metrics": (1000, 0, 0),
    "100 params": (0, 100, 0),
    "100 tags": (0, 0, 100),
    "800 metrics 100 params 100 tags": (800, 100, 100),
}
OVER_LIMIT = {
    "1001 metrics": (1001, 0, 0),
    "101 params": (0, 101, 0),
    "101 tags": (0, 0, 101),
    "801 metrics 100 params 100 tags": (801, 100, 100),
    "900 metrics 1 param 100 tags": (900, 1, 100),
}


@pytest.mark.parametrize("case", list(AT_LIMIT))
def test_log_batch_at_the_limits_is_accepted(tracking: TrackingStore, case: str) -> None:
    n_metrics, n_params, n_tags = AT_LIMIT[case]
    run_id = new_run(tracking)
    tracking.log_batch(run_id, metrics=_metrics(n_metrics), params=_params(n_params), tags=_tags(n_tags))
    data = tracking.get_run(run_id).data
    assert len(data.params) == n_params
    assert len(data.tags) == n_tags
    assert len(tracking.get_metric_history(run_id, "m").items) == n_metrics


@pytest.mark.parametrize("case", list(OVER_LIMIT))
def test_log_batch_one_over_a_limit_is_rejected_and_stores_nothing(
    tracking: TrackingStore, case: str
) -> None:
    # MLflow's store enforces these; its client splits big batches before they get here.
    n_metrics, n_params, n_tags = OVER_LIMIT[case]
    run_id, before = _seeded_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_batch(run_id, metrics=_metrics(n_metrics), params=_params(n_params), tags=_tags(n_tags))
    assert tracking.get_run(run_id) == before
    assert _history_sizes(tracking, run_id, ["m"]) == {"m": 0}


# --- atomicity -------------------------------------------------------------------------------------------

GOOD_METRICS = [metric("good", 1.0, BASE_TIME, 0), metric("good", 2.0, BASE_TIME + 1, 1)]
GOOD_PARAMS = [Param("good", "1")]
GOOD_TAGS = [RunTag("good", "1")]

BAD_ITEMS: dict[str, dict[str, list[object]]] = {
    "bad metric key first": {"metrics": [metric("a/../b", 1.0), *GOOD_METRICS]},
    "bad metric key last": {"metrics": [*GOOD_METRICS, metric("$bad", 1.0)]},
    "bool metric value": {"metrics": [*GOOD_METRICS, Metric("m", True, BASE_TIME, 0)]},
    "string metric value": {"metrics": [*GOOD_METRICS, Metric("m", "1", BASE_TIME, 0)]},
    "negative timestamp": {"metrics": [*GOOD_METRICS, metric("m", 1.0, timestamp=-1)]},
    "bad param key": {"params": [*GOOD_PARAMS, Param("/abs", "1")]},
    "over-long param value": {"params": [*GOOD_PARAMS, Param("long", "v" * 6001)]},
    "over-long param key": {"params": [*GOOD_PARAMS, Param("k" * 251, "1")]},
    "bad tag key": {"tags": [*GOOD_TAGS, RunTag("a//b", "1")]},
    "over-long tag value": {"tags": [*GOOD_TAGS, RunTag("long", "v" * 8001)]},
    "duplicate param key, same value": {"params": [Param("dup", "1"), Param("dup", "1")]},
    "duplicate param key, other value": {"params": [Param("dup", "1"), Param("dup", "2")]},
    "changes a stored param": {"params": [Param("new", "1"), Param("stored", "2")]},
}


@pytest.mark.parametrize("case", list(BAD_ITEMS))
def test_log_batch_with_one_bad_item_stores_nothing(tracking: TrackingStore, case: str) -> None:
    run_id, before = _seeded_run(tracking)
    batch: dict[str, list[object]] = {"metrics": list(GOOD_METRICS), "params": list(GOOD_PARAMS)}
    batch["tags"] = list(GOOD_TAGS)
    batch.update(BAD_ITEMS[case])
    with pytest.raises(InvalidParameterValue):
        tracking.log_batch(run_id, **batch)  # type: ignore[arg-type]
    after = tracking.get_run(run_id)
    assert after == before
    assert after.data.params_dict == {"stored": "1"}
    assert after.data.tags_dict == {"stored": "1"}
    assert after.data.metrics_dict == {"stored": 1.0}
    assert _history_sizes(tracking, run_id, ["good", "stored", "m"]) == {"good": 0, "stored": 1, "m": 0}


def test_log_batch_param_conflict_keeps_stored_value(tracking: TrackingStore) -> None:
    run_id, _ = _seeded_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_batch(run_id, params=[Param("stored", "changed")])
    assert tracking.get_run(run_id).data.params_dict == {"stored": "1"}


def test_rejected_batch_can_be_fixed_and_resent(tracking: TrackingStore) -> None:
    run_id, _ = _seeded_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_batch(run_id, metrics=GOOD_METRICS, params=[Param("bad/../key", "1")])
    tracking.log_batch(run_id, metrics=GOOD_METRICS, params=[Param("fixed", "1")])
    data = tracking.get_run(run_id).data
    assert data.params_dict == {"stored": "1", "fixed": "1"}
    assert _history_sizes(tracking, run_id, ["good"]) == {"good": 2}
