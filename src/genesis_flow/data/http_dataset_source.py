"""Mirrors ``mlflow.data.http_dataset_source``."""

from genesis_flow.entrypoints.api.data import HTTPDatasetSource

__all__ = ["HTTPDatasetSource"]
