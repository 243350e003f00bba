"""Tracing entities: validation and limits, traces made from spans, merging, delete arguments."""

from __future__ import annotations

from typing import Any

import pytest
from attrs import evolve

from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist, TraceNotFound
from genesis_flow.core.tracing import (
    MAX_CLIENT_REQUEST_ID_LENGTH,
    MAX_PREVIEW_LENGTH,
    MAX_SPAN_NAME_LENGTH,
    MAX_TRACE_ID_LENGTH,
    MAX_TRACE_METADATA_KEY_LENGTH,
    MAX_TRACE_METADATA_VALUE_LENGTH,
    MAX_TRACE_TAG_KEY_LENGTH,
    MAX_TRACE_TAG_VALUE_LENGTH,
    MODEL_ID_METADATA,
    SOURCE_RUN_METADATA,
    SPAN_INPUTS_ATTRIBUTE,
    SPAN_OUTPUTS_ATTRIBUTE,
    SPAN_TYPE_ATTRIBUTE,
    SPANS_IN_TRACKING_STORE,
    SPANS_LOCATION_TAG,
    TRACE_NAME_TAG,
    Span,
    SpanEvent,
    SpanStatusCode,
    Trace,
    TraceInfo,
    TraceState,
    check_delete_traces_arguments,
    info_from_spans,
    merge_trace_info,
    preview,
    span_order,
    trace_not_found,
    update_info_from_spans,
    validate_span,
    validate_trace_id,
    validate_trace_info,
    validate_trace_tag,
)

MS = 1_000_000
TID = "tr-" + "a" * 32


def info(**kwargs: object) -> TraceInfo:
    fields: dict[str, object] = {"trace_id": TID, "experiment_id": "1", "request_time": 1000, **kwargs}
    return TraceInfo(**fields)  # type: ignore[arg-type]


def span(span_id: str = "0" * 16, **kwargs: object) -> Span:
    fields: dict[str, object] = {
        "trace_id": TID,
        "span_id": span_id,
        "name": "s",
        "start_time_ns": 1000 * MS,
        **kwargs,
    }
    return Span(**fields)  # type: ignore[arg-type]


# --- entities ---------------------------------------------------------------------------------------


def test_limits_are_mlflows() -> None:
    assert (MAX_TRACE_ID_LENGTH, MAX_TRACE_TAG_KEY_LENGTH, MAX_TRACE_TAG_VALUE_LENGTH) == (250, 250, 8000)
    assert (MAX_TRACE_METADATA_KEY_LENGTH, MAX_TRACE_METADATA_VALUE_LENGTH) == (250, 8000)
    assert (MAX_PREVIEW_LENGTH, MAX_CLIENT_REQUEST_ID_LENGTH, MAX_SPAN_NAME_LENGTH) == (1000, 250, 8000)


def test_trace_info_defaults_and_derived_fields() -> None:
    plain = info()
    assert plain.state is TraceState.OK
    assert (plain.execution_duration, plain.end_time, plain.name, plain.run_id, plain.model_id) == (
        None,
        None,
        None,
        None,
        None,
    )
    full = info(
        execution_duration=25,
        tags={TRACE_NAME_TAG: "chat"},
        metadata={SOURCE_RUN_METADATA: "r1", MODEL_ID_METADATA: "m-1"},
    )
    assert (full.end_time, full.name, full.run_id, full.model_id) == (1025, "chat", "r1", "m-1")
    assert info(execution_duration=0).end_time == 1000


