"""Mirrors ``mlflow.data.code_dataset_source``."""

from genesis_flow.entrypoints.api.data import CodeDatasetSource

__all__ = ["CodeDatasetSource"]
