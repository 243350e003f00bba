"""Writing and searching GenAI traces: Genesis-Flow's stores against MLflow's SqlAlchemyStore on SQLite.

Usage: python bench/tracing_vs_mlflow.py [--traces 10000] [--quick] [--backends sqlite,postgres,mongo]
                                         [--mongo-uri URI] [--per-span-traces N] [--json out.json]

One process writes the same seeded traces (20 spans each: an agent, its steps, LLM, retriever and
tool calls) into MLflow's own store on a fresh SQLite file and into ours (built with
``build_tracking_store``): a SQLite file, PostgreSQL when GENESIS_TEST_SQL_POSTGRES_URI is set (a
fresh schema, dropped at the end) and MongoDB when --mongo-uri or GENESIS_TEST_MONGO_URI is set (a
fresh database, dropped at the end). Both sides are called through their store APIs, as MLflow's
exporter calls them: ``log_spans`` with a trace's spans, then ``start_trace`` with its info. Then
the same ``search_traces`` queries and ``get_trace`` reads run on both, and every answer is
checked. Figures are rates; the ratio is ours divided by MLflow's. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# MLflow must neither phone home nor log to the console while it is being measured.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow import entities as mle
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

import genesis_flow
from genesis_flow.core import tracing as gft
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entrypoints.bootstrap import build_tracking_store

PG_ENV = "GENESIS_TEST_SQL_POSTGRES_URI"
MONGO_ENV = "GENESIS_TEST_MONGO_URI"
BACKENDS = ("sqlite", "postgres", "mongo", "memory")
DEFAULT_BACKENDS = "sqlite,postgres,mongo"
TARGET = 10.0  # the requirement, ours/MLflow, on the writes and the searches
FULL_TRACES = 10_000
QUICK_TRACES = 200
SPANS_PER_TRACE = 20
PAGE = 100  # every search asks for the first page of 100, MLflow's default
CHUNK = 250  # traces whose entities are built (untimed) before they are written (timed)
SEED = 20_240_611

# --- the workload: plain data first, each side's entities built from it -----------------------------

AGENTS = ("support_agent", "research_agent", "sql_agent", "travel_agent", "coding_agent", "rag_agent")
USERS = tuple(f"user-{i:03d}" for i in range(50))
MODELS = (("gpt-4o-mini", "openai"), ("claude-3-5-sonnet", "anthropic"), ("llama-3.1-70b", "meta"))
TOOLS = ("web_search", "calculator", "sql_query", "weather", "calendar", "http_get")
# The vocabulary of the generated text (inputs, outputs, documents).
VOCABULARY = (
    "the customer asked about refund policy order shipping delay invoice account password reset weather "
    "forecast flight hotel booking database table schema error timeout retry latency summary document "
    "section paragraph source citation answer question context relevant score vector index"
)
WORDS = tuple(VOCABULARY.split())


@dataclass(frozen=True)
class SpanSpec:
    span_id: str
    parent_id: str | None
    name: str
    span_type: str
    start_ns: int
    end_ns: int
    status: str  # "OK" or "ERROR"
    message: str
    attributes: dict[str, str]  # JSON text, as MLflow's tracer stores them
    events: tuple[tuple[str, int, dict[str, Any]], ...]


@dataclass(frozen=True)
class TraceSpec:
    trace_id: str
    request_time: int  # ms
    duration: int  # ms, unique across the workload so every order is total
    state: str  # "OK" or "ERROR" (the root span's status)
    name: str
    user: str
    source_run: str | None
    request_preview: str
    response_preview: str
    spans: tuple[SpanSpec, ...]

    @property
    def tags(self) -> dict[str, str]:
        return {gft.TRACE_NAME_TAG: self.name, "user": self.user, "env": "prod"}

    @property
    def metadata(self) -> dict[str, str]:
        meta = {"mlflow.trace_schema.version": "3", "mlflow.user": self.user}
        if self.source_run is not None:
            meta[gft.SOURCE_RUN_METADATA] = self.source_run
        return meta


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, k=words))


def _span_payload(rng: random.Random, span_type: str, name: str) -> tuple[dict[str, Any], Any]:
    """Inputs and outputs of a few hundred bytes of JSON, shaped like the span type's."""
    if span_type == "CHAT_MODEL":
        inputs = {
            "messages": [
                {"role": "system", "content": _text(rng, 12)},
                {"role": "user", "content": _text(rng, 25)},
            ],
            "temperature": 0.2,
        }
        return inputs, {"choices": [{"message": {"role": "assistant", "content": _text(rng, 35)}}]}
    if span_type == "RETRIEVER":
        docs = [
            {
                "page_content": _text(rng, 12),
                "metadata": {"doc_uri": f"s3://kb/doc-{rng.randrange(10**5)}.md"},
            }
            for _ in range(3)
        ]
        return {"query": _text(rng, 10)}, docs
    if span_type == "TOOL":
        return {"tool": name, "arguments": {"q": _text(rng, 10), "limit": 5}}, {"result": _text(rng, 30)}
    if span_type == "EMBEDDING":
        return {"input": _text(rng, 15)}, {
            "dimensions": 1536,
            "vector_head": [round(rng.random(), 4) for _ in range(8)],
        }
    return {"input": _text(rng, 20)}, {"output": _text(rng, 30)}


