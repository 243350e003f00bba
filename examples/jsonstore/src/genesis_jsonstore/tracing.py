"""The tracing port on plain JSON files, served by the tracking store (traces live in experiments).

Under the store's root, ``traces/<h>.json`` holds one trace: its info and its spans keyed by span
id, so a span written again replaces the old one. Semantics are the port's
(:mod:`genesis_flow.ports.tracing`); how spans change a trace's info is the domain's
(:mod:`genesis_flow.core.tracing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from genesis_flow.core import validation as v
from genesis_flow.core.commands import ExperimentSearch
from genesis_flow.core.entities import Page
from genesis_flow.core.search import matcher, sort
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.core.tracing import (
    Span,
    Trace,
    TraceInfo,
    carries_totals,
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
from genesis_jsonstore import mapping as js
from genesis_jsonstore.files import Document, file_name
from genesis_jsonstore.tracking import JsonTrackingStore


class JsonTracingStore(JsonTrackingStore):
    """The tracking store that is also a TraceStore (``TracingTrackingStore``)."""

    def _trace_path(self, trace_id: str) -> Path:
        return self._files.path("traces", file_name(trace_id) + ".json")

    def _trace_document(self, trace_id: str) -> Document:
        validate_trace_id(trace_id)
        document = self._files.read(self._trace_path(trace_id))
        if document is None:
            raise trace_not_found(trace_id)
        return document

    def _save_trace(self, info: TraceInfo, spans: Document) -> None:
        self._files.write(
            self._trace_path(info.trace_id), {"info": js.trace_info_document(info), "spans": spans}
        )

    def _traces(self) -> list[Document]:
        return list(self._files.documents(self._files.path("traces")))

    def start_trace(self, info: TraceInfo) -> TraceInfo:
        validate_trace_info(info)
        info = started(info)
        with self._lock:
            self._active_experiment(info.experiment_id)
            stored = self._files.read(self._trace_path(info.trace_id))
            if stored is None:
                merged, spans = info, {}
            else:
                merged, spans = merge_trace_info(js.trace_info_from(stored["info"]), info), stored["spans"]
            self._save_trace(merged, spans)
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
                stored = self._files.read(self._trace_path(trace_id))
                if stored is None:
                    info, kept = info_from_spans(trace_id, str(experiment_id), group), {}
                else:
                    kept = stored["spans"]
                    earlier = [js.span_from(s) for s in kept.values()] if carries_totals(group) else []
                    info = update_info_from_spans(js.trace_info_from(stored["info"]), group, earlier)
                kept.update({span.span_id: js.span_document(span) for span in group})
                self._save_trace(info, kept)

    def _trace(self, document: Document) -> Trace:
        spans = sorted((js.span_from(s) for s in document["spans"].values()), key=span_order)
        return Trace(js.trace_info_from(document["info"]), spans)

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        with self._lock:
            return js.trace_info_from(self._trace_document(trace_id)["info"])

    def get_trace(self, trace_id: str) -> Trace:
        with self._lock:
            return self._trace(self._trace_document(trace_id))

    def batch_get_traces(self, trace_ids: Sequence[str]) -> tuple[Trace, ...]:
        v.validate_lookups("trace_ids", trace_ids)
        with self._lock:
            found = (self._files.read(self._trace_path(t)) for t in dict.fromkeys(trace_ids))
            return tuple(self._trace(d) for d in found if d is not None)

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
        keep = matcher(kind, filter)
        with self._lock:
            infos = [js.trace_info_from(d["info"]) for d in self._traces()]
        found = [i for i in infos if i.experiment_id in wanted and keep(i)]
        return search.page.slice(sort(kind, found, order_by))

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        validate_trace_tag(key, value)
        with self._lock:
            document = self._trace_document(trace_id)
            document["info"]["tags"][key] = value
            self._files.write(self._trace_path(trace_id), document)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            document = self._trace_document(trace_id)
            if key not in document["info"]["tags"]:
                raise trace_tag_not_found(trace_id, key)
            del document["info"]["tags"][key]
            self._files.write(self._trace_path(trace_id), document)

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
            infos = [js.trace_info_from(d["info"]) for d in self._traces()]
            mine = [i for i in infos if i.experiment_id == experiment_id]
            if trace_ids:
                wanted = set(trace_ids)
                doomed = [i.trace_id for i in mine if i.trace_id in wanted]
            else:
                assert max_timestamp_millis is not None
                old = sorted(
                    (i for i in mine if i.request_time <= max_timestamp_millis),
                    key=lambda i: (i.request_time, i.trace_id),
                )
                doomed = [i.trace_id for i in old[:max_traces]]
            for trace_id in doomed:
                self._files.remove(self._trace_path(trace_id))
            return len(doomed)
