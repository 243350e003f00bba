"""Import (migration): registered models and versions written with their original numbers and times.

User stories of ``genesis migrate``, run on every backend (see conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from genesis_flow.core.errors import (
    InvalidParameterValue,
    RegisteredModelAlreadyExists,
    RegisteredModelNotFound,
    ResourceAlreadyExists,
)
from genesis_flow.core.registry import (
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
    Stage,
)
from genesis_flow.ports import RegistryStore
from genesis_flow.testing.backend import Backend
from genesis_flow.testing.support import TickingClock

pytestmark = pytest.mark.genesis_requires("registry", "import")

T0 = 1_600_000_000_000


def original_model(name: str = "m", **changes: object) -> RegisteredModel:
    fields: dict[str, object] = {
        "name": name,
        "creation_timestamp": T0,
        "last_updated_timestamp": T0 + 500,
        "description": "from the old server",
        "tags": (RegisteredModelTag("team", "a"),),
    }
    fields.update(changes)
    return RegisteredModel(**fields)  # type: ignore[arg-type]


def original_version(number: int, name: str = "m", **changes: object) -> ModelVersion:
    fields: dict[str, object] = {
        "name": name,
        "version": number,
        "creation_timestamp": T0 + number,
        "last_updated_timestamp": T0 + 100 + number,
        "current_stage": Stage.PRODUCTION,
        "description": f"v{number}",
        "user_id": "alice",
        "source": f"s3://bucket/{number}",
        "run_id": "0123456789abcdef0123456789abcdef",
        "status": ModelVersionStatus.READY,
        "status_message": "ok",
        "run_link": "http://example/run",
        "model_id": "m-abc",
        "tags": (ModelVersionTag("k", str(number)),),
    }
    fields.update(changes)
    return ModelVersion(**fields)  # type: ignore[arg-type]


# --- registered models -----------------------------------------------------------------------------


def test_import_registered_model_keeps_times_description_and_tags(registry: RegistryStore) -> None:
    registry.import_registered_model(original_model())

    assert registry.get_registered_model("m") == original_model()


def test_import_registered_model_ignores_versions_and_aliases_it_carries(registry: RegistryStore) -> None:
    registry.import_registered_model(
        original_model(latest_versions=(original_version(1),), aliases=(RegisteredModelAlias("a", 1),))
    )

    imported = registry.get_registered_model("m")
    assert (imported.latest_versions, imported.aliases) == ((), ())


def test_import_registered_model_twice_raises_already_exists(registry: RegistryStore) -> None:
    registry.import_registered_model(original_model())

    with pytest.raises(RegisteredModelAlreadyExists):
        registry.import_registered_model(original_model(description="other"))
    assert registry.get_registered_model("m").description == "from the old server"


def test_import_registered_model_over_a_created_one_raises_already_exists(registry: RegistryStore) -> None:
    registry.create_registered_model("m")

    with pytest.raises(RegisteredModelAlreadyExists):
        registry.import_registered_model(original_model())


@pytest.mark.parametrize("name", ["", "a/b", "a:b"])
def test_import_registered_model_rejects_bad_names(registry: RegistryStore, name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.import_registered_model(original_model(name))


def test_import_registered_model_rejects_bad_tags(registry: RegistryStore) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.import_registered_model(original_model(tags=(RegisteredModelTag("a@b", "v"),)))
    with pytest.raises(RegisteredModelNotFound):
        registry.get_registered_model("m")


# --- model versions --------------------------------------------------------------------------------


def test_import_model_version_keeps_every_field(registry: RegistryStore) -> None:
    registry.import_registered_model(original_model())

    registry.import_model_version(original_version(7, aliases=("champion",)))

    assert registry.get_model_version("m", 7) == original_version(7, aliases=("champion",))
    assert registry.get_model_version_by_alias("m", "champion").version == 7
    assert registry.get_registered_model("m").aliases_dict == {"champion": 7}


def test_import_model_version_leaves_the_model_times_alone(registry: RegistryStore) -> None:
    registry.import_registered_model(original_model())

    registry.import_model_version(original_version(1))

    imported = registry.get_registered_model("m")
    assert (imported.creation_timestamp, imported.last_updated_timestamp) == (T0, T0 + 500)


@pytest.mark.parametrize(
    ("imported", "next_number"), [([1], 2), ([5], 6), ([1, 2, 3], 4), ([3, 1], 4), ([2, 9, 4], 10)]
)
def test_create_model_version_numbers_after_the_highest_imported(
    registry: RegistryStore, imported: list[int], next_number: int
) -> None:
    registry.import_registered_model(original_model())
    for number in imported:
        registry.import_model_version(original_version(number))

    assert registry.create_model_version("m", "s").version == next_number


def test_import_model_version_fills_a_gap_below_the_highest(registry: RegistryStore) -> None:
    registry.import_registered_model(original_model())
    registry.import_model_version(original_version(3))

    registry.import_model_version(original_version(2))

    assert [registry.get_model_version("m", n).version for n in (2, 3)] == [2, 3]


def test_import_model_version_over_an_existing_number_raises_already_exists(registry: RegistryStore) -> None:
    registry.import_registered_model(original_model())
    registry.import_model_version(original_version(1))

    with pytest.raises(ResourceAlreadyExists):
        registry.import_model_version(original_version(1, description="other"))
    assert registry.get_model_version("m", 1).description == "v1"


def test_import_model_version_over_a_created_number_raises_already_exists(registry: RegistryStore) -> None:
    registry.create_registered_model("m")
    registry.create_model_version("m", "s")

    with pytest.raises(ResourceAlreadyExists):
        registry.import_model_version(original_version(1))


def test_import_model_version_cannot_revive_a_deleted_number(registry: RegistryStore) -> None:
    registry.create_registered_model("m")
    registry.create_model_version("m", "s")
    registry.create_model_version("m", "s")
    registry.delete_model_version("m", 2)

    # Numbers are never reused, not even by an import.
    with pytest.raises(ResourceAlreadyExists):
        registry.import_model_version(original_version(2))


def test_import_model_version_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.import_model_version(original_version(1))


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"tags": (ModelVersionTag("a@b", "v"),)}, id="bad-tag-key"),
        pytest.param({"aliases": ("latest",)}, id="reserved-alias"),
        pytest.param({"aliases": ("a.b",)}, id="malformed-alias"),
        pytest.param({"version": 0}, id="version-zero"),
    ],
)
def test_import_model_version_rejects_invalid_versions(registry: RegistryStore, bad: dict[str, Any]) -> None:
    registry.import_registered_model(original_model())
    version = original_version(1, **bad)

    with pytest.raises(InvalidParameterValue):
        registry.import_model_version(version)
    assert registry.get_registered_model("m").latest_versions == ()


@pytest.mark.parametrize("stage", list(Stage))
def test_import_model_version_keeps_its_stage_for_latest_versions(
    registry: RegistryStore, stage: Stage
) -> None:
    registry.import_registered_model(original_model())
    registry.import_model_version(original_version(1, current_stage=stage))

    assert [(mv.version, mv.current_stage) for mv in registry.get_latest_versions("m", [stage.value])] == [
        (1, stage)
    ]


def test_migrating_a_registry_reproduces_it(
    registry: RegistryStore, backend: Backend, clock: TickingClock
) -> None:
    registry.create_registered_model("a", tags=[RegisteredModelTag("team", "x")], description="model a")
    for i in range(4):
        registry.create_model_version("a", f"s{i}", run_id=f"run{i}", tags=[ModelVersionTag("i", str(i))])
    registry.delete_model_version("a", 2)
    registry.transition_model_version_stage("a", 3, "Production")
    registry.set_registered_model_alias("a", "champion", 3)
    registry.set_registered_model_alias("a", "old", 1)
    registry.create_registered_model("b")

    target = backend.make_registry(clock)
    for name in ("a", "b"):
        source_model = registry.get_registered_model(name)
        target.import_registered_model(source_model)
        for number in range(1, 5):
            if name == "a" and number != 2:
                target.import_model_version(registry.get_model_version(name, number))

    for name in ("a", "b"):
        assert target.get_registered_model(name) == registry.get_registered_model(name)
    for number in (1, 3, 4):
        assert target.get_model_version("a", number) == registry.get_model_version("a", number)
    assert (
        target.create_model_version("a", "s").version == registry.create_model_version("a", "s").version == 5
    )
