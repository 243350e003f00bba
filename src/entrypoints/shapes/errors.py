"""Domain errors leave each entrypoint as its own exception class, by one decorator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from genesis_flow.core.errors import GenesisError

P = ParamSpec("P")
R = TypeVar("R")


def translating(
    to_exception: Callable[[GenesisError], Exception],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator: a domain error raised inside leaves as ``to_exception(error)`` (the API's
    MlflowException, or mlflow's for the plugin); everything else passes unchanged."""

    def decorator(function: Callable[P, R]) -> Callable[P, R]:
        @wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return function(*args, **kwargs)
            except GenesisError as error:
                raise to_exception(error) from None

        return wrapper

    return decorator
