"""Limits, query fingerprints, page tokens and paginate()."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from genesis_flow.core.entities import ViewType
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search import (
    DEFAULT_MAX_RESULTS,
    MAX_MAX_RESULTS,
    SearchKind,
    decode_page_token,
    encode_page_token,
    paginate,
    parse_filter,
    parse_order_by,
    query_fingerprint,
    resolve_max_results,
)
from genesis_flow.core.search.paging import MAX_PAGE_OFFSET

FP = query_fingerprint(SearchKind.RUNS, ("1",), parse_filter(SearchKind.RUNS, "metrics.a > 1"))


# --- max_results ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "default", "maximum"),
    [
        (SearchKind.RUNS, 1000, 50_000),
        (SearchKind.EXPERIMENTS, 1000, 50_000),
        (SearchKind.REGISTERED_MODELS, 100, 1000),
        (SearchKind.MODEL_VERSIONS, 10_000, 200_000),
        (SearchKind.LOGGED_MODELS, 100, 50_000),
    ],
)
def test_limits_per_kind(kind: SearchKind, default: int, maximum: int) -> None:
    assert DEFAULT_MAX_RESULTS[kind] == default
    assert MAX_MAX_RESULTS[kind] == maximum
    assert resolve_max_results(kind, None) == default
    assert resolve_max_results(kind, 1) == 1
    assert resolve_max_results(kind, maximum) == maximum
    with pytest.raises(InvalidParameterValue, match=str(maximum)):
        resolve_max_results(kind, maximum + 1)


@pytest.mark.parametrize("kind", [k for k in SearchKind if k is not SearchKind.LOGGED_MODELS])
@pytest.mark.parametrize("value", [0, -1, -1000])
def test_max_results_below_one_is_rejected(kind: SearchKind, value: int) -> None:
    with pytest.raises(InvalidParameterValue, match="positive integer"):
        resolve_max_results(kind, value)


def test_logged_models_take_zero_as_the_default() -> None:
    assert resolve_max_results(SearchKind.LOGGED_MODELS, 0) == 100
    with pytest.raises(InvalidParameterValue):
        resolve_max_results(SearchKind.LOGGED_MODELS, -1)


@pytest.mark.parametrize("value", [True, 1.5, "10"])
def test_max_results_must_be_an_int(value: object) -> None:
    with pytest.raises(InvalidParameterValue):
        resolve_max_results(SearchKind.RUNS, value)  # type: ignore[arg-type]


def test_mlflow_messages() -> None:
    with pytest.raises(InvalidParameterValue, match="It must be at most 50000"):
        resolve_max_results(SearchKind.RUNS, 50_001)
    with pytest.raises(InvalidParameterValue, match="It must be at most 1000, but got value 1001"):
        resolve_max_results(SearchKind.REGISTERED_MODELS, 1001)
    with pytest.raises(InvalidParameterValue, match="It must be a positive integer, but got 0"):
        resolve_max_results(SearchKind.MODEL_VERSIONS, 0)


# --- fingerprints ---------------------------------------------------------------------------------


def test_fingerprint_is_stable_and_discriminating() -> None:
    f1 = parse_filter(SearchKind.RUNS, "metrics.a > 1")
    f2 = parse_filter(SearchKind.RUNS, "metrics.a > 2")
    o = parse_order_by(SearchKind.RUNS, ["metrics.a DESC"])
    assert query_fingerprint(SearchKind.RUNS, f1, o) == query_fingerprint(SearchKind.RUNS, f1, o)
    assert query_fingerprint(SearchKind.RUNS, f1, o) != query_fingerprint(SearchKind.RUNS, f2, o)
    assert query_fingerprint(SearchKind.RUNS, f1) != query_fingerprint(SearchKind.EXPERIMENTS, f1)
    assert query_fingerprint(ViewType.ALL) != query_fingerprint(ViewType.ACTIVE_ONLY)
    assert query_fingerprint(1) != query_fingerprint("1") != query_fingerprint(1.0)
    assert query_fingerprint(float("nan")) == query_fingerprint(float("nan"))
    assert query_fingerprint(frozenset({"a", "b"})) == query_fingerprint(frozenset({"b", "a"}))
    assert query_fingerprint({"a": 1, "b": 2}) == query_fingerprint({"b": 2, "a": 1})
    assert query_fingerprint(("a", "b")) != query_fingerprint(("b", "a"))


def test_fingerprint_is_equal_across_processes() -> None:
    code = (
        "from genesis_flow.core.search import *\n"
        "from genesis_flow.core.entities import ViewType\n"
        "f = parse_filter(SearchKind.RUNS, \"run_id IN ('a') AND metrics.m > 1\")\n"
        "print(query_fingerprint(SearchKind.RUNS, frozenset({'x', 'y', 'z'}), ViewType.ALL, f))\n"
    )
    f = parse_filter(SearchKind.RUNS, "run_id IN ('a') AND metrics.m > 1")
    mine = query_fingerprint(SearchKind.RUNS, frozenset({"x", "y", "z"}), ViewType.ALL, f)
    outputs = set()
    for seed in ("1", "2", "random"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        )
        outputs.add(result.stdout.strip())
    assert outputs == {mine}


# --- tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, 7, 1000, 2**40])
def test_token_round_trip(offset: int) -> None:
    token = encode_page_token(offset, FP)
    assert isinstance(token, str)
    assert decode_page_token(token, FP) == offset


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_means_the_first_page(token: str | None) -> None:
    assert decode_page_token(token, FP) == 0


def test_token_of_another_query_is_rejected() -> None:
    token = encode_page_token(5, FP)
    with pytest.raises(InvalidParameterValue, match="different search"):
        decode_page_token(token, query_fingerprint("other"))


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!!",
        "eyJvZmZzZXQiOiAyfQ==",  # MLflow's own {"offset": 2}
        _forge({"offset": 2}),
        _forge([1, 2]),
        _forge("x"),
        _forge({"c": "0", "o": 5, "q": FP}),
        _forge({"c": "0", "o": -1, "q": FP}),
        _forge({"c": "0", "o": "5", "q": FP}),
        _forge({"c": "0", "o": True, "q": FP}),
        _forge({"c": "0", "o": 1.5, "q": FP}),
        _forge({"c": 1, "o": 5, "q": FP}),
        _forge({"c": "0", "o": 5, "q": None}),
        _forge({"c": "0", "o": 5, "q": FP, "x": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        "é",
    ],
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(InvalidParameterValue, match="Invalid page token"):
        decode_page_token(token, FP)


def test_non_string_token_is_rejected() -> None:
    with pytest.raises(InvalidParameterValue):
        decode_page_token(b"abc", FP)  # type: ignore[arg-type]


def test_edited_offset_is_rejected() -> None:
    payload = json.loads(base64.urlsafe_b64decode(encode_page_token(5, FP)))
    payload["o"] = 6
    forged = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    with pytest.raises(InvalidParameterValue, match="altered"):
        decode_page_token(forged.decode(), FP)


def test_every_single_character_flip_is_rejected() -> None:
    token = encode_page_token(123, FP)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    for i, ch in enumerate(token):
        for replacement in {alphabet[(alphabet.index(ch) + 1) % len(alphabet)], "+", "/"} - {ch}:
            tampered = token[:i] + replacement + token[i + 1 :]
            with pytest.raises(InvalidParameterValue):
                decode_page_token(tampered, FP)


@pytest.mark.parametrize("offset", [-1, True, 1.0])
def test_encode_rejects_bad_offsets(offset: object) -> None:
    with pytest.raises(InvalidParameterValue):
        encode_page_token(offset, FP)  # type: ignore[arg-type]


# --- paginate -------------------------------------------------------------------------------------

ITEMS = list(range(10))


def all_pages(items: list[int], size: int) -> list[tuple[int, ...]]:
    pages = []
    token: str | None = None
    while True:
        page = paginate(items, size, token, FP)
        pages.append(page.items)
        token = page.next_page_token
        if token is None:
            return pages


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (3, [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,)]),
        (5, [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)]),
        (10, [tuple(range(10))]),
        (11, [tuple(range(10))]),
        (1, [(i,) for i in range(10)]),
    ],
)
def test_pages_concatenate_to_the_whole(size: int, expected: list[tuple[int, ...]]) -> None:
    assert all_pages(ITEMS, size) == expected


def test_no_token_when_the_page_ends_exactly_at_the_end() -> None:
    page = paginate(ITEMS, 5, encode_page_token(5, FP), FP)
    assert page.items == (5, 6, 7, 8, 9)
    assert page.next_page_token is None


def test_empty_result() -> None:
    nothing: list[int] = []
    page = paginate(nothing, 5, None, FP)
    assert page.items == ()
    assert page.next_page_token is None


def test_offset_past_the_end_gives_an_empty_last_page() -> None:
    page = paginate(ITEMS, 5, encode_page_token(50, FP), FP)
    assert page.items == ()
    assert page.next_page_token is None


def test_page_is_a_page() -> None:
    page = paginate(ITEMS, 4, None, FP)
    assert len(page) == 4
    assert list(page) == [0, 1, 2, 3]
    assert decode_page_token(page.next_page_token, FP) == 4


@pytest.mark.parametrize("size", [0, -1])
def test_paginate_rejects_bad_sizes(size: int) -> None:
    with pytest.raises(InvalidParameterValue):
        paginate(ITEMS, size, None, FP)


def test_paginate_rejects_foreign_tokens() -> None:
    with pytest.raises(InvalidParameterValue):
        paginate(ITEMS, 3, encode_page_token(3, "another query"), FP)


@pytest.mark.parametrize("fingerprint", ["\ud800", "𐀀𐀀", "", "ü"])
def test_tokens_survive_odd_fingerprints(fingerprint: str) -> None:
    token = encode_page_token(10, fingerprint)
    assert decode_page_token(token, fingerprint) == 10
    for i in range(len(token)):
        tampered = token[:i] + ("0" if token[i] != "0" else "1") + token[i + 1 :]
        with pytest.raises(InvalidParameterValue):
            decode_page_token(tampered, fingerprint)


@pytest.mark.parametrize("offset", [MAX_PAGE_OFFSET + 1, 2**63, 10**30])
def test_offsets_beyond_the_bound_are_rejected(offset: int) -> None:
    # A forged but well-formed token: right fingerprint and checksum, huge offset.
    from genesis_flow.core.search import paging

    with pytest.raises(InvalidParameterValue, match="page offset"):
        encode_page_token(offset, FP)
    token = paging._encode({"c": paging._checksum(offset, FP), "o": offset, "q": FP})
    with pytest.raises(InvalidParameterValue, match="bad offset"):
        decode_page_token(token, FP)


def test_the_largest_offset_round_trips() -> None:
    assert decode_page_token(encode_page_token(MAX_PAGE_OFFSET, FP), FP) == MAX_PAGE_OFFSET
