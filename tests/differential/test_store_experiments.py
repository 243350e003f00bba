"""Experiments through MLflow's store interface: MLflow's SqlAlchemyStore vs our plugin's store."""

from __future__ import annotations

from typing import Any

from mlflow.entities import ExperimentTag, ViewType

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


def malformed_experiment_ids(side: Side) -> Any:
    """Every call taking an experiment id, given one that is no integer; and ids int() reads."""
    store = side.tracking
    experiment_id = store.create_experiment(side.name("exp"))
    calls = {
        "get_experiment": lambda: store.get_experiment("abc"),
        "rename_experiment": lambda: store.rename_experiment("abc", side.name("new")),
        "delete_experiment": lambda: store.delete_experiment("abc"),
        "restore_experiment": lambda: store.restore_experiment("abc"),
        "set_experiment_tag": lambda: store.set_experiment_tag("abc", ExperimentTag("k", "v")),
        "delete_experiment_tag": lambda: store.delete_experiment_tag("abc", "k"),
        "create_run": lambda: store.create_run("abc", "user", 0, [], side.name("run")),
        "search_runs": lambda: store.search_runs(["abc"], "", ViewType.ALL),
        "filter_active_experiment_ids": lambda: store.filter_active_experiment_ids(["abc", "0"]),
        "create_logged_model": lambda: store.create_logged_model("abc"),
        "search_logged_models": lambda: store.search_logged_models(["abc"]),
        "_search_datasets": lambda: store._search_datasets(["abc"]),
    }
    observed = {name: outcome(call) for name, call in calls.items()}
    observed["leading zeros"] = outcome(lambda: store.get_experiment(f"00{experiment_id}").experiment_id)
    observed["an int"] = outcome(lambda: store.get_experiment(int(experiment_id)).experiment_id)
    return {k: {**v, "ok": v["ok"] == experiment_id} if "ok" in v else v for k, v in observed.items()}


def test_an_experiment_id_that_is_no_integer_is_an_invalid_parameter(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = mlflow_side(malformed_experiment_ids), plugin_side(malformed_experiment_ids)
    assert theirs["get_experiment"] == {
        "error": "MlflowException",
        "code": "INVALID_PARAMETER_VALUE",
        "message": "Invalid experiment ID 'abc'. Experiment ID must be a valid integer.",
    }
    assert ours == theirs
