"""`import genesis_flow`: lazy re-exports, nothing heavy at import time."""

from __future__ import annotations

import pytest

import genesis_flow
from genesis_flow.core.errors import GenesisError


def test_names_resolve_lazily_to_their_defining_modules() -> None:
    assert genesis_flow.GenesisError is GenesisError
    assert genesis_flow.resolve_tracking_uri("memory:") == "memory:"
    assert "build_tracking_store" in dir(genesis_flow)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = genesis_flow.nope  # type: ignore[attr-defined]
