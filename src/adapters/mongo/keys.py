"""User keys as MongoDB field names.

Params, tags and metrics are stored as subdocuments keyed by the user's key (``p.<key>``), so one
indexed query can filter and sort on them. A key must then never act as a path (``a.b`` would
address ``{"a": {"b": ...}}``) or an operator (``$gt``): :func:`encode` percent-encodes ``%``,
``.`` and ``$`` (and NUL, which BSON cannot hold in a name). Every other character, spaces and
non-ASCII letters included, is a valid field-name character and stays as it is, so the stored
documents stay readable. Encoding is injective, so distinct keys never share a field.
"""

from __future__ import annotations

_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24", "\x00": "%00"}
_REVERSE = {code: char for char, code in _ESCAPES.items()}
# The empty key, which MLflow's searches accept (``params.`` followed by empty backticks): an
# empty field name would end a path with a dot, which MongoDB refuses in sorts and expressions.
# A lone ``%`` is no other key's encoding (``%`` is always escaped).
_EMPTY = "%"


def encode(key: str) -> str:
    """``key`` as a field name: no ``.``, ``$`` or NUL; ``%`` escaped so decoding is exact."""
    if not key:
        return _EMPTY
    if not any(c in key for c in _ESCAPES):
        return key
    return "".join(_ESCAPES.get(c, c) for c in key)


def decode(field: str) -> str:
    """The key :func:`encode` turned into ``field``."""
    if "%" not in field:
        return field
    if field == _EMPTY:
        return ""
    out: list[str] = []
    i = 0
    while i < len(field):
        code = field[i : i + 3]
        if field[i] == "%" and code in _REVERSE:
            out.append(_REVERSE[code])
            i += 3
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def path(prefix: str, key: str, *rest: str) -> str:
    """The dotted path of ``key`` under ``prefix`` (``p``, ``t``, ``m`` ...), then ``rest``."""
    return ".".join((prefix, encode(key), *rest))


def decode_map(values: dict[str, str] | None) -> dict[str, str]:
    return {decode(k): val for k, val in (values or {}).items()}
