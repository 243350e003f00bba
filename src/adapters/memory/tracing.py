"""In-memory tracing: the reference semantics of the tracing port, mixed into the memory store.

Semantics are documented on the port (:mod:`genesis_flow.ports.tracing`), not repeated here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from attrs import evolve

from genesis_flow.core import validation as v
from genesis_flow.core.commands import ExperimentSearch
from genesis_flow.core.entities import Experiment, Page
from genesis_flow.core.search import matcher, sort
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.core.tracing import (
    Span,
    Trace,
    TraceInfo,
    check_delete_traces_arguments,
    info_from_spans,
    merge_trace_info,
    span_order,
    started,
    trace_not_found,
    trace_tag_not_found,
    update_info_from_spans,
    validate_span,
    validate_trace_id,
    validate_trace_info,
    validate_trace_tag,
)


class InMemoryTraces:
    """Traces and spans in dicts, guarded by the owning store's lock."""

    _lock: threading.RLock
    _active_experiment: Callable[[str], Experiment]

    def _init_traces(self) -> None:
        self._traces: dict[str, TraceInfo] = {}
        self._spans: dict[str, dict[str, Span]] = {}

    def start_trace(self, info: TraceInfo) -> TraceInfo:
        validate_trace_info(info)
        info = started(info)
        with self._lock:
            self._active_experiment(info.experiment_id)
            stored = self._traces.get(info.trace_id)
            merged = info if stored is None else merge_trace_info(stored, info)
            self._traces[info.trace_id] = merged
            self._spans.setdefault(info.trace_id, {})
            return merged

    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        for span in spans:
            validate_span(span)
        if not spans:
            return
        by_trace: dict[str, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        with self._lock:
            self._active_experiment(str(experiment_id))
            for trace_id, group in by_trace.items():
                stored = self._traces.get(trace_id)
                if stored is None:
                    self._traces[trace_id] = info_from_spans(trace_id, str(experiment_id), group)
                else:
                    earlier = self._spans.get(trace_id, {}).values()
                    self._traces[trace_id] = update_info_from_spans(stored, group, earlier)
                kept = self._spans.setdefault(trace_id, {})
                for span in group:
                    kept[span.span_id] = span

    def _trace_info(self, trace_id: str) -> TraceInfo:
        validate_trace_id(trace_id)
        info = self._traces.get(trace_id)
        if info is None:
            raise trace_not_found(trace_id)
        return info

    def _trace(self, trace_id: str) -> Trace:
        spans = sorted(self._spans.get(trace_id, {}).values(), key=span_order)
        return Trace(self._traces[trace_id], spans)

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        with self._lock:
            return self._trace_info(trace_id)

    def get_trace(self, trace_id: str) -> Trace:
        with self._lock:
            self._trace_info(trace_id)
            return self._trace(trace_id)

    def batch_get_traces(self, trace_ids: Sequence[str]) -> tuple[Trace, ...]:
        v.validate_lookups("trace_ids", trace_ids)
        with self._lock:
            wanted = dict.fromkeys(t for t in trace_ids if t in self._traces)
            return tuple(self._trace(t) for t in wanted)

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[TraceInfo]:
        kind = SearchKind.TRACES
        search = ExperimentSearch.traces(experiment_ids, filter, max_results, order_by, page_token)
        wanted = set(search.experiment_ids)
        with self._lock:
            infos = [i for i in self._traces.values() if i.experiment_id in wanted]
        keep = matcher(kind, filter)
        found = [i for i in infos if keep(i)]
        return search.page.slice(sort(kind, found, order_by))

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        validate_trace_tag(key, value)
        with self._lock:
            info = self._trace_info(trace_id)
            self._traces[trace_id] = _with_tags(info, {**info.tags, key: value})

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            info = self._trace_info(trace_id)
            if key not in info.tags:
                raise trace_tag_not_found(trace_id, key)
            tags = dict(info.tags)
            del tags[key]
            self._traces[trace_id] = _with_tags(info, tags)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        experiment_id = check_delete_traces_arguments(
            experiment_id, max_timestamp_millis, max_traces, trace_ids
        )
        with self._lock:
            if trace_ids:
                doomed = [
                    t
                    for t in dict.fromkeys(trace_ids)
                    if t in self._traces and self._traces[t].experiment_id == experiment_id
                ]
            else:
                assert max_timestamp_millis is not None
                candidates = sorted(
                    (
                        i
                        for i in self._traces.values()
                        if i.experiment_id == experiment_id and i.request_time <= max_timestamp_millis
                    ),
                    key=lambda i: (i.request_time, i.trace_id),
                )
                doomed = [i.trace_id for i in candidates[:max_traces]]
            for trace_id in doomed:
                del self._traces[trace_id]
                self._spans.pop(trace_id, None)
            return len(doomed)


def _with_tags(info: TraceInfo, tags: dict[str, str]) -> TraceInfo:
    return evolve(info, tags=tags)
