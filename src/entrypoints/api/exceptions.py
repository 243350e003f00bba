"""MLflow's exception, without MLflow.

Every error the MLflow-compatible API raises is a :class:`MlflowException` carrying MLflow's
error-code name (``exc.error_code == "RESOURCE_DOES_NOT_EXIST"``). Code written for MLflow catches
``mlflow.exceptions.MlflowException``; importing mlflow just to subclass it would cost more than a
second and about 200 MiB on every ``import genesis_flow``. So the decision is taken per raise:
when ``mlflow.exceptions`` is already in ``sys.modules`` (the user imported mlflow anyway), the
raised exception is of a class that derives from both ours and mlflow's, and both ``except``
clauses work. We never import mlflow ourselves.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

from genesis_flow.core.errors import GenesisError
from genesis_flow.core.redaction import redact_text
from genesis_flow.entrypoints.shapes import translating

INTERNAL_ERROR = "INTERNAL_ERROR"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
BAD_REQUEST = "BAD_REQUEST"

# MLflow's ERROR_CODE_TO_HTTP_STATUS for the codes we raise (the plugin's REST answers use it).
_HTTP_STATUS = {
    "INTERNAL_ERROR": 500,
    "INVALID_STATE": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400,
}


class MlflowException(Exception):
    """MLflow's generic exception: ``message``, ``error_code`` (the code's name, a string) and
    ``json_kwargs``; same constructor (``error_code`` also accepts MLflow's integer proto codes
    when mlflow is loaded) and the same helpers."""

    error_code: str
    message: str

    def __init__(
        self,
        message: object,
        error_code: str | int = 1,  # MLflow's proto number of INTERNAL_ERROR
        sqlstate: str | None = None,
        error_class: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.error_code = _code_name(error_code)
        self.message = str(message)
        # Databricks' SQL error fields, kept as given (MLflow derives them from tables we lack).
        self.sqlstate = sqlstate
        self.error_class = error_class
        self.json_kwargs = kwargs
        super().__init__(self.message)

    def serialize_as_json(self) -> str:
        return json.dumps({"error_code": self.error_code, "message": self.message, **self.json_kwargs})

    def get_http_status_code(self) -> int:
        return _HTTP_STATUS.get(self.error_code, 500)

    @classmethod
    def invalid_parameter_value(cls, message: str, **kwargs: Any) -> MlflowException:
        return cls(message, error_code=INVALID_PARAMETER_VALUE, **kwargs)


def _code_name(error_code: str | int) -> str:
    if isinstance(error_code, str):
        return error_code
    protos = sys.modules.get("mlflow.protos.databricks_pb2")
    if protos is not None:
        try:
            return str(protos.ErrorCode.Name(error_code))
        except (ValueError, TypeError):
            pass
    return INTERNAL_ERROR


_dual_lock = threading.Lock()
_dual: dict[type, type[MlflowException]] = {}


def _exception_class() -> type[MlflowException]:
    """Ours, or (mlflow loaded) a class deriving from ours and mlflow's MlflowException."""
    module = sys.modules.get("mlflow.exceptions")
    theirs = getattr(module, "MlflowException", None) if module is not None else None
    if theirs is None:
        return MlflowException
    with _dual_lock:
        cls = _dual.get(theirs)
        if cls is None:
            cls = _make_dual(theirs)
            _dual[theirs] = cls
        return cls


def _make_dual(theirs: type) -> type[MlflowException]:
    protos = sys.modules.get("mlflow.protos.databricks_pb2")

    def __init__(self: Any, message: object, error_code: str | int = INTERNAL_ERROR, **kwargs: Any) -> None:
        name = _code_name(error_code)
        value: Any = name
        if protos is not None:
            try:
                value = protos.ErrorCode.Value(name)
            except ValueError:
                value = protos.ErrorCode.Value(INTERNAL_ERROR)
        # mlflow's initializer sets error_code (as the name), message, json_kwargs and its own
        # extras (sqlstate, error_class), so mlflow code reading them finds what it expects.
        theirs.__init__(self, message, error_code=value, **kwargs)  # type: ignore[misc]
        self.error_code = name

    # Same visible name and module as ours: tracebacks read genesis_flow.exceptions.MlflowException.
    return type(
        "MlflowException",
        (MlflowException, theirs),
        {"__init__": __init__, "__module__": "genesis_flow.exceptions", "__doc__": MlflowException.__doc__},
    )


def mlflow_exception(message: str, error_code: str = INTERNAL_ERROR) -> MlflowException:
    """A new exception of the class callers can catch (see the module docstring). Its message
    is redacted: every URI or connection string in it loses its secrets, whoever wrote it."""
    return _exception_class()(redact_text(message), error_code=error_code)


def translate(error: GenesisError) -> MlflowException:
    """The MlflowException for a domain error: same message, the domain error's code."""
    exc = mlflow_exception(error.message, error.error_code)
    exc.__cause__ = None
    exc.genesis_error = error  # type: ignore[attr-defined]
    return exc


class RedactingFilter(logging.Filter):
    """Our log records lose the secrets of any URI they quote (an error's text, a location)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return True
        shown = redact_text(message)
        if shown != message:
            record.msg, record.args = shown, None
        return True


# The API's modules log on "genesis_flow" itself; a logger's filters do not apply to its children.
logging.getLogger("genesis_flow").addFilter(RedactingFilter())


# Decorator for the public API: domain errors leave as MlflowException, nothing else changes.
translated = translating(translate)
