"""Registered-model aliases: set, move, delete, resolve, and what happens to them on deletes/renames.

User stories of MLflow's model registry, run on every backend (see conftest.py).
"""

from __future__ import annotations

import pytest

from genesis_flow.core.errors import (
    InvalidParameterValue,
    ModelVersionNotFound,
    RegisteredModelNotFound,
    ResourceDoesNotExist,
)
from genesis_flow.core.registry import RegisteredModelAlias, Stage
from genesis_flow.ports import RegistryStore

RESERVED_ALIASES = ["latest", "LATEST", "LaTeSt", "v1", "V2", "v01", "v123"]
BAD_ALIASES = ["", "a.b", "a b", "a/b", "a@b", "x" * 256]
GOOD_ALIASES = ["champion", "v", "va", "v1a", "1", "a-b_c", "Prod-2024", "x" * 255]


@pytest.fixture
def model(registry: RegistryStore) -> str:
    """Model ``m`` with versions 1, 2 and 3."""
    registry.create_registered_model("m")
    for _ in range(3):
        registry.create_model_version("m", "s")
    return "m"


# --- set -------------------------------------------------------------------------------------------


def test_set_registered_model_alias_points_it_at_the_version(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 2)

    assert registry.get_model_version_by_alias(model, "champion").version == 2
    assert registry.get_registered_model(model).aliases == (RegisteredModelAlias("champion", 2),)
    assert registry.get_model_version(model, 2).aliases == ("champion",)
    assert registry.get_model_version(model, 1).aliases == ()


def test_set_registered_model_alias_again_moves_it(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 1)

    registry.set_registered_model_alias(model, "champion", 3)

    assert registry.get_model_version_by_alias(model, "champion").version == 3
    assert registry.get_registered_model(model).aliases_dict == {"champion": 3}
    assert registry.get_model_version(model, 1).aliases == ()
    assert registry.get_model_version(model, 3).aliases == ("champion",)


def test_set_registered_model_alias_several_on_one_version_come_sorted(
    registry: RegistryStore, model: str
) -> None:
    for alias in ("zeta", "alpha", "mid"):
        registry.set_registered_model_alias(model, alias, 1)

    assert registry.get_model_version(model, 1).aliases == ("alpha", "mid", "zeta")
    assert [a.alias for a in registry.get_registered_model(model).aliases] == ["alpha", "mid", "zeta"]


def test_set_registered_model_alias_is_per_model(registry: RegistryStore, model: str) -> None:
    registry.create_registered_model("other")
    registry.create_model_version("other", "s")

    registry.set_registered_model_alias(model, "champion", 3)
    registry.set_registered_model_alias("other", "champion", 1)

    assert registry.get_model_version_by_alias(model, "champion").version == 3
    assert registry.get_model_version_by_alias("other", "champion").version == 1


@pytest.mark.parametrize("alias", GOOD_ALIASES)
def test_set_registered_model_alias_accepts_mlflow_alias_names(
    registry: RegistryStore, model: str, alias: str
) -> None:
    registry.set_registered_model_alias(model, alias, 1)

    assert registry.get_model_version_by_alias(model, alias).version == 1


@pytest.mark.parametrize("alias", RESERVED_ALIASES + BAD_ALIASES)
def test_set_registered_model_alias_rejects_reserved_and_malformed_names(
    registry: RegistryStore, model: str, alias: str
) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.set_registered_model_alias(model, alias, 1)
    assert registry.get_registered_model(model).aliases == ()


