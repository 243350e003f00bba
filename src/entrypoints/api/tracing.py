"""MLflow 3's tracing API (``@mlflow.trace``, ``mlflow.start_span``, ``mlflow.search_traces`` ...)
without MLflow and without OpenTelemetry.

A span is a :class:`LiveSpan` kept in memory; the active one is a context variable, so nested calls,
asyncio tasks (which copy the context) and threads (which start with an empty one, hence a new
trace, as in MLflow) get the right parent. Ids are MLflow's: ``tr-`` + 32 hex digits of a random
128-bit id for a trace, 16 hex digits of a random 64-bit id for a span. Attributes are stored as
MLflow's tracer writes them (JSON text).

When the root span ends, the trace is exported to the tracking store the fluent API uses, in the
experiment that was active when the root started: one ``log_spans`` with every span, then one
``start_trace`` with the info (times, state, previews, tags and metadata as MLflow writes them).
Exporting is synchronous; a failure is logged as a warning and never reaches the traced code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import logging
import secrets
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar, overload

from genesis_flow.core import tracing as core
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints.api import context as run_context
from genesis_flow.entrypoints.api import live_traces, state
from genesis_flow.entrypoints.api.exceptions import (
    INVALID_PARAMETER_VALUE,
    MlflowException,
    mlflow_exception,
    translated,
)
from genesis_flow.entrypoints.api.trace_entities import (
    FUNCTION_NAME_ATTRIBUTE,
    INPUTS_ATTRIBUTE,
    LOG_LEVEL_ATTRIBUTE,
    OUTPUTS_ATTRIBUTE,
    REQUEST_ID_ATTRIBUTE,
    SPAN_TYPE_ATTRIBUTE,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    Trace,
    TraceState,
)

_logger = logging.getLogger("genesis_flow")

TRACE_SCHEMA_VERSION_KEY = "mlflow.trace_schema.version"
TRACE_SCHEMA_VERSION = "3"
TRACE_INPUTS_METADATA = "mlflow.traceInputs"
TRACE_OUTPUTS_METADATA = "mlflow.traceOutputs"
TRACE_SESSION_METADATA = "mlflow.trace.session"
TRACE_USER_METADATA = "mlflow.trace.user"
SPANS_LOCATION_TAG = core.SPANS_LOCATION_TAG
SPANS_IN_TRACKING_STORE = core.SPANS_IN_TRACKING_STORE
MAX_CHARS_IN_TRACE_INFO_METADATA = 250
TRUNCATION_SUFFIX = "..."
PREVIEW_MAX_LENGTH = core.MAX_PREVIEW_LENGTH
STREAM_CHUNK_EVENT_NAME = "mlflow.chunk.item.{index}"
STREAM_CHUNK_EVENT_VALUE_KEY = "mlflow.chunk.value"
SEARCH_TRACES_DEFAULT_MAX_RESULTS = 100
START_TIME_NS_ATTRIBUTE = "mlflow.spanStartTimeNs"
EXPERIMENT_ID_ATTRIBUTE = "mlflow.experimentId"
# Span types MLflow logs at INFO; every other type at DEBUG (MLflow's default_log_level).
_INFO_SPAN_TYPES = frozenset({"LLM", "CHAT_MODEL", "TOOL", "RETRIEVER", "AGENT", "EMBEDDING"})
_LOG_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


# --- JSON encoding as MLflow's tracer does it -----------------------------------------------------


class TraceJSONEncoder(json.JSONEncoder):
    """MLflow's encoder of span values: pydantic models dumped, dataclasses as their fields, any
    other object as its ``str``."""

    def default(self, obj: Any) -> Any:
        dump = getattr(obj, "model_dump", None)
        if callable(dump) and not isinstance(obj, type):
            try:
                return dump()
            except Exception:
                pass
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            try:
                return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
            except Exception:
                pass
        try:
            return super().default(obj)
        except TypeError:
            return str(obj)


def dump_attribute_value(value: Any) -> str:
    try:
        return json.dumps(value, cls=TraceJSONEncoder, ensure_ascii=False)
    except (ValueError, TypeError):  # a circular reference, a dict with odd keys
        return json.dumps(repr(value), ensure_ascii=False)


def _event_value(value: Any) -> Any:
    """An event attribute as OpenTelemetry keeps it: str, bool, int, float or a list of them."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float)) for v in value):
        return list(value)
    return str(value)


# --- ids ------------------------------------------------------------------------------------------


def _new_trace_id() -> str:
    value = 0
    while value == 0:
        value = secrets.randbits(128)
    return f"tr-{value:032x}"


def _new_span_id() -> str:
    value = 0
    while value == 0:
        value = secrets.randbits(64)
    return f"{value:016x}"


# --- live spans and in-progress traces -----------------------------------------------------------


class _ActiveTrace(live_traces.LiveTrace):
    """A trace whose root span has not ended: its spans and the info MLflow fills in along the
    way (tags, metadata, previews, state set by ``update_current_trace``)."""

    def __init__(self, trace_id: str) -> None:
        super().__init__(trace_id)
        self.spans: dict[str, LiveSpan] = {}
        self.metadata: dict[str, str] = {}
        self.client_request_id: str | None = None
        self.request_preview: str | None = None
        self.response_preview: str | None = None
        self.state: TraceState | None = None
        self.experiment_id: str | None = None
        self.store: Any = None
        self.setup_error: Exception | None = None
        self.exported = False  # its root span has ended: spans can no longer join it


