"""Runs: create, get, run names, update, delete/restore, nesting, artifact URIs."""

from __future__ import annotations

import pytest

from genesis_flow.core.entities import LifecycleStage, Run, RunInfo, RunStatus, RunTag
from genesis_flow.core.errors import ExperimentNotFound, InvalidParameterValue, RunNotFound
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.support import TickingClock
from genesis_flow.testing.tracking_helpers import BASE_TIME, new_run

RUN_NAME = "mlflow.runName"
PARENT = "mlflow.parentRunId"


# --- create / get ------------------------------------------------------------------------------------


def test_create_run_returns_running_active_run(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("runs")
    run = tracking.create_run(experiment_id, "alice", 1234, run_name="first")
    info = run.info
    assert isinstance(info.run_id, str) and info.run_id
    assert info.experiment_id == experiment_id
    assert info.user_id == "alice"
    assert info.status is RunStatus.RUNNING
    assert info.start_time == 1234
    assert info.end_time is None
    assert info.lifecycle_stage is LifecycleStage.ACTIVE
    assert info.run_name == "first"
    assert run.data.metrics == ()
    assert run.data.params == ()
    assert run.inputs.dataset_inputs == ()


def test_create_run_result_equals_get_run(tracking: TrackingStore) -> None:
    run = tracking.create_run("0", "alice", 5, tags=[RunTag("a", "b")], run_name="same")
    assert tracking.get_run(run.info.run_id) == run


def test_create_run_ids_are_distinct(tracking: TrackingStore) -> None:
    assert len({new_run(tracking) for _ in range(20)}) == 20


def test_create_run_without_start_time_takes_the_clock(tracking: TrackingStore, clock: TickingClock) -> None:
    before = clock.now
    run = tracking.create_run("0", "alice", None)
    assert run.info.start_time is not None
    assert before < run.info.start_time <= clock.now


@pytest.mark.parametrize("start_time", [0, 1, BASE_TIME, 2**62])
def test_create_run_keeps_given_start_time(tracking: TrackingStore, start_time: int) -> None:
    run_id = new_run(tracking, start_time=start_time)
    assert tracking.get_run(run_id).info.start_time == start_time


def test_create_run_keeps_user_id(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, user_id="bob@example.com")
    assert tracking.get_run(run_id).info.user_id == "bob@example.com"


def test_create_run_artifact_uri_is_under_experiment_location(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("art")
    location = tracking.get_experiment(experiment_id).artifact_location
    run = tracking.create_run(experiment_id, "alice", 1)
    assert run.info.artifact_uri == f"{location}/{run.info.run_id}/artifacts"


# (location, then the run's artifact URI): the run's path goes before a query or fragment, which
# may carry a credential (a SAS token), as MLflow joins artifact URIs.
CUSTOM_LOCATIONS = {
    "plain": ("s3://bucket/prefix", "s3://bucket/prefix/{run}/artifacts"),
    "query": ("s3://bucket/prefix?creds=x", "s3://bucket/prefix/{run}/artifacts?creds=x"),
    "query and fragment": ("s3://bucket/p/?sig=a%2Fb#f", "s3://bucket/p/{run}/artifacts?sig=a%2Fb#f"),
    "no path": ("s3://bucket?creds=x", "s3://bucket/{run}/artifacts?creds=x"),
    "relative file": ("file:path/to/dir", "file:path/to/dir/{run}/artifacts"),
}


@pytest.mark.parametrize(("location", "expected"), CUSTOM_LOCATIONS.values(), ids=CUSTOM_LOCATIONS.keys())
def test_create_run_artifact_uri_follows_custom_experiment_location(
    tracking: TrackingStore, location: str, expected: str
) -> None:
    experiment_id = tracking.create_experiment("art", artifact_location=location)
    run = tracking.create_run(experiment_id, "alice", 1)
    assert run.info.artifact_uri == expected.format(run=run.info.run_id)


def test_create_run_in_a_location_whose_query_holds_dot_dot_is_refused(tracking: TrackingStore) -> None:
    # A store or proxy decoding the query could read it as part of the path.
    experiment_id = tracking.create_experiment("art", artifact_location="s3://bucket/p?x=%2E%2E/secret")
    with pytest.raises(InvalidParameterValue, match="Invalid query string"):
        tracking.create_run(experiment_id, "alice", 1)


def test_create_run_with_tags_stores_them(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, tags=[RunTag("a", "1"), RunTag("b", "2")])
    assert tracking.get_run(run_id).data.tags_dict == {"a": "1", "b": "2"}


def test_create_run_in_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.create_run("999", "alice", 1)


def test_create_run_in_deleted_experiment_is_rejected(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("gone")
    tracking.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue):
        tracking.create_run(experiment_id, "alice", 1)


@pytest.mark.parametrize("key", ["a/../b", "", "$x", "a@b", "x" * 251])
def test_create_run_with_bad_tag_key_is_rejected(tracking: TrackingStore, key: str) -> None:
    # MLflow's SQL store does not check create_run tags; the port applies the run-tag rules.
    with pytest.raises(InvalidParameterValue):
        tracking.create_run("0", "alice", 1, tags=[RunTag(key, "v")])


def test_create_run_with_over_long_tag_value_is_rejected(tracking: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_run("0", "alice", 1, tags=[RunTag("k", "v" * 8001)])


@pytest.mark.parametrize("run_id", ["0" * 32, "nope", "f" * 32])
def test_get_unknown_run_raises_not_found(tracking: TrackingStore, run_id: str) -> None:
    with pytest.raises(RunNotFound):
        tracking.get_run(run_id)


# --- run names -----------------------------------------------------------------------------------------


def test_create_run_with_name_writes_run_name_tag(tracking: TrackingStore) -> None:
    run = tracking.create_run("0", "alice", 1, run_name="named")
    assert run.info.run_name == "named"
    assert run.data.tags_dict[RUN_NAME] == "named"


def test_create_run_with_only_run_name_tag_takes_its_name(tracking: TrackingStore) -> None:
    run = tracking.create_run("0", "alice", 1, tags=[RunTag(RUN_NAME, "from-tag")])
    assert run.info.run_name == "from-tag"
    assert run.data.tags_dict[RUN_NAME] == "from-tag"


@pytest.mark.parametrize("run_name", [None, ""])
def test_create_run_with_empty_name_and_name_tag_takes_the_tag(
    tracking: TrackingStore, run_name: str | None
) -> None:
    run = tracking.create_run("0", "alice", 1, tags=[RunTag(RUN_NAME, "from-tag")], run_name=run_name)
    assert run.info.run_name == "from-tag"


def test_create_run_with_agreeing_name_and_tag_is_fine(tracking: TrackingStore) -> None:
    run = tracking.create_run("0", "alice", 1, tags=[RunTag(RUN_NAME, "same")], run_name="same")
    assert run.info.run_name == "same"
    assert run.data.tags_dict[RUN_NAME] == "same"


def test_create_run_with_contradicting_name_and_tag_is_rejected(tracking: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_run("0", "alice", 1, tags=[RunTag(RUN_NAME, "tag")], run_name="arg")


def test_create_run_without_any_name_leaves_it_empty(tracking: TrackingStore) -> None:
    # Generating a name ("bold-bird-807") is MLflow's client convenience, not the port's.
    run = tracking.create_run("0", "alice", 1)
    assert run.info.run_name == ""
    assert RUN_NAME not in run.data.tags_dict


def test_set_run_name_tag_renames_the_run(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="before")
    tracking.set_tag(run_id, RunTag(RUN_NAME, "after"))
    run = tracking.get_run(run_id)
    assert run.info.run_name == "after"
    assert run.data.tags_dict[RUN_NAME] == "after"


def test_run_name_tag_in_log_batch_renames_the_run(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="before")
    tracking.log_batch(run_id, tags=[RunTag(RUN_NAME, "batch")])
    run = tracking.get_run(run_id)
    assert run.info.run_name == "batch"
    assert run.data.tags_dict[RUN_NAME] == "batch"


def test_delete_run_name_tag_keeps_the_run_name(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="sticky")
    tracking.delete_tag(run_id, RUN_NAME)
    run = tracking.get_run(run_id)
    assert run.info.run_name == "sticky"
    assert RUN_NAME not in run.data.tags_dict


# --- update_run_info ---------------------------------------------------------------------------------


def test_update_run_info_sets_status_and_end_time(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    info = tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=BASE_TIME + 10)
    assert info.status is RunStatus.FINISHED
    assert info.end_time == BASE_TIME + 10
    assert tracking.get_run(run_id).info == info


@pytest.mark.parametrize("status", list(RunStatus))
def test_update_run_info_accepts_every_status(tracking: TrackingStore, status: RunStatus) -> None:
    run_id = new_run(tracking)
    tracking.update_run_info(run_id, status)
    assert tracking.get_run(run_id).info.status is status


def test_update_run_info_status_only_leaves_end_time(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=77)
    tracking.update_run_info(run_id, RunStatus.KILLED)
    info = tracking.get_run(run_id).info
    assert info.status is RunStatus.KILLED
    assert info.end_time == 77


def test_update_run_info_with_nothing_changes_nothing(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="n")
    before = tracking.get_run(run_id)
    tracking.update_run_info(run_id)
    assert tracking.get_run(run_id) == before


def test_update_run_info_renames_run_and_rewrites_name_tag(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="old")
    info = tracking.update_run_info(run_id, run_name="new")
    assert info.run_name == "new"
    run = tracking.get_run(run_id)
    assert run.info.run_name == "new"
    assert run.data.tags_dict[RUN_NAME] == "new"
    assert run.info.status is RunStatus.RUNNING


def test_update_run_info_name_on_unnamed_run_adds_the_tag(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.update_run_info(run_id, run_name="late")
    assert tracking.get_run(run_id).data.tags_dict[RUN_NAME] == "late"


def test_update_run_info_with_empty_name_keeps_the_name(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="keep")
    tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=5, run_name="")
    run = tracking.get_run(run_id)
    assert run.info.run_name == "keep"
    assert run.data.tags_dict[RUN_NAME] == "keep"


def test_update_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.update_run_info("f" * 32, RunStatus.FINISHED)


def test_update_deleted_run_is_rejected(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.delete_run(run_id)
    with pytest.raises(InvalidParameterValue):
        tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=5)
    assert tracking.get_run(run_id).info.status is RunStatus.RUNNING


# --- delete / restore ------------------------------------------------------------------------------------


def test_deleted_run_is_still_gettable_with_lifecycle_deleted(tracking: TrackingStore) -> None:
    run_id = new_run(tracking, name="gone")
    before = tracking.get_run(run_id)
    tracking.delete_run(run_id)
    after = tracking.get_run(run_id)
    assert after.info.lifecycle_stage is LifecycleStage.DELETED
    assert after.info.status is before.info.status
    assert after.info.end_time == before.info.end_time
    assert after.data == before.data


def test_delete_run_twice_is_fine(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.delete_run(run_id)
    tracking.delete_run(run_id)
    assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.DELETED


def test_restore_run_makes_it_active(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.delete_run(run_id)
    tracking.restore_run(run_id)
    assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.ACTIVE


def test_restore_active_run_is_fine(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.restore_run(run_id)
    assert tracking.get_run(run_id).info.lifecycle_stage is LifecycleStage.ACTIVE


@pytest.mark.parametrize("operation", ["delete_run", "restore_run"])
def test_delete_or_restore_unknown_run_raises_not_found(tracking: TrackingStore, operation: str) -> None:
    with pytest.raises(RunNotFound):
        getattr(tracking, operation)("f" * 32)


def test_restored_run_accepts_writes_again(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.delete_run(run_id)
    tracking.restore_run(run_id)
    tracking.set_tag(run_id, RunTag("back", "yes"))
    assert tracking.get_run(run_id).data.tags_dict["back"] == "yes"


def test_delete_one_run_leaves_the_others(tracking: TrackingStore) -> None:
    doomed, kept = new_run(tracking), new_run(tracking)
    tracking.delete_run(doomed)
    assert tracking.get_run(kept).info.lifecycle_stage is LifecycleStage.ACTIVE


# --- nesting -------------------------------------------------------------------------------------------


def test_nested_run_carries_parent_run_id_tag(tracking: TrackingStore) -> None:
    parent = new_run(tracking, name="parent")
    child = new_run(tracking, name="child", tags=[RunTag(PARENT, parent)])
    assert tracking.get_run(child).data.tags_dict[PARENT] == parent
    assert PARENT not in tracking.get_run(parent).data.tags_dict


def test_nested_runs_are_found_by_parent_tag(tracking: TrackingStore) -> None:
    from genesis_flow.testing.tracking_helpers import run_ids, runs

    parent = new_run(tracking, name="parent", start_time=1)
    children = [new_run(tracking, tags=[RunTag(PARENT, parent)], start_time=10 + i) for i in range(3)]
    found = run_ids(runs(tracking, ["0"], f"tags.`{PARENT}` = '{parent}'"))
    assert found == list(reversed(children))


# --- run ids by prefix (short ids) -------------------------------------------------------------------


def test_run_ids_with_prefix_finds_the_run_of_a_short_id(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    new_run(tracking)
    assert tracking.run_ids_with_prefix(run_id[:8], 10) == (run_id,)
    assert tracking.run_ids_with_prefix(run_id, 10) == (run_id,)


def test_run_ids_with_prefix_includes_deleted_runs_in_ascending_order(tracking: TrackingStore) -> None:
    ids = [new_run(tracking) for _ in range(4)]
    tracking.delete_run(ids[1])
    for first in {i[0] for i in ids}:
        assert tracking.run_ids_with_prefix(first, 10) == tuple(sorted(i for i in ids if i.startswith(first)))


def test_run_ids_with_prefix_matching_nothing_is_empty(tracking: TrackingStore) -> None:
    new_run(tracking)
    assert tracking.run_ids_with_prefix("not-a-run-id", 5) == ()


@pytest.mark.parametrize(("prefix", "limit"), [("", 5), ("a", 0), ("a", -1)])
def test_run_ids_with_prefix_refuses_empty_prefix_or_limit_below_one(
    tracking: TrackingStore, prefix: str, limit: int
) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.run_ids_with_prefix(prefix, limit)


# Ids a migration may bring (import keeps them): characters LIKE and regexes treat as wildcards,
# case, and the characters a language collation ignores or folds, which a range must not.
IMPORTED_IDS = ("a%b", "a_b", "a.b", "a*b", "a\\b", "axb", "aXb", "ab", "a9", "a9-z", "a:", "az", "azz", "a{")


def _import_runs(tracking: TrackingStore, run_ids: tuple[str, ...]) -> None:
    for run_id in run_ids:
        info = RunInfo(
            run_id=run_id,
            experiment_id="0",
            run_name=run_id,
            user_id="carol",
            status=RunStatus.FINISHED,
            start_time=1,
            end_time=2,
            artifact_uri=f"file:///old/0/{run_id}/artifacts",
            lifecycle_stage=LifecycleStage.DELETED if run_id == "a_b" else LifecycleStage.ACTIVE,
        )
        tracking.import_run(Run(info=info), [])


@pytest.mark.genesis_requires("import")
@pytest.mark.parametrize("prefix", ["a%", "a_", "a.", "a*", "a\\", "ax", "aX", "a9", "az", "a", "b", "a9-"])
def test_run_ids_with_prefix_matches_special_characters_literally(
    tracking: TrackingStore, prefix: str
) -> None:
    _import_runs(tracking, IMPORTED_IDS)
    expected = tuple(sorted(i for i in IMPORTED_IDS if i.startswith(prefix)))
    assert tracking.run_ids_with_prefix(prefix, 100) == expected


@pytest.mark.genesis_requires("import")
def test_run_ids_with_prefix_returns_the_first_ids_up_to_the_limit(tracking: TrackingStore) -> None:
    _import_runs(tracking, IMPORTED_IDS)
    assert tracking.run_ids_with_prefix("a", 3) == tuple(sorted(IMPORTED_IDS))[:3]
