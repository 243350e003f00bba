"""The MongoDB backends of the contract suite: ``mongo`` and ``cosmos``.

``mongo`` is the Mongo adapter on ``GENESIS_TEST_MONGO_URI``. ``cosmos`` is the Cosmos adapter:
on a real account when ``GENESIS_TEST_COSMOS_URI`` is set, otherwise on the same MongoDB test
server behind :class:`tests.fault_proxy.ThrottlingProxy`, which answers a fifth of the commands
with Cosmos DB's throttling error (16500), so the adapter's retry path runs under the whole suite.

Each backend keeps a small ring of databases, each with one client for the session; ``make_*``
takes the next database of the ring and empties its collections (keeping their indexes), so the
stores a test holds at once never share data and no test pays for creating indexes.
"""

from __future__ import annotations

import itertools
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from genesis_flow.ports import Clock, RegistryStore, TrackingStore
from genesis_flow.testing import Backend, Unavailable

RING = 4
THROTTLE_RATE = 0.2
THROTTLE_SEED = 20261122


def open_mongo_backend(backend_id: str, *, artifact_root: str) -> Backend:
    try:
        import pymongo  # noqa: F401
    except ImportError:
        raise Unavailable(f"backend {backend_id!r}: pymongo is not installed (extra 'mongo')") from None
    from genesis_flow.adapters.mongo import MongoDatabase
    from genesis_flow.adapters.mongo.schema import COLLECTIONS
    from genesis_flow.core.redaction import redact_uri as redact

    proxy: Any = None
    cosmos_uri = os.environ.get("GENESIS_TEST_COSMOS_URI") if backend_id == "cosmos" else None
    uri = cosmos_uri or os.environ.get("GENESIS_TEST_MONGO_URI")
    container: Any = None
    if not uri:
        container, uri = _start_container(backend_id)
    prefix = f"gf_test_{secrets.token_hex(4)}"
    if backend_id == "cosmos":
        from genesis_flow.adapters.cosmos import CosmosDatabase

        if cosmos_uri is None:
            from tests.fault_proxy import ThrottlingProxy

            proxy = ThrottlingProxy(uri, rate=THROTTLE_RATE, seed=THROTTLE_SEED, retry_after_ms=2).start()
            uri = proxy.uri

        def database(i: int) -> Any:
            return CosmosDatabase.from_uri(
                _with_database(uri, f"{prefix}_{i}"), serverSelectionTimeoutMS=5000
            )

    else:

        def database(i: int) -> Any:
            return MongoDatabase.from_uri(_with_database(uri, f"{prefix}_{i}"), serverSelectionTimeoutMS=5000)

    databases = [database(i) for i in range(RING)]
    try:
        with _paused(proxy):
            databases[0].client.admin.command("ping")
    except Exception as error:
        for db in databases:
            db.close()
        if proxy is not None:
            proxy.stop()
        raise Unavailable(f"backend {backend_id!r}: cannot reach {redact(uri)}: {error}") from None
    ring = itertools.cycle(databases)

    def fresh() -> Any:
        db = next(ring)
        with _paused(proxy):
            db.ensure_indexes()
            for name in COLLECTIONS:
                db[name].delete_many({})
        return db

    def tracking(clock: Clock) -> TrackingStore:
        from genesis_flow.adapters.mongo import MongoTrackingStore

        return MongoTrackingStore(fresh(), clock=clock, artifact_root=artifact_root)

    def registry(clock: Clock) -> RegistryStore:
        from genesis_flow.adapters.mongo import MongoRegistryStore

        return MongoRegistryStore(fresh(), clock=clock)

    def close() -> None:
        with _paused(proxy):
            for db in databases:
                db.drop_all()
                db.close()
        if container is not None:
            container.stop()
        if proxy is not None:
            # Several suites open the same backend id in one session: the summary is their sum.
            stats = STATS.setdefault(backend_id, ThrottlingStats())
            stats.injected += proxy.injected
            for command, count in proxy.injected_by_command.items():
                stats.by_command[command] = stats.by_command.get(command, 0) + count
            stats.retried += sum(db.retries for db in databases)
            stats.wildcard |= {db.wildcard_indexes for db in databases} - {None}
            proxy.stop()

    return Backend(backend_id, tracking, registry, close)


@dataclass
class ThrottlingStats:
    """What the fault proxy injected into one backend id over the session, and what was retried."""

    injected: int = 0
    by_command: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    wildcard: set[bool] = field(default_factory=set)

    def __str__(self) -> str:
        return (
            f"{self.injected} throttling errors (16500) injected ({dict(sorted(self.by_command.items()))}),"
            f" {self.retried} calls retried; wildcard indexes accepted by the server: {sorted(self.wildcard)}"
        )


STATS: dict[str, ThrottlingStats] = {}


def _start_container(backend_id: str) -> tuple[Any, str]:
    """Without a server URI: MongoDB 7 as a one-node replica set in a container, when the
    ``testcontainers`` package and a Docker engine are there; else the reason to skip."""
    unset = f"backend {backend_id!r}: GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)"
    try:
        # Optional: absent from the dev extra, so a type check may not find it.
        from testcontainers.core.container import DockerContainer  # type: ignore[import-not-found]
    except ImportError:
        raise Unavailable(f"{unset}, and testcontainers is not installed") from None
    try:
        container = (
            DockerContainer("mongo:7").with_command("--replSet rs0 --bind_ip_all").with_exposed_ports(27017)
        )
        container.start()
        uri = f"mongodb://{container.get_container_host_ip()}:{container.get_exposed_port(27017)}/?directConnection=true"
        import pymongo

        client: Any = pymongo.MongoClient(uri, serverSelectionTimeoutMS=30_000)
        client.admin.command(
            "replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": "localhost:27017"}]}
        )
        import time

        deadline = time.monotonic() + 30
        while not client.admin.command("hello").get("isWritablePrimary"):  # elected within seconds
            if time.monotonic() > deadline:
                raise TimeoutError("the replica set elected no primary within 30 s")
            time.sleep(0.2)
        client.close()
    except Exception as error:
        raise Unavailable(f"{unset}, and no MongoDB container could be started: {error}") from None
    return container, uri


class _paused:
    """Injection off while the suite's own housekeeping runs (it is not under test)."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy

    def __enter__(self) -> None:
        if self.proxy is not None:
            self.proxy.pause()

    def __exit__(self, *exc: object) -> None:
        if self.proxy is not None:
            self.proxy.resume()


def _with_database(uri: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
