"""MLflow's ``mlflow.artifacts``: download what a ``runs:/``, ``models:/`` or storage URI names."""

from __future__ import annotations

from genesis_flow.entrypoints.api.artifacts import download_artifacts, list_artifacts, load_dict, load_text

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_text"]
