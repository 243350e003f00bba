"""Random registry operation sequences: every backend gives the memory model's answers, step by step.

A Hypothesis state machine drives the backend's registry store and a fresh in-memory one side by
side with the same operations (valid and invalid), and requires the same outcome (value or error
code) for each, and the same visible state after each step. Model names and version numbers are
chosen by the caller or assigned from 1 per model, so both stores use the same ones and no id map
is needed. Both stores read one clock that moves only between steps, so the times agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from genesis_flow.adapters.memory import InMemoryRegistryStore
from genesis_flow.core.entities import Page
from genesis_flow.core.registry import (
    ACTIVE_STAGES,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
    Stage,
)
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import Clock, RegistryStore
from genesis_flow.testing.backend import Backend
from genesis_flow.testing.support import SteppedClock, outcome
from genesis_flow.testing.tracking_helpers import all_pages, hypothesis_settings

RM = SearchKind.REGISTERED_MODELS
MV = SearchKind.MODEL_VERSIONS
PROMPT_TAG = "mlflow.prompt.is_prompt"

T = TypeVar("T")


def mostly(good: st.SearchStrategy[T], other: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Three draws in four from ``good``, the rest from ``other`` (invalid or unknown values):
    errors are still tried often, but runs of valid steps get long enough to reach deep states.
    (Not ``one_of``: it does not pick its branches evenly.)"""
    return st.sampled_from([True, True, True, False]).flatmap(lambda pick: good if pick else other)


