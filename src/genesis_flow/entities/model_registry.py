"""Mirrors ``mlflow.entities.model_registry`` (mlflow 3.17.2): registered models, model versions,
their tags and aliases. Only re-exports; the classes live in
``genesis_flow.entrypoints.api.entities``. Prompts and Databricks deployment-job states are not
offered.
"""

from genesis_flow.entrypoints.api.entities import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)

__all__ = [
    "ModelVersion",
    "ModelVersionTag",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
]
