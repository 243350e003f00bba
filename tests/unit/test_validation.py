"""MLflow's name rules and limits, as the domain enforces them (observed on mlflow 3.17.2)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genesis_flow.core import validation as v
from genesis_flow.core.errors import InvalidParameterValue

GOOD_KEYS = ["a", "a/b", "a.b", "a-b", "a b", "a:b", "a_b", "é", "日本", "x" * 250]
BAD_KEYS = [
    "",
    "a@b",
    "a#b",
    "a,b",
    "a\\b",
    "a\nb",
    "a/../b",
    "/abs",
    "./x",
    "a//b",
    "a/",
    "..",
    ".",
    "a/./b",
    "../a",
    "x" * 251,
]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_keys_mlflow_accepts_are_accepted(key: str) -> None:
    assert v.validate_key(key) == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_mlflow_rejects_are_invalid_parameter_values(key: str) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_key(key)


def test_path_like_key_message_names_what_it_would_resolve_to() -> None:
    with pytest.raises(InvalidParameterValue, match="would resolve to 'b'"):
        v.validate_key("a/../b")


@pytest.mark.parametrize(
    ("check", "limit"),
    [
        (lambda value: v.validate_param("k", value), v.MAX_PARAM_VAL_LENGTH),
        (lambda value: v.validate_run_tag("k", value), v.MAX_TAG_VAL_LENGTH),
        (lambda value: v.validate_experiment_tag("k", value), v.MAX_EXPERIMENT_TAG_VAL_LENGTH),
        (lambda value: v.validate_registry_tag("k", value), v.MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH),
    ],
)
def test_value_limits_accept_the_limit_and_reject_one_more(check, limit: int) -> None:  # type: ignore[no-untyped-def]
    check("x" * limit)
    with pytest.raises(InvalidParameterValue, match=f"maximum length of {limit}"):
        check("x" * (limit + 1))


def test_limits_are_mlflows() -> None:
    assert (v.MAX_ENTITY_KEY_LENGTH, v.MAX_PARAM_VAL_LENGTH, v.MAX_TAG_VAL_LENGTH) == (250, 6000, 8000)
    assert (v.MAX_EXPERIMENT_NAME_LENGTH, v.MAX_EXPERIMENT_TAG_VAL_LENGTH) == (500, 20000)
    assert v.MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH == 100_000
    assert (v.MAX_METRICS_PER_BATCH, v.MAX_PARAMS_TAGS_PER_BATCH, v.MAX_ENTITIES_PER_BATCH) == (
        1000,
        100,
        1000,
    )


@pytest.mark.parametrize("value", [0.0, -1.5, 1e308, math.nan, math.inf, -math.inf, 3])
def test_metric_values_include_nan_and_infinities(value: float) -> None:
    v.validate_metric("m", value, 0, 0)


@pytest.mark.parametrize("value", [True, False, "1.0", None, [1.0]])
def test_metric_values_that_are_not_numbers_are_rejected(value: object) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_metric("m", value, 0, 0)


@pytest.mark.parametrize(
    ("timestamp", "step"), [(-1, 0), ("1", 0), (0, "3"), (0, 1.5), (0, math.nan), (2**63, 0)]
)
def test_metric_timestamps_and_steps_must_be_64_bit_integers(timestamp: object, step: object) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_metric("m", 1.0, timestamp, step)


def test_negative_steps_are_allowed() -> None:
    v.validate_metric("m", 1.0, 0, -5)


@pytest.mark.parametrize(
    ("n_metrics", "n_params", "n_tags", "ok"),
    [
        (1000, 0, 0, True),
        (1001, 0, 0, False),
        (0, 100, 100, True),
        (0, 101, 0, False),
        (0, 0, 101, False),
        (800, 100, 100, True),
        (801, 100, 100, False),
    ],
)
def test_batch_limits(n_metrics: int, n_params: int, n_tags: int, ok: bool) -> None:
    if ok:
        v.validate_batch_limits(n_metrics, n_params, n_tags)
    else:
        with pytest.raises(InvalidParameterValue, match="A batch logging request can contain at most"):
            v.validate_batch_limits(n_metrics, n_params, n_tags)


def test_duplicate_param_keys_in_a_batch_are_named() -> None:
    with pytest.raises(InvalidParameterValue, match=r"\['a'\]"):
        v.validate_unique_param_keys(["a", "b", "a"])


@pytest.mark.parametrize("name", ["", None, 123, "x" * 501])
def test_bad_experiment_names(name: object) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_experiment_name(name)


def test_whitespace_experiment_name_is_accepted_as_mlflow_does() -> None:
    assert v.validate_experiment_name("  ") == "  "


@pytest.mark.parametrize("name", ["", " ", None, "a/b", "a:b", "..", "a/../b"])
def test_bad_model_names(name: object) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_model_name(name)


@pytest.mark.parametrize("name", ["model", "my model", "m.v2", "ü-ä"])
def test_good_model_names(name: str) -> None:
    assert v.validate_model_name(name) == name


@pytest.mark.parametrize("alias", ["champion", "a-b_c", "x" * 255, "v1a", "version1"])
def test_good_aliases(alias: str) -> None:
    assert v.validate_alias(alias) == alias


@pytest.mark.parametrize("alias", ["", "latest", "LATEST", "v1", "V2", "a b", "a.b", "x" * 256])
def test_reserved_or_malformed_aliases_are_rejected(alias: str) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_alias(alias)


@pytest.mark.parametrize(("given", "expected"), [(3, 3), ("4", 4)])
def test_versions_accept_ints_and_numeric_strings(given: object, expected: int) -> None:
    assert v.validate_version(given) == expected


@pytest.mark.parametrize("given", ["x", None, True, "1.5"])
def test_versions_reject_everything_else(given: object) -> None:
    with pytest.raises(InvalidParameterValue):
        v.validate_version(given)


def test_runs_uri_is_not_an_artifact_location() -> None:
    with pytest.raises(InvalidParameterValue, match="runs:/"):
        v.validate_artifact_location("runs:/abc")


def test_truncate_value_is_the_client_convenience() -> None:
    assert v.truncate_value("abcdef", 3) == "abc"
    assert v.truncate_value("ab", 3) == "ab"


_METRIC_PARTS = st.tuples(
    st.sampled_from(["acc", "loss", "bad/../key", "", 3, None]),
    st.sampled_from([0.5, 1, float("nan"), float("inf"), True, "1.0", None]),
    st.sampled_from([0, 1_700_000_000_000, -1, 2**63, 1.0, 1.5, "1"]),
    st.sampled_from([0, -5, 2**63, 3.0, 3.5, None]),
)


@given(batch=st.lists(_METRIC_PARTS, max_size=6), indexed=st.booleans())
def test_validate_metrics_rejects_exactly_what_validate_metric_rejects(
    batch: list[tuple], indexed: bool
) -> None:
    def one_by_one() -> None:
        for i, (key, value, timestamp, step) in enumerate(batch):
            v.validate_metric(key, value, timestamp, step, f"metrics[{i}]" if indexed else "")

    def message(fn: Callable[[], None]) -> str | None:
        try:
            fn()
        except InvalidParameterValue as exc:
            return str(exc)
        return None

    assert message(lambda: v.validate_metrics(batch, indexed=indexed)) == message(one_by_one)


@pytest.mark.parametrize(
    ("value", "timestamp", "step"),
    [
        ("1.0", 0, 0),
        (True, 0, 0),
        (None, 0, 0),
        (1.0, -1, 0),
        (1.0, 2**63, 0),
        (1.0, 1.5, 0),
        (1.0, 0, 2**63),
        (1.0, 0, 1.5),
    ],
)
def test_a_metric_key_that_passed_before_still_has_its_numbers_checked(
    value: object, timestamp: object, step: object
) -> None:
    # A key that passed is remembered to skip its full check; the numbers never are.
    v.validate_metric("seen", 1.0, 0, 0)
    with pytest.raises(InvalidParameterValue):
        v.validate_metric("seen", value, timestamp, step)
    with pytest.raises(InvalidParameterValue):
        v.validate_metrics([("seen", 1.0, 0, 0), ("seen", value, timestamp, step)])


# --- hostile values: numbers beyond 64 bits, numpy and float numbers, unstorable text --------------


@pytest.mark.parametrize("value", [10**400, -(10**400), 2**1024])
def test_metric_values_beyond_a_double_are_rejected(value: int) -> None:
    with pytest.raises(InvalidParameterValue, match="double"):
        v.validate_metric("m", value, 0, 0)
    with pytest.raises(InvalidParameterValue, match="double"):
        v.validate_metrics([("m", 1.0, 0, 0), ("m", value, 0, 0)])


@pytest.mark.parametrize(
    ("given", "expected"),
    [(3, 3), (1e15, 10**15), (2.0, 2), (True, 1), (-0.0, 0), (2**70, 2**70)],
)
def test_as_long_makes_integral_numbers_ints(given: object, expected: int) -> None:
    assert (type(v.as_long(given)), v.as_long(given)) == (int, expected)
    assert v.as_long(v.as_long(given)) == expected  # idempotent: a converter


@pytest.mark.parametrize("given", [1.5, -0.4, math.nan, math.inf, 1e400, "3", None, [1]])
def test_as_long_leaves_what_is_not_integral_for_validation(given: object) -> None:
    assert v.as_long(given) is given


def test_numpy_numbers_are_normalised() -> None:
    np = pytest.importorskip("numpy")
    longs = [v.as_long(x) for x in (np.int64(3), np.uint8(4), np.float32(5.0))]
    assert [(type(x), x) for x in longs] == [(int, 3), (int, 4), (int, 5)]
    fraction = np.float64(1.5)
    assert v.as_long(fraction) is fraction
    doubles = [v.as_double(x) for x in (np.int64(3), np.float32(1.5))]
    assert [(type(x), x) for x in doubles] == [(float, 3.0), (float, 1.5)]


@pytest.mark.parametrize(("given", "expected"), [(3, 3.0), (2.5, 2.5), (10**300, 1e300)])
def test_as_double_makes_numbers_floats(given: object, expected: float) -> None:
    assert (type(v.as_double(given)), v.as_double(given)) == (float, expected)


@pytest.mark.parametrize("given", [True, "1.5", None, 10**400])
def test_as_double_leaves_what_is_no_double_for_validation(given: object) -> None:
    assert v.as_double(given) is given


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 1.5, "1", math.nan, 1e19])
def test_validate_long_refuses_what_is_not_a_64_bit_integer(value: object) -> None:
    with pytest.raises(InvalidParameterValue, match="64-bit"):
        v.validate_long("step", value)


def test_validate_long_accepts_the_bounds_and_none() -> None:
    longs = [v.validate_long("t", x) for x in (2**63 - 1, -(2**63), 7.0, None)]
    assert longs == [2**63 - 1, -(2**63), 7, None]
    with pytest.raises(InvalidParameterValue, match="end_time"):
        v.validate_run_update(2**63, None)
    with pytest.raises(InvalidParameterValue, match="start_time"):
        v.validate_run_start("u", -(2**63) - 1)


@pytest.mark.parametrize("version", [2**63, "99999999999999999999", -(2**63) - 1])
def test_versions_beyond_64_bits_are_rejected(version: object) -> None:
    with pytest.raises(InvalidParameterValue, match="64-bit"):
        v.validate_version(version)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("x\ud800", "surrogate"), ("\udfff", "surrogate"), ("a\x00b", "NUL"), ("\x00", "NUL")],
)
def test_text_no_backend_stores_is_named(text: str, problem: str) -> None:
    assert problem in (v.text_problem(text) or "")
    with pytest.raises(InvalidParameterValue, match=problem):
        v.validate_text("value", text)


@pytest.mark.parametrize("text", ["", "plain", "é 日本 \U0001f600", "tab\tnewline\n", "x" * 10_000])
def test_valid_text_passes(text: str) -> None:
    assert v.text_problem(text) is None
    assert v.validate_text("value", text) == text


@pytest.mark.parametrize(
    "check",
    [
        lambda bad: v.validate_param("k", bad),
        lambda bad: v.validate_run_tag("k", bad),
        lambda bad: v.validate_experiment_tag("k", bad),
        lambda bad: v.validate_registry_tag("k", bad),
        lambda bad: v.validate_experiment_name(bad),
        lambda bad: v.validate_model_name(bad),
        lambda bad: v.validate_logged_model_name(bad),
        lambda bad: v.validate_input_tag("k", bad),
        lambda bad: v.validate_dataset_fields("n", "d", "s3", "s", None, bad),
        lambda bad: v.validate_texts(description=bad),
        lambda bad: v.run_name_and_tags(bad, []),
        lambda bad: v.validate_run_start(bad, None),
    ],
)
@pytest.mark.parametrize("bad", ["x\ud800", "a\x00b"])
def test_every_stored_string_follows_the_text_rule(check: Callable[[str], object], bad: str) -> None:
    with pytest.raises(InvalidParameterValue):
        check(bad)
