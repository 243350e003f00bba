"""``genesis_flow.MlflowClient`` and ``genesis_flow.artifacts`` on real stores: batch splitting,
value conversion and truncation, metric history, search paging, ``runs:/`` and ``models:/`` URIs,
and errors. Expected behaviour is MLflow's (3.17) wherever the two share semantics."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy.exc

import genesis_flow as mlflow
import genesis_flow.artifacts
from genesis_flow import MlflowClient
from genesis_flow.entities import Metric, Param, RunTag
from genesis_flow.exceptions import MlflowException
from tests.integration import logged_model_search_cases
from tests.integration.api_state import ENV_VARS, clean_state, reset_stores  # noqa: F401 - autouse fixture


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri)


@pytest.fixture
def run_id(client: MlflowClient) -> str:
    return str(client.create_run("0").info.run_id)


# --- server URIs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("server", ["http://localhost:5000", "https://mlflow.example.com/"])
def test_client_server_tracking_uri_raises_invalid_parameter_value(server: str) -> None:
    with pytest.raises(MlflowException) as caught:
        MlflowClient(tracking_uri=server)

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "database URI" in caught.value.message


def test_client_server_registry_uri_raises_invalid_parameter_value(uri: str) -> None:
    client = MlflowClient(tracking_uri=uri, registry_uri="https://mlflow.example.com")

    with pytest.raises(MlflowException) as caught:
        client.create_registered_model("m")

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "database URI" in caught.value.message


# --- log_batch, values ---------------------------------------------------------------------------


def test_log_batch_over_the_limits_is_split_and_all_stored(
    client: MlflowClient, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = client.store
    calls: list[tuple[int, int, int]] = []
    original = store.log_batch

    def counting(run: str, metrics: Any = (), params: Any = (), tags: Any = ()) -> Any:
        calls.append((len(metrics), len(params), len(tags)))
        return original(run, metrics, params, tags)

    monkeypatch.setattr(store, "log_batch", counting)
    metrics = [Metric(f"m{i}", float(i), 1000 + i, i) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(150)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(150)]

    assert client.log_batch(run_id, metrics, params, tags) is None

    assert len(calls) > 1
    assert all(m <= 1000 and p <= 100 and t <= 100 and m + p + t <= 1000 for m, p, t in calls)
    assert [sum(c[i] for c in calls) for i in range(3)] == [2500, 150, 150]
    data = client.get_run(run_id).data
    assert data.metrics == {f"m{i}": float(i) for i in range(2500)}
    assert data.params == {f"p{i}": str(i) for i in range(150)}
    assert {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")} == {
        f"t{i}": str(i) for i in range(150)
    }


def test_log_param_over_long_value_is_truncated_to_6000_by_default(client: MlflowClient, run_id: str) -> None:
    value = "".join(str(i % 10) for i in range(7000))

    client.log_param(run_id, "long", value)
    client.log_batch(run_id, params=[Param("long-batch", value)])

    params = client.get_run(run_id).data.params
    assert params["long"] == value[:6000]
    assert params["long-batch"] == value[:6000]


@pytest.mark.parametrize("setting", ["true", "True"])
def test_log_param_over_long_value_with_truncation_on_is_truncated(
    client: MlflowClient, run_id: str, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", setting)

    client.log_param(run_id, "long", "x" * 7000)

    assert client.get_run(run_id).data.params["long"] == "x" * 6000


def test_log_param_over_long_value_with_truncation_off_raises_invalid_parameter_value(
    client: MlflowClient, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "false")

    with pytest.raises(MlflowException) as single:
        client.log_param(run_id, "long", "x" * 7000)
    with pytest.raises(MlflowException) as batch:
        client.log_batch(run_id, params=[Param("long", "x" * 7000)])

    assert single.value.error_code == batch.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "6000" in single.value.message
    assert client.get_run(run_id).data.params == {}


def test_set_tag_over_long_value_is_truncated_to_8000_by_default(client: MlflowClient, run_id: str) -> None:
    client.set_tag(run_id, "long", "y" * 9000)

    assert client.get_run(run_id).data.tags["long"] == "y" * 8000


@pytest.mark.parametrize(
    "value",
    [np.float32(0.5), np.float64(0.25), np.int64(7), 3, True],
    ids=["float32", "float64", "int64", "int", "bool"],
)
def test_log_metric_numpy_and_int_values_are_stored_as_float(
    client: MlflowClient, run_id: str, value: Any
) -> None:
    client.log_metric(run_id, "single", value)
    client.log_batch(run_id, metrics=[Metric("batch", value, 1000, 0)])

    data = client.get_run(run_id).data.metrics
    history = client.get_metric_history(run_id, "single") + client.get_metric_history(run_id, "batch")
    for stored in [data["single"], data["batch"], *(m.value for m in history)]:
        assert type(stored) is float
        assert stored == float(value)


def test_log_metric_defaults_step_to_zero_and_timestamp_to_now(client: MlflowClient, run_id: str) -> None:
    client.log_metric(run_id, "m", 1.0)

    (point,) = client.get_metric_history(run_id, "m")
    assert point.step == 0
    assert point.timestamp >= client.get_run(run_id).info.start_time


def test_get_metric_history_is_ordered_by_timestamp_then_step_then_value(
    client: MlflowClient, run_id: str
) -> None:
    for timestamp, step, value in [(30, 1, 1.0), (10, 5, 2.0), (20, 0, 3.0), (10, 2, 4.0), (10, 2, 0.5)]:
        client.log_metric(run_id, "h", value, timestamp=timestamp, step=step)

    history = client.get_metric_history(run_id, "h")

    # What MLflow's SQL store returns for the same points.
    assert [(m.timestamp, m.step, m.value) for m in history] == [
        (10, 2, 0.5),
        (10, 2, 4.0),
        (10, 5, 2.0),
        (20, 0, 3.0),
        (30, 1, 1.0),
    ]
    assert all(m.key == "h" for m in history)
    assert client.get_metric_history(run_id, "unknown") == []


def test_get_metric_history_returns_more_than_one_page(client: MlflowClient, run_id: str) -> None:
    client.log_batch(run_id, metrics=[Metric("long", float(i), i, i) for i in range(3000)])

    assert [m.step for m in client.get_metric_history(run_id, "long")] == list(range(3000))


# --- search_runs paging --------------------------------------------------------------------------


@pytest.mark.parametrize("store_uri", ["sqlite", "memory:"])
@pytest.mark.parametrize(
    "order_by",
    [None, ["metrics.m DESC"], ["params.p"], ["attributes.start_time ASC"], ["metrics.m", "params.p DESC"]],
    ids=["default", "metric-desc", "param", "start-time", "metric-then-param"],
)
@pytest.mark.parametrize("page_size", [1, 4, 7, 23, 50])
def test_search_runs_paging_with_tokens_returns_every_run_once(
    tmp_path: Path, store_uri: str, order_by: list[str] | None, page_size: int
) -> None:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/p.db" if store_uri == "sqlite" else store_uri)
    experiment_id = client.create_experiment("paging")
    expected = set()
    for i in range(23):
        # Same start time for all, gaps in metrics and params: every sort key has ties and nulls.
        run = client.create_run(experiment_id, start_time=1_000)
        expected.add(run.info.run_id)
        if i % 3:
            client.log_metric(run.info.run_id, "m", float(i % 4))
        if i % 2:
            client.log_param(run.info.run_id, "p", str(i % 3))

    seen: list[str] = []
    token: str | None = None
    for _ in range(100):
        page = client.search_runs([experiment_id], max_results=page_size, order_by=order_by, page_token=token)
        assert len(page) <= page_size
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break

    assert len(seen) == len(expected)
    assert set(seen) == expected


def test_search_runs_paging_with_filter_returns_each_match_once(client: MlflowClient) -> None:
    experiment_id = client.create_experiment("filtered")
    matching = set()
    for i in range(15):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_metric(run_id, "m", float(i % 5))
        if i % 5 >= 2:
            matching.add(run_id)

    seen: list[str] = []
    token: str | None = None
    while True:
        page = client.search_runs([experiment_id], "metrics.m >= 2", max_results=4, page_token=token)
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break

    assert sorted(seen) == sorted(matching)


# --- runs:/ and models:/ URIs --------------------------------------------------------------------


def _listing(path: str) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), path).replace(os.sep, "/")
        for folder, _, names in os.walk(path)
        for name in names
    )


@pytest.fixture
def logged(uri: str) -> str:
    """A run with dir/a.txt and dir/sub/b.txt; returns its id."""
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "dir/a.txt")
        mlflow.log_text("world", "dir/sub/b.txt")
    return str(run.info.run_id)


@pytest.fixture
def model(client: MlflowClient, logged: str) -> str:
    """Model "m": version 1 = runs:/<id>/dir (alias champion), version 2 = runs:/<id>/dir/sub
    (Production)."""
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{logged}/dir", run_id=logged)
    client.create_model_version("m", f"runs:/{logged}/dir/sub", run_id=logged)
    client.set_registered_model_alias("m", "champion", "1")
    client.transition_model_version_stage("m", "2", "Production")
    return "m"


def test_download_artifacts_runs_uri_directory(logged: str, tmp_path: Path) -> None:
    path = genesis_flow.artifacts.download_artifacts(f"runs:/{logged}/dir", dst_path=str(tmp_path / "out"))

    assert Path(path) == tmp_path / "out" / "dir"  # as MLflow lays it out
    assert _listing(path) == ["a.txt", "sub/b.txt"]
    assert (Path(path) / "sub" / "b.txt").read_text() == "world"


def test_download_artifacts_runs_uri_file(logged: str, tmp_path: Path) -> None:
    path = genesis_flow.artifacts.download_artifacts(
        f"runs:/{logged}/dir/a.txt", dst_path=str(tmp_path / "new" / "deeper")
    )

    assert Path(path) == tmp_path / "new" / "deeper" / "a.txt"
    assert Path(path).read_text() == "hello"


def test_download_artifacts_runs_uri_without_dst_path_uses_a_new_directory(
    logged: str, tmp_path: Path
) -> None:
    first = genesis_flow.artifacts.download_artifacts(f"runs:/{logged}/dir/a.txt")
    second = genesis_flow.artifacts.download_artifacts(f"runs:/{logged}/dir/a.txt")

    assert first != second
    assert Path(first).read_text() == Path(second).read_text() == "hello"


def test_download_artifacts_run_id_and_artifact_path(logged: str, tmp_path: Path) -> None:
    path = genesis_flow.artifacts.download_artifacts(
        run_id=logged, artifact_path="dir/sub/b.txt", dst_path=str(tmp_path / "out")
    )

    assert Path(path).read_text() == "world"


def test_download_artifacts_run_root_returns_dst_path(logged: str, tmp_path: Path) -> None:
    destination = tmp_path / "out"

    path = genesis_flow.artifacts.download_artifacts(f"runs:/{logged}/", dst_path=str(destination))

    assert Path(path) == destination
    assert _listing(path) == ["dir/a.txt", "dir/sub/b.txt"]


@pytest.mark.parametrize(
    ("model_uri", "files"),
    [
        ("models:/m/1", ["a.txt", "sub/b.txt"]),
        ("models:/m@champion", ["a.txt", "sub/b.txt"]),
        ("models:/m/Production", ["b.txt"]),
        ("models:/m/production", ["b.txt"]),
        ("models:/m/latest", ["b.txt"]),
    ],
)
def test_resolve_artifact_uri_and_download_artifacts_models_uri(
    client: MlflowClient, logged: str, model: str, model_uri: str, files: list[str]
) -> None:
    run_root = client.get_run(logged).info.artifact_uri
    expected = f"{run_root}/dir" if len(files) == 2 else f"{run_root}/dir/sub"

    assert MlflowClient().resolve_artifact_uri(model_uri) == expected
    assert _listing(genesis_flow.artifacts.download_artifacts(model_uri)) == files


def test_resolve_artifact_uri_runs_uri_is_below_the_run_root(client: MlflowClient, logged: str) -> None:
    root = client.get_run(logged).info.artifact_uri

    assert client.resolve_artifact_uri(f"runs:/{logged}/dir/a.txt") == f"{root}/dir/a.txt"
    assert client.resolve_artifact_uri("/some/plain/path") == "/some/plain/path"


@pytest.mark.usefixtures("model")
def test_download_artifacts_models_uri_returns_dst_path(tmp_path: Path) -> None:
    destination = tmp_path / "model-out"

    path = genesis_flow.artifacts.download_artifacts("models:/m/1", dst_path=str(destination))

    assert Path(path) == destination
    assert (destination / "a.txt").read_text() == "hello"


@pytest.mark.usefixtures("model")
def test_download_artifacts_models_uri_with_path_downloads_that_file(tmp_path: Path) -> None:
    path = genesis_flow.artifacts.download_artifacts("models:/m/1/a.txt", dst_path=str(tmp_path / "o"))

    assert Path(path).read_text() == "hello"


@pytest.mark.usefixtures("model")
@pytest.mark.parametrize("bad", ["models:/", "runs:/", "models:/@alias", "models:"])
def test_download_artifacts_improper_uri_raises_invalid_parameter_value(
    client: MlflowClient, bad: str
) -> None:
    with pytest.raises(MlflowException) as downloading:
        genesis_flow.artifacts.download_artifacts(bad)
    with pytest.raises(MlflowException) as resolving:
        client.resolve_artifact_uri(bad)

    assert downloading.value.error_code == resolving.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Not a proper" in downloading.value.message


@pytest.mark.usefixtures("model")
def test_download_artifacts_unknown_alias_raises_invalid_parameter_value(client: MlflowClient) -> None:
    with pytest.raises(MlflowException) as caught:
        genesis_flow.artifacts.download_artifacts("models:/m@nope")

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"  # MLflow's code for an unknown alias
    assert "nope" in caught.value.message


@pytest.mark.usefixtures("model")
@pytest.mark.parametrize("model_uri", ["models:/m/Staging", "models:/empty/latest"])
def test_download_artifacts_stage_without_version_raises_internal_error(
    client: MlflowClient, model_uri: str
) -> None:
    client.create_registered_model("empty")

    with pytest.raises(MlflowException) as caught:
        genesis_flow.artifacts.download_artifacts(model_uri)

    assert caught.value.error_code == "INTERNAL_ERROR"
    assert "No versions of model with name" in caught.value.message


@pytest.mark.usefixtures("model")
@pytest.mark.parametrize(
    "missing",
    ["models:/m/7", "models:/nomodel/1", "models:/nomodel/latest", "runs:/0123456789abcdef/x"],
)
def test_download_artifacts_unknown_model_version_or_run_raises_resource_does_not_exist(missing: str) -> None:
    with pytest.raises(MlflowException) as caught:
        genesis_flow.artifacts.download_artifacts(missing)

    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_download_artifacts_missing_path_raises_resource_does_not_exist(logged: str) -> None:
    with pytest.raises(MlflowException) as caught:
        genesis_flow.artifacts.download_artifacts(f"runs:/{logged}/nope")

    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.usefixtures("logged")
@pytest.mark.parametrize(
    "arguments",
    [{}, {"artifact_uri": "runs:/x/y", "run_id": "x"}, {"artifact_uri": "runs:/x/y", "artifact_path": "y"}],
    ids=["neither", "both", "uri-with-path"],
)
def test_download_artifacts_bad_argument_combination_raises_invalid_parameter_value(
    arguments: dict[str, str],
) -> None:
    with pytest.raises(MlflowException) as caught:
        genesis_flow.artifacts.download_artifacts(**arguments)

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


# --- errors --------------------------------------------------------------------------------------

_UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c, r: c.get_run(_UNKNOWN_RUN), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c, r: c.get_experiment("424242"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c, r: c.create_run("424242"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c, r: c.log_batch(_UNKNOWN_RUN, [Metric("a", 1.0, 0, 0)]), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c, r: (c.create_experiment("x"), c.create_experiment("x")), "RESOURCE_ALREADY_EXISTS"),
        (lambda c, r: c.create_experiment("n" * 600), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.log_metric(r, "m", "abc"), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.log_metric(r, "m", None), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.log_metric(r, "k" * 300, 1.0), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.log_metric(r, "m", 1.0, step=2**70), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.log_metric(r, "m", 1.0, timestamp=-1), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.log_batch(r, params=[Param("q", "1"), Param("q", "2")]), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: (c.log_param(r, "p", 1), c.log_param(r, "p", 2)), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: (c.delete_run(r), c.log_metric(r, "m", 1.0)), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.set_terminated(r, "BOGUS"), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.search_runs(["0"], page_token="garbage"), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.search_runs(["0"], max_results=0), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.search_runs(["0"], max_results=60000), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.create_registered_model(""), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.get_model_version("nomodel", "abc"), "INVALID_PARAMETER_VALUE"),
        (lambda c, r: c.get_registered_model("nomodel"), "RESOURCE_DOES_NOT_EXIST"),
    ],
    ids=[
        "unknown-run",
        "unknown-experiment",
        "create-run-unknown-experiment",
        "log-batch-unknown-run",
        "duplicate-experiment",
        "long-experiment-name",
        "non-numeric-metric",
        "none-metric",
        "long-metric-key",
        "huge-step",
        "negative-timestamp",
        "duplicate-param-in-batch",
        "changed-param",
        "log-to-deleted-run",
        "bad-status",
        "bad-page-token",
        "zero-max-results",
        "too-many-max-results",
        "empty-model-name",
        "non-integer-version",
        "unknown-model",
    ],
)
def test_client_error_is_mlflow_exception_with_mlflow_error_code(
    client: MlflowClient, run_id: str, call: Callable[[MlflowClient, str], Any], code: str
) -> None:
    with pytest.raises(MlflowException) as caught:
        call(client, run_id)

    assert caught.value.error_code == code
    assert not isinstance(caught.value, sqlalchemy.exc.SQLAlchemyError)
    assert caught.value.__cause__ is None


def test_unreadable_sqlite_database_raises_mlflow_exception_not_a_driver_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database " * 200)

    with pytest.raises(MlflowException) as caught:
        MlflowClient(tracking_uri=f"sqlite:///{garbage}").search_experiments()

    assert caught.value.error_code == "INTERNAL_ERROR"
    assert not isinstance(caught.value, sqlalchemy.exc.SQLAlchemyError)
    assert caught.value.__cause__ is None


def test_sqlite_database_in_missing_folder_raises_invalid_parameter_value(tmp_path: Path) -> None:
    with pytest.raises(MlflowException) as caught:
        MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/no/such/folder/t.db").search_experiments()

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("bad", ["bogus://host/db", "no-scheme-at-all"])
def test_unsupported_tracking_uri_raises_invalid_parameter_value(bad: str) -> None:
    with pytest.raises(MlflowException) as caught:
        MlflowClient(tracking_uri=bad).search_experiments()

    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_copy_model_version_points_at_the_original_and_downloads_its_files(
    client: MlflowClient, logged: str, model: str, tmp_path: Path
) -> None:
    copied = client.copy_model_version("models:/m/1", "m-copy")
    assert (copied.name, copied.version, copied.source) == ("m-copy", 1, "models:/m/1")
    assert copied.run_id == logged
    original = client.resolve_artifact_uri("models:/m/1")
    assert client.resolve_artifact_uri("models:/m-copy/1") == original
    with pytest.raises(MlflowException) as caught:
        client.copy_model_version("models:/m/99", "m-copy")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("case", list(logged_model_search_cases.CASES))
def test_search_logged_models_reads_order_by_and_datasets_as_mlflow(client: MlflowClient, case: str) -> None:
    logged_model_search_cases.check(client, case, MlflowException)


@pytest.mark.parametrize("version", ["1", "99"], ids=["existing-version", "missing-version"])
@pytest.mark.parametrize("operation", ["set", "delete"])
def test_model_version_tag_without_a_key_is_refused_before_the_version_is_looked_up(
    client: MlflowClient, operation: str, version: str
) -> None:
    client.create_registered_model("tagged")
    client.create_model_version("tagged", "/tmp/model")
    with pytest.raises(MlflowException) as refused:
        if operation == "set":
            client.set_model_version_tag("tagged", version, key=None, value="v")
        else:
            client.delete_model_version_tag("tagged", version, key=None)
    # MLflow's code and words; never a tag named "None".
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Missing value for required parameter 'key'" in refused.value.message
    assert client.get_model_version("tagged", "1").tags == {}
