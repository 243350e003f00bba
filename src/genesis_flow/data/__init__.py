"""Mirrors ``mlflow.data`` (mlflow 3.17.2): ``from_pandas`` and ``from_numpy`` datasets for
``log_input``, their sources, and ``get_source``.

``dataset = mlflow.data.from_pandas(df, source="https://example.com/train.csv", name="train")``
then ``mlflow.log_input(dataset, context="training")`` records the digest, schema, profile and
source MLflow records for the same DataFrame. Only re-exports; the implementation lives in
``genesis_flow.entrypoints.api.data``. Importing this package loads neither pandas nor numpy.
"""

from genesis_flow.entrypoints.api.data import (
    Dataset,
    DatasetSource,
    from_numpy,
    from_pandas,
    get_dataset_source_from_json,
    get_registered_sources,
    get_source,
)
from genesis_flow.entrypoints.api.entities import Dataset as DatasetEntity
from genesis_flow.entrypoints.api.entities import DatasetInput

__all__ = [
    "Dataset",
    "DatasetEntity",
    "DatasetInput",
    "DatasetSource",
    "from_numpy",
    "from_pandas",
    "get_dataset_source_from_json",
    "get_registered_sources",
    "get_source",
]
