"""Real mlflow on our stores through the plugin: model flavors, registry, serving.

Only the tracking URI changes (``genesis+sqlite:///...``, ``genesis+postgresql://...`` or
``mongodb://...``, a fresh namespace per test: plugin_backends.py); everything else is unchanged
MLflow code: sklearn autologging and ``log_model``, loading from ``runs:/`` and
``models:/name@alias``, a custom ChatModel with streaming and a tool call, ``mlflow models
serve``, datasets, tables and images.

Every test runs on every backend except ``mlflow models serve``: it starts a server process,
and what it reads from the store (a registered version's source) the other tests already read
through each backend, so it runs once per adapter (SQLite for SQL, and MongoDB).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow", reason="the plugin runs inside real mlflow (dev extra)")
pytest.importorskip("sklearn", reason="the sklearn flavor needs scikit-learn (comes with mlflow's dev set)")
from tests.integration.plugin_backends import ONE_PER_FAMILY, PLUGIN_BACKENDS, fresh_plugin_uri  # noqa: E402
from tests.integration.servers import free_port, serve  # noqa: E402


@pytest.fixture(params=PLUGIN_BACKENDS)
def tracking_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with fresh_plugin_uri(request.param, "plugin_e2e", tmp_path) as uri:
        monkeypatch.chdir(tmp_path)  # artifacts go to ./genesis-artifacts under the test's folder
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
        # mlflow keeps the active experiment in a module global: another test's id means nothing here.
        monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield uri
        mlflow.end_run()
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)


def _iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris  # type: ignore[import-untyped]  # ships no type information

    data = load_iris(as_frame=True)
    return data.data, data.target


def test_store_classes_are_ours_and_mlflows_for_sqlite(
    tracking_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from mlflow.tracking._model_registry.utils import _get_store as registry_store
    from mlflow.tracking._tracking_service.utils import _get_store as tracking_store

    assert type(tracking_store()).__module__ == "genesis_flow.entrypoints.plugin.tracking"  # type: ignore[no-untyped-call]
    assert type(registry_store()).__module__ == "genesis_flow.entrypoints.plugin.registry"  # type: ignore[no-untyped-call]
    # One path for every backend: mlflow caches the store per URI, so its schema is made once.
    sqlite_uri = f"sqlite:///{tmp_path_factory.getbasetemp()}/mlflows-own.db"
    assert type(tracking_store(sqlite_uri)).__name__ == "SqlAlchemyStore"  # type: ignore[no-untyped-call]
    assert type(tracking_store(sqlite_uri)).__module__.startswith("mlflow.")  # type: ignore[no-untyped-call]


def test_sklearn_autolog_log_model_register_and_load_by_alias(tracking_uri: str) -> None:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    features, target = _iris()
    mlflow.set_experiment("iris")
    mlflow.sklearn.autolog(log_models=False)
    try:
        with mlflow.start_run(run_name="logreg") as run:
            model = LogisticRegression(max_iter=300).fit(features, target)
            info = mlflow.sklearn.log_model(model, name="model", input_example=features.head(3))
    finally:
        mlflow.sklearn.autolog(disable=True)

    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.params["max_iter"] == "300"  # autologged
    assert "training_accuracy_score" in logged.data.metrics
    assert logged.outputs.model_outputs[0].model_id == info.model_id

    expected = model.predict(features.head(5)).tolist()
    by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert by_run.predict(features.head(5)).tolist() == expected

    version = mlflow.register_model(info.model_uri, "iris-classifier")
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("iris-classifier", "champion", version.version)
    client.transition_model_version_stage("iris-classifier", version.version, "Production")
    assert client.get_model_version_by_alias("iris-classifier", "champion").version == version.version

    by_alias = mlflow.pyfunc.load_model("models:/iris-classifier@champion")
    assert by_alias.predict(features.head(5)).tolist() == expected
    by_stage = mlflow.sklearn.load_model("models:/iris-classifier/Production")
    assert by_stage.predict(features.head(5)).tolist() == expected


def test_registering_twice_archives_the_previous_production_version(tracking_uri: str) -> None:
    client = mlflow.MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_text("weights", "model/weights.txt")
    client.create_registered_model("archiver")
    for _ in range(2):
        version = client.create_model_version("archiver", f"runs:/{run.info.run_id}/model", run.info.run_id)
        client.transition_model_version_stage("archiver", version.version, "Production", True)
    stages = {v.version: v.current_stage for v in client.search_model_versions("name = 'archiver'")}
    assert stages == {1: "Archived", 2: "Production"} or stages == {"1": "Archived", "2": "Production"}


class RuleChatModel(mlflow.pyfunc.ChatModel):  # type: ignore[misc,name-defined]
    """Answers from a rule, no network: weather questions become a tool call, the rest an echo."""

    def predict(self, context: Any, messages: list[Any], params: Any) -> Any:
        from mlflow.types.llm import (
            ChatChoice,
            ChatCompletionResponse,
            ChatMessage,
            FunctionToolCallArguments,
            ToolCall,
        )

        last = messages[-1]
        if last.role == "tool":
            reply = ChatMessage(
                role="assistant", content=f"It is {json.loads(last.content)['sky']} in Paris."
            )
        elif "weather" in (last.content or ""):
            call = ToolCall(
                id="call-1",
                function=FunctionToolCallArguments(
                    name="get_weather", arguments=json.dumps({"city": "Paris"})
                ),
            )
            reply = ChatMessage(role="assistant", content=None, tool_calls=[call])
        else:
            reply = ChatMessage(role="assistant", content=f"echo: {last.content}")
        return ChatCompletionResponse(choices=[ChatChoice(index=0, message=reply)])

    def predict_stream(self, context: Any, messages: list[Any], params: Any) -> Iterator[Any]:
        from mlflow.types.llm import ChatChoiceDelta, ChatChunkChoice, ChatCompletionChunk

        for word in ("hello", " from", " the", " rules"):
            yield ChatCompletionChunk(
                choices=[ChatChunkChoice(delta=ChatChoiceDelta(role="assistant", content=word))]
            )


def test_a_custom_chat_model_is_logged_loaded_streamed_and_calls_a_tool(tracking_uri: str) -> None:
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="chat", python_model=RuleChatModel())
    mlflow.register_model(info.model_uri, "rules-chat")
    mlflow.MlflowClient().set_registered_model_alias("rules-chat", "live", 1)

    model = mlflow.pyfunc.load_model("models:/rules-chat@live")
    echo = model.predict({"messages": [{"role": "user", "content": "hi"}]})
    assert echo["choices"][0]["message"]["content"] == "echo: hi"

    asked = model.predict({"messages": [{"role": "user", "content": "what is the weather?"}]})
    call = asked["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}

    answered = model.predict(
        {
            "messages": [
                {"role": "user", "content": "what is the weather?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "content": json.dumps({"sky": "sunny"}), "tool_call_id": "call-1"},
            ]
        }
    )
    assert answered["choices"][0]["message"]["content"] == "It is sunny in Paris."

    chunks = list(model.predict_stream({"messages": [{"role": "user", "content": "hi"}]}))
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "hello from the rules"


def test_dataset_inputs_tables_and_images(tracking_uri: str) -> None:
    import numpy as np

    features, target = _iris()
    frame = features.assign(target=target)
    dataset = mlflow.data.from_pandas(
        frame, source="https://example.com/iris.csv", name="iris", targets="target"
    )
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
        mlflow.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "images/black.png")
    fetched = mlflow.get_run(run.info.run_id)
    (dataset_input,) = fetched.inputs.dataset_inputs
    assert (dataset_input.dataset.name, dataset_input.dataset.digest) == ("iris", dataset.digest)
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"
    paths = {f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id, "images")}
    assert paths == {"images/black.png"}
    loaded = mlflow.load_table("tables/t.json", run_ids=[run.info.run_id])
    assert loaded["y"].tolist() == ["a", "b"]


@pytest.mark.parametrize("tracking_uri", ONE_PER_FAMILY, indirect=True)
def test_models_serve_answers_invocations_from_a_registered_model(tracking_uri: str, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    features, target = _iris()
    with mlflow.start_run():
        model = LogisticRegression(max_iter=300).fit(features, target)
        info = mlflow.sklearn.log_model(model, name="tree", input_example=features.head(2))
    mlflow.register_model(info.model_uri, "served-tree")
    mlflow.MlflowClient().set_registered_model_alias("served-tree", "prod", 1)

    port = free_port()
    # `mlflow models serve --env-manager local` execs uvicorn from PATH: our interpreter's folder.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {
        **os.environ,
        "PATH": path,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": tracking_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    command = [
        *(sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/served-tree@prod"),
        *("--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)),
    ]
    with serve(command, tmp_path, env, port, health="/ping") as (base, _logs):
        body = json.dumps({"dataframe_split": features.head(4).to_dict(orient="split")}).encode()
        request = urllib.request.Request(
            f"{base}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            predictions = json.loads(answer.read())["predictions"]
        assert predictions == model.predict(features.head(4)).tolist()
