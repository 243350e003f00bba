"""Import (migration): experiments and runs keep their ids, times, states and full history."""

from __future__ import annotations

import math

import pytest

from genesis_flow.core.entities import (
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from genesis_flow.core.errors import (
    ExperimentAlreadyExists,
    ExperimentNotFound,
    InvalidParameterValue,
    ResourceAlreadyExists,
    RunNotFound,
)
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import dataset, experiments, names, new_run, run_ids, runs

pytestmark = pytest.mark.genesis_requires("import")

RUN_ID = "a" * 32


def _experiment(experiment_id: str = "42", name: str = "migrated", **changes: object) -> Experiment:
    fields: dict[str, object] = {
        "experiment_id": experiment_id,
        "name": name,
        "artifact_location": f"s3://old-bucket/{experiment_id}",
        "lifecycle_stage": LifecycleStage.ACTIVE,
        "creation_time": 1_000,
        "last_update_time": 2_000,
        "tags": (ExperimentTag("team", "nlp"), ExperimentTag("mlflow.note.content", "old notes")),
    }
    fields.update(changes)
    return Experiment(**fields)  # type: ignore[arg-type]


HISTORY = [
    Metric("acc", 0.1, 100, 0),
    Metric("acc", 0.5, 200, 1),
    Metric("acc", 0.3, 300, 1),
    Metric("acc", float("nan"), 150, 2),
    Metric("loss", 2.0, 100, 0),
    Metric("loss", 1.0, 90, 5),
]


def _run(run_id: str = RUN_ID, experiment_id: str = "42", **info_changes: object) -> Run:
    info: dict[str, object] = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "run_name": "old-run",
        "user_id": "carol",
        "status": RunStatus.FAILED,
        "start_time": 5_000,
        "end_time": 6_000,
        "artifact_uri": f"s3://old-bucket/{experiment_id}/{run_id}/artifacts",
        "lifecycle_stage": LifecycleStage.ACTIVE,
    }
    info.update(info_changes)
    return Run(
        info=RunInfo(**info),  # type: ignore[arg-type]
        data=RunData(
            # Ignored by import_run: the latest values come from the history.
            metrics=(Metric("acc", 999.0, 1, 99),),
            params=(Param("lr", "0.1"), Param("opt", "adam")),
            tags=(RunTag("mlflow.runName", "old-run"), RunTag("team", "nlp")),
        ),
        inputs=RunInputs(
            dataset_inputs=(
                DatasetInput(dataset("train", "d1"), (InputTag("mlflow.data.context", "training"),)),
            )
        ),
    )


# --- experiments -------------------------------------------------------------------------------------


def test_import_experiment_keeps_id_name_times_location_and_tags(tracking: TrackingStore) -> None:
    original = _experiment()
    tracking.import_experiment(original)
    assert tracking.get_experiment("42") == original
    assert tracking.get_experiment_by_name("migrated") == original


def test_import_deleted_experiment_stays_deleted(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment(lifecycle_stage=LifecycleStage.DELETED))
    assert tracking.get_experiment("42").lifecycle_stage is LifecycleStage.DELETED
    assert names(experiments(tracking, view=ViewType.DELETED_ONLY)) == ["migrated"]
    assert "migrated" not in names(experiments(tracking))


def test_imported_experiment_is_searchable_by_its_times(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment())
    assert names(experiments(tracking, "creation_time = 1000")) == ["migrated"]
    assert names(experiments(tracking, "last_update_time = 2000")) == ["migrated"]


def test_import_experiment_with_taken_id_raises_already_exists(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment("42", "first"))
    with pytest.raises(ExperimentAlreadyExists):
        tracking.import_experiment(_experiment("42", "second"))
    assert tracking.get_experiment("42").name == "first"


def test_import_experiment_with_taken_name_raises_already_exists(tracking: TrackingStore) -> None:
    tracking.create_experiment("migrated")
    with pytest.raises(ExperimentAlreadyExists):
        tracking.import_experiment(_experiment("42", "migrated"))
    with pytest.raises(ExperimentNotFound):
        tracking.get_experiment("42")


def test_import_experiment_with_name_of_deleted_experiment_raises_already_exists(
    tracking: TrackingStore,
) -> None:
    tracking.delete_experiment(tracking.create_experiment("migrated"))
    with pytest.raises(ExperimentAlreadyExists):
        tracking.import_experiment(_experiment("42", "migrated"))


def test_import_over_default_experiment_replaces_it(tracking: TrackingStore) -> None:
    imported = _experiment("0", "Default", creation_time=10, last_update_time=20)
    tracking.import_experiment(imported)
    assert tracking.get_experiment("0") == imported


def test_import_over_default_experiment_may_rename_it(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment("0", "Old default"))
    assert tracking.get_experiment("0").name == "Old default"
    assert tracking.get_experiment_by_name("Default") is None