@dataclasses.dataclass(frozen=True)
class _UserContext:
    """What ``context()`` blocks declare for the traces started inside them (outer blocks merged
    in, inner keys winning); ``enabled`` None inherits."""

    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    enabled: bool | None = None


_user_context: ContextVar[_UserContext | None] = ContextVar("genesis_flow_trace_context", default=None)


def _tracing_disabled() -> bool:
    declared = _user_context.get()
    return declared is not None and declared.enabled is False


_current_span: ContextVar[LiveSpan | None] = ContextVar("genesis_flow_active_span", default=None)
_last_trace_id: str | None = None
_last_trace_id_local: ContextVar[str | None] = ContextVar("genesis_flow_last_trace_id", default=None)
_env_metadata: dict[str, str] | None = None


class LiveSpan(Span):
    """A span being recorded (MLflow's ``LiveSpan``): setters, events, status; ``end()`` once."""

    def __init__(
        self,
        trace: _ActiveTrace,
        span_id: str,
        name: str,
        parent_id: str | None,
        start_time_ns: int | None = None,
    ) -> None:
        start = time.time_ns() if start_time_ns is None else int(start_time_ns)
        super().__init__(trace.trace_id, span_id, name, start, parent_id=parent_id)
        self._trace = trace
        self._ended = False

    def _writable(self) -> bool:
        if self._ended:
            _logger.debug("Span %s has ended; the change is ignored.", self.span_id)
        return not self._ended

    def set_attribute(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            _logger.warning("Attribute key must be a string, but got %s. Skipping.", type(key))
            return
        if self._writable():
            self._attributes[key] = dump_attribute_value(value)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        if not isinstance(attributes, dict):
            _logger.warning("Attributes must be a dictionary, but got %s. Skipping.", type(attributes))
            return
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_inputs(self, inputs: Any) -> None:
        self.set_attribute(INPUTS_ATTRIBUTE, inputs)

    def set_outputs(self, outputs: Any) -> None:
        self.set_attribute(OUTPUTS_ATTRIBUTE, outputs)

    def set_span_type(self, span_type: str) -> None:
        if span_type is not None:
            self.set_attribute(SPAN_TYPE_ATTRIBUTE, span_type)

    def set_log_level(self, level: Any) -> None:
        self.set_attribute(LOG_LEVEL_ATTRIBUTE, _log_level(level))

    def set_status(self, status: SpanStatus | SpanStatusCode | str) -> None:
        if not self._writable():
            return
        if not isinstance(status, SpanStatus):
            status = SpanStatus(status)
        # OpenTelemetry's rules: OK is final, UNSET changes nothing.
        if self._status.status_code == SpanStatusCode.OK or status.status_code == SpanStatusCode.UNSET:
            return
        self._status = status

    def add_event(self, event: SpanEvent) -> None:
        if not self._writable():
            return
        attributes = {str(k): _event_value(v) for k, v in (event.attributes or {}).items()}
        self._events.append(SpanEvent(event.name, event.timestamp, attributes))
        if event.name == "exception":  # MLflow raises the span's level so errors stay visible
            current = self.get_attribute(LOG_LEVEL_ATTRIBUTE)
            if not isinstance(current, int) or current < _LOG_LEVELS["ERROR"]:
                self._attributes[LOG_LEVEL_ATTRIBUTE] = str(_LOG_LEVELS["ERROR"])

    def record_exception(self, exception: str | BaseException) -> None:
        if isinstance(exception, str):
            exception = Exception(exception)
        if not isinstance(exception, BaseException):
            raise _invalid("The `exception` parameter must be an Exception instance or a string.")
        self.add_event(SpanEvent.from_exception(exception))
        self.set_status(SpanStatus(SpanStatusCode.ERROR, f"{type(exception).__name__}: {exception}"))

    def end(
        self,
        outputs: Any | None = None,
        attributes: dict[str, Any] | None = None,
        status: SpanStatus | str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        """End the span (MLflow's ``LiveSpan.end``): status OK unless ERROR, the default log level
        of its type; the trace is exported when this is its root."""
        if self._ended:
            return
        self.set_attributes(attributes or {})
        if outputs is not None:
            self.set_outputs(outputs)
        if status is not None:
            self.set_status(status)
        if self._status.status_code != SpanStatusCode.ERROR:
            self.set_status(SpanStatus(SpanStatusCode.OK))
        if LOG_LEVEL_ATTRIBUTE not in self._attributes:
            level = _LOG_LEVELS["INFO"] if self.span_type in _INFO_SPAN_TYPES else _LOG_LEVELS["DEBUG"]
            self._attributes[LOG_LEVEL_ATTRIBUTE] = str(level)
        self._end_time_ns = time.time_ns() if end_time_ns is None else int(end_time_ns)
        self._ended = True
        if self.parent_id is None:
            _end_trace(self._trace, self)

    def to_core(self) -> core.Span:
        return core.Span(
            trace_id=self.trace_id,
            span_id=self.span_id,
            name=self.name,
            start_time_ns=self.start_time_ns,
            parent_id=self.parent_id,
            end_time_ns=self.end_time_ns,
            status_code=self._status.status_code.value,
            status_message=self._status.description or "",
            attributes=dict(self._attributes),
            events=[core.SpanEvent(e.name, e.timestamp, dict(e.attributes)) for e in self._events],
        )


NO_OP_SPAN_TRACE_ID = "MLFLOW_NO_OP_SPAN_TRACE_ID"


class NoOpSpan(LiveSpan):
    """MLflow's ``NoOpSpan``: what span creation returns where tracing is off (``context(enabled=
    False)``) or a span could not start. Every change is ignored, nothing is exported; its trace
    id is MLflow's ``MLFLOW_NO_OP_SPAN_TRACE_ID`` and its other ids are None."""

    def __init__(self) -> None:
        Span.__init__(self, NO_OP_SPAN_TRACE_ID, "", "", 0)
        self._ended = True

    def _writable(self) -> bool:
        return False

    @property
    def span_id(self) -> str | None:  # type: ignore[override]
        return None

    @property
    def name(self) -> str | None:  # type: ignore[override]
        return None

    @property
    def start_time_ns(self) -> int | None:  # type: ignore[override]
        return None

    @property
    def status(self) -> SpanStatus | None:  # type: ignore[override]
        return None

    def end(
        self,
        outputs: Any | None = None,
        attributes: dict[str, Any] | None = None,
        status: SpanStatus | str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        pass


def _log_level(level: Any) -> int:
    if isinstance(level, int) and not isinstance(level, bool) and level in _LOG_LEVELS.values():
        return int(level)
    if isinstance(level, str) and level.strip().upper() in _LOG_LEVELS:
        return _LOG_LEVELS[level.strip().upper()]
    raise _invalid(f"Invalid SpanLogLevel name {level!r}. Expected one of {list(_LOG_LEVELS)}.")


def _environment_metadata() -> dict[str, str]:
    """The user, the script and its git commit, resolved once per process (as MLflow)."""
    global _env_metadata
    if _env_metadata is None:
        _env_metadata = run_context.system_tags()
    return dict(_env_metadata)


def _begin_trace(run_id: str | None, experiment_id: str | None = None) -> _ActiveTrace:
    trace = _ActiveTrace(_new_trace_id())
    declared = _user_context.get() or _UserContext()
    metadata = _environment_metadata()
    metadata[TRACE_SCHEMA_VERSION_KEY] = TRACE_SCHEMA_VERSION
    try:
        client = state.current_client()
        trace.store = client.store
        trace.experiment_id = state.experiment_id() if experiment_id is None else str(experiment_id)
        active = state.active_run()
        if active is not None:
            metadata[core.SOURCE_RUN_METADATA] = active.info.run_id
        active_model_id = state.active_model_id()
        if active_model_id:
            metadata[core.MODEL_ID_METADATA] = active_model_id
    except Exception as error:  # reported when the trace is exported; the user's code goes on
        trace.setup_error = error
    metadata.update(declared.metadata)  # a context() block's metadata wins, as in MLflow
    if run_id is not None:
        metadata[core.SOURCE_RUN_METADATA] = run_id
    trace.metadata = metadata
    trace.tags.update(declared.tags)
    live_traces.register(trace)
    return trace


def _start_span(
    name: str,
    parent: LiveSpan | None,
    span_type: str | None = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    log_level: Any = None,
    description: str | None = None,
    run_id: str | None = None,
    start_time_ns: int | None = None,
    experiment_id: str | None = None,
) -> LiveSpan:
    """A new span under ``parent`` (or the root of a new trace), not made active; a NoOpSpan
    where tracing is off or below a NoOpSpan."""
    if _tracing_disabled() or isinstance(parent, NoOpSpan):
        return NoOpSpan()
    if log_level is not None:
        level = _log_level(log_level)
    if parent is None:
        trace = _begin_trace(run_id, experiment_id)
    else:
        trace = parent._trace
        if run_id is not None:
            _logger.warning(
                "The `run_id` parameter can only be used for root spans, but the span `%s` is not a"
                " root span. The specified value `%s` will be ignored.",
                name,
                run_id,
            )
    span = LiveSpan(trace, _new_span_id(), name, None if parent is None else parent.span_id, start_time_ns)
    # MLflow's tracer records an explicit start time and experiment as attributes (they reach
    # its span processor that way), so its stored spans carry them.
    if start_time_ns:
        span.set_attribute(START_TIME_NS_ATTRIBUTE, int(start_time_ns))
    if experiment_id:
        span.set_attribute(EXPERIMENT_ID_ATTRIBUTE, str(experiment_id))
    span.set_attribute(REQUEST_ID_ATTRIBUTE, trace.trace_id)
    span.set_span_type(span_type)  # type: ignore[arg-type]
    span.set_attributes(dict(attributes) if attributes is not None else {})
    if description is not None:
        span.set_attribute("mlflow.spanDescription", description)
    if log_level is not None:
        span.set_attribute(LOG_LEVEL_ATTRIBUTE, level)
    with trace.lock:
        trace.spans[span.span_id] = span
    return span


_NO_DESTINATION = (
    "trace_destination names another trace location; Genesis-Flow keeps traces in the experiments"
    " of the tracking store and does not support it."
)


def _invalid(message: str) -> MlflowException:
    return mlflow_exception(message, INVALID_PARAMETER_VALUE)


@contextlib.contextmanager
def start_span(
    name: str = "span",
    span_type: str | None = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    trace_destination: Any = None,
    log_level: Any = None,
    run_id: str | None = None,
    links: list[Any] | None = None,
    description: str | None = None,
) -> Generator[LiveSpan, None, None]:
    """A new span, child of the active one (or the root of a new trace), active inside the block.

    An exception raised in the block adds an ``exception`` event, sets the status to ERROR and is
    re-raised; the span ends when the block exits. ``links`` are not kept."""
    if trace_destination is not None:
        raise _invalid(_NO_DESTINATION)
    span = _start_span(name, _current_span.get(), span_type, attributes, log_level, description, run_id)
    if isinstance(span, NoOpSpan):
        yield span
        return
    try:
        token = _current_span.set(span)
        try:
            yield span
        finally:
            _current_span.reset(token)
    except Exception as exc:
        span.record_exception(exc)
        raise
    finally:
        span.end()


def _capture_inputs(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The call's arguments by name, defaults applied, without ``self`` or ``cls`` (as MLflow)."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.arguments.get("self"):
            del bound.arguments["self"]
        names = list(bound.arguments)
        if names and names[0] == "cls" and isinstance(bound.arguments["cls"], type):
            del bound.arguments["cls"]
        return dict(bound.arguments)
    except Exception:
        _logger.warning("Failed to capture inputs for function %s.", getattr(fn, "__name__", fn))
        return None


# What @trace takes: a function, or a classmethod or staticmethod object it unwraps.
_Traced = TypeVar("_Traced", bound="Callable[..., Any] | classmethod[Any, Any, Any] | staticmethod[Any, Any]")


# Overloads, as MLflow's: the decorated function keeps its type instead of becoming untyped.
@overload
def trace(
    func: _Traced,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    trace_destination: Any = None,
    sampling_ratio_override: float | None = None,
    log_level: Any = None,
    links: list[Any] | None = None,
    description: str | None = None,
) -> _Traced: ...


@overload
def trace(
    func: None = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    trace_destination: Any = None,
    sampling_ratio_override: float | None = None,
    log_level: Any = None,
    links: list[Any] | None = None,
    description: str | None = None,
) -> Callable[[_Traced], _Traced]: ...


def trace(
    func: Any = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    trace_destination: Any = None,
    sampling_ratio_override: float | None = None,
    log_level: Any = None,
    links: list[Any] | None = None,
    description: str | None = None,
) -> Any:
    """Decorator: each call of the function is a span (name, inputs by argument name, output).

    Works on functions, coroutines, generators and async generators (a generator's span lasts
    until it is exhausted; its outputs are the list of yielded items, or ``output_reducer`` of
    it), and on class and static methods. ``sampling_ratio_override`` is checked but every call
    is traced; ``links`` are not kept."""
    if sampling_ratio_override is not None and not 0.0 <= sampling_ratio_override <= 1.0:
        raise _invalid(f"sampling_ratio_override must be between 0.0 and 1.0, got {sampling_ratio_override}")
    if trace_destination is not None:
        raise _invalid(_NO_DESTINATION)

    def decorator(fn: Any) -> Any:
        is_classmethod = isinstance(fn, classmethod)
        is_staticmethod = isinstance(fn, staticmethod)
        original = fn.__func__ if is_classmethod or is_staticmethod else fn
        if inspect.isgeneratorfunction(original) or inspect.isasyncgenfunction(original):
            wrapped = _wrap_generator(
                original, name, span_type, attributes, output_reducer, log_level, description
            )
        else:
            if output_reducer is not None:
                raise _invalid("The output_reducer argument is only supported for generator functions.")
            wrapped = _wrap_function(original, name, span_type, attributes, log_level, description)
        if is_classmethod:
            return classmethod(wrapped)
        if is_staticmethod:
            return staticmethod(wrapped)
        return wrapped

    return decorator(func) if func else decorator


def _wrap_function(
    fn: Callable[..., Any],
    name: str | None,
    span_type: str,
    attributes: dict[str, Any] | None,
    log_level: Any,
    description: str | None,
) -> Callable[..., Any]:
    span_name = name or fn.__name__

    @contextlib.contextmanager
    def span_for(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[LiveSpan]:
        with start_span(
            name=span_name,
            span_type=span_type,
            attributes=attributes,
            log_level=log_level,
            description=description,
        ) as span:
            span.set_attribute(FUNCTION_NAME_ATTRIBUTE, fn.__name__)
            span.set_inputs(_capture_inputs(fn, args, kwargs))
            yield span

    def finish(span: LiveSpan, result: Any) -> Any:
        if span.outputs is None:  # an explicit set_outputs() inside the function wins
            span.set_outputs(result)
        return result

    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with span_for(args, kwargs) as span:
                return finish(span, await fn(*args, **kwargs))

        wrapper = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            with span_for(args, kwargs) as span:
                return finish(span, fn(*args, **kwargs))

        wrapper = sync_wrapper
    return _wrap_safe(fn, wrapper)


def _wrap_generator(
    fn: Callable[..., Any],
    name: str | None,
    span_type: str,
    attributes: dict[str, Any] | None,
    output_reducer: Callable[[list[Any]], Any] | None,
    log_level: Any,
    description: str | None,
) -> Callable[..., Any]:
    # The span is active only while the generator's own code runs, so spans the consumer opens
    # between two items are not its children.
    def open_span(args: tuple[Any, ...], kwargs: dict[str, Any]) -> LiveSpan:
        inputs = _capture_inputs(fn, args, kwargs)
        span = _start_span(
            name or fn.__name__, _current_span.get(), span_type, attributes, log_level, description
        )
        span.set_inputs(inputs)
        return span

    def record_chunk(span: LiveSpan, chunk: Any, index: int) -> None:
        try:
            value = json.dumps(chunk, cls=TraceJSONEncoder)
        except Exception:
            return
        span.add_event(
            SpanEvent(
                STREAM_CHUNK_EVENT_NAME.format(index=index), attributes={STREAM_CHUNK_EVENT_VALUE_KEY: value}
            )
        )

    def close_span(span: LiveSpan, outputs: list[Any]) -> None:
        result: Any = outputs
        if output_reducer is not None:
            try:
                result = output_reducer(outputs)
            except Exception as error:
                _logger.debug("Failed to reduce outputs from stream: %s", error)
        span.end(outputs=result)

    def fail_span(span: LiveSpan, error: Exception) -> None:
        span.add_event(SpanEvent.from_exception(error))
        span.end(status=SpanStatusCode.ERROR)

    wrapper: Callable[..., Any]
    if inspect.isgeneratorfunction(fn):

        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            span = open_span(args, kwargs)
            generator = fn(*args, **kwargs)
            outputs: list[Any] = []
            while True:
                token = _current_span.set(span)
                try:
                    value = next(generator)
                except StopIteration:
                    break
                except Exception as error:
                    fail_span(span, error)
                    raise
                finally:
                    _current_span.reset(token)
                outputs.append(value)
                record_chunk(span, value, len(outputs) - 1)
                yield value
            close_span(span, outputs)

        wrapper = gen_wrapper
    else:

        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            span = open_span(args, kwargs)
            generator = fn(*args, **kwargs)
            outputs: list[Any] = []
            while True:
                token = _current_span.set(span)
                try:
                    value = await generator.__anext__()
                except StopAsyncIteration:
                    break
                except Exception as error:
                    fail_span(span, error)
                    raise
                finally:
                    _current_span.reset(token)
                outputs.append(value)
                record_chunk(span, value, len(outputs) - 1)
                yield value
            close_span(span, outputs)

        wrapper = agen_wrapper
    return _wrap_safe(fn, wrapper)


def _wrap_safe(fn: Callable[..., Any], wrapper: Callable[..., Any]) -> Callable[..., Any]:
    wrapped = functools.wraps(fn)(wrapper)
    with contextlib.suppress(Exception):
        wrapped.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    wrapped.__mlflow_traced__ = True  # type: ignore[attr-defined]
    return wrapped


# --- export ---------------------------------------------------------------------------------------


def _truncate_metadata(value: str | None) -> str:
    if not value:
        return ""
    if len(value) > MAX_CHARS_IN_TRACE_INFO_METADATA:
        return value[: MAX_CHARS_IN_TRACE_INFO_METADATA - len(TRUNCATION_SUFFIX)] + TRUNCATION_SUFFIX
    return value


def _preview(text: str | None, role: str) -> str | None:
    """MLflow's request/response preview of a root span's inputs or outputs (the rule is the
    domain's, which the stores apply to spans that arrive without a trace)."""
    return None if text is None else core.preview(text, role)


def _str_map(values: dict[str, Any], limit: int) -> dict[str, str]:
    return {str(k): str(v)[:limit] for k, v in values.items()}


def _end_trace(trace: _ActiveTrace, root: LiveSpan) -> None:
    global _last_trace_id
    trace.exported = True
    live_traces.forget(trace.trace_id)
    _last_trace_id = trace.trace_id
    _last_trace_id_local.set(trace.trace_id)
    try:
        if trace.setup_error is not None:
            raise trace.setup_error
        with trace.lock:
            spans = [s.to_core() for s in trace.spans.values()]
        assert root.end_time_ns is not None
        inputs = root._attributes.get(INPUTS_ATTRIBUTE)
        outputs = root._attributes.get(OUTPUTS_ATTRIBUTE)
        state = trace.state or (
            TraceState.ERROR if root.status.status_code == SpanStatusCode.ERROR else TraceState.OK
        )
        metadata = {
            **trace.metadata,
            TRACE_INPUTS_METADATA: _truncate_metadata(inputs),
            TRACE_OUTPUTS_METADATA: _truncate_metadata(outputs),
        }
        tags = {**trace.tags, core.TRACE_NAME_TAG: root.name, SPANS_LOCATION_TAG: SPANS_IN_TRACKING_STORE}
        request_preview = trace.request_preview or _preview(inputs, "user")
        response_preview = trace.response_preview or _preview(outputs, "assistant")
        info = core.TraceInfo(
            trace_id=trace.trace_id,
            experiment_id=str(trace.experiment_id),
            request_time=root.start_time_ns // 1_000_000,
            state=state.value,
            execution_duration=(root.end_time_ns - root.start_time_ns) // 1_000_000,
            request_preview=None if request_preview is None else request_preview[:PREVIEW_MAX_LENGTH],
            response_preview=None if response_preview is None else response_preview[:PREVIEW_MAX_LENGTH],
            client_request_id=trace.client_request_id,
            tags=_str_map(tags, core.MAX_TRACE_TAG_VALUE_LENGTH),
            metadata=_str_map(metadata, core.MAX_TRACE_METADATA_VALUE_LENGTH),
        )
        trace.store.log_spans(info.experiment_id, spans)
        trace.store.start_trace(info)
    except Exception as error:
        _logger.warning("Failed to log trace %s to the tracking store: %s", trace.trace_id, error)


# --- the fluent functions -------------------------------------------------------------------------


def get_current_active_span() -> LiveSpan | None:
    """The active span of this context (thread or asyncio task), or None (also where tracing is
    off: a NoOpSpan is nobody's active span, as in MLflow)."""
    span = _current_span.get()
    return None if isinstance(span, NoOpSpan) else span


def get_active_trace_id() -> str | None:
    span = get_current_active_span()
    return None if span is None else span.trace_id


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """The id of the trace whose root span ended last, in this process (or this thread)."""
    return _last_trace_id_local.get() if thread_local else _last_trace_id


def flush_trace_async_logging(terminate: bool = False) -> None:
    """Nothing to wait for: traces are exported synchronously when their root span ends."""


def update_current_trace(
    tags: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    client_request_id: str | None = None,
    request_preview: str | None = None,
    response_preview: str | None = None,
    state: TraceState | str | None = None,
    model_id: str | None = None,
    session_id: str | None = None,
    user: str | None = None,
) -> None:
    """Change the active trace before it is exported: tags, metadata, client request id,
    previews, state (OK or ERROR). Without an active span: a warning, nothing changes."""
    span = get_current_active_span()
    if span is None:
        _logger.warning(
            "No active trace found. Please create a span using `mlflow.start_span` or"
            " `@mlflow.trace` before calling `mlflow.update_current_trace`."
        )
        return
    metadata = dict(metadata) if metadata else {}
    if session_id is not None:
        metadata[TRACE_SESSION_METADATA] = session_id
    if user is not None:
        metadata[TRACE_USER_METADATA] = user
    if model_id:
        metadata[core.MODEL_ID_METADATA] = model_id
    for values, field in ((tags or {}, "tags"), (metadata, "metadata")):
        odd = {k: v for k, v in values.items() if not isinstance(v, str)}
        if odd:
            _logger.warning(
                "Found non-string values in %s. Non-string values in %s will automatically be"
                " stringified when the trace is logged. Non-string items: %s",
                field,
                field,
                odd,
            )
    for value, field in ((request_preview, "request_preview"), (response_preview, "response_preview")):
        if value is not None and not isinstance(value, str):
            raise _invalid(f"The `{field}` parameter must be a string.")
    trace = span._trace
    with trace.lock:
        if request_preview:
            trace.request_preview = request_preview
        if response_preview:
            trace.response_preview = response_preview
        if state is not None:
            name = getattr(state, "value", state)
            if name not in ("OK", "ERROR"):
                raise _invalid(f"State must be either 'OK' or 'ERROR', but got '{state}'.")
            trace.state = TraceState(name)
        trace.tags.update({str(k): str(v) for k, v in (tags or {}).items()})
        trace.metadata.update({str(k): str(v) for k, v in metadata.items()})
        if client_request_id is not None:
            trace.client_request_id = str(client_request_id)


def set_trace_tag(trace_id: str, key: str, value: str) -> None:
    """Set a tag on a trace, in progress or stored."""
    state.current_client().set_trace_tag(trace_id, key, value)


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Delete a tag of a trace, in progress or stored."""
    state.current_client().delete_trace_tag(trace_id, key)


def get_trace(trace_id: str, silent: bool = False, flush: bool = False) -> Trace | None:
    """The stored trace, or None (with a warning unless ``silent``) when it cannot be read."""
    try:
        return state.current_client().get_trace(trace_id)
    except MlflowException as error:
        if not silent:
            _logger.warning("Failed to get trace from the tracking store: %s", error)
        return None


@translated
def search_traces(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    extract_fields: list[str] | None = None,
    run_id: str | None = None,
    return_type: str | None = None,
    model_id: str | None = None,
    sql_warehouse_id: str | None = None,
    include_spans: bool = True,
    locations: list[str] | None = None,
    flush: bool = False,
) -> Any:
    """Traces of the experiments (default: the active one) matching the filter, every page or the
    first ``max_results``: a pandas DataFrame with MLflow 3's columns (the default when pandas is
    installed) or, with ``return_type="list"``, a list of Trace. ``extract_fields`` and
    ``sql_warehouse_id`` are not supported."""
    if sql_warehouse_id is not None or extract_fields is not None:
        raise InvalidParameterValue(
            "`extract_fields` and `sql_warehouse_id` are not supported by Genesis-Flow's search_traces."
        )
    if return_type is None:
        try:
            import pandas  # type: ignore[import-untyped]  # noqa: F401

            return_type = "pandas"
        except ImportError:
            return_type = "list"
    if return_type not in ("pandas", "list"):
        raise InvalidParameterValue(
            f"Invalid return type: {return_type}. Return type must be either 'pandas' or 'list'."
        )
    if return_type == "pandas":
        try:
            import pandas as pd
        except ImportError:
            raise mlflow_exception(
                "The `pandas` library is not installed. Please install `pandas` to use the"
                " `return_type='pandas'` option, or set `return_type='list'`."
            ) from None
    if locations is not None and not isinstance(locations, list):
        raise InvalidParameterValue(f"Parameter locations must be a list, got {type(locations).__name__}")
    if not experiment_ids and not locations:
        locations = [state.experiment_id()]
    client = state.current_client()
    results: list[Trace] = []
    token: str | None = None
    while max_results is None or len(results) < max_results:
        count = (
            SEARCH_TRACES_DEFAULT_MAX_RESULTS
            if max_results is None
            else min(SEARCH_TRACES_DEFAULT_MAX_RESULTS, max_results - len(results))
        )
        page = client.search_traces(
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            max_results=count,
            order_by=order_by,
            page_token=token,
            run_id=run_id,
            include_spans=include_spans,
            model_id=model_id,
            locations=locations,
        )
        results.extend(page)
        token = page.token
        if not token:
            break
    if return_type == "list":
        return results
    return pd.DataFrame.from_records(
        [t.to_pandas_dataframe_row() for t in results], columns=Trace.pandas_dataframe_columns()
    )


# --- context blocks, spans outside the context, whole traces ------------------------------------


@contextlib.contextmanager
def context(
    metadata: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    enabled: bool | None = None,
    session_id: str | None = None,
    user: str | None = None,
) -> Generator[None, None, None]:
    """Inside the block, every trace that starts gets ``metadata`` (``session_id`` and ``user``
    as MLflow's session and user keys) and ``tags``, and ``enabled=False`` turns tracing off:
    spans are NoOpSpans and nothing is logged. Blocks nest: inner keys win, ``enabled=None``
    inherits. A trace started before the block is not changed, and the trace's own name tag
    wins over a tag of the same key, as in MLflow."""
    declared = dict(metadata) if metadata else {}
    if session_id is not None:
        declared[TRACE_SESSION_METADATA] = session_id
    if user is not None:
        declared[TRACE_USER_METADATA] = user
    outer = _user_context.get() or _UserContext()
    token = _user_context.set(
        _UserContext(
            metadata={**outer.metadata, **declared},
            tags={**outer.tags, **(tags or {})},
            enabled=outer.enabled if enabled is None else enabled,
        )
    )
    try:
        yield
    finally:
        _user_context.reset(token)


def start_span_no_context(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent_span: LiveSpan | None = None,
    inputs: Any | None = None,
    attributes: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    experiment_id: str | None = None,
    start_time_ns: int | None = None,
    log_level: Any = None,
    links: list[Any] | None = None,
    description: str | None = None,
) -> LiveSpan:
    """A span that is never the active one: a root span starts a new trace (in ``experiment_id``,
    default the active experiment), a span with ``parent_span`` joins that span's trace. The
    caller ends it with ``span.end()``; the trace is logged when its root ends. ``tags`` (but
    MLflow's immutable ones) and ``metadata`` go to the trace. A span that cannot start is a
    NoOpSpan with a warning, as in MLflow; ``links`` are not kept."""
    try:
        span = _start_span(
            name,
            parent_span,
            span_type,
            log_level=log_level,
            description=description,
            start_time_ns=start_time_ns,
            experiment_id=experiment_id,
        )
        if isinstance(span, NoOpSpan):
            return span
        if inputs is not None:
            span.set_inputs(inputs)
        span.set_attributes(attributes or {})
        with span._trace.lock:
            span._trace.tags.update(
                {k: str(v) for k, v in (tags or {}).items() if k not in live_traces.IMMUTABLE_TAGS}
            )
            span._trace.metadata.update({k: str(v) for k, v in (metadata or {}).items()})
    except Exception as error:
        _logger.warning("Failed to start span %s: %s", name, error)
        return NoOpSpan()
    return span


INTERMEDIATE_OUTPUTS_ATTRIBUTE = "mlflow.trace.intermediate_outputs"


def log_trace(
    name: str = "Task",
    request: Any | None = None,
    response: Any | None = None,
    intermediate_outputs: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    start_time_ms: int | None = None,
    execution_time_ms: int | None = None,
) -> str:
    """Log a finished trace of one span ``name`` (inputs ``request``, outputs ``response``, the
    ``intermediate_outputs`` as MLflow's attribute of that name) in the active experiment and
    return its id. Its times are ``start_time_ms`` to ``start_time_ms + execution_time_ms``
    (now without them). Deprecated in MLflow since 3.6 (a FutureWarning says so); where MLflow
    fails on ``intermediate_outputs`` together with ``attributes`` (a TypeError of its own),
    both are kept."""
    warnings.warn(
        "log_trace is deprecated since MLflow 3.6.0 and will be removed in a future release;"
        " use start_span_no_context.",
        FutureWarning,
        stacklevel=2,
    )
    attributes = dict(attributes or {})
    if intermediate_outputs:
        attributes[INTERMEDIATE_OUTPUTS_ATTRIBUTE] = intermediate_outputs
    span = start_span_no_context(
        name=name,
        inputs=request,
        attributes=attributes,
        tags=tags,
        start_time_ns=start_time_ms * 1_000_000 if start_time_ms else None,
    )
    end = (start_time_ms + execution_time_ms) * 1_000_000 if start_time_ms and execution_time_ms else None
    span.end(outputs=response, end_time_ns=end)
    return span.trace_id


# What a trace's info carries about its own spans or store: the exporter and the store write
# these for the trace that takes the spans in, so an added trace's values would be wrong there.
_NOT_MERGED_METADATA = frozenset({"mlflow.trace.sizeBytes", "mlflow.trace.sizeStats"})


def add_trace(trace: Trace | dict[str, Any], target: LiveSpan | None = None) -> None:
    """Copy the spans of a finished trace (a Trace or its ``to_dict()`` form, e.g. returned by a
    remote service) under ``target``, or the active span, into that span's trace in progress;
    its tags and metadata join that trace's (the trace's own win). The spans keep their ids,
    times, attributes and events. Without a target or active span, the copy goes under a new
    root span ``Remote Trace <first span's name>`` and is logged as its own trace.

    Raises:
        MlflowException: INVALID_PARAMETER_VALUE for something that is not a trace, a trace not
            ended, spans listed before their parent, or a ``target`` that is not a live span.
    """
    if isinstance(trace, dict):
        try:
            trace = Trace.from_dict(trace)
        except Exception as error:
            raise _invalid(
                "Failed to load a trace object from the given dictionary. Please ensure the"
                f" dictionary is in the correct MLflow Trace format. Error: {error}"
            ) from None
    elif not isinstance(trace, Trace):
        raise _invalid(
            f"Invalid trace object: {type(trace)}. Please provide a valid MLflow Trace object to use"
            " it as a remote trace. You can create a Trace object from its json format by using the"
            " Trace.from_dict() method."
        )
    if trace.info.state not in (TraceState.OK, TraceState.ERROR, TraceState.STATE_UNSPECIFIED):
        raise _invalid(
            "The trace must be ended before adding it to another trace. Current status:"
            f" {trace.info.state.value}."
        )
    if not trace.data.spans:
        raise _invalid(f"Trace {trace.info.trace_id} has no spans to add.")
    if target is not None and not isinstance(target, LiveSpan):
        raise _invalid(f"target must be a live span (e.g. from start_span), got {type(target).__name__}")
    parent = target or get_current_active_span()
    if parent is not None:
        _merge_trace(trace, parent)
        return
    first = trace.data.spans[0]
    root = start_span_no_context(
        name=f"Remote Trace <{first.name}>",
        inputs=first.inputs,
        attributes={k: v for k, v in first.attributes.items() if k != REQUEST_ID_ATTRIBUTE},
        # Before the added spans, so that ordering by start time lists the root first.
        start_time_ns=first.start_time_ns - 1,
    )
    _merge_trace(trace, root)
    status = SpanStatusCode.ERROR if trace.info.state == TraceState.ERROR else SpanStatusCode.OK
    root.end(status=status, outputs=first.outputs, end_time_ns=first.end_time_ns)


def _merge_trace(trace: Trace, parent: LiveSpan) -> None:
    target = getattr(parent, "_trace", None)
    if isinstance(parent, NoOpSpan) or target is None or target.exported:
        _logger.warning("Parent trace with ID %s not found. Skipping merge.", parent.trace_id)
        return
    known = set(target.spans)
    for span in trace.data.spans:  # checked first, so a refused trace adds no span
        if span.parent_id is not None and span.parent_id not in known:
            raise _invalid(
                f"Span with ID {span.parent_id} not found. Please make sure the spans in the trace"
                " are ordered correctly i.e. the parent span comes before its children."
            )
        known.add(span.span_id)
    copies = [_copied_span(span, target, span.parent_id or parent.span_id) for span in trace.data.spans]
    with target.lock:
        target.spans.update({copy.span_id: copy for copy in copies})
        target.tags = {
            **{k: v for k, v in trace.info.tags.items() if k not in live_traces.IMMUTABLE_TAGS},
            **target.tags,
        }
        target.metadata = {
            **{k: v for k, v in trace.info.trace_metadata.items() if k not in _NOT_MERGED_METADATA},
            **target.metadata,
        }


def _copied_span(span: Span, trace: _ActiveTrace, parent_id: str) -> LiveSpan:
    """``span`` as an ended span of ``trace`` below ``parent_id``, with the trace's id."""
    copy = LiveSpan(trace, span.span_id, span.name, parent_id, span.start_time_ns)
    copy._attributes = {
        **span._attributes,
        # MLflow clones a span by starting it again at its start time, which its tracer records.
        START_TIME_NS_ATTRIBUTE: dump_attribute_value(span.start_time_ns),
        REQUEST_ID_ATTRIBUTE: dump_attribute_value(trace.trace_id),
    }
    copy._events = list(span.events)
    copy._status = span.status
    copy.end(end_time_ns=span.end_time_ns)
    return copy


def _reset() -> None:
    """Forget in-progress traces and the last trace id (tests)."""
    global _last_trace_id, _env_metadata
    live_traces.clear()
    _user_context.set(None)
    _last_trace_id = None
    _last_trace_id_local.set(None)
    _env_metadata = None


__all__ = [
    "LiveSpan",
    "NoOpSpan",
    "add_trace",
    "context",
    "delete_trace_tag",
    "flush_trace_async_logging",
    "get_active_trace_id",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "log_trace",
    "search_traces",
    "set_trace_tag",
    "start_span",
    "start_span_no_context",
    "trace",
    "update_current_trace",
]
