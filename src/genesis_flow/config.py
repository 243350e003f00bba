"""MLflow's ``mlflow.config``: tracking and registry URIs, asynchronous logging."""

from genesis_flow.entrypoints.api.config import (
    enable_async_logging,
    get_tracking_uri,
    is_tracking_uri_set,
    set_registry_uri,
    set_tracking_uri,
)
from genesis_flow.entrypoints.api.fluent import get_registry_uri

__all__ = [
    "enable_async_logging",
    "get_registry_uri",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_registry_uri",
    "set_tracking_uri",
]
