"""GenAI tracing through REAL mlflow on our stores (the plugin's tracing methods).

Only the tracking URI is ours, a fresh namespace per test on every backend the plugin serves
(``genesis+sqlite``, ``genesis+postgresql``, ``mongodb``: plugin_backends.py); ``@mlflow.trace``,
``mlflow.start_span``, a traced ChatModel, ``mlflow.search_traces``, ``mlflow.get_trace`` and
``MlflowClient``'s trace calls are unchanged MLflow code. MLflow's
exporter writes spans with ``log_spans`` as they end and the trace with ``start_trace`` when the
root ends; both run on a background queue, flushed (``mlflow.flush_trace_async_logging``) before
anything is read. Spans live in our store: nothing is uploaded as an artifact.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow", reason="the plugin runs inside real mlflow (dev extra)")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import SpanEvent, SpanStatusCode, SpanType
from mlflow.exceptions import MlflowException
from werkzeug.test import TestResponse

from genesis_flow.entrypoints.plugin.tracking import GenesisTrackingStore
from tests.integration.plugin_backends import PLUGIN_BACKENDS, fresh_plugin_uri

SPANS_LOCATION = "mlflow.trace.spansLocation"
ARTIFACT_LOCATION = "mlflow.artifactLocation"


@pytest.fixture(params=PLUGIN_BACKENDS)
def tracking_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with fresh_plugin_uri(request.param, "plugin_tracing", tmp_path) as uri:
        monkeypatch.chdir(tmp_path)  # artifacts (models, trace attachments) land under the test's folder
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        for variable in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            monkeypatch.delenv(variable, raising=False)
        # mlflow keeps the active experiment in a module global: another test's id means nothing here.
        monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield uri
        while mlflow.active_run() is not None:
            mlflow.end_run()
        # None resets them to the default; mlflow's annotations leave it out.
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient()


def _code(excinfo: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(excinfo.value.error_code)


def _flush() -> None:
    mlflow.flush_trace_async_logging()


def _last_trace_id() -> str:
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None, "no trace was recorded"
    return trace_id


def _body(response: TestResponse) -> Any:
    body = response.json
    assert body is not None, response.text
    return body


def _tree(trace: Any) -> dict[str, str | None]:
    """Span name -> its parent's name (None for the root)."""
    names = {s.span_id: s.name for s in trace.data.spans}
    return {s.name: names.get(s.parent_id) if s.parent_id else None for s in trace.data.spans}


def _no_span_artifacts(root: Path) -> None:
    uploaded = sorted(str(p) for p in root.rglob("traces.json"))
    assert uploaded == [], f"span data was uploaded as artifacts: {uploaded}"


# --- @mlflow.trace and mlflow.start_span ------------------------------------------------------------


@mlflow.trace(span_type=SpanType.RETRIEVER)
def _retrieve(query: str) -> list[str]:
    return [f"doc about {query}", "another doc"]


@mlflow.trace
def _fragile(flag: bool) -> str:
    if flag:
        raise ValueError("fragile broke")
    return "fine"


@mlflow.trace(name="answer", attributes={"team": "search"})
def _answer(question: str) -> str:
    docs = _retrieve(question)
    with mlflow.start_span("rank", span_type=SpanType.RERANKER) as span:
        span.set_inputs({"docs": docs})
        span.set_attributes({"top_k": 1, "model": "rule"})
        # mlflow's entity base declares from_proto abstract; SpanEvent itself is concrete.
        span.add_event(SpanEvent("picked", attributes={"index": 0, "why": "first"}))  # type: ignore[abstract]
        best = docs[0]
        span.set_outputs({"best": best})
    with contextlib.suppress(ValueError):
        _fragile(True)
    return f"answer: {best}"


