"""Genesis-Flow: MLflow-compatible tracking and model registry on the databases you already run.

This module is the public face. It re-exports lazily, so ``import genesis_flow`` loads no
database driver and no adapter.
"""

from __future__ import annotations

__version__ = "0.1.0"
