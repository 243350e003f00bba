"""The throttling proxy against a real MongoDB server: Cosmos's 16500 where it should be, nothing else.

Skipped, with the reason, when ``GENESIS_TEST_MONGO_URI`` is unset.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure, OperationFailure
from pymongo.write_concern import WriteConcern

from tests.fault_proxy import ThrottlingProxy, cosmos_throttle_message

MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")


@pytest.fixture
def upstream() -> str:
    if not MONGO_URI:
        pytest.skip("GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)")
    return MONGO_URI


@pytest.fixture
def direct(upstream: str) -> Iterator[MongoClient]:
    """A client straight to the server, to see what really happened behind the proxy."""
    client: MongoClient = MongoClient(upstream, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def db_name(direct: MongoClient) -> Iterator[str]:
    name = f"gf_fault_proxy_{uuid.uuid4().hex[:12]}"
    yield name
    direct.drop_database(name)


def through(proxy: ThrottlingProxy) -> MongoClient:
    # No driver retries: every injected fault must reach the test.
    return MongoClient(proxy.uri, retryWrites=False, retryReads=False, serverSelectionTimeoutMS=5000)


def test_rate_one_throttles_data_commands_but_never_ping(upstream: str, db_name: str) -> None:
    with ThrottlingProxy(upstream, rate=1.0, seed=1) as proxy:
        client = through(proxy)
        try:
            assert client.admin.command("ping")["ok"] == 1.0
            with pytest.raises(OperationFailure) as caught:
                client[db_name].runs.find_one({})
            with pytest.raises(OperationFailure):
                client[db_name].runs.insert_one({"x": 1})
            assert client.admin.command("ping")["ok"] == 1.0
        finally:
            client.close()
        assert proxy.injected == 2
        assert proxy.injected_by_command == {"find": 1, "insert": 1}
    error = caught.value
    assert error.code == 16500
    assert error.details is not None
    assert error.details["codeName"] == "RequestRateTooLarge"
    assert "RetryAfterMs=3" in str(error)
    match = re.search(r"RetryAfterMs=(\d+)", error.details["errmsg"])
    assert match is not None and int(match.group(1)) == 3
    assert "TooManyRequests (429)" in error.details["errmsg"]


def test_throttled_write_never_reaches_the_server(upstream: str, direct: MongoClient, db_name: str) -> None:
    with ThrottlingProxy(upstream, rate=1.0, retry_after_ms=17) as proxy:
        client = through(proxy)
        try:
            with pytest.raises(OperationFailure, match="RetryAfterMs=17"):
                client[db_name].runs.insert_one({"_id": "throttled"})
        finally:
            client.close()
    assert direct[db_name].runs.find_one({"_id": "throttled"}) is None


def test_rate_zero_passes_everything_and_writes_land_on_the_server(
    upstream: str, direct: MongoClient, db_name: str
) -> None:
    with ThrottlingProxy(upstream, rate=0.0) as proxy:
        client = through(proxy)
        try:
            runs = client[db_name].runs
            runs.insert_many([{"_id": i, "v": i * i} for i in range(5)])
            runs.update_one({"_id": 2}, {"$set": {"v": -1}})
            runs.create_index("v")
            assert runs.count_documents({}) == 5
            assert sorted(doc["_id"] for doc in runs.find({"v": {"$gte": 0}})) == [0, 1, 3, 4]
        finally:
            client.close()
        assert proxy.injected == 0
        assert proxy.injected_by_command == {}
        assert proxy.forwarded > 0
    assert direct[db_name].runs.find_one({"_id": 2}) == {"_id": 2, "v": -1}


def _throttled_steps(upstream: str, db_name: str, seed: int, steps: int) -> tuple[list[int], int]:
    """Which of ``steps`` identical finds were throttled, and the proxy's count."""
    with ThrottlingProxy(upstream, rate=0.5, seed=seed) as proxy:
        client = through(proxy)
        throttled: list[int] = []
        try:
            for step in range(steps):
                try:
                    client[db_name].runs.find_one({"_id": step})
                except OperationFailure as error:
                    assert error.code == 16500
                    throttled.append(step)
        finally:
            client.close()
        return throttled, proxy.injected


