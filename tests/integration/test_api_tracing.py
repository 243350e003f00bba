"""MLflow 3's tracing API on genesis_flow (``@mlflow.trace``, ``mlflow.start_span``,
``mlflow.search_traces``, ``MlflowClient``'s trace methods).

The differential test runs one traced program (nested ``@trace`` functions, ``start_span`` with
inputs, outputs, attributes and events, an exception, a generator, an async function, a thread, a
long input, chat messages, ``update_current_trace``, ``add_trace`` of a stored trace and its dict,
``log_trace``, ``start_span_no_context``, ``context`` blocks on and off) in a subprocess on real
mlflow (SQLite) and on genesis_flow over each backend, and compares what was stored, ids and times
aside. The ``mongo`` leg needs ``GENESIS_TEST_MONGO_URI``; without it the leg is skipped, unless
``GENESIS_REQUIRED_BACKENDS`` lists ``mongo``: then it fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import genesis_flow as mlflow
from genesis_flow import MlflowClient
from genesis_flow.entities import SpanEvent, SpanStatusCode, Trace, TraceState
from genesis_flow.entrypoints.api import tracing
from genesis_flow.exceptions import MlflowException
from tests.contract.backends import required_backends
from tests.integration.api_state import ENV_VARS, clean_state, reset_stores  # noqa: F401 - autouse fixture

TRACE_ID = re.compile(r"^tr-[0-9a-f]{32}$")
SPAN_ID = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture(autouse=True)
def fresh_tracing() -> Iterator[None]:
    tracing._reset()
    yield
    tracing._reset()


# --- the differential program ---------------------------------------------------------------------

PROGRAM = """
import asyncio, json, os, sys, threading
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
if sys.argv[1] == "mlflow":
    import mlflow
    from mlflow.entities import SpanEvent
else:
    import genesis_flow as mlflow
    from genesis_flow.entities import SpanEvent
mlflow.set_tracking_uri(sys.argv[2])
mlflow.set_experiment("tracing")

@mlflow.trace
def add(a, b=2):
    return a + b

@mlflow.trace
def bad():
    raise ValueError("boom")

@mlflow.trace(span_type="PARSER")
def gen(n):
    for i in range(n):
        yield {"i": i}

@mlflow.trace(name="async-add", attributes={"mode": "async"})
async def aadd(x, y):
    return await asyncio.sleep(0, x + y)

@mlflow.trace(name="outer", span_type="CHAIN", attributes={"team": "x", "n": 3, "flag": True})
def outer(q):
    with mlflow.start_span("inner", span_type="LLM", attributes={"k": [1, 2]}) as s:
        s.set_inputs({"q": q})
        s.set_attribute("temp", 0.5)
        s.set_attributes({"model": "m", "nested": {"a": [1, None]}})
        s.add_event(SpanEvent("token", attributes={"i": 1, "text": "hé"}))
        s.set_outputs("ans")
    try:
        bad()
    except ValueError:
        pass
    items = list(gen(3))
    thread = threading.Thread(target=add, args=(5,))
    thread.start()
    thread.join()
    total = asyncio.run(aadd(1, 2))
    mlflow.update_current_trace(
        tags={"fruit": "apple"}, metadata={"custom": "yes"}, client_request_id="req-1"
    )
    return {"r": add(1) + total, "items": len(items)}

with mlflow.start_run():
    outer("hi")

try:
    with mlflow.start_span("failing", span_type="TOOL") as span:
        span.set_inputs({"text": "x" * 3000})
        raise RuntimeError("tool broke")
except RuntimeError:
    pass

with mlflow.start_span("remote", span_type="AGENT") as span:
    span.set_inputs({"q": 1})
    with mlflow.start_span("remote_step") as step:
        step.set_outputs("step")
    span.set_outputs({"a": 2})
mlflow.flush_trace_async_logging()
remote = mlflow.get_trace(mlflow.get_last_active_trace_id())
with mlflow.start_span("host"):
    mlflow.add_trace(remote.to_dict())
