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