def test_a_seed_gives_the_same_faults_on_every_run(upstream: str, db_name: str) -> None:
    steps = 120
    first, injected = _throttled_steps(upstream, db_name, seed=42, steps=steps)
    second, _ = _throttled_steps(upstream, db_name, seed=42, steps=steps)
    other, _ = _throttled_steps(upstream, db_name, seed=43, steps=steps)
    assert injected == len(first)
    assert 35 <= injected <= 85
    assert first == second
    assert first != other


def test_paused_proxy_passes_throttleable_commands(upstream: str, db_name: str) -> None:
    with ThrottlingProxy(upstream, rate=1.0) as proxy:
        client = through(proxy)
        try:
            with proxy.paused():
                client[db_name].runs.insert_one({"_id": 1})
                assert client[db_name].runs.find_one({"_id": 1}) == {"_id": 1}
            assert proxy.enabled
            with pytest.raises(OperationFailure):
                client[db_name].runs.find_one({"_id": 1})
            proxy.pause()
            assert client[db_name].runs.find_one({"_id": 1}) == {"_id": 1}
            proxy.resume()
            with pytest.raises(OperationFailure):
                client[db_name].runs.find_one({"_id": 1})
        finally:
            client.close()
        assert proxy.injected == 2


def test_unacknowledged_writes_are_never_throttled(upstream: str, direct: MongoClient, db_name: str) -> None:
    with ThrottlingProxy(upstream, rate=1.0) as proxy:
        client = through(proxy)
        try:
            fire_and_forget = client[db_name].get_collection("runs", write_concern=WriteConcern(w=0))
            fire_and_forget.insert_one({"_id": "w0"})
            deadline = time.monotonic() + 5
            while direct[db_name].runs.find_one({"_id": "w0"}) is None:
                assert time.monotonic() < deadline, "the w=0 insert never reached the server"
                time.sleep(0.02)
        finally:
            client.close()
        assert proxy.injected == 0


def test_a_lost_reply_fails_the_client_but_the_write_happened(
    upstream: str, direct: MongoClient, db_name: str
) -> None:
    with ThrottlingProxy(upstream, rate=0.0, lost_reply_rate=1.0) as proxy:
        client = through(proxy)
        try:
            assert client.admin.command("ping")["ok"] == 1.0
            with pytest.raises(ConnectionFailure):
                client[db_name].runs.insert_one({"_id": "lost"})
            # The proxy keeps working for commands it does not touch, on a fresh connection.
            assert client.admin.command("ping")["ok"] == 1.0
        finally:
            client.close()
        assert proxy.lost_replies == 1
        assert proxy.injected == 0
    assert direct[db_name].runs.find_one({"_id": "lost"}) == {"_id": "lost"}


def test_the_message_keeps_cosmos_spelling() -> None:
    message = cosmos_throttle_message(250, "00000000-0000-4000-8000-000000000000")
    assert message.startswith("Error=16500, RetryAfterMs=250, Details='Response status code")
    assert (
        "TooManyRequests (429); Substatus: 3200; ActivityId: 00000000-0000-4000-8000-000000000000" in message
    )
    assert "Request rate is large" in message


def test_upstream_may_be_a_uri_or_host_port(upstream: str) -> None:
    host_port = upstream.split("://", 1)[1].split("/", 1)[0]
    with ThrottlingProxy(host_port, rate=0.0) as proxy:
        client = through(proxy)
        try:
            assert client.admin.command("ping")["ok"] == 1.0
        finally:
            client.close()
    with pytest.raises(RuntimeError):
        _ = ThrottlingProxy(upstream).uri
