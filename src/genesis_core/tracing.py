"""GenAI tracing entities: a trace's info (one row of MLflow's trace table) and its spans.

A trace is the record of one call of a model or agent: a :class:`TraceInfo` (id, experiment,
request time, duration, state, request/response previews, tags, metadata) and the tree of
:class:`Span` s below it. The ids and the JSON encodings are MLflow 3's, so a trace written through
MLflow's exporter reads back byte for byte:

* a trace id is MLflow's (``tr-<32 hex>`` for traces made by MLflow's tracer);
* a span id and its parent's id are 16 hex digits;
* span attribute values are JSON text (``mlflow.spanInputs`` holds ``'{"q": "hi"}'``), exactly as
  MLflow's tracer serialises them; :attr:`Span.span_type`, :attr:`Span.inputs` and
  :attr:`Span.outputs` decode the standard ones.

Times: ``request_time`` and ``execution_duration`` are milliseconds, span times nanoseconds, as in
MLflow. Limits are those of MLflow 3.17.2's SQL store (its column widths and
``_validate_trace_tag``); ports reject what exceeds them, entry points truncate where MLflow's
client or store truncates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from attrs import evolve, field, frozen

from genesis_flow.core import validation
from genesis_flow.core.errors import InvalidParameterValue, ResourceDoesNotExist, TraceNotFound
from genesis_flow.core.validation import (
    is_long,
    validate_key,
    validate_lookups,
    validate_text,
)

MAX_TRACE_ID_LENGTH = 250
MAX_TRACE_TAG_KEY_LENGTH = 250
MAX_TRACE_TAG_VALUE_LENGTH = 8000
MAX_TRACE_METADATA_KEY_LENGTH = 250
MAX_TRACE_METADATA_VALUE_LENGTH = 8000
MAX_PREVIEW_LENGTH = 1000
MAX_CLIENT_REQUEST_ID_LENGTH = 250
MAX_SPAN_NAME_LENGTH = 8000

# Tag and metadata keys with a meaning (MLflow's TraceTagKey / TraceMetadataKey).
TRACE_NAME_TAG = "mlflow.traceName"
SOURCE_RUN_METADATA = "mlflow.sourceRun"
MODEL_ID_METADATA = "mlflow.modelId"
# Where a trace's spans live (MLflow's TraceTagKey.SPANS_LOCATION): ours are always in the
# tracking store; without this tag MLflow uploads and reads spans as artifacts.
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
SPANS_IN_TRACKING_STORE = "TRACKING_STORE"
SPAN_TYPE_ATTRIBUTE = "mlflow.spanType"
SPAN_INPUTS_ATTRIBUTE = "mlflow.spanInputs"
SPAN_OUTPUTS_ATTRIBUTE = "mlflow.spanOutputs"
# What start_trace marks a trace with (MLflow's TraceMetadataKey.TRACE_INFO_FINALIZED): its times,
# and the token usage and cost it gives, are final; later spans no longer change them.
INFO_FINALIZED_METADATA = "mlflow.trace.infoFinalized"
# What a trace learns from its spans (MLflow's SQL store, log_spans): token usage and cost added
# up over the span tree, the session and user, tags the root span carries for the trace.
TOKEN_USAGE_METADATA = "mlflow.trace.tokenUsage"
COST_METADATA = "mlflow.trace.cost"
SESSION_METADATA = "mlflow.trace.session"
USER_METADATA = "mlflow.trace.user"
TOKEN_USAGE_ATTRIBUTE = "mlflow.chat.tokenUsage"
COST_ATTRIBUTE = "mlflow.llm.cost"
SESSION_ATTRIBUTES = ("session.id", "gen_ai.conversation.id")
USER_ATTRIBUTE = "user.id"
TRACE_TAG_ATTRIBUTE_PREFIX = "mlflow.traceTag."
# Keys of the token-usage and cost objects, in MLflow's order; the first three are always
# present once a span reports any, the cache counts only when some span reports them.
TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")
CACHE_TOKEN_KEYS = (
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_input_tokens_above_1hr",
)
COST_KEYS = ("input_cost", "output_cost", "total_cost")


class TraceState(str, Enum):
    """MLflow's ``TraceState``."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    @classmethod
    def parse(cls, value: object) -> TraceState:
        if isinstance(value, TraceState):
            return value
        try:
            return cls(value)
        except ValueError:
            raise InvalidParameterValue(
                f"Invalid trace state {value!r}. Valid states are {[s.value for s in cls]}"
            ) from None


