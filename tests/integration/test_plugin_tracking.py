"""The plugin's tracking store under REAL mlflow: fluent API, MlflowClient and server handlers.

Only the tracking URI is ours, a fresh namespace per test on every backend the plugin serves
(``genesis+sqlite:///...``, ``genesis+postgresql://...``, ``mongodb://...``: plugin_backends.py);
every call goes through unchanged MLflow code into ``GenesisTrackingStore``. These tests are
cheap, so each runs on every backend.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow", reason="the plugin runs inside real mlflow (dev extra)")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import LoggedModelOutput, Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

from genesis_flow.core.errors import GenesisError, InvalidParameterValue, NotSupported  # noqa: E402
from genesis_flow.entrypoints.plugin import convert  # noqa: E402
from genesis_flow.entrypoints.plugin.calls import (  # noqa: E402
    EMPTY,
    IMPLEMENTED,
    NOT_SUPPORTED,
    TRACKING_STORE_CALLS,
    UNSUPPORTED_FEATURES,
)
from genesis_flow.entrypoints.plugin.tracking import GenesisTrackingStore  # noqa: E402
from tests.integration import logged_model_search_cases  # noqa: E402
from tests.integration.plugin_backends import PLUGIN_BACKENDS, fresh_plugin_uri  # noqa: E402

TRACING_MESSAGE = re.escape("Tracing is not supported by this store (Genesis-Flow) yet")


@pytest.fixture(params=PLUGIN_BACKENDS)
def tracking_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with fresh_plugin_uri(request.param, "plugin", tmp_path) as uri:
        monkeypatch.chdir(tmp_path)  # local artifacts land under the test's folder
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        for variable in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            monkeypatch.delenv(variable, raising=False)
        # MLflow remembers the active experiment across tracking URIs; each test has a fresh database.
        monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
        mlflow.set_tracking_uri(uri)
        yield uri
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient()


@pytest.fixture
def store(tracking_uri: str) -> GenesisTrackingStore:
    built = mlflow.tracking._get_store()
    assert isinstance(built, GenesisTrackingStore)
    return built


def _code(excinfo: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(excinfo.value.error_code)


# --- which store MLflow builds ------------------------------------------------------------------


# MLflow's own schemes keep MLflow's stores: a plugin registering one of them would replace it.
MLFLOWS_OWN = [
    "sqlite:///x.db",
    "postgresql://h/db",
    "postgresql+psycopg://h/db",
    "file:///tmp/x",
    "http://h",
]
OURS = [
    "genesis+sqlite:///x.db",
    "genesis+postgresql://h/db",
    "genesis+postgresql+psycopg://h/db",
    "genesis+memory:",
    "mongodb://h/db",
    "mongodb+srv://h/db",
]


def test_mongodb_uri_reaches_our_store_and_sqlite_stays_mlflows(
    tracking_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from mlflow.tracking._model_registry.utils import _get_store_registry
    from mlflow.tracking._tracking_service.utils import _get_store, _tracking_store_registry

    from genesis_flow.entrypoints import plugin

    for registry, ours in (
        (_tracking_store_registry, plugin.tracking_store),
        (_get_store_registry(), plugin.registry_store),  # type: ignore[no-untyped-call]
    ):
        for uri in OURS:
            assert registry.get_store_builder(uri) is ours, uri
        for uri in MLFLOWS_OWN:
            assert registry.get_store_builder(uri).__module__.startswith("mlflow."), uri
    # This backend's URI (genesis+sqlite, genesis+postgresql or mongodb) builds ours.
    assert type(mlflow.tracking._get_store()) is GenesisTrackingStore
    assert type(MlflowClient()._tracking_client.store) is GenesisTrackingStore
    # One path for every backend: mlflow caches the store per URI, so its schema is made once.
    sqlite_uri = f"sqlite:///{tmp_path_factory.getbasetemp()}/mlflows-own.db"
    theirs = _get_store(sqlite_uri)  # type: ignore[no-untyped-call]
    assert type(theirs).__name__ == "SqlAlchemyStore"
    assert type(theirs).__module__.startswith("mlflow.store.tracking.")
    assert type(MlflowClient(tracking_uri=sqlite_uri)._tracking_client.store) is type(theirs)


# --- experiments --------------------------------------------------------------------------------


def test_experiments_crud_and_tags(client: MlflowClient) -> None:
    experiment_id = client.create_experiment("exp-a", tags={"team": "vision"})
    assert isinstance(experiment_id, str)
    experiment = client.get_experiment(experiment_id)
    assert (experiment.name, experiment.lifecycle_stage, experiment.tags) == (
        "exp-a",
        "active",
        {"team": "vision"},
    )
    assert experiment.artifact_location.endswith(f"/{experiment_id}")
    assert experiment.to_proto().name == "exp-a"  # a real mlflow entity
    assert mlflow.get_experiment_by_name("exp-a").experiment_id == experiment_id
    assert mlflow.get_experiment_by_name("missing") is None

    client.set_experiment_tag(experiment_id, "stage", "dev")
    client.delete_experiment_tag(experiment_id, "team")
    client.rename_experiment(experiment_id, "exp-b")
    experiment = client.get_experiment(experiment_id)
    assert (experiment.name, experiment.tags) == ("exp-b", {"stage": "dev"})

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"

    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment("exp-b")
    assert _code(excinfo) == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as excinfo:
        client.get_experiment("987654")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.delete_experiment_tag(experiment_id, "never-set")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_filter_order_view_and_paging(client: MlflowClient) -> None:
    ids = [client.create_experiment(f"search-{i}", tags={"parity": str(i % 2)}) for i in range(5)]
    client.delete_experiment(ids[4])

    found = client.search_experiments(filter_string="name LIKE 'search-%'", order_by=["name DESC"])
    assert [e.name for e in found] == ["search-3", "search-2", "search-1", "search-0"]
    odd = mlflow.search_experiments(filter_string="tags.parity = '1'")
    assert sorted(e.name for e in odd) == ["search-1", "search-3"]
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.experiment_id for e in deleted] == [ids[4]]
    every = client.search_experiments(view_type=ViewType.ALL, filter_string="name LIKE 'search-%'")
    assert len(every) == 5

    pages, token = [], None
    while True:
        page = client.search_experiments(
            max_results=2, filter_string="name LIKE 'search-%'", order_by=["name ASC"], page_token=token
        )
        pages.append([e.name for e in page])
        token = page.token
        if not token:
            break
    assert pages == [["search-0", "search-1"], ["search-2", "search-3"]]

    with pytest.raises(MlflowException) as excinfo:
        client.search_experiments(filter_string="name ~ 'x'")
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"


# --- runs ---------------------------------------------------------------------------------------


def test_fluent_run_with_params_metrics_tags_and_nested_run(client: MlflowClient) -> None:
    mlflow.set_experiment("runs")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"depth": 3, "opt": "adam"})
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metrics({"loss": 0.25, "acc": 0.9}, step=1)
        mlflow.set_tag("owner", "me")
        with mlflow.start_run(nested=True) as child:
            mlflow.log_metric("child_metric", 1.0)

    run = client.get_run(parent.info.run_id)
    assert run.info.run_name == "parent"
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert run.data.params == {"lr": "0.1", "depth": "3", "opt": "adam"}
    assert run.data.metrics == {"loss": 0.25, "acc": 0.9}
    assert run.data.tags["owner"] == "me" and run.data.tags["mlflow.runName"] == "parent"
    assert run.to_proto().info.run_id == parent.info.run_id
    nested = client.get_run(child.info.run_id)
    assert nested.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert nested.info.run_name  # MLflow's stores name an unnamed run
    assert nested.data.tags["mlflow.runName"] == nested.info.run_name
    children = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'", output_format="list"
    )
    assert [r.info.run_id for r in children] == [child.info.run_id]

    client.set_tag(parent.info.run_id, "owner", "you")
    client.delete_tag(parent.info.run_id, "owner")
    assert "owner" not in client.get_run(parent.info.run_id).data.tags
    client.update_run(parent.info.run_id, status="KILLED", name="renamed")
    info = client.get_run(parent.info.run_id).info
    assert (info.status, info.run_name) == ("KILLED", "renamed")


def test_log_batch_and_metric_history(client: MlflowClient, store: GenesisTrackingStore) -> None:
    experiment_id = client.create_experiment("batch")
    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric("m", float(step), now + step, step) for step in range(5)]
    metrics.append(Metric("nan", math.nan, now, 0))
    client.log_batch(run_id, metrics=metrics, params=[Param("p", "v")], tags=[RunTag("t", "1")])
    run = client.get_run(run_id)
    assert run.data.metrics["m"] == 4.0 and math.isnan(run.data.metrics["nan"])
    assert (run.data.params, run.data.tags["t"]) == ({"p": "v"}, "1")

    history = client.get_metric_history(run_id, "m")
    assert [(m.step, m.value) for m in history] == [(s, float(s)) for s in range(5)]
    assert client.get_metric_history(run_id, "unknown") == []

    first = store.get_metric_history(run_id, "m", max_results=2)
    assert len(first) == 2 and first.token
    rest = store.get_metric_history(run_id, "m", max_results=10, page_token=first.token)
    assert [m.step for m in [*first, *rest]] == [0, 1, 2, 3, 4] and rest.token is None

    bulk = store.get_metric_history_bulk([run_id, "no-such-run"], "m", max_results=3)
    assert [(m.run_id, m.step) for m in bulk] == [(run_id, 0), (run_id, 1), (run_id, 2)]
    sampled = store.get_metric_history_bulk_interval(
        [run_id], "m", max_results=2, start_step=None, end_step=None
    )
    assert {m.step for m in sampled} >= {0, 4}
    assert sampled[0].to_proto().run_id == run_id
    from_steps = store.get_metric_history_bulk_interval_from_steps(run_id, "m", [1, 3], max_results=10)
    assert [m.step for m in from_steps] == [1, 3]


def test_search_runs_fluent_dataframe_and_client_paging(client: MlflowClient) -> None:
    experiment_id = mlflow.set_experiment("search-runs").experiment_id
    run_ids = []
    for i in range(5):
        with mlflow.start_run(run_name=f"run-{i}") as run:
            mlflow.log_metric("score", float(i))
            mlflow.log_param("kind", "even" if i % 2 == 0 else "odd")
            run_ids.append(run.info.run_id)

    frame = mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string="params.kind = 'even'", order_by=["metrics.score DESC"]
    )
    assert list(frame["run_id"]) == [run_ids[4], run_ids[2], run_ids[0]]
    assert list(frame["metrics.score"]) == [4.0, 2.0, 0.0]
    assert set(frame["tags.mlflow.runName"]) == {"run-0", "run-2", "run-4"}

    pages, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id], order_by=["metrics.score ASC"], max_results=2, page_token=token
        )
        pages.append([r.info.run_id for r in page])
        token = page.token
        if not token:
            break
    assert pages == [run_ids[0:2], run_ids[2:4], run_ids[4:5]]

    names = mlflow.search_runs(
        [experiment_id],
        filter_string="attributes.run_name LIKE 'run-%' and metrics.score >= 3",
        output_format="list",
    )
    assert sorted(r.info.run_name for r in names) == ["run-3", "run-4"]
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs([experiment_id], filter_string="metrics.score >")
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"


def test_delete_and_restore_run(client: MlflowClient) -> None:
    experiment_id = client.create_experiment("lifecycle")
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run_id]
    with pytest.raises(MlflowException) as excinfo:
        client.log_param(run_id, "p", "v")
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]


def test_errors_carry_mlflows_codes(client: MlflowClient) -> None:
    with pytest.raises(MlflowException) as excinfo:
        client.get_run("no-such-run")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    assert excinfo.value.get_http_status_code() == 404  # type: ignore[no-untyped-call]
    with pytest.raises(MlflowException) as excinfo:
        mlflow.log_metric("m", 1.0, run_id="no-such-run")
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"

    run_id = client.create_run(client.create_experiment("errors")).info.run_id
    client.log_param(run_id, "p", "1")
    client.log_param(run_id, "p", "1")  # the same value again is fine
    with pytest.raises(MlflowException) as excinfo:
        client.log_param(run_id, "p", "2")
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"p": "1"}


def test_error_translation_both_ways() -> None:
    error = convert.error_to_mlflow(InvalidParameterValue("bad"))
    assert (error.message, error.error_code) == ("bad", "INVALID_PARAMETER_VALUE")
    assert convert.error_to_mlflow(NotSupported("later")).error_code == "NOT_IMPLEMENTED"

    class Odd(GenesisError):
        error_code = "NO_SUCH_CODE_IN_MLFLOW"

    assert convert.error_to_mlflow(Odd("odd")).error_code == "INTERNAL_ERROR"
    back = convert.error_to_core(
        MlflowException("gone", error_code=convert.error_code_to_mlflow("RESOURCE_DOES_NOT_EXIST"))
    )
    assert back.error_code == "RESOURCE_DOES_NOT_EXIST" and back.message == "gone"


def test_async_logging_goes_through_log_batch(client: MlflowClient) -> None:
    mlflow.set_experiment("async")
    with mlflow.start_run() as run:
        for step in range(20):
            mlflow.log_metric("async_m", float(step), step=step, synchronous=False)
        mlflow.log_param("async_p", "x", synchronous=False)
        mlflow.set_tag("async_t", "y", synchronous=False)
        operation = mlflow.log_metrics({"a": 1.0, "b": 2.0}, synchronous=False)
        operation.wait()
        mlflow.flush_async_logging()
    data = client.get_run(run.info.run_id).data
    assert data.metrics["async_m"] == 19.0 and data.metrics["a"] == 1.0
    assert (data.params, data.tags["async_t"]) == ({"async_p": "x"}, "y")
    assert len(client.get_metric_history(run.info.run_id, "async_m")) == 20


def test_log_input_dataset_and_dataset_summaries(client: MlflowClient, store: GenesisTrackingStore) -> None:
    pandas = pytest.importorskip("pandas")
    experiment_id = mlflow.set_experiment("datasets").experiment_id
    dataset = mlflow.data.from_pandas(
        pandas.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}), name="toy", targets="y"
    )
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training")  # kept once
    run_inputs = client.get_run(run.info.run_id).inputs
    assert run_inputs is not None
    inputs = run_inputs.dataset_inputs
    assert len(inputs) == 1
    assert (inputs[0].dataset.name, inputs[0].dataset.digest) == ("toy", dataset.digest)
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}
    assert inputs[0].dataset.to_proto().source_type == dataset._to_mlflow_entity().source_type

    summaries = store._search_datasets([experiment_id])
    assert [(s.experiment_id, s.name, s.digest, s.context) for s in summaries] == [
        (experiment_id, "toy", dataset.digest, "training")
    ]
    assert summaries[0].to_proto().name == "toy"
    found = mlflow.search_runs([experiment_id], filter_string="dataset.name = 'toy'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_logged_models(client: MlflowClient, store: GenesisTrackingStore) -> None:
    experiment_id = mlflow.set_experiment("models").experiment_id
    external = mlflow.create_external_model(name="external", model_type="agent", params={"k": "v"})
    assert external.status.value == "READY"
    fetched = client.get_logged_model(external.model_id)
    assert (fetched.name, fetched.model_type, fetched.params) == ("external", "agent", {"k": "v"})
    assert fetched.to_proto().info.model_id == external.model_id

    with mlflow.start_run() as run:
        pending = client.create_logged_model(experiment_id, name="trained", source_run_id=run.info.run_id)
        assert pending.status.value == "PENDING"
        mlflow.log_metric("acc", 0.75, model_id=pending.model_id)
        mlflow.log_outputs([LoggedModelOutput(pending.model_id, step=0)])
    client.set_logged_model_tags(pending.model_id, {"stage": "candidate", "drop": "me"})
    client.delete_logged_model_tag(pending.model_id, "drop")
    client.log_model_params(pending.model_id, {"alpha": "0.5"})
    ready = client.finalize_logged_model(pending.model_id, "READY")
    assert ready.status.value == "READY"
    model = client.get_logged_model(pending.model_id)
    assert (model.tags, model.params, model.source_run_id) == (
        {"stage": "candidate"},
        {"alpha": "0.5"},
        run.info.run_id,
    )
    assert [(m.key, m.value) for m in model.metrics or []] == [("acc", 0.75)]
    outputs = client.get_run(run.info.run_id).outputs
    assert outputs is not None
    assert [(o.model_id, o.step) for o in outputs.model_outputs] == [(pending.model_id, 0)]

    found = client.search_logged_models([experiment_id], filter_string="metrics.acc > 0.5")
    assert [m.model_id for m in found] == [pending.model_id]
    ordered = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": False}]
    )
    assert [m.name for m in ordered] == ["trained", "external"]
    first = client.search_logged_models([experiment_id], max_results=1, order_by=[{"field_name": "name"}])
    assert [m.name for m in first] == ["external"] and first.token
    second = client.search_logged_models(
        [experiment_id], max_results=1, order_by=[{"field_name": "name"}], page_token=first.token
    )
    assert [m.name for m in second] == ["trained"]
    on_data = client.search_logged_models(
        [experiment_id], filter_string="metrics.acc > 0.5", datasets=[{"dataset_name": "absent"}]
    )
    assert list(on_data) == []
    assert len(mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")) == 2

    client.delete_logged_model(external.model_id)
    with pytest.raises(MlflowException) as excinfo:
        client.get_logged_model(external.model_id)
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    assert [m.model_id for m in client.search_logged_models([experiment_id])] == [pending.model_id]


@pytest.mark.parametrize("case", list(logged_model_search_cases.CASES))
def test_search_logged_models_reads_order_by_and_datasets_as_mlflow(client: MlflowClient, case: str) -> None:
    logged_model_search_cases.check(client, case, MlflowException)


def test_record_logged_model_appends_to_the_history_tag(client: MlflowClient) -> None:
    from mlflow.models import Model

    run_id = client.create_run(client.create_experiment("history")).info.run_id
    for path in ("first", "second"):
        model = Model(artifact_path=path, run_id=run_id)
        model.add_flavor("python_function", loader_module="x")
        client._record_logged_model(run_id, model)  # type: ignore[no-untyped-call]
    import json

    history = json.loads(client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert [entry["artifact_path"] for entry in history] == ["first", "second"]


# --- tracing and the other features we do not store yet -------------------------------------------


def test_trace_features_not_stored_yet_raise_the_clear_error_and_reads_are_empty(
    client: MlflowClient, store: GenesisTrackingStore
) -> None:
    experiment_id = mlflow.set_experiment("traces").experiment_id
    with pytest.raises(MlflowException, match=TRACING_MESSAGE) as excinfo:
        store.link_traces_to_run(["tr-1"], "run")
    assert _code(excinfo) == "NOT_IMPLEMENTED"
    with pytest.raises(MlflowException, match=TRACING_MESSAGE):
        store.get_assessment("tr-1", "a-1")

    assert client.search_traces(locations=[experiment_id]) == []
    assert len(mlflow.search_traces(locations=[experiment_id])) == 0
    assert store.search_traces(experiment_ids=[experiment_id]) == ([], None)
    assert store.list_scorers(experiment_id) == []
    assert list(store.search_datasets(experiment_ids=[experiment_id])) == []


def test_every_call_mlflow_makes_is_accounted_for(store: GenesisTrackingStore) -> None:
    own = vars(GenesisTrackingStore)
    for name, status in TRACKING_STORE_CALLS.items():
        assert status in (IMPLEMENTED, EMPTY, NOT_SUPPORTED), name
        assert name in own, f"{name} ({status}) is not defined on GenesisTrackingStore itself"
        if status != NOT_SUPPORTED:
            continue
        with pytest.raises(MlflowException) as excinfo:
            getattr(store, name)("x", "y")
        assert _code(excinfo) == "NOT_IMPLEMENTED", name
        assert (
            excinfo.value.message
            == f"{UNSUPPORTED_FEATURES[name]} is not supported by this store (Genesis-Flow) yet"
        )
    tracing = {n for n, feature in UNSUPPORTED_FEATURES.items() if feature == "Tracing"}
    assert {"create_assessment", "link_traces_to_run", "calculate_trace_filter_correlation"} <= tracing
    assert not {"start_trace", "log_spans", "set_trace_tag", "search_traces"} & tracing


def test_empty_features_answer_as_an_empty_store(store: GenesisTrackingStore) -> None:
    from mlflow.store.entities.paged_list import PagedList

    assert store.batch_get_traces(["tr-1"]) == []  # unknown traces are left out, as MLflow's
    assert store.batch_get_trace_infos(["tr-1"]) == []
    assert store.find_completed_sessions("0", 0, 1) == []
    assert store.get_online_scoring_configs(["s"]) == []
    assert store.list_scorers_across_experiments(["0"]) == []
    assert store.list_gateway_endpoints() == [] and store.list_secret_infos() == []
    for paged in (
        store.search_issues(experiment_id="0"),
        store.list_label_schemas("0"),
        store.list_review_queues("0"),
        store.query_trace_metrics(["0"], None, "latency", []),
        store.search_mcp_servers(),
    ):
        assert isinstance(paged, PagedList) and list(paged) == [] and paged.token is None
    assert store.filter_active_experiment_ids(["0", "424242"]) == ["0"]


# --- the server's handlers (what the UI calls) ------------------------------------------------------


@pytest.fixture
def server(store: GenesisTrackingStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    from mlflow.server import app, handlers

    monkeypatch.setattr(handlers, "_tracking_store", store)
    return app.test_client()


def test_server_endpoints_the_ui_calls(server: Any, client: MlflowClient) -> None:
    experiment_id = mlflow.set_experiment("ui").experiment_id
    with mlflow.start_run() as run:
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    run_id = run.info.run_id
    headers = {"Content-Type": "application/json"}

    response = server.post(
        "/ajax-api/2.0/mlflow/runs/search", json={"experiment_ids": [experiment_id]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert [r["info"]["run_id"] for r in response.json["runs"]] == [run_id]

    response = server.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        query_string={"run_ids": run_id, "metric_key": "loss", "max_results": 10},
    )
    assert response.status_code == 200, response.text
    assert [m["step"] for m in response.json["metrics"]] == [0, 1, 2]

    response = server.post(
        "/ajax-api/2.0/mlflow/experiments/search-datasets",
        json={"experiment_ids": [experiment_id]},
        headers=headers,
    )
    assert response.status_code == 200, response.text

    response = server.get("/ajax-api/2.0/mlflow/runs/get", query_string={"run_id": "missing"})
    assert response.status_code == 404
    assert response.json["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_server_genai_tabs_load_on_an_empty_feature(server: Any) -> None:
    experiment_id = mlflow.set_experiment("ui-genai").experiment_id
    headers = {"Content-Type": "application/json"}
    calls = [
        (
            "post",
            "/ajax-api/3.0/mlflow/traces/search",
            {
                "locations": [
                    {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
                ]
            },
        ),
        ("get", "/ajax-api/2.0/mlflow/traces", {"experiment_ids": experiment_id}),
        ("get", "/ajax-api/3.0/mlflow/scorers/list", {"experiment_id": experiment_id}),
        ("post", "/ajax-api/3.0/mlflow/datasets/search", {"experiment_ids": [experiment_id]}),
        ("post", "/ajax-api/2.0/mlflow/logged-models/search", {"experiment_ids": [experiment_id]}),
        ("get", "/ajax-api/3.0/mlflow/label-schemas/list", {"experiment_id": experiment_id}),
        ("get", "/ajax-api/3.0/mlflow/review-queues/list", {"experiment_id": experiment_id}),
    ]
    for method, path, payload in calls:
        if method == "post":
            response = server.post(path, json=payload, headers=headers)
        else:
            response = server.get(path, query_string=payload)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"


def test_default_experiment_and_many_threads_on_one_store(client: MlflowClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "0"
    assert client.get_experiment("0").name == "Default"

    def work(i: int) -> str:
        run_id: str = client.create_run("0", run_name=f"thread-{i}").info.run_id
        for step in range(5):
            client.log_metric(run_id, "m", float(step), step=step)
        client.log_param(run_id, "i", str(i))
        client.set_terminated(run_id)
        return run_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        run_ids = list(pool.map(work, range(16)))
    for i, run_id in enumerate(run_ids):
        run = client.get_run(run_id)
        assert (run.info.run_name, run.data.params, run.data.metrics) == (
            f"thread-{i}",
            {"i": str(i)},
            {"m": 4.0},
        )
        assert run.info.status == "FINISHED"
