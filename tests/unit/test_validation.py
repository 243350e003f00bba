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