def test_trace_info_converts_states_and_sorts_maps() -> None:
    assert info(state="ERROR").state is TraceState.ERROR
    assert info(tags=[("b", "2"), ("a", "1")]).tags == {"a": "1", "b": "2"}
    assert list(info(metadata={"z": "1", "a": "2"}).metadata) == ["a", "z"]
    assert info(tags=None).tags == {}
    with pytest.raises(InvalidParameterValue):
        info(state="DONE")
    with pytest.raises(InvalidParameterValue):
        info(state="ok")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("OK", SpanStatusCode.OK),
        ("ERROR", SpanStatusCode.ERROR),
        ("UNSET", SpanStatusCode.UNSET),
        ("STATUS_CODE_OK", SpanStatusCode.OK),
        ("STATUS_CODE_ERROR", SpanStatusCode.ERROR),
        ("STATUS_CODE_UNSET", SpanStatusCode.UNSET),
        (SpanStatusCode.OK, SpanStatusCode.OK),
    ],
)
def test_span_status_codes_parse_mlflow_and_otel_names(text: object, code: SpanStatusCode) -> None:
    assert SpanStatusCode.parse(text) is code
    assert span(status_code=text).status_code is code


@pytest.mark.parametrize("bad", ["ok", "STATUS_CODE_", "FAILED", 1, None])
def test_bad_span_status_codes(bad: object) -> None:
    with pytest.raises(InvalidParameterValue):
        SpanStatusCode.parse(bad)


def test_trace_state_parse() -> None:
    assert [TraceState.parse(s.value) for s in TraceState] == list(TraceState)
    assert TraceState.parse(TraceState.IN_PROGRESS) is TraceState.IN_PROGRESS
    for bad in ("", "RUNNING", None, 3):
        with pytest.raises(InvalidParameterValue):
            TraceState.parse(bad)


def test_span_decodes_the_standard_attributes() -> None:
    s = span(
        attributes={
            SPAN_TYPE_ATTRIBUTE: '"LLM"',
            SPAN_INPUTS_ATTRIBUTE: '{"q": "hi"}',
            SPAN_OUTPUTS_ATTRIBUTE: "not json",
        }
    )
    assert (s.span_type, s.inputs, s.outputs) == ("LLM", {"q": "hi"}, "not json")
    bare = span()
    assert (bare.span_type, bare.inputs, bare.outputs) == (None, None, None)
    assert span(attributes={SPAN_TYPE_ATTRIBUTE: "7"}).span_type == "7"


def test_span_order_and_trace_spans() -> None:
    a, b, c = span("b", start_time_ns=5), span("a", start_time_ns=5), span("c", start_time_ns=1)
    assert sorted([a, b, c], key=span_order) == [c, b, a]
    assert Trace(info(), [a, b]).spans == (a, b)
    assert span(events=[SpanEvent("e", 1)]).events == (SpanEvent("e", 1),)


def test_trace_not_found_is_resource_does_not_exist() -> None:
    error = trace_not_found(TID)
    assert isinstance(error, TraceNotFound)
    assert isinstance(error, ResourceDoesNotExist)
    assert TID in str(error)


# --- validation ------------------------------------------------------------------------------------


def test_valid_trace_infos_pass() -> None:
    validate_trace_info(info())
    validate_trace_info(
        info(
            request_time=0,
            execution_duration=0,
            request_preview="x" * MAX_PREVIEW_LENGTH,
            response_preview="",
            client_request_id="c" * MAX_CLIENT_REQUEST_ID_LENGTH,
            tags={"k" * MAX_TRACE_TAG_KEY_LENGTH: "v" * MAX_TRACE_TAG_VALUE_LENGTH, "a.b/c:d e-f_g": ""},
            metadata={"$x.y": "v" * MAX_TRACE_METADATA_VALUE_LENGTH, "m" * MAX_TRACE_METADATA_KEY_LENGTH: ""},
        )
    )
    validate_trace_info(info(trace_id="t" * MAX_TRACE_ID_LENGTH))


