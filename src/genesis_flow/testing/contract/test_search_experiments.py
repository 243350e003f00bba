"""search_experiments: view types, filters, order (with MLflow's tie-breakers) and paging."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from genesis_flow.core.entities import Experiment, ExperimentTag, LifecycleStage, ViewType
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.support import TickingClock
from genesis_flow.testing.tracking_helpers import all_pages, experiments, names, tampered


class Catalogue:
    """Experiments created in this order (so creation times increase): Default, then these."""

    NAMES = ("alpha", "Beta", "gamma", "delta_x", "Epsilon")
    TAGS = {"alpha": {"team": "a", "env": "Prod"}, "Beta": {"team": "b"}, "gamma": {"team": "a"}}

    def __init__(self, tracking: TrackingStore) -> None:
        self.tracking = tracking
        self.ids = {"Default": "0"}
        for name in self.NAMES:
            tags = [ExperimentTag(k, val) for k, val in self.TAGS.get(name, {}).items()]
            self.ids[name] = tracking.create_experiment(name, tags=tags)
        self.created = {n: tracking.get_experiment(i).creation_time for n, i in self.ids.items()}

    def search(self, flt: str = "", order: tuple[str, ...] = (), **kwargs: object) -> list[str]:
        return names(experiments(self.tracking, flt, order, **kwargs))  # type: ignore[arg-type]

    def newest_first(self, *wanted: str) -> list[str]:
        return sorted(wanted, key=lambda n: -(self.created[n] or 0))


@pytest.fixture
def catalogue(tracking: TrackingStore) -> Catalogue:
    return Catalogue(tracking)


ALL = ("Default", *Catalogue.NAMES)


# --- view types ----------------------------------------------------------------------------------------


def test_search_experiments_default_is_active_newest_first(catalogue: Catalogue) -> None:
    assert catalogue.search() == ["Epsilon", "delta_x", "gamma", "Beta", "alpha", "Default"]


def test_fresh_store_search_finds_only_default(tracking: TrackingStore) -> None:
    found = experiments(tracking)
    assert [e.experiment_id for e in found] == ["0"]
    assert found.next_page_token is None


def test_search_experiments_view_types(catalogue: Catalogue) -> None:
    catalogue.tracking.delete_experiment(catalogue.ids["gamma"])
    active = catalogue.search(view=ViewType.ACTIVE_ONLY)
    assert "gamma" not in active
    assert len(active) == len(ALL) - 1
    deleted = experiments(catalogue.tracking, view=ViewType.DELETED_ONLY)
    assert names(deleted) == ["gamma"]
    assert deleted.items[0].lifecycle_stage is LifecycleStage.DELETED
    assert sorted(catalogue.search(view=ViewType.ALL)) == sorted(ALL)


def test_search_experiments_returns_whole_experiments(catalogue: Catalogue) -> None:
    for experiment in experiments(catalogue.tracking):
        assert experiment == catalogue.tracking.get_experiment(experiment.experiment_id)


def test_search_experiments_sees_restored_experiment(catalogue: Catalogue) -> None:
    catalogue.tracking.delete_experiment(catalogue.ids["gamma"])
    catalogue.tracking.restore_experiment(catalogue.ids["gamma"])
    assert "gamma" in catalogue.search()
    assert catalogue.search(view=ViewType.DELETED_ONLY) == []


# --- filters -------------------------------------------------------------------------------------------

FILTERS: dict[str, set[str]] = {
    "name = 'alpha'": {"alpha"},
    "attribute.name = 'alpha'": {"alpha"},
    "name != 'alpha'": set(ALL) - {"alpha"},
    "name LIKE 'a%'": {"alpha"},
    "name LIKE 'A%'": set(),
    "name ILIKE 'a%'": {"alpha"},
    "name ILIKE '%E%'": {"Beta", "Default", "delta_x", "Epsilon"},
    "name LIKE '%_x'": {"delta_x"},
    "name LIKE 'gamm_'": {"gamma"},
    "tags.team = 'a'": {"alpha", "gamma"},
    "tag.team = 'a'": {"alpha", "gamma"},
    "tags.team != 'a'": {"Beta"},
    "tags.team LIKE '%'": {"alpha", "Beta", "gamma"},
    "tags.env ILIKE 'prod'": {"alpha"},
    "tags.env LIKE 'prod'": set(),
    "tags.team IS NULL": {"Default", "delta_x", "Epsilon"},
    "tags.team IS NOT NULL": {"alpha", "Beta", "gamma"},
    "tags.`team` = 'b'": {"Beta"},
    "tags.nope = 'x'": set(),
    "name LIKE '%a%' AND tags.team = 'a'": {"alpha", "gamma"},
    "tags.team = 'a' AND tags.env = 'Prod'": {"alpha"},
    "name = 'alpha' AND name = 'gamma'": set(),
    "experiment_id = '0'": {"Default"},
    "creation_time >= 0": set(ALL),
    "last_update_time > 0": set(ALL),
}


@pytest.mark.parametrize("flt", list(FILTERS))
def test_search_experiments_filter_matches_mlflow(catalogue: Catalogue, flt: str) -> None:
    assert catalogue.search(flt) == catalogue.newest_first(*FILTERS[flt])


@pytest.mark.parametrize("comparator", ["=", "!=", "<", "<=", ">", ">="])
def test_search_experiments_by_creation_time(catalogue: Catalogue, comparator: str) -> None:
    pivot = catalogue.created["gamma"]
    assert pivot is not None
    comparisons: dict[str, Callable[[int], bool]] = {
        "=": lambda t: t == pivot,
        "!=": lambda t: t != pivot,
        "<": lambda t: t < pivot,
        "<=": lambda t: t <= pivot,
        ">": lambda t: t > pivot,
        ">=": lambda t: t >= pivot,
    }
    created = {n: t for n, t in catalogue.created.items() if t is not None}
    assert set(created) == set(ALL), catalogue.created
    expected = [n for n in ALL if comparisons[comparator](created[n])]
    assert catalogue.search(f"creation_time {comparator} {pivot}") == catalogue.newest_first(*expected)


def test_search_experiments_by_last_update_time_sees_renames(catalogue: Catalogue) -> None:
    before = catalogue.tracking.get_experiment(catalogue.ids["Epsilon"]).last_update_time
    catalogue.tracking.rename_experiment(catalogue.ids["alpha"], "alpha2")
    assert catalogue.search(f"last_update_time > {before}") == ["alpha2"]


def test_search_experiments_by_experiment_id_in(catalogue: Catalogue) -> None:
    listed = ", ".join(f"'{catalogue.ids[n]}'" for n in ("alpha", "gamma"))
    assert catalogue.search(f"experiment_id IN ({listed})") == ["gamma", "alpha"]
    assert sorted(catalogue.search(f"experiment_id NOT IN ({listed})")) == sorted(
        set(ALL) - {"alpha", "gamma"}
    )


def test_search_experiments_filter_sees_tag_changes(catalogue: Catalogue) -> None:
    catalogue.tracking.set_experiment_tag(catalogue.ids["Epsilon"], ExperimentTag("team", "a"))
    catalogue.tracking.delete_experiment_tag(catalogue.ids["alpha"], "team")
    assert catalogue.search("tags.team = 'a'") == ["Epsilon", "gamma"]


# --- order ---------------------------------------------------------------------------------------------

ORDERS: dict[tuple[str, ...], list[str]] = {
    # names compare as binary strings: upper case before lower case
    ("name",): ["Beta", "Default", "Epsilon", "alpha", "delta_x", "gamma"],
    ("name ASC",): ["Beta", "Default", "Epsilon", "alpha", "delta_x", "gamma"],
    ("name DESC",): ["gamma", "delta_x", "alpha", "Epsilon", "Default", "Beta"],
    ("creation_time ASC",): ["Default", "alpha", "Beta", "gamma", "delta_x", "Epsilon"],
    ("creation_time DESC",): ["Epsilon", "delta_x", "gamma", "Beta", "alpha", "Default"],
    ("attribute.creation_time",): ["Default", "alpha", "Beta", "gamma", "delta_x", "Epsilon"],
}


@pytest.mark.parametrize("order", list(ORDERS), ids=lambda o: ", ".join(o))
def test_search_experiments_order_matches_mlflow(catalogue: Catalogue, order: tuple[str, ...]) -> None:
    assert catalogue.search("", order) == ORDERS[order]


def test_search_experiments_order_by_last_update_time_puts_renamed_first(catalogue: Catalogue) -> None:
    catalogue.tracking.rename_experiment(catalogue.ids["alpha"], "alpha2")
    assert catalogue.search("", ("last_update_time DESC",))[0] == "alpha2"
    assert catalogue.search("", ("last_update_time ASC",))[-1] == "alpha2"


def test_search_experiments_order_with_filter(catalogue: Catalogue) -> None:
    assert catalogue.search("tags.team IS NOT NULL", ("name DESC",)) == ["gamma", "alpha", "Beta"]


def _twins(tracking: TrackingStore) -> None:
    """Two imported experiments that tie on last_update_time; 101 is the newer one."""
    for experiment_id, created in (("101", 2000), ("102", 1000)):
        tracking.import_experiment(
            Experiment(
                experiment_id=experiment_id,
                name=f"twin-{experiment_id}",
                artifact_location=f"s3://bucket/{experiment_id}",
                creation_time=created,
                last_update_time=5000,
            )
        )


@pytest.mark.genesis_requires("import")
def test_search_experiments_default_order_breaks_ties_by_id_ascending(tracking: TrackingStore) -> None:
    for experiment_id in ("102", "101"):
        tracking.import_experiment(
            Experiment(
                experiment_id,
                f"twin-{experiment_id}",
                f"s3://b/{experiment_id}",
                creation_time=7,
                last_update_time=7,
            )
        )
    assert names(experiments(tracking, "name LIKE 'twin-%'")) == ["twin-101", "twin-102"]


@pytest.mark.genesis_requires("import")
def test_search_experiments_explicit_order_breaks_ties_by_id_descending(tracking: TrackingStore) -> None:
    # MLflow appends `experiment_id DESC` to any given order_by (and nothing else).
    _twins(tracking)
    assert names(experiments(tracking, "name LIKE 'twin-%'", ("last_update_time ASC",))) == [
        "twin-102",
        "twin-101",
    ]


# --- paging --------------------------------------------------------------------------------------------

PAGED_QUERIES: list[tuple[str, tuple[str, ...]]] = [
    ("", ()),
    ("", ("name ASC",)),
    ("", ("name DESC",)),
    ("tags.team IS NULL", ("creation_time ASC",)),
    ("name ILIKE '%a%'", ()),
]


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("query", PAGED_QUERIES, ids=lambda q: f"{q[0]!r} {q[1]}")
def test_search_experiments_pages_concatenate_to_the_unpaged_answer(
    catalogue: Catalogue, query: tuple[str, tuple[str, ...]], page_size: int
) -> None:
    flt, order = query
    paged = all_pages(
        lambda token: experiments(catalogue.tracking, flt, order, max_results=page_size, page_token=token)
    )
    assert names(paged) == catalogue.search(flt, order)


def test_search_experiments_exact_fit_page_has_no_token(catalogue: Catalogue) -> None:
    page = experiments(catalogue.tracking, max_results=len(ALL))
    assert len(page.items) == len(ALL)
    assert page.next_page_token is None


def test_search_experiments_token_works_with_another_page_size(catalogue: Catalogue) -> None:
    first = experiments(catalogue.tracking, max_results=2)
    assert first.next_page_token is not None
    rest = experiments(catalogue.tracking, max_results=100, page_token=first.next_page_token)
    assert names(first) + names(rest) == catalogue.search()


@pytest.mark.parametrize("max_results", [0, -1, 50001])
def test_search_experiments_max_results_out_of_range_is_rejected(
    tracking: TrackingStore, max_results: int
) -> None:
    with pytest.raises(InvalidParameterValue):
        experiments(tracking, max_results=max_results)


def test_search_experiments_max_results_50000_is_accepted(catalogue: Catalogue) -> None:
    assert len(experiments(catalogue.tracking, max_results=50000).items) == len(ALL)


@pytest.mark.slow
def test_search_experiments_max_results_defaults_to_1000(
    tracking: TrackingStore, clock: TickingClock
) -> None:
    for i in range(1000):
        tracking.create_experiment(f"e{i:04d}")
    page = experiments(tracking)
    assert len(page.items) == 1000
    assert page.next_page_token is not None
    rest = experiments(tracking, page_token=page.next_page_token)
    assert names(rest) == ["Default"]


def _token(catalogue: Catalogue) -> str:
    token = experiments(catalogue.tracking, "", ("name ASC",), max_results=2).next_page_token
    assert token is not None
    return token


def test_search_experiments_tampered_token_is_rejected(catalogue: Catalogue) -> None:
    for bad in tampered(_token(catalogue)):
        with pytest.raises(InvalidParameterValue):
            experiments(catalogue.tracking, "", ("name ASC",), max_results=2, page_token=bad)


REPLAYS: dict[str, dict[str, object]] = {
    "other filter": {"flt": "name LIKE '%a%'"},
    "other order": {"order": ("name DESC",)},
    "no order": {"order": ()},
    "other view type": {"view": ViewType.ALL},
}


@pytest.mark.parametrize("change", list(REPLAYS))
def test_search_experiments_token_replayed_with_another_query_is_rejected(
    catalogue: Catalogue, change: str
) -> None:
    # MLflow's offset tokens would be accepted here; the port binds a token to its query.
    query: dict[str, object] = {"flt": "", "order": ("name ASC",), "view": ViewType.ACTIVE_ONLY}
    query.update(REPLAYS[change])
    with pytest.raises(InvalidParameterValue):
        experiments(catalogue.tracking, max_results=2, page_token=_token(catalogue), **query)  # type: ignore[arg-type]


def test_search_experiments_orders_by_store_clock_not_by_insertion(
    tracking: TrackingStore, clock: TickingClock
) -> None:
    tracking.create_experiment("late-but-first")
    clock.now -= 1_000_000  # the clock jumps back: the next experiment is older
    tracking.create_experiment("early-but-second")
    assert names(experiments(tracking, "name LIKE '%-but-%'")) == ["late-but-first", "early-but-second"]
    assert names(experiments(tracking, "name LIKE '%-but-%'", ("creation_time ASC",))) == [
        "early-but-second",
        "late-but-first",
    ]