def test_set_registered_model_alias_on_an_unknown_version_raises_version_not_found(
    registry: RegistryStore, model: str
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.set_registered_model_alias(model, "champion", 99)
    assert registry.get_registered_model(model).aliases == ()


def test_set_registered_model_alias_on_an_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    # MLflow looks the version up directly and reports the version as missing.
    with pytest.raises(ModelVersionNotFound):
        registry.set_registered_model_alias("nope", "champion", 1)


def test_set_registered_model_alias_leaves_last_updated_timestamp_alone(
    registry: RegistryStore, model: str
) -> None:
    before = registry.get_registered_model(model).last_updated_timestamp
    version_before = registry.get_model_version(model, 1).last_updated_timestamp

    registry.set_registered_model_alias(model, "champion", 1)
    registry.delete_registered_model_alias(model, "champion")

    assert registry.get_registered_model(model).last_updated_timestamp == before
    assert registry.get_model_version(model, 1).last_updated_timestamp == version_before


# --- delete ----------------------------------------------------------------------------------------


def test_delete_registered_model_alias_removes_only_that_alias(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 1)
    registry.set_registered_model_alias(model, "challenger", 1)

    registry.delete_registered_model_alias(model, "champion")

    assert registry.get_registered_model(model).aliases_dict == {"challenger": 1}
    assert registry.get_model_version(model, 1).aliases == ("challenger",)
    with pytest.raises(InvalidParameterValue):
        registry.get_model_version_by_alias(model, "champion")


@pytest.mark.parametrize("alias", ["missing", "latest", "v1"])
def test_delete_registered_model_alias_missing_is_a_no_op(
    registry: RegistryStore, model: str, alias: str
) -> None:
    registry.set_registered_model_alias(model, "champion", 1)

    registry.delete_registered_model_alias(model, alias)

    assert registry.get_registered_model(model).aliases_dict == {"champion": 1}


@pytest.mark.parametrize("alias", BAD_ALIASES[:5])
def test_delete_registered_model_alias_rejects_malformed_names(
    registry: RegistryStore, model: str, alias: str
) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.delete_registered_model_alias(model, alias)


def test_delete_registered_model_alias_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.delete_registered_model_alias("nope", "champion")


# --- resolve ---------------------------------------------------------------------------------------


def test_get_model_version_by_alias_returns_the_full_version(registry: RegistryStore, model: str) -> None:
    registry.update_model_version(model, 2, "the good one")
    registry.set_registered_model_alias(model, "champion", 2)

    assert registry.get_model_version_by_alias(model, "champion") == registry.get_model_version(model, 2)


@pytest.mark.parametrize("alias", ["missing", "v1", "V3"])
def test_get_model_version_by_alias_unknown_alias_is_an_invalid_parameter(
    registry: RegistryStore, model: str, alias: str
) -> None:
    # MLflow answers INVALID_PARAMETER_VALUE here, not RESOURCE_DOES_NOT_EXIST.
    with pytest.raises(InvalidParameterValue):
        registry.get_model_version_by_alias(model, alias)


@pytest.mark.parametrize("alias", ["champion", "latest"])
def test_get_model_version_by_alias_unknown_model_raises_not_found(
    registry: RegistryStore, alias: str
) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.get_model_version_by_alias("nope", alias)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest"])
def test_get_model_version_by_alias_latest_is_the_highest_live_version(
    registry: RegistryStore, model: str, alias: str
) -> None:
    registry.transition_model_version_stage(model, 1, "Production")
    registry.transition_model_version_stage(model, 2, "Archived")

    assert registry.get_model_version_by_alias(model, alias).version == 3
    registry.delete_model_version(model, 3)
    assert registry.get_model_version_by_alias(model, alias).version == 2


def test_get_model_version_by_alias_latest_without_versions_raises_not_found(registry: RegistryStore) -> None:
    registry.create_registered_model("empty")

    with pytest.raises(ResourceDoesNotExist):
        registry.get_model_version_by_alias("empty", "latest")


@pytest.mark.parametrize("alias", ["a.b", "a b"])
def test_get_model_version_by_alias_rejects_malformed_names(
    registry: RegistryStore, model: str, alias: str
) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.get_model_version_by_alias(model, alias)


# --- aliases follow versions and models -----------------------------------------------------------


def test_delete_model_version_removes_its_aliases(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 2)
    registry.set_registered_model_alias(model, "shadow", 2)
    registry.set_registered_model_alias(model, "challenger", 3)

    registry.delete_model_version(model, 2)

    assert registry.get_registered_model(model).aliases_dict == {"challenger": 3}
    for alias in ("champion", "shadow"):
        with pytest.raises(InvalidParameterValue):
            registry.get_model_version_by_alias(model, alias)


def test_a_removed_alias_does_not_come_back_with_a_new_version(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 3)
    registry.delete_model_version(model, 3)

    registry.create_model_version(model, "s")

    with pytest.raises(InvalidParameterValue):
        registry.get_model_version_by_alias(model, "champion")
    assert registry.get_model_version(model, 4).aliases == ()


def test_rename_registered_model_keeps_aliases_resolvable(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 2)

    registry.rename_registered_model(model, "renamed")

    assert registry.get_model_version_by_alias("renamed", "champion").version == 2
    assert registry.get_registered_model("renamed").aliases_dict == {"champion": 2}
    with pytest.raises(RegisteredModelNotFound):
        registry.get_model_version_by_alias(model, "champion")


def test_aliases_show_on_latest_versions_and_transitions(registry: RegistryStore, model: str) -> None:
    registry.set_registered_model_alias(model, "champion", 3)

    moved = registry.transition_model_version_stage(model, 3, "Production")

    assert moved.aliases == ("champion",)
    assert registry.update_model_version(model, 3, "d").aliases == ("champion",)
    production = [
        mv
        for mv in registry.get_registered_model(model).latest_versions
        if mv.current_stage is Stage.PRODUCTION
    ]
    assert [mv.aliases for mv in production] == [("champion",)]
