"""Result limits and opaque page tokens.

A page token carries the offset of the next page and a fingerprint of the query it belongs to,
plus a checksum over both. There is no per-process secret: every server process computes the same
fingerprint for the same query, so any of them accepts a token another issued. The checksum is not
security (anyone can compute it); it turns a corrupted or hand-edited token into a clear
:class:`InvalidParameterValue` instead of a silently wrong page, and the fingerprint does the same
for a token replayed against a different query.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import attrs

from genesis_flow.core.entities import Page
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search.ast import SearchKind

E = TypeVar("E")

DEFAULT_MAX_RESULTS: Mapping[SearchKind, int] = {
    SearchKind.RUNS: 1000,
    SearchKind.EXPERIMENTS: 1000,
    SearchKind.REGISTERED_MODELS: 100,
    SearchKind.MODEL_VERSIONS: 10_000,
    SearchKind.LOGGED_MODELS: 100,
    SearchKind.TRACES: 100,
}
"""MLflow's default ``max_results`` per search."""

MAX_MAX_RESULTS: Mapping[SearchKind, int] = {
    SearchKind.RUNS: 50_000,
    SearchKind.EXPERIMENTS: 50_000,
    SearchKind.REGISTERED_MODELS: 1000,
    SearchKind.MODEL_VERSIONS: 200_000,
    # MLflow sets no ceiling for logged models; we use the tracking searches' one.
    SearchKind.LOGGED_MODELS: 50_000,
    SearchKind.TRACES: 50_000,
}
"""The largest ``max_results`` each search accepts."""

MAX_PAGE_OFFSET = 2**62
"""The largest offset a page token may carry. No search has that many results, and an offset
plus a page size must still fit the 64-bit integers every database binds (a forged token with
offset 2**63 would otherwise reach the driver as an OverflowError)."""


def _not_positive(kind: SearchKind, value: object) -> InvalidParameterValue:
    if kind is SearchKind.MODEL_VERSIONS:
        return InvalidParameterValue(
            f"Invalid value for max_results. It must be a positive integer, but got {value}"
        )
    shown = repr(value) if isinstance(value, str) else value
    return InvalidParameterValue(
        f"Invalid value {shown} for parameter 'max_results' supplied. It must be a positive integer"
    )


def _too_large(kind: SearchKind, value: object, limit: int) -> InvalidParameterValue:
    if kind in (SearchKind.REGISTERED_MODELS, SearchKind.MODEL_VERSIONS):
        return InvalidParameterValue(
            "Invalid value for request parameter max_results. It must be at most "
            f"{limit}, but got value {value}"
        )
    return InvalidParameterValue(
        f"Invalid value {value} for parameter 'max_results' supplied. It must be at most {limit}"
    )


def require_max_results(kind: SearchKind, value: int | None) -> None:
    """Refuse ``value`` None, for entry points standing where MLflow's SQL store stands: it has
    no default page size for experiments, traces, registered models and model versions (the
    ports' None means the default page).

    Raises:
        InvalidParameterValue: ``value`` is None, worded as :func:`resolve_max_results` words a
            ``value`` below 1.
    """
    if value is None:
        raise _not_positive(kind, value)


def resolve_max_results(kind: SearchKind, value: int | None) -> int:
    """The page size to use: ``value``, or the kind's default when ``value`` is None.

    Logged models, as in MLflow, also take 0 to mean the default.

    Raises:
        InvalidParameterValue: ``value`` is not an integer, is below 1, or exceeds
            ``MAX_MAX_RESULTS[kind]``; the message follows MLflow's for that search.
    """
    if value is None:
        return DEFAULT_MAX_RESULTS[kind]
    raw: object = value  # callers outside the type checker pass floats and strings too
    limit = MAX_MAX_RESULTS[kind]
    integer = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    # MLflow's model-version search asks for a positive integer first; its other searches look at
    # the ceiling first, so there an over-large float (1e15) is "too large", in their words.
    if kind is SearchKind.MODEL_VERSIONS and (integer is None or integer < 1):
        raise _not_positive(kind, raw)
    if (integer is not None and integer > limit) or (isinstance(raw, float) and raw > limit):
        raise _too_large(kind, raw, limit)
    if integer is None or integer < 0 or (integer == 0 and kind is not SearchKind.LOGGED_MODELS):
        raise _not_positive(kind, raw)
    return integer or DEFAULT_MAX_RESULTS[kind]


# --- fingerprints ---------------------------------------------------------------------------------


def _canonical(obj: Any) -> Any:
    """A JSON-able form of ``obj`` that is the same in every process.

    ``repr`` alone is not enough: a set of strings prints in hash order, which Python randomizes
    per process. attrs classes, enums, mappings and sets are spelled out explicitly.
    """
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return ["float", repr(obj)]  # repr keeps nan/inf and -0.0 apart, unlike JSON
    if isinstance(obj, enum.Enum):
        return ["enum", type(obj).__qualname__, obj.name]
    if attrs.has(type(obj)):
        fields = attrs.fields(type(obj))
        return ["attrs", type(obj).__qualname__, [[f.name, _canonical(getattr(obj, f.name))] for f in fields]]
    if isinstance(obj, Mapping):
        items = [[_canonical(k), _canonical(v)] for k, v in obj.items()]
        return ["map", sorted(items, key=lambda kv: json.dumps(kv, sort_keys=True))]
    if isinstance(obj, (set, frozenset)):
        return ["set", sorted((_canonical(x) for x in obj), key=lambda x: json.dumps(x, sort_keys=True))]
    if isinstance(obj, (tuple, list)):
        return ["seq", [_canonical(x) for x in obj]]
    if isinstance(obj, bytes):
        return ["bytes", obj.hex()]
    return ["repr", type(obj).__qualname__, repr(obj)]


