"""Idempotent writes of the Mongo adapter (and the Cosmos adapter): a reply lost on the network, or
a call simply sent twice, stores nothing twice and reports no error of its own making.

The store talks to the test server through :class:`tests.fault_proxy.ThrottlingProxy`, told to lose
the reply of the next command of a given name (the server applies it, the client never learns):
the write is then sent again, by pymongo (retryable writes, the ``mongo`` variant), or by
``MongoDatabase.call`` itself when the driver does not retry writes (``mongo-no-driver-retry`` and
``cosmos``, whose client runs with ``retryWrites=false`` as Cosmos DB requires).

Racing writers (one param, model version numbers) are in tests/contract/test_concurrency.py, so
every backend runs them. Skipped, with the reason, when ``GENESIS_TEST_MONGO_URI`` is unset.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest.importorskip("pymongo", reason="pymongo is not installed (extra 'mongo')")

from pymongo import MongoClient

from genesis_flow.core.entities import Metric, Param, RunTag
from genesis_flow.core.errors import GenesisError
from genesis_flow.testing.support import TickingClock
from tests.fault_proxy import _MORE_TO_COME, ThrottlingProxy

MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")
VARIANTS = ["mongo", "mongo-no-driver-retry", "cosmos"]
T0 = 1_600_000_000_000


class LosingProxy(ThrottlingProxy):
    """A proxy that throttles nothing and loses the reply of exactly the commands it is told to."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, rate=0.0, lost_reply_rate=0.0)
        self._targets: dict[str, int] = {}
        self._target_lock = threading.Lock()

    def lose_next(self, command: str, count: int = 1) -> None:
        with self._target_lock:
            self._targets[command] = self._targets.get(command, 0) + count

    def pending(self) -> dict[str, int]:
        with self._target_lock:
            return {name: n for name, n in self._targets.items() if n}

    def _decide(self, command: str | None, flags: int) -> str:
        if command is not None and self.enabled and not flags & _MORE_TO_COME:
            with self._target_lock:
                if self._targets.get(command, 0) > 0:
                    self._targets[command] -= 1
                    return "lose"
        return super()._decide(command, flags)


def with_database(uri: str, name: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="module")
def upstream() -> str:
    if not MONGO_URI:
        pytest.skip("GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)")
    return MONGO_URI


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[LosingProxy]:
    with LosingProxy(upstream) as started:
        yield started


class Stores:
    def __init__(self, variant: str, database: Any, proxy: LosingProxy) -> None:
        from genesis_flow.adapters.mongo import MongoRegistryStore, MongoTrackingStore

        self.variant = variant
        self.db = database
        self.proxy = proxy
        self.tracking = MongoTrackingStore(database, clock=TickingClock())
        self.registry = MongoRegistryStore(database, clock=TickingClock())

    def losing(self, command: str) -> _Losing:
        return _Losing(self, command)


class _Losing:
    """Lose the reply of the next ``command`` inside the block; check that it really happened."""

    def __init__(self, stores: Stores, command: str) -> None:
        self.stores = stores
        self.command = command

    def __enter__(self) -> None:
        self.lost = self.stores.proxy.lost_replies
        self.retries = self.stores.db.retries
        self.stores.proxy.lose_next(self.command)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        pending = self.stores.proxy.pending()
        if pending:  # never sent: do not let it hit the next test
            self.stores.proxy.lose_next(self.command, -pending[self.command])
        if exc_type is None:
            assert not pending, f"no {self.command!r} command was sent: the test arranged nothing"
            assert self.stores.proxy.lost_replies == self.lost + 1
            if self.stores.variant != "mongo":
                # No driver retry: the store itself must have sent the work again.
                assert self.stores.db.retries > self.retries


@pytest.fixture(params=VARIANTS)
def stores(request: pytest.FixtureRequest, upstream: str, proxy: LosingProxy) -> Iterator[Stores]:
    from genesis_flow.adapters.cosmos import CosmosDatabase
    from genesis_flow.adapters.mongo import MongoDatabase

    name = f"gf_writes_{uuid.uuid4().hex[:12]}"
    uri = with_database(proxy.uri, name)
    if request.param == "cosmos":
        database: Any = CosmosDatabase.from_uri(uri, serverSelectionTimeoutMS=5000)
    elif request.param == "mongo":
        database = MongoDatabase.from_uri(uri, serverSelectionTimeoutMS=5000)
    else:
        database = MongoDatabase.from_uri(
            uri, serverSelectionTimeoutMS=5000, retryWrites=False, retryReads=False
        )
    try:
        yield Stores(request.param, database, proxy)
    finally:
        database.close()
        direct: MongoClient[Any] = MongoClient(upstream, serverSelectionTimeoutMS=5000)
        direct.drop_database(name)
        direct.close()


def points(n: int, key: str = "loss") -> list[Metric]:
    return [Metric(key, float(step) / 2, T0 + step, step) for step in range(n)]


