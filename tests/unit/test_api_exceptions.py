"""Errors of the MLflow-compatible API: ours without mlflow, mlflow's own subclass with it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from genesis_flow.core.errors import RunNotFound
from genesis_flow.entrypoints.api import exceptions
from genesis_flow.entrypoints.api.exceptions import MlflowException, translate, translated


def run_python(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_translate_keeps_message_and_error_code() -> None:
    error = translate(RunNotFound("Run with id=abc not found"))
    assert isinstance(error, MlflowException)
    assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert error.message == str(error) == "Run with id=abc not found"
    assert error.get_http_status_code() == 404
    assert json.loads(error.serialize_as_json())["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_decorated_function_raises_mlflow_exception_not_domain_error() -> None:
    @translated
    def lookup() -> None:
        raise RunNotFound("nope")

    with pytest.raises(MlflowException) as caught:
        lookup()
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert not isinstance(caught.value, RunNotFound)


def test_invalid_parameter_value_constructor_matches_mlflow() -> None:
    error = MlflowException.invalid_parameter_value("bad")
    assert (error.error_code, error.message) == ("INVALID_PARAMETER_VALUE", "bad")


def test_without_mlflow_loaded_errors_are_ours_and_mlflow_stays_unimported() -> None:
    result = run_python(
        """
        import json, sys
        import genesis_flow as mlflow
        mlflow.set_tracking_uri("memory:")
        try:
            mlflow.get_run("no-such-run")
        except mlflow.exceptions.MlflowException as error:
            caught = [type(error).__module__, error.error_code, [c.__module__ for c in type(error).__mro__]]
        print(json.dumps({"caught": caught, "mlflow": "mlflow" in sys.modules}))
        """
    )
    caught = result["caught"]
    assert isinstance(caught, list), caught
    module, code, mro = caught
    assert (module, code) == ("genesis_flow.entrypoints.api.exceptions", "RESOURCE_DOES_NOT_EXIST")
    assert not any(str(m).startswith("mlflow") for m in mro)
    assert result["mlflow"] is False


def test_with_mlflow_loaded_errors_are_caught_by_mlflows_own_except_clause() -> None:
    pytest.importorskip("mlflow", reason="needs the dev extra's mlflow to check the subclassing")
    result = run_python(
        """
        import json, os
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
        import mlflow.exceptions
        import genesis_flow
        genesis_flow.set_tracking_uri("memory:")
        out = {}
        try:
            genesis_flow.get_run("no-such-run")
        except mlflow.exceptions.MlflowException as error:
            out = {
                "code": error.error_code,
                "ours": isinstance(error, genesis_flow.exceptions.MlflowException),
                "status": error.get_http_status_code(),
                "message": error.message,
            }
        print(json.dumps(out))
        """
    )
    assert result == {
        "code": "RESOURCE_DOES_NOT_EXIST",
        "ours": True,
        "status": 404,
        "message": "Run with id=no-such-run not found",
    }


def test_exception_class_follows_whether_mlflow_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for mlflow's module: the class is chosen per raise from sys.modules.
    class TheirMlflowException(Exception):
        def __init__(self, message: str, error_code: object = None, **kwargs: object) -> None:
            super().__init__(message)
            self.message = message
            self.error_code = error_code

    fake = type(sys)("mlflow.exceptions")
    fake.MlflowException = TheirMlflowException  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "mlflow.exceptions", raising=False)
    assert type(exceptions.mlflow_exception("x")) is MlflowException
    monkeypatch.setitem(sys.modules, "mlflow.exceptions", fake)
    monkeypatch.delitem(sys.modules, "mlflow.protos.databricks_pb2", raising=False)
    error = exceptions.mlflow_exception("x", "INVALID_PARAMETER_VALUE")
    assert isinstance(error, MlflowException) and isinstance(error, TheirMlflowException)
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert type(error).__name__ == "MlflowException"
