"""Helpers shared by the test suites."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from genesis_flow.core.errors import GenesisError


class TickingClock:
    """A deterministic clock: every reading is 1 ms after the previous one.

    Distinct, increasing times make ordering by creation time testable without sleeping.
    Set ``now`` to jump.
    """

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            self.now += 1
            return self.now


class SteppedClock:
    """One reading per step of a state machine: ``now_ms`` returns the same time until the
    machine moves ``now``, so two stores compared side by side see the same times however often
    they read the clock."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def now_ms(self) -> int:
        return self.now


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """("ok", value) or ("error", error_code): compares behaviour across backends."""
    try:
        return ("ok", fn(*args, **kwargs))
    except GenesisError as exc:
        return ("error", exc.error_code)
