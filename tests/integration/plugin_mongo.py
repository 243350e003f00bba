"""A fresh database on the MongoDB test server, for the tests that run real mlflow on our plugin.

Without a server (``GENESIS_TEST_MONGO_URI`` unset) a test is skipped with its reason printed, or
fails when ``GENESIS_REQUIRED_BACKENDS`` lists ``mongo`` (CI must run it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.contract.backends import required_backends

ENV = "GENESIS_TEST_MONGO_URI"


def required(backend: str) -> bool:
    return backend in required_backends()


def mongo_base_uri() -> str:
    """The test server's URI, or a skip (a failure where mongo is required) saying why."""
    base = os.environ.get(ENV)
    if not base:
        message = f"{ENV} is unset: the plugin needs a MongoDB server (scripts/services.sh starts one)"
        if required("mongo"):
            pytest.fail(message + " (GENESIS_REQUIRED_BACKENDS lists mongo)", pytrace=False)
        print(f"skipped: {message}")
        pytest.skip(message)
    return base


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """The URI of a new database ``<prefix>_<random>`` on the test server, dropped afterwards."""
    base = mongo_base_uri()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield urlunsplit(urlsplit(base)._replace(path="/" + name))
    finally:
        import pymongo  # the mongo extra: the tests that use this have checked it is installed

        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(base, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(name)