def test_import_experiment_with_invalid_name_is_rejected(tracking: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.import_experiment(_experiment("42", ""))
    with pytest.raises(ExperimentNotFound):
        tracking.get_experiment("42")


def test_created_experiments_do_not_collide_with_imported_ids(tracking: TrackingStore) -> None:
    for experiment_id in ("1", "2", "7"):
        tracking.import_experiment(_experiment(experiment_id, f"imported-{experiment_id}"))
    created = {tracking.create_experiment(f"new-{i}") for i in range(10)}
    assert not created & {"0", "1", "2", "7"}
    assert len(created) == 10


def test_runs_can_be_created_in_imported_experiment(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment())
    run = tracking.create_run("42", "dave", 7_000)
    assert run.info.artifact_uri == f"s3://old-bucket/42/{run.info.run_id}/artifacts"


# --- runs ----------------------------------------------------------------------------------------------


@pytest.fixture
def imported(tracking: TrackingStore) -> TrackingStore:
    tracking.import_experiment(_experiment())
    tracking.import_run(_run(), HISTORY)
    return tracking


def test_import_run_keeps_info(imported: TrackingStore) -> None:
    assert imported.get_run(RUN_ID).info == _run().info


def test_import_run_keeps_params_tags_and_inputs(imported: TrackingStore) -> None:
    run = imported.get_run(RUN_ID)
    original = _run()
    assert run.data.params == original.data.params
    assert run.data.tags == original.data.tags
    assert run.inputs.dataset_inputs == original.inputs.dataset_inputs


def test_import_run_recomputes_latest_metrics_from_history(imported: TrackingStore) -> None:
    latest = {m.key: (m.value, m.timestamp, m.step) for m in imported.get_run(RUN_ID).data.metrics}
    assert set(latest) == {"acc", "loss"}
    value, timestamp, step = latest["acc"]
    assert math.isnan(value) and (timestamp, step) == (150, 2)
    assert latest["loss"] == (1.0, 90, 5)


def test_import_run_keeps_full_metric_history(imported: TrackingStore) -> None:
    acc = imported.get_metric_history(RUN_ID, "acc").items
    assert [(m.timestamp, m.step) for m in acc] == [(100, 0), (150, 2), (200, 1), (300, 1)]
    assert len(imported.get_metric_history(RUN_ID, "loss").items) == 2


def test_imported_run_is_searchable(imported: TrackingStore) -> None:
    assert run_ids(runs(imported, ["42"], "metrics.loss = 1.0 AND params.lr = '0.1'")) == [RUN_ID]
    assert run_ids(runs(imported, ["42"], "status = 'FAILED' AND start_time = 5000")) == [RUN_ID]
    assert run_ids(runs(imported, ["42"], "datasets.context = 'training'")) == [RUN_ID]


def test_imported_run_accepts_new_points_under_the_latest_rule(imported: TrackingStore) -> None:
    imported.log_metric(RUN_ID, Metric("loss", 0.5, 10, 6))
    assert imported.get_run(RUN_ID).data.metrics_dict["loss"] == 0.5
    assert len(imported.get_metric_history(RUN_ID, "loss").items) == 3


def test_imported_params_stay_immutable(imported: TrackingStore) -> None:
    with pytest.raises(InvalidParameterValue):
        imported.log_param(RUN_ID, Param("lr", "0.2"))


def test_import_deleted_run_stays_deleted(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment())
    tracking.import_run(_run(lifecycle_stage=LifecycleStage.DELETED), HISTORY)
    assert tracking.get_run(RUN_ID).info.lifecycle_stage is LifecycleStage.DELETED
    assert run_ids(runs(tracking, ["42"], view=ViewType.DELETED_ONLY)) == [RUN_ID]
    assert runs(tracking, ["42"]).items == ()
    with pytest.raises(InvalidParameterValue):
        tracking.set_tag(RUN_ID, RunTag("k", "v"))


def test_import_run_with_existing_id_raises_already_exists(imported: TrackingStore) -> None:
    with pytest.raises(ResourceAlreadyExists):
        imported.import_run(_run(user_id="mallory"), [])
    assert imported.get_run(RUN_ID).info.user_id == "carol"


def test_import_run_with_id_of_created_run_raises_already_exists(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment())
    run_id = new_run(tracking, "42")
    with pytest.raises(ResourceAlreadyExists):
        tracking.import_run(_run(run_id), [])


def test_import_run_into_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.import_run(_run(experiment_id="999"), HISTORY)
    with pytest.raises(RunNotFound):
        tracking.get_run(RUN_ID)


@pytest.mark.parametrize(
    "history",
    [[Metric("a/../b", 1.0, 1, 0)], [Metric("m", 1.0, -1, 0)], [Metric("m", True, 1, 0)]],
    ids=["bad key", "negative timestamp", "bool value"],
)
def test_import_run_with_invalid_history_stores_nothing(
    tracking: TrackingStore, history: list[Metric]
) -> None:
    tracking.import_experiment(_experiment())
    with pytest.raises(InvalidParameterValue):
        tracking.import_run(_run(), history)
    with pytest.raises(RunNotFound):
        tracking.get_run(RUN_ID)


def test_import_run_with_invalid_param_stores_nothing(tracking: TrackingStore) -> None:
    tracking.import_experiment(_experiment())
    run = _run()
    bad = Run(info=run.info, data=RunData(params=(Param("/abs", "1"),)))
    with pytest.raises(InvalidParameterValue):
        tracking.import_run(bad, [])
    with pytest.raises(RunNotFound):
        tracking.get_run(RUN_ID)


def test_import_runs_into_default_experiment(tracking: TrackingStore) -> None:
    tracking.import_run(_run(experiment_id="0"), HISTORY)
    assert run_ids(runs(tracking, ["0"])) == [RUN_ID]


def test_deleting_experiment_marks_imported_runs_deleted(imported: TrackingStore) -> None:
    imported.delete_experiment("42")
    assert imported.get_run(RUN_ID).info.lifecycle_stage is LifecycleStage.DELETED
