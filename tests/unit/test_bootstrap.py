"""The composition root: URI resolution, scheme -> adapter, clear errors for what is not here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints import bootstrap
from genesis_flow.ports import RegistryStore, TrackingStore


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("memory:", {"GENESIS_TRACKING_URI": "a://", "MLFLOW_TRACKING_URI": "b://"}, "memory:"),
        (None, {"GENESIS_TRACKING_URI": "a://", "MLFLOW_TRACKING_URI": "b://"}, "a://"),
        (None, {"MLFLOW_TRACKING_URI": "b://"}, "b://"),
        (None, {}, bootstrap.DEFAULT_TRACKING_URI),
        (None, {"GENESIS_TRACKING_URI": ""}, bootstrap.DEFAULT_TRACKING_URI),
    ],
)
def test_tracking_uri_resolution_order(explicit: str | None, env: dict[str, str], expected: str) -> None:
    assert bootstrap.resolve_tracking_uri(explicit, env) == expected


def test_registry_uri_falls_back_to_the_tracking_uri() -> None:
    assert bootstrap.resolve_registry_uri(None, {"MLFLOW_TRACKING_URI": "t://"}) == "t://"
    assert (
        bootstrap.resolve_registry_uri(None, {"MLFLOW_REGISTRY_URI": "r://", "MLFLOW_TRACKING_URI": "t://"})
        == "r://"
    )
    assert (
        bootstrap.resolve_registry_uri(None, {"GENESIS_REGISTRY_URI": "g://", "MLFLOW_REGISTRY_URI": "r://"})
        == "g://"
    )


def test_memory_uri_is_one_shared_store_per_process() -> None:
    bootstrap.reset_memory_stores()
    first = bootstrap.build_tracking_store("memory:")
    experiment_id = first.create_experiment("shared-by-api-client-and-cli")
    second = bootstrap.build_tracking_store("memory:")
    assert second.get_experiment(experiment_id).name == "shared-by-api-client-and-cli"
    assert isinstance(first, TrackingStore)
    assert bootstrap.build_registry_store("memory:") is bootstrap.build_registry_store("memory:")
    assert isinstance(bootstrap.build_registry_store("memory:"), RegistryStore)
    bootstrap.reset_memory_stores()
    assert (
        bootstrap.build_tracking_store("memory:").get_experiment_by_name("shared-by-api-client-and-cli")
        is None
    )


@pytest.mark.parametrize("uri", ["http://localhost:5000", "https://mlflow.example.com"])
def test_a_tracking_server_uri_gets_a_clear_error(uri: str) -> None:
    with pytest.raises(InvalidParameterValue, match=r"tracking server.*directly"):
        bootstrap.build_tracking_store(uri)


def test_an_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(InvalidParameterValue, match=r"Unsupported tracking URI scheme 'bogus'.*memory"):
        bootstrap.build_tracking_store("bogus://x")


def test_a_uri_without_a_scheme_is_rejected() -> None:
    with pytest.raises(InvalidParameterValue, match="no scheme"):
        bootstrap.build_tracking_store("just-a-path")


def test_mongodb_uris_get_the_mongo_adapter_and_cosmos_hosts_its_cosmos_policies() -> None:
    pytest.importorskip("pymongo", reason="the Mongo adapter needs pymongo (extra 'mongo')")
    from genesis_flow.adapters.cosmos import CosmosDatabase
    from genesis_flow.adapters.mongo import MongoDatabase

    try:
        # pymongo connects lazily: building the database object reaches no server.
        plain = bootstrap._mongo_database("mongodb://127.0.0.1:1/team")
        cosmos = bootstrap._mongo_database("mongodb://u:secret@acct.mongo.cosmos.azure.com:10255/ml?ssl=true")
        asked = bootstrap._mongo_database("mongodb://127.0.0.1:1/x?genesis_cosmos=true")
        assert type(plain) is MongoDatabase and plain.name == "team"
        assert isinstance(cosmos, CosmosDatabase) and cosmos.name == "ml"
        assert cosmos.client.options.retry_writes is False
        assert "secret" not in cosmos.where
        assert isinstance(asked, CosmosDatabase)
        assert bootstrap._mongo_database("mongodb://127.0.0.1:1/team") is plain  # one client per URI
    finally:
        bootstrap.reset_memory_stores()


def test_a_mongodb_uri_builds_working_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = os.environ.get("GENESIS_TEST_MONGO_URI")
    if not uri:
        pytest.skip("GENESIS_TEST_MONGO_URI is unset (scripts/services.sh sets it)")
    target = uri.rstrip("/") + "/gf_bootstrap_test"
    try:
        tracking = bootstrap.build_tracking_store(target)
        experiment_id = tracking.create_experiment("from-bootstrap")
        assert tracking.get_experiment(experiment_id).name == "from-bootstrap"
        registry = bootstrap.build_registry_store(target)
        assert registry.create_registered_model("m").name == "m"
    finally:
        bootstrap._mongo_database(target).drop_all()
        bootstrap.reset_memory_stores()


def test_with_nothing_configured_the_store_is_sqlite_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*bootstrap.TRACKING_URI_VARS, *bootstrap.REGISTRY_URI_VARS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        tracking = bootstrap.build_tracking_store()
        experiment_id = tracking.create_experiment("kept")
        run = tracking.create_run(experiment_id, "me", None)
        bootstrap.build_registry_store().create_registered_model("kept-model")
        bootstrap.reset_memory_stores()  # a new process, as far as the stores can tell

        assert (tmp_path / "genesis.db").is_file()
        again = bootstrap.build_tracking_store()
        assert again.get_experiment_by_name("kept") is not None
        assert bootstrap.build_registry_store().get_registered_model("kept-model").name == "kept-model"
        artifacts = tmp_path.resolve() / "genesis-artifacts"
        assert run.info.artifact_uri == f"{artifacts}/{experiment_id}/{run.info.run_id}/artifacts"
    finally:
        bootstrap.reset_memory_stores()


@pytest.mark.parametrize("scheme", ["sqlite", "postgresql", "postgresql+psycopg"])
def test_sql_schemes_reach_the_sql_adapter(scheme: str) -> None:
    assert bootstrap._TRACKING[scheme] is bootstrap._sql_tracking
    assert bootstrap._REGISTRY[scheme] is bootstrap._sql_registry


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("genesis+sqlite:///x.db", "sqlite:///x.db"),
        ("GENESIS+SQLite:///x.db", "SQLite:///x.db"),
        (
            "genesis+postgresql://u:p@h/db?options=-csearch_path%3Ds",
            "postgresql://u:p@h/db?options=-csearch_path%3Ds",
        ),
        ("genesis+postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("genesis+memory:", "memory:"),
        # Only the schemes the plugin registers lose the prefix; anything else is left for the
        # scheme check to refuse by name.
        ("genesis+mongodb://h/db", "genesis+mongodb://h/db"),
        ("genesis+file:///x", "genesis+file:///x"),
        ("sqlite:///genesis+sqlite.db", "sqlite:///genesis+sqlite.db"),
    ],
)
def test_the_plugin_spelling_of_a_uri_names_the_same_store(uri: str, expected: str) -> None:
    assert bootstrap.unprefixed_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///genesis.db", "genesis+sqlite:///genesis.db"),
        ("genesis+sqlite:///genesis.db", "genesis+sqlite:///genesis.db"),
        ("postgresql+psycopg://u@h/db", "genesis+postgresql+psycopg://u@h/db"),
        ("memory:", "genesis+memory:"),
        ("mongodb+srv://h/db", "mongodb+srv://h/db"),  # not a scheme mlflow keeps for itself
        ("toy://ns", None),  # a third-party backend: the plugin does not serve it
    ],
)
def test_plugin_uri_is_the_name_real_mlflow_reaches_our_store_by(uri: str, expected: str | None) -> None:
    assert bootstrap.plugin_uri(uri) == expected


def test_genesis_prefixed_uris_open_the_same_database(tmp_path: Path) -> None:
    try:
        plain = bootstrap.build_tracking_store(f"sqlite:///{tmp_path}/g.db")
        experiment_id = plain.create_experiment("seen-under-both-names")
        prefixed = bootstrap.build_tracking_store(f"genesis+sqlite:///{tmp_path}/g.db")
        assert prefixed.get_experiment(experiment_id).name == "seen-under-both-names"
        bootstrap.build_registry_store(f"genesis+sqlite:///{tmp_path}/g.db").create_registered_model("m")
        assert plain.get_experiment_by_name("seen-under-both-names") is not None
        assert (
            bootstrap.build_registry_store(f"sqlite:///{tmp_path}/g.db").get_registered_model("m").name == "m"
        )
        memory = bootstrap.build_tracking_store("genesis+memory:")
        assert memory is bootstrap.build_tracking_store("memory:")
        with pytest.raises(InvalidParameterValue, match="genesis\\+sqlite"):
            bootstrap.build_tracking_store("genesis+mongodb://h/db")
    finally:
        bootstrap.reset_memory_stores()


def test_artifact_uris_get_the_local_or_the_azure_store(tmp_path: Path) -> None:
    from genesis_flow.adapters.blob.local import LocalArtifactStore

    assert isinstance(bootstrap.build_artifact_store(str(tmp_path)), LocalArtifactStore)
    assert isinstance(bootstrap.build_artifact_store(f"file://{tmp_path}"), LocalArtifactStore)
    pytest.importorskip(
        "azure.storage.blob", reason="the Azure store needs azure-storage-blob (extra 'azure')"
    )
    from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore

    store = bootstrap.build_artifact_store(
        "wasbs://models@acct.blob.core.windows.net/1/run/artifacts", credential="a2V5"
    )
    assert isinstance(store, AzureBlobArtifactStore)
    with pytest.raises(InvalidParameterValue, match="Unsupported artifact URI scheme 's3'"):
        bootstrap.build_artifact_store("s3://bucket/x")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("rel/dir", "{cwd}/rel/dir"),
        ("./dir", "{cwd}/dir"),
        ("file:path/to/dir", "file://{cwd}/path/to/dir"),
        ("file:path/to/dir?q=1#f", "file://{cwd}/path/to/dir?q=1#f"),
        ("/abs/dir", "/abs/dir"),
        ("file:///abs/dir", "file:///abs/dir"),
        ("s3://b/root?creds=x", "s3://b/root?creds=x"),
        ("mlflow-artifacts:", "mlflow-artifacts:"),
        ("wasbs://c@a.blob.core.windows.net/r?sig=S", "wasbs://c@a.blob.core.windows.net/r?sig=S"),
    ],
)
def test_resolved_local_uri_makes_relative_local_locations_absolute(
    uri: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As MLflow's stores resolve artifact roots and locations against the working directory.
    monkeypatch.chdir(tmp_path)
    assert bootstrap.resolved_local_uri(uri) == expected.format(cwd=os.getcwd())
