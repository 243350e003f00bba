"""The Mongo adapter's ``Diagnosable`` (Cosmos DB's too: its database class reports its policies
and its own indexes): how a database looks, found without creating a collection or an index."""

from __future__ import annotations

import uuid
from typing import Any

from genesis_flow.adapters.mongo.database import MongoDatabase, MongoTarget
from genesis_flow.adapters.mongo.schema import COLLECTIONS, INDEXES, SCHEMA_VERSION
from genesis_flow.core.diagnostics import (
    DatabaseKind,
    Diagnosis,
    IndexReport,
    Probe,
    attempt,
    failure_reason,
)
from genesis_flow.core.errors import TemporarilyUnavailable


class MongoDiagnostics:
    """The database at ``uri`` (of ``database_type``, which brings its policies), connected only by
    :meth:`diagnose`; ``connect_timeout_s`` unless the URI sets the driver's own timeouts."""

    def __init__(
        self, uri: str, *, database_type: type[MongoDatabase] = MongoDatabase, connect_timeout_s: float
    ) -> None:
        self._uri = uri
        self._database_type = database_type
        self._connect_timeout_s = connect_timeout_s

    def diagnose(self) -> Diagnosis:
        target = MongoTarget(self._uri)
        in_uri = {key.lower() for key, _ in target.options}
        options: dict[str, Any] = {}
        for option in ("serverSelectionTimeoutMS", "connectTimeoutMS"):
            if option.lower() not in in_uri:
                options[option] = int(self._connect_timeout_s * 1000)
        database = self._database_type.from_uri(self._uri, **options)
        try:
            try:
                database.client.admin.command("ping")
            except Exception as error:
                raise TemporarilyUnavailable(
                    f"cannot reach {target.redacted}: {failure_reason(error)}"
                ) from None
            return diagnose_database(database)
        finally:
            database.close()


def diagnose_database(database: MongoDatabase) -> Diagnosis:
    """The diagnosis of a reachable database (an open store's, or one opened for it)."""
    server = attempt(lambda: f"MongoDB {database.client.server_info()['version']}")
    present = tuple(database.db.list_collection_names())
    ours = any(name in present for name in COLLECTIONS)
    return Diagnosis(
        location=f"{database.where}, database {database.name!r}",
        server=server,
        versioned=False,
        kind=DatabaseKind.GENESIS if ours else DatabaseKind.EMPTY,
        schema_version=None,
        expected_schema_version=SCHEMA_VERSION,
        expected=COLLECTIONS,
        present=present,
        indexes=attempt(lambda: _indexes(database, set(present))),
        cosmos=attempt(database.policy_report),
        probe=attempt(lambda: _probe(database)),
    )


def _indexes(database: MongoDatabase, present: set[str]) -> IndexReport:
    expected = sum(len(specs) for specs in INDEXES.values())
    if not any(name in present for name in INDEXES):
        return IndexReport(expected, pending=True)
    missing: list[str] = []
    different: list[str] = []
    unexpected: list[str] = []
    for collection, specs in INDEXES.items():
        found = (
            {ix["name"]: ix for ix in database.db[collection].list_indexes()} if collection in present else {}
        )
        for spec in specs:
            index = found.pop(spec.name, None)
            if index is None:
                missing.append(f"{collection}.{spec.name}")
            elif list(index["key"].items()) != [(k, v) for k, v in spec.keys] or bool(
                index.get("unique", False)
            ) != bool(spec.unique):
                different.append(f"{collection}.{spec.name}")
        unexpected += [
            f"{collection}.{name}" for name in found if not database.is_extra_index(collection, name)
        ]
    return IndexReport(expected, tuple(missing), tuple(different), tuple(unexpected))


def _probe(database: MongoDatabase) -> Probe:
    name = f"genesis_doctor_{uuid.uuid4().hex}"
    collection = database.db[name]
    try:
        collection.insert_one({"_id": "probe", "v": 1})
        found = collection.find_one({"_id": "probe"})
        deleted = collection.delete_one({"_id": "probe"}).deleted_count
    finally:
        collection.drop()
    if found is None or found.get("v") != 1 or deleted != 1:
        return Probe(False, f"wrote 1 document to {name}, read {found!r}, deleted {deleted}")
    return Probe(True, f"wrote, read and deleted a document in {name} (dropped)")
