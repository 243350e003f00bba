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
from typing import Any

from genesis_flow.ports import Clock, RegistryStore, TrackingStore
from tests.contract.backends import Backend, Unavailable

RING = 4
THROTTLE_RATE = 0.2
THROTTLE_SEED = 20261122


def open_mongo_backend(backend_id: str, *, artifact_root: str) -> Backend:
    try:
        import pymongo  # noqa: F401
    except ImportError:
        raise Unavailable(f"backend {backend_id!r}: pymongo is not installed (extra 'mongo')") from None
    from genesis_flow.adapters.mongo import MongoDatabase
    from genesis_flow.adapters.mongo.database import COLLECTIONS, redact

    proxy: Any = None
    cosmos_uri = os.environ.get("GENESIS_TEST_COSMOS_URI") if backend_id == "cosmos" else None
    uri = cosmos_uri or os.environ.get("GENESIS_TEST_MONGO_URI")
    if not uri:
        raise Unavailable(
            f"backend {backend_id!r}: GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)"
        )
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
        if proxy is not None:
            retried = sum(db.retries for db in databases)
            STATS[backend_id] = (
                f"{proxy.injected} throttling errors (16500) injected"
                f" ({dict(sorted(proxy.injected_by_command.items()))}), {retried} calls retried"
            )
            proxy.stop()

    return Backend(backend_id, tracking, registry, close)


STATS: dict[str, str] = {}


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
