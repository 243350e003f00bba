"""Keys with dots, spaces, slashes and non-ASCII letters: stored, read, filtered and ordered exactly.

Document stores turn user keys into field names, where ``a.b`` would be a path and ``$gt`` an
operator; every backend must give the answers the reference semantics (the memory backend) give.
Expected results are computed here from the values logged, not read from another backend.
Keys MLflow refuses (``$gt``, ``a.$b``, ``a%2Eb``) are rejected whole: nothing of the batch stays.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from genesis_flow.core.entities import ExperimentTag, Metric, Param, Run, RunTag
from genesis_flow.core.errors import GenesisError
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import RegistryStore, TrackingStore
from genesis_flow.testing.tracking_helpers import BASE_TIME, new_run

# "a" and "a.b" and "a.b.c" together: as paths they would collide ({"a": {"b": {"c": ...}}}).
KEYS = ["a", "a.b", "a.b.c", "x y", "ü/ä"]
# Refused by MLflow's key rules ('$' and '%' are not key characters); "a%2Eb" would otherwise be
# the percent-encoding of "a.b".
BAD_KEYS = ["$gt", "a.$b", "$", "a%2Eb"]
# Run i has rank PERMS[j][i] for KEYS[j]: each key orders the runs differently.
PERMS = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1], [3, 1, 2, 0]]
RUNS = 4


def param_value(rank: int) -> str:
    return f"p{rank}"


def tag_value(rank: int) -> str:
    return f"{rank}v"


def metric_value(rank: int) -> float:
    return (rank + 1) * 1.5


def quoted(key: str) -> str:
    return f"`{key}`"


def search(
    tracking: TrackingStore, experiment_id: str, flt: str = "", order: Sequence[str] = ()
) -> list[str]:
    page = tracking.search_runs(
        [experiment_id],
        filter=parse_filter(SearchKind.RUNS, flt),
        max_results=100,
        order_by=parse_order_by(SearchKind.RUNS, list(order)),
    )
    return [r.info.run_id for r in page]


def user_tags(run: Run) -> dict[str, str]:
    return {k: val for k, val in run.data.tags_dict.items() if not k.startswith("mlflow.")}


def error_code(call: object, *args: object) -> str | None:
    try:
        call(*args)  # type: ignore[operator]
    except GenesisError as exc:
        return exc.error_code
    return None


class Logged:
    """Runs with every key of KEYS (ranked per PERMS) and one bare run, in a new experiment."""

    def __init__(self, tracking: TrackingStore) -> None:
        self.experiment_id = tracking.create_experiment("keys")
        # Distinct start times, newest last: the default order is start time DESC.
        self.ids = [
            new_run(tracking, self.experiment_id, start_time=BASE_TIME + i, name=f"r{i}") for i in range(RUNS)
        ]
        self.bare = new_run(tracking, self.experiment_id, start_time=BASE_TIME - 1, name="bare")
        self.rank = {(i, key): PERMS[j][i] for j, key in enumerate(KEYS) for i in range(RUNS)}
        for i, run_id in enumerate(self.ids):
            ranks = [self.rank[(i, key)] for key in KEYS]
            tracking.log_batch(
                run_id,
                # A first point that the second (a later step) replaces as the latest value.
                metrics=[Metric(k, -1.0, BASE_TIME, 0) for k in KEYS]
                + [Metric(k, metric_value(r), BASE_TIME + 1, 1) for k, r in zip(KEYS, ranks, strict=True)],
                params=[Param(k, param_value(r)) for k, r in zip(KEYS, ranks, strict=True)],
                tags=[RunTag(k, tag_value(r)) for k, r in zip(KEYS, ranks, strict=True)],
            )

    def with_rank(self, key: str, wanted: Sequence[int]) -> list[str]:
        return sorted(run_id for i, run_id in enumerate(self.ids) if self.rank[(i, key)] in wanted)

    def ordered(self, key: str, ascending: bool) -> list[str]:
        """Runs by their value of ``key`` (distinct per run), then the bare run (no value) last."""
        by_value = sorted(range(RUNS), key=lambda i: self.rank[(i, key)], reverse=not ascending)
        return [self.ids[i] for i in by_value] + [self.bare]


@pytest.fixture
def logged(tracking: TrackingStore) -> Logged:
    return Logged(tracking)


def test_get_run_returns_every_key_exactly(tracking: TrackingStore, logged: Logged) -> None:
    for i, run_id in enumerate(logged.ids):
        run = tracking.get_run(run_id)
        assert run.data.params_dict == {k: param_value(logged.rank[(i, k)]) for k in KEYS}
        assert user_tags(run) == {k: tag_value(logged.rank[(i, k)]) for k in KEYS}
        assert run.data.metrics_dict == {k: metric_value(logged.rank[(i, k)]) for k in KEYS}
    bare = tracking.get_run(logged.bare)
    assert bare.data.params == () and bare.data.metrics == () and user_tags(bare) == {}


def test_metric_history_of_each_key_is_its_own(tracking: TrackingStore, logged: Logged) -> None:
    for i, run_id in enumerate(logged.ids):
        for key in KEYS:
            history = tracking.get_metric_history(run_id, key).items
            assert [(m.key, m.value, m.step) for m in history] == [
                (key, -1.0, 0),
                (key, metric_value(logged.rank[(i, key)]), 1),
            ]


@pytest.mark.parametrize("key", KEYS)
def test_filters_on_each_key(tracking: TrackingStore, logged: Logged, key: str) -> None:
    x, k = logged.experiment_id, quoted(key)
    every = sorted(logged.ids)
    # params: =, !=, LIKE, IS NULL
    assert sorted(search(tracking, x, f"params.{k} = '{param_value(2)}'")) == logged.with_rank(key, [2])
    assert sorted(search(tracking, x, f"params.{k} != '{param_value(2)}'")) == logged.with_rank(
        key, [0, 1, 3]
    )
    assert sorted(search(tracking, x, f"params.{k} LIKE 'p_'")) == every
    assert search(tracking, x, f"params.{k} IS NULL") == [logged.bare]
    # metrics: the latest value (step 1), never the first point (-1.0)
    assert sorted(search(tracking, x, f"metrics.{k} > 0")) == every
    assert sorted(search(tracking, x, f"metrics.{k} > 3")) == logged.with_rank(key, [2, 3])
    assert sorted(search(tracking, x, f"metrics.{k} = {metric_value(1)}")) == logged.with_rank(key, [1])
    assert search(tracking, x, f"metrics.{k} < 0") == []
    # tags: LIKE, ILIKE, =
    assert sorted(search(tracking, x, f"tags.{k} LIKE '%v%'")) == every
    assert sorted(search(tracking, x, f"tags.{k} LIKE '1%'")) == logged.with_rank(key, [1])
    assert sorted(search(tracking, x, f"tags.{k} ILIKE '%3V'")) == logged.with_rank(key, [3])
    assert sorted(search(tracking, x, f"tags.{k} = '{tag_value(0)}'")) == logged.with_rank(key, [0])
    # all three kinds at once, on one run
    both = (
        f"params.{k} = '{param_value(3)}' and metrics.{k} = {metric_value(3)} and tags.{k} = '{tag_value(3)}'"
    )
    assert search(tracking, x, both) == logged.with_rank(key, [3])


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("kind", ["params", "metrics", "tags"])
def test_order_by_each_key_both_directions(
    tracking: TrackingStore, logged: Logged, key: str, kind: str
) -> None:
    x = logged.experiment_id
    assert search(tracking, x, order=[f"{kind}.{quoted(key)} ASC"]) == logged.ordered(key, ascending=True)
    assert search(tracking, x, order=[f"{kind}.{quoted(key)} DESC"]) == logged.ordered(key, ascending=False)


def test_encoded_spellings_and_operators_are_just_other_keys(tracking: TrackingStore, logged: Logged) -> None:
    x = logged.experiment_id
    default_order = [*reversed(logged.ids), logged.bare]  # start time DESC
    assert search(tracking, x) == default_order
    for key in ["a%2Eb", "a%252Eb", "$gt", "a.$b", "a.b.c.d", "b", "a b"]:
        k = quoted(key)
        assert search(tracking, x, f"params.{k} = '{param_value(0)}'") == [], key
        assert search(tracking, x, f"params.{k} != 'zzz'") == [], key
        assert search(tracking, x, f"tags.{k} LIKE '%'") == [], key
        assert search(tracking, x, f"metrics.{k} > -1000") == [], key
        assert sorted(search(tracking, x, f"params.{k} IS NULL")) == sorted([*logged.ids, logged.bare]), key
        # Nobody has the key: every run ties, and the default order decides.
        assert search(tracking, x, order=[f"params.{k} DESC"]) == default_order, key
        assert search(tracking, x, order=[f"metrics.{k} ASC"]) == default_order, key


def test_delete_tag_with_dotted_key_removes_only_that_key(tracking: TrackingStore, logged: Logged) -> None:
    run_id = logged.ids[0]
    tracking.delete_tag(run_id, "a.b")
    expected = {k: tag_value(logged.rank[(0, k)]) for k in KEYS if k != "a.b"}
    assert user_tags(tracking.get_run(run_id)) == expected
    tracking.set_tag(run_id, RunTag("a.b", "again"))
    tracking.set_tag(run_id, RunTag("a", "changed"))
    assert user_tags(tracking.get_run(run_id)) == {**expected, "a.b": "again", "a": "changed"}


def test_param_with_dotted_key_is_immutable_like_any_other(tracking: TrackingStore, logged: Logged) -> None:
    run_id = logged.ids[0]
    tracking.log_param(run_id, Param("a.b.c", param_value(logged.rank[(0, "a.b.c")])))  # same value: fine
    assert error_code(tracking.log_param, run_id, Param("a.b.c", "other")) == "INVALID_PARAMETER_VALUE"
    tracking.log_param(run_id, Param("a.b.c.d", "new"))
    assert tracking.get_run(run_id).data.params_dict["a.b.c"] == param_value(logged.rank[(0, "a.b.c")])
    assert tracking.get_run(run_id).data.params_dict["a.b.c.d"] == "new"


# --- keys refused --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_batch_with_a_refused_key_stores_nothing(tracking: TrackingStore, bad: str) -> None:
    run_id = new_run(tracking)
    good_metric, good_param, good_tag = (
        Metric("a.b", 1.0, BASE_TIME, 0),
        Param("a.b", "1"),
        RunTag("a.b", "1"),
    )
    calls = [
        dict(params=[good_param, Param(bad, "1")], metrics=[good_metric], tags=[good_tag]),
        dict(params=[good_param], metrics=[good_metric, Metric(bad, 1.0, BASE_TIME, 0)], tags=[good_tag]),
        dict(params=[good_param], metrics=[good_metric], tags=[good_tag, RunTag(bad, "1")]),
    ]
    for batch in calls:
        assert error_code(lambda b=batch: tracking.log_batch(run_id, **b)) == "INVALID_PARAMETER_VALUE", batch
    assert error_code(tracking.log_param, run_id, Param(bad, "1")) == "INVALID_PARAMETER_VALUE"
    assert (
        error_code(tracking.log_metric, run_id, Metric(bad, 1.0, BASE_TIME, 0)) == "INVALID_PARAMETER_VALUE"
    )
    assert error_code(tracking.set_tag, run_id, RunTag(bad, "1")) == "INVALID_PARAMETER_VALUE"
    run = tracking.get_run(run_id)
    assert run.data.params == () and run.data.metrics == () and user_tags(run) == {}
    assert tracking.get_metric_history(run_id, "a.b").items == ()


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_experiment_tags_with_a_refused_key_are_rejected(tracking: TrackingStore, bad: str) -> None:
    code = error_code(
        tracking.create_experiment, "bad", None, [ExperimentTag("a.b", "1"), ExperimentTag(bad, "1")]
    )
    assert code == "INVALID_PARAMETER_VALUE"
    assert tracking.get_experiment_by_name("bad") is None
    experiment_id = tracking.create_experiment("good")
    assert error_code(tracking.set_experiment_tag, experiment_id, ExperimentTag(bad, "1")) == (
        "INVALID_PARAMETER_VALUE"
    )
    assert tracking.get_experiment(experiment_id).tags == ()


# --- experiment tags -------------------------------------------------------------------------------


def test_experiment_tags_with_special_keys(tracking: TrackingStore) -> None:
    tags = {k: f"e{j}" for j, k in enumerate(KEYS)}
    keyed = tracking.create_experiment("keyed", tags=[ExperimentTag(k, val) for k, val in tags.items()])
    other = tracking.create_experiment("other", tags=[ExperimentTag(k, f"o{j}") for j, k in enumerate(KEYS)])
    assert tracking.get_experiment(keyed).tags_dict == tags

    tracking.set_experiment_tag(keyed, ExperimentTag("a.b", "changed"))
    tracking.set_experiment_tag(keyed, ExperimentTag("a.b.c.d", "deep"))
    tags.update({"a.b": "changed", "a.b.c.d": "deep"})
    assert tracking.get_experiment(keyed).tags_dict == tags
    tracking.delete_experiment_tag(keyed, "a.b")
    del tags["a.b"]
    assert tracking.get_experiment(keyed).tags_dict == tags
    assert tracking.get_experiment(other).tags_dict == {k: f"o{j}" for j, k in enumerate(KEYS)}

    def found(flt: str) -> list[str]:
        page = tracking.search_experiments(filter=parse_filter(SearchKind.EXPERIMENTS, flt))
        return sorted(e.name for e in page)

    assert found("tags.`a.b.c` = 'e2'") == ["keyed"]
    assert found("tags.`ü/ä` LIKE 'o%'") == ["other"]
    assert found("tags.`x y` != 'o3'") == ["keyed"]
    assert found("tags.`a.b` = 'changed'") == []  # deleted
    assert found("tags.`a.b` = 'o1'") == ["other"]
    assert found("tags.`a%2Eb` = 'o1'") == []
    assert found("tags.`a.b.c.d` = 'deep'") == ["keyed"]


# --- registry ----------------------------------------------------------------------------------------


def versions_found(registry: RegistryStore, flt: str) -> list[tuple[str, int]]:
    page = registry.search_model_versions(parse_filter(SearchKind.MODEL_VERSIONS, flt))
    return sorted((mv.name, mv.version) for mv in page)


def models_found(registry: RegistryStore, flt: str) -> list[str]:
    page = registry.search_registered_models(parse_filter(SearchKind.REGISTERED_MODELS, flt))
    return sorted(m.name for m in page)


def test_registered_model_tags_with_special_keys(registry: RegistryStore) -> None:
    tags = {k: f"r{j}" for j, k in enumerate(KEYS)}
    registry.create_registered_model("keyed", tags=[RegisteredModelTag(k, val) for k, val in tags.items()])
    registry.create_registered_model(
        "other", tags=[RegisteredModelTag(k, f"o{j}") for j, k in enumerate(KEYS)]
    )
    assert registry.get_registered_model("keyed").tags_dict == tags

    registry.set_registered_model_tag("keyed", RegisteredModelTag("a.b", "changed"))
    registry.delete_registered_model_tag("keyed", "a.b.c")
    tags["a.b"] = "changed"
    del tags["a.b.c"]
    assert registry.get_registered_model("keyed").tags_dict == tags
    assert registry.get_registered_model("other").tags_dict == {k: f"o{j}" for j, k in enumerate(KEYS)}

    assert models_found(registry, "tags.`x y` = 'r3'") == ["keyed"]
    assert models_found(registry, "tags.`ü/ä` LIKE 'o%'") == ["other"]
    assert models_found(registry, "tags.`a.b` = 'changed'") == ["keyed"]
    assert models_found(registry, "tags.`a.b.c` = 'r2'") == []
    assert models_found(registry, "tags.`a%2Eb` = 'changed'") == []


def test_model_version_tags_and_aliases_with_special_keys(registry: RegistryStore) -> None:
    registry.create_registered_model("keyed")
    for version in (1, 2):
        registry.create_model_version(
            "keyed", "s", tags=[ModelVersionTag(k, f"mv{j}-{version}") for j, k in enumerate(KEYS)]
        )
    registry.set_model_version_tag("keyed", 2, ModelVersionTag("a.b", "changed"))
    registry.delete_model_version_tag("keyed", 2, "a")
    expected_1 = {k: f"mv{j}-1" for j, k in enumerate(KEYS)}
    expected_2 = {**{k: f"mv{j}-2" for j, k in enumerate(KEYS) if k != "a"}, "a.b": "changed"}
    assert registry.get_model_version("keyed", 1).tags_dict == expected_1
    assert registry.get_model_version("keyed", 2).tags_dict == expected_2

    assert versions_found(registry, "tags.`ü/ä` = 'mv4-2'") == [("keyed", 2)]
    assert versions_found(registry, "tags.`a.b` LIKE 'mv%'") == [("keyed", 1)]
    assert versions_found(registry, "tags.`a.b.c` != 'mv2-1'") == [("keyed", 2)]
    assert versions_found(registry, "tags.`a%2Eb` = 'changed'") == []

    # Aliases allow word characters (non-ASCII letters too) and dashes only.
    registry.set_registered_model_alias("keyed", "ü-ä_1", 1)
    registry.set_registered_model_alias("keyed", "champion", 2)
    assert registry.get_model_version_by_alias("keyed", "ü-ä_1").version == 1
    assert registry.get_registered_model("keyed").aliases_dict == {"ü-ä_1": 1, "champion": 2}
    assert registry.get_model_version("keyed", 1).aliases == ("ü-ä_1",)
    registry.delete_registered_model_alias("keyed", "ü-ä_1")
    assert registry.get_registered_model("keyed").aliases_dict == {"champion": 2}


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_registry_tags_and_aliases_with_refused_keys_are_rejected(registry: RegistryStore, bad: str) -> None:
    invalid = "INVALID_PARAMETER_VALUE"
    tags = [RegisteredModelTag("a.b", "1"), RegisteredModelTag(bad, "1")]
    assert error_code(registry.create_registered_model, "bad", tags) == invalid
    assert error_code(registry.get_registered_model, "bad") == "RESOURCE_DOES_NOT_EXIST"

    registry.create_registered_model("m")
    assert error_code(registry.set_registered_model_tag, "m", RegisteredModelTag(bad, "1")) == invalid
    version_tags = [ModelVersionTag("a.b", "1"), ModelVersionTag(bad, "1")]
    assert error_code(registry.create_model_version, "m", "s", None, version_tags) == invalid
    assert registry.create_model_version("m", "s").version == 1  # the refused one took no number
    assert error_code(registry.set_model_version_tag, "m", 1, ModelVersionTag(bad, "1")) == invalid
    for alias in (bad, "a.b", "x y", "ü/ä"):
        assert error_code(registry.set_registered_model_alias, "m", alias, 1) == invalid, alias
    model = registry.get_registered_model("m")
    assert model.tags == () and model.aliases == ()
    assert registry.get_model_version("m", 1).tags == ()
