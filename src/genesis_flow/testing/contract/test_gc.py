"""purge_deleted_runs: what ``genesis gc`` (and ``mlflow gc``) removes, on every backend.

Assertions look only at this test's runs: a backend's namespace may hold other tests' runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from genesis_flow.core.entities import LifecycleStage, Metric, Param, RunInfo, RunTag, ViewType
from genesis_flow.core.errors import RunNotFound
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.support import TickingClock

DAY_MS = 86_400_000


def _new_run(tracking: TrackingStore, experiment_id: str, name: str) -> str:
    run = tracking.create_run(experiment_id, "alice", None, run_name=name)
    run_id = run.info.run_id
    tracking.log_batch(
        run_id,
        metrics=[Metric("loss", 0.5, 1, 0), Metric("loss", 0.25, 2, 1)],
        params=[Param("lr", "0.1")],
        tags=[RunTag("team", "a")],
    )
    return run_id


def _ids(infos: Sequence[RunInfo]) -> set[str]:
    return {info.run_id for info in infos}


@pytest.fixture
def aged(tracking: TrackingStore, clock: TickingClock) -> tuple[str, str, str, str]:
    """(experiment, active run, run deleted 10 days ago, run deleted 1 day ago); now is 'now'."""
    experiment_id = tracking.create_experiment(f"gc-{clock.now}")
    active = _new_run(tracking, experiment_id, "active")
    old = _new_run(tracking, experiment_id, "old")
    new = _new_run(tracking, experiment_id, "new")
    tracking.delete_run(old)
    clock.now += 9 * DAY_MS
    tracking.delete_run(new)
    clock.now += DAY_MS
    return experiment_id, active, old, new


def test_dry_run_lists_old_deleted_runs_and_removes_nothing(
    tracking: TrackingStore, aged: tuple[str, str, str, str]
) -> None:
    experiment_id, active, old, new = aged
    listed = tracking.purge_deleted_runs(5 * DAY_MS, dry_run=True)
    mine = [info for info in listed if info.run_id in {active, old, new}]
    assert _ids(mine) == {old}
    assert mine[0].experiment_id == experiment_id
    assert mine[0].lifecycle_stage is LifecycleStage.DELETED
    assert mine[0].artifact_uri == tracking.get_run(old).info.artifact_uri
    assert tracking.get_run(old).data.params_dict == {"lr": "0.1"}


def test_purge_removes_old_deleted_runs_with_everything_logged(
    tracking: TrackingStore, aged: tuple[str, str, str, str]
) -> None:
    experiment_id, active, old, new = aged
    purged = tracking.purge_deleted_runs(5 * DAY_MS)
    assert old in _ids(purged) and not {active, new} & _ids(purged)
    with pytest.raises(RunNotFound):
        tracking.get_run(old)
    deleted = tracking.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [run.info.run_id for run in deleted] == [new]
    # The others keep everything.
    for run_id in (active, new):
        run = tracking.get_run(run_id)
        assert run.data.params_dict == {"lr": "0.1"}
        assert [m.value for m in tracking.get_metric_history(run_id, "loss")] == [0.5, 0.25]
    # Nothing left to purge at that age; a second purge is a no-op.
    assert not {active, old, new} & _ids(tracking.purge_deleted_runs(5 * DAY_MS))


def test_zero_age_purges_every_deleted_run(tracking: TrackingStore, aged: tuple[str, str, str, str]) -> None:
    experiment_id, active, old, new = aged
    assert {old, new} <= _ids(tracking.purge_deleted_runs(0))
    assert [r.info.run_id for r in tracking.search_runs([experiment_id], run_view_type=ViewType.ALL)] == [
        active
    ]


def test_restored_run_is_not_purged_and_redeleting_keeps_the_first_time(
    tracking: TrackingStore, clock: TickingClock
) -> None:
    experiment_id = tracking.create_experiment(f"gc-restore-{clock.now}")
    restored = _new_run(tracking, experiment_id, "restored")
    twice = _new_run(tracking, experiment_id, "twice")
    tracking.delete_run(restored)
    tracking.delete_run(twice)
    clock.now += 10 * DAY_MS
    tracking.restore_run(restored)
    tracking.delete_run(twice)  # already deleted: keeps its deletion time of 10 days ago
    purged = _ids(tracking.purge_deleted_runs(5 * DAY_MS))
    assert twice in purged and restored not in purged
    assert tracking.get_run(restored).info.lifecycle_stage is LifecycleStage.ACTIVE


def test_runs_of_a_deleted_experiment_age_from_its_deletion(
    tracking: TrackingStore, clock: TickingClock
) -> None:
    experiment_id = tracking.create_experiment(f"gc-experiment-{clock.now}")
    run_id = _new_run(tracking, experiment_id, "in-deleted-experiment")
    tracking.delete_experiment(experiment_id)
    clock.now += DAY_MS
    assert run_id not in _ids(tracking.purge_deleted_runs(5 * DAY_MS))
    clock.now += 10 * DAY_MS
    assert run_id in _ids(tracking.purge_deleted_runs(5 * DAY_MS))
    with pytest.raises(RunNotFound):
        tracking.get_run(run_id)