def test_traced_functions_and_spans_read_back_as_the_same_tree(client: MlflowClient, tmp_path: Path) -> None:
    experiment = mlflow.set_experiment("tracing")
    assert _answer("cats") == "answer: doc about cats"
    trace_id = _last_trace_id()
    _flush()

    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert _tree(trace) == {"answer": None, "_retrieve": "answer", "rank": "answer", "_fragile": "answer"}
    spans = {s.name: s for s in trace.data.spans}
    assert trace.data.spans[0].name == "answer"  # the root first, as MLflow's SQL store answers
    root, rank, fragile = spans["answer"], spans["rank"], spans["_fragile"]
    assert (root.inputs, root.outputs) == ({"question": "cats"}, "answer: doc about cats")
    assert root.attributes["team"] == "search"
    assert root.status.status_code == SpanStatusCode.OK
    assert spans["_retrieve"].span_type == SpanType.RETRIEVER
    assert spans["_retrieve"].outputs == ["doc about cats", "another doc"]
    assert rank.span_type == SpanType.RERANKER
    assert rank.inputs == {"docs": ["doc about cats", "another doc"]}
    assert rank.outputs == {"best": "doc about cats"}
    assert (rank.attributes["top_k"], rank.attributes["model"]) == (1, "rule")
    assert [(e.name, e.attributes) for e in rank.events] == [("picked", {"index": 0, "why": "first"})]
    assert fragile.status.status_code == SpanStatusCode.ERROR
    assert "fragile broke" in fragile.status.description
    (exception,) = fragile.events
    assert exception.name == "exception"
    assert exception.attributes["exception.message"] == "fragile broke"
    assert exception.attributes["exception.type"] == "ValueError"
    for span in trace.data.spans:
        assert span.trace_id == trace_id and len(span.span_id) == 16
        assert span.start_time_ns <= span.end_time_ns

    info = trace.info
    assert (info.trace_id, info.experiment_id, info.state.value) == (trace_id, experiment.experiment_id, "OK")
    assert info.request_preview == json.dumps({"question": "cats"})
    assert info.response_preview == json.dumps("answer: doc about cats")
    assert info.execution_duration is not None and info.execution_duration >= 0
    assert info.tags["mlflow.traceName"] == "answer"
    assert info.tags[SPANS_LOCATION] == "TRACKING_STORE"
    assert info.tags[ARTIFACT_LOCATION] == f"{experiment.artifact_location}/traces/{trace_id}/artifacts"
    assert "mlflow.trace.sizeStats" in info.trace_metadata

    # The same trace through the client and through the store's own reads.
    assert client.get_trace(trace_id).to_dict() == trace.to_dict()
    store = mlflow.tracking._get_store()  # type: ignore[no-untyped-call]
    assert isinstance(store, GenesisTrackingStore)
    assert [t.info.trace_id for t in store.batch_get_traces([trace_id, "tr-unknown"])] == [trace_id]
    assert [i.trace_id for i in store.batch_get_trace_infos(["tr-unknown", trace_id])] == [trace_id]
    assert store.get_trace(trace_id).to_dict() == trace.to_dict()
    assert store.get_trace_info(trace_id) == info
    _no_span_artifacts(tmp_path)

    # MLflow's own SQL store, given the same calls, answers the same tree, attributes and tags.
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'reference.db'}")
    mlflow.set_experiment("tracing")
    _answer("cats")
    reference_id = _last_trace_id()
    _flush()
    reference = mlflow.get_trace(reference_id)
    assert _shape(trace) == _shape(reference)
    assert set(info.tags) == set(reference.info.tags)
    assert (info.request_preview, info.response_preview) == (
        reference.info.request_preview,
        reference.info.response_preview,
    )


def _shape(trace: Any) -> list[tuple[Any, ...]]:
    """A trace's spans without ids and times: name, parent, status, attributes, events."""
    parents = _tree(trace)
    return [
        (
            s.name,
            parents[s.name],
            s.status.status_code,
            {k: v for k, v in s.attributes.items() if k != "mlflow.traceRequestId"},
            [(e.name, e.attributes.get("exception.message")) for e in s.events],
        )
        for s in sorted(trace.data.spans, key=lambda s: s.name)
    ]


