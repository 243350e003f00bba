"""Runs far larger than one document may be: 1000 params of 6000 characters (6 MB) plus long tags.

Cosmos DB refuses documents over 2 MB, and a MongoDB document stops at 16 MB; MLflow lets a run
hold that much anyway. Every backend must store and return each value in full, compare it in
full (a value that differs only in its last character is another value) and order by it; the
document backends must also keep each raw run document under 2 MB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from genesis_flow.core.entities import Param, RunTag
from genesis_flow.core.errors import GenesisError
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import BASE_TIME, new_run

PARAMS = 1000
BATCH = 100
PARAM_LENGTH = 6000
TAG_LENGTH = 8000
TAGS = 5
COSMOS_DOCUMENT_LIMIT = 2 * 1024 * 1024


def long_value(i: int, last: str = "m", length: int = PARAM_LENGTH) -> str:
    """A value of ``length`` characters, distinct per ``i`` early on, ending in ``last``."""
    return (f"v{i:04d}-" * (length // 6 + 1))[: length - 1] + last


def long_tag(j: int, last: str = "m") -> str:
    return long_value(5000 + j, last, TAG_LENGTH)


def search(
    tracking: TrackingStore, experiment_id: str, flt: str = "", order: Sequence[str] = ()
) -> list[str]:
    page = tracking.search_runs(
        [experiment_id],
        filter=parse_filter(SearchKind.RUNS, flt),
        order_by=parse_order_by(SearchKind.RUNS, list(order)),
    )
    return [r.info.run_id for r in page]


def error_code(call: Any, *args: Any, **kwargs: Any) -> str | None:
    try:
        call(*args, **kwargs)
    except GenesisError as exc:
        return exc.error_code
    return None


def raw_run_size(tracking: TrackingStore, run_id: str) -> int | None:
    """Bytes of the stored run document on a document backend, else None."""
    database = getattr(tracking, "database", None)
    if database is None or not hasattr(database, "__getitem__"):
        return None
    import bson

    def read() -> Any:
        return database["runs"].find_one({"_id": run_id})

    # Through the store's retry policy when it has one (the cosmos backend throttles reads).
    doc = database.call(read) if hasattr(database, "call") else read()
    assert doc is not None, run_id
    return len(bson.encode(doc))


@pytest.mark.slow
def test_a_run_of_six_megabytes_of_params_is_stored_compared_and_ordered_in_full(
    tracking: TrackingStore,
) -> None:
    experiment_id = tracking.create_experiment("large")
    big = new_run(tracking, experiment_id, start_time=BASE_TIME + 2, name="big")
    for start in range(0, PARAMS, BATCH):
        tracking.log_batch(
            big, params=[Param(f"p{i:04d}", long_value(i)) for i in range(start, start + BATCH)]
        )
    tracking.log_batch(big, tags=[RunTag(f"long{j}", long_tag(j)) for j in range(TAGS)])
    # Two small runs whose p0999 differs from the big run's only in the last character.
    low = new_run(tracking, experiment_id, start_time=BASE_TIME + 1, name="low")
    tracking.log_batch(low, params=[Param("p0999", long_value(999, "a")), Param("p0500", "short")])
    high = new_run(tracking, experiment_id, start_time=BASE_TIME, name="high")
    tracking.log_batch(high, params=[Param("p0999", long_value(999, "z"))], tags=[RunTag("long0", "short")])

    # --- read back in full
    run = tracking.get_run(big)
    assert run.data.params_dict == {f"p{i:04d}": long_value(i) for i in range(PARAMS)}
    tags = run.data.tags_dict
    for j in range(TAGS):
        assert tags[f"long{j}"] == long_tag(j), j
    assert {r.info.run_id: len(r.data.params) for r in tracking.search_runs([experiment_id])} == {
        big: PARAMS,
        low: 2,
        high: 1,
    }
    found = next(r for r in tracking.search_runs([experiment_id]) if r.info.run_id == big)
    assert found.data.params_dict == run.data.params_dict
    assert found.data.tags_dict == run.data.tags_dict

    # --- compared in full
    x = experiment_id
    assert search(tracking, x, f"params.p0999 = '{long_value(999)}'") == [big]
    assert search(tracking, x, f"params.p0999 = '{long_value(999, 'q')}'") == []
    assert search(tracking, x, f"params.p0999 = '{long_value(999, 'a')}'") == [low]
    assert search(tracking, x, f"params.p0500 LIKE '%{long_value(500)[-10:]}'") == [big]
    assert search(tracking, x, f"params.p0500 LIKE '{long_value(500)[:10]}%'") == [big]
    assert search(tracking, x, f"params.p0500 LIKE '%{long_value(500, 'q')[-10:]}'") == []
    assert sorted(search(tracking, x, f"params.p0999 != '{long_value(999)}'")) == sorted([low, high])
    assert sorted(search(tracking, x, f"params.p0999 != '{long_value(999, 'a')}'")) == sorted([big, high])
    assert search(tracking, x, f"params.p0001 != '{long_value(1)}'") == []
    assert search(tracking, x, f"params.p0001 != '{long_value(1, 'q')}'") == [big]
    assert search(tracking, x, f"tags.long3 = '{long_tag(3)}'") == [big]
    assert search(tracking, x, f"tags.long3 = '{long_tag(3, 'q')}'") == []
    assert search(tracking, x, f"tags.long4 LIKE '%{long_tag(4)[-10:]}'") == [big]
    assert search(tracking, x, "params.p0999 IS NOT NULL and params.p0000 IS NOT NULL") == [big]

    # --- params stay immutable, compared in full
    tracking.log_param(big, Param("p0999", long_value(999)))  # the same value again: a no-op
    tracking.log_batch(big, params=[Param(f"p{i:04d}", long_value(i)) for i in range(900, 1000)])
    assert (
        error_code(tracking.log_param, big, Param("p0999", long_value(999, "q"))) == "INVALID_PARAMETER_VALUE"
    )
    changed = [Param("p1000", "new"), Param("p0998", long_value(998, "q"))]
    assert error_code(tracking.log_batch, big, params=changed) == "INVALID_PARAMETER_VALUE"
    params = tracking.get_run(big).data.params_dict
    assert "p1000" not in params
    assert params["p0999"] == long_value(999) and params["p0998"] == long_value(998)

    # --- a long tag overwritten with a short value and back
    tracking.set_tag(big, RunTag("long0", "short"))
    assert tracking.get_run(big).data.tags_dict["long0"] == "short"
    assert sorted(search(tracking, x, "tags.long0 = 'short'")) == sorted([big, high])
    assert search(tracking, x, f"tags.long0 = '{long_tag(0)}'") == []
    tracking.set_tag(big, RunTag("long0", long_tag(0, "n")))
    assert tracking.get_run(big).data.tags_dict["long0"] == long_tag(0, "n")
    assert search(tracking, x, "tags.long0 = 'short'") == [high]
    assert search(tracking, x, f"tags.long0 = '{long_tag(0, 'n')}'") == [big]
    assert search(tracking, x, f"tags.long0 = '{long_tag(0)}'") == []
    tracking.delete_tag(big, "long1")
    assert "long1" not in tracking.get_run(big).data.tags_dict
    assert search(tracking, x, f"tags.long1 = '{long_tag(1)}'") == []
    assert search(tracking, x, "tags.long1 IS NULL", order=["attributes.start_time DESC"]) == [big, low, high]

    # --- document backends: every run document stays under Cosmos DB's limit
    size = raw_run_size(tracking, big)
    if size is not None:
        print(f"raw run document: {size} bytes for {PARAMS * PARAM_LENGTH + TAGS * TAG_LENGTH} characters")
        assert size < COSMOS_DOCUMENT_LIMIT, size

    # --- ordered in full (checked last): the p0999 values differ only in their last character
    name = {big: "big", low: "low", high: "high"}

    def ordered(*order: str) -> list[str]:
        return [name[run_id] for run_id in search(tracking, x, order=order)]

    assert ordered("params.p0999 ASC") == ["low", "big", "high"]
    assert ordered("params.p0999 DESC") == ["high", "big", "low"]
    assert ordered("params.p0500 DESC") == ["big", "low", "high"]  # high has none: last both ways
    assert ordered("params.p0500 ASC") == ["low", "big", "high"]  # "short" < "v0500-..."
    assert ordered("params.p0001 ASC", "attributes.start_time ASC") == ["big", "high", "low"]


def test_long_values_under_the_document_budget_are_compared_in_full(tracking: TrackingStore) -> None:
    # Few long values: they stay inline on the document backends; the same answers are due.
    experiment_id = tracking.create_experiment("inline")
    run_ids = []
    for last in "bac":
        run_id = new_run(tracking, experiment_id, name=last)
        tracking.log_batch(
            run_id,
            params=[Param(f"q{i}", long_value(i, last)) for i in range(10)],
            tags=[RunTag("t", long_tag(0, last))],
        )
        run_ids.append(run_id)
    b, a, c = run_ids
    assert search(tracking, experiment_id, order=["params.q9 ASC"]) == [a, b, c]
    assert search(tracking, experiment_id, order=["tags.t DESC"]) == [c, b, a]
    assert search(tracking, experiment_id, f"params.q3 = '{long_value(3, 'c')}'") == [c]
    assert sorted(search(tracking, experiment_id, f"params.q3 != '{long_value(3, 'c')}'")) == sorted([a, b])
    assert error_code(tracking.log_param, a, Param("q0", long_value(0, "z"))) == "INVALID_PARAMETER_VALUE"
    assert tracking.get_run(a).data.params_dict["q0"] == long_value(0, "a")
