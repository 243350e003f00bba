"""Registered models: create, get, update, rename, delete, and their tags.

User stories of MLflow's model registry, run on every backend (see conftest.py).
"""

from __future__ import annotations

import pytest

from genesis_flow.core.errors import (
    InvalidParameterValue,
    ModelVersionNotFound,
    RegisteredModelAlreadyExists,
    RegisteredModelNotFound,
)
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag, Stage
from genesis_flow.ports import RegistryStore
from genesis_flow.testing.support import TickingClock

BAD_MODEL_NAMES = ["", "   ", "a/b", "a:b", "..", "./x"]
GOOD_MODEL_NAMES = ["m", "a.b", "a b", "a@b", "é-model", "x" * 300]
BAD_TAG_KEYS = ["", "a@b", "a#b", "a\nb", "a/../b", "/abs", "x" * 251]


# --- create / get ----------------------------------------------------------------------------------


def test_create_registered_model_returns_the_new_model(registry: RegistryStore, clock: TickingClock) -> None:
    model = registry.create_registered_model(
        "m", tags=[RegisteredModelTag("team", "a")], description="first model"
    )

    assert model.name == "m"
    assert model.description == "first model"
    assert model.tags_dict == {"team": "a"}
    assert model.aliases == ()
    assert model.latest_versions == ()
    assert model.creation_timestamp == model.last_updated_timestamp <= clock.now


def test_create_registered_model_times_come_from_the_clock(
    registry: RegistryStore, clock: TickingClock
) -> None:
    clock.now = 5_000_000
    model = registry.create_registered_model("m")

    assert model.creation_timestamp == model.last_updated_timestamp
    assert 5_000_000 < model.creation_timestamp <= clock.now


def test_get_registered_model_returns_what_was_created(registry: RegistryStore) -> None:
    created = registry.create_registered_model("m", tags=[RegisteredModelTag("k", "v")], description="d")

    assert registry.get_registered_model("m") == created


@pytest.mark.parametrize("name", GOOD_MODEL_NAMES)
def test_create_registered_model_accepts_mlflow_names(registry: RegistryStore, name: str) -> None:
    registry.create_registered_model(name)

    assert registry.get_registered_model(name).name == name