@pytest.mark.parametrize(
    "fields",
    [
        {"trace_id": ""},
        {"trace_id": "t" * (MAX_TRACE_ID_LENGTH + 1)},
        {"trace_id": None},
        {"experiment_id": ""},
        {"experiment_id": 1},
        {"request_time": -1},
        {"request_time": 1.5},
        {"request_time": True},
        {"request_time": None},
        {"execution_duration": -1},
        {"execution_duration": 2.0},
        {"request_preview": "x" * (MAX_PREVIEW_LENGTH + 1)},
        {"response_preview": "x" * (MAX_PREVIEW_LENGTH + 1)},
        {"request_preview": 5},
        {"client_request_id": "c" * (MAX_CLIENT_REQUEST_ID_LENGTH + 1)},
        {"tags": {"k": "v" * (MAX_TRACE_TAG_VALUE_LENGTH + 1)}},
        {"tags": {"k" * (MAX_TRACE_TAG_KEY_LENGTH + 1): "v"}},
        {"tags": {"": "v"}},
        {"tags": {"bad!": "v"}},
        {"tags": {"$x": "v"}},
        {"tags": {"a/../b": "v"}},
        {"tags": {"k": None}},
        {"metadata": {"": "v"}},
        {"metadata": {"m" * (MAX_TRACE_METADATA_KEY_LENGTH + 1): "v"}},
        {"metadata": {"k": "v" * (MAX_TRACE_METADATA_VALUE_LENGTH + 1)}},
        {"metadata": {"k": 5}},
    ],
    ids=repr,
)
def test_invalid_trace_infos(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidParameterValue):
        validate_trace_info(info(**fields))


def test_validate_trace_id_and_tag() -> None:
    assert validate_trace_id(TID) == TID
    for bad in ("", None, 5, "x" * 251):
        with pytest.raises(InvalidParameterValue):
            validate_trace_id(bad)
    validate_trace_tag("mlflow.traceName", "v" * MAX_TRACE_TAG_VALUE_LENGTH)
    for key, value in (("k", "v" * 8001), ("", "v"), ("bad key!", "v"), ("k", 1), (None, "v")):
        with pytest.raises(InvalidParameterValue):
            validate_trace_tag(key, value)


def test_valid_spans_pass() -> None:
    validate_span(span())
    validate_span(
        span(
            "f" * 64,
            parent_id="0" * 16,
            name="n" * MAX_SPAN_NAME_LENGTH,
            start_time_ns=0,
            end_time_ns=0,
            status_code="ERROR",
            status_message="m" * MAX_TRACE_TAG_VALUE_LENGTH,
            attributes={"a.b": '"x"', "$y": "[1, 2]", "ü": ""},
            events=[SpanEvent("e", -5, {"nested": {"a": [1, {"b": None}]}, "f": 1.5, "t": True})],
        )
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"trace_id": ""},
        {"span_id": ""},
        {"span_id": "x" * 65},
        {"span_id": None},
        {"parent_id": ""},
        {"parent_id": 7},
        {"name": "n" * (MAX_SPAN_NAME_LENGTH + 1)},
        {"name": None},
        {"start_time_ns": -1},
        {"start_time_ns": 1.0},
        {"start_time_ns": None},
        {"end_time_ns": -1},
        {"end_time_ns": 2.5},
        {"status_message": "m" * (MAX_TRACE_TAG_VALUE_LENGTH + 1)},
        {"attributes": {"k": 1}},
        {"attributes": {"k": None}},
        {"attributes": {"": "v"}},
        {"events": [SpanEvent("e", 1.5)]},  # type: ignore[arg-type]
        {"events": [SpanEvent("n" * (MAX_SPAN_NAME_LENGTH + 1), 1)]},
        {"events": [SpanEvent("e", 1, {"x": object()})]},
        {"events": [SpanEvent("e", 1, {"x": float("inf")})]},
        {"events": [SpanEvent("e", 1, {"x": float("nan")})]},
    ],
    ids=repr,
)
def test_invalid_spans(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameterValue):
        validate_span(span(**fields))


IN_STORE = {SPANS_LOCATION_TAG: SPANS_IN_TRACKING_STORE}


# --- info_from_spans --------------------------------------------------------------------------------


def test_info_from_spans_without_the_root_is_in_progress() -> None:
    spans = [
        span("2", parent_id="1", start_time_ns=2_500 * MS + 7, end_time_ns=9_000 * MS),
        span("3", parent_id="1", start_time_ns=2_000 * MS + 999_999),
    ]
    # As MLflow's SQL store: the end is the latest span end, root or not.
    assert info_from_spans(TID, "7", spans) == TraceInfo(
        TID, "7", 2000, TraceState.IN_PROGRESS, execution_duration=7000, tags=IN_STORE
    )


