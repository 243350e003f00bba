"""Model versions: numbering, get/update/delete, tags, stages and get_latest_versions.

User stories of MLflow's model registry, run on every backend (see conftest.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from genesis_flow.core.errors import (
    InvalidParameterValue,
    ModelVersionNotFound,
    RegisteredModelNotFound,
)
from genesis_flow.core.registry import ModelVersionStatus, ModelVersionTag, Stage
from genesis_flow.ports import RegistryStore
from genesis_flow.testing.support import TickingClock

BAD_TAG_KEYS = ["", "a@b", "a\\b", "a/../b", "/abs", "x" * 251]


def stages(registry: RegistryStore, name: str, *numbers: int) -> list[Stage]:
    return [registry.get_model_version(name, n).current_stage for n in numbers]


@pytest.fixture
def model(registry: RegistryStore) -> str:
    registry.create_registered_model("m")
    return "m"


# --- create ----------------------------------------------------------------------------------------


def test_create_model_version_returns_a_ready_version_in_stage_none(
    registry: RegistryStore, model: str, clock: TickingClock
) -> None:
    mv = registry.create_model_version(
        model,
        "s3://bucket/path/model",
        run_id="abc123",
        tags=[ModelVersionTag("k", "v")],
        run_link="http://example/run",
        description="first",
        user_id="alice",
        model_id="m-123",
    )

    assert (mv.name, mv.version) == (model, 1)
    assert mv.current_stage is Stage.NONE
    assert mv.status is ModelVersionStatus.READY
    assert mv.source == "s3://bucket/path/model"
    assert (mv.run_id, mv.run_link, mv.description, mv.user_id, mv.model_id) == (
        "abc123",
        "http://example/run",
        "first",
        "alice",
        "m-123",
    )
    assert mv.tags_dict == {"k": "v"}
    assert mv.aliases == ()
    assert mv.creation_timestamp == mv.last_updated_timestamp <= clock.now
    assert registry.get_model_version(model, 1) == mv


def test_create_model_version_minimal_leaves_optional_fields_empty(
    registry: RegistryStore, model: str
) -> None:
    mv = registry.create_model_version(model, "runs:/abc/model")

    assert (mv.run_id, mv.run_link, mv.description, mv.user_id, mv.model_id, mv.status_message) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert mv.tags == ()


def test_create_model_version_numbers_one_to_n(registry: RegistryStore, model: str) -> None:
    numbers = [registry.create_model_version(model, f"s{i}").version for i in range(5)]

    assert numbers == [1, 2, 3, 4, 5]


def test_create_model_version_numbers_each_model_separately(registry: RegistryStore) -> None:
    registry.create_registered_model("a")
    registry.create_registered_model("b")

    got = [registry.create_model_version(name, "s").version for name in ("a", "b", "a", "b", "a")]

    assert got == [1, 1, 2, 2, 3]


def test_create_model_version_never_reuses_the_number_of_a_deleted_last_version(
    registry: RegistryStore, model: str
) -> None:
    for _ in range(3):
        registry.create_model_version(model, "s")
    registry.delete_model_version(model, 3)

    assert registry.create_model_version(model, "s").version == 4


def test_create_model_version_after_deleting_every_version_keeps_counting(
    registry: RegistryStore, model: str
) -> None:
    registry.create_model_version(model, "s")
    registry.create_model_version(model, "s")
    registry.delete_model_version(model, 1)
    registry.delete_model_version(model, 2)

    assert registry.create_model_version(model, "s").version == 3


@pytest.mark.genesis_requires("concurrency")
def test_create_model_version_concurrently_gives_gapless_unique_numbers(
    registry: RegistryStore, model: str
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(lambda i: registry.create_model_version(model, f"s{i}"), range(40)))

    numbers = sorted(mv.version for mv in versions)
    assert numbers == list(range(1, 41))
    # Each caller got back the version it created.
    assert all(registry.get_model_version(model, mv.version).source == mv.source for mv in versions)


@pytest.mark.genesis_requires("concurrency")
def test_create_model_version_concurrently_on_two_models_numbers_each_gaplessly(
    registry: RegistryStore,
) -> None:
    registry.create_registered_model("a")
    registry.create_registered_model("b")

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(lambda i: registry.create_model_version("ab"[i % 2], "s"), range(32)))

    for name in ("a", "b"):
        assert sorted(mv.version for mv in versions if mv.name == name) == list(range(1, 17))


def test_create_model_version_bumps_the_model_last_updated_timestamp(
    registry: RegistryStore, model: str
) -> None:
    before = registry.get_registered_model(model).last_updated_timestamp

    mv = registry.create_model_version(model, "s")

    assert registry.get_registered_model(model).last_updated_timestamp == mv.creation_timestamp > before


def test_create_model_version_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.create_model_version("nope", "s")


@pytest.mark.parametrize("key", BAD_TAG_KEYS)
def test_create_model_version_with_a_bad_tag_creates_nothing(
    registry: RegistryStore, model: str, key: str
) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.create_model_version(model, "s", tags=[ModelVersionTag(key, "v")])

    assert registry.get_registered_model(model).latest_versions == ()
    assert registry.create_model_version(model, "s").version == 1


def test_create_model_version_with_a_repeated_tag_key_keeps_the_last_value(
    registry: RegistryStore, model: str
) -> None:
    mv = registry.create_model_version(
        model, "s", tags=[ModelVersionTag("k", "1"), ModelVersionTag("k", "2")]
    )

    assert mv.tags == (ModelVersionTag("k", "2"),)


# --- get / update / download uri -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "version"), [("m", 2), ("m", 0), ("m", -1), ("nope", 1)])
def test_get_model_version_unknown_raises_version_not_found(
    registry: RegistryStore, model: str, name: str, version: int
) -> None:
    registry.create_model_version(model, "s")

    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version(name, version)


def test_get_model_version_accepts_a_numeric_string(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s")

    assert registry.get_model_version(model, "1").version == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["abc", "1.0", ""])
def test_get_model_version_rejects_a_non_integer_version(
    registry: RegistryStore, model: str, version: str
) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.get_model_version(model, version)  # type: ignore[arg-type]


def test_update_model_version_replaces_the_description(registry: RegistryStore, model: str) -> None:
    created = registry.create_model_version(model, "s", description="old")
    model_before = registry.get_registered_model(model).last_updated_timestamp

    updated = registry.update_model_version(model, 1, "new")

    assert updated.description == "new"
    assert updated.last_updated_timestamp > created.last_updated_timestamp
    assert updated.creation_timestamp == created.creation_timestamp
    assert registry.get_model_version(model, 1) == updated
    # MLflow moves only the version's time here, not the model's.
    assert registry.get_registered_model(model).last_updated_timestamp == model_before


def test_update_model_version_with_none_clears_the_description(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s", description="old")

    assert registry.update_model_version(model, 1, None).description is None


@pytest.mark.parametrize(("name", "version"), [("m", 9), ("nope", 1)])
def test_update_model_version_unknown_raises_version_not_found(
    registry: RegistryStore, model: str, name: str, version: int
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.update_model_version(name, version, "d")


def test_get_model_version_download_uri_is_the_source(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s3://bucket/a")
    registry.create_model_version(model, "wasbs://c@acct.blob.core.windows.net/b")

    assert registry.get_model_version_download_uri(model, 1) == "s3://bucket/a"
    assert registry.get_model_version_download_uri(model, 2) == "wasbs://c@acct.blob.core.windows.net/b"


def test_get_model_version_download_uri_unknown_raises_version_not_found(
    registry: RegistryStore, model: str
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version_download_uri(model, 1)


# --- delete ----------------------------------------------------------------------------------------


def test_delete_model_version_hides_it_everywhere(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s")
    registry.create_model_version(model, "s")

    registry.delete_model_version(model, 2)

    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version(model, 2)
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version_download_uri(model, 2)
    assert [mv.version for mv in registry.get_latest_versions(model)] == [1]
    assert registry.get_model_version(model, 1).version == 1


def test_delete_model_version_bumps_the_model_last_updated_timestamp(
    registry: RegistryStore, model: str
) -> None:
    registry.create_model_version(model, "s")
    before = registry.get_registered_model(model).last_updated_timestamp

    registry.delete_model_version(model, 1)

    assert registry.get_registered_model(model).last_updated_timestamp > before


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda r: r.delete_model_version("m", 1), id="delete"),
        pytest.param(lambda r: r.update_model_version("m", 1, "d"), id="update"),
        pytest.param(lambda r: r.transition_model_version_stage("m", 1, "Production"), id="transition"),
        pytest.param(lambda r: r.set_model_version_tag("m", 1, ModelVersionTag("k", "v")), id="set_tag"),
        pytest.param(lambda r: r.delete_model_version_tag("m", 1, "k"), id="delete_tag"),
        pytest.param(lambda r: r.set_registered_model_alias("m", "champion", 1), id="set_alias"),
    ],
)
def test_a_deleted_model_version_cannot_be_changed(
    registry: RegistryStore, model: str, operation: object
) -> None:
    registry.create_model_version(model, "s")
    registry.delete_model_version(model, 1)

    with pytest.raises(ModelVersionNotFound):
        operation(registry)  # type: ignore[operator]


@pytest.mark.parametrize(("name", "version"), [("m", 5), ("nope", 1)])
def test_delete_model_version_unknown_raises_version_not_found(
    registry: RegistryStore, model: str, name: str, version: int
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.delete_model_version(name, version)


# --- version tags ----------------------------------------------------------------------------------


def test_set_model_version_tag_adds_and_overwrites(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s")

    registry.set_model_version_tag(model, 1, ModelVersionTag("k", "1"))
    registry.set_model_version_tag(model, 1, ModelVersionTag("b", "x"))
    registry.set_model_version_tag(model, 1, ModelVersionTag("k", "2"))

    mv = registry.get_model_version(model, 1)
    assert mv.tags_dict == {"b": "x", "k": "2"}
    assert [t.key for t in mv.tags] == ["b", "k"]


def test_set_model_version_tag_touches_only_that_version(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s")
    registry.create_model_version(model, "s")

    registry.set_model_version_tag(model, 2, ModelVersionTag("k", "v"))

    assert registry.get_model_version(model, 1).tags == ()


@pytest.mark.parametrize("key", BAD_TAG_KEYS)
def test_set_model_version_tag_rejects_bad_keys(registry: RegistryStore, model: str, key: str) -> None:
    registry.create_model_version(model, "s")

    with pytest.raises(InvalidParameterValue):
        registry.set_model_version_tag(model, 1, ModelVersionTag(key, "v"))


@pytest.mark.parametrize(("length", "ok"), [(100_000, True), (100_001, False)])
def test_set_model_version_tag_value_limit_is_100000(
    registry: RegistryStore, model: str, length: int, ok: bool
) -> None:
    registry.create_model_version(model, "s")
    tag = ModelVersionTag("k", "x" * length)

    if ok:
        registry.set_model_version_tag(model, 1, tag)
        assert registry.get_model_version(model, 1).tags == (tag,)
    else:
        with pytest.raises(InvalidParameterValue):
            registry.set_model_version_tag(model, 1, tag)


def test_set_model_version_tag_rejects_a_none_value(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s")

    with pytest.raises(InvalidParameterValue):
        registry.set_model_version_tag(model, 1, ModelVersionTag("k", None))  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "version"), [("m", 3), ("nope", 1)])
def test_set_model_version_tag_unknown_version_raises_not_found(
    registry: RegistryStore, model: str, name: str, version: int
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.set_model_version_tag(name, version, ModelVersionTag("k", "v"))


def test_delete_model_version_tag_removes_it_and_ignores_missing_keys(
    registry: RegistryStore, model: str
) -> None:
    registry.create_model_version(model, "s", tags=[ModelVersionTag("a", "1"), ModelVersionTag("b", "2")])

    registry.delete_model_version_tag(model, 1, "a")
    registry.delete_model_version_tag(model, 1, "missing")

    assert registry.get_model_version(model, 1).tags_dict == {"b": "2"}


def test_delete_model_version_tag_unknown_version_raises_not_found(
    registry: RegistryStore, model: str
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.delete_model_version_tag(model, 1, "k")


def test_model_version_tag_writes_leave_both_timestamps_alone(registry: RegistryStore, model: str) -> None:
    mv = registry.create_model_version(model, "s")
    model_before = registry.get_registered_model(model).last_updated_timestamp

    registry.set_model_version_tag(model, 1, ModelVersionTag("k", "v"))
    registry.delete_model_version_tag(model, 1, "k")

    assert registry.get_model_version(model, 1).last_updated_timestamp == mv.last_updated_timestamp
    assert registry.get_registered_model(model).last_updated_timestamp == model_before


# --- stages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("staging", Stage.STAGING),
        ("Staging", Stage.STAGING),
        ("PRODUCTION", Stage.PRODUCTION),
        ("production", Stage.PRODUCTION),
        ("archived", Stage.ARCHIVED),
        ("none", Stage.NONE),
        ("None", Stage.NONE),
        (Stage.PRODUCTION, Stage.PRODUCTION),
    ],
)
def test_transition_model_version_stage_parses_stages_case_insensitively(
    registry: RegistryStore, model: str, given: str | Stage, expected: Stage
) -> None:
    registry.create_model_version(model, "s")

    moved = registry.transition_model_version_stage(model, 1, given)

    assert moved.current_stage is expected
    assert registry.get_model_version(model, 1).current_stage is expected


@pytest.mark.parametrize("stage", ["bogus", "", "Deleted_Internal", "prod"])
def test_transition_model_version_stage_rejects_unknown_stages(
    registry: RegistryStore, model: str, stage: str
) -> None:
    registry.create_model_version(model, "s")

    with pytest.raises(InvalidParameterValue):
        registry.transition_model_version_stage(model, 1, stage)
    assert registry.get_model_version(model, 1).current_stage is Stage.NONE


def test_transition_model_version_stage_bumps_version_and_model_times(
    registry: RegistryStore, model: str
) -> None:
    mv = registry.create_model_version(model, "s")

    moved = registry.transition_model_version_stage(model, 1, "Staging")

    assert moved.last_updated_timestamp > mv.last_updated_timestamp
    assert registry.get_registered_model(model).last_updated_timestamp == moved.last_updated_timestamp


@pytest.mark.parametrize(("name", "version"), [("m", 7), ("nope", 1)])
def test_transition_model_version_stage_unknown_raises_version_not_found(
    registry: RegistryStore, model: str, name: str, version: int
) -> None:
    with pytest.raises(ModelVersionNotFound):
        registry.transition_model_version_stage(name, version, "Staging")


@pytest.mark.parametrize("target", ["Production", "staging"])
def test_transition_with_archive_existing_archives_only_versions_in_the_target_stage(
    registry: RegistryStore, model: str, target: str
) -> None:
    for _ in range(5):
        registry.create_model_version(model, "s")
    target_stage = Stage.parse(target)
    other_stage = Stage.STAGING if target_stage is Stage.PRODUCTION else Stage.PRODUCTION
    registry.transition_model_version_stage(model, 1, target_stage)
    registry.transition_model_version_stage(model, 2, target_stage)
    registry.transition_model_version_stage(model, 3, other_stage)

    registry.transition_model_version_stage(model, 5, target, archive_existing_versions=True)

    assert stages(registry, model, 1, 2, 3, 4, 5) == [
        Stage.ARCHIVED,
        Stage.ARCHIVED,
        other_stage,
        Stage.NONE,
        target_stage,
    ]


def test_transition_with_archive_existing_stamps_the_archived_versions(
    registry: RegistryStore, model: str
) -> None:
    registry.create_model_version(model, "s")
    registry.create_model_version(model, "s")
    registry.transition_model_version_stage(model, 1, "Production")

    moved = registry.transition_model_version_stage(model, 2, "Production", archive_existing_versions=True)

    assert registry.get_model_version(model, 1).last_updated_timestamp == moved.last_updated_timestamp


def test_transition_with_archive_existing_keeps_the_moved_version_when_already_there(
    registry: RegistryStore, model: str
) -> None:
    registry.create_model_version(model, "s")
    registry.transition_model_version_stage(model, 1, "Production")

    registry.transition_model_version_stage(model, 1, "Production", archive_existing_versions=True)

    assert stages(registry, model, 1) == [Stage.PRODUCTION]


def test_transition_without_archive_existing_leaves_other_versions_alone(
    registry: RegistryStore, model: str
) -> None:
    registry.create_model_version(model, "s")
    registry.create_model_version(model, "s")
    registry.transition_model_version_stage(model, 1, "Production")

    registry.transition_model_version_stage(model, 2, "Production")

    assert stages(registry, model, 1, 2) == [Stage.PRODUCTION, Stage.PRODUCTION]


def test_transition_with_archive_existing_leaves_other_models_alone(
    registry: RegistryStore, model: str
) -> None:
    registry.create_registered_model("other")
    registry.create_model_version("other", "s")
    registry.transition_model_version_stage("other", 1, "Production")
    registry.create_model_version(model, "s")

    registry.transition_model_version_stage(model, 1, "Production", archive_existing_versions=True)

    assert stages(registry, "other", 1) == [Stage.PRODUCTION]


@pytest.mark.parametrize("target", ["Archived", "None", "archived"])
def test_transition_with_archive_existing_to_an_inactive_stage_is_refused(
    registry: RegistryStore, model: str, target: str
) -> None:
    registry.create_model_version(model, "s")
    registry.create_model_version(model, "s")
    registry.transition_model_version_stage(model, 1, "Archived")

    # MLflow raises this without an error code (INTERNAL_ERROR); it is bad input, so we say so.
    with pytest.raises(InvalidParameterValue):
        registry.transition_model_version_stage(model, 2, target, archive_existing_versions=True)
    assert stages(registry, model, 1, 2) == [Stage.ARCHIVED, Stage.NONE]


# --- get_latest_versions ---------------------------------------------------------------------------


@pytest.fixture
def staged(registry: RegistryStore, model: str) -> str:
    """Versions 1-6 of ``m``: 1 and 2 Archived, 3 Staging, 4 Production, 5 and 6 None."""
    for _ in range(6):
        registry.create_model_version(model, "s")
    registry.transition_model_version_stage(model, 1, "Archived")
    registry.transition_model_version_stage(model, 2, "Archived")
    registry.transition_model_version_stage(model, 3, "Staging")
    registry.transition_model_version_stage(model, 4, "Production")
    return model


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (None, [2, 3, 4, 6]),
        ([], [2, 3, 4, 6]),
        (["production"], [4]),
        (["Production"], [4]),
        (["STAGING", "archived"], [2, 3]),
        (["None"], [6]),
        (["Production", "production"], [4]),
    ],
)
def test_get_latest_versions_returns_the_highest_version_per_requested_stage(
    registry: RegistryStore, staged: str, wanted: list[str] | None, expected: list[int]
) -> None:
    assert [mv.version for mv in registry.get_latest_versions(staged, wanted)] == expected


def test_get_latest_versions_for_an_empty_stage_returns_nothing(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s")

    assert registry.get_latest_versions(model, ["Production"]) == ()


def test_get_latest_versions_of_a_model_without_versions_is_empty(
    registry: RegistryStore, model: str
) -> None:
    assert registry.get_latest_versions(model) == ()


def test_get_latest_versions_carries_aliases_and_tags(registry: RegistryStore, model: str) -> None:
    registry.create_model_version(model, "s", tags=[ModelVersionTag("k", "v")])
    registry.set_registered_model_alias(model, "champion", 1)

    (latest,) = registry.get_latest_versions(model)

    assert latest.aliases == ("champion",)
    assert latest.tags_dict == {"k": "v"}


def test_get_latest_versions_rejects_an_unknown_stage(registry: RegistryStore, staged: str) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.get_latest_versions(staged, ["bogus"])


def test_get_latest_versions_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.get_latest_versions("nope")
