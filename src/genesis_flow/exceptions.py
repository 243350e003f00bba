"""MLflow's ``mlflow.exceptions``: ``MlflowException`` with ``error_code`` (see its docstring)."""

from genesis_flow.entrypoints.api.exceptions import MlflowException

__all__ = ["MlflowException"]
