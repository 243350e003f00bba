"""Mirrors ``mlflow.data.pandas_dataset``."""

from genesis_flow.entrypoints.api.data import PandasDataset, from_pandas

__all__ = ["PandasDataset", "from_pandas"]
