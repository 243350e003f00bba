"""Fresh stores for the tests that run real mlflow on our plugin, one per backend.

``fresh_plugin_uri(backend_id, name, workdir)`` yields the URI real mlflow reaches a new, empty
namespace with, on the backend ids of the contract suite that the plugin serves:

- ``sql-sqlite``: ``genesis+sqlite:///<workdir>/genesis.db``;
- ``sql-postgres``: ``genesis+postgresql://...`` on ``GENESIS_TEST_SQL_POSTGRES_URI`` with a new
  schema (``options=-csearch_path=<schema>``), dropped afterwards;
- ``mongo``: ``mongodb://.../<new database>`` on ``GENESIS_TEST_MONGO_URI``, dropped afterwards.

The namespaces are the differential test's (tests/differential/conftest.py), so both suites
create and drop them one way. A backend whose server is unavailable is skipped with its reason
printed, or fails when ``GENESIS_REQUIRED_BACKENDS`` lists it (CI must run it).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.contract.backends import required_backends
from tests.differential.conftest import open_backend, plugin_uri

# Every backend family the plugin serves, for the store-behaviour tests.
PLUGIN_BACKENDS = ["sql-sqlite", "sql-postgres", "mongo"]
# One backend per adapter (SQL, MongoDB), for what costs a server process or a browser and
# depends on the adapter rather than on the database server.
ONE_PER_FAMILY = ["sql-sqlite", "mongo"]


def required(backend: str) -> bool:
    return backend in required_backends()


@contextlib.contextmanager
def fresh_plugin_uri(backend_id: str, name: str, workdir: Path) -> Iterator[str]:
    """The plugin URI of a new namespace ``name`` on ``backend_id`` (SQLite files go in
    ``workdir``), emptied of Genesis-Flow's cached clients and dropped afterwards; or a skip (a
    failure where the backend is required) saying why the backend cannot run."""
    with contextlib.ExitStack() as stack:
        namespace = open_backend(backend_id, stack)
        yield plugin_uri(stack.enter_context(namespace(name, workdir)))


def fresh_database(prefix: str) -> contextlib.AbstractContextManager[str]:
    """The ``mongodb://`` URI of a new database on the MongoDB test server, dropped afterwards."""
    return fresh_plugin_uri("mongo", prefix, Path(tempfile.gettempdir()))