def test_spans_of_an_open_trace_move_its_times_and_its_root_closes_it() -> None:
    opened = TraceInfo(TID, "7", 2000, TraceState.IN_PROGRESS, execution_duration=100)
    assert update_info_from_spans(opened, []) is opened
    earlier = update_info_from_spans(opened, [span("4", parent_id="1", start_time_ns=1_500 * MS)])
    assert (earlier.request_time, earlier.execution_duration, earlier.state) == (
        1500,
        600,
        TraceState.IN_PROGRESS,
    )
    root = span(
        "1",
        start_time_ns=1_400 * MS,
        end_time_ns=3_000 * MS,
        status_code=SpanStatusCode.ERROR,
        name="agent",
        attributes={SPAN_INPUTS_ATTRIBUTE: '"q"', SPAN_OUTPUTS_ATTRIBUTE: '"a"'},
    )
    closed = update_info_from_spans(earlier, [root])
    assert closed == TraceInfo(
        TID,
        "7",
        1400,
        TraceState.ERROR,
        execution_duration=1600,
        request_preview='"q"',
        response_preview='"a"',
        tags={TRACE_NAME_TAG: "agent", **IN_STORE},
    )


def test_spans_of_a_closed_trace_only_fill_missing_previews() -> None:
    closed = TraceInfo(TID, "7", 2000, TraceState.OK, execution_duration=10, response_preview="kept")
    late_root = span(
        "1",
        start_time_ns=1_000 * MS,
        end_time_ns=9_000 * MS,
        status_code=SpanStatusCode.ERROR,
        attributes={SPAN_INPUTS_ATTRIBUTE: '"q"', SPAN_OUTPUTS_ATTRIBUTE: '"a"'},
    )
    assert update_info_from_spans(closed, [late_root]) == TraceInfo(
        TID,
        "7",
        2000,
        TraceState.OK,
        execution_duration=10,
        request_preview='"q"',
        response_preview="kept",
        tags=IN_STORE,
    )
    child = span("2", parent_id="1", start_time_ns=1_000 * MS, end_time_ns=9_000 * MS)
    # A closed trace learns only that its spans are in the store; once it knows, nothing changes.
    tagged = update_info_from_spans(closed, [child])
    assert tagged == evolve(closed, tags=IN_STORE)
    assert update_info_from_spans(tagged, [child]) is tagged


@pytest.mark.parametrize(
    ("code", "state"),
    [
        (SpanStatusCode.ERROR, TraceState.ERROR),
        (SpanStatusCode.OK, TraceState.OK),
        (SpanStatusCode.UNSET, TraceState.OK),
    ],
)
def test_info_from_spans_with_the_root(code: SpanStatusCode, state: TraceState) -> None:
    root = span(
        "1",
        name="agent",
        start_time_ns=1_000 * MS + 500,
        end_time_ns=1_250 * MS + 900_000,
        status_code=code,
        attributes={SPAN_INPUTS_ATTRIBUTE: '{"q": 1}', SPAN_OUTPUTS_ATTRIBUTE: '"a"'},
    )
    child = span("2", parent_id="1", start_time_ns=900 * MS)
    got = info_from_spans(TID, "3", [child, root])
    assert got == TraceInfo(
        TID,
        "3",
        900,
        state,
        execution_duration=350,
        request_preview='{"q": 1}',
        response_preview='"a"',
        tags={TRACE_NAME_TAG: "agent", **IN_STORE},
    )


def test_info_from_spans_root_without_end_and_attributes() -> None:
    got = info_from_spans(TID, "3", [span("1", start_time_ns=5 * MS)])
    assert got == TraceInfo(TID, "3", 5, TraceState.OK, tags={TRACE_NAME_TAG: "s", **IN_STORE})
    # an end before the earliest start (clock skew) gives a duration of 0, never negative
    skewed = info_from_spans(TID, "3", [span("1", start_time_ns=10 * MS, end_time_ns=4 * MS)])
    assert skewed.execution_duration == 0


