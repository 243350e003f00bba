"""MLflow 3's tracing entities (``mlflow.entities.Trace``, ``TraceInfo``, ``Span`` ...), ours.

Same attribute names and shapes as mlflow 3.17.2: a span's attributes are kept as MLflow's tracer
writes them (JSON text) and decoded on read (``span.inputs``, ``span.get_attribute(key)``); a trace
info names its experiment through ``trace_location``. Converters from the domain's frozen entities
(``genesis_flow.core.tracing``) are ``genesis_flow.entrypoints.shapes``'.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from genesis_flow.core import tracing as core
from genesis_flow.entrypoints.api.exceptions import INVALID_PARAMETER_VALUE, mlflow_exception

# MLflow's SpanAttributeKey values.
REQUEST_ID_ATTRIBUTE = "mlflow.traceRequestId"
SPAN_TYPE_ATTRIBUTE = core.SPAN_TYPE_ATTRIBUTE
INPUTS_ATTRIBUTE = core.SPAN_INPUTS_ATTRIBUTE
OUTPUTS_ATTRIBUTE = core.SPAN_OUTPUTS_ATTRIBUTE
FUNCTION_NAME_ATTRIBUTE = "mlflow.spanFunctionName"
LOG_LEVEL_ATTRIBUTE = "mlflow.spanLogLevel"


class SpanType:
    """MLflow's predefined span types (any string is accepted)."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    PARSER = "PARSER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    MEMORY = "MEMORY"
    UNKNOWN = "UNKNOWN"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"


class TraceState(str, Enum):
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"


class SpanStatusCode(str, Enum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


class SpanStatus:
    """A span's status: ``status_code`` and ``description`` (MLflow's SpanStatus)."""

    def __init__(self, status_code: SpanStatusCode | str, description: str = "") -> None:
        try:
            self.status_code = SpanStatusCode(getattr(status_code, "value", status_code))
        except ValueError:
            from genesis_flow.entrypoints.api.exceptions import INVALID_PARAMETER_VALUE, mlflow_exception

            raise mlflow_exception(
                f"{status_code} is not a valid SpanStatusCode value. Please use one of"
                f" {[c.value for c in SpanStatusCode]}",
                INVALID_PARAMETER_VALUE,
            ) from None
        self.description = description

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SpanStatus)
            and self.status_code == other.status_code
            and self.description == other.description
        )

    def __repr__(self) -> str:
        return f"SpanStatus(status_code={self.status_code.value!r}, description={self.description!r})"


class SpanEvent:
    """A point in time inside a span: ``name``, ``timestamp`` (ns) and ``attributes``."""

    def __init__(
        self, name: str, timestamp: int | None = None, attributes: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.timestamp = time.time_ns() if timestamp is None else int(timestamp)
        self.attributes = dict(attributes or {})

    @classmethod
    def from_exception(cls, exception: BaseException) -> SpanEvent:
        import traceback

        try:
            stacktrace = "".join(traceback.format_exception(exception)).strip()
        except Exception:
            stacktrace = repr(exception)
        return cls(
            "exception",
            attributes={
                "exception.message": str(exception),
                "exception.type": exception.__class__.__name__,
                "exception.stacktrace": stacktrace,
            },
        )

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "timestamp": self.timestamp, "attributes": self.attributes}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpanEvent) and self.json() == other.json()

    def __repr__(self) -> str:
        return f"SpanEvent(name={self.name!r}, timestamp={self.timestamp}, attributes={self.attributes!r})"


