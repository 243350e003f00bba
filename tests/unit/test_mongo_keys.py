"""User keys as MongoDB field names (genesis_flow.adapters.mongo.keys): exact, safe, injective.

A param, tag or metric key becomes a field name under ``p``/``t``/``m``; it must never act as a
path (``.``) or an operator (``$``), BSON cannot hold NUL in a name, and two keys must never share
a field. Properties over any text, plus the cases users actually write.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pymongo", reason="pymongo is not installed (extra 'mongo'); the Mongo adapter needs it")

from hypothesis import assume, example, given
from hypothesis import strategies as st

from genesis_flow.adapters.mongo.keys import decode, decode_map, encode, path

FORBIDDEN = (".", "$", "\x00")
# Text rich in the characters that matter: the escaped ones, the escape's own digits, and others.
TRICKY = st.text(alphabet=st.sampled_from(list("%.$\x002Ee40a b/ü")), max_size=30)
ANY_TEXT = st.one_of(st.text(), TRICKY)
PLAIN = st.text(alphabet=st.characters(exclude_characters="%.$\x00", exclude_categories=["Cs"]))


@given(ANY_TEXT)
@example("a.b")
@example("a%2Eb")
@example("%")
@example("%%2E")
@example("$gt")
@example("a.$b")
@example("ü/ä")
@example("")
def test_decode_inverts_encode(key: str) -> None:
    assert decode(encode(key)) == key


@given(ANY_TEXT)
def test_encoded_key_has_no_dot_dollar_or_nul(key: str) -> None:
    field = encode(key)
    for forbidden in FORBIDDEN:
        assert forbidden not in field


@given(ANY_TEXT, ANY_TEXT)
@example("a.b", "a%2Eb")
@example("a%2Eb", "a%252Eb")
@example("$gt", "%24gt")
@example("a\x00", "a%00")
def test_distinct_keys_get_distinct_fields(first: str, second: str) -> None:
    assume(first != second)
    assert encode(first) != encode(second)


@given(PLAIN)
def test_keys_without_escaped_characters_stay_readable(key: str) -> None:
    assume(key != "")  # the empty key has a field name of its own (test_empty_key_is_a_valid_field)
    assert encode(key) == key


def test_empty_key_is_a_valid_field() -> None:
    # A search may name the empty key (MLflow accepts params.``); "p." would end a path with a
    # dot, which MongoDB refuses in sorts.
    assert encode("") == "%"
    assert decode("%") == ""
    assert encode("%") != encode("")


def test_known_encodings() -> None:
    assert encode("a.b") == "a%2Eb"
    assert encode("a%2Eb") == "a%252Eb"
    assert encode("$gt") == "%24gt"
    assert encode("x y") == "x y"
    assert encode("ü/ä") == "ü/ä"
    assert decode("a%2Eb") == "a.b"
    # A '%' that starts no escape of ours is kept as it is.
    assert decode("100%") == "100%"
    assert decode("%zz") == "%zz"


@given(ANY_TEXT)
def test_path_puts_the_key_in_exactly_one_component(key: str) -> None:
    full = path("p", key)
    prefix, field = full.split(".")
    assert prefix == "p"
    assert decode(field) == key


@given(ANY_TEXT, st.lists(st.sampled_from(["v", "r", "s"]), max_size=2))
def test_path_appends_the_rest_after_the_key(key: str, rest: list[str]) -> None:
    parts = path("m", key, *rest).split(".")
    assert parts[0] == "m"
    assert decode(parts[1]) == key
    assert parts[2:] == rest


@given(st.dictionaries(ANY_TEXT, st.text(max_size=5), max_size=8))
def test_decode_map_restores_every_key(values: dict[str, str]) -> None:
    stored = {encode(k): val for k, val in values.items()}
    assert len(stored) == len(values)
    assert decode_map(stored) == values
    assert decode_map(None) == {}