mlflow.add_trace(remote)
mlflow.log_trace(
    name="logged", request={"q": "x"}, response="y", intermediate_outputs={"docs": ["d"]},
    tags={"lt": "1"}, start_time_ms=1700000000000, execution_time_ms=7,
)
detached = mlflow.start_span_no_context(
    "detached", span_type="RETRIEVER", inputs={"i": 1}, attributes={"a": "b"},
    tags={"dt": "1", "mlflow.user": "ignored"}, metadata={"dm": "1"},
)
child = mlflow.start_span_no_context("detached_child", parent_span=detached, tags={"ct": "2"})
child.end(outputs=[1])
detached.end(outputs="done")
with mlflow.context(metadata={"a": "1", "b": "1"}, tags={"ctx": "1"}, session_id="s-1", user="u-1"):
    with mlflow.context(metadata={"a": "2"}, tags={"mlflow.traceName": "not this"}):
        with mlflow.start_span("in_context"):
            pass
    with mlflow.context(enabled=False):
        add(100)
        with mlflow.context(tags={"inherits": "off"}):
            mlflow.log_trace(name="never")

@mlflow.trace(span_type="CHAT_MODEL")
def chat(messages):
    return {"choices": [{"message": {"role": "assistant", "content": "hello back"}}]}

chat([{"role": "system", "content": "be nice"}, {"role": "user", "content": "hello"}])

mlflow.flush_trace_async_logging()
last = mlflow.get_last_active_trace_id()
experiment = mlflow.get_experiment_by_name("tracing").experiment_id
traces = mlflow.search_traces(experiment_ids=[experiment], return_type="list")
frame = mlflow.search_traces(experiment_ids=[experiment])

def span_dict(span, names):
    status = span.status
    return {
        "name": span.name,
        "parent": names.get(span.parent_id),
        "span_type": span.span_type,
        "inputs": span.inputs,
        "outputs": span.outputs,
        "attributes": {k: v for k, v in span.attributes.items() if k != "mlflow.traceRequestId"},
        "request_id_attribute": span.get_attribute("mlflow.traceRequestId") == span.trace_id,
        "status": [getattr(status.status_code, "value", status.status_code), status.description],
        "events": [
            [e.name, {k: v for k, v in e.attributes.items() if k != "exception.stacktrace"}]
            for e in span.events
        ],
        "ids": [span.trace_id, span.span_id, span.parent_id],
        "ended": span.end_time_ns is not None and span.end_time_ns >= span.start_time_ns,
    }

observed = []
for t in traces:
    names = {s.span_id: s.name for s in t.data.spans}
    info = t.info
    observed.append({
        "trace_id": info.trace_id,
        "request_id": info.request_id,
        "experiment_id": info.experiment_id == experiment,
        "state": getattr(info.state, "value", info.state),
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "client_request_id": info.client_request_id,
        "tags": info.tags,
        "metadata": info.trace_metadata,
        "duration_ok": info.execution_duration is not None and info.execution_duration >= 0,
        "spans": sorted(
            (span_dict(s, names) for s in t.data.spans), key=lambda s: (s["parent"] or "", s["name"])
        ),
        "same_by_get_trace": mlflow.get_trace(info.trace_id).info.trace_id == info.trace_id,
    })
