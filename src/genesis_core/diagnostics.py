"""What a store's database looks like from the inside: the values of the ``Diagnosable``
capability (genesis_flow.ports.diagnostics), which ``genesis doctor`` puts into words.

Plain values only: the adapter that finds them knows its database, the command line knows how to
say them, and neither has to import the other.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import TypeVar

from attrs import frozen

T = TypeVar("T")


class DatabaseKind(enum.Enum):
    """Whose data a database holds, as far as its tables or collections tell."""

    EMPTY = "empty"
    GENESIS = "genesis"
    MLFLOW = "mlflow"
    FOREIGN = "foreign"  # names like ours, no version marker of ours: another program's


@frozen
class Failed:
    """A finding that could not be made, and why (one line)."""

    reason: str


def failure_reason(error: BaseException) -> str:
    """One line saying why a step failed: a domain error's message, else the exception's type and
    text, cut to the cause."""
    message = getattr(error, "message", None)
    text = message if isinstance(message, str) else f"{type(error).__name__}: {error}"
    # pymongo appends its timeouts and topology to a selection error: the cause comes first.
    text = re.split(r" \(configured timeouts|, Timeout: |, Topology Description", text.strip())[0]
    lines = text.splitlines()
    return lines[0][:300] if lines else type(error).__name__


def attempt(find: Callable[[], T]) -> T | Failed:
    """What ``find`` finds, or why it failed: one failed finding does not stop the others."""
    try:
        return find()
    except Exception as error:
        return Failed(failure_reason(error))


@frozen
class IndexReport:
    """Indexes of ours compared with the database's, named ``collection.index``."""

    expected: int
    missing: tuple[str, ...] = ()
    different: tuple[str, ...] = ()  # same name, other keys or uniqueness
    unexpected: tuple[str, ...] = ()  # the operator's own: not an error, they only cost writes
    pending: bool = False  # no indexed collection exists yet: indexes come with the first write


@frozen
class CosmosReport:
    """The Cosmos DB policies in force (``enabled``), and whether the host is Cosmos DB's."""

    enabled: bool
    host_is_cosmos: bool
    retry_writes: bool | None = None
    retry_budget_ms: int | None = None
    budget_from_uri: bool = False


@frozen
class Probe:
    """A write, read and delete that leaves nothing behind; ``note`` says where it was made."""

    ok: bool
    note: str


@frozen
class Diagnosis:
    """One look at a store's database.

    ``versioned`` databases record their schema version (``schema_version``, None when the
    marker is missing); the others (documents) follow ``expected_schema_version`` without a
    marker. ``expected`` are the tables or collections of ours in schema order, ``present``
    every name the database has. ``indexes`` is None where the schema's own definitions make
    them (SQL); ``cosmos`` None where Cosmos DB cannot be the server.
    """

    location: str  # where, with no secret in it
    server: str | Failed  # product and version, e.g. "PostgreSQL 16.2"
    versioned: bool
    kind: DatabaseKind
    schema_version: int | None
    expected_schema_version: int
    expected: tuple[str, ...]
    present: tuple[str, ...] | Failed
    probe: Probe | Failed
    indexes: IndexReport | Failed | None = None
    cosmos: CosmosReport | Failed | None = None
