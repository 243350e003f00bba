"""Real mlflow's registry API on our registry through the plugin (GenesisRegistryStore).

Every test but the last talks to ``MlflowClient`` / ``mlflow.*`` only, on a fresh namespace of
every backend the plugin serves (``genesis+sqlite``, ``genesis+postgresql``, ``mongodb``:
plugin_backends.py); the URI's scheme makes mlflow build our store from the entry point
``mlflow.model_registry_store``. These tests are cheap, so each runs on every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow", reason="the plugin runs inside real mlflow (dev extra)")

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore

from genesis_flow.entrypoints.plugin.calls import REGISTRY_STORE_CALLS
from genesis_flow.entrypoints.plugin.registry import (
    PROMPTS_NOT_SUPPORTED,
    WEBHOOKS_NOT_SUPPORTED,
    GenesisRegistryStore,
)
from tests.integration.plugin_backends import PLUGIN_BACKENDS, fresh_plugin_uri

# Stages are deprecated in mlflow; the registry still serves them.
pytestmark = pytest.mark.filterwarnings("ignore:.*Model registry stages will be removed:FutureWarning")


@pytest.fixture(params=PLUGIN_BACKENDS)
def uri(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh namespace; mlflow's tracking URI (and so its registry URI) points at it."""
    with fresh_plugin_uri(request.param, "plugin_reg", tmp_path) as uri:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        # mlflow writes these for its subprocesses; monkeypatch puts back what was there before.
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        mlflow.set_tracking_uri(uri)
        yield uri
        mlflow.end_run()
        # None resets them to the default; mlflow's annotations leave it out.
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def client(uri: str) -> MlflowClient:
    return MlflowClient()


def _version(mv: ModelVersion) -> int:
    # mlflow annotates ModelVersion.version as str; its SQL store, and so ours, returns an int.
    number: object = mv.version
    assert isinstance(number, int), repr(number)
    return number


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(MlflowException) as caught:
        call()
    return str(caught.value.error_code)


def make_versions(client: MlflowClient, name: str, count: int = 3) -> None:
    client.create_registered_model(name, tags={"team": "ml"}, description=f"{name} model")
    for i in range(1, count + 1):
        client.create_model_version(
            name, f"s3://bucket/{name}/{i}", tags={"i": str(i)}, description=f"v{i}", run_link=f"link{i}"
        )


# --- the store mlflow builds ---------------------------------------------------------------------


def test_mlflow_builds_our_store_for_the_registry_uri(uri: str) -> None:
    from mlflow.tracking._model_registry.utils import _get_store

    store = _get_store()  # type: ignore[no-untyped-call]
    assert type(store) is GenesisRegistryStore
    assert store.store_uri == uri


# --- models, versions, tags, descriptions ----------------------------------------------------------


def test_models_and_versions_with_tags_and_descriptions(client: MlflowClient) -> None:
    created = client.create_registered_model("clf", tags={"team": "ml"}, description="first")
    assert (created.name, created.description, created.tags) == ("clf", "first", {"team": "ml"})
    assert created.latest_versions == [] and created.aliases == {}
    for i in (1, 2, 3):
        mv = client.create_model_version(
            "clf", f"s3://bucket/clf/{i}", tags={"i": str(i)}, run_link=f"link{i}", description=f"v{i}"
        )
        assert _version(mv) == i  # an int, as MLflow's SQL store returns it
        assert (mv.status, mv.current_stage, mv.source, mv.run_link) == (
            "READY",
            "None",
            f"s3://bucket/clf/{i}",
            f"link{i}",
        )
        assert (mv.tags, mv.description, mv.aliases) == ({"i": str(i)}, f"v{i}", [])

    got = client.get_model_version("clf", "2")
    assert (got.name, _version(got), got.tags, got.description) == ("clf", 2, {"i": "2"}, "v2")
    assert client.get_model_version_download_uri("clf", "2") == "s3://bucket/clf/2"

    assert client.update_model_version("clf", "2", description="better").description == "better"
    assert client.update_registered_model("clf", description="second").description == "second"
    client.set_registered_model_tag("clf", "owner", "me")
    client.delete_registered_model_tag("clf", "team")
    client.delete_registered_model_tag("clf", "never-set")  # a missing tag is a no-op, as in MLflow
    client.set_model_version_tag("clf", "2", "validated", True)
    client.delete_model_version_tag("clf", "2", "i")

    model = client.get_registered_model("clf")
    assert (model.description, model.tags) == ("second", {"owner": "me"})
    assert [(v.version, v.current_stage) for v in model.latest_versions] == [(3, "None")]
    assert client.get_model_version("clf", 2).tags == {"validated": "True"}  # type: ignore[arg-type]
    assert model.creation_timestamp <= model.last_updated_timestamp