class SpanStatusCode(str, Enum):
    """OpenTelemetry's span status, as MLflow names it."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"

    @classmethod
    def parse(cls, value: object) -> SpanStatusCode:
        if isinstance(value, SpanStatusCode):
            return value
        text = value.removeprefix("STATUS_CODE_") if isinstance(value, str) else value
        try:
            return cls(text)
        except ValueError:
            raise InvalidParameterValue(
                f"Invalid span status code {value!r}. Valid codes are {[s.value for s in cls]}"
            ) from None


def _trace_state(value: object) -> TraceState:
    return TraceState.parse(value)


def _span_status(value: object) -> SpanStatusCode:
    return SpanStatusCode.parse(value)


def _str_map(value: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    return dict(sorted(dict(value or {}).items()))


@frozen
class TraceInfo:
    """One trace's metadata: everything but its spans.

    ``tags`` are mutable after the trace is written (``set_trace_tag``); ``metadata`` is fixed
    when the trace is written. The linked run and logged model live in metadata
    (:data:`SOURCE_RUN_METADATA`, :data:`MODEL_ID_METADATA`), the trace's name in a tag
    (:data:`TRACE_NAME_TAG`), as in MLflow.
    """

    trace_id: str
    experiment_id: str
    request_time: int
    state: TraceState = field(default=TraceState.OK, converter=_trace_state)
    execution_duration: int | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    tags: dict[str, str] = field(factory=dict, converter=_str_map)
    metadata: dict[str, str] = field(factory=dict, converter=_str_map)

    @property
    def name(self) -> str | None:
        return self.tags.get(TRACE_NAME_TAG)

    @property
    def run_id(self) -> str | None:
        return self.metadata.get(SOURCE_RUN_METADATA)

    @property
    def model_id(self) -> str | None:
        return self.metadata.get(MODEL_ID_METADATA)

    @property
    def end_time(self) -> int | None:
        """``request_time + execution_duration``; None while the duration is unknown."""
        if self.execution_duration is None:
            return None
        return self.request_time + self.execution_duration


def _attribute_map(value: Mapping[str, Any]) -> dict[str, Any]:
    # A typed converter: with the bare ``dict`` type checkers derive __init__'s parameter from
    # dict's overloads and refuse plain mappings of JSON values.
    return dict(value)


@frozen
class SpanEvent:
    """A point in time inside a span (an exception, a token streamed...). Attribute values are
    JSON values (str, number, bool, lists of them), as OpenTelemetry allows."""

    name: str
    timestamp_ns: int
    attributes: dict[str, Any] = field(factory=dict, converter=_attribute_map)


def _event_tuple(events: Iterable[SpanEvent]) -> tuple[SpanEvent, ...]:
    return tuple(events)


@frozen
class SpanLink:
    """A link from a span to another span (OpenTelemetry's span link), as MLflow names it: the
    linked trace's id (``tr-<32 hex>``), its span id, attributes that are JSON values."""

    trace_id: str
    span_id: str
    attributes: dict[str, Any] = field(factory=dict, converter=_attribute_map)


def _link_tuple(links: Iterable[SpanLink]) -> tuple[SpanLink, ...]:
    return tuple(links)


@frozen
class Span:
    """One operation inside a trace. ``parent_id`` None marks the root span."""

    trace_id: str
    span_id: str
    name: str
    start_time_ns: int
    parent_id: str | None = None
    end_time_ns: int | None = None
    status_code: SpanStatusCode = field(default=SpanStatusCode.UNSET, converter=_span_status)
    status_message: str = ""
    attributes: dict[str, str] = field(factory=dict, converter=_str_map)
    events: tuple[SpanEvent, ...] = field(default=(), converter=_event_tuple)
    links: tuple[SpanLink, ...] = field(default=(), converter=_link_tuple)
    # The OpenTelemetry trace id (32 hex digits) when ``trace_id`` is not ``tr-`` followed by it:
    # MLflow accepts any trace id and keeps the span's own OpenTelemetry id apart from it.
    otel_trace_id: str | None = None

    def _decoded(self, key: str) -> Any:
        text = self.attributes.get(key)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

    @property
    def span_type(self) -> str | None:
        value = self._decoded(SPAN_TYPE_ATTRIBUTE)
        return None if value is None else str(value)

    @property
    def inputs(self) -> Any:
        return self._decoded(SPAN_INPUTS_ATTRIBUTE)

    @property
    def outputs(self) -> Any:
        return self._decoded(SPAN_OUTPUTS_ATTRIBUTE)


def _span_tuple(spans: Iterable[Span]) -> tuple[Span, ...]:
    return tuple(spans)


@frozen
class Trace:
    """A trace with its spans, ordered by start time, then span id."""

    info: TraceInfo
    spans: tuple[Span, ...] = field(default=(), converter=_span_tuple)


def span_order(span: Span) -> tuple[int, str]:
    """The order spans come back in: start time, then span id."""
    return (span.start_time_ns, span.span_id)


def trace_not_found(trace_id: str) -> TraceNotFound:
    return TraceNotFound(f"Trace with ID '{trace_id}' not found.")


def trace_tag_not_found(trace_id: str, key: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No trace tag with key '{key}' for trace with ID '{trace_id}'")


# --- validation ----------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return is_long(value)  # 64-bit, as every backend stores it


def _check_string(path: str, value: object, limit: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidParameterValue(f"Invalid value {value!r} for '{path}': expected a string.")
    if len(value) > limit:
        raise InvalidParameterValue(f"'{path}' exceeds the maximum length of {limit} characters")
    validate_text(path, value)


def validate_trace_id(trace_id: object) -> str:
    if not isinstance(trace_id, str) or not trace_id:
        raise InvalidParameterValue(f"Invalid trace ID {trace_id!r}: expected a non-empty string.")
    _check_string("trace_id", trace_id, MAX_TRACE_ID_LENGTH)
    return trace_id


def validate_trace_tag(key: object, value: object) -> None:
    """MLflow's trace-tag rules: a tag key's characters and 250 chars; a value of 8000 chars."""
    validate_key(key, "key", "tag")
    _check_string("value", value, MAX_TRACE_TAG_VALUE_LENGTH)


def validate_trace_info(info: TraceInfo) -> None:
    """Everything a store checks before it writes ``info``.

    Raises:
        InvalidParameterValue: bad trace id or experiment id, a negative or non-integer time or
            duration, an over-long preview or client request id, a bad tag or metadata entry.
    """
    validate_trace_id(info.trace_id)
    if not isinstance(info.experiment_id, str) or not info.experiment_id:
        raise InvalidParameterValue(f"Invalid experiment ID {info.experiment_id!r} for a trace.")
    if not _is_int(info.request_time) or info.request_time < 0:
        raise InvalidParameterValue(
            f"Invalid request_time {info.request_time!r}: expected milliseconds >= 0."
        )
    if info.execution_duration is not None and (
        not _is_int(info.execution_duration) or info.execution_duration < 0
    ):
        raise InvalidParameterValue(
            f"Invalid execution_duration {info.execution_duration!r}: expected milliseconds >= 0."
        )
    _check_string("request_preview", info.request_preview, MAX_PREVIEW_LENGTH, optional=True)
    _check_string("response_preview", info.response_preview, MAX_PREVIEW_LENGTH, optional=True)
    _check_string("client_request_id", info.client_request_id, MAX_CLIENT_REQUEST_ID_LENGTH, optional=True)
    for key, value in info.tags.items():
        validate_trace_tag(key, value)
    for key, value in info.metadata.items():
        _check_string("metadata key", key, MAX_TRACE_METADATA_KEY_LENGTH)
        if not key:
            raise InvalidParameterValue("A trace metadata key must not be empty.")
        _check_string(f"metadata '{key}'", value, MAX_TRACE_METADATA_VALUE_LENGTH)


def _check_json(path: str, value: object) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Invalid value for '{path}': not JSON-serialisable.") from None


def validate_span(span: Span) -> None:
    """Everything a store checks before it writes ``span``.

    Raises:
        InvalidParameterValue: empty ids, a bad name, a negative or non-integer time, an attribute
            that is not a string, an event attribute that is not a JSON value.
    """
    validate_trace_id(span.trace_id)
    for path, value in (("span_id", span.span_id), ("parent_id", span.parent_id)):
        if path == "parent_id" and value is None:
            continue
        if not isinstance(value, str) or not value or len(value) > 64:
            raise InvalidParameterValue(f"Invalid {path} {value!r}: expected a non-empty id.")
        validate_text(path, value)
    _check_string("span name", span.name, MAX_SPAN_NAME_LENGTH)
    if not _is_int(span.start_time_ns) or span.start_time_ns < 0:
        raise InvalidParameterValue(f"Invalid span start time {span.start_time_ns!r}: expected nanoseconds.")
    if span.end_time_ns is not None and (not _is_int(span.end_time_ns) or span.end_time_ns < 0):
        raise InvalidParameterValue(f"Invalid span end time {span.end_time_ns!r}: expected nanoseconds.")
    _check_string("span status message", span.status_message, MAX_TRACE_TAG_VALUE_LENGTH)
    for key, value in span.attributes.items():
        if not isinstance(key, str) or not key:
            raise InvalidParameterValue(f"Invalid span attribute key {key!r}.")
        if not isinstance(value, str):
            raise InvalidParameterValue(
                f"Span attribute '{key}' must be JSON text, got {type(value).__name__}."
            )
        validate_text(f"span attribute '{key}'", value)
        validate_text("span attribute key", key)
    for event in span.events:
        _check_string("span event name", event.name, MAX_SPAN_NAME_LENGTH)
        if not _is_int(event.timestamp_ns):
            raise InvalidParameterValue(f"Invalid span event time {event.timestamp_ns!r}.")
        _check_json(f"span event '{event.name}' attributes", event.attributes)
    for link in span.links:
        for path, value in (("link trace_id", link.trace_id), ("link span_id", link.span_id)):
            _check_string(path, value, MAX_TRACE_ID_LENGTH)
        _check_json("span link attributes", link.attributes)
    if span.otel_trace_id is not None and not _is_hex(span.otel_trace_id, 32):
        raise InvalidParameterValue(
            f"Invalid OpenTelemetry trace id {span.otel_trace_id!r}: expected 32 hex digits."
        )


def _is_hex(value: object, digits: int) -> bool:
    return isinstance(value, str) and len(value) == digits and all(c in "0123456789abcdef" for c in value)


# --- traces made from spans -----------------------------------------------------------------------


def preview(text: str, role: str) -> str:
    """MLflow's request or response preview of a root span's inputs or outputs (JSON text): the
    text of the last message of ``role`` (else the last message) when the value is a chat
    payload (OpenAI chat or Responses shapes, or one under ``request``), else the text itself;
    over 1000 characters it is cut to 997 and ``...`` appended."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    content = None
    if isinstance(value, dict) and (messages := _messages(value)):
        content = _message_text(_last_message(messages, role))
    content = content or text
    if len(content) <= MAX_PREVIEW_LENGTH:
        return content
    return content[: MAX_PREVIEW_LENGTH - 3] + "..."


def _is_message(item: object) -> bool:
    return isinstance(item, dict) and "role" in item and "content" in item


def _messages(value: dict[str, Any]) -> list[dict[str, Any]] | None:
    messages = value.get("messages")
    if messages and isinstance(messages, list):
        return [m for m in messages if _is_message(m)]
    choices = value.get("choices")
    if choices and isinstance(choices, list) and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if message and _is_message(message):
            return [message]
    for key in ("input", "output"):
        items = value.get(key)
        if items and isinstance(items, list):
            return [m for m in items if _is_message(m)]
    request = value.get("request")
    return _messages(request) if isinstance(request, dict) else None


def _last_message(messages: list[dict[str, Any]], role: str) -> dict[str, Any]:
    return next((m for m in reversed(messages) if m.get("role") == role), messages[-1])


def _message_text(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                return part
            if isinstance(part, dict) and part.get("type") in ("text", "output_text"):
                text = part.get("text")
                return text if isinstance(text, str) else None
    return None


def _preview_of(root: Span, attribute: str, role: str) -> str | None:
    text = root.attributes.get(attribute)
    return preview(text, role) if text else None


OPEN_STATES = frozenset({TraceState.IN_PROGRESS, TraceState.STATE_UNSPECIFIED})
"""States of a trace whose end is not known yet: its root span has not arrived and ``start_trace``
has not written it. Spans arriving for an open trace still move its times and state."""


def _root(spans: Sequence[Span]) -> Span | None:
    return next((s for s in spans if s.parent_id is None), None)


def _root_state(root: Span) -> TraceState:
    return TraceState.ERROR if root.status_code is SpanStatusCode.ERROR else TraceState.OK


def _plain(text: str) -> str:
    """An attribute's JSON text as the plain string it encodes; other JSON stays as written."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _json_attribute(span: Span, key: str) -> dict[str, Any] | None:
    text = span.attributes.get(key)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _tree_total(
    spans: Sequence[Span], attribute: str, keys: Sequence[str], optional: Sequence[str]
) -> dict[str, float]:
    """The sum of ``attribute``'s objects over the span tree, counting a span only when no
    ancestor carries the attribute (integrations that report a parent's usage as the sum of its
    children's would otherwise count it twice). ``keys`` are always in the result, ``optional``
    ones when some counted span has them. Empty when no span carries the attribute."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[Span]] = {}
    roots: list[Span] = []
    for span in by_id.values():
        if span.parent_id is not None and span.parent_id in by_id:
            children.setdefault(span.parent_id, []).append(span)
        else:
            roots.append(span)
    totals: dict[str, float] = {}
    found = False
    # Depth first with a stack: traces may nest deeper than Python's recursion limit.
    stack = [(root, False) for root in roots]
    while stack:
        span, covered = stack.pop()
        data = _json_attribute(span, attribute)
        if data is not None and not covered:
            found = True
            for key in (*keys, *(k for k in optional if k in data)):
                totals[key] = totals.get(key, 0) + (_number(data.get(key)) or 0)
        stack += [(child, covered or data is not None) for child in children.get(span.span_id, ())]
    if not found:
        return {}
    return {key: totals[key] for key in (*keys, *optional) if key in totals}


def _usage_text(totals: Mapping[str, float], keys: Sequence[str], as_int: bool) -> str | None:
    """The metadata text MLflow writes for a token-usage or cost object: its keys in MLflow's
    order, whole token counts as integers, costs as floats, values that are neither left out."""
    rendered: dict[str, float] = {}
    for key in keys:
        value = _number(totals.get(key))
        if value is None:
            continue
        if as_int:
            if value != int(value) or not is_long(int(value)):
                continue
            rendered[key] = int(value)
        else:
            rendered[key] = float(value)
    return json.dumps(rendered) if rendered else None


_TOKENS = (TOKEN_USAGE_METADATA, TOKEN_USAGE_ATTRIBUTE, TOKEN_KEYS, CACHE_TOKEN_KEYS, True)
_COST = (COST_METADATA, COST_ATTRIBUTE, COST_KEYS, (), False)


def _metadata_from_spans(info: TraceInfo, spans: Sequence[Span], earlier: Iterable[Span]) -> dict[str, str]:
    """What ``spans`` add to ``info``'s metadata (MLflow's log_spans): token usage and cost summed
    over the whole trace (``earlier``, its stored spans, and ``spans``) whenever ``spans`` carry
    some, unless start_trace already gave them; the first session and user id when still
    missing."""
    learned: dict[str, str] = {}
    finalized = info.metadata.get(INFO_FINALIZED_METADATA) == "true"
    tree: list[Span] | None = None
    for key, attribute, keys, optional, as_int in (_TOKENS, _COST):
        if not any(_json_attribute(s, attribute) is not None for s in spans):
            continue
        if finalized and key in info.metadata:
            continue
        if tree is None:
            tree = list({s.span_id: s for s in (*earlier, *spans)}.values())
        text = _usage_text(_tree_total(tree, attribute, keys, optional), (*keys, *optional), as_int)
        if text is not None:
            learned[key] = text
    for key, attributes in ((SESSION_METADATA, SESSION_ATTRIBUTES), (USER_METADATA, (USER_ATTRIBUTE,))):
        if key in info.metadata:
            continue
        for span in spans:
            raw = next((span.attributes[a] for a in attributes if span.attributes.get(a)), None)
            value = None if raw is None else _plain(raw)
            if value and len(value) <= MAX_TRACE_METADATA_VALUE_LENGTH:
                learned[key] = value
                break
    return learned


def _tags_from_root(root: Span) -> dict[str, str]:
    """Tags the root span carries for its trace (``mlflow.traceTag.<key>`` attributes, which
    MLflow's OpenTelemetry exporter writes); invalid ones are left out, as MLflow does."""
    tags: dict[str, str] = {}
    for attribute, text in root.attributes.items():
        if not attribute.startswith(TRACE_TAG_ATTRIBUTE_PREFIX):
            continue
        key, value = attribute[len(TRACE_TAG_ATTRIBUTE_PREFIX) :], _plain(text)
        try:
            validate_trace_tag(key, value)
        except InvalidParameterValue:
            continue
        tags[key] = value
    return tags


def update_info_from_spans(
    stored: TraceInfo, spans: Sequence[Span], earlier: Iterable[Span] = ()
) -> TraceInfo:
    """What ``spans`` arriving for a known trace change in its info (as MLflow's SQL store).

    While the trace is open (:data:`OPEN_STATES`): its request time moves back to the earliest
    span start, its end forward to the latest span end, and the root span, when among ``spans``,
    sets the state (ERROR, else OK) and a missing name. Whatever the state:

    * the trace is tagged as keeping its spans in the tracking store (:data:`SPANS_LOCATION_TAG`);
    * previews still missing come from the root span's inputs and outputs (:func:`preview`), and
      the root's ``mlflow.traceTag.<key>`` attributes set tags;
    * when ``spans`` carry token usage or cost, the trace's total over its whole span tree
      (``earlier``: the trace's spans stored before; a span of ``spans`` replaces its stored
      version) is written to :data:`TOKEN_USAGE_METADATA` / :data:`COST_METADATA`, unless
      ``start_trace`` finalized the trace with a value of its own;
    * the first ``session.id`` (or ``gen_ai.conversation.id``) and ``user.id`` attribute fill
      :data:`SESSION_METADATA` and :data:`USER_METADATA` when missing.

    Returns ``stored`` itself when nothing changes.
    """
    if not spans:
        return stored
    root = _root(spans)
    info = stored
    if stored.state in OPEN_STATES:
        start_ms = min(stored.request_time, min(s.start_time_ns for s in spans) // 1_000_000)
        ends = [s.end_time_ns // 1_000_000 for s in spans if s.end_time_ns is not None]
        if stored.end_time is not None:
            ends.append(stored.end_time)
        duration = max(0, max(ends) - start_ms) if ends else None
        state = stored.state if root is None else _root_state(root)
        tags = stored.tags
        if root is not None and TRACE_NAME_TAG not in tags:
            tags = {**tags, TRACE_NAME_TAG: root.name[:MAX_TRACE_TAG_VALUE_LENGTH]}
        info = evolve(info, request_time=start_ms, execution_duration=duration, state=state, tags=tags)
    tags = {**info.tags, SPANS_LOCATION_TAG: SPANS_IN_TRACKING_STORE}
    if root is not None:
        tags.update(_tags_from_root(root))
        info = evolve(
            info,
            request_preview=_given(info.request_preview, _preview_of(root, SPAN_INPUTS_ATTRIBUTE, "user")),
            response_preview=_given(
                info.response_preview, _preview_of(root, SPAN_OUTPUTS_ATTRIBUTE, "assistant")
            ),
        )
    metadata = {**info.metadata, **_metadata_from_spans(info, spans, earlier)}
    info = evolve(info, tags=tags, metadata=metadata)
    return stored if info == stored else info


def carries_totals(spans: Iterable[Span]) -> bool:
    """Whether ``spans`` carry token usage or cost: only then does
    :func:`update_info_from_spans` need the trace's stored spans (its ``earlier``)."""
    return any(TOKEN_USAGE_ATTRIBUTE in s.attributes or COST_ATTRIBUTE in s.attributes for s in spans)


def info_from_spans(trace_id: str, experiment_id: str, spans: Sequence[Span]) -> TraceInfo:
    """The trace info a store records when spans arrive before their trace (MLflow does the same).

    An open trace (IN_PROGRESS) updated by ``spans`` (:func:`update_info_from_spans`): request time
    the earliest span start, end the latest span end; with the root span present, the state from
    its status (ERROR, else OK), the name from its name, the previews from its inputs and outputs.
    """
    start_ms = min(s.start_time_ns for s in spans) // 1_000_000
    return update_info_from_spans(TraceInfo(trace_id, experiment_id, start_ms, TraceState.IN_PROGRESS), spans)


def _given(value: str | None, fallback: str | None) -> str | None:
    return fallback if value is None else value


def started(info: TraceInfo) -> TraceInfo:
    """``info`` as ``start_trace`` stores it (MLflow's SQL store): marked final
    (:data:`INFO_FINALIZED_METADATA`), its token usage and cost in MLflow's canonical text (a
    value that holds none of their keys is dropped). Every store's ``start_trace`` writes this."""
    metadata = {**info.metadata, INFO_FINALIZED_METADATA: "true"}
    for key, _, keys, optional, as_int in (_TOKENS, _COST):
        if key not in metadata:
            continue
        try:
            given = json.loads(metadata[key])
        except ValueError:
            given = None
        text = _usage_text(given, (*keys, *optional), as_int) if isinstance(given, dict) else None
        if text is None:
            del metadata[key]
        else:
            metadata[key] = text
    return evolve(info, metadata=metadata)


def merge_trace_info(stored: TraceInfo, new: TraceInfo) -> TraceInfo:
    """``start_trace`` on a trace that exists (made by ``log_spans``, or a retry).

    The new info wins field by field; previews only when given; tags and metadata are merged with
    the new values winning, so nothing set earlier is lost.
    """
    return TraceInfo(
        new.trace_id,
        new.experiment_id,
        new.request_time,
        new.state,
        execution_duration=new.execution_duration,
        request_preview=new.request_preview if new.request_preview is not None else stored.request_preview,
        response_preview=new.response_preview
        if new.response_preview is not None
        else stored.response_preview,
        client_request_id=new.client_request_id,
        tags={**stored.tags, **new.tags},
        metadata={**stored.metadata, **new.metadata},
    )


def check_delete_traces_arguments(
    experiment_id: str,
    max_timestamp_millis: int | None,
    max_traces: int | None,
    trace_ids: Sequence[str] | None,
) -> str:
    """MLflow's rules for ``delete_traces``: exactly one of a time bound or ids, and ``max_traces``
    only with the time bound, positive; ids a store could hold. Returns the experiment id as
    text (an integer's, :func:`~genesis_flow.core.validation.experiment_id`), checked after the
    other arguments as MLflow checks it."""
    validate_lookups("trace_ids", trace_ids or ())
    if max_timestamp_millis is None and not trace_ids:
        raise InvalidParameterValue("Either `max_timestamp_millis` or `trace_ids` must be specified.")
    if max_timestamp_millis is not None and trace_ids:
        raise InvalidParameterValue("Only one of `max_timestamp_millis` and `trace_ids` can be specified.")
    if trace_ids and max_traces is not None:
        raise InvalidParameterValue("`max_traces` can't be specified if `trace_ids` is specified.")
    if max_traces is not None and (not _is_int(max_traces) or max_traces <= 0):
        raise InvalidParameterValue(f"`max_traces` must be a positive integer, received {max_traces}.")
    if max_timestamp_millis is not None and not _is_int(max_timestamp_millis):
        raise InvalidParameterValue(f"Invalid `max_timestamp_millis` {max_timestamp_millis!r}.")
    return validation.experiment_id(experiment_id)
