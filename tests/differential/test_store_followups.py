"""Follow-ups found by running MLflow's own store tests against our plugin: artifact locations
under roots with a query, a fragment or a relative ``file:`` form; a param value None; a logged
model named ""; registry searches with ``max_results=None``; ``delete_traces`` in an experiment id
that is no integer. MLflow's SqlAlchemyStore vs our plugin's store, on every backend."""

from __future__ import annotations

import re
from typing import Any

from mlflow.entities import Param

from tests.differential.conftest import RunCase
from tests.differential.store_sides import Side, code_of, outcome

SECRET = "SECRETSIG"
# Artifact roots as a user configures them; the SAS-like query must stay the URI's query.
ROOTS = [
    "s3://bucket/root?creds=x",
    f"wasbs://c@acct.blob.core.windows.net/root/?sv=2020&sig={SECRET}#frag",
    "file:followups/artifact-dir",
    "relative-followups/dir",
]


def _reopened(side: Side, artifact_root: str) -> Any:
    """The side's tracking store class on the same database with another artifact root, as
    ``mlflow server --default-artifact-root`` builds it."""
    store = side.tracking
    uri = getattr(store, "store_uri", None) or store.db_uri
    return type(store)(uri, artifact_root)


def _labelled(uri: str, side: Side, experiment_id: str, *ids: str) -> str:
    shown = re.sub(rf"(?<=[/:]){re.escape(experiment_id)}(?=[/?#]|$)", "<experiment>", uri)
    for value in ids:
        shown = shown.replace(value, side.label_of(value))
    return shown


def _locations(side: Side, store: Any, experiment_id: str) -> dict[str, str]:
    run = store.create_run(experiment_id, "user", 0, [], side.name("run"))
    model = store.create_logged_model(experiment_id, name=side.name("model"))
    run_id, model_id = run.info.run_id, model.model_id
    return {
        "experiment": _labelled(store.get_experiment(experiment_id).artifact_location, side, experiment_id),
        "run": _labelled(run.info.artifact_uri, side, experiment_id, run_id),
        "logged model": _labelled(model.artifact_location, side, experiment_id, model_id),
    }


def artifact_locations(side: Side) -> Any:
    observed: dict[str, Any] = {}
    for root in ROOTS:
        store = _reopened(side, root)
        observed[f"root {root}"] = _locations(side, store, store.create_experiment(side.name("exp")))
        given = side.tracking.create_experiment(side.name("exp"), artifact_location=root)
        observed[f"location {root}"] = _locations(side, side.tracking, given)
    # A '..' in the query (here percent-encoded) could be read as part of the path.
    dotted = side.tracking.create_experiment(
        side.name("exp"), artifact_location=f"s3://bucket/p?sig={SECRET}&x=%2E%2E/other"
    )
    observed["dot-dot query"] = outcome(lambda: side.tracking.create_run(dotted, "user", 0, [], "r"))
    return observed


def test_artifact_locations_join_before_the_query_and_resolve_relative_roots(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = mlflow_side(artifact_locations), plugin_side(artifact_locations)
    assert (
        theirs["root s3://bucket/root?creds=x"]["run"]
        == "s3://bucket/root/<experiment>/<id1>/artifacts?creds=x"
    )
    assert theirs["root file:followups/artifact-dir"]["experiment"].startswith("file:///")
    assert theirs["dot-dot query"]["code"] == "INVALID_PARAMETER_VALUE"
    assert ours == theirs
    assert SECRET not in ours["dot-dot query"]["message"]


def param_value_none(side: Side) -> Any:
    store = side.tracking
    run_id = store.create_run("0", "user", 0, [], side.name("run")).info.run_id
    missing: Any = None  # what Param's annotation excludes, and the store receives
    return {
        "log_param": code_of(outcome(lambda: store.log_param(run_id, Param("k", missing)))),
        "log_batch": code_of(
            outcome(lambda: store.log_batch(run_id, [], [Param("a", "1"), Param("b", missing)], []))
        ),
        "stored": store.get_run(run_id).data.params,
    }


def test_a_param_value_none_is_refused_and_nothing_is_stored(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = mlflow_side(param_value_none), plugin_side(param_value_none)
    # S-runs-3: MLflow's refusal is its NOT NULL column's IntegrityError, BAD_REQUEST.
    assert theirs["log_param"] == theirs["log_batch"] == {"error": "MlflowException", "code": "BAD_REQUEST"}
    refused = {"error": "MlflowException", "code": "INVALID_PARAMETER_VALUE"}
    assert ours == {**theirs, "log_param": refused, "log_batch": refused}
    assert ours["stored"] == {}


def logged_model_names(side: Side) -> Any:
    store = side.tracking
    return {
        "empty": outcome(lambda: store.create_logged_model("0", name="")),
        "none": outcome(lambda: store.create_logged_model("0", name=None), lambda m: bool(m.name)),
        "blank": outcome(lambda: store.create_logged_model("0", name=" "), lambda m: m.name),
    }


def test_a_logged_model_named_empty_is_refused_and_none_gets_a_name(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = mlflow_side(logged_model_names), plugin_side(logged_model_names)
    assert theirs["empty"]["code"] == "INVALID_PARAMETER_VALUE"
    assert ours == theirs


def registry_searches_without_max_results(side: Side) -> Any:
    return {
        "registered models": outcome(lambda: side.registry.search_registered_models(max_results=None)),
        "model versions": outcome(lambda: side.registry.search_model_versions(max_results=None)),
    }


def test_registry_searches_refuse_max_results_none(mlflow_side: RunCase, plugin_side: RunCase) -> None:
    theirs, ours = (
        mlflow_side(registry_searches_without_max_results),
        plugin_side(registry_searches_without_max_results),
    )
    assert theirs["model versions"]["code"] == "INVALID_PARAMETER_VALUE"
    # S-registry-2: MLflow's search_registered_models crashes on None with a bare TypeError.
    assert code_of(theirs["registered models"]) == {"error": "TypeError", "code": None}
    assert ours["registered models"] == {
        "error": "MlflowException",
        "code": "INVALID_PARAMETER_VALUE",
        "message": "Invalid value None for parameter 'max_results' supplied. It must be a positive integer",
    }
    assert ours["model versions"] == theirs["model versions"]


DELETE_FORMS: dict[str, dict[str, Any]] = {
    "by time": {"max_timestamp_millis": 1},
    "by ids": {"trace_ids": ["tr-1"]},
}


def delete_traces_in_malformed_experiments(side: Side) -> Any:
    store = side.tracking
    observed: dict[str, Any] = {}
    for call in (store.delete_traces, store._delete_traces):
        for bad in ("abc", "1.5", ""):
            for form, kwargs in DELETE_FORMS.items():
                observed[f"{call.__name__} {bad!r} {form}"] = outcome(lambda: call(bad, **kwargs))  # noqa: B023  # called at once
    return observed


def test_delete_traces_in_an_experiment_id_that_is_no_integer_is_refused(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = (
        mlflow_side(delete_traces_in_malformed_experiments),
        plugin_side(delete_traces_in_malformed_experiments),
    )
    assert theirs["_delete_traces 'abc' by time"]["code"] == "INVALID_PARAMETER_VALUE"
    assert ours == theirs