print(json.dumps({
    "last_is_chat": last == next(
        t.info.trace_id for t in traces if t.info.tags.get("mlflow.traceName") == "chat"
    ),
    "traces": observed,
    "columns": list(frame.columns),
    "frame_request": frame["request"].tolist(),
}, default=str))
"""

# Written by MLflow but not by us: sizes of its own serialisation, a flag of its SQL store, and
# git keys it writes empty outside a repository.
MLFLOW_ONLY_METADATA = {
    "mlflow.trace.sizeBytes",
    "mlflow.trace.sizeStats",
    "mlflow.trace.infoFinalized",
    "mlflow.source.git.commit",
    "mlflow.source.git.branch",
    "mlflow.source.git.repoURL",
}
START_TIME_ATTRIBUTE = "mlflow.spanStartTimeNs"
# MLflow's tag of the artifact folder it would keep trace attachments in (we have none).
MLFLOW_ONLY_TAGS = {"mlflow.artifactLocation"}


def _run_program(tmp_path: Path, flavour: str, uri: str) -> dict[str, Any]:
    script = tmp_path / "traced_program.py"
    script.write_text(PROGRAM, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    done = subprocess.run(
        [sys.executable, str(script), flavour, uri],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("mlflow", reason="compares with the dev extra's mlflow")
    folder = tmp_path_factory.mktemp("mlflow-tracing")
    return _run_program(folder, "mlflow", f"sqlite:///{folder}/mlflow.db")


def _required(backend: str) -> bool:
    return backend in required_backends()


@pytest.fixture(params=["memory", "sql-sqlite", "mongo"])
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory:"
    elif request.param == "sql-sqlite":
        yield f"sqlite:///{tmp_path}/ours.db"
    else:
        base = os.environ.get("GENESIS_TEST_MONGO_URI")
        if not base:
            message = "GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)"
            if _required("mongo"):
                pytest.fail(message + " (GENESIS_REQUIRED_BACKENDS lists mongo)", pytrace=False)
            pytest.skip(message)
        pymongo = pytest.importorskip("pymongo", reason="the mongo extra")
        database = f"api_tracing_{uuid.uuid4().hex[:12]}"
        yield urlunsplit(urlsplit(base)._replace(path="/" + database))
        client: Any = pymongo.MongoClient(base)
        client.drop_database(database)
        client.close()


def _comparable_span(span: dict[str, Any]) -> dict[str, Any]:
    attributes = dict(span["attributes"])
    if START_TIME_ATTRIBUTE in attributes:  # a time of the run, written for explicit start times
        attributes[START_TIME_ATTRIBUTE] = "<present>"
    return {**{k: v for k, v in span.items() if k != "ids"}, "attributes": attributes}


def _comparable(observation: dict[str, Any]) -> dict[str, Any]:
    """What must match: everything but ids, times, stack traces and MLflow's own extras."""
    traces = {}
    for t in observation["traces"]:
        name = t["tags"]["mlflow.traceName"]
        metadata = {k: v for k, v in t["metadata"].items() if k not in MLFLOW_ONLY_METADATA}
        # Values that depend on the process: compare that they are there.
        for key in ("mlflow.user", "mlflow.source.name", "mlflow.sourceRun"):
            if key in metadata:
                metadata[key] = "<present>"
        traces[name] = {
            **{
                k: v for k, v in t.items() if k not in ("trace_id", "request_id", "metadata", "tags", "spans")
            },
            "metadata": metadata,
            "tags": {k: v for k, v in t["tags"].items() if k not in MLFLOW_ONLY_TAGS},
            "spans": [_comparable_span(s) for s in t["spans"]],
        }
    return {
        "last_is_chat": observation["last_is_chat"],
        "traces": traces,
        "columns": observation["columns"],
        "frame_request": sorted(json.dumps(r, sort_keys=True) for r in observation["frame_request"]),
    }


def test_traced_program_stores_what_mlflow_stores(
    reference: dict[str, Any], backend_uri: str, tmp_path: Path
) -> None:
    ours = _run_program(tmp_path, "genesis_flow", backend_uri)

    theirs = _comparable(reference)
    mine = _comparable(ours)
    # MLflow links a trace to the newest active run of ANY thread; our active runs are per thread,
    # so the trace a worker thread starts inside a run has no mlflow.sourceRun (DIFFERENCES).
    theirs["traces"]["add"]["metadata"].pop("mlflow.sourceRun")
    assert (
        sorted(mine["traces"])
        == sorted(theirs["traces"])
        == [
            "Remote Trace <remote>",
            "add",
            "chat",
            "detached",
            "failing",
            "host",
            "in_context",
            "logged",
            "outer",
            "remote",
        ]
    )
    for name in theirs["traces"]:
        assert mine["traces"][name] == theirs["traces"][name], name
    assert mine == theirs
    for t in ours["traces"]:
        assert TRACE_ID.match(t["trace_id"]) and t["request_id"] == t["trace_id"]
        for trace_id, span_id, parent_id in (s["ids"] for s in t["spans"]):
            assert trace_id == t["trace_id"]
            assert SPAN_ID.match(span_id) and (parent_id is None or SPAN_ID.match(parent_id))


# --- in process, on the memory store --------------------------------------------------------------


@pytest.fixture
def experiment_id() -> str:
    mlflow.set_tracking_uri("memory:")
    experiment_id: str = mlflow.set_experiment("traces").experiment_id
    return experiment_id


# The public name, as this module (``tracing``) defines it: genesis_flow re-exports lazily, which
# a type checker cannot follow.
@tracing.trace
def _double(x: int) -> int:
    return 2 * x