def test_info_from_spans_cuts_previews_to_the_limit() -> None:
    long_inputs = '"' + "x" * 3000 + '"'
    got = info_from_spans(TID, "3", [span("1", attributes={SPAN_INPUTS_ATTRIBUTE: long_inputs})])
    assert got.request_preview == long_inputs[: MAX_PREVIEW_LENGTH - 3] + "..."
    validate_trace_info(got)


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        (
            '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}',
            "user",
            "hi",
        ),
        ('{"messages": [{"role": "system", "content": "be brief"}]}', "user", "be brief"),
        ('{"choices": [{"message": {"role": "assistant", "content": "answer"}}]}', "assistant", "answer"),
        (
            '{"request": {"input": [{"role": "user", "content": [{"type": "text", "text": "deep"}]}]}}',
            "user",
            "deep",
        ),
        ('{"question": "not chat"}', "user", '{"question": "not chat"}'),
        ("not json", "user", "not json"),
    ],
)
def test_a_preview_is_the_last_chat_message_of_the_role_or_the_text(
    text: str, role: str, expected: str
) -> None:
    assert preview(text, role) == expected


# --- merge_trace_info -------------------------------------------------------------------------------


def test_merge_new_values_win_field_by_field() -> None:
    stored = info(
        state=TraceState.IN_PROGRESS,
        execution_duration=3,
        request_preview="req",
        response_preview="resp",
        client_request_id="c1",
        tags={"a": "1", "b": "old"},
        metadata={"m": "1", "n": "old"},
    )
    new = info(
        request_time=900,
        state=TraceState.ERROR,
        execution_duration=None,
        response_preview="new",
        tags={"b": "new", "c": "3"},
        metadata={"n": "new"},
    )
    assert merge_trace_info(stored, new) == info(
        request_time=900,
        state=TraceState.ERROR,
        execution_duration=None,
        request_preview="req",
        response_preview="new",
        client_request_id=None,
        tags={"a": "1", "b": "new", "c": "3"},
        metadata={"m": "1", "n": "new"},
    )


def test_merge_is_idempotent_and_keeps_empty_previews_given() -> None:
    stored = info(request_preview="req", tags={"a": "1"})
    assert merge_trace_info(stored, stored) == stored
    again = merge_trace_info(stored, info(request_preview="", tags={}))
    assert again.request_preview == ""
    assert again.tags == {"a": "1"}


# --- delete_traces arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_timestamp_millis", "max_traces", "trace_ids"),
    [
        (None, None, None),
        (None, None, []),
        (None, 5, None),
        (10, None, ["t"]),
        (None, 1, ["t"]),
        (10, 0, None),
        (10, -1, None),
        (10, 1.5, None),
        (10, True, None),
        (1.5, None, None),
        ("10", None, None),
    ],
)
def test_bad_delete_traces_arguments(
    max_timestamp_millis: object, max_traces: object, trace_ids: list[str] | None
) -> None:
    with pytest.raises(InvalidParameterValue):
        check_delete_traces_arguments("1", max_timestamp_millis, max_traces, trace_ids)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("max_timestamp_millis", "max_traces", "trace_ids"),
    [(0, None, None), (10, 1, None), (-5, 3, None), (None, None, ["t"]), (None, None, ["a", "b", "a"])],
)
def test_good_delete_traces_arguments(
    max_timestamp_millis: int | None, max_traces: int | None, trace_ids: list[str] | None
) -> None:
    assert check_delete_traces_arguments(1, max_timestamp_millis, max_traces, trace_ids) == "1"  # type: ignore[arg-type]


def test_delete_traces_checks_the_experiment_id_after_the_other_arguments() -> None:
    with pytest.raises(InvalidParameterValue, match="max_traces"):
        check_delete_traces_arguments("\x00", 10, 0, None)
    with pytest.raises(InvalidParameterValue, match="experiment_id"):
        check_delete_traces_arguments("\x00", 10, None, None)