def query_fingerprint(*parts: object) -> str:
    """A stable hash of a query's parts (kind, filter, order_by, experiment ids, view type...).

    Equal parts give equal fingerprints in every process and on every machine (no ``hash()``,
    whose string hashing is randomized per process).
    """
    blob = json.dumps(_canonical(parts), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()[:32]


_SCOPE_CHARS = 16


def scoped_fingerprint(scope: object, *parts: object) -> str:
    """:func:`query_fingerprint` of ``scope`` and ``parts`` whose first characters depend on
    ``scope`` alone, so :func:`decode_page_token` can tell a token replayed in another scope
    (other experiments) from one replayed with another filter or order."""
    return query_fingerprint(scope)[:_SCOPE_CHARS] + query_fingerprint(scope, *parts)[_SCOPE_CHARS:]


# --- page tokens ----------------------------------------------------------------------------------


def _checksum(offset: int, fingerprint: str) -> str:
    text = f"genesis-page-token:{offset}:{fingerprint}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _encode(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(blob).decode("ascii")


def encode_page_token(offset: int, fingerprint: str) -> str:
    """An opaque token for the page starting at ``offset`` of the query ``fingerprint``."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_PAGE_OFFSET:
        raise InvalidParameterValue(f"Invalid page offset {offset!r}")
    return _encode({"c": _checksum(offset, fingerprint), "o": offset, "q": fingerprint})


def _invalid(why: str) -> InvalidParameterValue:
    # The token is not quoted: it can be long, and MLflow does not quote it either.
    return InvalidParameterValue(f"Invalid page token: {why}")


def decode_page_token(token: str | None, fingerprint: str, scope_changed: str | None = None) -> int:
    """The offset a token from :func:`encode_page_token` carries; None or "" means 0.

    Raises:
        InvalidParameterValue: the token is not one of ours (bad base64 or JSON, missing or
            extra fields, a negative or non-integer offset, a wrong checksum: a flipped
            character or an edited offset), or it belongs to a different query; with the
            message ``scope_changed`` when ``fingerprint`` is a :func:`scoped_fingerprint` and
            the token's scope differs.
    """
    if token is None or token == "":
        return 0
    if not isinstance(token, str):
        raise _invalid("expected a string")
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
    except (UnicodeError, binascii.Error, ValueError):
        # MLflow's words, which its store tests and users match on.
        raise InvalidParameterValue("Invalid page token, could not base64-decode") from None
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeError, ValueError, RecursionError):
        raise _invalid("could not decode it") from None
    if not isinstance(payload, dict) or set(payload) != {"c", "o", "q"}:
        raise _invalid("unexpected content")
    offset, query, checksum = payload["o"], payload["q"], payload["c"]
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_PAGE_OFFSET:
        raise _invalid("bad offset")
    if not isinstance(query, str) or not isinstance(checksum, str):
        raise _invalid("unexpected content")
    # Re-encoding must give the token back: this rejects any change, down to unused base64 bits.
    if checksum != _checksum(offset, query) or _encode(payload) != token:
        raise _invalid("it has been altered")
    if query != fingerprint:
        if scope_changed is not None and query[:_SCOPE_CHARS] != fingerprint[:_SCOPE_CHARS]:
            raise InvalidParameterValue(scope_changed)
        raise _invalid("it belongs to a different search (its filter or order changed)")
    return offset


def paginate(items: Sequence[E], max_results: int, page_token: str | None, fingerprint: str) -> Page[E]:
    """The page of ``items`` (already filtered and sorted) that ``page_token`` points at.

    The first page starts at 0 (``page_token`` None or ""). ``next_page_token`` is None when the
    page reaches the end of ``items`` (also when it ends exactly there); an offset past the end
    gives an empty last page.

    Raises:
        InvalidParameterValue: bad ``max_results`` (below 1) or bad ``page_token``
            (see :func:`decode_page_token`).
    """
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidParameterValue(
            f"Invalid value {max_results!r} for parameter 'max_results' supplied. "
            "It must be a positive integer"
        )
    offset = decode_page_token(page_token, fingerprint)
    end = offset + max_results
    page = tuple(items[offset:end])
    next_token = encode_page_token(end, fingerprint) if end < len(items) else None
    return Page(items=page, next_page_token=next_token)


def page_after(items: Sequence[E], more: bool, limit: int, offset: int, fingerprint: str) -> Page[E]:
    """The page a database query for ``limit + 1`` rows at ``offset`` gave: ``items`` (at most
    ``limit``), and a token for the next page when ``more`` (a row beyond them was found)."""
    token = encode_page_token(offset + limit, fingerprint) if more else None
    return Page(items=tuple(items), next_page_token=token)