def make_trace(
    rng: random.Random, i: int, request_time: int, duration: int, runs: Sequence[str]
) -> TraceSpec:
    """One agent call: root AGENT, 4 CHAIN steps of (RETRIEVER with an EMBEDDING under the first,
    CHAT_MODEL, TOOL), a final CHAT_MODEL and a PARSER: 20 spans, children inside their parents."""
    trace_id = "tr-" + f"{rng.getrandbits(128):032x}"
    start0 = request_time * 1_000_000
    end0 = start0 + duration * 1_000_000
    failed = rng.random() < 0.05
    name = rng.choice(AGENTS)
    user = rng.choice(USERS)
    model, provider = rng.choice(MODELS)
    request_id_json = json.dumps(trace_id)
    specs: list[SpanSpec] = []

    def add(
        parent: str | None, span_name: str, span_type: str, start: int, end: int, error: bool = False
    ) -> str:
        span_id = f"{rng.getrandbits(64):016x}"
        inputs, outputs = _span_payload(rng, span_type, span_name)
        attributes = {
            "mlflow.traceRequestId": request_id_json,
            gft.SPAN_TYPE_ATTRIBUTE: json.dumps(span_type),
            gft.SPAN_INPUTS_ATTRIBUTE: json.dumps(inputs),
            "mlflow.spanFunctionName": json.dumps(span_name),
        }
        if not error:
            attributes[gft.SPAN_OUTPUTS_ATTRIBUTE] = json.dumps(outputs)
        if span_type == "CHAT_MODEL":
            prompt, completion = rng.randrange(200, 3000), rng.randrange(20, 800)
            usage = {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}
            attributes["mlflow.chat.tokenUsage"] = json.dumps(usage)
            attributes["mlflow.llm.model"] = json.dumps(model)
            attributes["mlflow.llm.provider"] = json.dumps(provider)
            attributes["mlflow.message.format"] = json.dumps(provider)
        events: tuple[tuple[str, int, dict[str, Any]], ...] = ()
        if error:
            message = f"{span_name} failed: TimeoutError"
            events = (
                (
                    "exception",
                    end,
                    {
                        "exception.type": "TimeoutError",
                        "exception.message": message,
                        "exception.escaped": "False",
                    },
                ),
            )
        elif span_type == "CHAT_MODEL" and rng.random() < 0.5:
            events = (("first_token", start + (end - start) // 5, {"token_index": 0}),)
        status = "ERROR" if error else "OK"
        specs.append(SpanSpec(span_id, parent, span_name, span_type, start, end, status,
                              message if error else "", attributes, events))  # fmt: skip
        return span_id

    root = add(None, name, "AGENT", start0, end0, error=failed)
    step = (end0 - start0) // 6
    for k in range(4):
        s0 = start0 + k * step
        chain = add(root, f"step_{k}", "CHAIN", s0, s0 + step - 1000)
        retriever = add(chain, "retrieve_docs", "RETRIEVER", s0 + 1000, s0 + step // 4)
        if k == 0:
            add(retriever, "embed_query", "EMBEDDING", s0 + 2000, s0 + step // 8)
        add(chain, "llm_call", "CHAT_MODEL", s0 + step // 4 + 1000, s0 + step * 3 // 4)
        tool_error = (failed and k == 3) or rng.random() < 0.03
        add(chain, rng.choice(TOOLS), "TOOL", s0 + step * 3 // 4 + 1000, s0 + step - 2000, error=tool_error)
    add(root, "final_answer", "CHAT_MODEL", start0 + 4 * step, start0 + 5 * step)
    add(root, "parse_output", "PARSER", start0 + 5 * step + 1000, end0 - 1000)
    assert len(specs) == SPANS_PER_TRACE
    root_spec = specs[0]
    return TraceSpec(
        trace_id=trace_id,
        request_time=request_time,
        duration=duration,
        state="ERROR" if failed else "OK",
        name=name,
        user=user,
        source_run=rng.choice(runs) if rng.random() < 0.3 else None,
        request_preview=root_spec.attributes[gft.SPAN_INPUTS_ATTRIBUTE][: gft.MAX_PREVIEW_LENGTH],
        response_preview=root_spec.attributes.get(gft.SPAN_OUTPUTS_ATTRIBUTE, "")[: gft.MAX_PREVIEW_LENGTH],
        spans=tuple(specs),
    )


def make_workload(n: int, seed: int) -> list[TraceSpec]:
    """``n`` traces spread over time (one every ~8 s, unique start times and durations)."""
    rng = random.Random(seed)
    runs = [f"{rng.getrandbits(128):032x}" for _ in range(20)]
    durations = rng.sample(range(300, 300 + 4 * n), n)
    base = 1_735_689_600_000  # 2025-01-01, ms
    return [make_trace(rng, i, base + i * 8_000 + rng.randrange(7_000), durations[i], runs) for i in range(n)]


# --- each side: its entities and its calls -----------------------------------------------------------


class Side:
    """A store under test and the entities its API takes."""

    label: str

    def create_experiment(self, name: str) -> str:
        raise NotImplementedError

    def entities(self, trace: TraceSpec, experiment_id: str) -> tuple[list[Any], Any]:
        """(spans, info) as this side's store takes them, built before the clock starts."""
        raise NotImplementedError

    def log_spans(self, experiment_id: str, spans: list[Any]) -> None:
        raise NotImplementedError

    def start_trace(self, info: Any) -> None:
        raise NotImplementedError

    def search(self, experiment_id: str, filter_string: str | None, order_by: list[str]) -> list[str]:
        """Trace ids of the first page of ``PAGE`` results (the filter parsed inside, on both sides)."""
        raise NotImplementedError

    def span_count(self, trace_id: str) -> int:
        """get_trace: the number of spans it returns."""
        raise NotImplementedError


class MLflowSide(Side):
    def __init__(self, store: SqlAlchemyStore) -> None:
        self.store = store
        self.label = f"MLflow {mlflow.__version__} SqlAlchemyStore"

    def create_experiment(self, name: str) -> str:
        return str(self.store.create_experiment(name))

    def entities(self, trace: TraceSpec, experiment_id: str) -> tuple[list[Any], Any]:
        spans = [
            mle.Span.from_dict(
                {
                    "trace_id": trace.trace_id,
                    "span_id": s.span_id,
                    "parent_span_id": s.parent_id,
                    "name": s.name,
                    "start_time_unix_nano": s.start_ns,
                    "end_time_unix_nano": s.end_ns,
                    "events": [{"name": n, "time_unix_nano": t, "attributes": a} for n, t, a in s.events],
                    "status": {"code": f"STATUS_CODE_{s.status}", "message": s.message},
                    "attributes": s.attributes,
                    "links": [],
                }
            )
            for s in trace.spans
        ]
        info = mle.TraceInfo(
            trace_id=trace.trace_id,
            trace_location=mle.TraceLocation.from_experiment_id(experiment_id),
            request_time=trace.request_time,
            state=mle.TraceState(trace.state),
            request_preview=trace.request_preview,
            response_preview=trace.response_preview,
            execution_duration=trace.duration,
            trace_metadata=trace.metadata,
            tags=trace.tags,
        )
        return spans, info

    def log_spans(self, experiment_id: str, spans: list[Any]) -> None:
        self.store.log_spans(experiment_id, spans)

    def start_trace(self, info: Any) -> None:
        self.store.start_trace(info)

    def search(self, experiment_id: str, filter_string: str | None, order_by: list[str]) -> list[str]:
        infos, _ = self.store.search_traces(
            experiment_ids=[experiment_id], filter_string=filter_string, max_results=PAGE, order_by=order_by
        )
        return [i.trace_id for i in infos]

    def span_count(self, trace_id: str) -> int:
        return len(self.store.get_trace(trace_id).data.spans)


class OurSide(Side):
    def __init__(self, store: Any, backend: str) -> None:
        self.store = store
        self.label = f"Genesis-Flow {genesis_flow.__version__} {type(store).__name__} ({backend})"

    def create_experiment(self, name: str) -> str:
        return str(self.store.create_experiment(name))

    def entities(self, trace: TraceSpec, experiment_id: str) -> tuple[list[Any], Any]:
        spans = [
            gft.Span(
                trace_id=trace.trace_id,
                span_id=s.span_id,
                name=s.name,
                start_time_ns=s.start_ns,
                parent_id=s.parent_id,
                end_time_ns=s.end_ns,
                status_code=s.status,
                status_message=s.message,
                attributes=s.attributes,
                events=[gft.SpanEvent(n, t, a) for n, t, a in s.events],
            )
            for s in trace.spans
        ]
        info = gft.TraceInfo(
            trace_id=trace.trace_id,
            experiment_id=experiment_id,
            request_time=trace.request_time,
            state=trace.state,
            execution_duration=trace.duration,
            request_preview=trace.request_preview,
            response_preview=trace.response_preview,
            tags=trace.tags,
            metadata=trace.metadata,
        )
        return spans, info

    def log_spans(self, experiment_id: str, spans: list[Any]) -> None:
        self.store.log_spans(experiment_id, spans)

    def start_trace(self, info: Any) -> None:
        self.store.start_trace(info)

    def search(self, experiment_id: str, filter_string: str | None, order_by: list[str]) -> list[str]:
        page = self.store.search_traces(
            [experiment_id],
            parse_filter(SearchKind.TRACES, filter_string),
            PAGE,
            parse_order_by(SearchKind.TRACES, order_by),
        )
        return [i.trace_id for i in page.items]

    def span_count(self, trace_id: str) -> int:
        return len(self.store.get_trace(trace_id).spans)


# --- the measurements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    key: str
    label: str
    filter_string: str | None
    order_by: list[str]
    matches: Callable[[TraceSpec], bool]
    sort_key: Callable[[TraceSpec], Any]  # ascending key giving the expected order


def make_queries(workload: Sequence[TraceSpec]) -> list[Query]:
    """The searches, their parameters taken from the workload so each matches a known set."""
    middle = sorted(t.request_time for t in workload)[len(workload) // 2]
    runs = [t.source_run for t in workload if t.source_run]
    run = max(set(runs), key=runs.count)
    user, agent = workload[0].user, workload[0].name
    newest = lambda t: -t.request_time  # noqa: E731  (MLflow's default order: timestamp_ms DESC)
    return [
        Query("s1", "default order, first page", None, [], lambda t: True, newest),
        Query("s2", "status = 'ERROR'", "status = 'ERROR'", [], lambda t: t.state == "ERROR", newest),
        Query("s3", "tags.user = '...'", f"tags.user = '{user}'", [], lambda t: t.user == user, newest),
        Query(
            "s4",
            "metadata.`mlflow.sourceRun` = ...",
            f"metadata.`mlflow.sourceRun` = '{run}'",
            [],
            lambda t: t.source_run == run,
            newest,
        ),
        Query(
            "s5",
            "timestamp_ms > X, execution_time_ms DESC",
            f"timestamp_ms > {middle}",
            ["execution_time_ms DESC"],
            lambda t: t.request_time > middle,
            lambda t: -t.duration,
        ),
        Query("s6", "name = '...'", f"name = '{agent}'", [], lambda t: t.name == agent, newest),
    ]


@dataclass
class Sizes:
    traces: int
    per_span_traces: int
    search_repeats: int
    reads: int


@dataclass
class Figure:
    """One row of one side: ``count`` operations (traces, spans, queries, reads) in ``seconds``."""

    key: str
    label: str
    unit: str
    count: int
    seconds: float
    target: float | None
    spans: int = 0  # spans written, for the write rows

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


def write_traces(side: Side, experiment_id: str, traces: Sequence[TraceSpec], *, span_by_span: bool) -> float:
    """Seconds spent in the store calls: per trace ``log_spans`` (all spans in one call, or one call
    per span in the order spans end, root last) then ``start_trace``. Entities are built a chunk at
    a time before the clock starts."""
    total = 0.0
    for at in range(0, len(traces), CHUNK):
        built = [side.entities(t, experiment_id) for t in traces[at : at + CHUNK]]
        if span_by_span:
            built = [
                (sorted(spans, key=lambda s: (s.end_time_ns, s.parent_id is None)), info)
                for spans, info in built
            ]
        log_spans, start_trace = side.log_spans, side.start_trace
        started = time.perf_counter()
        if span_by_span:
            for spans, info in built:
                for span in spans:
                    log_spans(experiment_id, [span])
                start_trace(info)
        else:
            for spans, info in built:
                log_spans(experiment_id, spans)
                start_trace(info)
        total += time.perf_counter() - started
    return total


def check(side: Side, what: str, got: Any, expected: Any) -> None:
    if got != expected:
        raise SystemExit(
            f"{side.label}: wrong answer for {what}: got {got!r:.300}, expected {expected!r:.300}"
        )


def run_side(
    side: Side, workload: Sequence[TraceSpec], extra: Sequence[TraceSpec], sizes: Sizes
) -> list[Figure]:
    print(f"  {side.label}: writing {len(workload)} traces ...", flush=True)
    experiment_id = side.create_experiment("tracing-bench")
    spans = len(workload) * SPANS_PER_TRACE
    figures = [
        Figure(
            "w1",
            f"write {len(workload)} traces, log_spans(20 spans) + start_trace",
            "traces/s",
            len(workload),
            write_traces(side, experiment_id, workload, span_by_span=False),
            TARGET,
            spans,
        )
    ]
    for query in make_queries(workload):
        expected = [t.trace_id for t in sorted(filter(query.matches, workload), key=query.sort_key)][:PAGE]
        check(side, query.label, side.search(experiment_id, query.filter_string, query.order_by), expected)
        started = time.perf_counter()
        for _ in range(sizes.search_repeats):
            side.search(experiment_id, query.filter_string, query.order_by)
        elapsed = time.perf_counter() - started
        hits = sum(1 for t in workload if query.matches(t))
        label = f"search_traces {query.label} [{len(expected)} of {hits}]"
        figures.append(Figure(query.key, label, "queries/s", sizes.search_repeats, elapsed, TARGET))
    picks = random.Random(SEED + 1).choices(workload, k=sizes.reads)
    check(side, "get_trace", side.span_count(picks[0].trace_id), SPANS_PER_TRACE)
    started = time.perf_counter()
    for trace in picks:
        side.span_count(trace.trace_id)
    elapsed = time.perf_counter() - started
    figures.append(Figure("g", "get_trace of a 20-span trace", "reads/s", sizes.reads, elapsed, None))
    if extra:
        print(f"  {side.label}: writing {len(extra)} traces span by span ...", flush=True)
        experiment2 = side.create_experiment("tracing-bench-span-by-span")
        seconds = write_traces(side, experiment2, extra, span_by_span=True)
        check(side, "a trace written span by span", side.span_count(extra[-1].trace_id), SPANS_PER_TRACE)
        label = f"write {len(extra)} traces, 20 x log_spans(1 span) + start_trace"
        figures.append(Figure("w2", label, "spans/s", len(extra) * SPANS_PER_TRACE, seconds, TARGET))
    return figures


# --- the stores ----------------------------------------------------------------------------------------


def _drop_mlflow_engine(uri: str) -> None:
    engine = SqlAlchemyStore._engine_map.pop(uri, None)  # MLflow caches one engine per URI
    if engine is not None:
        engine.dispose()


@contextmanager
def mlflow_sqlite(tmp: str) -> Iterator[Side]:
    uri = f"sqlite:///{tmp}/mlflow.db"
    try:
        yield MLflowSide(SqlAlchemyStore(uri, f"{tmp}/mlflow-artifacts"))  # type: ignore[no-untyped-call]
    finally:
        _drop_mlflow_engine(uri)


class Skipped(Exception):
    """A backend that cannot run here, with the reason."""


def _ours(uri: str, backend: str, artifact_root: str) -> OurSide:
    try:
        store = build_tracking_store(uri, artifact_root=artifact_root)
    except ModuleNotFoundError as error:
        raise Skipped(f"its driver is not installed ({error.name})") from None
    missing = [m for m in ("log_spans", "start_trace", "search_traces", "get_trace") if not hasattr(store, m)]
    if missing:
        raise Skipped(f"{type(store).__name__} does not implement tracing yet (no {', '.join(missing)})")
    return OurSide(store, backend)


def _close(store: Any) -> None:
    for owner in (store, getattr(store, "database", None)):
        for name in ("close", "dispose"):
            method = getattr(owner, name, None)
            if callable(method):
                method()
                return


@contextmanager
def our_store(backend: str, tmp: str, mongo_uri: str | None) -> Iterator[OurSide]:
    root = f"{tmp}/ours-artifacts"
    if backend == "memory":
        yield _ours("memory:", backend, root)
    elif backend == "sqlite":
        side = _ours(f"sqlite:///{tmp}/genesis.db", backend, root)
        try:
            yield side
        finally:
            _close(side.store)
    elif backend == "postgres":
        uri = os.environ.get(PG_ENV)
        if not uri:
            raise Skipped(f"{PG_ENV} is not set")
        yield from _postgres(uri, root)
    else:
        if not mongo_uri:
            raise Skipped(f"neither --mongo-uri nor {MONGO_ENV} is set")
        yield from _mongo(mongo_uri, root)


def _postgres(uri: str, root: str) -> Iterator[OurSide]:
    import sqlalchemy as sa

    scheme, rest = uri.split("://", 1)
    uri = "postgresql+psycopg://" + rest if scheme in ("postgresql", "postgres") else uri
    schema = f"gf_bench_{secrets.token_hex(4)}_tracing"
    admin = sa.create_engine(uri, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    # The store takes only a URI, so its schema rides in libpq's options parameter.
    ours = f"{uri}{'&' if '?' in uri else '?'}options={quote(f'-csearch_path={schema}')}"
    side = None
    try:
        side = _ours(ours, "postgres", root)
        yield side
    finally:
        if side is not None:
            _close(side.store)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _mongo(uri: str, root: str) -> Iterator[OurSide]:
    import pymongo

    database = f"gf_bench_{secrets.token_hex(4)}_tracing"
    ours = urlunsplit(urlsplit(uri)._replace(path=f"/{database}"))
    side = None
    try:
        side = _ours(ours, "mongo", root)
        yield side
    finally:
        if side is not None:
            _close(side.store)
        with pymongo.MongoClient(uri) as client:
            client.drop_database(database)


# --- the report ------------------------------------------------------------------------------------------


def rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def ratio_text(ratio: float) -> str:
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x SLOWER"


def print_table(title: str, ours: list[Figure], theirs: dict[str, Figure]) -> list[dict[str, Any]]:
    widths = (68, 30, 30, 15, 10)
    lines = [("workload", "ours", "MLflow", "ours/MLflow", "target")]
    rows = []
    for mine in ours:
        base = theirs[mine.key]
        ratio = mine.rate / base.rate if base.rate > 0 else float("inf")
        target = (
            "-"
            if mine.target is None
            else f">={mine.target:g}x " + ("ok" if ratio >= mine.target else "MISS")
        )

        def cell(f: Figure) -> str:
            text = f"{rate(f.rate)} {f.unit}"
            return f"{text} ({rate(f.spans / f.seconds)} sp/s)" if f.spans else text

        lines.append((f"({mine.key}) {mine.label}", cell(mine), cell(base), ratio_text(ratio), target))
        rows.append(
            {
                "key": mine.key,
                "workload": mine.label,
                "unit": mine.unit,
                "ours_rate": mine.rate,
                "mlflow_rate": base.rate,
                "ours_s": mine.seconds,
                "mlflow_s": base.seconds,
                "ratio": ratio,
                "target": mine.target,
            }
        )
    print(f"\n{title}")
    for i, cells in enumerate(lines):
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--traces", type=int, help=f"traces to write (default {FULL_TRACES}, --quick {QUICK_TRACES})"
    )
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_TRACES} traces, few repeats")
    parser.add_argument(
        "--backends", default=DEFAULT_BACKENDS, help=f"comma-separated, of: {', '.join(BACKENDS)}"
    )
    parser.add_argument("--mongo-uri", default=os.environ.get(MONGO_ENV), help=f"default: ${MONGO_ENV}")
    parser.add_argument(
        "--per-span-traces",
        type=int,
        help="traces written span by span, row (w2); 0 leaves it out (default traces/50)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    traces = args.traces or (QUICK_TRACES if args.quick else FULL_TRACES)
    per_span = args.per_span_traces if args.per_span_traces is not None else max(traces // 50, 5)
    if set(backends) - set(BACKENDS) or traces < 10 or per_span < 0:
        parser.error(f"bad --backends {args.backends!r}, --traces {traces} or --per-span-traces {per_span}")
    for noisy in ("alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sizes = Sizes(traces, per_span, search_repeats=5 if args.quick else 20, reads=20 if args.quick else 200)

    print(f"workload: {asdict(sizes)}, {SPANS_PER_TRACE} spans per trace, seed {SEED}")
    print(f"Python {platform.python_version()}, {platform.platform()}")
    print("time: wall clock in the store calls; entities built before the clock starts, filters parsed in it")
    if traces != FULL_TRACES:
        print(f"note: the target is set for {FULL_TRACES} traces; smaller runs say little about it")
    started = time.perf_counter()
    workload = make_workload(traces, SEED)
    extra = make_workload(per_span, SEED + 2) if per_span else []
    sample = [s for t in workload[:100] for s in t.spans]
    size = sum(len(v) for s in sample for v in s.attributes.values()) / len(sample)
    print(f"generated in {time.perf_counter() - started:.1f} s; a span's attributes: {size:.0f} bytes")

    report: dict[str, Any] = {"sizes": asdict(sizes), "backends": {}, "skipped": {}}
    with tempfile.TemporaryDirectory(prefix="gf-bench-tracing-") as tmp:
        ours_runs: list[tuple[str, str, list[Figure]]] = []
        for backend in backends:
            folder = os.path.join(tmp, backend)
            os.mkdir(folder)
            try:
                with our_store(backend, folder, args.mongo_uri) as side:
                    ours_runs.append((backend, side.label, run_side(side, workload, extra, sizes)))
            except Skipped as why:
                print(f"  {backend}: skipped ({why})", flush=True)
                report["skipped"][backend] = str(why)
        if not ours_runs:
            print("\nno backend of ours ran; MLflow's side is not measured alone")
            return 1
        folder = os.path.join(tmp, "mlflow")
        os.mkdir(folder)
        with mlflow_sqlite(folder) as side:
            mlflow_label = side.label
            theirs = {f.key: f for f in run_side(side, workload, extra, sizes)}
    report["mlflow"] = {"title": mlflow_label, "rows": [asdict(f) for f in theirs.values()]}
    for backend, label, figures in ours_runs:
        rows = print_table(f"{backend}: {label} vs {mlflow_label} (SQLite file)", figures, theirs)
        report["backends"][backend] = {"title": label, "rows": rows}
        met = sum(1 for r in rows if r["target"] is not None and r["ratio"] >= r["target"])
        print(f"target >={TARGET:g}x met on {met} of {sum(1 for r in rows if r['target'] is not None)} rows")
    for backend, why in report["skipped"].items():
        print(f"skipped: {backend}: {why}")
    if extra and per_span != traces:
        print(
            f"note: (w2) writes {per_span} traces, not {traces}: one call per span is slow on MLflow's side"
        )
    print(
        f"search and read figures: {sizes.search_repeats} runs of each query, {sizes.reads} get_trace calls"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
