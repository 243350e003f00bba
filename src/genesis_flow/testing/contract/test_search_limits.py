"""Filters that name one key many times, or many keys, answer as their short forms do, on every
backend; an order_by on an empty key is ordered as a missing key, as MLflow's SQL store does.

Small scale on purpose (CI time): a store that compiled one join or EXISTS per comparison fails
here outright (SQLite refuses past 64 joins or 1000 expression levels, recursion in the statement
compiler); the 10k-run timings live in bench/search_limits.py.
"""

from __future__ import annotations

import pytest

from genesis_flow.core.entities import (
    ExperimentTag,
    LoggedModelParameter,
    LoggedModelTag,
    Metric,
    Param,
    RunTag,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag
from genesis_flow.core.search import MAX_FILTER_KEYS, MAX_ORDER_BY, parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.core.tracing import TRACE_NAME_TAG, TraceInfo
from genesis_flow.ports import RegistryStore, TraceStore, TrackingStore
from genesis_flow.testing.tracking_helpers import (
    BASE_TIME,
    dataset,
    dataset_input,
    experiments,
    logged_models,
    names,
    new_run,
    run_ids,
    runs,
)

MANY = [200, 1000]


def repeated(clause: str, n: int) -> str:
    return " AND ".join([clause] * n)


@pytest.fixture
def population(tracking: TrackingStore) -> tuple[str, dict[str, str]]:
    """(experiment id, run id by label): runs with param a = 1, a = 2, none; metric m; tag t."""
    exp = tracking.create_experiment("limits")
    ids: dict[str, str] = {}
    for label, params, metric in [("one", "1", 1.0), ("two", "2", 2.0), ("bare", None, None)]:
        run = new_run(tracking, exp, name=label)
        tracking.log_batch(
            run,
            metrics=() if metric is None else (Metric("m", metric, BASE_TIME, 0),),
            params=() if params is None else (Param("a", params),),
            tags=(RunTag("t", label),),
        )
        ids[label] = run
    return exp, ids


def labels(page: object, ids: dict[str, str]) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[r] for r in run_ids(page)}  # type: ignore[arg-type]


@pytest.mark.parametrize("n", MANY)
@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("params.a = '1'", {"one"}),
        ("params.a != '1'", {"two"}),
        ("params.a IS NULL", {"bare"}),
        ("params.a IS NOT NULL", {"one", "two"}),
        ("metrics.m > 1.5", {"two"}),
        ("tags.t LIKE 't%'", {"two"}),
        ("attributes.run_name = 'bare'", {"bare"}),
        ("attributes.status = 'RUNNING'", {"one", "two", "bare"}),
    ],
)
def test_a_clause_repeated_answers_as_the_clause_once(
    tracking: TrackingStore, population: tuple[str, dict[str, str]], clause: str, expected: set[str], n: int
) -> None:
    exp, ids = population
    assert labels(runs(tracking, [exp], clause), ids) == expected
    assert labels(runs(tracking, [exp], repeated(clause, n)), ids) == expected


def test_a_thousand_different_comparisons_on_one_key(
    tracking: TrackingStore, population: tuple[str, dict[str, str]]
) -> None:
    exp, ids = population
    # Each needs the param present (MLflow: != never matches a missing key) and none excludes 1/2.
    differs = " AND ".join(f"params.a != 'x{i}'" for i in range(1000))
    assert labels(runs(tracking, [exp], differs), ids) == {"one", "two"}
    bounds = " AND ".join(f"metrics.m > {-i}" for i in range(1000))
    assert labels(runs(tracking, [exp], bounds), ids) == {"one", "two"}


@pytest.mark.parametrize(
    "flt",
    [
        "params.a = '1' AND params.a = '2'",
        "params.a IS NULL AND params.a = '1'",
        "params.a IS NULL AND params.a IS NOT NULL",
        "metrics.m > 1.5 AND metrics.m < 1.5",
        "tags.t = 'one' AND tags.t = 'two'",
    ],
)
def test_contradictions_on_one_key_match_nothing(
    tracking: TrackingStore, population: tuple[str, dict[str, str]], flt: str
) -> None:
    exp, _ = population
    assert run_ids(runs(tracking, [exp], repeated(flt, 300))) == []