def history(stores: Stores, run_id: str, key: str) -> list[tuple[float, int, int]]:
    return [(m.value, m.timestamp, m.step) for m in stores.tracking.get_metric_history(run_id, key).items]


def new_run(stores: Stores) -> str:
    return stores.tracking.create_run("0", "alice", T0, run_name="r").info.run_id


# --- (a) lost replies -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["findAndModify", "insert", "update"])
def test_log_batch_whose_reply_is_lost_stores_each_point_once(stores: Stores, command: str) -> None:
    # log_batch: "findAndModify" writes params, tags, latest values and the points as pending,
    # "insert" the points into the history, "update" takes the pending points out of the run.
    run_id = new_run(stores)
    loss, acc = points(10), points(5, "acc")
    with stores.losing(command):
        stores.tracking.log_batch(
            run_id, metrics=[*loss, *acc], params=[Param("lr", "0.1")], tags=[RunTag("t", "1")]
        )
    assert history(stores, run_id, "loss") == [(m.value, m.timestamp, m.step) for m in loss]
    assert history(stores, run_id, "acc") == [(m.value, m.timestamp, m.step) for m in acc]
    data = stores.tracking.get_run(run_id).data
    assert data.metrics_dict == {"loss": 4.5, "acc": 2.0}
    assert data.params_dict == {"lr": "0.1"}
    assert data.tags_dict["t"] == "1"


@pytest.mark.parametrize("command", ["findAndModify", "insert", "update"])
def test_log_metric_whose_reply_is_lost_stores_the_point_once(stores: Stores, command: str) -> None:
    # log_metric: "findAndModify" is the latest value (with the point pending), "insert" the
    # point, "update" the pending point's removal from the run document.
    run_id = new_run(stores)
    stores.tracking.log_metric(run_id, Metric("loss", 1.0, T0, 0))
    with stores.losing(command):
        stores.tracking.log_metric(run_id, Metric("loss", 0.5, T0 + 1, 1))
    stores.tracking.log_metric(run_id, Metric("loss", 0.75, T0 + 1, 1))  # same step, bigger value
    assert history(stores, run_id, "loss") == [(1.0, T0, 0), (0.5, T0 + 1, 1), (0.75, T0 + 1, 1)]
    assert stores.tracking.get_run(run_id).data.metrics_dict == {"loss": 0.75}


def test_log_param_whose_reply_is_lost_is_not_a_conflict_with_itself(stores: Stores) -> None:
    run_id = new_run(stores)
    with stores.losing("update"):
        stores.tracking.log_param(run_id, Param("lr", "0.1"))
    assert stores.tracking.get_run(run_id).data.params_dict == {"lr": "0.1"}
    with pytest.raises(GenesisError) as caught:
        stores.tracking.log_param(run_id, Param("lr", "0.2"))
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_create_run_whose_reply_is_lost_creates_one_run(stores: Stores) -> None:
    with stores.losing("insert"):
        run = stores.tracking.create_run("0", "alice", T0, run_name="once")
    found = stores.tracking.search_runs(["0"])
    assert [r.info.run_id for r in found] == [run.info.run_id]
    assert stores.tracking.get_run(run.info.run_id).info.run_name == "once"


def test_log_inputs_whose_reply_is_lost_attaches_the_dataset_once(stores: Stores) -> None:
    from genesis_flow.core.entities import Dataset, DatasetInput, InputTag

    run_id = new_run(stores)
    dataset = DatasetInput(
        Dataset("train", "d1", "s3", "s3://b/train"), (InputTag("mlflow.data.context", "t"),)
    )
    with stores.losing("update"):  # the datasets upsert
        stores.tracking.log_inputs(run_id, [dataset])
    assert stores.tracking.get_run(run_id).inputs.dataset_inputs == (dataset,)
    assert len(stores.tracking.search_datasets(["0"])) == 1


# --- (b) the same call twice -------------------------------------------------------------------------


def test_the_same_log_batch_twice_stores_nothing_twice(stores: Stores) -> None:
    run_id = new_run(stores)
    batch: dict[str, Any] = {
        "metrics": [*points(20), *points(3, "acc")],
        "params": [Param("lr", "0.1"), Param("a.b", "x")],
        "tags": [RunTag("t", "1"), RunTag("a.b", "y")],
    }
    stores.tracking.log_batch(run_id, **batch)
    first = stores.tracking.get_run(run_id).data
    stores.tracking.log_batch(run_id, **batch)
    assert stores.tracking.get_run(run_id).data == first
    assert history(stores, run_id, "loss") == [(m.value, m.timestamp, m.step) for m in points(20)]
    assert len(history(stores, run_id, "acc")) == 3
    # An overlapping batch adds only the new points.
    stores.tracking.log_batch(run_id, metrics=points(25))
    assert history(stores, run_id, "loss") == [(m.value, m.timestamp, m.step) for m in points(25)]
    assert stores.tracking.get_run(run_id).data.metrics_dict["loss"] == 12.0
    # The raw collection agrees: one document per point.
    assert stores.db["metrics"].count_documents({"r": run_id}) == 25 + 3


