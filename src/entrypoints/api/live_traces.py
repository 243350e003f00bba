"""Traces being recorded (their root span has not ended), by trace id.

The tracing API registers a trace when its root span starts and forgets it when the trace is
exported. The client's ``set_trace_tag`` and ``delete_trace_tag`` change a trace found here instead
of the store, as MLflow's in-memory trace manager does. This registry sits below both, so the
client never imports the tracing API.
"""

from __future__ import annotations

import threading

from genesis_flow.core import tracing as core
from genesis_flow.entrypoints.api.exceptions import RESOURCE_DOES_NOT_EXIST, mlflow_exception

# MLflow's IMMUTABLE_TAGS for traces: set and delete refuse them with a warning.
IMMUTABLE_TAGS = frozenset(
    {
        "mlflow.user",
        "mlflow.artifactLocation",
        core.SPANS_LOCATION_TAG,
        "mlflow.trace.archiveLocation",
        "mlflow.trace.archivalFailure",
    }
)


class LiveTrace:
    """What the client may change on a trace in progress: its tags, under its lock. The tracing
    API extends it with the spans and the rest of the info."""

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.tags: dict[str, str] = {}
        self.lock = threading.Lock()


_traces: dict[str, LiveTrace] = {}
_lock = threading.Lock()


def register(trace: LiveTrace) -> None:
    with _lock:
        _traces[trace.trace_id] = trace


def forget(trace_id: str) -> None:
    with _lock:
        _traces.pop(trace_id, None)


def clear() -> None:
    with _lock:
        _traces.clear()


def _find(trace_id: str) -> LiveTrace | None:
    with _lock:
        return _traces.get(trace_id)


def set_tag(trace_id: str, key: str, value: str) -> bool:
    """Set ``key`` on the trace ``trace_id`` in progress; False when it is not in progress."""
    trace = _find(trace_id)
    if trace is None:
        return False
    with trace.lock:
        trace.tags[key] = str(value)
    return True


def delete_tag(trace_id: str, key: str) -> bool:
    """Delete ``key`` of the trace ``trace_id`` in progress; False when it is not in progress.

    Raises:
        MlflowException: RESOURCE_DOES_NOT_EXIST when the trace has no such tag.
    """
    trace = _find(trace_id)
    if trace is None:
        return False
    with trace.lock:
        if key not in trace.tags:
            raise mlflow_exception(
                f"Tag with key {key} not found in trace with ID {trace_id}.", RESOURCE_DOES_NOT_EXIST
            )
        del trace.tags[key]
    return True