def test_the_most_distinct_keys_allowed(tracking: TrackingStore) -> None:
    exp = tracking.create_experiment("keys")
    keys = MAX_FILTER_KEYS // 2
    full = new_run(tracking, exp, name="full")
    tracking.log_batch(
        full,
        metrics=tuple(Metric(f"m{i}", float(i), BASE_TIME, 0) for i in range(keys)),
        params=tuple(Param(f"p{i}", "v") for i in range(keys)),
        tags=(),
    )
    partial = new_run(tracking, exp, name="partial")
    tracking.log_batch(
        partial, metrics=(), params=tuple(Param(f"p{i}", "v") for i in range(keys - 1)), tags=()
    )
    by_value = " AND ".join(
        [f"params.p{i} = 'v'" for i in range(keys)] + [f"metrics.m{i} >= {i}" for i in range(keys)]
    )
    assert run_ids(runs(tracking, [exp], by_value)) == [full]
    absent = " AND ".join(f"tags.k{i} IS NULL" for i in range(MAX_FILTER_KEYS))
    assert sorted(run_ids(runs(tracking, [exp], absent))) == sorted([full, partial])
    # Ordered by a metric the filter also tests, among many keys of its kind.
    ordered = runs(tracking, [exp], f"params.p0 = 'v' AND {by_value}", order=["metrics.m1 DESC"])
    assert run_ids(ordered) == [full]


@pytest.fixture
def keyed_population(tracking: TrackingStore) -> tuple[str, dict[str, str]]:
    """(experiment id, run id by label): runs holding different subsets of params a, b, c,
    metrics m, n (r1's n is NaN) and tags t, u."""
    exp = tracking.create_experiment("keyed")
    ids: dict[str, str] = {}
    for label, params, metrics, tags in [
        ("r1", {"a": "1", "b": "x", "c": "hello"}, {"m": 1.0, "n": float("nan")}, {"t": "one"}),
        ("r2", {"a": "2", "b": "y"}, {"m": 2.0, "n": 5.0}, {"t": "two", "u": "z"}),
        ("r3", {"a": "1", "c": "help"}, {"m": 3.0}, {"t": "three"}),
        ("r4", {}, {}, {"t": "four"}),
    ]:
        run = new_run(tracking, exp, name=label)
        tracking.log_batch(
            run,
            metrics=tuple(Metric(k, v, BASE_TIME, 0) for k, v in metrics.items()),
            params=tuple(Param(k, v) for k, v in params.items()),
            tags=tuple(RunTag(k, v) for k, v in tags.items()),
        )
        ids[label] = run
    return exp, ids


# Several keys of one kind: SQL stores test them in one pass over their rows (a count of passing
# rows per run), where a missing key, NaN, != and IS NULL must each still count as they do alone.
# One store per test and a loop over the cases: the setup, not the searches, is what costs.
SEVERAL_RUN_KEYS = [
    ("params.a = '1' AND params.b != 'y'", {"r1"}),
    ("params.a != '2' AND params.c LIKE 'hel%'", {"r1", "r3"}),
    ("params.b IS NULL AND params.c IS NULL", {"r4"}),
    ("params.b IS NULL AND params.a = '1'", {"r3"}),
    ("params.a != '1' AND params.b LIKE '_' AND params.c IS NULL", {"r2"}),
    ("params.a = '1' AND params.a != '2' AND params.b = 'x' AND params.c ILIKE 'HEL%'", {"r1"}),
    ("params.a = '1' AND params.b IS NULL AND params.b = 'x'", set()),
    ("params.a IS NOT NULL AND params.b IS NOT NULL AND params.c IS NULL AND params.d IS NULL", {"r2"}),
    ("metrics.m >= 1 AND metrics.n != 5", {"r1"}),
    ("metrics.m < 3 AND metrics.n = 5", {"r2"}),
    ("metrics.m > 0 AND metrics.n > 0 AND metrics.n < 10", {"r2"}),
    ("tags.t LIKE '%o%' AND tags.u IS NULL AND tags.v IS NULL", {"r1", "r4"}),
    ("params.a = '1' AND params.c LIKE 'hel_' AND metrics.m > 2 AND tags.u IS NULL", {"r3"}),
    # Several exclusions of one key (a store may test them as one set): each still needs the key.
    ("params.b != 'q' AND params.b != 'y'", {"r1"}),
    ("params.a != '3' AND params.a != '2' AND params.a != '5'", {"r1", "r3"}),
    ("params.c != 'hello' AND params.c != 'help' AND params.a = '1'", set()),
    ("params.c != 'x' AND params.c LIKE 'hel%' AND params.c != 'hello'", {"r3"}),
    ("tags.t != 'one' AND tags.t != 'two' AND tags.t != 'three'", {"r4"}),
]


def test_several_keys_of_one_kind_answer_key_by_key(
    tracking: TrackingStore, keyed_population: tuple[str, dict[str, str]]
) -> None:
    exp, ids = keyed_population
    for flt, expected in SEVERAL_RUN_KEYS:
        assert labels(runs(tracking, [exp], flt), ids) == expected, flt
        assert labels(runs(tracking, [exp], flt, order=["metrics.m DESC"]), ids) == expected, flt


