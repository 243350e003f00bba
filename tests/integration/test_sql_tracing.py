"""No N+1 in the SQL adapter's tracing: a trace of 1000 spans is written and read in a bounded
number of statements, and pages of traces cost what a page of one costs.

Statements are counted as in tests/integration/test_sql_statements.py (``executemany`` counts
once; the count includes SQLite's BEGIN and PostgreSQL's read-only transaction set-up).
"""

from __future__ import annotations

import json

from genesis_flow.adapters.sql import SqlTrackingStore
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.core.tracing import Span, SpanEvent, TraceInfo, started
from tests.integration.test_sql_statements import statements_of, store  # noqa: F401 (fixture)


def _spans(trace_id: str, n: int) -> list[Span]:
    root = Span(trace_id, f"{0:016x}", "root", 1_000_000_000, end_time_ns=2_000_000_000)
    children = [
        Span(
            trace_id,
            f"{i:016x}",
            f"step {i}",
            1_000_000_000 + i,
            parent_id=root.span_id,
            end_time_ns=1_500_000_000,
            attributes={"mlflow.spanInputs": json.dumps({"i": i})},
            events=(SpanEvent("token", 1_000_000_000 + i, {"n": i}),),
        )
        for i in range(1, n)
    ]
    return [root, *children]


def test_log_spans_and_get_trace_cost_the_same_for_1_or_1000_spans(store: SqlTrackingStore) -> None:  # noqa: F811
    experiment_id = store.create_experiment("traces")
    one = statements_of(store, lambda: store.log_spans(experiment_id, _spans("tr-one", 1)))
    thousand = statements_of(store, lambda: store.log_spans(experiment_id, _spans("tr-many", 1000)))
    assert len(thousand) == len(one)
    # The experiment, the known traces, the new trace and its name tag, the spans (+ BEGIN).
    assert len(thousand) <= 6, thousand
    again = statements_of(store, lambda: store.log_spans(experiment_id, _spans("tr-many", 1000)))
    assert len(again) <= len(thousand)

    trace = store.get_trace("tr-many")
    assert len(trace.spans) == 1000
    read_one = statements_of(store, lambda: store.get_trace("tr-one"))
    read_thousand = statements_of(store, lambda: store.get_trace("tr-many"))
    assert len(read_thousand) == len(read_one)
    # The trace row, its tags and metadata (one query), its spans (+ the transaction set-up).
    assert len(read_thousand) <= 4, read_thousand


def test_start_trace_costs_a_bounded_number_of_statements(store: SqlTrackingStore) -> None:  # noqa: F811
    experiment_id = store.create_experiment("started")
    info = TraceInfo(
        "tr-started",
        experiment_id,
        1000,
        tags={f"t{i}": "v" for i in range(100)},
        metadata={f"m{i}": "v" for i in range(100)},
    )
    written = statements_of(store, lambda: store.start_trace(info))
    assert len(written) <= 7, written
    assert store.get_trace_info("tr-started") == started(info)


def test_pages_of_traces_cost_the_statements_of_a_page_of_one(store: SqlTrackingStore) -> None:  # noqa: F811
    experiment_id = store.create_experiment("pages")
    for i in range(60):
        store.start_trace(
            TraceInfo(
                f"tr-{i:03d}",
                experiment_id,
                1000 + i,
                tags={"team": "a", "mlflow.traceName": f"n{i}"},
                metadata={"mlflow.sourceRun": f"run{i % 3}"},
            )
        )
        store.log_spans(experiment_id, _spans(f"tr-{i:03d}", 3))
    ids = [f"tr-{i:03d}" for i in range(60)]
    one = statements_of(store, lambda: store.batch_get_traces(ids[:1]))
    sixty = statements_of(store, lambda: store.batch_get_traces(ids))
    assert len(store.batch_get_traces(ids)) == 60
    assert len(sixty) == len(one) <= 4, sixty

    flt = parse_filter(SearchKind.TRACES, "tags.team = 'a' and run_id != 'run2' and timestamp_ms >= 1000")
    order = parse_order_by(SearchKind.TRACES, ["name DESC", "metadata.`mlflow.sourceRun`"])
    assert len(store.search_traces([experiment_id], flt, max_results=100, order_by=order).items) == 40

    def search(n: int) -> list[str]:
        return statements_of(
            store, lambda: store.search_traces([experiment_id], flt, max_results=n, order_by=order)
        )

    assert len(search(1)) == len(search(100)) <= 3
