"""Genesis-Flow: MLflow-compatible tracking and model registry on the databases you already run.

This module is the public face. Names are re-exported lazily (PEP 562 ``__getattr__``), so
``import genesis_flow`` loads no adapter and no database driver; the first use of a name imports
the module that defines it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "GenesisError": "genesis_flow.core.errors",
    "InvalidParameterValue": "genesis_flow.core.errors",
    "ResourceDoesNotExist": "genesis_flow.core.errors",
    "ResourceAlreadyExists": "genesis_flow.core.errors",
    "build_tracking_store": "genesis_flow.entrypoints.bootstrap",
    "build_registry_store": "genesis_flow.entrypoints.bootstrap",
    "resolve_tracking_uri": "genesis_flow.entrypoints.bootstrap",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'genesis_flow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
