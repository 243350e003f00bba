"""Store-level differential cases: MLflow's own SqlAlchemyStore against our plugin's stores.

A *case* is a function ``case(side) -> observation`` that calls MLflow's store interface
(``AbstractStore`` methods, as MLflow's own store tests do) on ``side.tracking`` and
``side.registry`` and returns what it saw, with nothing that depends on the store's identity (ids,
wall-clock times) unless normalised through the side's helpers. The ``mlflow_side`` fixture runs
it once per session on MLflow's stores (a SQLite database); ``plugin_side`` runs it on our
plugin's stores, built by real mlflow from a ``genesis+...`` / ``mongodb://`` URI, on every
backend of the contract suite. A test asserts the two observations are equal, or asserts a
difference that tests/differential/DIFFERENCES.md lists.

Cases share one database per side and session: they create uniquely named entities
(``side.name("prefix")``) and put back anything global they change (the Default experiment).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Side:
    """One side of a comparison: a tracking store and a registry store MLflow built for a URI."""

    case: str
    tracking: Any
    registry: Any
    workdir: Path
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _labels: dict[str, str] = field(default_factory=dict)

    def name(self, prefix: str) -> str:
        """A name no other case uses, the same on both sides (the case's name and a counter)."""
        return f"{self.case}-{prefix}-{next(self._counter)}"

    def label_of(self, value: Any, kind: str = "id") -> str:
        """A stable label for a store-assigned value (an id): ``<kind>1``, ``<kind>2``... in order
        of first appearance, so the two sides compare equal whatever ids their stores pick."""
        key = f"{kind}:{value}"
        if key not in self._labels:
            self._labels[key] = f"<{kind}{sum(k.startswith(kind + ':') for k in self._labels) + 1}>"
        return self._labels[key]


Case = Callable[[Side], Any]


def outcome(call: Callable[[], Any], then: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """``{"ok": then(result)}``, or the error a call raised: its type name, MLflow error code (None
    for a non-MLflow exception) and message, so a case can compare any of the three."""
    try:
        result = call()
    except Exception as error:  # the observation is the error, whichever it is
        return {
            "error": type(error).__name__,
            "code": getattr(error, "error_code", None),
            "message": str(getattr(error, "message", error)),
        }
    return {"ok": then(result) if then is not None else result}


def code_of(observed: dict[str, Any]) -> dict[str, Any]:
    """An outcome without the message: for cases where only the kind of answer must agree."""
    return {k: v for k, v in observed.items() if k != "message"}