def _decode(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _hex_of_b64(text: str) -> str | None:
    """The hex digits of an id OpenTelemetry's dict writes in base64, or None when ``text`` is
    not base64 (MLflow's test: a ``tr-`` id has a "-" no base64 text has)."""
    try:
        return base64.b64decode(text, validate=True).hex()
    except ValueError:  # binascii.Error included
        return None


def _b64_hex(hex_id: str | None) -> str | None:
    if hex_id is None:
        return None
    try:
        return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")
    except ValueError:
        return hex_id


class Span:
    """A span of a finished trace (MLflow's ``Span``): read-only."""

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        name: str,
        start_time_ns: int,
        parent_id: str | None = None,
        end_time_ns: int | None = None,
        status: SpanStatus | None = None,
        attributes: dict[str, str] | None = None,
        events: Iterable[SpanEvent] = (),
    ) -> None:
        self._trace_id = trace_id
        self._span_id = span_id
        self._name = name
        self._start_time_ns = start_time_ns
        self._parent_id = parent_id
        self._end_time_ns = end_time_ns
        self._status = status or SpanStatus(SpanStatusCode.UNSET)
        self._attributes: dict[str, str] = dict(attributes or {})  # JSON text, as MLflow writes
        self._events: list[SpanEvent] = list(events)

    @property
    def trace_id(self) -> str:
        return self._trace_id

    @property
    def request_id(self) -> str:
        """Deprecated alias of ``trace_id``."""
        return self._trace_id

    @property
    def span_id(self) -> str:
        return self._span_id

    @property
    def name(self) -> str:
        return self._name

    @property
    def start_time_ns(self) -> int:
        return self._start_time_ns

    @property
    def end_time_ns(self) -> int | None:
        return self._end_time_ns

    @property
    def parent_id(self) -> str | None:
        return self._parent_id

    @property
    def status(self) -> SpanStatus:
        return self._status

    @property
    def inputs(self) -> Any:
        return self.get_attribute(INPUTS_ATTRIBUTE)

    @property
    def outputs(self) -> Any:
        return self.get_attribute(OUTPUTS_ATTRIBUTE)

    @property
    def span_type(self) -> str | None:
        value = self.get_attribute(SPAN_TYPE_ATTRIBUTE)
        return None if value is None else str(value)

    @property
    def attributes(self) -> dict[str, Any]:
        """Every attribute, decoded from its JSON text."""
        return {key: _decode(value) for key, value in self._attributes.items()}

    @property
    def events(self) -> list[SpanEvent]:
        return list(self._events)

    def get_attribute(self, key: str) -> Any | None:
        return _decode(self._attributes.get(key))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """A span from the dict MLflow's ``Span.from_dict`` reads: ids as ``to_dict`` writes them
        (base64) or as the span names them (``tr-...`` trace id, hex span ids), and the status
        code as OpenTelemetry's name (``STATUS_CODE_OK``) or ours (``OK``)."""
        status = data.get("status") or {}
        trace_id, span_id, parent_id = data["trace_id"], data["span_id"], data.get("parent_span_id") or None
        otel_trace_id = _hex_of_b64(trace_id)
        if otel_trace_id is not None:
            trace_id = "tr-" + otel_trace_id
            span_id = _hex_of_b64(span_id) or span_id
            parent_id = None if parent_id is None else _hex_of_b64(parent_id) or parent_id
        return cls(
            trace_id,
            span_id,
            data["name"],
            int(data["start_time_unix_nano"]),
            parent_id=parent_id,
            end_time_ns=data.get("end_time_unix_nano"),
            status=SpanStatus(
                str(status.get("code", "UNSET")).removeprefix("STATUS_CODE_"), status.get("message", "")
            ),
            attributes=dict(data.get("attributes") or {}),
            events=[
                SpanEvent(e["name"], e["time_unix_nano"], dict(e.get("attributes") or {}))
                for e in data.get("events") or ()
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        """MLflow 3's span dict (OpenTelemetry's shape: base64 ids, raw JSON-text attributes)."""
        otel_trace_id = self._trace_id[3:] if self._trace_id.startswith("tr-") else self._trace_id
        return {
            "trace_id": _b64_hex(otel_trace_id),
            "span_id": _b64_hex(self._span_id),
            "parent_span_id": _b64_hex(self._parent_id),
            "name": self._name,
            "start_time_unix_nano": self._start_time_ns,
            "end_time_unix_nano": self._end_time_ns,
            "events": [
                {"name": e.name, "time_unix_nano": e.timestamp, "attributes": dict(e.attributes)}
                for e in self._events
            ],
            "status": {
                "code": f"STATUS_CODE_{self._status.status_code.value}",
                "message": self._status.description,
            },
            "attributes": dict(self._attributes),
            "links": [],
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, trace_id={self.trace_id!r},"
            f" span_id={self.span_id!r}, parent_id={self.parent_id!r})"
        )


class TraceLocation:
    """Where a trace lives: always an MLflow experiment here (``type`` MLFLOW_EXPERIMENT)."""

    class _Experiment:
        def __init__(self, experiment_id: str) -> None:
            self.experiment_id = experiment_id

    def __init__(self, experiment_id: str) -> None:
        self.type = "MLFLOW_EXPERIMENT"
        self.mlflow_experiment = TraceLocation._Experiment(experiment_id)

    @classmethod
    def from_experiment_id(cls, experiment_id: str) -> TraceLocation:
        return cls(str(experiment_id))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceLocation:
        return cls(str(data["mlflow_experiment"]["experiment_id"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "mlflow_experiment": {"experiment_id": self.mlflow_experiment.experiment_id},
        }


def _milliseconds(value: int | str) -> int:
    """Epoch milliseconds of a trace's request time: a number, or the RFC 3339 text ``to_dict``
    writes (fractions below a millisecond dropped)."""
    if not isinstance(value, str):
        return int(value)
    whole, _, rest = value.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=timezone.utc).timestamp()
    return int(seconds) * 1000 + int((rest + "000")[:3])


class TraceInfo:
    """A trace's metadata (MLflow 3's ``TraceInfo``). Times are milliseconds."""

    def __init__(
        self,
        trace_id: str,
        trace_location: TraceLocation,
        request_time: int,
        state: TraceState,
        request_preview: str | None = None,
        response_preview: str | None = None,
        client_request_id: str | None = None,
        execution_duration: int | None = None,
        trace_metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.trace_id = trace_id
        self.trace_location = trace_location
        self.request_time = request_time
        self.state = state
        self.request_preview = request_preview
        self.response_preview = response_preview
        self.client_request_id = client_request_id
        self.execution_duration = execution_duration
        self.trace_metadata = dict(trace_metadata or {})
        self.tags = dict(tags or {})
        self.assessments: list[Any] = []

    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def experiment_id(self) -> str:
        return self.trace_location.mlflow_experiment.experiment_id

    @property
    def request_metadata(self) -> dict[str, str]:
        return self.trace_metadata

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def status(self) -> TraceState:
        return self.state

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceInfo:
        """The info ``to_dict`` wrote (MLflow 3's trace info dict)."""
        duration = data.get("execution_duration_ms")
        return cls(
            trace_id=data["trace_id"],
            trace_location=TraceLocation.from_dict(data["trace_location"]),
            request_time=_milliseconds(data["request_time"]),
            state=TraceState(data["state"]),
            request_preview=data.get("request_preview"),
            response_preview=data.get("response_preview"),
            client_request_id=data.get("client_request_id"),
            execution_duration=None if duration is None else int(duration),
            trace_metadata=data.get("trace_metadata"),
            tags=data.get("tags"),
        )

    def to_dict(self) -> dict[str, Any]:
        when = datetime.fromtimestamp(self.request_time / 1000, tz=timezone.utc)
        result: dict[str, Any] = {
            "trace_id": self.trace_id,
            "trace_location": self.trace_location.to_dict(),
            "request_time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.request_time % 1000:03d}Z",
            "state": self.state.value,
            "trace_metadata": dict(self.trace_metadata),
            "tags": dict(self.tags),
        }
        for key in ("request_preview", "response_preview", "client_request_id"):
            if getattr(self, key) is not None:
                result[key] = getattr(self, key)
        if self.execution_duration is not None:
            result["execution_duration_ms"] = self.execution_duration
        return result

    def __repr__(self) -> str:
        return (
            f"TraceInfo(trace_id={self.trace_id!r}, experiment_id={self.experiment_id!r},"
            f" state={self.state.value})"
        )


class TraceData:
    """A trace's spans; ``request`` / ``response`` are the root span's inputs and outputs as JSON
    text."""

    def __init__(self, spans: list[Span] | None = None) -> None:
        self.spans = list(spans or [])

    def _root(self) -> Span | None:
        return next((s for s in self.spans if s.parent_id is None), None)

    @property
    def request(self) -> str | None:
        root = self._root()
        return None if root is None else root._attributes.get(INPUTS_ATTRIBUTE)

    @property
    def response(self) -> str | None:
        root = self._root()
        return None if root is None else root._attributes.get(OUTPUTS_ATTRIBUTE)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceData:
        return cls([Span.from_dict(span) for span in data.get("spans") or ()])

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [s.to_dict() for s in self.spans]}


class Trace:
    """A trace: ``info`` and ``data.spans`` (MLflow's ``Trace``)."""

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """The trace ``to_dict`` wrote, or MLflow 3's ``Trace.to_dict()``.

        Raises:
            MlflowException: INVALID_PARAMETER_VALUE without the ``info`` and ``data`` keys.
        """
        info, spans = data.get("info"), data.get("data")
        if info is None or spans is None:
            raise mlflow_exception(
                "Unable to parse Trace from dictionary. Expected keys: 'info' and 'data'. Received"
                f" keys: {list(data)}",
                INVALID_PARAMETER_VALUE,
            )
        return cls(TraceInfo.from_dict(info), TraceData.from_dict(spans))

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        return json.dumps(self.to_dict(), indent=2 if pretty else None, default=str)

    def search_spans(
        self, span_type: str | None = None, name: str | None = None, span_id: str | None = None
    ) -> list[Span]:
        return [
            s
            for s in self.data.spans
            if (span_type is None or s.span_type == span_type)
            and (name is None or s.name == name)
            and (span_id is None or s.span_id == span_id)
        ]

    def to_pandas_dataframe_row(self) -> dict[str, Any]:
        return {
            "trace_id": self.info.trace_id,
            "trace": self.to_json(),
            "client_request_id": self.info.client_request_id,
            "state": self.info.state,
            "request_time": self.info.request_time,
            "execution_duration": self.info.execution_duration,
            "request": _decode(self.data.request) if self.data.request is not None else None,
            "response": _decode(self.data.response) if self.data.response is not None else None,
            "trace_metadata": self.info.trace_metadata,
            "tags": self.info.tags,
            "spans": [span.to_dict() for span in self.data.spans],
            "assessments": [],
        }

    @staticmethod
    def pandas_dataframe_columns() -> list[str]:
        return [
            "trace_id",
            "trace",
            "client_request_id",
            "state",
            "request_time",
            "execution_duration",
            "request",
            "response",
            "trace_metadata",
            "tags",
            "spans",
            "assessments",
        ]

    def __repr__(self) -> str:
        return f"Trace(trace_id={self.info.trace_id})"
