"""Racing writers: every backend settles them as one would in sequence, with clear errors for
the losers and nothing lost or duplicated (stores are shared by threads of one process; the SQL
and Mongo adapters also by several processes, which their own tests cover)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from genesis_flow.core.entities import Metric, Param
from genesis_flow.core.registry import ModelVersion
from genesis_flow.ports import RegistryStore, TrackingStore
from genesis_flow.testing.support import outcome
from genesis_flow.testing.tracking_helpers import new_experiment, new_run

pytestmark = pytest.mark.genesis_requires("concurrency")

WRITERS = 8


def race(call: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run ``call(i)`` for each writer, all released at once; their outcomes in writer order."""
    start = threading.Barrier(WRITERS)

    def writer(i: int) -> tuple[str, Any]:
        start.wait()
        return outcome(call, i)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(writer, range(WRITERS)))


def test_racing_writers_of_one_param_leave_one_value_and_clear_errors(tracking: TrackingStore) -> None:
    for _ in range(5):  # a race is won differently each time; several rounds catch more orders
        run_id = new_run(tracking)

        def log_lr(i: int, run_id: str = run_id) -> None:
            tracking.log_param(run_id, Param("lr", f"0.{i}"))

        outcomes = race(log_lr)
        winners = [i for i, result in enumerate(outcomes) if result[0] == "ok"]
        assert len(winners) == 1, outcomes
        losers = [result for i, result in enumerate(outcomes) if i != winners[0]]
        assert losers == [("error", "INVALID_PARAMETER_VALUE")] * (WRITERS - 1)
        assert tracking.get_run(run_id).data.params_dict == {"lr": f"0.{winners[0]}"}


def test_racing_writers_of_the_same_param_value_all_succeed(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    assert (
        race(lambda i: tracking.log_batch(run_id, params=[Param("lr", "0.1"), Param(f"own{i}", "x")]))
        == [("ok", None)] * WRITERS
    )
    assert len(tracking.get_run(run_id).data.params) == 1 + WRITERS


def test_racing_metric_writers_lose_no_point_and_agree_on_the_latest(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)

    def log(i: int) -> None:
        for step in range(20):
            tracking.log_metric(run_id, Metric("loss", float(i), 1000 + step, step))
            tracking.log_metric(run_id, Metric("loss", float(i), 1000 + step, step))  # a retry

    assert race(log) == [("ok", None)] * WRITERS
    assert len(tracking.get_metric_history(run_id, "loss").items) == 20 * WRITERS
    # The greatest (step, timestamp, value) wins whatever order the writers arrived in.
    assert tracking.get_run(run_id).data.metrics_dict == {"loss": float(WRITERS - 1)}


def test_racing_creators_of_one_experiment_name_leave_one(tracking: TrackingStore) -> None:
    outcomes = race(lambda i: new_experiment(tracking, "contested"))
    assert [r[0] for r in outcomes].count("ok") == 1
    assert sorted(r for r in outcomes if r[0] == "error") == [("error", "RESOURCE_ALREADY_EXISTS")] * (
        WRITERS - 1
    )
    created = tracking.get_experiment_by_name("contested")
    assert created is not None and ("ok", created.experiment_id) in outcomes


def test_racing_creators_of_model_versions_get_consecutive_numbers(registry: RegistryStore) -> None:
    for round_ in range(3):  # a fresh model each round: the race is won differently each time
        name = f"raced-{round_}"
        registry.create_registered_model(name)

        def create_version(i: int, name: str = name) -> ModelVersion:
            return registry.create_model_version(name, f"s3://models/{i}")

        outcomes = race(create_version)
        assert [result[0] for result in outcomes] == ["ok"] * WRITERS, outcomes
        numbers = sorted(result[1].version for result in outcomes)
        assert numbers == list(range(1, WRITERS + 1)), f"round {round_}: {numbers}"
        # Each writer got its own version: the number it was told holds its source.
        for i, (_, created) in enumerate(outcomes):
            assert registry.get_model_version(name, created.version).source == f"s3://models/{i}"
        assert registry.create_model_version(name, "after").version == WRITERS + 1
