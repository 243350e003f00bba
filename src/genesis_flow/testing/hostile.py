"""Hostile inputs shared by the fuzz tests (client, CLI, ``mlflow server``): one vocabulary, drawn
from a seeded :class:`random.Random`, so a failure is reproduced by its seed and printed call.

What an attacker or a careless caller sends: keys and values with ``$``, dots, NUL and lone
surrogates, very long text, numbers beyond 64 bits, NaN and infinities, float and numpy numbers
where integers belong, token soup in filters (grammar words mixed with garbage, unbalanced quotes,
1000 clauses), junk ``order_by`` entries, forged page tokens and malformed ids.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from genesis_flow.core.search import paging
from genesis_flow.core.search.ast import SearchKind

T = TypeVar("T")
NAN, INF = float("nan"), float("inf")

TEXTS: tuple[str, ...] = (
    "$",
    "$where",
    "$a.$b",
    "a.b",
    "a..b",
    ".a",
    "a.",
    "a\x00b",
    "\x00",
    "x\ud800",
    "\udfff",
    "a b",
    "",
    " ",
    "é",
    "\U0001f4a5",
    "'",
    '"',
    "`",
    "\\",
    "%",
    "_",
    "a/b",
    "../x",
    "tags.x",
    '{"$gt": 1}',
    "NULL",
    "a'b",
    "\n",
    "ok",
    "k1",
)
# What drivers and encoders choke on (and 8001 characters, past every value limit).
DANGEROUS_TEXTS: tuple[str, ...] = (
    "x\ud800",
    "\udfff",
    "a\x00b",
    "$where",
    "a.b",
    "$a.$b",
    "\U0001f4a5",
    "",
    "'",
    "k" * 8001,
)
LONG_LENGTHS = (250, 251, 500, 1000, 5000, 6001, 8001, 70_000)
BIG_INTS: tuple[int, ...] = (2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 + 5, 10**30, 10**400)
METRIC_VALUES: tuple[Any, ...] = (
    0.5,
    -1,
    NAN,
    INF,
    -INF,
    1e308,
    2**53 + 1,
    np.float32(1.5),
    np.float64(2.5),
    np.int64(3),
    True,
    "3.5",
    "abc",
    None,
    *BIG_INTS,
)
# No None: the client stamps it with the wall clock, which differs between the compared stores.
TIMESTAMPS: tuple[Any, ...] = (
    1,
    -1,
    1e15,
    1.5,
    NAN,
    np.int64(1_700_000_000_000),
    np.float64(1e12),
    "5",
    *BIG_INTS,
)
STEPS: tuple[Any, ...] = (0, -1, 1.0, 1.5, np.int64(3), np.int32(2), True, INF, "3", *BIG_INTS)
MAX_RESULTS: tuple[Any, ...] = (0, -1, 1, 2, 50_001, 2**31, 1.5, "5", True, np.int64(2), 2**63, 10**400)
RUN_IDS: tuple[str, ...] = (
    "",
    "0",
    "x" * 32,
    "../etc",
    "a b",
    "$ne",
    "a\x00b",
    "x\ud800",
    "0" * 300,
    "f" * 32,
    "9223372036854775808",
)
EXPERIMENT_IDS: tuple[str, ...] = (
    "",
    "-1",
    "1.5",
    "abc",
    "$gt",
    "9223372036854775808",
    "1" * 400,
    "a\x00b",
    "x\ud800",
    "0x10",
    " 0",
)
VERSIONS: tuple[Any, ...] = ("", "0", "-1", "1.5", "abc", "latest", "9223372036854775808", 10**400, 1.0, None)

_GRAMMAR_KEYS: dict[SearchKind, tuple[str, ...]] = {
    SearchKind.RUNS: (
        "metrics.m",
        "metrics.`a b`",
        "params.p",
        "params.``",
        "tags.t",
        'tags."x"',
        "attributes.start_time",
        "attribute.status",
        "run_name",
        "attributes.run_id",
        "datasets.name",
        "metrics.",
    ),
    SearchKind.EXPERIMENTS: (
        "name",
        "tags.t",
        "tags.``",
        "creation_time",
        "last_update_time",
        "attributes.name",
    ),
    SearchKind.REGISTERED_MODELS: ("name", "tags.t", "tags.``", "attributes.name", "version_number"),
    SearchKind.MODEL_VERSIONS: ("name", "version_number", "run_id", "source_path", "tags.t", "tags.``"),
    SearchKind.TRACES: ("trace.status", "tags.t", "metadata.m", "attributes.timestamp_ms", "span.name"),
}
# Well-formed filters with hostile values, so a search gets past the parser to the database.
PLAIN_FILTERS: dict[SearchKind, tuple[str, ...]] = {
    SearchKind.RUNS: (
        "params.p = 'a'",
        "metrics.m > 0",
        "tags.t LIKE '%x%'",
        "attributes.start_time > 9223372036854775808",
        "metrics.m < 1e400",
        "run_name = 'x\ud800'",
        "params.`$a.b` = 'a\x00b'",
    ),
    SearchKind.EXPERIMENTS: ("name LIKE 'f%'", "creation_time > 9223372036854775808", "tags.t = 'x\ud800'"),
    SearchKind.REGISTERED_MODELS: ("name LIKE 'fz%'", "tags.t = 'a\x00b'", "name = 'x\ud800'"),
    SearchKind.MODEL_VERSIONS: ("name = 'fzm'", "version_number > 9223372036854775808", "run_id = 'x\ud800'"),
    SearchKind.TRACES: (
        "trace.status = 'OK'",
        "attributes.timestamp_ms > 9223372036854775808",
        "tags.t = 'x\ud800'",
    ),
}
_ORDER_KEYS: dict[SearchKind, tuple[str, ...]] = {
    SearchKind.RUNS: ("metrics.m", "params.p", "tags.t", "attributes.start_time", "run_name", "status"),
    SearchKind.EXPERIMENTS: ("name", "creation_time", "last_update_time", "experiment_id"),
    SearchKind.REGISTERED_MODELS: ("name", "last_updated_timestamp", "creation_timestamp"),
    SearchKind.MODEL_VERSIONS: ("version_number", "name", "creation_timestamp", "last_updated_timestamp"),
    SearchKind.TRACES: ("timestamp_ms", "execution_time_ms", "status"),
}
_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")
_SOUP = (
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "IN",
    "(",
    ")",
    ",",
    "=",
    "==",
    "<>",
    "'a'",
    "'x\ud800'",
    "1",
    "-1.5e3",
    "9223372036854775808",
    "1e400",
    "nan",
    "'",
    '"',
    "`",
    "$",
    "%",
    "\x00",
    "\u221e",
    "``",
    ";",
    "--",
    "/*",
)
_LITERALS = (
    "'a'",
    "'%'",
    "''",
    "'x\ud800'",
    "'a\x00b'",
    "'$gt'",
    "0",
    "-1",
    "1.5",
    "1e308",
    "1e400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "('a', 'b')",
    "()",
    "('x\ud800')",
)
JUNK_ORDER = (
    "``",
    "params.``",
    "metrics.``",
    "tags.``",
    "attributes.``",
    "unknown_attribute",
    "attributes.nope",
    "metrics.m ASCENDING",
    "params.`a b` DESC",
    "",
    " ",
    "DESC",
    "x\ud800",
    "params.x\ud800",
    "metrics.",
    "name ASC ASC",
    "tags.`$a.b`",
    "params.a\x00b",
    "`",
    "metrics.m DESC, params.p",
)


def checksummed_token(offset: Any, fingerprint: str) -> str:
    """A token with a valid checksum for any offset, as anyone who reads the (public) format can
    make one: the checksum catches corruption, it is not a secret."""
    payload = {"c": paging._checksum(offset, fingerprint), "o": offset, "q": fingerprint}
    return paging._encode(payload)


class Hostile:
    """Draws hostile inputs from one seeded generator."""

    def __init__(self, seed: int | str) -> None:
        self.rng = random.Random(seed)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def text(self) -> str:
        """A key or value: a short hostile string, a long one, or two glued together."""
        roll = self.rng.random()
        if roll < 0.25:
            return self.choice(DANGEROUS_TEXTS)
        if roll < 0.4:
            return self.choice(("k", "$", "\ud800", "o"))[0] * self.choice(LONG_LENGTHS)
        if roll < 0.55:
            return str(self.choice(TEXTS)) + str(self.choice(TEXTS))
        return str(self.choice(TEXTS))

    def key(self) -> str:
        """A key: mostly one MLflow accepts (with dots, spaces, slashes), sometimes hostile."""
        if self.chance(0.7):
            return self.choice(("k", "a.b", "a b", "a/b", "m.x.y", "a-b_c", "k" * 250))
        return self.text()

    def maybe(self, pool: Sequence[Any], normal: Any, p: float = 0.3) -> Any:
        """A hostile value from ``pool`` with probability ``p``, else ``normal``: one hostile
        field at a time gets past the others' validation to the store."""
        return self.choice(pool) if self.chance(p) else normal

    def name(self) -> str:
        """A name (experiment, run, model): mostly plain, sometimes hostile."""
        return self.text() if self.chance(0.7) else f"n{self.rng.randrange(4)}"

    def filter(self, kind: SearchKind) -> str:
        """Junk or well-formed-but-hostile filter text for ``kind``."""
        roll = self.rng.random()
        keys = _GRAMMAR_KEYS[kind]
        if roll < 0.15:
            return ""
        if roll < 0.35:
            return str(self.choice(PLAIN_FILTERS[kind]))
        if roll < 0.5:  # token soup
            vocabulary = (*keys, *_SOUP, *_OPERATORS)
            return " ".join(self.choice(vocabulary) for _ in range(self.rng.randrange(1, 12)))
        if roll < 0.62:  # many clauses, on one key or on many
            count = self.choice((50, 200, 1000))
            if self.chance(0.5):
                return " AND ".join([f"{self.choice(keys)} = 'a'"] * count)
            return " AND ".join(f"params.k{i} = '{i}'" for i in range(count))
        if roll < 0.7:  # an unbalanced quote or bracket
            return self.choice((f"{keys[0]} = 'a", f'{keys[0]} = "a', f"({keys[0]} = 'a'", "`", "'"))
        clauses = [
            f"{self.choice(keys)} {self.choice(_OPERATORS)} {self.choice(_LITERALS)}"
            for _ in range(self.rng.randrange(1, 4))
        ]
        return " AND ".join(clauses)

    def order_by(self, kind: SearchKind) -> list[str] | None:
        if self.chance(0.15):
            return None
        valid = (*_ORDER_KEYS[kind], *(f"{k} DESC" for k in _ORDER_KEYS[kind]))
        entries = [self.choice(valid) for _ in range(self.rng.randrange(0, 3))]
        entries.insert(self.rng.randrange(len(entries) + 1), self.choice(JUNK_ORDER))
        return entries

    def max_results(self) -> Any:
        return self.choice(MAX_RESULTS)

    def forged_token(self, real: str | None = None) -> str:
        """A page token an attacker could send: garbage, well-formed JSON with a huge or negative
        offset, a wrong fingerprint, or (given a real token) the real one edited."""
        payload: dict[str, Any] | None = None
        if real:
            try:
                payload = json.loads(base64.urlsafe_b64decode(real.encode("ascii")))
            except ValueError:
                payload = None
        fingerprint = (
            payload["q"] if isinstance(payload, dict) and isinstance(payload.get("q"), str) else "0" * 32
        )
        roll = self.rng.randrange(9)
        if roll == 0:
            return self.choice(("garbage", "%%%", "\x00", "x\ud800", "e30=", "bnVsbA==", "W10="))
        if roll == 1:  # well-formed, checksummed: a huge or negative offset
            return checksummed_token(self.choice((*BIG_INTS[1:], -1)), fingerprint)
        if roll == 2:  # checksummed, for another query
            return checksummed_token(1, "f" * 32)
        if roll == 3:  # plausible JSON, no valid checksum
            offset = self.choice((-1, 2**63, 10**400, 1.5, "1", None))
            blob = json.dumps({"c": "0" * 16, "o": offset, "q": fingerprint}).encode()
            return base64.urlsafe_b64encode(blob).decode()
        if roll == 4:  # MLflow's own token shape
            return base64.b64encode(json.dumps({"offset": self.choice((1, -1, 2**63))}).encode()).decode()
        if real and roll == 5:
            return real[: len(real) // 2]
        if real and roll == 6:
            middle = len(real) // 2
            return real[:middle] + ("A" if real[middle] != "A" else "B") + real[middle + 1 :]
        if real and roll == 7:
            return real
        return checksummed_token(self.choice((10**6, 2**62)), fingerprint)