def test_transitions_archive_existing_versions_and_latest_versions(client: MlflowClient) -> None:
    make_versions(client, "tr")
    assert client.transition_model_version_stage("tr", "1", "Production").current_stage == "Production"
    moved = client.transition_model_version_stage("tr", "2", "production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert client.get_model_version("tr", "1").current_stage == "Archived"
    client.transition_model_version_stage("tr", "3", "Staging")

    latest = client.get_latest_versions("tr")
    assert [(v.version, v.current_stage) for v in latest] == [
        (1, "Archived"),
        (2, "Production"),
        (3, "Staging"),
    ]
    assert [v.version for v in client.get_latest_versions("tr", ["Production"])] == [2]
    assert [v.version for v in client.get_latest_versions("tr", ["staging", "None"])] == [3]
    latest_of_model = client.get_registered_model("tr").latest_versions
    assert sorted(v.version for v in latest_of_model) == [1, 2, 3]

    # Archiving again moves the other Production version out.
    client.transition_model_version_stage("tr", "3", "Production", archive_existing_versions=True)
    assert client.get_model_version("tr", "2").current_stage == "Archived"
    assert client.get_model_version("tr", "1").current_stage == "Archived"
    assert error_code(lambda: client.transition_model_version_stage("tr", "1", "Shipping")) == (
        "INVALID_PARAMETER_VALUE"
    )


def test_aliases_set_move_resolve_and_delete(client: MlflowClient) -> None:
    make_versions(client, "al")
    client.set_registered_model_alias("al", "champion", "1")
    client.set_registered_model_alias("al", "challenger", "2")
    assert _version(client.get_model_version_by_alias("al", "champion")) == 1
    assert client.get_registered_model("al").aliases == {"champion": 1, "challenger": 2}
    assert client.get_model_version("al", "1").aliases == ["champion"]

    client.set_registered_model_alias("al", "champion", "3")  # moves
    champion = client.get_model_version_by_alias("al", "champion")
    assert (_version(champion), champion.aliases) == (3, ["champion"])
    assert client.get_model_version("al", "1").aliases == []
    assert _version(client.get_model_version_by_alias("al", "latest")) == 3

    client.delete_registered_model_alias("al", "challenger")
    assert client.get_registered_model("al").aliases == {"champion": 3}
    assert (
        error_code(lambda: client.get_model_version_by_alias("al", "challenger")) == "INVALID_PARAMETER_VALUE"
    )

    client.delete_model_version("al", "3")  # takes its aliases with it
    assert client.get_registered_model("al").aliases == {}
    assert _version(client.get_model_version_by_alias("al", "latest")) == 2

    # The models:/name@alias URI resolves through the store, as model loading does.
    client.set_registered_model_alias("al", "prod", "2")
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    assert ModelsArtifactRepository.get_underlying_uri("models:/al@prod") == "s3://bucket/al/2"  # type: ignore[no-untyped-call]


def test_search_with_filters_order_by_and_page_tokens(client: MlflowClient) -> None:
    for name in ("pm-a", "pm-b", "pm-c", "pm-d", "pm-e", "other"):
        client.create_registered_model(name, tags={"kind": "even" if name[-1] in "bd" else "odd"})
    for i in range(5):
        client.create_model_version("pm-c", f"s3://bucket/pm-c/{i}", tags={"parity": str(i % 2)})
    client.create_model_version("other", "s3://bucket/other/1")

    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = client.search_registered_models(
            filter_string="name LIKE 'pm-%'", max_results=2, order_by=["name DESC"], page_token=token
        )
        assert isinstance(page, PagedList) and len(page) <= 2
        names += [m.name for m in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert names == ["pm-e", "pm-d", "pm-c", "pm-b", "pm-a"] and pages == 3

    even = client.search_registered_models(filter_string="tags.kind = 'even'")
    assert [m.name for m in even] == ["pm-b", "pm-d"]
    searched_c = client.search_registered_models(filter_string="name = 'pm-c'")[0]
    assert [v.version for v in searched_c.latest_versions] == [5]

    versions: list[int] = []
    token = None
    while True:
        vpage = client.search_model_versions(
            "name = 'pm-c'", max_results=2, order_by=["version_number ASC"], page_token=token
        )
        versions += [int(v.version) for v in vpage]
        token = vpage.token
        if not token:
            break
    assert versions == [1, 2, 3, 4, 5]

    odd = client.search_model_versions(
        "name = 'pm-c' AND tags.parity = '1'", order_by=["version_number DESC"]
    )
    assert [_version(v) for v in odd] == [4, 2]
    assert {v.name for v in client.search_model_versions()} == {"pm-c", "other"}
    assert [m.name for m in mlflow.search_registered_models(filter_string="name = 'other'")] == ["other"]
    assert error_code(lambda: client.search_registered_models(filter_string="nme = 'x'")) == (
        "INVALID_PARAMETER_VALUE"
    )


def test_rename_delete_and_version_numbers_never_reused(client: MlflowClient) -> None:
    make_versions(client, "old")
    client.set_registered_model_alias("old", "champion", "2")
    client.rename_registered_model("old", "new")
    assert error_code(lambda: client.get_registered_model("old")) == "RESOURCE_DOES_NOT_EXIST"
    renamed = client.get_registered_model("new")
    assert renamed.aliases == {"champion": 2} and renamed.tags == {"team": "ml"}
    assert client.get_model_version("new", "2").name == "new"

    client.delete_model_version("new", "3")
    assert error_code(lambda: client.get_model_version("new", "3")) == "RESOURCE_DOES_NOT_EXIST"
    assert _version(client.create_model_version("new", "s3://bucket/new/4")) == 4
    assert [int(v.version) for v in client.search_model_versions("name = 'new'")] == [4, 2, 1]

    client.delete_registered_model("new")
    assert error_code(lambda: client.get_registered_model("new")) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions("name = 'new'") == []
    client.create_registered_model("new")
    assert _version(client.create_model_version("new", "s3://bucket/new/again")) == 1


def test_errors_are_mlflow_exceptions_with_mlflows_codes(client: MlflowClient) -> None:
    make_versions(client, "err", count=1)
    assert error_code(lambda: client.create_registered_model("err")) == "RESOURCE_ALREADY_EXISTS"
    assert error_code(lambda: client.get_model_version("err", "9")) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: client.get_model_version("nope", "1")) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: client.get_registered_model("nope")) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: client.create_model_version("nope", "s3://x")) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(lambda: client.transition_model_version_stage("err", "1", "Shipping")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert error_code(lambda: client.get_model_version("err", "one")) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: client.set_registered_model_alias("err", "latest", "1")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert error_code(lambda: client.create_registered_model("a/b")) == "INVALID_PARAMETER_VALUE"
    client.create_registered_model("taken")
    assert error_code(lambda: client.rename_registered_model("err", "taken")) == "RESOURCE_ALREADY_EXISTS"


def test_copy_model_version_points_at_the_original(client: MlflowClient) -> None:
    make_versions(client, "src", count=2)
    copy = client.copy_model_version("models:/src/2", "dst")
    assert (copy.name, _version(copy), copy.source) == ("dst", 1, "models:/src/2")
    assert (copy.tags, copy.description, copy.run_link) == ({"i": "2"}, "v2", "link2")
    assert client.get_model_version_download_uri("dst", "1") == "s3://bucket/src/2"
    # A copy of the copy resolves through both.
    again = client.copy_model_version("models:/dst/1", "dst")
    assert _version(again) == 2
    assert client.get_model_version_download_uri("dst", "2") == "s3://bucket/src/2"
    # A models:/ source that does not resolve is refused, as MLflow's store refuses it.
    assert error_code(lambda: client.create_model_version("dst", "models:/src/9")) == "INTERNAL_ERROR"


def test_register_model_from_a_run_and_load_it(uri: str) -> None:
    from mlflow.pyfunc.model import PythonModel

    class Echo(PythonModel):
        # mlflow reads the type hints as the model's input and output schema.
        def predict(self, context: Any, model_input: list[str], params: Any = None) -> list[str]:
            return model_input

    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "echo", tags={"origin": "run"})
    assert (version.name, _version(version), version.tags) == ("echo", 1, {"origin": "run"})
    assert (version.run_id, version.model_id) == (run.info.run_id, info.model_id)

    client = MlflowClient()
    logged = client.get_logged_model(info.model_id)
    # A models:/<model_id> source downloads from the logged model's artifact location (MLflow).
    assert client.get_model_version_download_uri("echo", "1") == logged.artifact_location
    client.set_registered_model_alias("echo", "live", "1")
    for model_uri in ("models:/echo/1", "models:/echo@live"):
        loaded = mlflow.pyfunc.load_model(model_uri)
        assert loaded.predict(["a", "b"]) == ["a", "b"]


@pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning")  # importing mlflow.server
def test_mlflow_servers_registry_endpoints(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mlflow server`'s REST handlers (what its UI calls), in process: protobuf tags and order_by,
    webhook delivery after each write (an empty list), MLflow's HTTP errors."""
    from mlflow.server import app, handlers

    for variable in ("_MLFLOW_SERVER_FILE_STORE", "_MLFLOW_SERVER_REGISTRY_STORE"):
        monkeypatch.setenv(variable, uri)
    monkeypatch.setenv("_MLFLOW_SERVER_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setattr(handlers, "_model_registry_store", None)
    monkeypatch.setattr(handlers, "_tracking_store", None)
    http = app.test_client()

    def call(method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = getattr(http, method)(f"/api/2.0/mlflow/{path}", **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    created = call(
        "post", "registered-models/create", json={"name": "srv", "tags": [{"key": "a", "value": "b"}]}
    )
    assert created["registered_model"]["tags"] == [{"key": "a", "value": "b"}]
    duplicate = call("post", "registered-models/create", 400, json={"name": "srv"})
    assert duplicate["error_code"] == "RESOURCE_ALREADY_EXISTS"
    for i in (1, 2):
        version = call("post", "model-versions/create", json={"name": "srv", "source": f"s3://b/{i}"})
        assert version["model_version"]["version"] == str(i)
    call("post", "registered-models/alias", json={"name": "srv", "alias": "champ", "version": "1"})
    assert call("get", "registered-models/alias?name=srv&alias=champ")["model_version"]["version"] == "1"
    searched = call("get", "model-versions/search?filter=name%3D%27srv%27&order_by=version_number%20ASC")
    assert [v["version"] for v in searched["model_versions"]] == ["1", "2"]
    models = call("get", "registered-models/search?max_results=10")["registered_models"]
    assert [m["name"] for m in models] == ["srv"] and models[0]["aliases"] == [
        {"alias": "champ", "version": "1"}
    ]
    assert call("get", "model-versions/get-download-uri?name=srv&version=2")["artifact_uri"] == "s3://b/2"
    missing = call("get", "model-versions/get?name=srv&version=9", 404)
    assert missing["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert call("get", "webhooks") == {}
    call("delete", "registered-models/delete", json={"name": "srv"})


# --- the table of calls (no database needed) -----------------------------------------------------


def test_every_registry_store_call_is_ours_or_refused_clearly() -> None:
    # Building the store opens nothing: the database client is made on first use.
    store = GenesisRegistryStore("mongodb://127.0.0.1:1/never_used")
    public = {n for n in dir(AbstractStore) if not n.startswith("_") and callable(getattr(AbstractStore, n))}
    assert public <= set(REGISTRY_STORE_CALLS), (
        f"mlflow calls missing from the table: {public - set(REGISTRY_STORE_CALLS)}"
    )
    assert set(REGISTRY_STORE_CALLS.values()) == {"implemented", "empty", "not supported"}

    for name, status in REGISTRY_STORE_CALLS.items():
        assert name in GenesisRegistryStore.__dict__, f"{name} is inherited from mlflow, not ours"
        if status == "not supported":
            with pytest.raises(MlflowException) as caught:
                getattr(store, name)("x")
            assert caught.value.error_code == "NOT_IMPLEMENTED", name
            expected = PROMPTS_NOT_SUPPORTED if "prompt" in name else WEBHOOKS_NOT_SUPPORTED
            assert caught.value.message == expected, name

    from mlflow.entities.webhook import WebhookAction, WebhookEntity, WebhookEvent

    event = WebhookEvent(WebhookEntity.MODEL_VERSION, WebhookAction.CREATED)
    empties: dict[str, Callable[[], object]] = {
        "list_webhooks": lambda: store.list_webhooks(),
        "list_webhooks_by_event": lambda: store.list_webhooks_by_event(event, max_results=100),
        "search_prompts": lambda: store.search_prompts(),
        "search_prompt_versions": lambda: store.search_prompt_versions("x"),
    }
    assert set(empties) == {n for n, s in REGISTRY_STORE_CALLS.items() if s == "empty"}
    for name, call in empties.items():
        page = call()
        assert isinstance(page, PagedList) and list(page) == [] and page.token is None, name

    # MlflowClient asks for the parameter by name before passing it.
    import inspect

    assert "local_model_path" in inspect.signature(store.create_model_version).parameters
    assert store.get_model_version_stages("m", "1") == ["None", "Staging", "Production", "Archived"]