def _existing_or(existing: Sequence[T], pool: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Mostly among what exists (when anything does), otherwise from ``pool``."""
    return mostly(st.sampled_from(existing), pool) if existing else pool


# Every model the machine can create or rename to has one of these names, so the snapshot can
# look each of them up; "M1" differs from "m1" only in case, for LIKE versus ILIKE.
VALID_NAMES = ["m1", "m2", "M1"]
model_names = mostly(st.sampled_from(VALID_NAMES), st.sampled_from(["a/b", "", "x:y"]))
descriptions = st.sampled_from([None, "", "d1", "d2"])
version_numbers = mostly(st.integers(1, 3), st.sampled_from([0, -1]))
tag_keys = mostly(st.sampled_from(["k", "k2", PROMPT_TAG]), st.just(""))
tag_values = st.sampled_from(["v", "w", "true"])
model_tags = st.builds(RegisteredModelTag, key=tag_keys, value=tag_values)
version_tags = st.builds(ModelVersionTag, key=tag_keys, value=tag_values)
sources = st.sampled_from(["s3://bucket/model", "runs:/r1/model", "file:///tmp/m"])
run_ids = st.sampled_from([None, "r1", "r2"])
user_ids = st.sampled_from([None, "alice"])
# Mostly the active stages, where archive_existing_versions acts (any case: parsing ignores it).
stages = mostly(
    st.sampled_from(["staging", "Staging", "production", "PRODUCTION"]),
    st.sampled_from(["None", "archived", "bogus", ""]),
)

pytestmark = pytest.mark.genesis_requires("registry")
stage_lists = st.none() | st.lists(stages, max_size=2)
# Aliases written (latest and v<n> are reserved), and read (the reserved names are well-formed
# there; "latest" resolves to the highest version, "v<n>" does not resolve).
ALIASES = ["champion", "challenger"]
aliases = mostly(st.sampled_from(ALIASES), st.sampled_from(["latest", "v1", "bad name", ""]))
aliases_read = mostly(
    st.sampled_from([*ALIASES, "latest", "LATEST"]), st.sampled_from(["missing", "V2", "bad name", ""])
)

PROMPTS = f"tags.`{PROMPT_TAG}` = 'true'"
MODEL_FILTERS = [
    "",
    "name LIKE 'm%'",
    "name ILIKE 'm%'",
    "name = 'm1'",
    "name != 'm2'",
    "tags.k = 'v'",
    "tags.k != 'v'",
    PROMPTS,
]
MODEL_ORDERS: list[tuple[str, ...]] = [
    (),
    ("name DESC",),
    ("last_updated_timestamp DESC",),
    ("last_updated_timestamp", "name DESC"),
]
VERSION_FILTERS = [
    "",
    "name = 'm1'",
    "name LIKE 'm%'",
    "version_number > 1",
    "run_id = 'r1'",
    "run_id IN ('r1', 'r2')",
    "tags.k = 'v'",
    "source_path LIKE 's3%'",
    "name ILIKE 'm%' AND version_number <= 2",
    PROMPTS,
]
VERSION_ORDERS: list[tuple[str, ...]] = [
    (),
    ("name DESC",),
    ("version_number",),
    ("last_updated_timestamp DESC",),
    ("creation_timestamp", "name"),
]
PROMPT_MODELS, PROMPT_VERSIONS = parse_filter(RM, PROMPTS), parse_filter(MV, PROMPTS)
LIKE_M, FIRST_ON = parse_filter(RM, "name LIKE 'm%'"), parse_filter(MV, "version_number >= 1")
# Out of range for one search or both (registered models allow 1000, versions 200000).
BAD_LIMITS = st.sampled_from([0, -1, 1001, 200_001])
BAD_TOKENS = st.sampled_from(["garbage", "foreign"])


class RegistryAgreesWithMemoryModel(RuleBasedStateMachine):
    """Subclassed per backend with ``make_store`` set (see the tests at the bottom).

    Rules pick a model or version three times in four among those that exist (read off the memory
    model), so sequences reach deep states (several versions in one stage, aliases on a version
    that is then deleted); the rest comes from the plain pools, unknown and invalid included.
    """

    make_store: Callable[[Clock], RegistryStore]

    def __init__(self) -> None:
        super().__init__()
        self.clock = SteppedClock()
        self.model: RegistryStore = InMemoryRegistryStore(clock=self.clock)
        self.real: RegistryStore = type(self).make_store(self.clock)

    def _same(self, op: Callable[[RegistryStore], Any]) -> tuple[str, Any]:
        """Run ``op`` on both stores, one clock step after the last, and require the same outcome."""
        self.clock.now += 1000
        expected = outcome(op, self.model)
        actual = outcome(op, self.real)
        assert actual == expected
        return expected

    def _name(self, data: st.DataObject) -> str:
        return data.draw(_existing_or(_existing_names(self.model), model_names), label="name")

    def _ref(self, data: st.DataObject) -> tuple[str, int]:
        live = [
            key for key in _version_keys(self.model) if outcome(self.model.get_model_version, *key)[0] == "ok"
        ]
        return data.draw(_existing_or(live, st.tuples(model_names, version_numbers)), label="version")

    # --- registered models ------------------------------------------------------------------------

    @initialize(name=st.sampled_from(VALID_NAMES), first=sources, second=sources)
    def first_versions(self, name: str, first: str, second: str) -> None:
        # Every example starts with two versions of one model to work on (swarm testing may
        # switch creates off, and the stage rules need two versions to show).
        self._same(lambda s: s.create_registered_model(name))
        self._same(lambda s: s.create_model_version(name, first, "r1"))
        self._same(lambda s: s.create_model_version(name, second, "r2"))

    @rule(name=model_names, tags=st.lists(model_tags, max_size=2), description=descriptions)
    def create_registered_model(
        self, name: str, tags: list[RegisteredModelTag], description: str | None
    ) -> None:
        self._same(lambda s: s.create_registered_model(name, tags, description))

    @rule(data=st.data(), new_name=model_names)
    def rename_registered_model(self, data: st.DataObject, new_name: str) -> None:
        name = self._name(data)
        self._same(lambda s: s.rename_registered_model(name, new_name))

    @rule(name=model_names)
    def delete_registered_model(self, name: str) -> None:
        # From the plain pool, not mostly among existing models: it resets so much state that
        # sequences would rarely get deep otherwise.
        self._same(lambda s: s.delete_registered_model(name))

    @rule(data=st.data(), description=descriptions)
    def update_registered_model(self, data: st.DataObject, description: str | None) -> None:
        name = self._name(data)
        self._same(lambda s: s.update_registered_model(name, description))

    @rule(data=st.data(), tag=model_tags)
    def set_registered_model_tag(self, data: st.DataObject, tag: RegisteredModelTag) -> None:
        name = self._name(data)
        self._same(lambda s: s.set_registered_model_tag(name, tag))

    @rule(data=st.data(), key=tag_keys)
    def delete_registered_model_tag(self, data: st.DataObject, key: str) -> None:
        name = self._name(data)
        self._same(lambda s: s.delete_registered_model_tag(name, key))

    @rule(data=st.data(), wanted=stage_lists)
    def get_latest_versions(self, data: st.DataObject, wanted: list[str] | None) -> None:
        name = self._name(data)
        self._same(lambda s: s.get_latest_versions(name, wanted))

    # --- model versions ---------------------------------------------------------------------------

    @rule(
        data=st.data(),
        source=sources,
        run_id=run_ids,
        tags=st.lists(version_tags, max_size=2),
        description=descriptions,
        user_id=user_ids,
    )
    def create_model_version(
        self,
        data: st.DataObject,
        source: str,
        run_id: str | None,
        tags: list[ModelVersionTag],
        description: str | None,
        user_id: str | None,
    ) -> None:
        name = self._name(data)
        self._same(
            lambda s: s.create_model_version(
                name, source, run_id, tags, description=description, user_id=user_id
            )
        )

    @rule(data=st.data())
    def delete_model_version(self, data: st.DataObject) -> None:
        name, version = self._ref(data)
        self._same(lambda s: s.delete_model_version(name, version))

    @rule(data=st.data(), stage=stages)
    def transition_model_version_stage(self, data: st.DataObject, stage: str) -> None:
        name, version = self._ref(data)
        self._same(lambda s: s.transition_model_version_stage(name, version, stage))

    @rule(data=st.data(), stage=stages)
    def transition_archiving_existing_versions(self, data: st.DataObject, stage: str) -> None:
        # A rule of its own: archiving shows only after another version reached the target stage.
        name, version = self._ref(data)
        self._same(lambda s: s.transition_model_version_stage(name, version, stage, True))

    @rule(data=st.data(), description=descriptions)
    def update_model_version(self, data: st.DataObject, description: str | None) -> None:
        name, version = self._ref(data)
        self._same(lambda s: s.update_model_version(name, version, description))

    @rule(data=st.data(), tag=version_tags)
    def set_model_version_tag(self, data: st.DataObject, tag: ModelVersionTag) -> None:
        name, version = self._ref(data)
        self._same(lambda s: s.set_model_version_tag(name, version, tag))

    @rule(data=st.data(), key=tag_keys)
    def delete_model_version_tag(self, data: st.DataObject, key: str) -> None:
        name, version = self._ref(data)
        self._same(lambda s: s.delete_model_version_tag(name, version, key))

    # --- aliases ----------------------------------------------------------------------------------

    @rule(data=st.data(), alias=aliases)
    def set_registered_model_alias(self, data: st.DataObject, alias: str) -> None:
        name, version = self._ref(data)
        self._same(lambda s: s.set_registered_model_alias(name, alias, version))

    @rule(data=st.data(), alias=aliases_read)
    def delete_registered_model_alias(self, data: st.DataObject, alias: str) -> None:
        name = self._name(data)
        self._same(lambda s: s.delete_registered_model_alias(name, alias))

    @rule(data=st.data(), alias=aliases_read)
    def get_model_version_by_alias(self, data: st.DataObject, alias: str) -> None:
        name = self._name(data)
        self._same(lambda s: s.get_model_version_by_alias(name, alias))

    # --- searches ---------------------------------------------------------------------------------

    @rule(
        filter_string=st.sampled_from(MODEL_FILTERS),
        order=st.sampled_from(MODEL_ORDERS),
        page_size=st.integers(1, 3),
    )
    def search_registered_models(self, filter_string: str, order: tuple[str, ...], page_size: int) -> None:
        flt = parse_filter(RM, filter_string)
        order_by = parse_order_by(RM, list(order))

        def search(store: RegistryStore) -> tuple[list[RegisteredModel], list[RegisteredModel]]:
            whole = list(store.search_registered_models(flt, None, order_by))
            paged = all_pages(lambda t: store.search_registered_models(flt, page_size, order_by, t))
            return whole, paged

        status, answer = self._same(search)
        if status == "ok":
            whole, paged = answer
            assert paged == whole

    @rule(
        filter_string=st.sampled_from(VERSION_FILTERS),
        order=st.sampled_from(VERSION_ORDERS),
        page_size=st.integers(1, 3),
    )
    def search_model_versions(self, filter_string: str, order: tuple[str, ...], page_size: int) -> None:
        flt = parse_filter(MV, filter_string)
        order_by = parse_order_by(MV, list(order))

        def search(store: RegistryStore) -> tuple[list[ModelVersion], list[ModelVersion]]:
            whole = list(store.search_model_versions(flt, None, order_by))
            paged = all_pages(lambda t: store.search_model_versions(flt, page_size, order_by, t))
            return whole, paged

        status, answer = self._same(search)
        if status == "ok":
            whole, paged = answer
            assert paged == whole

    @rule(limit=st.none() | BAD_LIMITS, token=st.none() | BAD_TOKENS)
    def search_with_bad_paging(self, limit: int | None, token: str | None) -> None:
        """Limits out of range, a garbage token, or a token of another query ("foreign": the
        first page of the unfiltered search; None when one page holds everything)."""

        def search(store: RegistryStore) -> tuple[tuple[str, Any], tuple[str, Any]]:
            def token_for(first: Page[Any]) -> str | None:
                return first.next_page_token if token == "foreign" else token

            models = store.search_registered_models(max_results=1)
            versions = store.search_model_versions(max_results=1)
            return (
                outcome(lambda: list(store.search_registered_models(LIKE_M, limit, (), token_for(models)))),
                outcome(lambda: list(store.search_model_versions(FIRST_ON, limit, (), token_for(versions)))),
            )

        self._same(search)

    # --- the visible state ------------------------------------------------------------------------

    @invariant()
    def same_visible_state(self) -> None:
        names, keys = _existing_names(self.model), _version_keys(self.model)
        assert _snapshot(self.real, names, keys) == _snapshot(self.model, names, keys)


def _existing_names(model: RegistryStore) -> list[str]:
    return [name for name in VALID_NAMES if outcome(model.get_registered_model, name)[0] == "ok"]


def _version_keys(model: RegistryStore) -> list[tuple[str, int]]:
    """(name, number) of every version the memory model may hold, and the next number per model:
    up to the highest live version, which ``latest_versions`` shows. (Searches cannot list them
    all: a model with a prompt version hides its other versions from both prompt scopes.)"""
    keys: list[tuple[str, int]] = []
    for name in VALID_NAMES:
        status, found = outcome(model.get_registered_model, name)
        top = max((mv.version for mv in found.latest_versions), default=0) if status == "ok" else 0
        keys.extend((name, number) for number in range(1, top + 2))
    return keys


def _snapshot(store: RegistryStore, names: Sequence[str], keys: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """Everything a caller can see: every model, every version, latest versions and aliases.
    ``names`` and ``keys`` are the models and versions the memory model has (a model it lacks
    shows in ``models``). Prompts are hidden from the default searches, so each search also runs
    with the prompt filter."""
    return {
        "models": {name: outcome(store.get_registered_model, name) for name in VALID_NAMES},
        "listed": all_pages(lambda t: store.search_registered_models(max_results=2, page_token=t)),
        "listed prompts": list(store.search_registered_models(PROMPT_MODELS)),
        "each version": {
            key: (outcome(store.get_model_version, *key), outcome(store.get_model_version_download_uri, *key))
            for key in keys
        },
        "versions": all_pages(lambda t: store.search_model_versions(max_results=4, page_token=t)),
        "prompt versions": list(store.search_model_versions(PROMPT_VERSIONS)),
        "latest": {name: outcome(store.get_latest_versions, name) for name in names},
        "aliases": {
            (name, alias): outcome(store.get_model_version_by_alias, name, alias)
            for name in names
            for alias in [*ALIASES, "latest"]
        },
    }


def test_registry_store_agrees_with_memory_model(backend: Backend) -> None:
    class Machine(RegistryAgreesWithMemoryModel):
        make_store = staticmethod(backend.make_registry)

    run_state_machine_as_test(Machine, settings=hypothesis_settings())


def _machine_on(make_store: Callable[[Clock], RegistryStore]) -> type[RegistryAgreesWithMemoryModel]:
    class Machine(RegistryAgreesWithMemoryModel):
        pass

    Machine.make_store = staticmethod(make_store)
    return Machine


def test_two_memory_stores_always_agree() -> None:
    """The machine is sound: it runs without any backend server and never flags a correct store."""
    machine = _machine_on(lambda clock: InMemoryRegistryStore(clock=clock))
    run_state_machine_as_test(machine, settings=hypothesis_settings(database=None))


class _KeepsAliasesOfDeletedVersions(InMemoryRegistryStore):
    def delete_model_version(self, name: str, version: int) -> None:
        before = dict(self._models[name].aliases) if name in self._models else {}
        super().delete_model_version(name, version)
        self._models[name].aliases.update(before)


class _ReusesVersionNumbers(InMemoryRegistryStore):
    def delete_model_version(self, name: str, version: int) -> None:
        super().delete_model_version(name, version)
        state = self._models[name]
        state.highest_version = max(state.versions, default=0)


class _IgnoresArchiveExistingVersions(InMemoryRegistryStore):
    def transition_model_version_stage(
        self, name: str, version: int, stage: str | Stage, archive_existing_versions: bool = False
    ) -> ModelVersion:
        # The argument is still checked; only the archiving is skipped.
        archive = archive_existing_versions and Stage.parse(stage) not in ACTIVE_STAGES
        return super().transition_model_version_stage(name, version, stage, archive)


@pytest.mark.parametrize(
    "broken", [_KeepsAliasesOfDeletedVersions, _ReusesVersionNumbers, _IgnoresArchiveExistingVersions]
)
def test_machine_catches_a_store_that_disagrees(broken: type[InMemoryRegistryStore]) -> None:
    machine = _machine_on(lambda clock: broken(clock=clock))
    # No shrinking: the point is that a difference is found, not the smallest example of it.
    settings = hypothesis_settings(
        database=None,
        derandomize=True,
        max_examples=300,
        stateful_step_count=40,
        report_multiple_bugs=False,
        phases=[Phase.generate],
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=settings)
