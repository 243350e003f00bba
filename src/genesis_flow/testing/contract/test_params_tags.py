"""Params (immutable once logged) and run tags (overwrite, delete); writes to deleted runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from genesis_flow.core.entities import LoggedModelOutput, Param, RunTag
from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist, RunNotFound
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import dataset, dataset_input, metric, new_run

BAD_KEYS = ["a/../b", "/abs", "a//b", "", "$x", "./x", "a/", "..", "a@b", "a#b", "a,b", "a\\b", "a\nb"]
GOOD_KEYS = ["a b", "a.b", "a:b", "a/b", "a-b", "a_b", "é", "日本", "x" * 250]
UNKNOWN_RUN = "0" * 32


# --- params ----------------------------------------------------------------------------------------------


def test_log_param_then_get_run_shows_it(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("lr", "0.01"))
    assert tracking.get_run(run_id).data.params_dict == {"lr": "0.01"}


def test_params_come_back_sorted_by_key(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    for key in ["z", "a", "m"]:
        tracking.log_param(run_id, Param(key, key))
    assert [p.key for p in tracking.get_run(run_id).data.params] == ["a", "m", "z"]


def test_log_param_with_same_value_again_is_a_no_op(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("lr", "0.01"))
    tracking.log_param(run_id, Param("lr", "0.01"))
    assert tracking.get_run(run_id).data.params == (Param("lr", "0.01"),)


@pytest.mark.parametrize("new_value", ["0.02", "", "0.010", "0.01 "])
def test_log_param_with_different_value_is_rejected_and_stored_value_stays(
    tracking: TrackingStore, new_value: str
) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("lr", "0.01"))
    with pytest.raises(InvalidParameterValue):
        tracking.log_param(run_id, Param("lr", new_value))
    assert tracking.get_run(run_id).data.params_dict == {"lr": "0.01"}


def test_same_param_key_in_two_runs_is_independent(tracking: TrackingStore) -> None:
    first, second = new_run(tracking), new_run(tracking)
    tracking.log_param(first, Param("lr", "1"))
    tracking.log_param(second, Param("lr", "2"))
    assert tracking.get_run(first).data.params_dict == {"lr": "1"}
    assert tracking.get_run(second).data.params_dict == {"lr": "2"}


def test_log_param_accepts_empty_value(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("empty", ""))
    assert tracking.get_run(run_id).data.params_dict == {"empty": ""}


def test_log_param_value_of_6000_chars_is_kept_whole(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("long", "v" * 6000))
    assert tracking.get_run(run_id).data.params_dict["long"] == "v" * 6000


def test_log_param_value_of_6001_chars_is_rejected_not_truncated(tracking: TrackingStore) -> None:
    # MLflow truncates by default (MLFLOW_TRUNCATE_LONG_VALUES); the port rejects, the
    # entry points truncate.
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_param(run_id, Param("long", "v" * 6001))
    assert tracking.get_run(run_id).data.params == ()


@pytest.mark.parametrize("key", GOOD_KEYS, ids=lambda k: repr(k[:12]))
def test_log_param_accepts_keys_mlflow_accepts(tracking: TrackingStore, key: str) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param(key, "v"))
    assert tracking.get_run(run_id).data.params_dict == {key: "v"}


@pytest.mark.parametrize("key", [*BAD_KEYS, "x" * 251], ids=lambda k: repr(k[:12]))
def test_log_param_rejects_keys_mlflow_rejects(tracking: TrackingStore, key: str) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_param(run_id, Param(key, "v"))
    assert tracking.get_run(run_id).data.params == ()


@pytest.mark.parametrize("value", [None, 5, 0.1])
def test_log_param_with_non_string_value_is_rejected(tracking: TrackingStore, value: object) -> None:
    # Converting with str() is the client's job (MlflowClient.log_param(k, 5) stores "5").
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_param(run_id, Param("k", value))  # type: ignore[arg-type]


def test_log_param_on_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.log_param(UNKNOWN_RUN, Param("k", "v"))


# --- tags ----------------------------------------------------------------------------------------------


def test_set_tag_then_get_run_shows_it(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.set_tag(run_id, RunTag("team", "nlp"))
    assert tracking.get_run(run_id).data.tags_dict == {"team": "nlp"}


def test_set_tag_overwrites(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.set_tag(run_id, RunTag("team", "nlp"))
    tracking.set_tag(run_id, RunTag("team", "vision"))
    assert tracking.get_run(run_id).data.tags_dict == {"team": "vision"}


def test_tags_come_back_sorted_by_key(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    for key in ["z", "a", "m"]:
        tracking.set_tag(run_id, RunTag(key, key))
    assert [t.key for t in tracking.get_run(run_id).data.tags] == ["a", "m", "z"]


def test_set_tag_accepts_empty_value(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.set_tag(run_id, RunTag("k", ""))
    assert tracking.get_run(run_id).data.tags_dict == {"k": ""}


def test_set_tag_value_of_8000_chars_is_kept_whole(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.set_tag(run_id, RunTag("k", "v" * 8000))
    assert tracking.get_run(run_id).data.tags_dict["k"] == "v" * 8000


def test_set_tag_value_of_8001_chars_is_rejected_not_truncated(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.set_tag(run_id, RunTag("k", "v" * 8001))
    assert tracking.get_run(run_id).data.tags == ()


@pytest.mark.parametrize("key", GOOD_KEYS, ids=lambda k: repr(k[:12]))
def test_set_tag_accepts_keys_mlflow_accepts(tracking: TrackingStore, key: str) -> None:
    run_id = new_run(tracking)
    tracking.set_tag(run_id, RunTag(key, "v"))
    assert tracking.get_run(run_id).data.tags_dict == {key: "v"}


@pytest.mark.parametrize("key", [*BAD_KEYS, "x" * 251], ids=lambda k: repr(k[:12]))
def test_set_tag_rejects_keys_mlflow_rejects(tracking: TrackingStore, key: str) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.set_tag(run_id, RunTag(key, "v"))
    assert tracking.get_run(run_id).data.tags == ()


def test_set_tag_on_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.set_tag(UNKNOWN_RUN, RunTag("k", "v"))


def test_delete_tag_removes_only_that_tag(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, tags=[RunTag("a", "1"), RunTag("b", "2")])
    tracking.delete_tag(run_id, "a")
    assert tracking.get_run(run_id).data.tags_dict == {"b": "2"}


def test_delete_missing_tag_raises_does_not_exist(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    with pytest.raises(ResourceDoesNotExist):
        tracking.delete_tag(run_id, "missing")


def test_delete_tag_twice_raises_does_not_exist(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, tags=[RunTag("a", "1")])
    tracking.delete_tag(run_id, "a")
    with pytest.raises(ResourceDoesNotExist):
        tracking.delete_tag(run_id, "a")


def test_delete_tag_on_unknown_run_raises_run_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.delete_tag(UNKNOWN_RUN, "k")


def test_deleted_tag_can_be_set_again(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, tags=[RunTag("a", "1")])
    tracking.delete_tag(run_id, "a")
    tracking.set_tag(run_id, RunTag("a", "2"))
    assert tracking.get_run(run_id).data.tags_dict == {"a": "2"}


def test_param_and_tag_with_same_key_are_separate(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_param(run_id, Param("k", "param"))
    tracking.set_tag(run_id, RunTag("k", "tag"))
    data = tracking.get_run(run_id).data
    assert data.params_dict == {"k": "param"}
    assert data.tags_dict == {"k": "tag"}


# --- every write to a deleted run is rejected ----------------------------------------------------------

WRITES: dict[str, Callable[[TrackingStore, str], object]] = {
    "log_param": lambda s, r: s.log_param(r, Param("k", "v")),
    "log_metric": lambda s, r: s.log_metric(r, metric("m", 1.0)),
    "set_tag": lambda s, r: s.set_tag(r, RunTag("k", "v")),
    "delete_tag": lambda s, r: s.delete_tag(r, "existing"),
    "log_batch": lambda s, r: s.log_batch(r, metrics=[metric("m", 1.0)], params=[Param("k", "v")]),
    "log_batch_empty": lambda s, r: s.log_batch(r),
    "update_run_info": lambda s, r: s.update_run_info(r, end_time=5),
    "log_inputs": lambda s, r: s.log_inputs(r, datasets=[dataset_input(dataset())]),
    "log_outputs": lambda s, r: s.log_outputs(r, [LoggedModelOutput(s.create_logged_model("0").model_id)]),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_write_to_deleted_run_is_rejected_and_changes_nothing(tracking: TrackingStore, write: str) -> None:
    run_id = new_run(tracking, tags=[RunTag("existing", "yes")])
    tracking.delete_run(run_id)
    before = tracking.get_run(run_id)
    with pytest.raises(InvalidParameterValue):
        WRITES[write](tracking, run_id)
    assert tracking.get_run(run_id) == before


@pytest.mark.parametrize("write", [w for w in WRITES if w != "log_outputs"])
def test_write_to_run_of_deleted_experiment_is_rejected(tracking: TrackingStore, write: str) -> None:
    experiment_id = tracking.create_experiment("gone")
    run_id = new_run(tracking, experiment_id, tags=[RunTag("existing", "yes")])
    tracking.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue):
        WRITES[write](tracking, run_id)


@pytest.mark.parametrize("write", list(WRITES))
def test_write_to_unknown_run_raises_run_not_found(tracking: TrackingStore, write: str) -> None:
    with pytest.raises(RunNotFound):
        WRITES[write](tracking, UNKNOWN_RUN)
