"""Mirrors ``mlflow.data.dataset_source``."""

from genesis_flow.entrypoints.api.data import DatasetSource

__all__ = ["DatasetSource"]