def test_a_failing_root_makes_an_error_trace(client: MlflowClient) -> None:
    experiment_id = mlflow.set_experiment("errors").experiment_id
    with pytest.raises(ValueError, match="fragile broke"):
        _fragile(True)
    _fragile(False)
    _flush()

    failed = mlflow.search_traces(
        locations=[experiment_id], filter_string="status = 'ERROR'", return_type="list"
    )
    assert len(failed) == 1
    (span,) = failed[0].data.spans
    assert span.status.status_code == SpanStatusCode.ERROR
    assert failed[0].info.state.value == "ERROR"
    ok = mlflow.search_traces(
        locations=[experiment_id], filter_string="trace.status = 'OK'", return_type="list"
    )
    assert [t.data.spans[0].outputs for t in ok] == ["fine"]


# --- a traced ChatModel: log, load, predict with a tool call, stream --------------------------------


@mlflow.trace(span_type=SpanType.TOOL)
def get_weather(city: str) -> dict[str, str]:
    return {"city": city, "sky": "sunny"}


class TracedChatModel(mlflow.pyfunc.ChatModel):  # type: ignore[misc,name-defined]
    """Answers from a rule, no network: a weather question calls the ``get_weather`` tool (its own
    span) and asks the caller to run it; the tool's answer becomes the reply."""

    @mlflow.trace(span_type=SpanType.CHAT_MODEL)
    def predict(self, context: Any, messages: list[Any], params: Any) -> Any:
        from mlflow.types.llm import (
            ChatChoice,
            ChatCompletionResponse,
            ChatMessage,
            FunctionToolCallArguments,
            ToolCall,
        )

        last = messages[-1]
        weather = last.role == "tool" or "weather" in str(last.content)
        mlflow.update_current_trace(tags={"topic": "weather" if weather else "chat"})
        if last.role == "tool":
            reply = ChatMessage(
                role="assistant", content=f"It is {json.loads(last.content)['sky']} in Paris."
            )
        elif "weather" in (last.content or ""):
            forecast = get_weather("Paris")
            call = ToolCall(
                id="call-1",
                function=FunctionToolCallArguments(name="get_weather", arguments=json.dumps(forecast)),
            )
            reply = ChatMessage(role="assistant", content=None, tool_calls=[call])
        else:
            reply = ChatMessage(role="assistant", content=f"echo: {last.content}")
        return ChatCompletionResponse(choices=[ChatChoice(index=0, message=reply)])

    @mlflow.trace(span_type=SpanType.CHAT_MODEL)
    def predict_stream(self, context: Any, messages: list[Any], params: Any) -> Iterator[Any]:
        from mlflow.types.llm import ChatChoiceDelta, ChatChunkChoice, ChatCompletionChunk

        mlflow.update_current_trace(tags={"topic": "stream"}, metadata={"channel": "sse"})
        for word in ("hello", " from", " the", " rules"):
            yield ChatCompletionChunk(
                choices=[ChatChunkChoice(delta=ChatChoiceDelta(role="assistant", content=word))]
            )