SEVERAL_TAG_KEYS = [
    ("tags.k = 'v' AND tags.j != 'w'", ["both"]),
    ("tags.k LIKE 'v%' AND tags.j LIKE '%'", ["both"]),
    ("tags.k = 'v' AND tags.j != 'x'", []),
]


def test_several_tag_keys_on_experiments_models_and_versions(
    tracking: TrackingStore, registry: RegistryStore
) -> None:
    tagged: dict[str, dict[str, str]] = {"none": {}, "k": {"k": "v"}, "both": {"k": "v", "j": "x"}}
    exps = []
    for name, tags in tagged.items():
        exp = tracking.create_experiment(name)
        exps.append(exp)
        for key, value in tags.items():
            tracking.set_experiment_tag(exp, ExperimentTag(key, value))
        tracking.create_logged_model(exp, name=name, tags=[LoggedModelTag(k, v) for k, v in tags.items()])
        registry.create_registered_model(name, tags=[RegisteredModelTag(k, v) for k, v in tags.items()])
        registry.create_model_version(name, "s3://x")
        for key, value in tags.items():
            registry.set_model_version_tag(name, 1, ModelVersionTag(key, value))
    for flt, expected in SEVERAL_TAG_KEYS:
        assert [n for n in names(experiments(tracking, flt)) if n in tagged] == expected, flt
        assert [m.name for m in logged_models(tracking, exps, flt)] == expected, flt
        models = registry.search_registered_models(parse_filter(SearchKind.REGISTERED_MODELS, flt))
        assert [m.name for m in models] == expected, flt
        versions = registry.search_model_versions(parse_filter(SearchKind.MODEL_VERSIONS, flt))
        assert [v.name for v in versions] == expected, flt


SEVERAL_TRACE_KEYS = [
    ("tags.a = 'x' AND tags.b = 'y'", ["t1"]),
    ("tags.a = 'x' AND tags.b IS NULL", ["t2"]),
    ("tags.a IS NULL AND tags.b IS NULL", ["t3"]),
    ("name = 'n1' AND tags.a LIKE 'x%' AND tags.b != 'z' AND metadata.m = '1'", ["t1"]),
    ("metadata.m != '1' AND metadata.n = '3' AND tags.b IS NULL AND tags.c IS NULL", ["t2"]),
    ("tags.a = 'x' AND tags.a IS NULL AND tags.b = 'y'", []),
]


@pytest.mark.genesis_requires("tracing")
def test_several_trace_keys_answer_key_by_key(tracking: TrackingStore) -> None:
    assert isinstance(tracking, TraceStore)
    exp = tracking.create_experiment("traces")
    traces = {
        "t1": ({"a": "x", "b": "y", TRACE_NAME_TAG: "n1"}, {"m": "1"}),
        "t2": ({"a": "x"}, {"m": "2", "n": "3"}),
        "t3": ({}, {}),
    }
    ids = {}
    for i, (label, (tags, metadata)) in enumerate(traces.items()):
        ids[f"tr-{i + 1:032d}"] = label
        tracking.start_trace(TraceInfo(f"tr-{i + 1:032d}", exp, BASE_TIME + i, tags=tags, metadata=metadata))
    for flt, expected in SEVERAL_TRACE_KEYS:
        page = tracking.search_traces([exp], filter=parse_filter(SearchKind.TRACES, flt))
        assert [ids[t.trace_id] for t in page] == expected, flt


def test_datasets_keep_one_witness_per_comparison(tracking: TrackingStore) -> None:
    exp = tracking.create_experiment("datasets")
    both = new_run(tracking, exp)
    tracking.log_inputs(both, [dataset_input(dataset("a")), dataset_input(dataset("b", digest="d2"))])
    only_a = new_run(tracking, exp)
    tracking.log_inputs(only_a, [dataset_input(dataset("a"))])
    flt = repeated("datasets.name = 'a' AND datasets.name = 'b'", 200)
    assert run_ids(runs(tracking, [exp], flt)) == [both]


@pytest.mark.parametrize("n", MANY)
def test_experiment_search_with_a_repeated_clause(tracking: TrackingStore, n: int) -> None:
    tracking.create_experiment("kept")
    tagged = tracking.create_experiment("tagged")
    tracking.set_experiment_tag(tagged, ExperimentTag("k", "v"))
    assert names(experiments(tracking, repeated("tags.k = 'v'", n))) == ["tagged"]
    assert names(experiments(tracking, repeated("name LIKE 'k%'", n))) == ["kept"]


