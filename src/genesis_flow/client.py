"""MLflow's ``mlflow.client``: ``MlflowClient``."""

from genesis_flow.entrypoints.api.client import MlflowClient

__all__ = ["MlflowClient"]
