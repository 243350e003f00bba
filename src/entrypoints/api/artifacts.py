"""MLflow's ``mlflow.artifacts`` functions on our stores (``runs:/`` and ``models:/`` resolve)."""

from __future__ import annotations

import json
from typing import Any

from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.entrypoints.api import config
from genesis_flow.entrypoints.api import entities as E
from genesis_flow.entrypoints.api.client import MlflowClient
from genesis_flow.entrypoints.api.exceptions import translated


def _client(tracking_uri: str | None) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri)


def _uri(artifact_uri: str | None, run_id: str | None, artifact_path: str | None) -> str:
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameterValue("Exactly one of `artifact_uri` or `run_id` must be specified.")
    if artifact_uri is not None:
        if artifact_path is not None:
            raise InvalidParameterValue("`artifact_path` cannot be specified if `artifact_uri` is specified.")
        return artifact_uri
    return f"runs:/{run_id}/{artifact_path or ''}"


@translated
def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download a file or directory named by ``artifact_uri`` (``runs:/``, ``models:/``, a local
    or blob URI) or by ``run_id`` + ``artifact_path``; returns its local path. A whole run or
    registered model lands directly in ``dst_path`` (a new temporary directory by default; a
    model gets MLflow's ``registered_model_meta`` file), anything else as ``dst_path/<name>``.
    INVALID_PARAMETER_VALUE unless exactly one of ``artifact_uri`` and ``run_id`` is given;
    RESOURCE_DOES_NOT_EXIST when nothing is there."""
    return _client(tracking_uri)._download(_uri(artifact_uri, run_id, artifact_path), dst_path)


@translated
def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[E.FileInfo]:
    """The entries directly below the location, ordered by path; paths relative to the run's
    (or model's) root, as MLflow gives them."""
    return _client(tracking_uri)._list(_uri(artifact_uri, run_id, artifact_path))


@translated
def load_text(artifact_uri: str) -> str:
    """The UTF-8 text of one artifact file."""
    where = _client(None)._location(artifact_uri)
    with config.artifact_store(where.root).open_artifact(where.path) as stream:
        return bytes(stream.read()).decode("utf-8")


@translated
def load_dict(artifact_uri: str) -> Any:
    """A JSON or YAML artifact file parsed."""
    text = load_text(artifact_uri)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        import yaml  # type: ignore[import-untyped]  # a base dependency, imported when first needed

        return yaml.safe_load(text)
