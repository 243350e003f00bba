"""MLflow's ``mlflow.tracking``: ``MlflowClient`` and the tracking-URI functions."""

from genesis_flow.entrypoints.api.client import MlflowClient
from genesis_flow.entrypoints.api.config import get_tracking_uri, is_tracking_uri_set, set_tracking_uri
from genesis_flow.entrypoints.api.fluent import get_registry_uri, set_registry_uri

__all__ = [
    "MlflowClient",
    "get_registry_uri",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_registry_uri",
    "set_tracking_uri",
]