def test_nesting_follows_asyncio_tasks_and_starts_a_new_trace_in_a_thread(experiment_id: str) -> None:
    seen: dict[str, Any] = {}

    @tracing.trace
    async def leaf(i: int) -> int:
        span = mlflow.get_current_active_span()
        assert span is not None
        seen[f"leaf{i}"] = span.parent_id
        return i

    @tracing.trace
    async def fan_out() -> list[int]:
        return list(await asyncio.gather(leaf(1), leaf(2)))

    def in_thread() -> None:
        seen["thread_parent"] = mlflow.get_current_active_span()
        _double(4)
        seen["thread_trace"] = mlflow.get_last_active_trace_id(thread_local=True)

    with mlflow.start_span("root") as root:
        asyncio.run(fan_out())
        worker = threading.Thread(target=in_thread)
        worker.start()
        worker.join()

    trace = mlflow.get_trace(root.trace_id)
    assert trace is not None
    by_name = {s.name: s for s in trace.data.spans}
    assert seen["leaf1"] == seen["leaf2"] == by_name["fan_out"].span_id
    assert by_name["fan_out"].parent_id == root.span_id
    assert seen["thread_parent"] is None
    assert seen["thread_trace"] != root.trace_id
    thread_trace = mlflow.get_trace(seen["thread_trace"])
    assert thread_trace is not None and [s.name for s in thread_trace.data.spans] == ["_double"]
    assert mlflow.get_last_active_trace_id() == root.trace_id


def test_start_span_records_an_exception_and_reraises(experiment_id: str) -> None:
    with pytest.raises(KeyError), mlflow.start_span("s") as span:
        span.set_status("OK")  # OK is final, as in OpenTelemetry ...
        raise KeyError("k")
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None
    stored = trace.data.spans[0]
    assert stored.status.status_code == SpanStatusCode.OK  # ... so the exception leaves it OK
    assert [e.name for e in stored.events] == ["exception"]

    with pytest.raises(ValueError), mlflow.start_span("t") as span:
        raise ValueError("v")
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None
    assert trace.info.state == "ERROR"
    assert trace.data.spans[0].status.description == "ValueError: v"


def test_generator_span_ends_when_exhausted_and_an_explicit_output_wins(experiment_id: str) -> None:
    @tracing.trace(output_reducer=lambda items: sum(items))
    def stream(n: int) -> Iterator[int]:
        yield from range(n)

    @tracing.trace
    def explicit() -> str:
        span = mlflow.get_current_active_span()
        assert span is not None
        span.set_outputs("mine")
        return "returned"

    consumed = stream(4)
    assert mlflow.get_last_active_trace_id() is None  # not started before the first item
    assert list(consumed) == [0, 1, 2, 3]
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id() or "")
    assert trace is not None and trace.data.spans[0].outputs == 6
    assert [e.name for e in trace.data.spans[0].events] == [f"mlflow.chunk.item.{i}" for i in range(4)]

    assert explicit() == "returned"
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id() or "")
    assert trace is not None and trace.data.spans[0].outputs == "mine"


