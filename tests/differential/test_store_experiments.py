"""Experiments through MLflow's store interface: MLflow's SqlAlchemyStore vs our plugin's store."""

from __future__ import annotations

from typing import Any

from tests.differential.conftest import RunCase
from tests.differential.store_sides import Side, code_of, outcome


def experiment_round_trip(side: Side) -> Any:
    name = side.name("exp")
    experiment_id = side.tracking.create_experiment(name)
    experiment = side.tracking.get_experiment(experiment_id)
    return {
        "name": experiment.name,
        "stage": experiment.lifecycle_stage,
        "by name": side.tracking.get_experiment_by_name(name).experiment_id == experiment_id,
        # MLflow's message carries the SQL statement and its parameters; the code is what agrees.
        "again": code_of(outcome(lambda: side.tracking.create_experiment(name))),
    }


def test_an_experiment_reads_back_as_created(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    theirs, ours = mlflow_side(experiment_round_trip), plugin_side(experiment_round_trip)
    assert theirs["again"]["code"] == "RESOURCE_ALREADY_EXISTS"
    assert ours == theirs


def default_experiment_deleted(side: Side) -> Any:
    store = side.tracking
    observed: dict[str, Any] = {"delete": outcome(lambda: store.delete_experiment("0"))}
    try:
        observed["stage"] = store.get_experiment("0").lifecycle_stage
        observed["create_run"] = outcome(lambda: store.create_run("0", "user", 0, [], side.name("run")))
        observed["delete again"] = code_of(outcome(lambda: store.delete_experiment("0")))
    finally:  # other cases need it
        observed["restore"] = outcome(lambda: store.restore_experiment("0"))
    observed["stage after restore"] = store.get_experiment("0").lifecycle_stage
    return observed


def test_the_default_experiment_is_deleted_and_restored(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    theirs, ours = mlflow_side(default_experiment_deleted), plugin_side(default_experiment_deleted)
    assert theirs["stage"] == "deleted"
    assert theirs["create_run"]["code"] == "INVALID_PARAMETER_VALUE"
    assert ours == theirs