@pytest.mark.parametrize("name", BAD_MODEL_NAMES)
def test_create_registered_model_rejects_bad_names(registry: RegistryStore, name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.create_registered_model(name)


def test_create_registered_model_rejects_a_duplicate_name(registry: RegistryStore) -> None:
    registry.create_registered_model("m", description="original")

    with pytest.raises(RegisteredModelAlreadyExists):
        registry.create_registered_model("m", description="impostor")
    assert registry.get_registered_model("m").description == "original"


PROMPT = RegisteredModelTag("mlflow.prompt.is_prompt", "true")
# MLflow's wording (its store's name-conflict messages).
TAKEN_BY_MODEL = (
    "Tried to create a prompt with name 'm', but the name is already taken by a registered model."
)
TAKEN_BY_PROMPT = (
    "Tried to create a registered model with name 'm', but the name is already taken by a prompt."
)


@pytest.mark.parametrize(
    ("holder", "newcomer", "message"),
    [
        ((), (), "Registered Model (name=m) already exists."),
        ((PROMPT,), (PROMPT,), "Prompt (name=m) already exists."),
        ((), (PROMPT,), TAKEN_BY_MODEL),
        ((PROMPT,), (), TAKEN_BY_PROMPT),
        # MLflow asks whether the tag is there, not what it says.
        ((RegisteredModelTag(PROMPT.key, "false"),), (), TAKEN_BY_PROMPT),
    ],
    ids=["model-model", "prompt-prompt", "model-prompt", "prompt-model", "tag-false"],
)
def test_create_registered_model_on_a_taken_name_says_whether_a_prompt_holds_it(
    registry: RegistryStore,
    holder: tuple[RegisteredModelTag, ...],
    newcomer: tuple[RegisteredModelTag, ...],
    message: str,
) -> None:
    registry.create_registered_model("m", tags=holder)

    with pytest.raises(RegisteredModelAlreadyExists) as caught:
        registry.create_registered_model("m", tags=newcomer)
    assert caught.value.message.startswith(message)
    assert registry.get_registered_model("m").tags == holder


def test_rename_registered_model_onto_a_prompt_says_the_model_exists(registry: RegistryStore) -> None:
    registry.create_registered_model("m")
    registry.create_registered_model("p", tags=[PROMPT])

    with pytest.raises(RegisteredModelAlreadyExists, match=r"^Registered Model \(name=p\) already exists\."):
        registry.rename_registered_model("m", "p")


def test_create_registered_model_names_are_case_sensitive(registry: RegistryStore) -> None:
    registry.create_registered_model("Model")
    registry.create_registered_model("model")

    assert registry.get_registered_model("Model").name == "Model"
    assert registry.get_registered_model("model").name == "model"


def test_create_registered_model_with_a_repeated_tag_key_keeps_the_last_value(
    registry: RegistryStore,
) -> None:
    model = registry.create_registered_model(
        "m", tags=[RegisteredModelTag("k", "1"), RegisteredModelTag("k", "2")]
    )

    assert model.tags == (RegisteredModelTag("k", "2"),)


@pytest.mark.parametrize("key", BAD_TAG_KEYS)
def test_create_registered_model_with_a_bad_tag_creates_nothing(registry: RegistryStore, key: str) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.create_registered_model("m", tags=[RegisteredModelTag(key, "v")])

    with pytest.raises(RegisteredModelNotFound):
        registry.get_registered_model("m")


def test_get_registered_model_unknown_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.get_registered_model("nope")


@pytest.mark.parametrize("name", ["a/b", "a:b"])
def test_get_registered_model_bad_name_is_invalid_not_missing(registry: RegistryStore, name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        registry.get_registered_model(name)


def test_get_registered_model_tags_come_sorted_by_key(registry: RegistryStore) -> None:
    registry.create_registered_model("m", tags=[RegisteredModelTag(k, k) for k in ("z", "a", "m")])

    assert [t.key for t in registry.get_registered_model("m").tags] == ["a", "m", "z"]


# --- latest_versions on the model ------------------------------------------------------------------


def test_get_registered_model_lists_the_highest_version_of_each_stage(registry: RegistryStore) -> None:
    registry.create_registered_model("m")
    for _ in range(6):
        registry.create_model_version("m", "s3://bucket/model")
    registry.transition_model_version_stage("m", 1, "Archived")
    registry.transition_model_version_stage("m", 2, "Archived")
    registry.transition_model_version_stage("m", 3, "Staging")
    registry.transition_model_version_stage("m", 4, "Production")

    latest = registry.get_registered_model("m").latest_versions

    assert [(mv.version, mv.current_stage) for mv in latest] == [
        (2, Stage.ARCHIVED),
        (3, Stage.STAGING),
        (4, Stage.PRODUCTION),
        (6, Stage.NONE),
    ]


def test_get_registered_model_latest_versions_skip_deleted_versions(registry: RegistryStore) -> None:
    registry.create_registered_model("m")
    registry.create_model_version("m", "s")
    registry.create_model_version("m", "s")
    registry.delete_model_version("m", 2)

    assert [mv.version for mv in registry.get_registered_model("m").latest_versions] == [1]


# --- update ----------------------------------------------------------------------------------------


def test_update_registered_model_replaces_the_description(registry: RegistryStore) -> None:
    created = registry.create_registered_model("m", description="old")

    updated = registry.update_registered_model("m", "new")

    assert updated.description == "new"
    assert updated.last_updated_timestamp > created.last_updated_timestamp
    assert updated.creation_timestamp == created.creation_timestamp
    assert registry.get_registered_model("m") == updated


def test_update_registered_model_with_none_clears_the_description(registry: RegistryStore) -> None:
    registry.create_registered_model("m", description="old")

    assert registry.update_registered_model("m", None).description is None
    assert registry.get_registered_model("m").description is None


def test_update_registered_model_unknown_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.update_registered_model("nope", "d")


# --- rename ----------------------------------------------------------------------------------------


def test_rename_registered_model_moves_versions_tags_and_aliases(registry: RegistryStore) -> None:
    registry.create_registered_model("old", tags=[RegisteredModelTag("team", "a")], description="d")
    registry.create_model_version("old", "s1", tags=[ModelVersionTag("k", "v")])
    registry.create_model_version("old", "s2")
    registry.set_registered_model_alias("old", "champion", 1)

    renamed = registry.rename_registered_model("old", "new")

    assert renamed.name == "new"
    assert renamed.tags_dict == {"team": "a"}
    assert renamed.description == "d"
    assert renamed.aliases_dict == {"champion": 1}
    assert registry.get_registered_model("new") == renamed
    moved = registry.get_model_version("new", 1)
    assert (moved.name, moved.source, moved.tags_dict, moved.aliases) == (
        "new",
        "s1",
        {"k": "v"},
        ("champion",),
    )
    assert registry.get_model_version_by_alias("new", "champion").version == 1
    assert registry.get_model_version("new", 2).name == "new"


def test_rename_registered_model_frees_the_old_name(registry: RegistryStore) -> None:
    registry.create_registered_model("old")
    registry.create_model_version("old", "s")
    registry.rename_registered_model("old", "new")

    with pytest.raises(RegisteredModelNotFound):
        registry.get_registered_model("old")
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version("old", 1)
    registry.create_registered_model("old")
    assert registry.create_model_version("old", "s").version == 1


def test_rename_registered_model_continues_numbering_under_the_new_name(registry: RegistryStore) -> None:
    registry.create_registered_model("old")
    registry.create_model_version("old", "s")
    registry.create_model_version("old", "s")
    registry.delete_model_version("old", 2)
    registry.rename_registered_model("old", "new")

    assert registry.create_model_version("new", "s").version == 3


def test_rename_registered_model_bumps_model_and_version_times(registry: RegistryStore) -> None:
    created = registry.create_registered_model("old")
    version = registry.create_model_version("old", "s")

    renamed = registry.rename_registered_model("old", "new")

    assert renamed.last_updated_timestamp > version.last_updated_timestamp
    assert renamed.creation_timestamp == created.creation_timestamp
    moved = registry.get_model_version("new", 1)
    assert moved.last_updated_timestamp == renamed.last_updated_timestamp
    assert moved.creation_timestamp == version.creation_timestamp


def test_rename_registered_model_to_its_own_name_is_allowed(registry: RegistryStore) -> None:
    registry.create_registered_model("m", description="d")

    assert registry.rename_registered_model("m", "m").name == "m"
    assert registry.get_registered_model("m").description == "d"


def test_rename_registered_model_to_a_taken_name_changes_nothing(registry: RegistryStore) -> None:
    registry.create_registered_model("a")
    registry.create_model_version("a", "s")
    registry.create_registered_model("b")

    with pytest.raises(RegisteredModelAlreadyExists):
        registry.rename_registered_model("a", "b")
    assert registry.get_model_version("a", 1).name == "a"
    assert registry.get_registered_model("b").latest_versions == ()


@pytest.mark.parametrize("new_name", BAD_MODEL_NAMES)
def test_rename_registered_model_rejects_bad_new_names(registry: RegistryStore, new_name: str) -> None:
    registry.create_registered_model("m")

    with pytest.raises(InvalidParameterValue):
        registry.rename_registered_model("m", new_name)
    assert registry.get_registered_model("m").name == "m"


def test_rename_registered_model_unknown_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.rename_registered_model("nope", "new")


# --- delete ----------------------------------------------------------------------------------------


def test_delete_registered_model_removes_it_with_versions(registry: RegistryStore) -> None:
    registry.create_registered_model("m", tags=[RegisteredModelTag("k", "v")])
    registry.create_model_version("m", "s")
    registry.set_registered_model_alias("m", "champion", 1)

    registry.delete_registered_model("m")

    with pytest.raises(RegisteredModelNotFound):
        registry.get_registered_model("m")
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version("m", 1)


def test_delete_registered_model_then_recreate_starts_clean(registry: RegistryStore) -> None:
    registry.create_registered_model("m", tags=[RegisteredModelTag("k", "v")], description="d")
    registry.create_model_version("m", "s")
    registry.create_model_version("m", "s")
    registry.set_registered_model_alias("m", "champion", 2)
    registry.delete_registered_model("m")

    recreated = registry.create_registered_model("m")

    assert (recreated.tags, recreated.aliases, recreated.description) == ((), (), None)
    # MLflow deletes a model's versions with it, so numbering starts again at 1.
    assert registry.create_model_version("m", "s").version == 1
    with pytest.raises(InvalidParameterValue):
        registry.get_model_version_by_alias("m", "champion")


def test_delete_registered_model_twice_raises_not_found(registry: RegistryStore) -> None:
    registry.create_registered_model("m")
    registry.delete_registered_model("m")

    with pytest.raises(RegisteredModelNotFound):
        registry.delete_registered_model("m")


def test_delete_registered_model_leaves_other_models_alone(registry: RegistryStore) -> None:
    registry.create_registered_model("a")
    registry.create_model_version("a", "s")
    kept = registry.create_registered_model("b")
    registry.create_model_version("b", "s")

    registry.delete_registered_model("a")

    assert registry.get_registered_model("b").name == kept.name
    assert registry.get_model_version("b", 1).source == "s"


# --- tags ------------------------------------------------------------------------------------------


def test_set_registered_model_tag_adds_and_overwrites(registry: RegistryStore) -> None:
    registry.create_registered_model("m")

    registry.set_registered_model_tag("m", RegisteredModelTag("k", "1"))
    registry.set_registered_model_tag("m", RegisteredModelTag("other", "x"))
    registry.set_registered_model_tag("m", RegisteredModelTag("k", "2"))

    assert registry.get_registered_model("m").tags_dict == {"k": "2", "other": "x"}


@pytest.mark.parametrize("value", ["", "x" * 100_000, "multi\nline", "ünïcode"])
def test_set_registered_model_tag_accepts_values_up_to_the_limit(registry: RegistryStore, value: str) -> None:
    registry.create_registered_model("m")

    registry.set_registered_model_tag("m", RegisteredModelTag("k", value))

    assert registry.get_registered_model("m").tags_dict == {"k": value}


@pytest.mark.parametrize("key", ["a.b", "a/b", "a b", "a:b", "a-b_c", "x" * 250])
def test_set_registered_model_tag_accepts_mlflow_keys(registry: RegistryStore, key: str) -> None:
    registry.create_registered_model("m")

    registry.set_registered_model_tag("m", RegisteredModelTag(key, "v"))

    assert registry.get_registered_model("m").tags_dict == {key: "v"}


@pytest.mark.parametrize("key", BAD_TAG_KEYS)
def test_set_registered_model_tag_rejects_bad_keys(registry: RegistryStore, key: str) -> None:
    registry.create_registered_model("m")

    with pytest.raises(InvalidParameterValue):
        registry.set_registered_model_tag("m", RegisteredModelTag(key, "v"))
    assert registry.get_registered_model("m").tags == ()


def test_set_registered_model_tag_rejects_a_value_over_100000_chars(registry: RegistryStore) -> None:
    registry.create_registered_model("m")

    with pytest.raises(InvalidParameterValue):
        registry.set_registered_model_tag("m", RegisteredModelTag("k", "x" * 100_001))


def test_set_registered_model_tag_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.set_registered_model_tag("nope", RegisteredModelTag("k", "v"))


def test_delete_registered_model_tag_removes_only_that_tag(registry: RegistryStore) -> None:
    registry.create_registered_model("m", tags=[RegisteredModelTag("a", "1"), RegisteredModelTag("b", "2")])

    registry.delete_registered_model_tag("m", "a")

    assert registry.get_registered_model("m").tags_dict == {"b": "2"}


def test_delete_registered_model_tag_missing_key_is_a_no_op(registry: RegistryStore) -> None:
    registry.create_registered_model("m", tags=[RegisteredModelTag("a", "1")])

    registry.delete_registered_model_tag("m", "missing")

    assert registry.get_registered_model("m").tags_dict == {"a": "1"}


def test_delete_registered_model_tag_unknown_model_raises_not_found(registry: RegistryStore) -> None:
    with pytest.raises(RegisteredModelNotFound):
        registry.delete_registered_model_tag("nope", "k")


def test_delete_registered_model_tag_rejects_a_bad_key(registry: RegistryStore) -> None:
    registry.create_registered_model("m")

    with pytest.raises(InvalidParameterValue):
        registry.delete_registered_model_tag("m", "a@b")


# --- which writes touch last_updated_timestamp (observed on MLflow) -------------------------------


def test_model_tag_writes_leave_last_updated_timestamp_alone(registry: RegistryStore) -> None:
    before = registry.create_registered_model("m").last_updated_timestamp

    registry.set_registered_model_tag("m", RegisteredModelTag("k", "v"))
    registry.delete_registered_model_tag("m", "k")

    assert registry.get_registered_model("m").last_updated_timestamp == before