def test_a_traced_chat_model_with_a_tool_call_and_streaming_is_searchable(
    client: MlflowClient, tmp_path: Path
) -> None:
    experiment_id = mlflow.set_experiment("chat").experiment_id
    with mlflow.start_run() as logging_run:
        info = mlflow.pyfunc.log_model(name="chat", python_model=TracedChatModel())
    _flush()
    # Traces made while logging (MLflow may call predict to validate the model) are set aside.
    before = {t.info.trace_id for t in mlflow.search_traces(locations=[experiment_id], return_type="list")}
    started_ms = int(time.time() * 1000)

    model = mlflow.pyfunc.load_model(info.model_uri)
    with mlflow.start_run() as run:
        echo = model.predict({"messages": [{"role": "user", "content": "hi"}]})
        time.sleep(0.01)  # distinct request times: the order asserted below is by time
        asked = model.predict({"messages": [{"role": "user", "content": "what is the weather?"}]})
    call = asked["choices"][0]["message"]["tool_calls"][0]
    time.sleep(0.01)
    answered = model.predict(
        {
            "messages": [
                {"role": "user", "content": "what is the weather?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "content": json.dumps({"sky": "sunny"}), "tool_call_id": "call-1"},
            ]
        }
    )
    time.sleep(0.01)
    chunks = list(model.predict_stream({"messages": [{"role": "user", "content": "hi"}]}))
    _flush()
    assert echo["choices"][0]["message"]["content"] == "echo: hi"
    assert answered["choices"][0]["message"]["content"] == "It is sunny in Paris."
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "hello from the rules"

    since = f"timestamp_ms >= {started_ms}"
    frame = mlflow.search_traces(
        locations=[experiment_id], filter_string=since, order_by=["timestamp_ms ASC"]
    )
    assert len(frame) == 4 and not set(frame["trace_id"]) & before
    ordered = list(frame["trace_id"])
    traces = mlflow.search_traces(
        locations=[experiment_id], filter_string=since, order_by=["timestamp_ms ASC"], return_type="list"
    )
    assert [t.info.trace_id for t in traces] == ordered
    # MLflow previews a chat request by its last user message, a reply by its text.
    previews = [t.info.request_preview for t in traces]
    assert previews == ["hi", "what is the weather?", "what is the weather?", "hi"]
    assert (traces[0].info.response_preview, traces[2].info.response_preview) == (
        "echo: hi",
        "It is sunny in Paris.",
    )

    # The tool call's trace: predict -> get_weather (a TOOL span).
    weather = mlflow.search_traces(
        locations=[experiment_id], filter_string=f"{since} AND tags.topic = 'weather'", return_type="list"
    )
    assert [t.info.trace_id for t in weather] == ordered[1:3][::-1]  # newest first by default
    with_tool = [t for t in weather if any(s.span_type == SpanType.TOOL for s in t.data.spans)]
    assert [t.info.trace_id for t in with_tool] == [ordered[1]]
    assert _tree(with_tool[0]) == {"predict": None, "get_weather": "predict"}
    tool = next(s for s in with_tool[0].data.spans if s.name == "get_weather")
    assert (tool.inputs, tool.outputs) == ({"city": "Paris"}, {"city": "Paris", "sky": "sunny"})

    # The streamed trace: one span holding the chunks, tagged and with metadata.
    (streamed,) = mlflow.search_traces(
        locations=[experiment_id], filter_string="metadata.channel = 'sse'", return_type="list"
    )
    assert streamed.info.tags["topic"] == "stream"
    assert [s.name for s in streamed.data.spans] == ["predict_stream"]
    assert streamed.info.trace_metadata["mlflow.modelId"] == info.model_id
    by_model = mlflow.search_traces(
        locations=[experiment_id], model_id=info.model_id, filter_string=None, return_type="list"
    )
    assert {t.info.trace_id for t in by_model} >= set(ordered)

    # Traced inside a run: linked by run id (the metadata MLflow sets, searchable as run_id).
    in_run = mlflow.search_traces(locations=[experiment_id], run_id=run.info.run_id, return_type="list")
    assert len(in_run) == 2
    assert all(t.info.trace_metadata["mlflow.sourceRun"] == run.info.run_id for t in in_run)
    assert logging_run.info.run_id != run.info.run_id

    # Order, max_results and the client's paging.
    newest_first = mlflow.search_traces(
        locations=[experiment_id],
        filter_string=since,
        order_by=["timestamp_ms DESC"],
        max_results=2,
        return_type="list",
    )
    assert [t.info.trace_id for t in newest_first] == ordered[::-1][:2]
    pages, token = [], None
    while True:
        page = client.search_traces(
            locations=[experiment_id],
            filter_string=since,
            order_by=["timestamp_ms ASC"],
            max_results=3,
            page_token=token,
            include_spans=False,
        )
        pages.append([t.info.trace_id for t in page])
        token = page.token
        if not token:
            break
    assert pages == [ordered[:3], ordered[3:]]
    _no_span_artifacts(tmp_path)


# --- tags, deletion, errors -----------------------------------------------------------------------


def test_trace_tags_deletion_and_errors(client: MlflowClient) -> None:
    experiment_id = mlflow.set_experiment("tags").experiment_id
    ids = []
    for question in ("a", "b", "c"):
        _answer(question)
        ids.append(_last_trace_id())
    _flush()

    client.set_trace_tag(ids[0], "review", "x" * 9000)  # MLflow's store truncates to 8000
    client.set_trace_tag(ids[0], "owner", "me")
    assert client.get_trace(ids[0]).info.tags["review"] == "x" * 8000
    client.delete_trace_tag(ids[0], "review")
    tags = client.get_trace(ids[0]).info.tags
    assert "review" not in tags and tags["owner"] == "me"
    found = mlflow.search_traces(
        locations=[experiment_id], filter_string="tags.owner = 'me'", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [ids[0]]

    with pytest.raises(MlflowException) as excinfo:
        client.delete_trace_tag(ids[0], "never-set")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.get_trace("tr-0123456789abcdef0123456789abcdef")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.set_trace_tag("tr-0123456789abcdef0123456789abcdef", "k", "v")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    assert mlflow.get_trace("tr-0123456789abcdef0123456789abcdef") is None  # the fluent API warns

    # MLflow's span and assessment filters are valid MLflow but not offered by this store.
    for unsupported in ("span.name = 'rank'", "feedback.correctness = 'yes'"):
        with pytest.raises(MlflowException, match="not supported by this store") as excinfo:
            mlflow.search_traces(locations=[experiment_id], filter_string=unsupported)
        assert _code(excinfo) == "NOT_IMPLEMENTED"
    with pytest.raises(MlflowException) as excinfo:
        mlflow.search_traces(locations=[experiment_id], filter_string="status ~ 'OK'")
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"

    assert client.delete_traces(experiment_id, trace_ids=[ids[0], "tr-unknown"]) == 1
    assert client.delete_traces(experiment_id, trace_ids=[ids[0]]) == 0
    with pytest.raises(MlflowException) as excinfo:
        client.get_trace(ids[0])
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    oldest = client.delete_traces(experiment_id, max_timestamp_millis=int(time.time() * 1000), max_traces=1)
    assert oldest == 1
    remaining = mlflow.search_traces(locations=[experiment_id], return_type="list")
    assert [t.info.trace_id for t in remaining] == [ids[2]]
    with pytest.raises(MlflowException) as excinfo:
        client.delete_traces(experiment_id)
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"


# --- what the UI's traces tab asks the server ------------------------------------------------------


def test_server_trace_endpoints(client: MlflowClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.server import app, handlers

    store = mlflow.tracking._get_store()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(handlers, "_tracking_store", store)
    server = app.test_client()
    experiment_id = mlflow.set_experiment("served").experiment_id
    _answer("dogs")
    trace_id = _last_trace_id()
    _flush()

    location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
    response = server.post(
        "/ajax-api/3.0/mlflow/traces/search",
        json={"locations": [location], "max_results": 10, "order_by": ["timestamp_ms DESC"]},
    )
    assert response.status_code == 200, response.text
    (listed,) = _body(response)["traces"]
    assert listed["trace_id"] == trace_id
    assert listed["request_preview"] == json.dumps({"question": "dogs"})

    response = server.post(
        "/ajax-api/3.0/mlflow/traces/metrics",
        json={
            "experiment_ids": [experiment_id],
            "view_type": "TRACES",
            "metric_name": "trace_count",
            "aggregations": [{"aggregation_type": "COUNT"}],
        },
    )
    assert response.status_code == 200, response.text  # trace metrics are not stored yet: empty

    response = server.get(f"/ajax-api/3.0/mlflow/traces/{trace_id}")
    assert response.status_code == 200, response.text
    assert _body(response)["trace"]["trace_info"]["tags"]["mlflow.traceName"] == "answer"

    response = server.get("/ajax-api/3.0/mlflow/get-trace-artifact", query_string={"request_id": trace_id})
    assert response.status_code == 200, response.text
    data = json.loads(response.data)
    assert sorted(s["name"] for s in data["spans"]) == ["_fragile", "_retrieve", "answer", "rank"]

    response = server.get("/ajax-api/3.0/mlflow/traces/get", query_string={"trace_id": trace_id})
    assert response.status_code == 200, response.text
    assert len(_body(response)["trace"]["spans"]) == 4

    response = server.get("/ajax-api/3.0/mlflow/traces/tr-0123456789abcdef0123456789abcdef")
    assert response.status_code == 404
    assert _body(response)["error_code"] == "RESOURCE_DOES_NOT_EXIST"
