"""Time and ids come into the domain through these ports, so the core stays pure.

The standard-library implementations live here too: they are two lines each, every adapter
needs them, and adapters may not import one another.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the epoch."""
        ...


@runtime_checkable
class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new globally unique id: 32 lowercase hex characters (MLflow's run-id shape)."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class UuidIdGenerator:
    def new_id(self) -> str:
        return uuid.uuid4().hex
