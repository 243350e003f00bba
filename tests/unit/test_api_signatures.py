"""Same names, parameters and defaults as MLflow's fluent API and MlflowClient (mlflow 3.17.2).

A new mlflow release that adds or renames a parameter shows up here as a failing test."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import pytest

import genesis_flow
from genesis_flow import MlflowClient

# Ours only, on purpose: conveniences MLflow does not offer under these names.
OUR_EXTRA_FLUENT = {"rename_experiment"}
OUR_EXTRA_CLIENT = {"store", "registry", "resolve_artifact_uri"}


def _mlflow() -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    return pytest.importorskip("mlflow", reason="compares with the dev extra's mlflow")


def parameters(function: Callable[..., Any]) -> list[tuple[str, object, str]]:
    return [
        (p.name, "<required>" if p.default is inspect.Parameter.empty else p.default, p.kind.name)
        for p in inspect.signature(function).parameters.values()
    ]


FLUENT = sorted(
    name
    for name, module in genesis_flow._LAZY.items()
    if module in (genesis_flow._FLUENT, genesis_flow._TRACING)
    and name not in OUR_EXTRA_FLUENT | {"ActiveRun"}
)


@pytest.mark.parametrize("name", FLUENT)
def test_fluent_function_has_mlflows_signature(name: str) -> None:
    mlflow = _mlflow()
    assert parameters(getattr(genesis_flow, name)) == parameters(getattr(mlflow, name))


def test_every_listed_fluent_function_of_the_issue_exists() -> None:
    wanted = [
        "set_tracking_uri",
        "get_tracking_uri",
        "set_registry_uri",
        "get_registry_uri",
        "create_experiment",
        "set_experiment",
        "get_experiment",
        "get_experiment_by_name",
        "delete_experiment",
        "restore_experiment",
        "search_experiments",
        "start_run",
        "end_run",
        "active_run",
        "last_active_run",
        "log_param",
        "log_params",
        "log_metric",
        "log_metrics",
        "set_tag",
        "set_tags",
        "delete_tag",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_table",
        "log_image",
        "log_figure",
        "log_input",
        "search_runs",
        "get_run",
        "register_model",
        "get_artifact_uri",
        "trace",
        "start_span",
        "get_trace",
        "search_traces",
        "get_last_active_trace_id",
        "update_current_trace",
        "flush_trace_async_logging",
    ]
    assert [name for name in wanted if not callable(getattr(genesis_flow, name, None))] == []


CLIENT = sorted(
    name
    for name, value in vars(MlflowClient).items()
    if not name.startswith("_") and callable(value) and name not in OUR_EXTRA_CLIENT
)


@pytest.mark.parametrize("name", CLIENT)
def test_client_method_has_mlflows_signature(name: str) -> None:
    mlflow = _mlflow()
    theirs = getattr(mlflow.MlflowClient, name, None)
    assert theirs is not None, f"MlflowClient.{name} is not an MLflow method"
    assert parameters(getattr(MlflowClient, name)) == parameters(theirs)


def test_client_constructor_has_mlflows_signature() -> None:
    mlflow = _mlflow()
    assert parameters(MlflowClient.__init__) == parameters(mlflow.MlflowClient.__init__)