def test_a_failing_export_warns_and_never_breaks_the_traced_function(
    experiment_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    mlflow.delete_experiment(experiment_id)  # writing traces into it is refused
    with caplog.at_level(logging.WARNING, logger="genesis_flow"):
        assert _double(3) == 6
    assert any("Failed to log trace" in r.getMessage() for r in caplog.records)


def test_get_trace_of_an_unknown_id_is_none_with_a_warning(
    experiment_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="genesis_flow"):
        assert mlflow.get_trace("tr-" + "0" * 32) is None
    assert caplog.records
    caplog.clear()
    assert mlflow.get_trace("tr-" + "0" * 32, silent=True) is None
    assert not caplog.records
    with pytest.raises(MlflowException) as excinfo:
        MlflowClient().get_trace("tr-" + "0" * 32)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_traces_filters_pages_and_links_runs(experiment_id: str) -> None:
    with mlflow.start_run() as run:
        _double(1)
    linked = mlflow.get_last_active_trace_id()
    for i in range(4):
        _double(i)
    client = MlflowClient()

    assert [t.info.trace_id for t in mlflow.search_traces(run_id=run.info.run_id, return_type="list")] == [
        linked
    ]
    everything = mlflow.search_traces(return_type="list")
    assert len(everything) == 5 and all(isinstance(t, Trace) for t in everything)
    assert [t.info.request_time for t in everything] == sorted(
        (t.info.request_time for t in everything), reverse=True
    )
    assert len(mlflow.search_traces(max_results=2, return_type="list")) == 2

    first = client.search_traces([experiment_id], max_results=3)
    assert len(first) == 3 and first.token
    rest = client.search_traces([experiment_id], max_results=3, page_token=first.token)
    assert len(rest) == 2 and rest.token is None
    assert {t.info.trace_id for t in [*first, *rest]} == {t.info.trace_id for t in everything}

    named = client.search_traces(
        [experiment_id], filter_string="name = '_double' AND status = 'OK'", include_spans=False
    )
    assert len(named) == 5 and all(t.data.spans == [] for t in named)

    frame = mlflow.search_traces()
    assert list(frame.columns) == Trace.pandas_dataframe_columns()
    assert sorted(frame["request"].tolist(), key=lambda r: r["x"]) == [
        {"x": 0},
        {"x": 1},
        {"x": 1},
        {"x": 2},
        {"x": 3},
    ]

    with pytest.raises(MlflowException) as excinfo:
        client.search_traces(
            [experiment_id], run_id=run.info.run_id, filter_string="metadata.`mlflow.sourceRun` = 'x'"
        )
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as excinfo:
        mlflow.search_traces(return_type="table")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_trace_tags_on_stored_and_in_progress_traces(experiment_id: str) -> None:
    client = MlflowClient()
    with mlflow.start_span("live") as span:
        mlflow.set_trace_tag(span.trace_id, "during", "1")
        client.set_trace_tag(span.trace_id, "gone", "x")
        client.delete_trace_tag(span.trace_id, "gone")
        with pytest.raises(MlflowException) as excinfo:
            client.delete_trace_tag(span.trace_id, "never")
        assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    trace_id = span.trace_id

    client.set_trace_tag(trace_id, "after", "2")
    client.set_trace_tag(trace_id, "mlflow.user", "someone")  # immutable: refused with a warning
    mlflow.delete_trace_tag(trace_id, "during")
    tags = client.get_trace(trace_id).info.tags
    assert tags["after"] == "2" and "during" not in tags and "gone" not in tags
    assert tags["mlflow.traceName"] == "live"
    with pytest.raises(MlflowException) as excinfo:
        client.delete_trace_tag(trace_id, "during")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_update_current_trace_sets_state_previews_and_checks_its_arguments(experiment_id: str) -> None:
    with mlflow.start_span("s") as span:
        mlflow.update_current_trace(request_preview="asked", state="ERROR", user="u1", session_id="s1")
        with pytest.raises(MlflowException):
            mlflow.update_current_trace(state="IN_PROGRESS")
        with pytest.raises(MlflowException):
            mlflow.update_current_trace(response_preview=3)
    info = MlflowClient().get_trace(span.trace_id).info
    assert info.state == "ERROR" and info.request_preview == "asked"
    assert info.trace_metadata["mlflow.trace.user"] == "u1"
    assert info.trace_metadata["mlflow.trace.session"] == "s1"
    mlflow.update_current_trace(tags={"x": "y"})  # no active span: a warning, nothing else


def test_delete_traces_follows_mlflows_argument_rules(experiment_id: str) -> None:
    client = MlflowClient()
    ids = []
    for i in range(3):
        _double(i)
        ids.append(mlflow.get_last_active_trace_id())
    for kwargs in (
        {},
        {"max_timestamp_millis": 0, "trace_ids": ids[:1]},
        {"trace_ids": ids[:1], "max_traces": 1},
        {"max_timestamp_millis": 0, "max_traces": 0},
    ):
        with pytest.raises(MlflowException) as excinfo:
            client.delete_traces(experiment_id, **kwargs)
        assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.delete_traces(experiment_id, trace_ids=ids[:1]) == 1
    assert client.delete_traces(experiment_id, max_timestamp_millis=2**62, max_traces=1) == 1
    assert len(client.search_traces([experiment_id])) == 1


def test_span_entities_decode_attributes(experiment_id: str) -> None:
    with mlflow.start_span("s", attributes={"n": 1}) as span:
        span.add_event(SpanEvent("e", attributes={"k": "v"}))
        span.set_inputs({"a": [1, 2]})
    assert TRACE_ID.match(span.trace_id) and SPAN_ID.match(span.span_id)
    trace = MlflowClient().get_trace(span.trace_id)
    stored = trace.data.spans[0]
    assert stored.get_attribute("n") == 1 and stored.attributes["n"] == 1
    assert stored.inputs == {"a": [1, 2]} and stored.span_type == "UNKNOWN"
    assert stored.events[0].attributes == {"k": "v"}
    assert json.loads(trace.to_json())["info"]["trace_id"] == span.trace_id
    assert trace.info.experiment_id == experiment_id and trace.info.request_id == span.trace_id


def test_the_tracing_api_never_imports_mlflow() -> None:
    code = """
        import sys, tempfile, os, asyncio
        os.chdir(tempfile.mkdtemp())
        import genesis_flow as mlflow
        from genesis_flow import MlflowClient
        from genesis_flow.entities import SpanEvent, Trace, TraceInfo, Span
        mlflow.set_tracking_uri("memory:")
        mlflow.set_experiment("e")

        @mlflow.trace
        def f(x):
            with mlflow.start_span("child") as span:
                span.add_event(SpanEvent("e"))
            return x

        @mlflow.trace
        async def g(x):
            return x

        @mlflow.trace
        def h(n):
            yield from range(n)

        f(1); asyncio.run(g(2)); list(h(2))
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.get_trace(trace_id)
        mlflow.search_traces(return_type="list")
        client = MlflowClient()
        client.set_trace_tag(trace_id, "k", "v")
        client.search_traces(["0", mlflow.get_experiment_by_name("e").experiment_id])
        loaded = sorted(m for m in sys.modules if m == "mlflow" or m.startswith("mlflow."))
        print(",".join(loaded) or "none")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "none"


# --- add_trace, start_span_no_context, context: what the differential program does not reach -------


def _finished_trace(experiment_id: str) -> Trace:
    with tracing.start_span("remote") as span, tracing.start_span("step"):
        pass
    found = tracing.get_trace(span.trace_id)
    assert found is not None
    return found


def test_add_trace_refuses_what_is_not_a_finished_trace_in_order_and_adds_nothing(
    experiment_id: str,
) -> None:
    remote = _finished_trace(experiment_id)
    in_progress = Trace.from_dict({**remote.to_dict()})
    in_progress.info.state = TraceState.IN_PROGRESS
    out_of_order = Trace.from_dict(remote.to_dict())
    out_of_order.data.spans.reverse()
    with tracing.start_span("host") as host:
        bad: Any
        for bad in (5, {"info": {}}, in_progress, out_of_order):
            with pytest.raises(MlflowException) as caught:
                mlflow.add_trace(bad)
            assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(MlflowException) as caught:
            mlflow.add_trace(remote, target="host")
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    stored = tracing.get_trace(host.trace_id)
    assert stored is not None and [s.name for s in stored.data.spans] == ["host"]


def test_add_trace_into_an_exported_trace_warns_and_changes_nothing(
    experiment_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    remote = _finished_trace(experiment_id)
    with tracing.start_span("host") as host:
        pass
    with caplog.at_level(logging.WARNING, logger="genesis_flow"):
        mlflow.add_trace(remote, target=host)
    assert "Skipping merge" in caplog.text
    stored = tracing.get_trace(host.trace_id)
    assert stored is not None and len(stored.data.spans) == 1


def test_a_trace_dict_reads_back_as_the_trace(experiment_id: str) -> None:
    remote = _finished_trace(experiment_id)
    again = Trace.from_dict(json.loads(remote.to_json()))
    assert again.to_dict() == remote.to_dict()
    assert [(s.span_id, s.parent_id, s.trace_id) for s in again.data.spans] == [
        (s.span_id, s.parent_id, s.trace_id) for s in remote.data.spans
    ]


def test_start_span_no_context_that_cannot_start_is_a_noop_span_with_a_warning(
    experiment_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="genesis_flow"):
        span = mlflow.start_span_no_context("x", log_level="LOUD")
    assert isinstance(span, tracing.NoOpSpan) and span.trace_id == tracing.NO_OP_SPAN_TRACE_ID
    assert "Failed to start span x" in caplog.text
    span.set_inputs(1)
    span.end()
    assert mlflow.search_traces(return_type="list") == []


def test_context_blocks_nest_and_leave_earlier_traces_alone(experiment_id: str) -> None:
    with tracing.start_span("before") as before, mlflow.context(tags={"t": "1"}, session_id="s"):
        with mlflow.context(enabled=False), tracing.start_span("off") as off:
            assert tracing.get_current_active_span() is before
        with tracing.start_span("inside") as inside:
            assert inside.parent_id == before.span_id
    stored = tracing.get_trace(before.trace_id)
    assert stored is not None and off.span_id is None
    assert "t" not in stored.info.tags and tracing.TRACE_SESSION_METADATA not in stored.info.trace_metadata
    assert sorted(s.name for s in stored.data.spans) == ["before", "inside"]
