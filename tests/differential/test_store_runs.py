"""Runs, params, tags, metrics and inputs through MLflow's store interface: MLflow's
SqlAlchemyStore vs our plugin's store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

from tests.differential.conftest import RunCase
from tests.differential.store_sides import Side, outcome

TRUNCATE = "MLFLOW_TRUNCATE_LONG_VALUES"


def _new_run(side: Side, tags: list[RunTag] | None = None) -> str:
    experiment_id = side.tracking.create_experiment(side.name("exp"))
    run = side.tracking.create_run(experiment_id, "user", 0, tags or [], side.name("run"))
    return str(run.info.run_id)


@contextmanager
def _truncation(setting: str) -> Iterator[None]:
    before = os.environ.get(TRUNCATE)
    os.environ[TRUNCATE] = setting
    try:
        yield
    finally:
        if before is None:
            del os.environ[TRUNCATE]
        else:
            os.environ[TRUNCATE] = before


def long_values(side: Side) -> Any:
    """Over-long param (6000) and tag (8000) values: truncated by default, refused when
    MLFLOW_TRUNCATE_LONG_VALUES is false."""
    store = side.tracking
    run_id = _new_run(side)
    observed: dict[str, Any] = {}
    observed["log_param"] = outcome(lambda: store.log_param(run_id, Param("p", "x" * 7000)))
    observed["log_param again"] = outcome(lambda: store.log_param(run_id, Param("p", "x" * 6001)))
    observed["set_tag"] = outcome(lambda: store.set_tag(run_id, RunTag("t", "y" * 9000)))
    observed["log_batch"] = outcome(
        lambda: store.log_batch(run_id, [], [Param("bp", "z" * 7000)], [RunTag("bt", "w" * 9000)])
    )
    with _truncation("false"):
        observed["off: log_param"] = outcome(lambda: store.log_param(run_id, Param("p2", "x" * 6001)))
        observed["off: set_tag"] = outcome(lambda: store.set_tag(run_id, RunTag("t2", "y" * 8001)))
        observed["off: log_batch"] = outcome(
            lambda: store.log_batch(run_id, [], [Param("bp2", "z" * 6001)], [])
        )
    data = store.get_run(run_id).data
    observed["params"] = {k: len(v) for k, v in data.params.items()}
    observed["tags"] = {k: len(v) for k, v in data.tags.items() if not k.startswith("mlflow.")}
    return observed


def test_over_long_param_and_tag_values_are_truncated_unless_turned_off(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = mlflow_side(long_values), plugin_side(long_values)
    assert theirs["params"] == {"p": 6000, "bp": 6000}
    assert theirs["off: set_tag"]["code"] == "INVALID_PARAMETER_VALUE"
    assert ours == theirs


def long_create_run_tag(side: Side) -> Any:
    run_id = _new_run(side, [RunTag("t", "v" * 9000)])
    return len(side.tracking.get_run(run_id).data.tags["t"])


def test_an_over_long_tag_of_create_run_is_truncated_too(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    """A difference (DIFFERENCES.md): MLflow's SQL store checks no tag of create_run, so SQLite
    keeps the whole value (a PostgreSQL VARCHAR(8000) column would refuse it); we truncate it as
    set_tag and log_batch do."""
    assert mlflow_side(long_create_run_tag) == 9000
    assert plugin_side(long_create_run_tag) == 8000


def history_of_size_zero(side: Side) -> Any:
    store = side.tracking
    run_id = _new_run(side)
    for step in range(3):
        store.log_metric(run_id, Metric("m", float(step), step, step))
    empty = store.get_metric_history(run_id, "m", max_results=0)
    some = store.get_metric_history(run_id, "m", max_results=2)
    return {
        "zero": list(empty),
        "zero has a token": empty.token is not None,
        "two": [m.value for m in some],
        "two has a token": some.token is not None,
    }


def test_metric_history_of_max_results_zero_is_empty(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    """MLflow also hands out a next page token with the empty list, one that it refuses on the next
    call (offset 0 is not a valid token to it); ours is the last page (DIFFERENCES.md)."""
    theirs, ours = mlflow_side(history_of_size_zero), plugin_side(history_of_size_zero)
    assert theirs["zero has a token"] is True
    assert ours == {**theirs, "zero has a token": False}


def _dataset_input(name: str, digest: str) -> DatasetInput:
    dataset = Dataset(name=name, digest=digest, source_type="local", source="src", schema="{}", profile="{}")
    return DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])


def dataset_inputs_in_logging_order(side: Side) -> Any:
    store = side.tracking
    run_id = _new_run(side)
    # Neither names nor digests in logging order.
    inputs = [
        _dataset_input(name, digest) for name, digest in [("d", "4"), ("b", "2"), ("c", "3"), ("a", "1")]
    ]
    store.log_inputs(run_id, datasets=inputs[:2])
    store.log_inputs(run_id, datasets=inputs[2:])
    store.log_inputs(run_id, datasets=[inputs[1]])  # again: stays where it was first logged

    def names(run: Any) -> list[str]:
        return [i.dataset.name for i in run.inputs.dataset_inputs]

    experiment_id = store.get_run(run_id).info.experiment_id
    return {
        "get_run": names(store.get_run(run_id)),
        "search_runs": [names(r) for r in store.search_runs([experiment_id], "", 1)],
    }


def test_dataset_inputs_come_back_in_logging_order(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    theirs, ours = mlflow_side(dataset_inputs_in_logging_order), plugin_side(dataset_inputs_in_logging_order)
    assert theirs["get_run"] == ["d", "b", "c", "a"]
    assert ours == theirs


def searches_without_max_results(side: Side) -> Any:
    store = side.tracking
    run_id = _new_run(side)
    experiment_id = store.get_run(run_id).info.experiment_id
    return {
        "search_experiments": outcome(lambda: store.search_experiments(max_results=None)),
        "search_traces": outcome(lambda: store.search_traces([experiment_id], max_results=None)),
        "search_runs": outcome(
            lambda: store.search_runs([experiment_id], "", 1, max_results=None),
            lambda runs: ([r.info.run_id == run_id for r in runs], runs.token),
        ),
    }


def test_searches_without_max_results_answer_as_mlflow(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    """Experiments and traces: refused; runs: every run in one list."""
    theirs, ours = mlflow_side(searches_without_max_results), plugin_side(searches_without_max_results)
    assert theirs["search_experiments"]["code"] == "INVALID_PARAMETER_VALUE"
    assert theirs["search_runs"] == {"ok": ([True], None)}
    assert ours == theirs
