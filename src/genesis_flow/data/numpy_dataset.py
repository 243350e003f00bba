"""Mirrors ``mlflow.data.numpy_dataset``."""

from genesis_flow.entrypoints.api.data import NumpyDataset, from_numpy

__all__ = ["NumpyDataset", "from_numpy"]
