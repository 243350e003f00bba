"""Cosmos DB for MongoDB policies on top of :class:`~genesis_flow.adapters.mongo.MongoDatabase`.

What differs from MongoDB, and what we do about it (the full mapping is docs/adr/0009):

* Retryable writes are not supported: the client runs with ``retryWrites=false``; our writes are
  idempotent, so :meth:`MongoDatabase.call` sends them again itself after a lost reply.
* Throttling: a request over the provisioned RU/s fails with error 16500 (TooManyRequests) and
  "no changes were made"; the message carries ``RetryAfterMs``. We wait that long (plus jitter,
  so many clients do not return in step) and send it again, for at most the retry budget, then
  raise REQUEST_LIMIT_EXCEEDED naming the throttling.
* Unique indexes can only be created on an empty collection: they are created when the database
  is new; an existing collection without one is refused with a clear error, never left without it.
* Sorts need an index: wildcard indexes on the run documents' key subdocuments (params, tags,
  metrics) where the server supports them; a server that refuses them is detected and noted.
"""

from __future__ import annotations

import random
import re
import time
import warnings
from typing import Any

from pymongo.errors import BulkWriteError, OperationFailure, PyMongoError

from genesis_flow.adapters.mongo.database import MongoDatabase, MongoTarget, make_client
from genesis_flow.adapters.mongo.schema import INDEXES
from genesis_flow.core.diagnostics import CosmosReport
from genesis_flow.core.errors import GenesisError, InvalidState, RequestLimitExceeded

THROTTLED = 16500
DEFAULT_RETRY_BUDGET_MS = 60_000
_RETRY_AFTER = re.compile(r"RetryAfterMs=(\d+)")
# Key subdocuments of run documents that searches filter and sort on.
WILDCARD_PATHS = ("p.$**", "t.$**", "m.$**")


def _wildcard_name(path: str) -> str:
    return f"gf_{path[0]}_any"


def is_cosmos_uri(uri: str) -> bool:
    """Whether ``uri`` names Cosmos DB: a ``*.cosmos.azure.com`` host or ``genesis_cosmos=true``."""
    return MongoTarget(uri).cosmos


def throttle_wait_ms(error: PyMongoError) -> int | None:
    """The wait Cosmos DB asks for when ``error`` is its throttling error, else None."""
    if isinstance(error, BulkWriteError):
        errors = error.details.get("writeErrors", [])
        throttled = [e for e in errors if e.get("code") == THROTTLED]
        if not throttled:
            return None
        text = str(throttled[0].get("errmsg", ""))
    elif isinstance(error, OperationFailure) and error.code == THROTTLED:
        text = str((error.details or {}).get("errmsg", error))
    else:
        return None
    found = _RETRY_AFTER.search(text)
    return int(found.group(1)) if found else 100


class CosmosDatabase(MongoDatabase):
    """A Cosmos DB for MongoDB database, with Cosmos DB's policies. Thread-safe."""

    cosmos = True

    def __init__(
        self,
        client: Any,
        name: str,
        *,
        where: str,
        retry_budget_ms: int | None = None,
        hidden: tuple[str, ...] = (),
        cosmos_host: bool = False,
    ) -> None:
        super().__init__(
            client,
            name,
            where=where,
            retry_budget_ms=retry_budget_ms,
            hidden=hidden,
            cosmos_host=cosmos_host,
        )
        self.throttled = 0  # 16500 answers seen (and waited out)
        self.wildcard_indexes: bool | None = None  # None until the indexes were checked

    @classmethod
    def from_uri(cls, uri: str, **client_options: Any) -> CosmosDatabase:
        target = MongoTarget(uri)
        # Cosmos DB does not support retryable writes; pymongo must not ask for them.
        client_options["retryWrites"] = False
        with warnings.catch_warnings():
            # pymongo warns that the host is Cosmos DB: we know, and this class is what handles it.
            warnings.filterwarnings("ignore", message=".*CosmosDB.*", category=UserWarning)
            client = make_client(target, **client_options)
        return cls(
            client,
            target.database,
            where=target.redacted,
            retry_budget_ms=target.retry_budget_ms,
            hidden=target.hidden,
            cosmos_host=target.cosmos_host,
        )

    def _retry_delay(
        self, error: PyMongoError, attempt: int, started: float, idempotent: bool
    ) -> float | None:
        wait_ms = throttle_wait_ms(error)
        if wait_ms is None:
            return super()._retry_delay(error, attempt, started, idempotent)
        self.throttled += 1
        # Throttled requests changed nothing, so even a counter increment may be sent again.
        delay = wait_ms / 1000 * (1 + 0.5 * random.random())
        budget = (self.retry_budget_ms or DEFAULT_RETRY_BUDGET_MS) / 1000
        if time.monotonic() - started + delay > budget:
            return None
        return delay

    def translate(self, error: BaseException) -> GenesisError:
        if isinstance(error, PyMongoError) and throttle_wait_ms(error) is not None:
            budget = self.retry_budget_ms or DEFAULT_RETRY_BUDGET_MS
            return RequestLimitExceeded(
                f"Cosmos DB at {self.where} kept throttling requests (error 16500, TooManyRequests:"
                f" the request rate exceeds the provisioned throughput) for the whole retry budget of"
                f" {budget} ms. Raise the RU/s of the database or container, or retry later; the budget"
                " is the URI option genesis_retry_budget_ms."
            )
        return super().translate(error)

    def policy_report(self) -> CosmosReport:
        return CosmosReport(
            enabled=True,
            host_is_cosmos=self.cosmos_host,
            retry_writes=self.client.options.retry_writes,
            retry_budget_ms=self.retry_budget_ms or DEFAULT_RETRY_BUDGET_MS,
            budget_from_uri=bool(self.retry_budget_ms),
        )

    def is_extra_index(self, collection: str, name: str) -> bool:
        wildcard = collection == "runs" and name in {_wildcard_name(path) for path in WILDCARD_PATHS}
        return wildcard or super().is_extra_index(collection, name)

    def _create_indexes(self) -> None:
        for collection, specs in INDEXES.items():
            existing = {ix["name"]: ix for ix in self.db[collection].list_indexes()}
            for spec in specs:
                if spec.name in existing:
                    continue
                if spec.unique and self.db[collection].find_one({}, {"_id": 1}) is not None:
                    raise InvalidState(
                        f"The collection {collection!r} of the Cosmos DB database {self.name!r} at"
                        f" {self.where} has documents but no unique index {spec.name} on"
                        f" {[k for k, _ in spec.keys]}. Cosmos DB creates unique indexes only on empty"
                        " collections, and without it names could be duplicated: move the data into a new"
                        " database with `genesis migrate`."
                    )
                self.db[collection].create_index(spec.keys, unique=spec.unique, name=spec.name)
        self.wildcard_indexes = self._create_wildcard_indexes()

    def _create_wildcard_indexes(self) -> bool:
        """Wildcard indexes let Cosmos DB sort and filter on any param, tag or metric; a server
        without them still answers, by scanning one experiment's runs."""
        runs = self.db["runs"]
        existing = {ix["name"] for ix in runs.list_indexes()}
        try:
            for wildcard in WILDCARD_PATHS:
                name = _wildcard_name(wildcard)
                if name not in existing:
                    runs.create_index([(wildcard, 1)], name=name)
        except OperationFailure as error:
            if throttle_wait_ms(error) is not None:
                raise
            return False
        return True
