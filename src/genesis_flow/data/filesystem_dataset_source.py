"""Mirrors ``mlflow.data.filesystem_dataset_source``."""

from genesis_flow.entrypoints.api.data import FileSystemDatasetSource

__all__ = ["FileSystemDatasetSource"]
