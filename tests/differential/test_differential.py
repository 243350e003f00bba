"""The differential test: realistic user scripts (tests/differential/scripts.py) run against real
MLflow (SQLite store) and against genesis_flow on every backend; the observations must be equal,
except for the deliberate differences listed in DIFFERENCES.md, each asserted here."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.differential.scripts import SCRIPTS

Observe = Callable[[str], dict[str, Any]]

# MLflow's SQLite store writes +/-inf as +/-DBL_MAX (D1).
DBL_MAX = 1.7976931348623157e308


# --- deliberate differences (DIFFERENCES.md) -------------------------------------------------------


def _d1_infinity(value: Any) -> Any:
    """D1: where MLflow's SQLite store returns +/-DBL_MAX for a logged +/-inf, we return +/-inf."""
    if isinstance(value, dict):
        return {k: _d1_infinity(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_d1_infinity(v) for v in value]
    if isinstance(value, float) and abs(value) == DBL_MAX:
        return "Infinity" if value > 0 else "-Infinity"
    return value


REGISTRY_IS_NULL_KEYS = (
    "search models 7: 'tags.task IS NULL' None",
    "search versions 8: 'tags.validated IS NOT NULL' None",
)
MLFLOW_VALUE_ERROR = {"error": "ValueError", "code": None}
OUR_INVALID_PARAMETER = {"error": "MlflowException", "code": "INVALID_PARAMETER_VALUE"}


OUR_ALREADY_EXISTS = {"error": "MlflowException", "code": "RESOURCE_ALREADY_EXISTS"}
MLFLOW_SQL_INTEGRITY_ERROR = {"error": "MlflowException", "code": "BAD_REQUEST"}  # D3
MLFLOW_OK = {"ok": None}
MLFLOW_INTERNAL_ERROR = {"error": "MlflowException", "code": "INTERNAL_ERROR"}  # D7
MLFLOW_BARE_EXCEPTION = {"error": "Exception", "code": None}  # D8
ARTIFACT_PATH_KEYS = ("bad artifact path", "absolute artifact path")  # D7
BARE_EXCEPTION_KEYS = ("start_run while active", "set_terminated bad status")  # D8


def expected_from(script: str, reference: dict[str, Any]) -> dict[str, Any]:
    """What genesis_flow must observe: MLflow's observation with the deliberate differences applied."""
    expected: dict[str, Any] = _d1_infinity(copy.deepcopy(reference))
    if script == "registry":
        for key in REGISTRY_IS_NULL_KEYS:  # D2
            if expected.get(key) == MLFLOW_VALUE_ERROR:
                expected[key] = OUR_INVALID_PARAMETER
    if script == "artifacts":
        for key in ARTIFACT_PATH_KEYS:  # D7
            if expected.get(key) == MLFLOW_INTERNAL_ERROR:
                expected[key] = OUR_INVALID_PARAMETER
    if script == "errors":
        if expected.get("rename to existing") == MLFLOW_SQL_INTEGRITY_ERROR:  # D3
            expected["rename to existing"] = OUR_ALREADY_EXISTS
        for key in BARE_EXCEPTION_KEYS:  # D8
            if expected.get(key) == MLFLOW_BARE_EXCEPTION:
                expected[key] = OUR_INVALID_PARAMETER
        if expected.get("metric step float") == MLFLOW_OK:  # D5
            expected["metric step float"] = OUR_INVALID_PARAMETER
            for key in ("run after errors", "deleted run"):
                expected.get(key, {}).get("metrics", {}).pop("m4", None)
    return expected


# --- comparing -------------------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)
    return text if len(text) <= 400 else text[:400] + "..."


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Readable differences, one per leaf: ``path: mlflow=... ours=...``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}/{key}" if path else str(key)
            if key not in actual:
                out.append(f"{where}: mlflow={_short(expected[key])} ours=<absent>")
            elif key not in expected:
                out.append(f"{where}: mlflow=<absent> ours={_short(actual[key])}")
            else:
                out.extend(differences(expected[key], actual[key], where))
        return out
    if (
        isinstance(expected, list)
        and isinstance(actual, list)
        and len(expected) == len(actual)
        and not (_is_scalar_list(expected) and _is_scalar_list(actual))
    ):
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(differences(e, a, f"{path}[{i}]"))
        return out
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: mlflow={_short(expected)} ours={_short(actual)}"]
    return []


