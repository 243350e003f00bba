"""Mirrors ``mlflow.data.dataset``."""

from genesis_flow.entrypoints.api.data import Dataset

__all__ = ["Dataset"]
