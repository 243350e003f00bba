"""Random filters and orders: every backend answers search_runs and search_experiments as the
memory oracle does, for values chosen to probe compiled queries (case, unicode, LIKE wildcards,
backslashes, NaN, +/-inf against the largest double, missing keys, NULL times)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from genesis_flow.adapters.memory import InMemoryTrackingStore
from genesis_flow.core.entities import ExperimentTag, Metric, Param, RunStatus, RunTag, ViewType
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.backend import Backend
from genesis_flow.testing.support import SteppedClock, outcome
from genesis_flow.testing.tracking_helpers import dataset, dataset_input, hypothesis_settings

pytestmark = pytest.mark.genesis_requires("tracking")

NAN, INF, BIG = float("nan"), float("inf"), sys.float_info.max
TEXTS = ["a", "A", "ab", "Ab", "a_b", "a%b", "a\\b", "ü", "Ü", "straße", "x y", "", "10", "9"]
NUMBERS = ["0", "0.5", "-1", "1", "2", "1e308", "1.7976931348623157e308", "-1.7976931348623157e308"]
PATTERNS = ["a%", "A%", "%b", "%B%", "_", "__", "a_b", "a\\%", "%\\%", "ü%", "Ü%", "%", "%ß%", "x_y"]
# name: (start time or None, status, metrics, params, tags, dataset inputs (name, context))
RUNS: dict[
    str, tuple[int | None, RunStatus, dict[str, float], dict[str, str], dict[str, str], list[tuple[str, str]]]
] = {
    "r0": (
        1000,
        RunStatus.FINISHED,
        {"m": 0.5, "n": INF},
        {"p": "a", "q": "ü"},
        {"t": "A"},
        [("train", "training")],
    ),
    "r1": (2000, RunStatus.RUNNING, {"m": NAN, "n": BIG}, {"p": "Ab"}, {"t": "a%b"}, [("eval", "")]),
    "r2": (2500, RunStatus.FAILED, {"m": -INF, "n": 0.0}, {"p": "a_b", "q": "Ü"}, {"t": "a\\b"}, []),
    "r3": (3000, RunStatus.RUNNING, {"m": 2.0}, {"p": "a%b"}, {}, [("train", "eval"), ("Train", "training")]),
    "r4": (None, RunStatus.KILLED, {"n": -BIG}, {"p": "straße", "q": "x y"}, {"t": "ab"}, []),
    "r5": (5000, RunStatus.FINISHED, {"m": 1.0, "n": -1.0}, {"p": "10"}, {"t": "9"}, [("Eval", "training")]),
    "r6": (6000, RunStatus.FINISHED, {}, {"p": ""}, {"t": "Ü"}, []),
}


def build(store: TrackingStore) -> str:
    experiment_id = store.create_experiment("agreement")
    for name, (start, status, metrics, params, tags, inputs) in RUNS.items():
        run_id = store.create_run(experiment_id, "u", start, run_name=name).info.run_id
        store.log_batch(
            run_id,
            metrics=[Metric(k, value, 10, 0) for k, value in metrics.items()],
            params=[Param(k, value) for k, value in params.items()],
            tags=[RunTag(k, value) for k, value in tags.items()],
        )
        if inputs:
            store.log_inputs(run_id, [dataset_input(dataset(n, n[:2]), context=c or None) for n, c in inputs])
        store.update_run_info(run_id, status, end_time=None if status is RunStatus.RUNNING else 9000)
    return experiment_id


def _quoted(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


string_ops = st.sampled_from(["=", "!=", "LIKE", "ILIKE", "<", ">"])
comparisons = st.one_of(
    st.builds(
        "metrics.{} {} {}".format,
        st.sampled_from("mnz"),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(NUMBERS),
    ),
    st.builds(
        "{}.{} {} '{}'".format,
        st.sampled_from(["params", "tags"]),
        st.sampled_from("pqt"),
        string_ops,
        st.sampled_from(TEXTS + PATTERNS),
    ),
    st.builds(
        "{}.{} {}".format,
        st.sampled_from(["params", "tags"]),
        st.sampled_from("pqt"),
        st.sampled_from(["IS NULL", "IS NOT NULL"]),
    ),
    st.builds(
        "params.{} {} {}".format,
        st.sampled_from("pq"),
        st.sampled_from(["IN", "NOT IN"]),
        st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3).map(_quoted),
    ),
    st.builds("attributes.run_name {} '{}'".format, string_ops, st.sampled_from(["r1", "R1", "r%", "R_"])),
    st.builds(
        "attributes.status {} '{}'".format,
        st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
        st.sampled_from(["RUNNING", "f%"]),
    ),
    st.builds(
        "attributes.{} {} {}".format,
        st.sampled_from(["start_time", "end_time"]),
        st.sampled_from(["=", "!=", "<", ">="]),
        st.sampled_from(["2000", "2500", "9000", "0"]),
    ),
    st.builds(
        "datasets.{} {} '{}'".format,
        st.sampled_from(["name", "context", "digest"]),
        st.sampled_from(["=", "!=", "LIKE", "ILIKE"]),
        st.sampled_from(["train", "Train", "eval", "tr%", "training", "ev"]),
    ),
)
filters = st.lists(comparisons, max_size=3).map(" and ".join)
orders = st.lists(
    st.builds(
        "{} {}".format,
        st.sampled_from(
            [
                "metrics.m",
                "metrics.n",
                "metrics.z",
                "params.p",
                "params.q",
                "tags.t",
                "attributes.start_time",
                "attributes.end_time",
                "attributes.run_name",
                "attributes.status",
            ]
        ),
        st.sampled_from(["ASC", "DESC"]),
    ),
    max_size=2,
)


def _names(store: TrackingStore, page: object) -> list[str]:
    return [run.info.run_name for run in page]  # type: ignore[attr-defined]


def test_random_run_searches_agree_with_the_memory_oracle(tracking: TrackingStore) -> None:
    oracle = InMemoryTrackingStore(clock=SteppedClock())
    ours, theirs = build(tracking), build(oracle)

    @hypothesis_settings(max_examples=60, deadline=None)
    @given(flt=filters, order=orders, page_size=st.integers(2, 8))
    def agree(flt: str, order: list[str], page_size: int) -> None:
        parsed = outcome(parse_filter, SearchKind.RUNS, flt)
        parsed_order = outcome(parse_order_by, SearchKind.RUNS, order)
        assume(parsed[0] == "ok" and parsed_order[0] == "ok")

        def search(store: TrackingStore, experiment_id: str) -> tuple[str, object]:
            def run() -> list[str]:
                names, token = [], None
                while True:
                    page = store.search_runs(
                        [experiment_id], parsed[1], ViewType.ALL, page_size, parsed_order[1], token
                    )
                    names += _names(store, page)
                    token = page.next_page_token
                    if token is None:
                        return names

            return outcome(run)

        assert search(tracking, ours) == search(oracle, theirs), (flt, order)

    agree()


experiment_filters = st.lists(
    st.one_of(
        st.builds("name {} '{}'".format, string_ops, st.sampled_from(["e%", "E_", "ü", "exp-a", "%a%"])),
        st.builds("tags.k {} '{}'".format, string_ops, st.sampled_from(TEXTS + PATTERNS)),
        st.builds("tags.k {}".format, st.sampled_from(["IS NULL", "IS NOT NULL"])),
        st.builds(
            "creation_time {} {}".format,
            st.sampled_from(["<", ">=", "="]),
            st.sampled_from([1000, 1010, 1015]),
        ),
    ),
    max_size=2,
).map(" and ".join)
experiment_orders = st.lists(
    st.builds(
        "{} {}".format,
        st.sampled_from(["name", "experiment_id", "creation_time", "last_update_time"]),
        st.sampled_from(["ASC", "DESC"]),
    ),
    max_size=2,
)


def test_random_experiment_searches_agree_with_the_memory_oracle(backend: Backend) -> None:
    # One clock both stores read, moved between experiments, so their times agree exactly.
    clock = SteppedClock()
    tracking, oracle = backend.make_tracking(clock), InMemoryTrackingStore(clock=clock)
    specs = [("exp-a", "a"), ("Exp-b", "A"), ("ü-exp", "a%b"), ("e_", "a\\b"), ("E9", None), ("exp-10", "ü")]
    for i, (name, tag) in enumerate(specs):
        clock.now = 1000 + 10 * (i % 3)
        for store in (tracking, oracle):
            experiment_id = store.create_experiment(name)
            if tag is not None:
                store.set_experiment_tag(experiment_id, ExperimentTag("k", tag))
            if i == 2:
                store.delete_experiment(experiment_id)

    @hypothesis_settings(max_examples=40, deadline=None)
    @given(flt=experiment_filters, order=experiment_orders, view=st.sampled_from(list(ViewType)))
    def agree(flt: str, order: list[str], view: ViewType) -> None:
        parsed = outcome(parse_filter, SearchKind.EXPERIMENTS, flt)
        parsed_order = outcome(parse_order_by, SearchKind.EXPERIMENTS, order)
        assume(parsed[0] == "ok" and parsed_order[0] == "ok")

        def names(store: TrackingStore) -> tuple[str, object]:
            return outcome(
                lambda: [e.name for e in store.search_experiments(view, None, parsed[1], parsed_order[1])]
            )

        assert names(tracking) == names(oracle), (flt, order, view)

    agree()