# --- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_reference_script_runs_on_mlflow(script: str, reference: Observe) -> None:
    """The scripts are valid MLflow code: real mlflow runs each to its end."""
    assert "<crashed>" not in reference(script), reference(script)["<crashed>"]


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_script_matches_mlflow(script: str, backend_id: str, reference: Observe, ours: Observe) -> None:
    expected = expected_from(script, reference(script))
    problems = differences(expected, ours(script))
    assert not problems, (
        f"{script} on {backend_id}: {len(problems)} observation(s) differ from real mlflow:\n"
        + "\n".join(problems[:80])
    )


def test_d1_infinity_is_stored_as_infinity(backend_id: str, reference: Observe, ours: Observe) -> None:
    """D1: MLflow's SQLite store clamps +/-inf to +/-DBL_MAX; we keep +/-inf on every backend."""
    mlflow_history = [p["value"] for p in reference("train_loop")["history:odd"]]
    assert mlflow_history == ["NaN", DBL_MAX, -DBL_MAX]
    assert reference("train_loop")["run"]["metrics"]["odd"] == -DBL_MAX
    assert reference("sweep")["full run"]["metrics"]["weird"] == DBL_MAX

    our_history = [p["value"] for p in ours("train_loop")["history:odd"]]
    assert our_history == ["NaN", "Infinity", "-Infinity"]
    assert ours("train_loop")["run"]["metrics"]["odd"] == "-Infinity"
    assert ours("sweep")["full run"]["metrics"]["weird"] == "Infinity"


def test_d2_registry_is_null_filter_is_an_invalid_parameter(
    backend_id: str, reference: Observe, ours: Observe
) -> None:
    """D2: MLflow's registry search crashes with a bare ValueError on IS NULL / IS NOT NULL; we
    answer with MlflowException INVALID_PARAMETER_VALUE (the grammar does not allow it there)."""
    for key in REGISTRY_IS_NULL_KEYS:
        assert reference("registry")[key] == MLFLOW_VALUE_ERROR, key
        assert ours("registry")[key] == OUR_INVALID_PARAMETER, key


def test_d3_renaming_onto_an_existing_name_is_already_exists(
    backend_id: str, reference: Observe, ours: Observe
) -> None:
    """D3: MLflow's SQLite store lets the database's UNIQUE violation through as BAD_REQUEST
    (create_experiment with a taken name, and MLflow's file store, say RESOURCE_ALREADY_EXISTS);
    we say RESOURCE_ALREADY_EXISTS for both."""
    assert reference("errors")["rename to existing"] == MLFLOW_SQL_INTEGRITY_ERROR
    assert reference("errors")["create_experiment duplicate"] == OUR_ALREADY_EXISTS
    assert ours("errors")["rename to existing"] == OUR_ALREADY_EXISTS


def test_d5_a_fractional_metric_step_is_refused(backend_id: str, reference: Observe, ours: Observe) -> None:
    """D5: MLflow accepts step=1.5; its SQLite store then returns the float 1.5 from a BIGINT
    column (PostgreSQL would round it, its file store cannot read it back); we refuse it."""
    assert reference("errors")["metric step float"] == MLFLOW_OK
    assert reference("errors")["run after errors"]["metrics"]["m4"] == 1.0
    assert ours("errors")["metric step float"] == OUR_INVALID_PARAMETER
    assert "m4" not in ours("errors")["run after errors"]["metrics"]


def test_d7_an_escaping_artifact_path_is_an_invalid_parameter(
    backend_id: str, reference: Observe, ours: Observe
) -> None:
    """D7: MLflow refuses "../x" and "/x" artifact paths with INTERNAL_ERROR (no code given);
    it is bad input, so we say INVALID_PARAMETER_VALUE. Nothing is written on either side."""
    for key in ARTIFACT_PATH_KEYS:
        assert reference("artifacts")[key] == MLFLOW_INTERNAL_ERROR, key
        assert ours("artifacts")[key] == OUR_INVALID_PARAMETER, key


def test_d8_bare_exceptions_become_mlflow_exceptions(
    backend_id: str, reference: Observe, ours: Observe
) -> None:
    """D8: MLflow raises a bare Exception for start_run while a run is active and for an unknown
    status in set_terminated; ours is an MlflowException (still an Exception) with
    INVALID_PARAMETER_VALUE."""
    for key in BARE_EXCEPTION_KEYS:
        assert reference("errors")[key] == MLFLOW_BARE_EXCEPTION, key
        assert ours("errors")[key] == OUR_INVALID_PARAMETER, key
