"""Tracing: trace infos and spans (the ``TraceStore`` half of every tracking store).

Both writers of MLflow's exporter in any order (``log_spans`` and ``start_trace``), retries, exact
round trips of spans, errors that store nothing, tags, ``search_traces`` (every key of the grammar,
orders with missing values, paging), ``delete_traces``, and agreement with the memory oracle.
Writes are few and batched: a Mongo write costs about 10 ms.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest
from attrs import evolve

from genesis_flow.adapters.memory import InMemoryTrackingStore
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import (
    ExperimentNotFound,
    InvalidParameterValue,
    ResourceDoesNotExist,
    TraceNotFound,
)
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.core.tracing import (
    MAX_PREVIEW_LENGTH,
    MAX_TRACE_TAG_VALUE_LENGTH,
    SOURCE_RUN_METADATA,
    SPAN_INPUTS_ATTRIBUTE,
    SPAN_OUTPUTS_ATTRIBUTE,
    SPAN_TYPE_ATTRIBUTE,
    SPANS_IN_TRACKING_STORE,
    SPANS_LOCATION_TAG,
    TRACE_NAME_TAG,
    Span,
    SpanEvent,
    SpanLink,
    SpanStatusCode,
    Trace,
    TraceInfo,
    TraceState,
    started,
)
from genesis_flow.ports import TraceStore, TrackingStore
from genesis_flow.testing.support import SteppedClock, outcome
from genesis_flow.testing.tracking_helpers import all_pages, tampered

pytestmark = pytest.mark.genesis_requires("tracing")

MS = 1_000_000  # nanoseconds per millisecond
BASE_MS = 1_700_000_000_000


def tid(n: int | str) -> str:
    """An MLflow-shaped trace id."""
    text = f"{n:032x}" if isinstance(n, int) else str(n) * 32
    return "tr-" + text[:32]


def sid(n: int) -> str:
    """An MLflow-shaped span id (16 hex digits)."""
    return f"{n:016x}"


def traces_of(tracking: TrackingStore) -> TraceStore:
    assert isinstance(tracking, TraceStore)
    return tracking


@pytest.fixture
def store(tracking: TrackingStore) -> TraceStore:
    return traces_of(tracking)


@pytest.fixture
def exp(tracking: TrackingStore) -> str:
    return tracking.create_experiment("traces")


def info(trace_id: str, experiment_id: str, request_time: int = BASE_MS, **kwargs: object) -> TraceInfo:
    return TraceInfo(trace_id, experiment_id, request_time, **kwargs)  # type: ignore[arg-type]


# What log_spans tags a trace with, and what start_trace stores (MLflow's rules, in the domain).
IN_STORE = {SPANS_LOCATION_TAG: SPANS_IN_TRACKING_STORE}


def span(
    trace_id: str,
    n: int,
    start_ms: int = BASE_MS,
    parent: int | None = None,
    end_ms: int | None = None,
    **kwargs: object,
) -> Span:
    return Span(
        trace_id,
        sid(n),
        kwargs.pop("name", f"span-{n}"),  # type: ignore[arg-type]
        start_ms * MS,
        parent_id=None if parent is None else sid(parent),
        end_time_ns=None if end_ms is None else end_ms * MS,
        **kwargs,  # type: ignore[arg-type]
    )


def search(
    store: TraceStore,
    experiment_ids: Sequence[str],
    flt: str = "",
    order: Sequence[str] = (),
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[TraceInfo]:
    return store.search_traces(
        list(experiment_ids),
        filter=parse_filter(SearchKind.TRACES, flt),
        max_results=max_results,
        order_by=parse_order_by(SearchKind.TRACES, list(order)),
        page_token=page_token,
    )


def trace_ids(page: Sequence[TraceInfo] | Page[TraceInfo]) -> list[str]:
    return [i.trace_id for i in page]


def assert_absent(store: TraceStore, *ids: str) -> None:
    for trace_id in ids:
        with pytest.raises(TraceNotFound):
            store.get_trace_info(trace_id)


# --- start_trace / get_trace_info / get_trace ---------------------------------------------------------


def test_start_trace_round_trips_every_field_and_state(store: TraceStore, exp: str) -> None:
    written = [
        info(
            tid(1),
            exp,
            BASE_MS,
            state=TraceState.OK,
            execution_duration=125,
            request_preview='{"q": "hällo ✓"}',
            response_preview='"answer"',
            client_request_id="client-1",
            tags={TRACE_NAME_TAG: "chat", "a.b": "dotted", "u": "ü", "with space/and:colon": "x"},
            metadata={SOURCE_RUN_METADATA: "run-1", "mlflow.user": "alice", "k.with.dots": "v", "$x": "ü"},
        ),
        info(tid(2), exp, BASE_MS + 1, state=TraceState.ERROR, execution_duration=0),
        info(tid(3), exp, 0, state=TraceState.IN_PROGRESS),
        info(tid(4), exp, BASE_MS + 3, state=TraceState.STATE_UNSPECIFIED, request_preview=""),
    ]
    for trace in written:
        assert store.start_trace(trace) == started(trace)
    for trace in written:
        assert store.get_trace_info(trace.trace_id) == started(trace)
        assert store.get_trace(trace.trace_id) == Trace(started(trace), ())
    got = store.get_trace_info(tid(1))
    assert (got.name, got.run_id, got.end_time) == ("chat", "run-1", BASE_MS + 125)
    assert store.get_trace_info(tid(3)).execution_duration is None
    assert store.get_trace_info(tid(3)).end_time is None


def test_start_trace_retried_is_idempotent(store: TraceStore, exp: str) -> None:
    trace = info(tid(1), exp, tags={"k": "v"}, metadata={"m": "1"}, request_preview="in")
    assert store.start_trace(trace) == started(trace)
    assert store.start_trace(trace) == started(trace)
    assert store.get_trace_info(tid(1)) == started(trace)
    assert trace_ids(search(store, [exp])) == [tid(1)]


def test_start_trace_on_an_existing_trace_merges(store: TraceStore, exp: str) -> None:
    first = info(
        tid(1),
        exp,
        BASE_MS,
        state=TraceState.IN_PROGRESS,
        request_preview="req",
        response_preview="resp",
        client_request_id="c-1",
        tags={"keep": "1", "both": "old"},
        metadata={"mkeep": "1", "mboth": "old"},
    )
    store.start_trace(first)
    second = info(
        tid(1),
        exp,
        BASE_MS + 5,
        state=TraceState.OK,
        execution_duration=40,
        response_preview="new resp",
        tags={"both": "new", "added": "2"},
        metadata={"mboth": "new"},
    )
    expected = started(
        info(
            tid(1),
            exp,
            BASE_MS + 5,
            state=TraceState.OK,
            execution_duration=40,
            request_preview="req",
            response_preview="new resp",
            client_request_id=None,
            tags={"keep": "1", "both": "new", "added": "2"},
            metadata={"mkeep": "1", "mboth": "new"},
        )
    )
    assert store.start_trace(second) == expected
    assert store.get_trace_info(tid(1)) == expected


# --- log_spans ------------------------------------------------------------------------------------------


def test_spans_before_their_trace_create_it(store: TraceStore, exp: str) -> None:
    inputs, outputs = '{"question": "what?"}', '"42"'
    store.log_spans(
        exp,
        [
            # trace 1: only a child so far -> IN_PROGRESS, request time from the earliest start
            span(tid(1), 2, BASE_MS + 7, parent=1, end_ms=BASE_MS + 9),
            span(tid(1), 3, BASE_MS + 5, parent=1),
            # trace 2: root in ERROR with its inputs and outputs
            span(
                tid(2),
                1,
                BASE_MS + 100,
                end_ms=BASE_MS + 350,
                name="agent",
                status_code=SpanStatusCode.ERROR,
                status_message="boom",
                attributes={SPAN_INPUTS_ATTRIBUTE: inputs, SPAN_OUTPUTS_ATTRIBUTE: outputs},
            ),
            span(tid(2), 2, BASE_MS + 110, parent=1, end_ms=BASE_MS + 120),
            # trace 3: root still running, status unset -> OK without a duration
            span(tid(3), 1, BASE_MS + 200, name="open"),
        ],
    )
    # The end is the latest span end so far (as MLflow's SQL store), root or not.
    assert store.get_trace_info(tid(1)) == info(
        tid(1), exp, BASE_MS + 5, state=TraceState.IN_PROGRESS, execution_duration=4, tags=IN_STORE
    )
    assert store.get_trace_info(tid(2)) == info(
        tid(2),
        exp,
        BASE_MS + 100,
        state=TraceState.ERROR,
        execution_duration=250,
        request_preview=inputs,
        response_preview=outputs,
        tags={TRACE_NAME_TAG: "agent", **IN_STORE},
    )
    assert store.get_trace_info(tid(3)) == info(
        tid(3), exp, BASE_MS + 200, state=TraceState.OK, tags={TRACE_NAME_TAG: "open", **IN_STORE}
    )
    # The trace info arrives: merged, previews kept when not given.
    merged = store.start_trace(
        info(
            tid(2),
            exp,
            BASE_MS + 100,
            state=TraceState.ERROR,
            execution_duration=251,
            client_request_id="cr",
            tags={"user": "bob"},
            metadata={SOURCE_RUN_METADATA: "r"},
        )
    )
    expected = started(
        info(
            tid(2),
            exp,
            BASE_MS + 100,
            state=TraceState.ERROR,
            execution_duration=251,
            request_preview=inputs,
            response_preview=outputs,
            client_request_id="cr",
            tags={TRACE_NAME_TAG: "agent", "user": "bob", **IN_STORE},
            metadata={SOURCE_RUN_METADATA: "r"},
        )
    )
    assert merged == expected
    assert store.get_trace_info(tid(2)) == expected
    assert [s.span_id for s in store.get_trace(tid(2)).spans] == [sid(1), sid(2)]


def test_spans_of_an_open_trace_move_its_times_until_its_root_closes_it(store: TraceStore, exp: str) -> None:
    inputs, outputs = '{"q": 1}', '"done"'
    # Children end first, each exported on its own (as MLflow's exporter does).
    store.log_spans(exp, [span(tid(1), 2, BASE_MS + 10, parent=1, end_ms=BASE_MS + 20)])
    store.log_spans(exp, [span(tid(1), 3, BASE_MS + 5, parent=1, end_ms=BASE_MS + 40)])
    assert store.get_trace_info(tid(1)) == info(
        tid(1), exp, BASE_MS + 5, state=TraceState.IN_PROGRESS, execution_duration=35, tags=IN_STORE
    )
    root = span(
        tid(1),
        1,
        BASE_MS,
        end_ms=BASE_MS + 60,
        name="agent",
        status_code=SpanStatusCode.ERROR,
        attributes={SPAN_INPUTS_ATTRIBUTE: inputs, SPAN_OUTPUTS_ATTRIBUTE: outputs},
    )
    store.log_spans(exp, [root])
    closed = info(
        tid(1),
        exp,
        BASE_MS,
        state=TraceState.ERROR,
        execution_duration=60,
        request_preview=inputs,
        response_preview=outputs,
        tags={TRACE_NAME_TAG: "agent", **IN_STORE},
    )
    assert store.get_trace_info(tid(1)) == closed
    # A closed trace keeps its times and state; a late span changes nothing.
    store.log_spans(exp, [span(tid(1), 4, BASE_MS - 500, parent=1, end_ms=BASE_MS + 900)])
    assert store.get_trace_info(tid(1)) == closed
    assert len(store.get_trace(tid(1)).spans) == 4


def test_spans_fill_the_missing_previews_of_a_written_trace(store: TraceStore, exp: str) -> None:
    written = store.start_trace(
        info(tid(1), exp, BASE_MS, state=TraceState.OK, execution_duration=7, response_preview="kept")
    )
    store.log_spans(
        exp,
        [
            span(
                tid(1),
                1,
                BASE_MS - 100,
                end_ms=BASE_MS + 900,
                status_code=SpanStatusCode.ERROR,
                attributes={SPAN_INPUTS_ATTRIBUTE: '"q"', SPAN_OUTPUTS_ATTRIBUTE: '"a"'},
            )
        ],
    )
    assert store.get_trace_info(tid(1)) == info(
        tid(1),
        exp,
        BASE_MS,
        state=TraceState.OK,
        execution_duration=7,
        request_preview='"q"',
        response_preview="kept",
        tags={**written.tags, **IN_STORE},
        metadata=written.metadata,
    )


def test_root_span_with_ok_status_makes_an_ok_trace(store: TraceStore, exp: str) -> None:
    store.log_spans(exp, [span(tid(1), 1, BASE_MS, end_ms=BASE_MS + 3, status_code=SpanStatusCode.OK)])
    got = store.get_trace_info(tid(1))
    assert (got.state, got.execution_duration, got.name) == (TraceState.OK, 3, "span-1")
    assert (got.request_preview, got.response_preview) == (None, None)


def test_log_spans_retried_stores_each_span_once_and_a_rewrite_replaces(store: TraceStore, exp: str) -> None:
    first = [span(tid(1), 1, BASE_MS, end_ms=None), span(tid(1), 2, BASE_MS + 1, parent=1)]
    store.log_spans(exp, first)
    store.log_spans(exp, first)
    assert store.get_trace(tid(1)).spans == tuple(first)
    ended = span(
        tid(1),
        1,
        BASE_MS,
        end_ms=BASE_MS + 9,
        status_code=SpanStatusCode.OK,
        attributes={"k": '"v"'},
    )
    store.log_spans(exp, [ended])
    assert store.get_trace(tid(1)).spans == (ended, first[1])


def test_spans_round_trip_exactly_in_start_then_id_order(store: TraceStore, exp: str) -> None:
    attributes = {
        SPAN_TYPE_ATTRIBUTE: '"LLM"',
        SPAN_INPUTS_ATTRIBUTE: '{"messages": [{"role": "user", "content": "grüß dich ✓"}]}',
        SPAN_OUTPUTS_ATTRIBUTE: '{"choices": [1, 2.5, null, true]}',
        "a.b": '"dotted"',
        "$x": '"dollar"',
        "x.$y.z": "123",
        "ünï": '"ç"',
        "empty": '""',
        "not json": "plain text",
    }
    event = SpanEvent(
        "exception",
        BASE_MS * MS + 5,
        {
            "exception.message": "boom ü",
            "exception.type": "ValueError",
            "n": 3,
            "f": 2.5,
            "ok": True,
            "nested": {"a.b": [1, {"$c": "d"}], "e": None},
            "list": ["x", "y"],
        },
    )
    spans = [
        span(
            tid(1),
            9,
            BASE_MS,
            end_ms=BASE_MS + 50,
            name="root",
            status_code=SpanStatusCode.ERROR,
            status_message="failed: ü",
            attributes=attributes,
            events=[event, SpanEvent("token", BASE_MS * MS + 7)],
        ),
        span(tid(1), 3, BASE_MS + 10, parent=9, end_ms=BASE_MS + 20, status_code=SpanStatusCode.OK),
        span(tid(1), 2, BASE_MS + 10, parent=9, end_ms=None),  # same start: span id orders
        span(tid(1), 4, BASE_MS + 5, parent=3, name="ü name"),
        span(tid(1), 1, BASE_MS + 30, parent=9, status_code=SpanStatusCode.UNSET),
    ]
    store.log_spans(exp, spans)
    got = store.get_trace(tid(1))
    assert got.spans == tuple(sorted(spans, key=lambda s: (s.start_time_ns, s.span_id)))
    assert [s.span_id for s in got.spans] == [sid(9), sid(4), sid(2), sid(3), sid(1)]
    root = got.spans[0]
    assert root.attributes == attributes
    assert root.events == (event, SpanEvent("token", BASE_MS * MS + 7))
    assert root.span_type == "LLM"
    assert root.inputs == {"messages": [{"role": "user", "content": "grüß dich ✓"}]}
    assert got.info.state is TraceState.ERROR


def test_log_spans_of_two_traces_in_one_call_keeps_a_known_trace_info(store: TraceStore, exp: str) -> None:
    known = store.start_trace(info(tid(1), exp, BASE_MS, state=TraceState.OK, execution_duration=5))
    store.log_spans(
        exp,
        [
            span(tid(1), 1, BASE_MS - 50, end_ms=BASE_MS + 900, status_code=SpanStatusCode.ERROR, name="x"),
            span(tid(2), 1, BASE_MS + 10, end_ms=BASE_MS + 20, name="other"),
            span(tid(1), 2, BASE_MS - 40, parent=1),
        ],
    )
    assert store.get_trace_info(tid(1)) == evolve(known, tags={**known.tags, **IN_STORE})
    assert [s.span_id for s in store.get_trace(tid(1)).spans] == [sid(1), sid(2)]
    assert store.get_trace_info(tid(2)).name == "other"
    assert len(store.get_trace(tid(2)).spans) == 1


def test_spans_logged_with_another_experiment_stay_with_their_trace(
    tracking: TrackingStore, store: TraceStore, exp: str
) -> None:
    other = tracking.create_experiment("other")
    known = store.start_trace(info(tid(1), exp))
    store.log_spans(other, [span(tid(1), 1, BASE_MS)])
    assert store.get_trace_info(tid(1)) == evolve(known, tags={**known.tags, **IN_STORE})
    assert [s.span_id for s in store.get_trace(tid(1)).spans] == [sid(1)]
    assert trace_ids(search(store, [other])) == []
    assert trace_ids(search(store, [exp])) == [tid(1)]


def test_empty_log_spans_does_nothing(store: TraceStore, exp: str) -> None:
    store.log_spans(exp, [])
    assert trace_ids(search(store, [exp])) == []


def test_a_thousand_span_trace_in_one_call(store: TraceStore, exp: str) -> None:
    spans = [span(tid(1), 1, BASE_MS, end_ms=BASE_MS + 5000, name="root")]
    spans += [
        span(tid(1), n, BASE_MS + n // 3, parent=1 + (n - 2) // 10 if n > 11 else 1, end_ms=BASE_MS + n)
        for n in range(2, 1001)
    ]
    shuffled = list(spans)
    random.Random(3).shuffle(shuffled)
    store.log_spans(exp, shuffled)
    got = store.get_trace(tid(1))
    assert len(got.spans) == 1000
    assert got.spans == tuple(sorted(spans, key=lambda s: (s.start_time_ns, s.span_id)))
    assert got.info.execution_duration == 5000


def test_batch_get_traces(store: TraceStore, exp: str) -> None:
    store.log_spans(exp, [span(tid(1), 1, BASE_MS), span(tid(2), 1, BASE_MS + 1), span(tid(2), 2, BASE_MS)])
    store.start_trace(info(tid(3), exp))
    got = store.batch_get_traces([tid(3), tid(9), tid(2), tid(1), tid(3), tid(2)])
    assert [t.info.trace_id for t in got] == [tid(3), tid(2), tid(1)]
    assert [len(t.spans) for t in got] == [0, 2, 1]
    assert [s.span_id for s in got[1].spans] == [sid(2), sid(1)]
    assert got[0] == store.get_trace(tid(3))
    assert store.batch_get_traces([]) == ()
    assert store.batch_get_traces([tid(8)]) == ()


# --- errors -----------------------------------------------------------------------------------------------


def test_unknown_trace(store: TraceStore, exp: str) -> None:
    store.start_trace(info(tid(1), exp, tags={"k": "v"}))
    missing = tid(2)
    with pytest.raises(TraceNotFound):
        store.get_trace_info(missing)
    with pytest.raises(TraceNotFound):
        store.get_trace(missing)
    with pytest.raises(TraceNotFound):
        store.set_trace_tag(missing, "k", "v")
    with pytest.raises(TraceNotFound):
        store.delete_trace_tag(missing, "k")


def test_unknown_and_deleted_experiments(tracking: TrackingStore, store: TraceStore, exp: str) -> None:
    with pytest.raises(ExperimentNotFound):
        store.start_trace(info(tid(1), "424242"))
    with pytest.raises(ExperimentNotFound):
        store.log_spans("424242", [span(tid(2), 1)])
    tracking.delete_experiment(exp)
    with pytest.raises(InvalidParameterValue):
        store.start_trace(info(tid(3), exp))
    with pytest.raises(InvalidParameterValue):
        store.log_spans(exp, [span(tid(4), 1)])
    assert_absent(store, tid(1), tid(2), tid(3), tid(4))


def test_invalid_trace_info_is_rejected_and_stores_nothing(store: TraceStore, exp: str) -> None:
    bad_infos: list[dict[str, Any]] = [
        dict(request_time=-1),
        dict(execution_duration=-5),
        dict(request_preview="x" * (MAX_PREVIEW_LENGTH + 1)),
        dict(response_preview="y" * (MAX_PREVIEW_LENGTH + 1)),
        dict(client_request_id="c" * 251),
        dict(tags={"k": "v" * (MAX_TRACE_TAG_VALUE_LENGTH + 1)}),
        dict(tags={"bad key!": "v"}),
        dict(tags={"../up": "v"}),
        dict(tags={"k" * 251: "v"}),
        dict(metadata={"": "v"}),
        dict(metadata={"m": "v" * 8001}),
    ]
    for kwargs in bad_infos:
        fields = {"request_time": BASE_MS, **kwargs}
        with pytest.raises(InvalidParameterValue):
            store.start_trace(info(tid(1), exp, **fields))
    with pytest.raises(InvalidParameterValue):
        store.start_trace(info(tid(1), exp, state="NOT_A_STATE"))
    with pytest.raises(InvalidParameterValue):
        store.start_trace(info("", exp))
    # at the limits: accepted
    edge = info(
        tid(2),
        exp,
        request_preview="x" * MAX_PREVIEW_LENGTH,
        response_preview="y" * MAX_PREVIEW_LENGTH,
        tags={"k": "v" * MAX_TRACE_TAG_VALUE_LENGTH},
    )
    assert store.start_trace(edge) == started(edge)
    assert store.get_trace_info(tid(2)) == started(edge)
    assert_absent(store, tid(1))
    assert trace_ids(search(store, [exp])) == [tid(2)]


def test_a_batch_with_one_bad_span_stores_nothing(store: TraceStore, exp: str) -> None:
    store.log_spans(exp, [span(tid(1), 1, BASE_MS, name="before")])
    bad_spans = [
        span(tid(2), 1, -1),
        Span(tid(2), "", "no id", BASE_MS * MS),
        Span(tid(2), sid(2), "bad parent", BASE_MS * MS, parent_id=""),
        span(tid(2), 3, attributes={"n": 5}),
        Span(tid(2), sid(4), "bad end", BASE_MS * MS, end_time_ns=-1),
        span(tid(2), 5, events=[SpanEvent("e", 1, {"x": object()})]),
        span(tid(2), 6, events=[SpanEvent("e", 1, {"x": float("nan")})]),
    ]
    for bad in bad_spans:
        batch = [span(tid(1), 1, BASE_MS, name="after"), span(tid(3), 1), bad]
        with pytest.raises(InvalidParameterValue):
            store.log_spans(exp, batch)
    assert [s.name for s in store.get_trace(tid(1)).spans] == ["before"]
    assert_absent(store, tid(2), tid(3))


# --- tags ---------------------------------------------------------------------------------------------------


def test_set_and_delete_trace_tags(store: TraceStore, exp: str) -> None:
    store.start_trace(info(tid(1), exp, tags={"a": "1", "b": "2"}))
    store.set_trace_tag(tid(1), "a", "one")
    store.set_trace_tag(tid(1), "c.d", "ü")
    store.delete_trace_tag(tid(1), "b")
    assert store.get_trace_info(tid(1)).tags == {"a": "one", "c.d": "ü"}
    with pytest.raises(ResourceDoesNotExist):
        store.delete_trace_tag(tid(1), "b")
    with pytest.raises(ResourceDoesNotExist):
        store.delete_trace_tag(tid(1), "never")
    with pytest.raises(InvalidParameterValue):
        store.set_trace_tag(tid(1), "a", "v" * (MAX_TRACE_TAG_VALUE_LENGTH + 1))
    with pytest.raises(InvalidParameterValue):
        store.set_trace_tag(tid(1), "bad key!", "v")
    store.set_trace_tag(tid(1), "big", "v" * MAX_TRACE_TAG_VALUE_LENGTH)
    assert store.get_trace_info(tid(1)).tags == {"a": "one", "c.d": "ü", "big": "v" * 8000}
    assert trace_ids(search(store, [exp], "tags.a = 'one'")) == [tid(1)]
    assert trace_ids(search(store, [exp], "tags.b IS NOT NULL")) == []


# --- search_traces -----------------------------------------------------------------------------------------

# name: (request_time, execution_duration, state, client_request_id, tags, metadata)
SPECS: dict[str, tuple[int, int | None, TraceState, str | None, dict[str, str], dict[str, str]]] = {
    "t1": (
        1000,
        50,
        TraceState.OK,
        "c1",
        {TRACE_NAME_TAG: "chat", "env": "Prod", "a.b": "dot"},
        {SOURCE_RUN_METADATA: "run1", "user": "alice"},
    ),
    "t2": (
        2000,
        None,
        TraceState.IN_PROGRESS,
        None,
        {TRACE_NAME_TAG: "Chat", "env": "dev"},
        {SOURCE_RUN_METADATA: "run2"},
    ),
    "t3": (3000, 10, TraceState.ERROR, "c3", {TRACE_NAME_TAG: "search"}, {"user": "bob", "m.k": "v"}),
    "t4": (3000, 500, TraceState.OK, None, {}, {SOURCE_RUN_METADATA: "run1"}),
    "t5": (5000, 0, TraceState.STATE_UNSPECIFIED, "c5", {TRACE_NAME_TAG: "chat", "env": "prod"}, {}),
}
# t4's id sorts before t3's: their timestamps tie and request_id ASC breaks it.
IDS = {"t1": tid("1"), "t2": tid("2"), "t3": tid("b"), "t4": tid("a"), "t5": tid("5")}
OTHER = tid("f")  # in a second experiment


class World:
    def __init__(self, tracking: TrackingStore) -> None:
        self.store = traces_of(tracking)
        self.exp = tracking.create_experiment("search-traces")
        self.other = tracking.create_experiment("other")
        for name, (ts, duration, state, client, tags, metadata) in SPECS.items():
            self.store.start_trace(
                TraceInfo(IDS[name], self.exp, ts, state, duration, None, None, client, tags, metadata)
            )
        self.store.start_trace(info(OTHER, self.other, 4000, tags={TRACE_NAME_TAG: "chat"}))
        self.names = {v: k for k, v in IDS.items()} | {OTHER: "other"}

    def search(
        self, flt: str = "", order: Sequence[str] = (), exps: Sequence[str] | None = None
    ) -> list[str]:
        page = search(self.store, [self.exp] if exps is None else exps, flt, order)
        assert page.next_page_token is None
        return [self.names[i] for i in trace_ids(page)]


@pytest.fixture
def world(tracking: TrackingStore) -> World:
    return World(tracking)


ALL = ["t5", "t4", "t3", "t2", "t1"]  # the default order: timestamp DESC, request_id ASC
T1, T3 = IDS["t1"], IDS["t3"]
FILTERS: dict[str, set[str]] = {
    "": set(ALL),
    f"request_id = '{T1}'": {"t1"},
    f"attributes.request_id != '{T1}'": {"t2", "t3", "t4", "t5"},
    f"request_id IN ('{T1}', '{T3}', 'tr-unknown')": {"t1", "t3"},
    f"request_id NOT IN ('{T1}')": {"t2", "t3", "t4", "t5"},
    f"request_id LIKE '{T1[:6]}%'": {"t1"},
    "timestamp_ms = 3000": {"t3", "t4"},
    "timestamp_ms != 3000": {"t1", "t2", "t5"},
    "attributes.timestamp_ms > 2000": {"t3", "t4", "t5"},
    "timestamp >= 3000": {"t3", "t4", "t5"},
    "timestamp < 2000": {"t1"},
    "timestamp_ms <= 2000": {"t1", "t2"},
    "execution_time_ms > 10": {"t1", "t4"},
    "execution_time_ms >= 0": {"t1", "t3", "t4", "t5"},
    "execution_time < 100": {"t1", "t3", "t5"},
    "execution_time_ms = 0": {"t5"},
    "execution_time_ms != 50": {"t3", "t4", "t5"},
    "end_time_ms > 3000": {"t3", "t4", "t5"},
    "end_time <= 1050": {"t1"},
    # Without a duration the end is the timestamp (MLflow: timestamp + COALESCE(duration, 0)).
    "end_time_ms != 5000": {"t1", "t2", "t3", "t4"},
    "end_time_ms = 2000": {"t2"},
    "end_time_ms = 3010": {"t3"},
    "status = 'OK'": {"t1", "t4"},
    "attributes.status != 'OK'": {"t2", "t3", "t5"},
    "status IN ('ERROR', 'IN_PROGRESS')": {"t2", "t3"},
    "status NOT IN ('OK', 'ERROR')": {"t2", "t5"},
    "trace.status = 'STATE_UNSPECIFIED'": {"t5"},
    "status = 'ok'": set(),
    "client_request_id = 'c1'": {"t1"},
    "client_request_id != 'c1'": {"t3", "t5"},
    "client_request_id LIKE 'c%'": {"t1", "t3", "t5"},
    "client_request_id IN ('c3', 'c5', 'cx')": {"t3", "t5"},
    "name = 'chat'": {"t1", "t5"},
    "name != 'chat'": {"t2", "t3"},
    "name LIKE 'C%'": {"t2"},
    "name ILIKE 'chat'": {"t1", "t2", "t5"},
    "name ILIKE '%a_'": {"t1", "t2", "t5"},
    "name IN ('search', 'Chat')": {"t2", "t3"},
    "attributes.run_id = 'run1'": {"t1", "t4"},
    "run_id != 'run1'": {"t2"},
    "run_id IN ('run2', 'run9')": {"t2"},
    "tags.env = 'prod'": {"t5"},
    "tags.env != 'prod'": {"t1", "t2"},
    "tags.env LIKE 'p%'": {"t5"},
    "tags.env LIKE '%rod'": {"t1", "t5"},
    "tags.env ILIKE '%ROD'": {"t1", "t5"},
    "tags.env LIKE '_ev'": {"t2"},
    "tags.env IS NULL": {"t3", "t4"},
    "tags.env IS NOT NULL": {"t1", "t2", "t5"},
    "tags.nope IS NULL": set(ALL),
    "tags.nope = 'x'": set(),
    "tags.`a.b` = 'dot'": {"t1"},
    "tags.a.b = 'dot'": {"t1"},
    "tag.`mlflow.traceName` = 'search'": {"t3"},
    "metadata.user = 'alice'": {"t1"},
    "metadata.user != 'alice'": {"t3"},
    "metadata.user LIKE 'b%'": {"t3"},
    "metadata.user ILIKE 'A%'": {"t1"},
    "metadata.user IS NULL": {"t2", "t4", "t5"},
    "metadata.user IS NOT NULL": {"t1", "t3"},
    "metadata.`m.k` = 'v'": {"t3"},
    "metadata.m.k = 'v'": {"t3"},
    "request_metadata.user = 'bob'": {"t3"},
    "metadata.`mlflow.sourceRun` = 'run1'": {"t1", "t4"},
    "status = 'OK' AND tags.env ILIKE 'prod'": {"t1"},
    "timestamp_ms >= 2000 and metadata.user IS NULL and tags.`mlflow.traceName` IS NOT NULL": {"t2", "t5"},
    "timestamp_ms > 1000 AND timestamp_ms < 5000": {"t2", "t3", "t4"},
    # RLIKE: the pattern found anywhere in the value, case-sensitive; a missing key never matches
    "name RLIKE '^c'": {"t1", "t5"},
    "name RLIKE 'hat$'": {"t1", "t2", "t5"},
    "name RLIKE '^(chat|search)$'": {"t1", "t3", "t5"},
    "tags.env RLIKE 'rod'": {"t1", "t5"},
    "tags.env RLIKE '^[Pd]'": {"t1", "t2"},
    "tags.env RLIKE ''": {"t1", "t2", "t5"},
    "tags.nope RLIKE ''": set(),
    "metadata.user RLIKE 'li'": {"t1"},
    "run_id RLIKE '1$'": {"t1", "t4"},
    "status RLIKE '^(OK|ERROR)$'": {"t1", "t3", "t4"},
    "client_request_id RLIKE '^c[13]$'": {"t1", "t3"},
    "tags.env RLIKE 'o' AND tags.env RLIKE '^p'": {"t5"},
    # name and run_id are a tag and a metadata entry: they may be missing
    "name IS NULL": {"t4"},
    "name IS NOT NULL": {"t1", "t2", "t3", "t5"},
    "run_id IS NULL": {"t3", "t5"},
    "run_id IS NOT NULL AND run_id != 'run1'": {"t2"},
}


@pytest.mark.parametrize("flt", list(FILTERS))
def test_search_filters(world: World, flt: str) -> None:
    expected = [n for n in ALL if n in FILTERS[flt]]
    assert world.search(flt) == expected


def test_search_is_scoped_to_experiments(world: World) -> None:
    assert world.search(exps=[world.other]) == ["other"]
    assert world.search(exps=[world.exp, world.other]) == ["t5", "other", "t4", "t3", "t2", "t1"]
    assert world.search("name = 'chat'", exps=[world.other, world.exp]) == ["t5", "other", "t1"]
    assert world.search(exps=[world.exp, "987654"]) == ALL
    assert world.search(exps=["987654"]) == []
    assert world.search(exps=[]) == []


ORDERS: dict[tuple[str, ...], list[str]] = {
    (): ALL,
    ("timestamp_ms DESC",): ALL,
    ("timestamp_ms ASC",): ["t1", "t2", "t4", "t3", "t5"],
    ("timestamp ASC", "request_id DESC"): ["t1", "t2", "t3", "t4", "t5"],
    ("attributes.timestamp_ms",): ["t1", "t2", "t4", "t3", "t5"],
    ("execution_time_ms ASC",): ["t5", "t3", "t1", "t4", "t2"],
    ("execution_time DESC",): ["t4", "t1", "t3", "t5", "t2"],
    ("end_time_ms ASC",): ["t1", "t2", "t3", "t4", "t5"],
    ("end_time DESC",): ["t5", "t4", "t3", "t2", "t1"],
    ("status ASC",): ["t3", "t2", "t4", "t1", "t5"],
    ("status DESC",): ["t5", "t4", "t1", "t2", "t3"],
    ("request_id ASC",): ["t1", "t2", "t5", "t4", "t3"],
    ("request_id DESC",): ["t3", "t4", "t5", "t2", "t1"],
    ("name ASC",): ["t2", "t5", "t1", "t3", "t4"],
    ("name DESC",): ["t3", "t5", "t1", "t2", "t4"],
    ("run_id ASC",): ["t4", "t1", "t2", "t5", "t3"],
    ("run_id DESC",): ["t2", "t4", "t1", "t5", "t3"],
    ("experiment_id ASC",): ALL,
    ("tags.env ASC",): ["t1", "t2", "t5", "t4", "t3"],
    ("tags.env DESC",): ["t5", "t2", "t1", "t4", "t3"],
    ("metadata.user DESC",): ["t3", "t1", "t5", "t4", "t2"],
    ("metadata.user ASC", "timestamp_ms ASC"): ["t1", "t3", "t2", "t4", "t5"],
    ("status ASC", "execution_time_ms DESC"): ["t3", "t2", "t4", "t1", "t5"],
    ("tags.`a.b` DESC",): ["t1", "t5", "t4", "t3", "t2"],
}


@pytest.mark.parametrize("order", list(ORDERS), ids=lambda o: "|".join(o) or "default")
def test_search_order_by(world: World, order: tuple[str, ...]) -> None:
    assert world.search("", order) == ORDERS[order]


def test_search_order_by_experiment_id_across_experiments(world: World) -> None:
    both = [world.exp, world.other]
    ordered = world.search("", ("experiment_id DESC",), exps=both)
    assert ordered == ["other", *ALL]


def test_search_paging(world: World) -> None:
    store, exp = world.store, world.exp
    for order in ((), ("status ASC",), ("name DESC", "timestamp ASC")):
        for size in (1, 2, 3, 5, 6):
            pages = all_pages(partial(search, store, [exp], "", order, size))
            assert trace_ids(pages) == trace_ids(search(store, [exp], "", order))
    first = search(store, [exp], "timestamp_ms > 0", max_results=2)
    assert first.next_page_token is not None
    assert len(first.items) == 2
    with pytest.raises(InvalidParameterValue):
        search(store, [exp], "timestamp_ms > 1", max_results=2, page_token=first.next_page_token)
    with pytest.raises(InvalidParameterValue):
        search(store, [exp], "timestamp_ms > 0", ["status ASC"], 2, first.next_page_token)
    with pytest.raises(InvalidParameterValue):
        search(store, [world.other], "timestamp_ms > 0", max_results=2, page_token=first.next_page_token)
    for forged in tampered(first.next_page_token):
        with pytest.raises(InvalidParameterValue):
            search(store, [exp], "timestamp_ms > 0", max_results=2, page_token=forged)
    for bad in (0, -1, 50_001):
        with pytest.raises(InvalidParameterValue):
            search(store, [exp], max_results=bad)
    assert len(search(store, [exp], max_results=50_000).items) == 5


def test_search_max_results_defaults_to_100(store: TraceStore, exp: str) -> None:
    # 101 traces made from their root spans in one call.
    store.log_spans(exp, [span(tid(n), 1, BASE_MS + n, end_ms=BASE_MS + n + 1) for n in range(101)])
    first = search(store, [exp])
    assert len(first.items) == 100
    assert first.items[0].trace_id == tid(100)
    assert first.next_page_token is not None
    rest = search(store, [exp], page_token=first.next_page_token)
    assert trace_ids(rest) == [tid(0)]
    assert rest.next_page_token is None


# --- delete_traces -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"trace_ids": []},
        {"max_traces": 3},
        {"max_timestamp_millis": 10, "trace_ids": ["tr-1"]},
        {"trace_ids": ["tr-1"], "max_traces": 1},
        {"max_timestamp_millis": 10, "max_traces": 0},
        {"max_timestamp_millis": 10, "max_traces": -2},
    ],
)
def test_delete_traces_argument_rules(store: TraceStore, exp: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidParameterValue):
        store.delete_traces(exp, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"max_timestamp_millis": 10}, {"trace_ids": ["tr-1"]}])
def test_delete_traces_in_an_experiment_id_that_is_no_integer_is_an_invalid_parameter(
    store: TraceStore, kwargs: dict[str, object]
) -> None:
    with pytest.raises(InvalidParameterValue, match="Experiment ID must be a valid integer"):
        store.delete_traces("abc", **kwargs)  # type: ignore[arg-type]


def test_delete_traces_by_ids(tracking: TrackingStore, store: TraceStore, exp: str) -> None:
    other = tracking.create_experiment("other")
    store.log_spans(exp, [span(tid(n), 1, BASE_MS + n) for n in (1, 2, 3)] + [span(tid(1), 2, BASE_MS)])
    store.log_spans(other, [span(tid(4), 1, BASE_MS)])
    assert store.delete_traces(exp, trace_ids=[tid(1), tid(4), tid(9), tid(1), tid(3)]) == 2
    assert_absent(store, tid(1), tid(3))
    with pytest.raises(TraceNotFound):
        store.get_trace(tid(1))
    assert store.batch_get_traces([tid(1), tid(2), tid(3), tid(4)]) == (
        store.get_trace(tid(2)),
        store.get_trace(tid(4)),
    )
    assert trace_ids(search(store, [exp, other])) == [tid(2), tid(4)]
    assert store.delete_traces(exp, trace_ids=[tid(1), tid(3)]) == 0
    # a trace id used again starts afresh: no span of the deleted trace comes back
    store.log_spans(exp, [span(tid(1), 3, BASE_MS + 50)])
    assert [s.span_id for s in store.get_trace(tid(1)).spans] == [sid(3)]


def test_delete_traces_by_time_oldest_first(tracking: TrackingStore, store: TraceStore, exp: str) -> None:
    other = tracking.create_experiment("other")
    for n, ts in ((1, 4000), (2, 1000), (3, 3000), (4, 2000), (5, 3000)):
        store.start_trace(info(tid(n), exp, ts))
    store.start_trace(info(tid(6), other, 500))
    assert store.delete_traces(exp, max_timestamp_millis=3000, max_traces=2) == 2
    assert trace_ids(search(store, [exp])) == [tid(1), tid(3), tid(5)]
    assert store.delete_traces(exp, max_timestamp_millis=999) == 0
    assert store.delete_traces(exp, max_timestamp_millis=3000) == 2
    assert store.delete_traces(exp, max_timestamp_millis=3000) == 0
    assert trace_ids(search(store, [exp, other])) == [tid(1), tid(6)]
    assert store.delete_traces(exp, max_timestamp_millis=10**13, max_traces=50) == 1
    assert trace_ids(search(store, [exp])) == []


# --- agreement with the memory oracle ---------------------------------------------------------------------

NAMES = ["chat", "Chat", "CHAT", "search", "a_b", "a%b", "a\\b", "ü", "Ü", "straße", ""]
VALUES = ["a", "A", "ab", "a_b", "a%b", "a\\b", "ü", "Ü", "x y", "", "10", "9"]
STATES = list(TraceState)


def build_traces(store: TraceStore, experiment_id: str, seed: int = 11) -> None:
    """About 60 traces: 40 written as infos, 20 made from their root spans in one call."""
    rng = random.Random(seed)

    def maybe(values: Sequence[str]) -> str | None:
        return rng.choice([*values, None, None])

    for n in range(40):
        tags = {k: v for k, v in (("env", maybe(VALUES)), ("a.b", maybe(VALUES))) if v is not None}
        name = maybe(NAMES)
        if name is not None:
            tags[TRACE_NAME_TAG] = name
        metadata = {
            k: v for k, v in (("user", maybe(VALUES)), (SOURCE_RUN_METADATA, maybe(["r1", "r2"]))) if v
        }
        store.start_trace(
            TraceInfo(
                tid(1000 + n),
                experiment_id,
                rng.choice([1000, 2000, 2000, 3000, 4000 + n]),
                rng.choice(STATES),
                rng.choice([None, 0, 10, 10, 250, n]),
                None,
                None,
                maybe(["c1", "c2", "C1"]),
                tags,
                metadata,
            )
        )
    store.log_spans(
        experiment_id,
        [
            span(
                tid(2000 + n),
                1,
                rng.choice([1000, 2000, 5000 + n]),
                end_ms=rng.choice([None, 5000 + 2 * n + 10]),
                name=rng.choice(NAMES[:-1]),
                status_code=rng.choice(list(SpanStatusCode)),
            )
            for n in range(20)
        ]
        + [span(tid(3000), 2, 2000, parent=1)],
    )


AGREEMENT: list[tuple[str, tuple[str, ...]]] = [
    ("", ()),
    ("", ("timestamp_ms ASC",)),
    ("", ("execution_time_ms ASC",)),
    ("", ("execution_time_ms DESC",)),
    ("", ("end_time_ms ASC", "request_id DESC")),
    ("", ("end_time_ms DESC",)),
    ("", ("status ASC", "timestamp_ms ASC")),
    ("", ("name ASC",)),
    ("", ("name DESC", "execution_time DESC")),
    ("", ("run_id DESC",)),
    ("", ("tags.env ASC",)),
    ("", ("tags.`a.b` DESC", "metadata.user ASC")),
    ("", ("metadata.user DESC",)),
    ("", ("request_id DESC",)),
    ("timestamp_ms = 2000", ()),
    ("timestamp > 2000", ("execution_time_ms ASC",)),
    ("timestamp_ms <= 3000 AND execution_time_ms > 0", ()),
    ("execution_time_ms = 10", ("name ASC",)),
    ("execution_time_ms != 10", ()),
    ("end_time_ms >= 4000", ("end_time_ms ASC",)),
    ("end_time_ms < 2500", ()),
    ("status = 'OK'", ()),
    ("status != 'IN_PROGRESS'", ("status DESC",)),
    ("status IN ('ERROR', 'STATE_UNSPECIFIED')", ()),
    ("status NOT IN ('OK')", ()),
    ("name = 'chat'", ()),
    ("name != 'chat'", ("name ASC",)),
    ("name LIKE 'C%'", ()),
    ("name ILIKE 'chat'", ()),
    ("name LIKE 'a\\_b'", ()),
    ("name LIKE '%\\%%'", ()),
    ("name ILIKE 'ü'", ()),
    ("name IN ('chat', 'ü', '')", ()),
    ("name = ''", ()),
    ("client_request_id = 'c1'", ()),
    ("client_request_id ILIKE 'c1'", ()),
    ("run_id = 'r1'", ("timestamp ASC",)),
    ("run_id NOT IN ('r1')", ()),
    ("tags.env = 'a'", ()),
    ("tags.env != 'a'", ()),
    ("tags.env LIKE 'a%'", ()),
    ("tags.env ILIKE 'A%'", ()),
    ("tags.env LIKE '%\\\\%'", ()),
    ("tags.env IS NULL", ("tags.env DESC",)),
    ("tags.`a.b` IS NOT NULL AND tags.env IS NOT NULL", ()),
    ("tags.a.b = 'ü'", ()),
    ("metadata.user = 'x y'", ()),
    ("metadata.user ILIKE '%A%'", ("metadata.user ASC",)),
    ("metadata.user IS NOT NULL AND status = 'OK'", ()),
    ("metadata.`mlflow.sourceRun` = 'r2'", ()),
    ("request_metadata.user IS NULL", ()),
    ("tags.env > 'a'", ()),
    ("metadata.user <= 'a'", ()),
    ("name RLIKE '^[cC]h'", ("name ASC",)),
    ("name RLIKE 'ü|straße'", ()),
    ("name RLIKE '(?i)chat'", ()),
    ("name IS NULL", ()),
    ("run_id IS NOT NULL", ()),
    ("tags.env RLIKE 'a\\\\b'", ()),
    ("tags.env RLIKE '^$'", ()),
    ("tags.`a.b` RLIKE '%'", ()),
    ("metadata.user RLIKE '^a' AND status RLIKE 'ERR'", ("metadata.user ASC",)),
    ("client_request_id RLIKE '^c'", ()),
]


def test_searches_agree_with_the_memory_oracle(tracking: TrackingStore) -> None:
    ours = traces_of(tracking)
    oracle = InMemoryTrackingStore(clock=SteppedClock())
    ours_exp = tracking.create_experiment("agreement")
    oracle_exp = oracle.create_experiment("agreement")
    build_traces(ours, ours_exp)
    build_traces(oracle, oracle_exp)

    def answer(store: TraceStore, experiment_id: str, flt: str, order: tuple[str, ...], size: int) -> object:
        def run() -> list[TraceInfo]:
            return all_pages(lambda token: search(store, [experiment_id], flt, order, size, token))

        kind, value = outcome(run)
        if kind == "ok":
            return [
                (i.trace_id, i.state, i.request_time, i.execution_duration, i.tags, i.metadata) for i in value
            ]
        return kind, value

    everything = trace_ids(all_pages(lambda token: search(oracle, [oracle_exp], "", (), 100, token)))
    assert len(everything) == 61
    asked = [*everything[::-1], "tr-unknown"]
    assert [(t.info.trace_id, t.spans) for t in ours.batch_get_traces(asked)] == [
        (t.info.trace_id, t.spans) for t in oracle.batch_get_traces(asked)
    ]
    for n, (flt, order) in enumerate(AGREEMENT):
        size = (7, 100, 3)[n % 3]
        assert answer(ours, ours_exp, flt, order, size) == answer(oracle, oracle_exp, flt, order, size), (
            flt,
            order,
        )


# --- what spans tell their trace (MLflow's log_spans) ------------------------------------------------


def _usage(i: int, o: int) -> str:
    return json.dumps({"input_tokens": i, "output_tokens": o, "total_tokens": i + o})


def test_spans_add_up_token_usage_and_cost_over_the_tree_call_after_call(store: TraceStore, exp: str) -> None:
    usage, cost = "mlflow.chat.tokenUsage", "mlflow.llm.cost"
    store.log_spans(exp, [span(tid(1), 2, parent=1, attributes={usage: _usage(5, 3), "session.id": '"s-1"'})])
    store.log_spans(
        exp,
        [
            span(
                tid(1),
                3,
                parent=1,
                attributes={usage: _usage(1, 1), cost: '{"total_cost": 2}', "user.id": '"bob"'},
            ),
            # Under a span that reports usage: counted in its parent's figure, not again.
            span(tid(1), 4, parent=3, attributes={usage: _usage(100, 0)}),
        ],
    )
    got = store.get_trace_info(tid(1)).metadata
    assert got["mlflow.trace.tokenUsage"] == json.dumps(
        {"input_tokens": 6, "output_tokens": 4, "total_tokens": 10}
    )
    assert got["mlflow.trace.cost"] == json.dumps({"input_cost": 0.0, "output_cost": 0.0, "total_cost": 2.0})
    assert (got["mlflow.trace.session"], got["mlflow.trace.user"]) == ("s-1", "bob")
    # start_trace finalizes the trace: its usage no longer moves.
    store.start_trace(info(tid(1), exp, state=TraceState.OK, execution_duration=1))
    store.log_spans(exp, [span(tid(1), 5, parent=1, attributes={usage: _usage(7, 7)})])
    assert store.get_trace_info(tid(1)).metadata["mlflow.trace.tokenUsage"] == got["mlflow.trace.tokenUsage"]


def test_span_links_and_a_foreign_trace_id_round_trip(store: TraceStore, exp: str) -> None:
    linked = SpanLink(tid(2), sid(3), {"why": "retry", "n": 1})
    written = evolve(
        span("custom-trace", 1), links=(linked, SpanLink(tid(2), sid(4))), otel_trace_id="ab" * 16
    )
    store.log_spans(exp, [written])
    assert store.get_trace("custom-trace").spans == (written,)
