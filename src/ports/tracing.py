"""The tracing port: GenAI traces (MLflow 3's trace info) and their spans.

Every tracking store of this project implements it too (one object: traces live in experiments).
Semantics every adapter honours (tests/contract/test_tracing.py is their executable form):

* **Ids and times.** Trace and span ids come from the caller (MLflow's tracer makes them); the
  store never invents one. ``request_time`` is milliseconds, span times nanoseconds.
* **Two writers, any order.** MLflow's exporter logs spans as they end (:meth:`log_spans`) and the
  trace info when the root span ends (:meth:`start_trace`); either may come first, and either may
  be retried. Both are idempotent: a span is keyed by ``(trace_id, span_id)`` and a rewrite
  replaces it; ``start_trace`` on an existing trace merges (``genesis_flow.core.tracing.
  merge_trace_info``).
* **Errors.** An unknown trace raises ``TraceNotFound`` (``RESOURCE_DOES_NOT_EXIST``); an unknown
  experiment ``ExperimentNotFound``; writing into a deleted experiment ``InvalidParameterValue``.
  Bad input raises ``InvalidParameterValue`` and stores nothing (a batch of spans is checked whole
  before anything is written). Ports never truncate; MLflow's truncation of over-long tag values
  and previews lives in the entry points. An id, key or name to find something by whose text no backend can
  store (a lone surrogate or a NUL: ``genesis_flow.core.validation.validate_lookup``) raises
  ``InvalidParameterValue`` naming the parameter, never "not found" and never an empty result.
* **Reads.** Spans come back ordered by start time, then span id. A trace with 1000 spans is
  written in a bounded number of round trips and read back in one or two.
* **Paging.** As the tracking port: ``max_results`` None means 100, at most 50000; tokens are
  opaque and bound to their query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from genesis_flow.core.entities import Page
from genesis_flow.core.search.ast import Filter, OrderBy
from genesis_flow.core.tracing import Span, Trace, TraceInfo
from genesis_flow.ports.tracking import TrackingStore


@runtime_checkable
class TraceStore(Protocol):
    """Persistence of traces and spans. Thread-safe in every adapter."""

    def start_trace(self, info: TraceInfo) -> TraceInfo:
        """Write ``info`` and return the trace as stored.

        A new trace is stored as given. A trace that exists (its spans came first, or this is a
        retry) takes the new values field by field; previews only when given; tags and metadata
        are merged, new values winning.

        Raises:
            ExperimentNotFound: ``info.experiment_id`` does not exist.
            InvalidParameterValue: the experiment is deleted, or ``info`` breaks a limit
                (``genesis_flow.core.tracing.validate_trace_info``).
        """
        ...

    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        """Store ``spans`` (of one or several traces), replacing any stored span of the same
        ``(trace_id, span_id)``.

        A trace not yet known is created in ``experiment_id`` from its spans
        (``genesis_flow.core.tracing.info_from_spans``: IN_PROGRESS until its root arrives). A
        known trace stays in its experiment; its info changes as
        ``genesis_flow.core.tracing.update_info_from_spans`` says (times and state only while it
        is open, missing previews from the root span). An empty ``spans`` does nothing.

        Raises:
            ExperimentNotFound: ``experiment_id`` does not exist.
            InvalidParameterValue: the experiment is deleted, or a span breaks a limit
                (``genesis_flow.core.tracing.validate_span``); nothing of the batch is stored.
        """
        ...

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        """The trace's info. Raises TraceNotFound."""
        ...

    def get_trace(self, trace_id: str) -> Trace:
        """The trace with all its spans (by start time, then span id). Raises TraceNotFound."""
        ...

    def batch_get_traces(self, trace_ids: Sequence[str]) -> tuple[Trace, ...]:
        """The traces of ``trace_ids`` that exist, in the order asked, each once, with spans.

        Unknown ids are left out, not an error (MLflow's behaviour).
        """
        ...

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[TraceInfo]:
        """Trace infos of ``experiment_ids`` matching ``filter``, in ``order_by`` order.

        ``filter`` and ``order_by`` come from ``parse_filter`` / ``parse_order_by`` with kind
        TRACES; the grammar is MLflow's ``search_traces`` (``genesis_flow.core.search``):
        attributes ``request_id``, ``timestamp_ms``, ``execution_time_ms``, ``end_time_ms``,
        ``status``, ``client_request_id``, ``name`` (the ``mlflow.traceName`` tag) and ``run_id``
        (the ``mlflow.sourceRun`` metadata); ``tags.<key>`` and ``metadata.<key>``. Default order
        ``timestamp_ms`` DESC, ``request_id`` ASC (appended as tie-breakers); missing values
        order last in both directions. Unknown experiment ids match nothing.

        Raises:
            InvalidParameterValue: a bad ``max_results`` or page token. (The parser raises it for
                a malformed filter or order_by, and NotSupported for MLflow's span, assessment,
                issue and full-text filters.)
        """
        ...

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set (overwrite) one tag. Raises TraceNotFound, InvalidParameterValue (key rules, a
        value over 8000 characters)."""
        ...

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove one tag. Raises TraceNotFound; ResourceDoesNotExist when the tag is absent."""
        ...

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete traces of ``experiment_id`` with their spans; return how many were deleted.

        Either ``trace_ids`` (ids of other experiments and unknown ids are ignored) or
        ``max_timestamp_millis`` (traces with ``request_time`` at or before it, the oldest first,
        at most ``max_traces``). Deleting is idempotent: a second call deletes 0.

        Raises:
            InvalidParameterValue: MLflow's argument rules
                (``genesis_flow.core.tracing.check_delete_traces_arguments``), an experiment id
                that is no integer included.
        """
        ...


@runtime_checkable
class TracingTrackingStore(TrackingStore, TraceStore, Protocol):
    """A tracking store that serves the tracing port too, as every built-in one does. The
    composition root builds them under this type, so mypy compares each store with both ports."""
