"""The Cosmos DB adapter's own policies: throttling (16500) waited out within a budget, then a clear
REQUEST_LIMIT_EXCEEDED; URI options of ours kept away from pymongo; no retryable writes; unique
indexes never silently missing; no password in any error.

Against the MongoDB test server, throttled the way Cosmos DB throttles by
:class:`tests.fault_proxy.ThrottlingProxy`. The tests that need no server run without it; the
others are skipped, with the reason, when ``GENESIS_TEST_MONGO_URI`` is unset.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest

pytest.importorskip("pymongo", reason="pymongo is not installed (extra 'mongo')")

from pymongo import MongoClient
from pymongo.errors import AutoReconnect, BulkWriteError, DuplicateKeyError, OperationFailure

from genesis_flow.adapters.cosmos import CosmosDatabase, is_cosmos_uri
from genesis_flow.adapters.cosmos.database import throttle_wait_ms
from genesis_flow.adapters.mongo import MongoDatabase, MongoRegistryStore, MongoTrackingStore
from genesis_flow.adapters.mongo.database import MongoTarget
from genesis_flow.core.entities import Metric, Param, RunTag
from genesis_flow.core.errors import GenesisError
from tests.fault_proxy import ThrottlingProxy, cosmos_throttle_message

MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")
T0 = 1_600_000_000_000


def with_database(uri: str, name: str, extra: str = "") -> str:
    """``uri`` naming database ``name``, with ``extra`` (``a=b&c=d``) added to its query."""
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, extra) if q)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, query, parts.fragment))


@pytest.fixture(scope="module")
def upstream() -> str:
    if not MONGO_URI:
        pytest.skip("GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)")
    return MONGO_URI


@pytest.fixture
def db_name(upstream: str) -> Iterator[str]:
    name = f"gf_cosmos_{uuid.uuid4().hex[:12]}"
    yield name
    direct: MongoClient[Any] = MongoClient(upstream, serverSelectionTimeoutMS=5000)
    direct.drop_database(name)
    direct.close()


def code_of(error: BaseException) -> str | None:
    return error.error_code if isinstance(error, GenesisError) else None


# --- (a) reading the throttling error -------------------------------------------------------------


def throttled(retry_after_ms: int | None) -> OperationFailure:
    message = (
        cosmos_throttle_message(retry_after_ms, "0000")
        if retry_after_ms is not None
        else "Error=16500, Details='Response status code does not indicate success: TooManyRequests (429)'"
    )
    return OperationFailure(message, code=16500, details={"ok": 0.0, "errmsg": message, "code": 16500})


def test_throttle_wait_is_read_from_an_operation_failure() -> None:
    assert throttle_wait_ms(throttled(17)) == 17
    assert throttle_wait_ms(throttled(1500)) == 1500
    # Throttled without a hint: a default wait, never None.
    wait = throttle_wait_ms(throttled(None))
    assert isinstance(wait, int) and wait > 0


def test_throttle_wait_is_read_from_a_bulk_write_error() -> None:
    errors = [
        {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"},
        {"index": 1, "code": 16500, "errmsg": cosmos_throttle_message(42, "0001")},
    ]
    bulk = BulkWriteError({"writeErrors": errors, "nInserted": 0})
    assert throttle_wait_ms(bulk) == 42
    only_duplicates = BulkWriteError({"writeErrors": errors[:1], "nInserted": 0})
    assert throttle_wait_ms(only_duplicates) is None


@pytest.mark.parametrize(
    "error",
    [
        OperationFailure("E11000 duplicate key", code=11000, details={"code": 11000, "errmsg": "E11000"}),
        OperationFailure("RetryAfterMs=5 but another code", code=112, details={"code": 112}),
        DuplicateKeyError("E11000 duplicate key", code=11000),
        AutoReconnect("connection closed"),
        OperationFailure("no code"),
    ],
)
def test_throttle_wait_is_none_for_other_errors(error: Any) -> None:
    assert throttle_wait_ms(error) is None


# --- (d) URI options ---------------------------------------------------------------------------------


def test_is_cosmos_uri() -> None:
    assert is_cosmos_uri("mongodb://u:p@acct.mongo.cosmos.azure.com:10255/?ssl=true")
    assert is_cosmos_uri("mongodb://u:p@ACCT.MONGO.COSMOS.AZURE.COM:10255/db?ssl=true&replicaSet=globaldb")
    assert is_cosmos_uri("mongodb://localhost:27017/?genesis_cosmos=true")
    assert is_cosmos_uri("mongodb://localhost:27017/db?directConnection=true&genesis_cosmos=1")
    assert not is_cosmos_uri("mongodb://localhost:27017/")
    assert not is_cosmos_uri("mongodb://u:p@cosmos.azure.com.example.org:27017/")
    assert not is_cosmos_uri("mongodb://u:p@acct.mongo.cosmos.azure.com:10255/?genesis_cosmos=false")


@pytest.mark.parametrize("value", ["yes", "maybe", "2", "truee"])
def test_a_bad_genesis_cosmos_value_is_invalid(value: str) -> None:
    with pytest.raises(GenesisError) as caught:
        is_cosmos_uri(f"mongodb://localhost:27017/?genesis_cosmos={value}")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "genesis_cosmos" in str(caught.value)


def test_a_bad_retry_budget_is_invalid() -> None:
    with pytest.raises(GenesisError) as caught:
        MongoTarget("mongodb://localhost:27017/?genesis_retry_budget_ms=soon")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_our_uri_options_never_reach_pymongo() -> None:
    uri = (
        "mongodb://u:p@acct.mongo.cosmos.azure.com:10255/mydb?ssl=true&genesis_cosmos=true"
        "&replicaSet=globaldb&genesis_retry_budget_ms=250&retryWrites=false"
    )
    target = MongoTarget(uri)
    query = dict(parse_qsl(urlsplit(target.client_uri).query))
    assert query == {"ssl": "true", "replicaSet": "globaldb", "retryWrites": "false"}
    assert target.database == "mydb" and target.cosmos and target.retry_budget_ms == 250
    assert "genesis" not in target.client_uri.lower()
    # The password stays for pymongo (it authenticates with it), but never in what we show.
    assert "u:p@" in target.client_uri
    assert ":p@" not in target.redacted


def test_a_client_made_from_our_uri_sees_none_of_our_options() -> None:
    uri = "mongodb://127.0.0.1:1/gf_db?genesis_cosmos=true&genesis_retry_budget_ms=50&appName=gf-test"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db = CosmosDatabase.from_uri(uri, serverSelectionTimeoutMS=100, connect=False)
    try:
        # pymongo warns about every URI option it does not know: none may be ours.
        assert [str(w.message) for w in caught if "genesis" in str(w.message).lower()] == []
        assert db.client.options.retry_writes is False
        assert db.retry_budget_ms == 50
        assert db.name == "gf_db"
        # The client's repr lists the options it was given, from the URI and as arguments.
        shown = repr(db.client).lower()
        assert "appname='gf-test'" in shown and "retrywrites=false" in shown
        assert "genesis" not in shown
    finally:
        db.close()


def test_a_plain_mongo_client_keeps_retryable_writes() -> None:
    db = MongoDatabase.from_uri("mongodb://127.0.0.1:1/gf_db?genesis_retry_budget_ms=50", connect=False)
    try:
        assert db.client.options.retry_writes is True
        assert "genesis" not in repr(db.client).lower()
    finally:
        db.close()


@pytest.mark.parametrize("database_class", [MongoDatabase, CosmosDatabase])
def test_options_in_the_uri_win_over_the_adapters_defaults(database_class: Any) -> None:
    uri = "mongodb://127.0.0.1:1/gf_db?serverSelectionTimeoutMS=300&uuidRepresentation=pythonLegacy"
    db = database_class.from_uri(uri, connect=False)
    try:
        assert db.client.options.server_selection_timeout == 0.3
        assert db.client.codec_options.uuid_representation == 3  # PYTHON_LEGACY
    finally:
        db.close()


# --- (g) passwords --------------------------------------------------------------------------------


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_password_in_the_error_for_an_unreachable_server() -> None:
    # The timeout as users give it, in the URI.
    uri = f"mongodb://user:secret@127.0.0.1:{unused_port()}/gf_db?serverSelectionTimeoutMS=300&genesis_cosmos=true"
    started = time.monotonic()
    with pytest.raises(GenesisError) as caught:
        MongoTrackingStore(CosmosDatabase.from_uri(uri))
    elapsed = time.monotonic() - started
    assert caught.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "secret" not in str(caught.value) and "secret" not in repr(caught.value)
    assert "127.0.0.1" in str(caught.value)  # it still says where
    assert elapsed < 3, f"{elapsed:.1f} s: the URI's serverSelectionTimeoutMS=300 was not used"


def test_no_password_in_the_error_for_an_unreachable_mongodb_server() -> None:
    uri = f"mongodb://user:secret@127.0.0.1:{unused_port()}/gf_db"
    with pytest.raises(GenesisError) as caught:
        MongoRegistryStore(MongoDatabase.from_uri(uri, serverSelectionTimeoutMS=300)).create_registered_model(
            "m"
        )
    assert caught.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "secret" not in str(caught.value) and "secret" not in repr(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://user:XYZZY@a:1,b:2/gf_db?directConnection=true",  # refused by pymongo
        "mongodb://user:XYZZY@127.0.0.1:1/gf_db?tls=true&ssl=false",
        "mongodb://user:XYZZY@127.0.0.1:1/bad.name",
        "mongodb://user:XYZZY@127.0.0.1:port/gf_db",  # not a port number
        # Passwords with characters that should have been percent-encoded: a common mistake,
        # and the part after the character must not show either.
        "mongodb://user:pw@XYZZY@127.0.0.1:1/gf_db",
        "mongodb://user:pw:XYZZY@127.0.0.1:1/gf_db",
        "mongodb://user:pw/XYZZY@127.0.0.1:1/gf_db",
        "mongodb://user:pw?XYZZY@127.0.0.1:1/gf_db",
    ],
)
def test_no_password_in_the_error_for_a_bad_uri(uri: str) -> None:
    with pytest.raises(GenesisError) as caught:
        CosmosDatabase.from_uri(uri, connect=False)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE", caught.value
    assert "XYZZY" not in str(caught.value), str(caught.value)


# --- (b), (c) throttling through the proxy ---------------------------------------------------------


def cosmos_store(
    proxy: ThrottlingProxy, db_name: str, extra: str = ""
) -> tuple[CosmosDatabase, MongoTrackingStore]:
    db = CosmosDatabase.from_uri(with_database(proxy.uri, db_name, extra), serverSelectionTimeoutMS=5000)
    with proxy.paused():
        store = MongoTrackingStore(db)  # indexes and the default experiment, unthrottled
    return db, store


def test_throttling_past_the_budget_is_request_limit_exceeded_and_quick(upstream: str, db_name: str) -> None:
    with ThrottlingProxy(upstream, rate=1.0, seed=3, retry_after_ms=3) as proxy:
        db, store = cosmos_store(proxy, db_name, "genesis_retry_budget_ms=50")
        try:
            for call in (
                lambda: store.get_experiment("0"),
                lambda: store.create_run("0", "alice", T0),
                lambda: store.search_runs(["0"]),
            ):
                before = proxy.injected
                started = time.monotonic()
                with pytest.raises(GenesisError) as caught:
                    call()
                elapsed = time.monotonic() - started
                error = caught.value
                assert error.error_code == "REQUEST_LIMIT_EXCEEDED", error
                assert "16500" in str(error) and "TooManyRequests" in str(error)
                assert "50 ms" in str(error)  # the budget it used
                assert "genesis_retry_budget_ms" in str(error)
                assert elapsed < 0.5, elapsed
                assert proxy.injected - before >= 2  # it did retry before giving up
        finally:
            db.close()
    assert db.throttled >= 6


def test_throttled_half_of_the_time_every_call_succeeds_and_data_is_exact(
    upstream: str, db_name: str
) -> None:
    with ThrottlingProxy(upstream, rate=0.5, seed=11, retry_after_ms=1) as proxy:
        db, store = cosmos_store(proxy, db_name)
        registry = MongoRegistryStore(db)
        try:
            experiment_id = store.create_experiment("throttled")
            run_ids = []
            for i in range(5):
                run_id = store.create_run(experiment_id, "alice", T0 + i, run_name=f"r{i}").info.run_id
                store.log_batch(
                    run_id,
                    metrics=[Metric("loss", float(s) + i, T0 + s, s) for s in range(20)],
                    params=[Param("lr", f"0.{i}"), Param("a.b", "x")],
                    tags=[RunTag("team", "nlp")],
                )
                store.log_metric(run_id, Metric("acc", 0.5, T0, 0))
                store.log_param(run_id, Param("lr", f"0.{i}"))  # the same value again: fine
                run_ids.append(run_id)
            registry.create_registered_model("model")
            versions = [registry.create_model_version("model", f"s3://m/{v}").version for v in range(6)]
            registry.set_registered_model_alias("model", "champion", 3)
            with proxy.paused():
                injected = proxy.injected
                for i, run_id in enumerate(run_ids):
                    run = store.get_run(run_id)
                    assert run.data.params_dict == {"lr": f"0.{i}", "a.b": "x"}
                    assert run.data.metrics_dict == {"loss": 19.0 + i, "acc": 0.5}
                    assert [m.value for m in store.get_metric_history(run_id, "loss").items] == [
                        float(s) + i for s in range(20)
                    ]
                found = store.search_runs([experiment_id])
                assert [r.info.run_id for r in found] == list(reversed(run_ids))
                assert versions == [1, 2, 3, 4, 5, 6], versions
                assert registry.get_model_version_by_alias("model", "champion").source == "s3://m/2"
                assert [mv.version for mv in registry.get_latest_versions("model")] == [6]
        finally:
            db.close()
    assert injected > 0
    assert db.throttled >= injected > 0
    print(f"\n{injected} throttling errors injected, {db.throttled} waited out, {db.retries} retries")


# --- (e), (f) indexes -------------------------------------------------------------------------------


def test_an_existing_collection_without_its_unique_index_is_refused(upstream: str, db_name: str) -> None:
    direct: MongoClient[Any] = MongoClient(upstream, serverSelectionTimeoutMS=5000)
    try:
        direct[db_name]["experiments"].insert_one({"_id": "0", "name": "Default"})
    finally:
        direct.close()
    db = CosmosDatabase.from_uri(with_database(upstream, db_name), serverSelectionTimeoutMS=5000)
    try:
        with pytest.raises(GenesisError) as caught:
            MongoTrackingStore(db)
        message = str(caught.value)
        assert caught.value.error_code == "INVALID_STATE"
        assert "'experiments'" in message and "genesis migrate" in message and "gf_name" in message
        # Still refused on the next call: the missing index is never papered over.
        with pytest.raises(GenesisError) as again:
            MongoRegistryStore(db).create_registered_model("m")
        assert again.value.error_code == "INVALID_STATE"
        assert "gf_name" not in {ix["name"] for ix in db["experiments"].list_indexes()}
    finally:
        db.close()


def test_a_new_database_gets_every_index_and_reports_wildcard_support(upstream: str, db_name: str) -> None:
    db = CosmosDatabase.from_uri(with_database(upstream, db_name), serverSelectionTimeoutMS=5000)
    try:
        assert db.wildcard_indexes is None
        db.ensure_indexes()
        assert isinstance(db.wildcard_indexes, bool)
        names = {ix["name"]: ix for ix in db["experiments"].list_indexes()}
        assert names["gf_name"].get("unique") is True
        run_indexes = {ix["name"] for ix in db["runs"].list_indexes()}
        assert "gf_exp_start" in run_indexes
        if db.wildcard_indexes:
            assert {"gf_p_any", "gf_t_any", "gf_m_any"} <= run_indexes
        # A second database object on the same (now indexed) database opens it fine.
        again = CosmosDatabase.from_uri(with_database(upstream, db_name), serverSelectionTimeoutMS=5000)
        try:
            store = MongoTrackingStore(again)
            assert store.get_experiment("0").name == "Default"
            assert again.wildcard_indexes == db.wildcard_indexes
        finally:
            again.close()
    finally:
        db.close()
