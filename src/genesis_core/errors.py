"""One error hierarchy for the whole product.

Every class carries the name of MLflow's error code, so an entry point can translate any
:class:`GenesisError` into MLflow's ``MlflowException(error_code=...)`` in one place. Raise the
most specific class; catch the family (``except ResourceDoesNotExist``).
"""

from __future__ import annotations

from typing import ClassVar


class GenesisError(Exception):
    """Base of every error the domain, ports and adapters raise on purpose."""

    error_code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InternalError(GenesisError):
    error_code = "INTERNAL_ERROR"


class InvalidParameterValue(GenesisError):
    """Bad input: a name, value, filter, limit or state transition the rules do not allow."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidState(GenesisError):
    error_code = "INVALID_STATE"


class ResourceDoesNotExist(GenesisError):
    error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExists(GenesisError):
    error_code = "RESOURCE_ALREADY_EXISTS"


class RequestLimitExceeded(GenesisError):
    """The backing service throttled us beyond the retry budget (e.g. Cosmos DB error 16500)."""

    error_code = "REQUEST_LIMIT_EXCEEDED"


class TemporarilyUnavailable(GenesisError):
    """The backing service cannot be reached; the operation may succeed later."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class NotSupported(GenesisError):
    """The store does not offer this capability (e.g. tracing before it lands)."""

    error_code = "NOT_IMPLEMENTED"


# Specific errors: raise these, catch the families above.
class ExperimentNotFound(ResourceDoesNotExist):
    pass


class RunNotFound(ResourceDoesNotExist):
    pass


class RegisteredModelNotFound(ResourceDoesNotExist):
    pass


class ModelVersionNotFound(ResourceDoesNotExist):
    pass


class LoggedModelNotFound(ResourceDoesNotExist):
    pass


class ExperimentAlreadyExists(ResourceAlreadyExists):
    pass


class RegisteredModelAlreadyExists(ResourceAlreadyExists):
    pass


ERROR_CLASSES_BY_CODE: dict[str, type[GenesisError]] = {
    cls.error_code: cls
    for cls in (
        InternalError,
        InvalidParameterValue,
        InvalidState,
        ResourceDoesNotExist,
        ResourceAlreadyExists,
        RequestLimitExceeded,
        TemporarilyUnavailable,
        NotSupported,
    )
}


class TraceNotFound(ResourceDoesNotExist):
    pass
