"""search_logged_models' dict arguments as MLflow's SQL store reads them, run through both
entrypoints (the API's MlflowClient and real mlflow's on the plugin) by one helper."""

from __future__ import annotations

from typing import Any

import pytest

# (order_by, datasets, the names in order, or the error code). Observed on mlflow 3.17.2's
# SqlAlchemyStore, except a missing field_name: MLflow crashes there (INTERNAL_ERROR).
CASES: dict[str, tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None, list[str] | str]] = {
    "bare metric key with a space": ([{"field_name": "metrics.my acc"}], None, ["low", "high"]),
    "descending": ([{"field_name": "metrics.my acc", "ascending": False}], None, ["high", "low"]),
    "ascending None is false": ([{"field_name": "name", "ascending": None}], None, ["low", "high"]),
    "missing field_name": ([{"ascending": False}], None, "INVALID_PARAMETER_VALUE"),
    "empty field_name": ([{"field_name": ""}], None, "INVALID_PARAMETER_VALUE"),
    "dataset without a name": (None, [{"dataset_digest": "d"}], "INVALID_PARAMETER_VALUE"),
}


def check(client: Any, case: str, error_class: type[Exception]) -> None:
    """Two models whose "my acc" orders them opposite to their names, then the case's search."""
    order_by, datasets, expected = CASES[case]
    experiment_id = client.create_experiment(f"order-{abs(hash(case))}")
    run_id = client.create_run(experiment_id).info.run_id
    for name, value in (("high", 0.9), ("low", 0.1)):
        model = client.create_logged_model(experiment_id, name=name)
        client.log_metric(run_id, "my acc", value, model_id=model.model_id)
    search = {"order_by": order_by, "datasets": datasets}
    if isinstance(expected, str):
        with pytest.raises(error_class) as caught:
            client.search_logged_models([experiment_id], **search)
        assert getattr(caught.value, "error_code", None) == expected
        return
    assert [m.name for m in client.search_logged_models([experiment_id], **search)] == expected