@pytest.mark.parametrize("n", MANY)
def test_registry_searches_with_a_repeated_clause(registry: RegistryStore, n: int) -> None:
    registry.create_registered_model("plain")
    registry.create_registered_model("tagged", tags=[RegisteredModelTag("k", "v")])
    registry.create_model_version("tagged", "s3://x")
    kind, versions = SearchKind.REGISTERED_MODELS, SearchKind.MODEL_VERSIONS
    found = registry.search_registered_models(parse_filter(kind, repeated("tags.k = 'v'", n)))
    assert [m.name for m in found] == ["tagged"]
    found_versions = registry.search_model_versions(parse_filter(versions, repeated("name = 'tagged'", n)))
    assert [(v.name, v.version) for v in found_versions] == [("tagged", 1)]


@pytest.mark.parametrize("n", MANY)
def test_logged_model_search_with_repeated_clauses(tracking: TrackingStore, n: int) -> None:
    exp = tracking.create_experiment("models")
    model = tracking.create_logged_model(
        exp, name="m", tags=[LoggedModelTag("k", "v")], params=[LoggedModelParameter("p", "1")]
    )
    tracking.create_logged_model(exp, name="other")
    for clause in ("tags.k = 'v'", "params.p = '1'", "name = 'm'"):
        found = logged_models(tracking, [exp], repeated(clause, n))
        assert [m.model_id for m in found] == [model.model_id], clause


@pytest.mark.genesis_requires("tracing")
@pytest.mark.parametrize("n", MANY)
def test_trace_search_with_repeated_clauses(tracking: TrackingStore, n: int) -> None:
    assert isinstance(tracking, TraceStore)
    exp = tracking.create_experiment("traces")
    tagged = TraceInfo("tr-" + "1" * 32, exp, BASE_TIME, tags={"k": "v"}, metadata={"md": "x"})
    tracking.start_trace(tagged)
    tracking.start_trace(TraceInfo("tr-" + "2" * 32, exp, BASE_TIME + 1))
    for clause in ("tags.k = 'v'", "metadata.md = 'x'", "tags.k IS NOT NULL"):
        page = tracking.search_traces([exp], filter=parse_filter(SearchKind.TRACES, repeated(clause, n)))
        assert [t.trace_id for t in page] == [tagged.trace_id], clause
    none = parse_filter(SearchKind.TRACES, repeated("tags.k IS NULL AND tags.k = 'v'", n // 2))
    assert list(tracking.search_traces([exp], filter=none)) == []


# --- order_by on an empty key -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["params.``", "metrics.``", "tags.``", "params.`` DESC", "metrics.`` ASC"])
def test_order_by_an_empty_key_orders_as_a_key_no_run_has(
    tracking: TrackingStore, population: tuple[str, dict[str, str]], key: str
) -> None:
    exp, _ = population
    # MLflow's SQL store accepts the empty key; no run has it, so the default order decides.
    assert run_ids(runs(tracking, [exp], order=[key])) == run_ids(runs(tracking, [exp]))
    assert run_ids(runs(tracking, [exp], "params.`` IS NULL", order=[key])) == run_ids(runs(tracking, [exp]))


@pytest.mark.parametrize("kind", [SearchKind.RUNS, SearchKind.TRACES])
def test_order_by_an_empty_attribute_is_refused(kind: SearchKind) -> None:
    with pytest.raises(InvalidParameterValue, match="Invalid attribute key ''"):
        parse_order_by(kind, ["attributes.``"])


@pytest.mark.genesis_requires("tracing")
@pytest.mark.parametrize("key", ["tags.``", "metadata.``"])
def test_trace_order_by_an_empty_key(tracking: TrackingStore, key: str) -> None:
    assert isinstance(tracking, TraceStore)
    exp = tracking.create_experiment("traces")
    for i in (1, 2):
        tracking.start_trace(TraceInfo(f"tr-{i:032x}", exp, BASE_TIME + i))
    order = parse_order_by(SearchKind.TRACES, [key])
    plain = [t.trace_id for t in tracking.search_traces([exp])]
    assert [t.trace_id for t in tracking.search_traces([exp], order_by=order)] == plain


def test_the_most_order_by_keys_allowed_with_the_most_joined_filter(tracking: TrackingStore) -> None:
    # SQLite crashed (a segmentation fault) past about 35 joined tables; MongoDB sorts on at
    # most 32 fields.
    exp = tracking.create_experiment("order")
    first, second = new_run(tracking, exp), new_run(tracking, exp)
    for run, value in ((first, "b"), (second, "a")):
        tracking.log_batch(run, metrics=(), params=tuple(Param(f"p{i}", value) for i in range(20)), tags=())
    flt = " AND ".join(f"params.p{i} IS NOT NULL" for i in range(20))
    order = [f"params.p{i}" for i in range(MAX_ORDER_BY)]
    assert run_ids(runs(tracking, [exp], flt, order=order)) == [second, first]
