"""Beneath the domain's text checks: a driver handed text it cannot store gives the caller's error.

The ports refuse lone surrogates and NUL characters before any driver sees them
(tests/contract/test_hostile_ids.py). Should a path still hand such text to a driver, its refusal
(SQLite's and psycopg's UnicodeEncodeError, PostgreSQL's NUL refusal, BSON's encoding error) must
come out of the adapter's one error translation as INVALID_PARAMETER_VALUE, never raw; where a
driver can hold the text (SQLite and MongoDB keep a NUL), it answers normally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.ports import TrackingStore
from genesis_flow.testing import Unavailable
from genesis_flow.testing.support import TickingClock
from tests.contract.backends import open_backend, required_backends

HOSTILE = {"surrogate": "x\ud800", "nul": "a\x00b"}


@pytest.fixture(scope="module", params=["sql-sqlite", "sql-postgres", "mongo", "cosmos"])
def tracking(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackingStore]:
    try:
        backend = open_backend(request.param, artifact_root=str(tmp_path_factory.mktemp("artifacts")))
    except Unavailable as exc:
        if request.param in required_backends():
            pytest.fail(f"{exc} (GENESIS_REQUIRED_BACKENDS lists it: CI must run it)", pytrace=False)
        pytest.skip(str(exc))
    yield backend.make_tracking(TickingClock())
    backend.close()


def _probe(store: TrackingStore, text: str) -> Callable[[], Any]:
    """A raw driver round trip of ``text`` through the adapter's own error translation."""
    database: Any = cast(Any, store).database
    if hasattr(database, "transact"):  # SQL
        import sqlalchemy as sa

        return lambda: database.transact(
            lambda conn: conn.execute(sa.text("SELECT :x"), {"x": text}).scalar()
        )
    return lambda: database.call(lambda: database["runs"].find_one({"_id": text}))


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_driver_refusing_unstorable_text_gives_invalid_parameter_value(
    tracking: TrackingStore, text: str
) -> None:
    try:
        answer = _probe(tracking, text)()
    except InvalidParameterValue as error:
        assert "surrogate" in str(error) or "NUL" in str(error), str(error)
    else:
        assert answer in (text, None)  # a driver that holds a NUL: the value back, or no such run


def test_the_probe_reaches_the_driver(tracking: TrackingStore, tmp_path: Path) -> None:
    # Plain text goes through the same path and comes back, so the test above exercises the driver.
    assert _probe(tracking, "plain")() in ("plain", None)
