"""Round trips of the Mongo adapter's tracing (docs/adr/0015): bounded whatever the trace's size.

A pymongo ``CommandListener`` counts the commands each store call sends: a 1000-span
``log_spans`` is a fixed handful, ``get_trace`` of it at most two, the exporter's pattern (one
``log_spans`` per span, then ``start_trace``) a fixed number per call, and a span too large for
one Cosmos DB document (2 MB) is stored in pieces and read back whole. Skipped, with the reason,
when ``GENESIS_TEST_MONGO_URI`` is unset.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from functools import partial

import pytest

pytest.importorskip("pymongo", reason="pymongo is not installed (extra 'mongo')")

from genesis_flow.core.tracing import (
    SPANS_IN_TRACKING_STORE,
    SPANS_LOCATION_TAG,
    Span,
    SpanEvent,
    TraceInfo,
    TraceState,
)
from tests.integration.test_mongo_commands import Commands, with_database

MONGO_URI = os.environ.get("GENESIS_TEST_MONGO_URI")
pytestmark = pytest.mark.skipif(not MONGO_URI, reason="GENESIS_TEST_MONGO_URI is unset")
T0_NS = 1_700_000_000_000_000_000
COSMOS_DOCUMENT_LIMIT = 2 * 1024 * 1024


class World:
    def __init__(self, uri: str) -> None:
        from genesis_flow.adapters.mongo import MongoDatabase, MongoTrackingStore

        self.name = f"gf_tracing_{uuid.uuid4().hex[:12]}"
        self.commands = Commands(self.name)
        self.db = MongoDatabase.from_uri(
            with_database(uri, self.name), serverSelectionTimeoutMS=5000, event_listeners=[self.commands]
        )
        self.store = MongoTrackingStore(self.db)
        self.experiment = self.store.create_experiment("traces")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    assert MONGO_URI is not None
    w = World(MONGO_URI)
    try:
        yield w
    finally:
        w.db.drop_all()
        w.db.close()


def trace_id() -> str:
    return f"tr-{uuid.uuid4().hex}"


def span(tid: str, i: int, *, payload: str = "x" * 200) -> Span:
    return Span(
        tid,
        f"{i:016x}",
        f"span {i}",
        T0_NS + i * 1000,
        parent_id=None if i == 0 else f"{0:016x}",
        end_time_ns=T0_NS + i * 1000 + 500,
        status_code="OK",
        attributes={"mlflow.spanInputs": json.dumps({"q": payload}), "mlflow.spanType": '"LLM"'},
        events=(SpanEvent("token", T0_NS + i * 1000 + 1, {"n": i}),),
    )


def test_a_thousand_spans_are_written_in_a_few_commands_and_read_in_two(world: World) -> None:
    tid = trace_id()
    spans = [span(tid, i) for i in range(1000)]
    _, written = world.commands.during(lambda: world.store.log_spans(world.experiment, spans))
    # experiment check, known traces, the spans' bulk write, the new trace's info.
    assert sum(written.values()) <= 4, written
    assert written["update"] <= 2, written

    trace, read = world.commands.during(lambda: world.store.get_trace(tid))
    assert sum(read.values()) <= 2, read
    assert [s.span_id for s in trace.spans] == [f"{i:016x}" for i in range(1000)]
    assert trace.spans[5] == spans[5]
    assert trace.info.state is TraceState.OK

    traces, batch = world.commands.during(lambda: world.store.batch_get_traces([tid, "tr-unknown", tid]))
    assert sum(batch.values()) <= 2, batch
    assert [t.info.trace_id for t in traces] == [tid]
    assert len(traces[0].spans) == 1000


def test_the_exporters_pattern_costs_a_fixed_number_of_commands_per_call(world: World) -> None:
    tid = trace_id()
    per_call = []
    for i in [*range(1, 20), 0]:
        _, counts = world.commands.during(partial(world.store.log_spans, world.experiment, [span(tid, i)]))
        per_call.append(sum(counts.values()))
    # A child changing nothing of the info: experiment, infos, spans; the root closes the trace
    # (one more bulk write of the info's changes).
    assert per_call[0] <= 4 and all(n <= 3 for n in per_call[1:-1]) and per_call[-1] <= 4, per_call
    info = TraceInfo(tid, world.experiment, T0_NS // 1_000_000, "OK", execution_duration=5, tags={"a.b": "c"})
    stored, counts = world.commands.during(lambda: world.store.start_trace(info))
    assert sum(counts.values()) <= 2, counts
    # The root span named the trace and the spans marked it as kept in the store; start_trace
    # merges its tags into that.
    assert stored.tags == {
        "a.b": "c",
        "mlflow.traceName": "span 0",
        SPANS_LOCATION_TAG: SPANS_IN_TRACKING_STORE,
    }
    assert stored.state is TraceState.OK
    assert len(world.store.get_trace(tid).spans) == 20


def test_a_span_over_cosmos_dbs_document_limit_is_stored_in_pieces(world: World) -> None:
    tid = trace_id()
    # Non-ASCII text: the limit is in bytes, and pieces must not split a character.
    big = span(tid, 0, payload="é" * (COSMOS_DOCUMENT_LIMIT // 2 + 100_000))
    spans = [big, *(span(tid, i) for i in range(1, 50))]
    world.store.log_spans(world.experiment, spans)
    largest = max(len(json.dumps(d, default=repr)) for d in world.db["spans"].find({"tr": tid}, {"_id": 0}))
    assert largest < COSMOS_DOCUMENT_LIMIT
    trace, read = world.commands.during(lambda: world.store.get_trace(tid))
    assert sum(read.values()) <= 2, read
    assert trace.spans[0] == big

    # Rewritten smaller, then larger again: the latest version is what reads back.
    small = span(tid, 0, payload="small")
    world.store.log_spans(world.experiment, [small])
    assert world.store.get_trace(tid).spans[0] == small
    bigger = span(tid, 0, payload="ü" * (COSMOS_DOCUMENT_LIMIT + 5))
    world.store.log_spans(world.experiment, [bigger])
    assert world.store.get_trace(tid).spans[0] == bigger

    assert world.store.delete_traces(world.experiment, trace_ids=[tid]) == 1
    assert world.db["spans"].count_documents({"tr": tid}) == 0


def test_a_search_is_one_command_whatever_the_order(world: World) -> None:
    from genesis_flow.core.search import SearchKind, parse_filter, parse_order_by

    infos = [
        TraceInfo(trace_id(), world.experiment, 1000 + k, tags={"env": "prod" if k % 2 else "dev"})
        for k in range(30)
    ]
    for info in infos:
        world.store.start_trace(info)
    flt = parse_filter(SearchKind.TRACES, "tags.env = 'prod'")
    for order in ([], ["tags.env DESC"], ["execution_time_ms ASC"]):
        page, counts = world.commands.during(
            partial(
                world.store.search_traces,
                [world.experiment],
                flt,
                max_results=10,
                order_by=parse_order_by(SearchKind.TRACES, order),
            )
        )
        assert sum(counts.values()) == 1, (order, counts)
        assert len(page.items) == 10 and page.next_page_token
