"""`import genesis_flow`: lazy re-exports, nothing heavy at import time."""

from __future__ import annotations

import pytest

import genesis_flow
from genesis_flow.core.errors import GenesisError


def test_names_resolve_lazily_to_their_defining_modules() -> None:
    assert genesis_flow.GenesisError is GenesisError
    assert genesis_flow.resolve_tracking_uri("memory:") == "memory:"
    assert "build_tracking_store" in dir(genesis_flow)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = genesis_flow.nope


def test_the_mlflow_compatible_api_never_imports_mlflow() -> None:
    # Importing mlflow costs over a second and ~200 MiB: using our API must not pull it in,
    # whatever the user touches (fluent calls, client, errors, entities, submodules).
    import subprocess
    import sys
    import textwrap

    code = """
        import sys, tempfile, os
        os.chdir(tempfile.mkdtemp())
        import genesis_flow as mlflow
        from genesis_flow import MlflowClient
        from genesis_flow.entities import Metric, Param, RunTag, ViewType
        from genesis_flow.entities.model_registry import ModelVersion
        import genesis_flow.artifacts, genesis_flow.config, genesis_flow.tracking, genesis_flow.client
        # Listing or probing names loads no flavour: only touching one does.
        assert "sklearn" in dir(mlflow) and not hasattr(mlflow, "nope")
        mlflow.set_tracking_uri("memory:")
        mlflow.set_experiment("e")
        with mlflow.start_run() as run:
            mlflow.log_param("p", 1)
            mlflow.log_metric("m", 1.0, synchronous=False)
            mlflow.log_text("hello", "a.txt")
        mlflow.search_runs(output_format="list")
        client = MlflowClient()
        client.log_batch(run.info.run_id, metrics=[Metric("k", 1.0, 1, 0)])
        client.create_registered_model("model")
        client.create_model_version("model", f"runs:/{run.info.run_id}/a.txt", run.info.run_id)
        client.set_registered_model_alias("model", "champion", 1)
        mlflow.artifacts.download_artifacts("models:/model@champion")
        try:
            mlflow.get_run("missing")
        except mlflow.exceptions.MlflowException:
            pass
        loaded = sorted(m for m in sys.modules if m == "mlflow" or m.startswith("mlflow."))
        print(",".join(loaded) or "none")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "none"
