"""Random operation sequences: every backend gives the memory model's answers, step by step.

A Hypothesis state machine drives the backend's store and a fresh in-memory store side by side
with the same operations (valid and invalid), and requires the same outcome (value or error code)
for each, and the same visible state after each step. Ids are assigned by each store, so the
machine keeps a map from the model's ids to the backend's. Both stores read one clock that moves
only between steps, so however often a store reads it within a step, the times agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from attrs import define, evolve, field
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from genesis_flow.adapters.memory import InMemoryTrackingStore
from genesis_flow.core.entities import (
    Experiment,
    ExperimentTag,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import Clock, TrackingStore
from genesis_flow.testing.backend import Backend
from genesis_flow.testing.support import SteppedClock, outcome
from genesis_flow.testing.tracking_helpers import all_pages, artifact_root, hypothesis_settings

NAN, INF = float("nan"), float("inf")

EXPERIMENT_NAMES = st.sampled_from(["e1", "e2", "e3", "E1", "Default", ""])
RUN_NAMES = st.sampled_from([None, "", "r1", "r2", "R3"])
METRIC_KEYS = ["m1", "m2"]
metric_keys = st.sampled_from([*METRIC_KEYS, "bad/../key"])
# No 0.0: NaN compares as 0 in the latest-value rule, and that tie is not what this checks.
metric_values = st.sampled_from([0.5, 1.5, -1.0, NAN, INF, -INF])
param_keys = st.sampled_from(["p1", "p2", "$bad"])
param_values = st.sampled_from(["a", "b"])
tag_keys = st.sampled_from(["t1", "t2", "mlflow.runName", "a//b"])
tag_values = st.sampled_from(["x", "xy", "y"])
metrics = st.builds(
    Metric, key=metric_keys, value=metric_values, timestamp=st.integers(0, 3), step=st.integers(0, 2)
)

pytestmark = pytest.mark.genesis_requires("tracking")
params = st.builds(Param, key=param_keys, value=param_values)
run_tags = st.builds(RunTag, key=tag_keys, value=tag_values)

RUN_FILTERS = [
    "",
    "metrics.m1 > 0",
    "metrics.m1 != 1.5",
    "metrics.m2 <= -1",
    "params.p1 = 'a'",
    "params.p1 != 'b'",
    "params.p2 IS NULL",
    "tags.t1 LIKE 'x%'",
    "tags.t2 IS NOT NULL",
    "status = 'FINISHED'",
    "run_name ILIKE 'r%'",
    "attributes.end_time > 0",
    "metrics.m1 > 0 AND params.p1 = 'a'",
]
RUN_ORDERS = [
    (),
    ("metrics.m1 DESC",),
    ("metrics.m2",),
    ("params.p1",),
    ("tags.t1 DESC", "metrics.m2"),
    ("end_time",),
    ("run_name DESC",),
    ("status", "start_time ASC"),
]
EXPERIMENT_FILTERS = ["", "name LIKE 'e%'", "name ILIKE 'E%'", "tags.k = 'v1'", "tags.k IS NULL"]
EXPERIMENT_ORDERS = [(), ("name",), ("name DESC",), ("creation_time ASC",), ("last_update_time DESC",)]
VIEWS = st.sampled_from(list(ViewType))


@define
class Side:
    """One store with the map from the model's ids to this store's ids (and back)."""

    store: TrackingStore
    root: str
    experiments: dict[str, str] = field(factory=lambda: {"0": "0"})
    runs: dict[str, str] = field(factory=dict)
    experiments_back: dict[str, str] = field(factory=lambda: {"0": "0"})
    runs_back: dict[str, str] = field(factory=dict)

    def link_experiment(self, model_id: str, own_id: str) -> None:
        self.experiments[model_id] = own_id
        self.experiments_back[own_id] = model_id

    def link_run(self, model_id: str, own_id: str) -> None:
        self.runs[model_id] = own_id
        self.runs_back[own_id] = model_id

    # Everything below turns this store's answers into the model's id space.

    def experiment(self, e: Experiment) -> tuple[Any, ...]:
        default = e.artifact_location == f"{self.root}/{e.experiment_id}"
        return (
            self.experiments_back[e.experiment_id],
            e.name,
            e.lifecycle_stage,
            e.creation_time,
            e.last_update_time,
            e.tags,
            "<default>" if default else e.artifact_location,
        )

    def info(self, info: RunInfo) -> RunInfo:
        location = self.store.get_experiment(info.experiment_id).artifact_location
        default = info.artifact_uri == f"{location}/{info.run_id}/artifacts"
        return evolve(
            info,
            run_id=self.runs_back[info.run_id],
            experiment_id=self.experiments_back[info.experiment_id],
            artifact_uri="<default>" if default else info.artifact_uri,
        )

    def run(self, run: Run) -> tuple[Any, ...]:
        return (self.info(run.info), _points(run.data.metrics), run.data.params, run.data.tags, run.inputs)


def _points(items: Sequence[Metric]) -> list[tuple[Any, ...]]:
    return [(m.key, "nan" if math.isnan(m.value) else m.value, m.timestamp, m.step) for m in items]


class TrackingAgreesWithMemoryModel(RuleBasedStateMachine):
    """Subclassed per backend with ``make_store`` set (see the test at the bottom)."""

    make_store: Callable[[Clock], TrackingStore]

    experiments = Bundle("experiments")
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.clock = SteppedClock()
        model = InMemoryTrackingStore(clock=self.clock, artifact_root="model-root")
        real = type(self).make_store(self.clock)
        self.model = Side(model, artifact_root(model))
        self.real = Side(real, artifact_root(real))

    def _step(self) -> None:
        self.clock.now += 1000

    def _same(self, op: Callable[[Side], Any]) -> tuple[str, Any]:
        """Run ``op`` on both sides (it maps ids itself) and require the same outcome."""
        self._step()
        expected = outcome(op, self.model)
        actual = outcome(op, self.real)
        assert actual == expected
        return expected

    # --- experiments ------------------------------------------------------------------------------

    @initialize(target=experiments)
    def default_experiment(self) -> str:
        return "0"

    @rule(target=experiments, name=EXPERIMENT_NAMES)
    def create_experiment(self, name: str) -> Any:
        self._step()
        expected = outcome(self.model.store.create_experiment, name)
        actual = outcome(self.real.store.create_experiment, name)
        assert actual[0] == expected[0], (expected, actual)
        if expected[0] == "error":
            assert actual == expected
            return multiple()
        self.model.link_experiment(expected[1], expected[1])
        self.real.link_experiment(expected[1], actual[1])
        return expected[1]

    @rule(experiment=experiments, name=EXPERIMENT_NAMES)
    def rename_experiment(self, experiment: str, name: str) -> None:
        self._same(lambda s: s.store.rename_experiment(s.experiments[experiment], name))

    @rule(experiment=experiments)
    def delete_experiment(self, experiment: str) -> None:
        self._same(lambda s: s.store.delete_experiment(s.experiments[experiment]))

    @rule(experiment=experiments)
    def restore_experiment(self, experiment: str) -> None:
        self._same(lambda s: s.store.restore_experiment(s.experiments[experiment]))

    @rule(experiment=experiments, value=st.sampled_from(["v1", "v2"]))
    def set_experiment_tag(self, experiment: str, value: str) -> None:
        self._same(lambda s: s.store.set_experiment_tag(s.experiments[experiment], ExperimentTag("k", value)))

    @rule(experiment=experiments)
    def delete_experiment_tag(self, experiment: str) -> None:
        self._same(lambda s: s.store.delete_experiment_tag(s.experiments[experiment], "k"))

    # --- runs -------------------------------------------------------------------------------------

    @initialize(target=runs, name=RUN_NAMES)
    def first_run(self, name: str | None) -> Any:
        # Every example gets a run to work on (swarm testing may switch create_run off).
        return self.create_run("0", name, [])

    @rule(target=runs, experiment=experiments, name=RUN_NAMES, tags=st.lists(run_tags, max_size=2))
    def create_run(self, experiment: str, name: str | None, tags: list[RunTag]) -> Any:
        self._step()
        start = self.clock.now  # distinct per run, so the default order never ties

        def create(side: Side) -> Run:
            return side.store.create_run(
                side.experiments[experiment], "user", start, tags=tags, run_name=name
            )

        expected = outcome(create, self.model)
        actual = outcome(create, self.real)
        assert actual[0] == expected[0], (expected, actual)
        if expected[0] == "error":
            assert actual == expected
            return multiple()
        model_id = expected[1].info.run_id
        self.model.link_run(model_id, model_id)
        self.real.link_run(model_id, actual[1].info.run_id)
        assert self.real.run(actual[1]) == self.model.run(expected[1])
        return model_id

    @rule(run=runs)
    def delete_run(self, run: str) -> None:
        self._same(lambda s: s.store.delete_run(s.runs[run]))

    @rule(run=runs)
    def restore_run(self, run: str) -> None:
        self._same(lambda s: s.store.restore_run(s.runs[run]))

    @rule(
        run=runs,
        status=st.none() | st.sampled_from(list(RunStatus)),
        end_time=st.none() | st.integers(0, 10),
        name=RUN_NAMES,
    )
    def update_run_info(
        self, run: str, status: RunStatus | None, end_time: int | None, name: str | None
    ) -> None:
        self._same(lambda s: s.info(s.store.update_run_info(s.runs[run], status, end_time, name)))

    @rule(run=runs, param=params)
    def log_param(self, run: str, param: Param) -> None:
        self._same(lambda s: s.store.log_param(s.runs[run], param))

    @rule(run=runs, point=metrics)
    def log_metric(self, run: str, point: Metric) -> None:
        self._same(lambda s: s.store.log_metric(s.runs[run], point))

    @rule(run=runs, tag=run_tags)
    def set_tag(self, run: str, tag: RunTag) -> None:
        self._same(lambda s: s.store.set_tag(s.runs[run], tag))

    @rule(run=runs, key=tag_keys)
    def delete_tag(self, run: str, key: str) -> None:
        self._same(lambda s: s.store.delete_tag(s.runs[run], key))

    @rule(
        run=runs,
        points=st.lists(metrics, max_size=4),
        batch_params=st.lists(params, max_size=3),
        tags=st.lists(run_tags, max_size=3),
    )
    def log_batch(
        self, run: str, points: list[Metric], batch_params: list[Param], tags: list[RunTag]
    ) -> None:
        self._same(lambda s: s.store.log_batch(s.runs[run], metrics=points, params=batch_params, tags=tags))

    @rule(run=runs, key=metric_keys, page_size=st.none() | st.integers(1, 3))
    def get_metric_history(self, run: str, key: str, page_size: int | None) -> None:
        def pages(side: Side) -> list[tuple[Any, ...]]:
            return _points(
                all_pages(lambda t: side.store.get_metric_history(side.runs[run], key, page_size, t))
            )

        self._same(pages)

    # --- searches ---------------------------------------------------------------------------------

    @rule(data=st.data())
    def search_runs(self, data: st.DataObject) -> None:
        chosen = data.draw(st.lists(st.sampled_from(sorted(self.model.experiments)), max_size=3, unique=True))
        flt = parse_filter(SearchKind.RUNS, data.draw(st.sampled_from(RUN_FILTERS)))
        order = parse_order_by(SearchKind.RUNS, list(data.draw(st.sampled_from(RUN_ORDERS))))
        view = data.draw(VIEWS)
        page_size = data.draw(st.integers(1, 4))

        def search(side: Side) -> tuple[list[str], list[str]]:
            ids = [side.experiments[e] for e in chosen]

            def page(size: int | None, token: str | None) -> Any:
                return side.store.search_runs(ids, flt, view, size, order, token)

            whole = [side.runs_back[r.info.run_id] for r in page(None, None)]
            paged = [side.runs_back[r.info.run_id] for r in all_pages(lambda t: page(page_size, t))]
            return whole, paged

        status, answer = self._same(search)
        if status == "ok":
            whole, paged = answer
            assert paged == whole

    @rule(data=st.data())
    def search_experiments(self, data: st.DataObject) -> None:
        flt = parse_filter(SearchKind.EXPERIMENTS, data.draw(st.sampled_from(EXPERIMENT_FILTERS)))
        order = parse_order_by(SearchKind.EXPERIMENTS, list(data.draw(st.sampled_from(EXPERIMENT_ORDERS))))
        view = data.draw(VIEWS)
        page_size = data.draw(st.integers(1, 3))

        def search(side: Side) -> tuple[list[str], list[str]]:
            def page(size: int | None, token: str | None) -> Any:
                return side.store.search_experiments(view, size, flt, order, token)

            whole = [side.experiments_back[e.experiment_id] for e in page(None, None)]
            paged = [side.experiments_back[e.experiment_id] for e in all_pages(lambda t: page(page_size, t))]
            return whole, paged

        status, answer = self._same(search)
        if status == "ok":
            whole, paged = answer
            assert paged == whole

    # --- the visible state ------------------------------------------------------------------------

    @invariant()
    def same_visible_state(self) -> None:
        assert self._snapshot(self.real) == self._snapshot(self.model)

    def _snapshot(self, side: Side) -> dict[str, Any]:
        store = side.store
        experiments = [side.experiment(e) for e in store.search_experiments(ViewType.ALL, max_results=50000)]
        experiment_ids = [side.experiments[e] for e in sorted(self.model.experiments)]
        found = all_pages(
            lambda t: store.search_runs(experiment_ids, run_view_type=ViewType.ALL, page_token=t)
        )
        histories = {
            model_id: {
                key: sorted(map(repr, _points(store.get_metric_history(own_id, key).items)))
                for key in METRIC_KEYS
            }
            for model_id, own_id in side.runs.items()
        }
        return {"experiments": experiments, "runs": [side.run(r) for r in found], "histories": histories}


def test_tracking_store_agrees_with_memory_model(backend: Backend) -> None:
    class Machine(TrackingAgreesWithMemoryModel):
        make_store = staticmethod(backend.make_tracking)

    run_state_machine_as_test(Machine, settings=hypothesis_settings())


def _machine_on(make_store: Callable[[Clock], TrackingStore]) -> type[TrackingAgreesWithMemoryModel]:
    class Machine(TrackingAgreesWithMemoryModel):
        pass

    Machine.make_store = staticmethod(make_store)
    return Machine


def test_two_memory_stores_always_agree() -> None:
    """The machine is sound: it runs without any backend server and never flags a correct store."""
    machine = _machine_on(lambda clock: InMemoryTrackingStore(clock=clock, artifact_root="other-root"))
    run_state_machine_as_test(machine, settings=hypothesis_settings(database=None))


class _ForgetsTagDeletes(InMemoryTrackingStore):
    def delete_tag(self, run_id: str, key: str) -> None:
        self.get_run(run_id)


class _IgnoresNaN(InMemoryTrackingStore):
    def log_metric(self, run_id: str, metric: Metric) -> None:
        if not math.isnan(metric.value):
            super().log_metric(run_id, metric)


class _KeepsDeletedExperimentsRunsActive(InMemoryTrackingStore):
    def delete_experiment(self, experiment_id: str) -> None:
        doomed = self.search_runs([experiment_id])
        super().delete_experiment(experiment_id)
        for run in doomed:
            self.restore_run(run.info.run_id)


@pytest.mark.parametrize("broken", [_ForgetsTagDeletes, _IgnoresNaN, _KeepsDeletedExperimentsRunsActive])
def test_machine_catches_a_store_that_disagrees(broken: type[InMemoryTrackingStore]) -> None:
    machine = _machine_on(lambda clock: broken(clock=clock, artifact_root="other-root"))
    # No shrinking: the point is that a difference is found, not the smallest example of it.
    settings = hypothesis_settings(
        database=None,
        derandomize=True,
        max_examples=300,
        stateful_step_count=40,
        report_multiple_bugs=False,
        phases=[Phase.generate],
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=settings)
