"""The demo's classifier as MLflow's ``python_function`` flavour loads it.

``genesis demo`` logs, in its best run, a model folder holding an ``MLmodel`` file that names this
module as the loader and the logistic regression's weights as JSON. So with mlflow installed,
``mlflow.pyfunc.load_model("models:/genesis-demo-classifier@champion")`` predicts with neither
scikit-learn nor the demo's code path: the standard library is all this module needs, because it
is imported wherever the model is loaded.

Imported as ``genesis_flow.entrypoints.demo_model``.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

MODEL_FOLDER = "model"
WEIGHTS_FILE = "weights.json"


@frozen
class DemoClassifier:
    """A logistic regression over named features: class 1 when the predicted probability is at
    least one half."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float

    def probability(self, row: Sequence[float]) -> float:
        score = self.intercept + sum(w * x for w, x in zip(self.coefficients, row, strict=True))
        return 1.0 / (1.0 + math.exp(-score))

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> list[int]:
        """Class labels for ``model_input``: a pandas DataFrame or a mapping with the feature
        columns, a list of rows as mappings, or a list of rows in feature order."""
        return [1 if self.probability(row) >= 0.5 else 0 for row in self._rows(model_input)]

    def _rows(self, model_input: Any) -> list[list[float]]:
        if hasattr(model_input, "to_dict"):  # a pandas DataFrame, without importing pandas
            model_input = model_input.to_dict(orient="list")
        if isinstance(model_input, Mapping):
            columns = [list(model_input[name]) for name in self.features]
            return [list(row) for row in zip(*columns, strict=True)]
        return [
            [row[name] for name in self.features] if isinstance(row, Mapping) else list(row)
            for row in model_input
        ]

    def to_json(self) -> str:
        return json.dumps(
            {"features": self.features, "coefficients": self.coefficients, "intercept": self.intercept},
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> DemoClassifier:
        data = json.loads(text)
        return cls(tuple(data["features"]), tuple(data["coefficients"]), float(data["intercept"]))


def mlmodel_text(run_id: str, model_uuid: str, created: str) -> str:
    """The ``MLmodel`` file of the demo's model folder (YAML; JSON is a subset of it)."""
    meta = {
        "artifact_path": MODEL_FOLDER,
        "flavors": {
            "python_function": {
                "loader_module": __name__,
                "data": WEIGHTS_FILE,
                "python_version": platform.python_version(),
            }
        },
        "model_uuid": model_uuid,
        "run_id": run_id,
        "utc_time_created": created,
    }
    return json.dumps(meta, indent=2)


def _load_pyfunc(path: str) -> DemoClassifier:
    """MLflow's loader hook: ``path`` is the model folder's ``data`` entry, the weights file."""
    if os.path.isdir(path):
        path = os.path.join(path, WEIGHTS_FILE)
    with open(path, encoding="utf-8") as handle:
        return DemoClassifier.from_json(handle.read())
