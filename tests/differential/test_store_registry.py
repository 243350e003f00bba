"""The model registry through MLflow's store interface: MLflow's SqlAlchemyStore vs our plugin's store."""

from __future__ import annotations

from functools import partial
from typing import Any

from mlflow.entities.model_registry import RegisteredModelTag

from tests.differential.conftest import RunCase
from tests.differential.store_sides import Side, outcome

PROMPT_TAG = "mlflow.prompt.is_prompt"
# Kinds of registered model by their prompt tag: MLflow's prompt registry stores a prompt as a
# model with this tag, and its store asks only whether the tag is there.
KINDS: dict[str, dict[str, str]] = {
    "model": {},
    "prompt": {PROMPT_TAG: "true"},
    "tagged false": {PROMPT_TAG: "false"},
}


def _tags(values: dict[str, str]) -> list[Any]:
    tag: Any = RegisteredModelTag  # untyped in mlflow
    return [tag(key, value) for key, value in values.items()]


def _named(observed: dict[str, Any], name: str) -> dict[str, Any]:
    """The outcome with the case's own model name replaced, and without the SQL driver's text that
    MLflow's rename message carries after " Error: " (DIFFERENCES.md S-registry-1)."""
    if "message" in observed:
        observed = {**observed, "message": observed["message"].split(" Error: ")[0].replace(name, "<name>")}
    return observed


def name_conflicts(side: Side) -> Any:
    seen: dict[str, Any] = {}
    for holder, holder_tags in KINDS.items():
        name = side.name(holder.replace(" ", "-"))
        side.registry.create_registered_model(name, tags=_tags(holder_tags))
        for newcomer, newcomer_tags in KINDS.items():
            create = partial(side.registry.create_registered_model, name, tags=_tags(newcomer_tags))
            seen[f"create {newcomer} over {holder}"] = _named(outcome(create), name)
        other = side.name("renamed")
        side.registry.create_registered_model(other)
        renamed = outcome(partial(side.registry.rename_registered_model, other, name))
        seen[f"rename a model onto a {holder}"] = _named(renamed, name)
        seen[f"rename onto a {holder}: driver text"] = " Error: " in renamed.get("message", "")
        # RegisteredModel.tags leaves the prompt tag out; _tags has them all.
        seen[f"{holder} kept its tags"] = side.registry.get_registered_model(name)._tags == holder_tags
    return seen


def test_a_taken_name_says_whether_a_prompt_or_a_model_holds_it(
    mlflow_side: RunCase, plugin_side: RunCase
) -> None:
    theirs, ours = mlflow_side(name_conflicts), plugin_side(name_conflicts)
    assert theirs["create prompt over model"]["message"].startswith("Tried to create a prompt with name '")
    assert theirs["create prompt over prompt"]["message"] == "Prompt (name=<name>) already exists."
    assert all(kept for key, kept in theirs.items() if key.endswith("kept its tags"))
    driver_text = {key for key in theirs if key.endswith("driver text")}
    assert all(theirs[key] for key in driver_text) and not any(ours[key] for key in driver_text)
    assert {k: v for k, v in ours.items() if k not in driver_text} == {
        k: v for k, v in theirs.items() if k not in driver_text
    }
