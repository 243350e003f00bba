"""No N+1 on the Mongo adapter: a read issues the same commands for one item as for hundreds.

A pymongo ``CommandListener`` counts the commands each store call sends to a fresh database.
Pages of hundreds of items may need a few ``getMore`` batches; every other command must be the
same in number whatever the page size (searches, metric history), and ``get_run`` is a fixed
small number. Skipped, with the reason, when ``GENESIS_TEST_MONGO_URI`` is unset.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest.importorskip("pymongo", reason="pymongo is not installed (extra 'mongo')")

from pymongo import monitoring

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind

T = TypeVar("T")
MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")
MANY_RUNS = 500
# Of MANY_RUNS, made through the store (half with create_run/log_batch/log_inputs, half with
# import_run); the rest are copies of their documents under new ids, inserted in one command,
# since the test server takes ~10 ms per write whatever the concurrency.
TEMPLATE_RUNS = 40
TEMPLATE_MODELS = 3
MODELS = 30
VERSIONS_PER_MODEL = 10
LONG_HISTORY = 5000
MAX_GET_MORE = 3
T0 = 1_600_000_000_000
# Commands a driver may send on its own schedule (closing cursors, sessions): not the store's.
HOUSEKEEPING = {"killCursors", "endSessions"}


class Commands(monitoring.CommandListener):
    """Names of the commands sent to one database, in order."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.names: list[str] = []
        self.last_find: dict[str, Any] = {}
        self.last_aggregate: dict[str, Any] = {}
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database:
            with self._lock:
                self.names.append(event.command_name)
                if event.command_name == "find":
                    self.last_find = dict(event.command)
                elif event.command_name == "aggregate":
                    self.last_aggregate = dict(event.command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def during(self, call: Callable[[], T]) -> tuple[T, Counter[str]]:
        with self._lock:
            start = len(self.names)
        result = call()
        with self._lock:
            return result, Counter(n for n in self.names[start:] if n not in HOUSEKEEPING)


def without_get_more(counts: Counter[str]) -> Counter[str]:
    return Counter({name: n for name, n in counts.items() if name != "getMore"})


def with_database(uri: str, name: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def dataset_input(i: int) -> DatasetInput:
    ds = Dataset(f"train{i % 5}", f"d{i % 5}", "s3", f"s3://bucket/train{i % 5}")
    return DatasetInput(ds, (InputTag("mlflow.data.context", "training"),))


def run_values(i: int) -> tuple[list[Metric], list[Param], list[RunTag]]:
    metrics = [Metric("m", float(i + 1), T0 + step, step) for step in range(3)] + [
        Metric("other", 1.0, T0, 0)
    ]
    params = [Param("p", "x"), Param("q", f"{i:04d}"), Param("a.b", "dotted")]
    tags = [RunTag("t", f"tag{i}"), RunTag("team", "nlp")]
    return metrics, params, tags


class World:
    """A fresh database: one experiment with one run, one with MANY_RUNS, and a registry."""

    def __init__(self, uri: str) -> None:
        from genesis_flow.adapters.mongo import MongoDatabase, MongoRegistryStore, MongoTrackingStore

        self.name = f"gf_commands_{uuid.uuid4().hex[:12]}"
        self.commands = Commands(self.name)
        self.db = MongoDatabase.from_uri(
            with_database(uri, self.name), serverSelectionTimeoutMS=5000, event_listeners=[self.commands]
        )
        self.tracking = MongoTrackingStore(self.db)
        self.registry = MongoRegistryStore(self.db)
        self.one = self.tracking.create_experiment("one")
        self.many = self.tracking.create_experiment("many")
        with ThreadPoolExecutor(max_workers=8) as pool:
            self.single_run = self.api_run(self.one, 0)
            half = TEMPLATE_RUNS // 2
            templates = list(pool.map(lambda i: self.api_run(self.many, i), range(half)))
            templates += list(pool.map(self.imported_run, range(half, TEMPLATE_RUNS)))
            self.many_runs = templates + self.copy_runs(templates, MANY_RUNS - TEMPLATE_RUNS)
            self.make_registry(pool)
        # A long and a short metric history on one run.
        self.history_run = self.single_run
        self.tracking.log_batch(self.history_run, metrics=[Metric("h10", 1.0, T0 + s, s) for s in range(10)])
        for start in range(0, LONG_HISTORY, 1000):
            self.tracking.log_batch(
                self.history_run,
                metrics=[Metric("h5000", float(s), T0 + s, s) for s in range(start, start + 1000)],
            )

    def api_run(self, experiment_id: str, i: int) -> str:
        run_id = self.tracking.create_run(experiment_id, "alice", T0 + i, run_name=f"r{i}").info.run_id
        metrics, params, tags = run_values(i)
        self.tracking.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        self.tracking.log_inputs(run_id, [dataset_input(i)])
        return run_id

    def imported_run(self, i: int) -> str:
        run_id = uuid.uuid4().hex
        metrics, params, tags = run_values(i)
        info = RunInfo(
            run_id=run_id,
            experiment_id=self.many,
            run_name=f"r{i}",
            user_id="alice",
            status=RunStatus.FINISHED,
            start_time=T0 + i,
            end_time=T0 + i + 1,
            artifact_uri=f"s3://bucket/{run_id}/artifacts",
        )
        run = Run(
            info=info,
            data=RunData(params=tuple(params), tags=(*tags, RunTag("mlflow.runName", f"r{i}"))),
            inputs=RunInputs(dataset_inputs=(dataset_input(i),)),
        )
        self.tracking.import_run(run, metrics)
        return run_id

    def copy_runs(self, templates: list[str], count: int) -> list[str]:
        """``count`` more runs: the stored documents of ``templates``, each under a new id."""
        runs = self.db["runs"]
        docs = {d["_id"]: d for d in runs.find({"_id": {"$in": templates}})}
        copies = [{**docs[templates[k % len(templates)]], "_id": uuid.uuid4().hex} for k in range(count)]
        runs.insert_many(copies)
        return [d["_id"] for d in copies]

    def make_registry(self, pool: ThreadPoolExecutor) -> None:
        def model(name: str, group: str, versions: int) -> None:
            self.registry.create_registered_model(name, tags=[RegisteredModelTag("group", group)])
            for v in range(versions):
                tags = [ModelVersionTag("group", group), ModelVersionTag("a.b", f"v{v}")]
                self.registry.create_model_version(name, f"s3://models/{name}/{v}", tags=tags)
            for v in (1, versions):  # two aliases per model, one on its last version
                self.registry.set_registered_model_alias(name, f"alias{v}", v)

        templates = [f"model{k:02d}" for k in range(TEMPLATE_MODELS)]
        list(pool.map(lambda n: model(n, "big", VERSIONS_PER_MODEL), templates))
        model("solo", "small", 1)
        # The other models: copies of the templates' documents (model key, name and the
        # versions' references to them changed), inserted in two commands.
        models, versions = self.db["registered_models"], self.db["model_versions"]
        stored = {d["name"]: d for d in models.find({"name": {"$in": templates}})}
        new_models, new_versions = [], []
        for k in range(TEMPLATE_MODELS, MODELS):
            template = stored[templates[k % TEMPLATE_MODELS]]
            key, name = uuid.uuid4().hex, f"model{k:02d}"
            new_models.append({**template, "_id": key, "name": name})
            for doc in versions.find({"mid": template["_id"]}):
                number = doc["_id"].rsplit(":", 1)[1]
                new_versions.append({**doc, "_id": f"{key}:{number}", "mid": key, "n": name})
        models.insert_many(new_models)
        versions.insert_many(new_versions)

    def close(self) -> None:
        self.db.drop_all()
        self.db.close()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    if not MONGO_URI:
        pytest.skip("GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)")
    built = World(MONGO_URI)
    try:
        yield built
    finally:
        built.close()


def compare(world: World, label: str, small: Callable[[], Any], large: Callable[[], Any]) -> tuple[Any, Any]:
    """Run both calls; assert the same commands apart from a few getMore; print the counts."""
    few, few_counts = world.commands.during(small)
    lots, lots_counts = world.commands.during(large)
    print(f"\n{label}: small {dict(few_counts)}; large {dict(lots_counts)}")
    assert without_get_more(few_counts) == without_get_more(lots_counts), (label, few_counts, lots_counts)
    assert lots_counts["getMore"] <= MAX_GET_MORE, (label, lots_counts)
    assert sum(without_get_more(lots_counts).values()) <= 4, (label, lots_counts)
    return few, lots


def search_runs(
    world: World, experiment_id: str, flt: str = "", order: tuple[str, ...] = ()
) -> Callable[[], Any]:
    def call() -> Any:
        return world.tracking.search_runs(
            [experiment_id],
            filter=parse_filter(SearchKind.RUNS, flt),
            max_results=1000,
            order_by=parse_order_by(SearchKind.RUNS, list(order)),
        )

    return call


def check_runs(page: Any, expected: int) -> None:
    assert len(page.items) == expected
    for run in page.items:
        assert run.data.params_dict["p"] == "x"
        assert run.data.params_dict["a.b"] == "dotted"
        assert run.data.tags_dict["team"] == "nlp"
        assert len(run.inputs.dataset_inputs) == 1
        assert run.inputs.dataset_inputs[0].dataset.source.startswith("s3://bucket/train")


def test_search_runs_issues_the_same_commands_for_one_run_and_for_five_hundred(world: World) -> None:
    one, many = compare(world, "search_runs", search_runs(world, world.one), search_runs(world, world.many))
    check_runs(one, 1)
    check_runs(many, MANY_RUNS)
    assert sorted(r.info.run_id for r in many.items) == sorted(world.many_runs)


def test_filtered_and_ordered_search_runs_issues_the_same_commands(world: World) -> None:
    flt = "metrics.m > 0 and params.p = 'x'"
    one, many = compare(
        world,
        "search_runs filtered, ordered by a metric",
        search_runs(world, world.one, flt, ("metrics.m DESC",)),
        search_runs(world, world.many, flt, ("metrics.m DESC",)),
    )
    check_runs(one, 1)
    check_runs(many, MANY_RUNS)
    values = [r.data.metrics_dict["m"] for r in many.items]
    assert values == sorted(values, reverse=True) and values[0] == float(TEMPLATE_RUNS)
    one, many = compare(
        world,
        "search_runs filtered, ordered by a param",
        search_runs(world, world.one, flt, ("params.q ASC",)),
        search_runs(world, world.many, flt, ("params.q ASC",)),
    )
    check_runs(many, MANY_RUNS)
    values = [r.data.params_dict["q"] for r in many.items]
    assert values == sorted(values) and set(values) == {f"{i:04d}" for i in range(TEMPLATE_RUNS)}


def test_get_run_is_a_fixed_small_number_of_commands(world: World) -> None:
    for run_id in (world.single_run, world.many_runs[0], world.many_runs[-1]):
        run, counts = world.commands.during(partial(world.tracking.get_run, run_id))
        print(f"\nget_run: {dict(counts)}")
        assert sum(counts.values()) <= 2, counts
        assert len(run.inputs.dataset_inputs) == 1 and run.data.params_dict["p"] == "x"


def test_run_ids_with_prefix_is_one_find_that_walks_the_id_index(world: World) -> None:
    run_id = sorted(world.many_runs)[MANY_RUNS // 2]
    found, counts = world.commands.during(partial(world.tracking.run_ids_with_prefix, run_id[:3], 10))
    assert run_id in found and counts == Counter({"find": 1}), counts
    # The server's plan for the very command the store sent: an index range, no collection scan,
    # reading about as many keys as it returns (out of the hundreds of runs).
    sent = {k: v for k, v in world.commands.last_find.items() if not k.startswith(("$", "lsid"))}
    plan = world.db["runs"].database.command("explain", sent, verbosity="executionStats")
    stats = plan["executionStats"]
    assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"]), plan["queryPlanner"]
    assert "'indexName': '_id_'" in str(plan["queryPlanner"]["winningPlan"])
    assert stats["nReturned"] == len(found) and stats["totalKeysExamined"] <= len(found) + 1, stats


def test_metric_history_issues_the_same_commands_for_ten_and_five_thousand_points(world: World) -> None:
    short, long = compare(
        world,
        "get_metric_history",
        lambda: world.tracking.get_metric_history(world.history_run, "h10"),
        lambda: world.tracking.get_metric_history(world.history_run, "h5000"),
    )
    assert [m.step for m in short.items] == list(range(10))
    assert [m.step for m in long.items] == list(range(LONG_HISTORY))


def test_metric_history_lengths_are_one_aggregate_on_the_history_index(world: World) -> None:
    lengths, counts = world.commands.during(partial(world.tracking.metric_history_lengths, world.history_run))
    assert lengths == {"m": 3, "other": 1, "h10": 10, "h5000": LONG_HISTORY}
    # The run document (unknown run, pending points), then the counts: no history is read.
    assert counts == Counter({"find": 1, "aggregate": 1}), counts
    sent = {k: v for k, v in world.commands.last_aggregate.items() if not k.startswith(("$", "lsid"))}
    plan = str(world.db["metrics"].database.command("explain", sent, verbosity="queryPlanner"))
    assert "'indexName': 'gf_history'" in plan and "COLLSCAN" not in plan, plan


def test_search_model_versions_issues_the_same_commands_for_one_and_three_hundred(world: World) -> None:
    def versions(group: str) -> Callable[[], Any]:
        return lambda: world.registry.search_model_versions(
            parse_filter(SearchKind.MODEL_VERSIONS, f"tags.group = '{group}'")
        )

    one, many = compare(world, "search_model_versions", versions("small"), versions("big"))
    assert [(mv.name, mv.version, mv.aliases) for mv in one.items] == [("solo", 1, ("alias1",))]
    assert len(many.items) == MODELS * VERSIONS_PER_MODEL
    for mv in many.items:
        assert mv.tags_dict == {"group": "big", "a.b": f"v{mv.version - 1}"}
        expected = {1: ("alias1",), VERSIONS_PER_MODEL: (f"alias{VERSIONS_PER_MODEL}",)}.get(mv.version, ())
        assert mv.aliases == expected, (mv.name, mv.version, mv.aliases)


def test_search_registered_models_issues_the_same_commands_for_one_and_thirty(world: World) -> None:
    def models(group: str) -> Callable[[], Any]:
        return lambda: world.registry.search_registered_models(
            parse_filter(SearchKind.REGISTERED_MODELS, f"tags.group = '{group}'")
        )

    one, many = compare(world, "search_registered_models", models("small"), models("big"))
    assert [m.name for m in one.items] == ["solo"]
    assert len(many.items) == MODELS
    for model in many.items:
        assert model.aliases_dict == {"alias1": 1, f"alias{VERSIONS_PER_MODEL}": VERSIONS_PER_MODEL}
        assert [mv.version for mv in model.latest_versions] == [VERSIONS_PER_MODEL]