# --- (c) what a killed writer leaves behind ---------------------------------------------------------


def plant_pending(stores: Stores, run_id: str, metrics: list[Metric], written_at: int) -> None:
    """The run document as a writer killed between its two writes leaves it: latest values and
    the points pending, no history."""
    from genesis_flow.adapters.mongo.keys import path
    from genesis_flow.adapters.mongo.mapping import latest_doc, pending_entry

    entry = pending_entry(uuid.uuid4().hex, written_at, metrics)
    stores.db["runs"].update_one(
        {"_id": run_id},
        {
            "$set": {path("m", metrics[-1].key): latest_doc(metrics[-1])},
            "$push": {"w": entry},
            "$inc": {"wz": entry["z"]},
        },
    )
    assert stores.db["metrics"].count_documents({"r": run_id, "k": metrics[0].key}) == 0


def pending_left(stores: Stores, run_id: str) -> int:
    doc = stores.db["runs"].find_one({"_id": run_id}) or {}
    assert doc.get("wz", 0) == sum(e["z"] for e in doc.get("w") or ())
    return len(doc.get("w") or ())


def test_points_a_killed_writer_left_pending_are_completed_by_the_history_reader(stores: Stores) -> None:
    import time

    run_id = new_run(stores)
    loss = points(5)
    plant_pending(stores, run_id, loss, written_at=time.time_ns() // 1_000_000)  # within the lease
    assert stores.tracking.get_run(run_id).data.metrics_dict == {"loss": 2.0}
    assert pending_left(stores, run_id) == 1  # get_run leaves a young entry to its writer
    assert history(stores, run_id, "loss") == [(m.value, m.timestamp, m.step) for m in loss]
    assert pending_left(stores, run_id) == 0
    assert history(stores, run_id, "loss") == [(m.value, m.timestamp, m.step) for m in loss]


def test_points_a_killed_writer_left_pending_count_once_in_the_history_lengths(stores: Stores) -> None:
    import time

    run_id = new_run(stores)
    stores.tracking.log_batch(run_id, metrics=points(2))
    plant_pending(stores, run_id, points(5, "acc"), written_at=time.time_ns() // 1_000_000)
    assert stores.tracking.metric_history_lengths(run_id) == {"loss": 2, "acc": 5}
    assert pending_left(stores, run_id) == 0
    assert stores.tracking.metric_history_lengths(run_id) == {"loss": 2, "acc": 5}


def test_points_left_pending_past_the_lease_are_completed_by_get_run_and_the_next_writer(
    stores: Stores,
) -> None:
    run_id = new_run(stores)
    plant_pending(stores, run_id, points(3), written_at=0)
    stores.tracking.get_run(run_id)
    assert pending_left(stores, run_id) == 0
    assert stores.db["metrics"].count_documents({"r": run_id}) == 3
    plant_pending(stores, run_id, points(4, "acc"), written_at=0)
    stores.tracking.log_metric(run_id, Metric("other", 1.0, T0, 0))
    assert pending_left(stores, run_id) == 0
    assert stores.db["metrics"].count_documents({"r": run_id}) == 3 + 4 + 1


def test_a_rename_a_killed_writer_left_half_done_is_finished_by_the_next_search(stores: Stores) -> None:
    from genesis_flow.core.search import parse_filter
    from genesis_flow.core.search.ast import SearchKind

    stores.registry.create_registered_model("old")
    for _ in range(2):
        stores.registry.create_model_version("old", "s3://b/m")
    # The model document renamed, with the rename recorded; the versions not yet.
    stores.db["registered_models"].update_one(
        {"name": "old"},
        {"$set": {"name": "new", "rs": 1, "pd": {"op": "rename", "n": "new", "ut": T0, "s": 1}}},
    )
    found = stores.registry.search_model_versions(parse_filter(SearchKind.MODEL_VERSIONS, "name = 'new'"))
    assert sorted(mv.version for mv in found.items) == [1, 2]
    assert stores.db["model_versions"].count_documents({"n": "old"}) == 0
    assert stores.db["registered_models"].count_documents({"pd": {"$exists": True}}) == 0


def test_a_deletion_a_killed_writer_left_half_done_is_finished_by_the_next_call(stores: Stores) -> None:
    from genesis_flow.core.errors import ResourceDoesNotExist

    stores.registry.create_registered_model("gone")
    stores.registry.create_model_version("gone", "s3://b/m")
    stores.db["registered_models"].update_one(
        {"name": "gone"}, {"$set": {"rs": 1, "pd": {"op": "delete", "s": 1}}}
    )
    with pytest.raises(ResourceDoesNotExist):
        stores.registry.get_registered_model("gone")
    assert stores.db["model_versions"].count_documents({}) == 0
    stores.registry.create_registered_model("gone")  # the name is free again
    assert stores.registry.get_registered_model("gone").latest_versions == ()
