"""search_runs: every filter kind, view types, order keys (NaN and missing values), paging.

The world below is MLflow's own observation fixture: five runs whose answers were recorded on
mlflow 3.17.2's SQL store (start times 1000, 2000, 3000, 3000, 5000; ``acc`` 0.9, 0.5, NaN,
missing, 0.7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genesis_flow.core.entities import LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import (
    all_pages,
    dataset,
    dataset_input,
    hypothesis_settings,
    new_run,
    run_ids,
    runs,
    tampered,
)

NAN = float("nan")

# name: (start_time, user, metrics, params, tags)
SPECS: dict[str, tuple[int, str, dict[str, float], dict[str, str], dict[str, str]]] = {
    "r1": (
        1000,
        "alice",
        {"acc": 0.9, "loss": 0.1},
        {"lr": "0.1", "opt": "Adam"},
        {"team": "a", "env": "Prod"},
    ),
    "r2": (2000, "bob", {"acc": 0.5}, {"lr": "0.01"}, {"team": "b"}),
    "r3": (3000, "alice", {"acc": NAN, "loss": 0.3}, {"lr": "1e-3", "opt": "sgd"}, {"team": "a"}),
    "r4": (3000, "carol", {}, {}, {}),
    "R5": (5000, "bob", {"acc": 0.7}, {"lr": "0.1"}, {"team": "c"}),
}


class World:
    """The five runs in one experiment; ``ids`` maps run name to run id."""

    def __init__(self, tracking: TrackingStore) -> None:
        self.tracking = tracking
        self.experiment_id = tracking.create_experiment("search")
        self.ids: dict[str, str] = {}
        for name, (start, user, metrics, params, tags) in SPECS.items():
            run_id = new_run(tracking, self.experiment_id, start_time=start, name=name, user_id=user)
            self.ids[name] = run_id
            tracking.log_batch(
                run_id,
                metrics=[Metric(k, val, 10, 0) for k, val in metrics.items()],
                params=[Param(k, val) for k, val in params.items()],
                tags=[RunTag(k, val) for k, val in tags.items()],
            )
        tracking.update_run_info(self.ids["r2"], RunStatus.FINISHED, end_time=2500)
        tracking.update_run_info(self.ids["r3"], RunStatus.FAILED, end_time=3500)
        tracking.log_inputs(self.ids["r1"], datasets=[dataset_input(dataset("train", "d1"), "training")])
        tracking.log_inputs(self.ids["r2"], datasets=[dataset_input(dataset("eval", "d2"), "eval")])
        self.names = {run_id: name for name, run_id in self.ids.items()}

    def search(self, flt: str = "", order: tuple[str, ...] = (), **kwargs: object) -> list[str]:
        page = runs(self.tracking, [self.experiment_id], flt, order, **kwargs)  # type: ignore[arg-type]
        return [self.names[r] for r in run_ids(page)]

    def default_order(self, *names: str) -> list[str]:
        """The given runs in the default order: start_time DESC, then run id ASC."""
        return sorted(names, key=lambda n: (-SPECS[n][0], self.ids[n]))

    def tie(self, *names: str) -> list[str]:
        """Runs that tie on every order key: broken by run id ASC."""
        return sorted(names, key=lambda n: self.ids[n])


@pytest.fixture
def world(tracking: TrackingStore) -> World:
    return World(tracking)


# --- filters -------------------------------------------------------------------------------------------

FILTERS: dict[str, set[str]] = {
    "": {"r1", "r2", "r3", "r4", "R5"},
    # metrics: the latest value; NaN matches only !=; runs without the metric never match
    "metrics.acc = 0.7": {"R5"},
    "metrics.acc != 0.7": {"r1", "r2", "r3"},
    "metrics.acc < 0.7": {"r2"},
    "metrics.acc <= 0.7": {"r2", "R5"},
    "metrics.acc > 0.7": {"r1"},
    "metrics.acc >= 0.7": {"r1", "R5"},
    "metrics.acc = 0": set(),
    "metrics.acc > -1": {"r1", "r2", "R5"},
    "metrics.acc < 1e9": {"r1", "r2", "R5"},
    "metrics.loss < 1": {"r1", "r3"},
    "metrics.nope > 0": set(),
    "metrics.nope != 0": set(),
    # params
    "params.lr = '0.1'": {"r1", "R5"},
    "params.lr != '0.1'": {"r2", "r3"},
    "params.opt LIKE 'A%'": {"r1"},
    "params.opt LIKE 'a%'": set(),
    "params.opt ILIKE 'a%'": {"r1"},
    "params.opt LIKE '%d%'": {"r1", "r3"},
    "params.opt LIKE '_dam'": {"r1"},
    "params.opt LIKE '%'": {"r1", "r3"},
    "params.opt IS NULL": {"r2", "r4", "R5"},
    "params.opt IS NOT NULL": {"r1", "r3"},
    "params.nope = 'x'": set(),
    # tags
    "tags.team = 'a'": {"r1", "r3"},
    "tags.team != 'a'": {"r2", "R5"},
    "tags.env ILIKE 'prod'": {"r1"},
    "tags.env LIKE 'prod'": set(),
    "tags.env IS NULL": {"r2", "r3", "r4", "R5"},
    "tags.env IS NOT NULL": {"r1"},
    "tags.`mlflow.runName` = 'r1'": {"r1"},
    # attributes
    "attributes.run_name = 'r1'": {"r1"},
    "run_name != 'r1'": {"r2", "r3", "r4", "R5"},
    "run_name LIKE 'r%'": {"r1", "r2", "r3", "r4"},
    "run_name ILIKE 'r%'": {"r1", "r2", "r3", "r4", "R5"},
    "status = 'FINISHED'": {"r2"},
    "status != 'RUNNING'": {"r2", "r3"},
    "status LIKE 'F%'": {"r2", "r3"},
    "status ILIKE 'f%'": {"r2", "r3"},
    "user_id = 'bob'": {"r2", "R5"},
    "user_id != 'bob'": {"r1", "r3", "r4"},
    "user_id LIKE 'a%'": {"r1", "r3"},
    "start_time > 2000": {"r3", "r4", "R5"},
    "start_time >= 3000": {"r3", "r4", "R5"},
    "start_time = 3000": {"r3", "r4"},
    "start_time != 3000": {"r1", "r2", "R5"},
    "start_time < 2000": {"r1"},
    "start_time <= 2000": {"r1", "r2"},
    "start_time = 1e3": {"r1"},
    "created > 4000": {"R5"},
    "end_time > 0": {"r2", "r3"},
    "end_time = 2500": {"r2"},
    "end_time != 2500": {"r3"},
    # datasets: != and NOT IN match only runs having some other dataset
    "datasets.name = 'train'": {"r1"},
    "datasets.name != 'train'": {"r2"},
    "datasets.digest = 'd2'": {"r2"},
    "datasets.context = 'eval'": {"r2"},
    "datasets.context LIKE 'train%'": {"r1"},
    "datasets.name ILIKE 'TR%'": {"r1"},
    "datasets.name IN ('train', 'eval')": {"r1", "r2"},
    "datasets.name NOT IN ('train')": {"r2"},
    # conjunctions
    "metrics.acc > 0.6 AND params.lr = '0.1'": {"r1", "R5"},
    "params.lr = '0.1' AND params.lr = '0.01'": set(),
    "tags.team = 'a' and metrics.acc > 0": {"r1"},
    "status = 'RUNNING' AND user_id = 'bob' AND params.lr = '0.1'": {"R5"},
}


@pytest.mark.parametrize("flt", list(FILTERS))
def test_search_runs_filter_matches_mlflow(world: World, flt: str) -> None:
    assert world.search(flt) == world.default_order(*FILTERS[flt])


@pytest.mark.parametrize("name", list(SPECS))
def test_search_runs_by_run_id(world: World, name: str) -> None:
    assert world.search(f"attributes.run_id = '{world.ids[name]}'") == [name]


def test_search_runs_by_run_id_in_and_not_in(world: World) -> None:
    listed = f"('{world.ids['r1']}', '{world.ids['r2']}')"
    assert world.search(f"run_id IN {listed}") == world.default_order("r1", "r2")
    assert world.search(f"run_id NOT IN {listed}") == world.default_order("r3", "r4", "R5")


def test_search_runs_by_run_id_not_equal(world: World) -> None:
    assert world.search(f"run_id != '{world.ids['r1']}'") == world.default_order("r2", "r3", "r4", "R5")


def test_search_runs_by_artifact_uri(world: World) -> None:
    uri = world.tracking.get_run(world.ids["r2"]).info.artifact_uri
    assert world.search(f"artifact_uri = '{uri}'") == ["r2"]
    assert world.search(f"artifact_uri LIKE '%{world.ids['r3']}%'") == ["r3"]


def test_search_runs_returns_whole_runs(world: World) -> None:
    for run in runs(world.tracking, [world.experiment_id]):
        assert run == world.tracking.get_run(run.info.run_id)


def test_search_runs_filters_on_latest_metric_value_only(world: World) -> None:
    run_id = world.ids["r4"]
    world.tracking.log_metric(run_id, Metric("late", 100.0, 1, 0))
    world.tracking.log_metric(run_id, Metric("late", 1.0, 2, 1))
    assert world.search("metrics.late > 50") == []
    assert world.search("metrics.late < 50") == ["r4"]


def test_search_runs_sees_renamed_run(world: World) -> None:
    world.tracking.update_run_info(world.ids["r4"], run_name="renamed")
    assert world.search("run_name = 'renamed'") == ["r4"]
    assert world.search("run_name = 'r4'") == []


# --- experiments and view types ------------------------------------------------------------------------


def test_search_runs_view_types(world: World) -> None:
    world.tracking.delete_run(world.ids["r2"])
    assert world.search(view=ViewType.ACTIVE_ONLY) == world.default_order("r1", "r3", "r4", "R5")
    assert world.search(view=ViewType.DELETED_ONLY) == ["r2"]
    assert world.search(view=ViewType.ALL) == world.default_order(*SPECS)


def test_search_runs_of_deleted_experiment_sees_deleted_runs_only(world: World) -> None:
    world.tracking.delete_experiment(world.experiment_id)
    assert world.search() == []
    assert world.search(view=ViewType.DELETED_ONLY) == world.default_order(*SPECS)


def test_search_runs_restored_run_is_active_again(world: World) -> None:
    world.tracking.delete_run(world.ids["r1"])
    world.tracking.restore_run(world.ids["r1"])
    assert world.search(view=ViewType.DELETED_ONLY) == []
    assert "r1" in world.search()


def test_search_runs_spans_several_experiments(world: World) -> None:
    other = world.tracking.create_experiment("other")
    extra = new_run(world.tracking, other, start_time=4000)
    found = run_ids(runs(world.tracking, [world.experiment_id, other]))
    expected = [world.ids[n] for n in world.default_order("R5")] + [extra]
    expected += [world.ids[n] for n in world.default_order("r1", "r2", "r3", "r4")]
    assert found == expected


def test_search_runs_only_sees_the_given_experiments(world: World) -> None:
    other = world.tracking.create_experiment("other")
    extra = new_run(world.tracking, other)
    assert run_ids(runs(world.tracking, [other])) == [extra]
    assert extra not in run_ids(runs(world.tracking, [world.experiment_id]))


@pytest.mark.parametrize("experiment_ids", [["999"], [], ["998", "999"]])
def test_search_runs_of_unknown_experiments_finds_nothing(
    tracking: TrackingStore, experiment_ids: list[str]
) -> None:
    new_run(tracking, "0")
    page = runs(tracking, experiment_ids)
    assert page.items == ()
    assert page.next_page_token is None


def test_search_runs_ignores_unknown_ids_among_known(world: World) -> None:
    assert len(runs(world.tracking, [world.experiment_id, "999"]).items) == len(SPECS)


# --- order ---------------------------------------------------------------------------------------------


def test_search_runs_default_order_is_start_time_desc_then_run_id(world: World) -> None:
    assert world.search() == ["R5", *world.tie("r3", "r4"), "r2", "r1"]


ORDERS: dict[tuple[str, ...], list[str | tuple[str, ...]]] = {
    # NaN after every number and missing values last, in both directions
    ("metrics.acc ASC",): ["r2", "R5", "r1", "r3", "r4"],
    ("metrics.acc",): ["r2", "R5", "r1", "r3", "r4"],
    ("metrics.acc DESC",): ["r1", "R5", "r2", "r3", "r4"],
    ("metrics.loss DESC",): ["r3", "r1", "R5", "r4", "r2"],
    ("metrics.loss ASC",): ["r1", "r3", "R5", "r4", "r2"],
    # strings compare as strings; ties fall back to start_time DESC
    ("params.lr ASC",): ["r2", "R5", "r1", "r3", "r4"],
    ("params.lr DESC",): ["r3", "R5", "r1", "r2", "r4"],
    ("tags.team",): ["r3", "r1", "r2", "R5", "r4"],
    ("tags.team DESC",): ["R5", "r2", "r3", "r1", "r4"],
    ("tags.team", "metrics.acc DESC"): ["r1", "r3", "r2", "R5", "r4"],
    ("params.opt DESC", "user_id"): ["r3", "r1", "R5", "r2", "r4"],
    # attributes
    ("start_time ASC",): ["r1", "r2", ("r3", "r4"), "R5"],
    ("start_time DESC",): ["R5", ("r3", "r4"), "r2", "r1"],
    ("end_time ASC",): ["r2", "r3", "R5", "r4", "r1"],
    ("end_time DESC",): ["r3", "r2", "R5", "r4", "r1"],
    ("run_name ASC",): ["R5", "r1", "r2", "r3", "r4"],
    ("run_name DESC",): ["r4", "r3", "r2", "r1", "R5"],
    ("status",): ["r3", "r2", "R5", "r4", "r1"],
    ("user_id DESC",): ["r4", "R5", "r2", "r3", "r1"],
    ("attributes.user_id ASC", "start_time ASC"): ["r1", "r3", "r2", "R5", "r4"],
}


def _expand(world: World, expected: list[str | tuple[str, ...]]) -> list[str]:
    out: list[str] = []
    for item in expected:
        out.extend(world.tie(*item) if isinstance(item, tuple) else [item])
    return out


@pytest.mark.parametrize("order", list(ORDERS), ids=lambda o: ", ".join(o))
def test_search_runs_order_matches_mlflow(world: World, order: tuple[str, ...]) -> None:
    assert world.search("", order) == _expand(world, ORDERS[order])


def test_search_runs_order_by_run_id(world: World) -> None:
    ids = sorted(world.ids.values())
    assert world.search("", ("run_id ASC",)) == [world.names[i] for i in ids]
    assert world.search("", ("run_id DESC",)) == [world.names[i] for i in reversed(ids)]


def test_search_runs_order_with_filter(world: World) -> None:
    assert world.search("params.lr != '0.01'", ("metrics.acc DESC",)) == ["r1", "R5", "r3"]


def test_search_runs_order_by_metric_puts_infinities_at_the_ends(world: World) -> None:
    world.tracking.log_metric(world.ids["r4"], Metric("acc", float("inf"), 10, 0))
    assert world.search("", ("metrics.acc DESC",)) == ["r4", "r1", "R5", "r2", "r3"]
    world.tracking.log_metric(world.ids["r4"], Metric("acc", float("-inf"), 11, 1))
    assert world.search("", ("metrics.acc ASC",)) == ["r4", "r2", "R5", "r1", "r3"]


# --- paging --------------------------------------------------------------------------------------------

PAGED_QUERIES: list[tuple[str, tuple[str, ...]]] = [
    ("", ()),
    ("", ("metrics.acc DESC",)),
    ("", ("params.lr ASC", "metrics.acc DESC")),
    ("metrics.acc != 0.7", ("start_time ASC",)),
    ("tags.team != 'c'", ("end_time DESC",)),
    ("", ("tags.team",)),
]


@hypothesis_settings()
@given(query=st.sampled_from(PAGED_QUERIES), page_size=st.integers(1, 7))
def test_search_runs_pages_concatenate_to_the_unpaged_answer(
    world: World, query: tuple[str, tuple[str, ...]], page_size: int
) -> None:
    flt, order = query
    full = world.search(flt, order)
    paged = all_pages(
        lambda token: runs(
            world.tracking, [world.experiment_id], flt, order, max_results=page_size, page_token=token
        )
    )
    assert [world.names[r.info.run_id] for r in paged] == full


def test_search_runs_last_page_has_no_token(world: World) -> None:
    first = runs(world.tracking, [world.experiment_id], max_results=3)
    assert len(first.items) == 3
    assert first.next_page_token is not None
    second = runs(world.tracking, [world.experiment_id], max_results=3, page_token=first.next_page_token)
    assert len(second.items) == 2
    assert second.next_page_token is None


def test_search_runs_exact_fit_page_has_no_token(world: World) -> None:
    page = runs(world.tracking, [world.experiment_id], max_results=len(SPECS))
    assert len(page.items) == len(SPECS)
    assert page.next_page_token is None


@pytest.mark.parametrize("max_results", [0, -1, 50001])
def test_search_runs_max_results_out_of_range_is_rejected(tracking: TrackingStore, max_results: int) -> None:
    with pytest.raises(InvalidParameterValue):
        runs(tracking, ["0"], max_results=max_results)


def test_search_runs_max_results_50000_is_accepted(world: World) -> None:
    assert len(runs(world.tracking, [world.experiment_id], max_results=50000).items) == len(SPECS)


@pytest.mark.slow
def test_search_runs_max_results_defaults_to_1000(tracking: TrackingStore) -> None:
    for i in range(1001):
        new_run(tracking, "0", start_time=i)
    page = runs(tracking, ["0"])
    assert len(page.items) == 1000
    assert page.next_page_token is not None
    rest = runs(tracking, ["0"], page_token=page.next_page_token)
    assert len(rest.items) == 1
    assert rest.items[0].info.start_time == 0


def _first_token(world: World) -> str:
    token = runs(
        world.tracking, [world.experiment_id], "", ("metrics.acc DESC",), max_results=2
    ).next_page_token
    assert token is not None
    return token


def test_search_runs_tampered_token_is_rejected(world: World) -> None:
    for bad in tampered(_first_token(world)):
        with pytest.raises(InvalidParameterValue):
            runs(
                world.tracking,
                [world.experiment_id],
                "",
                ("metrics.acc DESC",),
                max_results=2,
                page_token=bad,
            )


class Query(TypedDict, total=False):
    """The query a page token belongs to, as ``runs()`` takes it."""

    flt: str
    order: Sequence[str]
    view: ViewType


REPLAYS: dict[str, Query] = {
    "other filter": {"flt": "metrics.acc > 0"},
    "other order": {"order": ("metrics.acc ASC",)},
    "other view type": {"view": ViewType.ALL},
}


@pytest.mark.parametrize("change", list(REPLAYS))
def test_search_runs_token_replayed_with_another_query_is_rejected(world: World, change: str) -> None:
    query: Query = {"flt": "", "order": ("metrics.acc DESC",), "view": ViewType.ACTIVE_ONLY}
    query.update(REPLAYS[change])
    with pytest.raises(InvalidParameterValue):
        runs(world.tracking, [world.experiment_id], max_results=2, page_token=_first_token(world), **query)


def test_search_runs_token_replayed_on_other_experiments_is_rejected(world: World) -> None:
    with pytest.raises(InvalidParameterValue):
        runs(world.tracking, ["0"], "", ("metrics.acc DESC",), max_results=2, page_token=_first_token(world))


def test_search_runs_token_with_other_page_size_is_accepted(world: World) -> None:
    # The token carries a position in one query's answer; the page size may change between pages.
    token = _first_token(world)
    rest = runs(
        world.tracking, [world.experiment_id], "", ("metrics.acc DESC",), max_results=10, page_token=token
    )
    assert [world.names[r] for r in run_ids(rest)] == ["r2", "r3", "r4"]


def test_search_runs_result_shows_lifecycle(world: World) -> None:
    world.tracking.delete_run(world.ids["r1"])
    (deleted,) = runs(world.tracking, [world.experiment_id], view=ViewType.DELETED_ONLY)
    assert deleted.info.lifecycle_stage is LifecycleStage.DELETED
