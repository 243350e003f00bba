"""Experiments: the default experiment, create/get/rename/delete/restore and experiment tags."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from genesis_flow.core.entities import ExperimentTag, LifecycleStage, RunTag
from genesis_flow.core.errors import (
    ExperimentAlreadyExists,
    ExperimentNotFound,
    InvalidParameterValue,
    InvalidState,
    ResourceDoesNotExist,
)
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.support import TickingClock
from genesis_flow.testing.tracking_helpers import artifact_root, new_experiment, new_run

# Keys MLflow's name rule rejects: characters outside [/\w.\- :], or path-like names that would
# resolve to another name as a file path.
BAD_KEYS = [
    "a/../b",
    "/abs",
    "a//b",
    "",
    "$x",
    "./x",
    "a/",
    "..",
    ".",
    "a/./b",
    "a@b",
    "a#b",
    "a,b",
    "a\\b",
    "a\nb",
]
GOOD_KEYS = ["a b", "a.b", "a:b", "a/b", "a-b", "a_b", "é", "日本", "x" * 250]


# --- the default experiment ----------------------------------------------------------------------


def test_fresh_store_has_default_experiment_zero(tracking: TrackingStore) -> None:
    default = tracking.get_experiment("0")
    assert default.experiment_id == "0"
    assert default.name == "Default"
    assert default.lifecycle_stage is LifecycleStage.ACTIVE
    assert default.tags == ()
    assert default.artifact_location.endswith("/0")


def test_default_experiment_is_found_by_name(tracking: TrackingStore) -> None:
    found = tracking.get_experiment_by_name("Default")
    assert found is not None
    assert found.experiment_id == "0"


def test_default_experiment_is_deleted_and_restored_like_any_other(tracking: TrackingStore) -> None:
    # As MLflow's SQL store: while it is deleted, no run can be created in it.
    tracking.delete_experiment("0")
    assert tracking.get_experiment("0").lifecycle_stage is LifecycleStage.DELETED
    with pytest.raises(InvalidParameterValue):
        tracking.create_run("0", "user", None)
    tracking.restore_experiment("0")
    assert tracking.get_experiment("0").lifecycle_stage is LifecycleStage.ACTIVE


def test_runs_can_be_created_in_default_experiment(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, "0")
    assert tracking.get_run(run_id).info.experiment_id == "0"


# --- create / get ------------------------------------------------------------------------------------


def test_create_experiment_returns_string_id_of_active_experiment(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("my-exp")
    assert isinstance(experiment_id, str)
    experiment = tracking.get_experiment(experiment_id)
    assert experiment.experiment_id == experiment_id
    assert experiment.name == "my-exp"
    assert experiment.lifecycle_stage is LifecycleStage.ACTIVE
    assert experiment.tags == ()


def test_create_experiment_ids_are_distinct(tracking: TrackingStore) -> None:
    ids = {tracking.create_experiment(f"e{i}") for i in range(5)}
    assert len(ids) == 5
    assert "0" not in ids


def test_create_experiment_sets_creation_time_equal_to_last_update_time(
    tracking: TrackingStore, clock: TickingClock
) -> None:
    before = clock.now
    experiment = tracking.get_experiment(tracking.create_experiment("timed"))
    assert experiment.creation_time is not None
    assert before < experiment.creation_time <= clock.now
    assert experiment.last_update_time == experiment.creation_time


def test_create_experiment_default_artifact_location_is_root_slash_id(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("located")
    expected = f"{artifact_root(tracking)}/{experiment_id}"
    assert tracking.get_experiment(experiment_id).artifact_location == expected


def test_create_experiment_keeps_explicit_artifact_location(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("custom", artifact_location="s3://bucket/place")
    assert tracking.get_experiment(experiment_id).artifact_location == "s3://bucket/place"


def test_create_experiment_rejects_runs_uri_artifact_location(tracking: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_experiment("bad-location", artifact_location="runs:/abc/model")
    assert tracking.get_experiment_by_name("bad-location") is None


def test_create_experiment_with_tags_stores_them(tracking: TrackingStore) -> None:
    tags = [ExperimentTag("team", "vision"), ExperimentTag("owner", "ann")]
    experiment_id = tracking.create_experiment("tagged", tags=tags)
    assert tracking.get_experiment(experiment_id).tags_dict == {"team": "vision", "owner": "ann"}


@pytest.mark.parametrize("key", BAD_KEYS)
def test_create_experiment_with_bad_tag_key_is_rejected_and_stores_nothing(
    tracking: TrackingStore, key: str
) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_experiment("tagged", tags=[ExperimentTag(key, "v")])
    assert tracking.get_experiment_by_name("tagged") is None


def test_create_experiment_with_over_long_tag_value_is_rejected(tracking: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_experiment("tagged", tags=[ExperimentTag("k", "v" * 20001)])
    assert tracking.get_experiment_by_name("tagged") is None


@pytest.mark.parametrize("name", ["", None, 123])
def test_create_experiment_with_invalid_name_is_rejected(tracking: TrackingStore, name: object) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_experiment(name)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["x" * 500, "  ", "with space", "ünïcødé", "a/b:c", "DUP"])
def test_create_experiment_accepts_names_mlflow_accepts(tracking: TrackingStore, name: str) -> None:
    experiment_id = tracking.create_experiment(name)
    assert tracking.get_experiment(experiment_id).name == name


def test_create_experiment_with_501_char_name_is_rejected(tracking: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_experiment("x" * 501)


def test_create_experiment_with_taken_name_raises_already_exists(tracking: TrackingStore) -> None:
    tracking.create_experiment("dup")
    with pytest.raises(ExperimentAlreadyExists):
        tracking.create_experiment("dup")


def test_create_experiment_named_like_default_raises_already_exists(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentAlreadyExists):
        tracking.create_experiment("Default")


def test_create_experiment_with_name_of_deleted_experiment_raises_already_exists(
    tracking: TrackingStore,
) -> None:
    tracking.delete_experiment(tracking.create_experiment("dup"))
    with pytest.raises(ExperimentAlreadyExists):
        tracking.create_experiment("dup")


def test_experiment_names_are_case_sensitive(tracking: TrackingStore) -> None:
    lower = tracking.create_experiment("dup")
    upper = tracking.create_experiment("DUP")
    assert lower != upper
    found = tracking.get_experiment_by_name("DUP")
    assert found is not None
    assert found.experiment_id == upper


@pytest.mark.parametrize("experiment_id", ["999", "123456"])
def test_get_unknown_experiment_raises_not_found(tracking: TrackingStore, experiment_id: str) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.get_experiment(experiment_id)


MALFORMED_ID_CALLS: dict[str, Callable[[TrackingStore, str], object]] = {
    "get": lambda store, bad: store.get_experiment(bad),
    "rename": lambda store, bad: store.rename_experiment(bad, "new name"),
    "delete": lambda store, bad: store.delete_experiment(bad),
    "restore": lambda store, bad: store.restore_experiment(bad),
    "set tag": lambda store, bad: store.set_experiment_tag(bad, ExperimentTag("k", "v")),
    "delete tag": lambda store, bad: store.delete_experiment_tag(bad, "k"),
    "create run": lambda store, bad: store.create_run(bad, "user", None),
    "search runs": lambda store, bad: store.search_runs(["0", bad]),
    "search datasets": lambda store, bad: store.search_datasets([bad]),
    "create logged model": lambda store, bad: store.create_logged_model(bad),
    "search logged models": lambda store, bad: store.search_logged_models([bad]),
}


@pytest.mark.parametrize("call", MALFORMED_ID_CALLS.values(), ids=MALFORMED_ID_CALLS.keys())
def test_an_experiment_id_that_is_no_integer_is_an_invalid_parameter(
    tracking: TrackingStore, call: Callable[[TrackingStore, str], object]
) -> None:
    # Every store's ids are integers, as MLflow's; its SQL store answers with this message.
    with pytest.raises(InvalidParameterValue, match="Experiment ID must be a valid integer"):
        call(tracking, "abc")


def test_an_experiment_id_reads_as_the_integer_it_spells(tracking: TrackingStore) -> None:
    experiment_id = new_experiment(tracking)
    assert tracking.get_experiment(f" 00{experiment_id}").experiment_id == experiment_id


def test_get_experiment_by_unknown_name_returns_none(tracking: TrackingStore) -> None:
    assert tracking.get_experiment_by_name("nope") is None


def test_get_experiment_by_name_is_exact(tracking: TrackingStore) -> None:
    tracking.create_experiment("exact")
    assert tracking.get_experiment_by_name("exac") is None
    assert tracking.get_experiment_by_name("EXACT") is None
    assert tracking.get_experiment_by_name("exact%") is None


def test_deleted_experiment_is_still_returned_by_id_and_by_name(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("gone")
    tracking.delete_experiment(experiment_id)
    assert tracking.get_experiment(experiment_id).lifecycle_stage is LifecycleStage.DELETED
    found = tracking.get_experiment_by_name("gone")
    assert found is not None
    assert found.experiment_id == experiment_id
    assert found.lifecycle_stage is LifecycleStage.DELETED


# --- rename ------------------------------------------------------------------------------------------


def test_rename_experiment_changes_name_and_bumps_last_update_time(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("old")
    created = tracking.get_experiment(experiment_id)
    tracking.rename_experiment(experiment_id, "new")
    renamed = tracking.get_experiment(experiment_id)
    assert renamed.name == "new"
    assert renamed.creation_time == created.creation_time
    assert renamed.last_update_time is not None
    assert created.last_update_time is not None
    assert renamed.last_update_time > created.last_update_time
    assert tracking.get_experiment_by_name("old") is None
    found = tracking.get_experiment_by_name("new")
    assert found is not None
    assert found.experiment_id == experiment_id


def test_rename_frees_the_old_name(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("old")
    tracking.rename_experiment(experiment_id, "new")
    assert tracking.create_experiment("old") != experiment_id


def test_rename_experiment_to_its_own_name_is_a_no_op(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("same")
    tracking.rename_experiment(experiment_id, "same")
    assert tracking.get_experiment(experiment_id).name == "same"


def test_rename_experiment_to_taken_name_raises_already_exists(tracking: TrackingStore) -> None:
    tracking.create_experiment("taken")
    experiment_id = tracking.create_experiment("mine")
    with pytest.raises(ExperimentAlreadyExists):
        tracking.rename_experiment(experiment_id, "taken")
    assert tracking.get_experiment(experiment_id).name == "mine"


def test_rename_experiment_to_name_of_deleted_experiment_raises_already_exists(
    tracking: TrackingStore,
) -> None:
    tracking.delete_experiment(tracking.create_experiment("taken"))
    experiment_id = tracking.create_experiment("mine")
    with pytest.raises(ExperimentAlreadyExists):
        tracking.rename_experiment(experiment_id, "taken")


def test_rename_deleted_experiment_raises_invalid_state(tracking: TrackingStore) -> None:
    # MLflow: "Cannot rename a non-active experiment." with INVALID_STATE.
    experiment_id = tracking.create_experiment("gone")
    tracking.delete_experiment(experiment_id)
    with pytest.raises(InvalidState):
        tracking.rename_experiment(experiment_id, "back")
    assert tracking.get_experiment(experiment_id).name == "gone"


def test_rename_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.rename_experiment("999", "x")


@pytest.mark.parametrize("new_name", ["", "x" * 501])
def test_rename_experiment_to_invalid_name_is_rejected(tracking: TrackingStore, new_name: str) -> None:
    experiment_id = tracking.create_experiment("keep")
    with pytest.raises(InvalidParameterValue):
        tracking.rename_experiment(experiment_id, new_name)
    assert tracking.get_experiment(experiment_id).name == "keep"


def test_rename_default_experiment_is_allowed(tracking: TrackingStore) -> None:
    tracking.rename_experiment("0", "Renamed default")
    assert tracking.get_experiment("0").name == "Renamed default"


# --- delete / restore --------------------------------------------------------------------------------


def test_delete_experiment_marks_it_deleted_and_bumps_last_update_time(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("doomed")
    created = tracking.get_experiment(experiment_id)
    tracking.delete_experiment(experiment_id)
    deleted = tracking.get_experiment(experiment_id)
    assert deleted.lifecycle_stage is LifecycleStage.DELETED
    assert deleted.last_update_time is not None
    assert created.last_update_time is not None
    assert deleted.last_update_time > created.last_update_time


def test_delete_experiment_twice_raises_not_found(tracking: TrackingStore) -> None:
    # MLflow looks the experiment up among active ones: RESOURCE_DOES_NOT_EXIST.
    experiment_id = tracking.create_experiment("doomed")
    tracking.delete_experiment(experiment_id)
    with pytest.raises(ExperimentNotFound):
        tracking.delete_experiment(experiment_id)


def test_delete_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.delete_experiment("999")


def test_restore_experiment_makes_it_active_again(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("phoenix")
    tracking.delete_experiment(experiment_id)
    tracking.restore_experiment(experiment_id)
    assert tracking.get_experiment(experiment_id).lifecycle_stage is LifecycleStage.ACTIVE


def test_restore_active_experiment_raises_not_found(tracking: TrackingStore) -> None:
    # MLflow looks the experiment up among deleted ones: RESOURCE_DOES_NOT_EXIST.
    experiment_id = tracking.create_experiment("alive")
    with pytest.raises(ExperimentNotFound):
        tracking.restore_experiment(experiment_id)


def test_restore_experiment_twice_raises_not_found(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("phoenix")
    tracking.delete_experiment(experiment_id)
    tracking.restore_experiment(experiment_id)
    with pytest.raises(ExperimentNotFound):
        tracking.restore_experiment(experiment_id)
    assert tracking.get_experiment(experiment_id).lifecycle_stage is LifecycleStage.ACTIVE


def test_restore_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.restore_experiment("999")


def test_delete_experiment_marks_its_runs_deleted(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("with-runs")
    run_ids = [new_run(tracking, experiment_id) for _ in range(3)]
    other = new_run(tracking, "0")
    tracking.delete_experiment(experiment_id)
    for run_id in run_ids:
        assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.DELETED
    assert tracking.get_run(other).info.lifecycle_stage is LifecycleStage.ACTIVE


def test_restore_experiment_brings_back_all_its_runs(tracking: TrackingStore) -> None:
    # MLflow restores every run of the experiment, also one deleted on its own before.
    experiment_id = tracking.create_experiment("with-runs")
    deleted_alone = new_run(tracking, experiment_id)
    kept = new_run(tracking, experiment_id)
    tracking.delete_run(deleted_alone)
    tracking.delete_experiment(experiment_id)
    tracking.restore_experiment(experiment_id)
    assert tracking.get_run(kept).info.lifecycle_stage is LifecycleStage.ACTIVE
    assert tracking.get_run(deleted_alone).info.lifecycle_stage is LifecycleStage.ACTIVE


def test_create_run_in_restored_experiment_works(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("phoenix")
    tracking.delete_experiment(experiment_id)
    tracking.restore_experiment(experiment_id)
    run_id = new_run(tracking, experiment_id)
    assert tracking.get_run(run_id).info.experiment_id == experiment_id


# --- experiment tags ---------------------------------------------------------------------------------


def test_set_experiment_tag_then_get_shows_it(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    tracking.set_experiment_tag(experiment_id, ExperimentTag("team", "nlp"))
    assert tracking.get_experiment(experiment_id).tags_dict == {"team": "nlp"}


def test_set_experiment_tag_overwrites(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    tracking.set_experiment_tag(experiment_id, ExperimentTag("team", "nlp"))
    tracking.set_experiment_tag(experiment_id, ExperimentTag("team", "vision"))
    assert tracking.get_experiment(experiment_id).tags_dict == {"team": "vision"}


def test_experiment_tags_come_back_sorted_by_key(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    for key in ["zeta", "alpha", "mid"]:
        tracking.set_experiment_tag(experiment_id, ExperimentTag(key, key.upper()))
    assert [t.key for t in tracking.get_experiment(experiment_id).tags] == ["alpha", "mid", "zeta"]


def test_set_experiment_tag_on_default_experiment(tracking: TrackingStore) -> None:
    tracking.set_experiment_tag("0", ExperimentTag("k", "v"))
    assert tracking.get_experiment("0").tags_dict == {"k": "v"}


def test_set_experiment_tag_accepts_empty_value(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    tracking.set_experiment_tag(experiment_id, ExperimentTag("k", ""))
    assert tracking.get_experiment(experiment_id).tags_dict == {"k": ""}


@pytest.mark.parametrize("key", GOOD_KEYS, ids=lambda k: repr(k[:12]))
def test_set_experiment_tag_accepts_keys_mlflow_accepts(tracking: TrackingStore, key: str) -> None:
    experiment_id = tracking.create_experiment("tags")
    tracking.set_experiment_tag(experiment_id, ExperimentTag(key, "v"))
    assert tracking.get_experiment(experiment_id).tags_dict == {key: "v"}


@pytest.mark.parametrize("key", [*BAD_KEYS, "x" * 251], ids=lambda k: repr(k[:12]))
def test_set_experiment_tag_rejects_keys_mlflow_rejects(tracking: TrackingStore, key: str) -> None:
    experiment_id = tracking.create_experiment("tags")
    with pytest.raises(InvalidParameterValue):
        tracking.set_experiment_tag(experiment_id, ExperimentTag(key, "v"))
    assert tracking.get_experiment(experiment_id).tags == ()


def test_set_experiment_tag_value_of_20000_chars_is_kept_whole(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    tracking.set_experiment_tag(experiment_id, ExperimentTag("k", "v" * 20000))
    assert tracking.get_experiment(experiment_id).tags_dict["k"] == "v" * 20000


def test_set_experiment_tag_value_of_20001_chars_is_rejected(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    with pytest.raises(InvalidParameterValue):
        tracking.set_experiment_tag(experiment_id, ExperimentTag("k", "v" * 20001))
    assert tracking.get_experiment(experiment_id).tags == ()


def test_set_experiment_tag_on_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.set_experiment_tag("999", ExperimentTag("k", "v"))


def test_set_experiment_tag_on_deleted_experiment_is_rejected(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("gone")
    tracking.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue):
        tracking.set_experiment_tag(experiment_id, ExperimentTag("k", "v"))


def test_delete_experiment_tag_removes_only_that_tag(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment(
        "tags", tags=[ExperimentTag("a", "1"), ExperimentTag("b", "2")]
    )
    tracking.delete_experiment_tag(experiment_id, "a")
    assert tracking.get_experiment(experiment_id).tags_dict == {"b": "2"}


def test_delete_missing_experiment_tag_raises_does_not_exist(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags")
    with pytest.raises(ResourceDoesNotExist):
        tracking.delete_experiment_tag(experiment_id, "missing")


def test_delete_experiment_tag_twice_raises_does_not_exist(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("tags", tags=[ExperimentTag("a", "1")])
    tracking.delete_experiment_tag(experiment_id, "a")
    with pytest.raises(ResourceDoesNotExist):
        tracking.delete_experiment_tag(experiment_id, "a")


def test_delete_experiment_tag_on_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.delete_experiment_tag("999", "k")


def test_delete_experiment_tag_on_deleted_experiment_is_rejected(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("gone", tags=[ExperimentTag("a", "1")])
    tracking.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue):
        tracking.delete_experiment_tag(experiment_id, "a")
    assert tracking.get_experiment(experiment_id).tags_dict == {"a": "1"}


def test_experiment_tags_survive_delete_and_restore(tracking: TrackingStore) -> None:
    experiment_id = new_experiment(tracking, "kept", tags=[ExperimentTag("a", "1")])
    tracking.delete_experiment(experiment_id)
    tracking.restore_experiment(experiment_id)
    assert tracking.get_experiment(experiment_id).tags_dict == {"a": "1"}


def test_run_tags_are_not_experiment_tags(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("separate")
    new_run(tracking, experiment_id, tags=[RunTag("team", "x")])
    assert tracking.get_experiment(experiment_id).tags == ()
