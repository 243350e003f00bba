"""search_registered_models and search_model_versions: filters, ordering, limits and paging.

User stories of MLflow's model registry search, run on every backend (see conftest.py). Filters and
order_by clauses are written as MLflow users write them and parsed once, as the entry points do.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from genesis_flow.core.entities import Page
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import RegistryStore

RM = SearchKind.REGISTERED_MODELS
MV = SearchKind.MODEL_VERSIONS
PROMPT_TAG = "mlflow.prompt.is_prompt"


def search_models(
    registry: RegistryStore,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[RegisteredModel]:
    return registry.search_registered_models(
        parse_filter(RM, filter_string), max_results, parse_order_by(RM, order_by), page_token
    )


def search_versions(
    registry: RegistryStore,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[ModelVersion]:
    return registry.search_model_versions(
        parse_filter(MV, filter_string), max_results, parse_order_by(MV, order_by), page_token
    )


def names(page: Page[RegisteredModel]) -> list[str]:
    return [m.name for m in page]


def versions(page: Page[ModelVersion]) -> list[tuple[str, int]]:
    return [(mv.name, mv.version) for mv in page]


def all_pages(search: Callable[..., Page[Any]], page_size: int) -> tuple[list[Any], int]:
    """Every item, page by page, and the number of pages it took."""
    items: list[Any] = []
    token: str | None = None
    pages = 0
    while True:
        page = search(max_results=page_size, page_token=token)
        pages += 1
        items.extend(page.items)
        token = page.next_page_token
        if token is None:
            return items, pages
        assert pages < 1000, "paging does not terminate"


@pytest.fixture
def catalog(registry: RegistryStore) -> RegistryStore:
    """The registry MLflow's behaviour was observed on.

    Models (created in this order): Alpha {team: red}, beta {team: Blue, env: prod}, gamma {}.
    Versions (created in this order):
      Alpha/1 s3://b/alpha1 run r1 {q: good}; Alpha/2 s3://b/alpha2 run r2;
      beta/1 file:///beta1 run r1 {q: bad}; gamma/1 s3://b/gamma1 no run.
    """
    registry.create_registered_model("Alpha", tags=[RegisteredModelTag("team", "red")])
    registry.create_registered_model(
        "beta", tags=[RegisteredModelTag("team", "Blue"), RegisteredModelTag("env", "prod")]
    )
    registry.create_registered_model("gamma")
    registry.create_model_version("Alpha", "s3://b/alpha1", run_id="r1", tags=[ModelVersionTag("q", "good")])
    registry.create_model_version("Alpha", "s3://b/alpha2", run_id="r2")
    registry.create_model_version("beta", "file:///beta1", run_id="r1", tags=[ModelVersionTag("q", "bad")])
    registry.create_model_version("gamma", "s3://b/gamma1")
    return registry


# --- search_registered_models: filters -------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["Alpha", "beta", "gamma"]),
        ("", ["Alpha", "beta", "gamma"]),
        ("name = 'Alpha'", ["Alpha"]),
        ("name = 'alpha'", []),
        ("name != 'Alpha'", ["beta", "gamma"]),
        ("name LIKE 'a%'", []),
        ("name LIKE '%a'", ["Alpha", "beta", "gamma"]),
        ("name LIKE 'b_ta'", ["beta"]),
        ("name ILIKE 'a%'", ["Alpha"]),
        ("name IN ('Alpha', 'gamma')", ["Alpha", "gamma"]),
        ("name NOT IN ('Alpha')", ["beta", "gamma"]),
        ("tags.team = 'red'", ["Alpha"]),
        ("tags.team != 'red'", ["beta"]),
        ("tags.team LIKE 'B%'", ["beta"]),
        ("tags.team LIKE 'b%'", []),
        ("tags.team ILIKE 'b%'", ["beta"]),
        ("tags.team = 'Blue' AND tags.env = 'prod'", ["beta"]),
        ("tags.team = 'Blue' AND name = 'Alpha'", []),
        ("tags.nope != 'x'", []),
        ("tags.`team` = 'red'", ["Alpha"]),
    ],
)
def test_search_registered_models_filters_like_mlflow(
    catalog: RegistryStore, filter_string: str | None, expected: list[str]
) -> None:
    assert names(search_models(catalog, filter_string)) == expected


def test_search_registered_models_returns_full_models(catalog: RegistryStore) -> None:
    catalog.set_registered_model_alias("Alpha", "champion", 1)

    (found,) = search_models(catalog, "name = 'Alpha'")

    assert found == catalog.get_registered_model("Alpha")
    assert [mv.version for mv in found.latest_versions] == [2]
    assert found.aliases_dict == {"champion": 1}


def test_search_registered_models_does_not_see_deleted_models(catalog: RegistryStore) -> None:
    catalog.delete_registered_model("beta")

    assert names(search_models(catalog)) == ["Alpha", "gamma"]


def test_search_registered_models_sees_renamed_models_by_their_new_name(catalog: RegistryStore) -> None:
    catalog.rename_registered_model("gamma", "aardvark")

    assert names(search_models(catalog, "name LIKE 'a%'")) == ["aardvark"]


def test_search_registered_models_sees_tag_changes(catalog: RegistryStore) -> None:
    catalog.set_registered_model_tag("gamma", RegisteredModelTag("team", "red"))
    catalog.delete_registered_model_tag("Alpha", "team")

    assert names(search_models(catalog, "tags.team = 'red'")) == ["gamma"]


# --- search_registered_models: order ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["Alpha", "beta", "gamma"]),
        (["name"], ["Alpha", "beta", "gamma"]),
        (["name DESC"], ["gamma", "beta", "Alpha"]),
        (["last_updated_timestamp"], ["Alpha", "beta", "gamma"]),
        (["last_updated_timestamp DESC"], ["gamma", "beta", "Alpha"]),
        (["timestamp DESC"], ["gamma", "beta", "Alpha"]),
    ],
)
def test_search_registered_models_orders_like_mlflow(
    catalog: RegistryStore, order_by: list[str] | None, expected: list[str]
) -> None:
    # The versions were created Alpha, Alpha, beta, gamma: last updates are in that order too.
    assert names(search_models(catalog, order_by=order_by)) == expected


def test_search_registered_models_timestamp_order_follows_the_latest_update(catalog: RegistryStore) -> None:
    catalog.update_registered_model("Alpha", "touched")

    assert names(search_models(catalog, order_by=["timestamp DESC"])) == ["Alpha", "gamma", "beta"]


@pytest.mark.genesis_requires("import")
def test_search_registered_models_breaks_timestamp_ties_by_name(registry: RegistryStore) -> None:
    for name in ("c", "a", "b"):
        registry.import_registered_model(RegisteredModel(name, 1000, 2000))

    assert names(search_models(registry, order_by=["last_updated_timestamp DESC"])) == ["a", "b", "c"]


# --- search_registered_models: limits --------------------------------------------------------------


def test_search_registered_models_returns_100_by_default(registry: RegistryStore) -> None:
    for i in range(101):
        registry.create_registered_model(f"m{i:03d}")

    page = search_models(registry)

    assert len(page) == 100
    assert page.next_page_token is not None
    assert names(search_models(registry, page_token=page.next_page_token)) == ["m100"]


@pytest.mark.parametrize("max_results", [1, 1000])
def test_search_registered_models_accepts_max_results_up_to_1000(
    registry: RegistryStore, max_results: int
) -> None:
    registry.create_registered_model("a")
    registry.create_registered_model("b")

    assert len(search_models(registry, max_results=max_results)) == min(max_results, 2)


def test_search_registered_models_rejects_max_results_over_1000(registry: RegistryStore) -> None:
    with pytest.raises(InvalidParameterValue):
        search_models(registry, max_results=1001)


# --- search_model_versions: filters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'Alpha'", [("Alpha", 2), ("Alpha", 1)]),
        ("name IN ('beta', 'gamma')", [("gamma", 1), ("beta", 1)]),
        ("name NOT IN ('beta')", [("gamma", 1), ("Alpha", 2), ("Alpha", 1)]),
        ("name LIKE 'al%'", []),
        ("name ILIKE 'al%'", [("Alpha", 2), ("Alpha", 1)]),
        ("version_number = 2", [("Alpha", 2)]),
        ("version_number = '2'", [("Alpha", 2)]),
        ("version_number > 1", [("Alpha", 2)]),
        ("version_number <= 1", [("gamma", 1), ("beta", 1), ("Alpha", 1)]),
        ("version_number != 1", [("Alpha", 2)]),
        ("run_id = 'r1'", [("beta", 1), ("Alpha", 1)]),
        ("run_id IN ('r2')", [("Alpha", 2)]),
        # A version without a run never matches a run_id comparison (SQL NULL semantics).
        ("run_id != 'r1'", [("Alpha", 2)]),
        ("run_id NOT IN ('r1')", [("Alpha", 2)]),
        ("source_path = 's3://b/alpha1'", [("Alpha", 1)]),
        ("source_path LIKE 's3://%'", [("gamma", 1), ("Alpha", 2), ("Alpha", 1)]),
        ("source_path ILIKE 'S3://%1'", [("gamma", 1), ("Alpha", 1)]),
        ("tags.q = 'good'", [("Alpha", 1)]),
        ("tags.q != 'good'", [("beta", 1)]),
        ("tags.q LIKE '%o%'", [("Alpha", 1)]),
        ("name = 'Alpha' AND version_number = 2", [("Alpha", 2)]),
        ("name = 'Alpha' AND run_id = 'r2' AND tags.q = 'good'", []),
    ],
)
def test_search_model_versions_filters_like_mlflow(
    catalog: RegistryStore, filter_string: str, expected: list[tuple[str, int]]
) -> None:
    assert versions(search_versions(catalog, filter_string)) == expected


def test_search_model_versions_does_not_see_deleted_versions(catalog: RegistryStore) -> None:
    catalog.delete_model_version("Alpha", 2)

    assert versions(search_versions(catalog, "name = 'Alpha'")) == [("Alpha", 1)]


def test_search_model_versions_does_not_see_versions_of_deleted_models(catalog: RegistryStore) -> None:
    catalog.delete_registered_model("Alpha")

    assert versions(search_versions(catalog, "name = 'Alpha'")) == []


def test_search_model_versions_sees_renamed_models(catalog: RegistryStore) -> None:
    catalog.rename_registered_model("Alpha", "Omega")

    assert versions(search_versions(catalog, "name = 'Omega'")) == [("Omega", 2), ("Omega", 1)]
    assert versions(search_versions(catalog, "name = 'Alpha'")) == []


def test_search_model_versions_returns_full_versions(catalog: RegistryStore) -> None:
    catalog.set_registered_model_alias("Alpha", "champion", 1)
    catalog.transition_model_version_stage("Alpha", 1, "Production")

    found = search_versions(catalog, "name = 'Alpha' AND version_number = 1").items

    # Unlike MLflow's SQL store (whose search results carry no aliases), every read here
    # returns a version with its aliases.
    assert found == (catalog.get_model_version("Alpha", 1),)
    assert found[0].aliases == ("champion",)


# --- search_model_versions: order ------------------------------------------------------------------


def test_search_model_versions_default_order_is_latest_update_first(catalog: RegistryStore) -> None:
    assert versions(search_versions(catalog)) == [("gamma", 1), ("beta", 1), ("Alpha", 2), ("Alpha", 1)]

    catalog.update_model_version("Alpha", 1, "touched")

    assert versions(search_versions(catalog)) == [("Alpha", 1), ("gamma", 1), ("beta", 1), ("Alpha", 2)]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["name"], [("Alpha", 2), ("Alpha", 1), ("beta", 1), ("gamma", 1)]),
        (["name DESC"], [("gamma", 1), ("beta", 1), ("Alpha", 2), ("Alpha", 1)]),
        (["version_number"], [("Alpha", 1), ("beta", 1), ("gamma", 1), ("Alpha", 2)]),
        (["version_number DESC"], [("Alpha", 2), ("Alpha", 1), ("beta", 1), ("gamma", 1)]),
        (["creation_timestamp"], [("Alpha", 1), ("Alpha", 2), ("beta", 1), ("gamma", 1)]),
        (["creation_timestamp DESC"], [("gamma", 1), ("beta", 1), ("Alpha", 2), ("Alpha", 1)]),
        (["last_updated_timestamp"], [("Alpha", 1), ("Alpha", 2), ("beta", 1), ("gamma", 1)]),
        (["name DESC", "version_number ASC"], [("gamma", 1), ("beta", 1), ("Alpha", 1), ("Alpha", 2)]),
    ],
)
def test_search_model_versions_orders_like_mlflow(
    catalog: RegistryStore, order_by: list[str], expected: list[tuple[str, int]]
) -> None:
    assert versions(search_versions(catalog, order_by=order_by)) == expected


@pytest.mark.genesis_requires("import")
def test_search_model_versions_breaks_ties_by_name_then_version_desc(registry: RegistryStore) -> None:
    for name in ("b", "a"):
        registry.import_registered_model(RegisteredModel(name, 1000, 1000))
        for number in (1, 2):
            registry.import_model_version(ModelVersion(name, number, 1000, 1000, source="s"))

    found = versions(search_versions(registry, order_by=["creation_timestamp"]))

    assert found == [("a", 2), ("a", 1), ("b", 2), ("b", 1)]


# --- search_model_versions: limits -----------------------------------------------------------------


@pytest.mark.parametrize("max_results", [1, 200_000])
def test_search_model_versions_accepts_max_results_up_to_200000(
    catalog: RegistryStore, max_results: int
) -> None:
    assert len(search_versions(catalog, max_results=max_results)) == min(max_results, 4)


@pytest.mark.parametrize("max_results", [0, -1, 200_001])
def test_search_model_versions_rejects_max_results_out_of_range(
    catalog: RegistryStore, max_results: int
) -> None:
    with pytest.raises(InvalidParameterValue):
        search_versions(catalog, max_results=max_results)


def test_search_model_versions_default_page_holds_every_small_result(catalog: RegistryStore) -> None:
    page = search_versions(catalog)

    assert len(page) == 4
    assert page.next_page_token is None


# --- paging ----------------------------------------------------------------------------------------


@pytest.fixture
def many(registry: RegistryStore) -> RegistryStore:
    """Seven models m0..m6, tagged by parity; model m<i> has i % 3 + 1 versions."""
    for i in range(7):
        name = f"m{i}"
        registry.create_registered_model(
            name, tags=[RegisteredModelTag("parity", "even" if i % 2 == 0 else "odd")]
        )
        for _ in range(i % 3 + 1):
            registry.create_model_version(name, f"s3://b/{name}")
    return registry


@pytest.mark.parametrize("page_size", [1, 2, 3, 6, 7, 8])
@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        (None, None),
        ("tags.parity = 'even'", None),
        (None, ["timestamp DESC"]),
        ("name != 'm3'", ["name DESC"]),
    ],
)
def test_search_registered_models_pages_concatenate_to_the_whole_result(
    many: RegistryStore, page_size: int, filter_string: str | None, order_by: list[str] | None
) -> None:
    whole = search_models(many, filter_string, order_by, max_results=1000).items

    def search(**kwargs: Any) -> Page[RegisteredModel]:
        return search_models(many, filter_string, order_by, **kwargs)

    paged, pages = all_pages(search, page_size)

    assert paged == list(whole)
    assert pages == max(1, -(-len(whole) // page_size))


@pytest.mark.parametrize("page_size", [1, 3, 5, 12, 13])
@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        (None, None),
        ("version_number > 1", None),
        (None, ["name", "version_number"]),
        ("name LIKE 'm%'", None),
    ],
)
def test_search_model_versions_pages_concatenate_to_the_whole_result(
    many: RegistryStore, page_size: int, filter_string: str | None, order_by: list[str] | None
) -> None:
    whole = search_versions(many, filter_string, order_by).items

    def search(**kwargs: Any) -> Page[ModelVersion]:
        return search_versions(many, filter_string, order_by, **kwargs)

    paged, pages = all_pages(search, page_size)

    assert paged == list(whole)
    assert pages == max(1, -(-len(whole) // page_size))


def test_search_last_page_has_no_token_even_when_exactly_full(many: RegistryStore) -> None:
    assert search_models(many, max_results=7).next_page_token is None
    assert search_versions(many, max_results=13).next_page_token is None


def test_search_page_token_belongs_to_its_filter(many: RegistryStore) -> None:
    token = search_models(many, "tags.parity = 'even'", max_results=1).next_page_token

    with pytest.raises(InvalidParameterValue):
        search_models(many, "tags.parity = 'odd'", max_results=1, page_token=token)


def test_search_page_token_belongs_to_its_order(many: RegistryStore) -> None:
    token = search_versions(many, order_by=["name"], max_results=2).next_page_token

    with pytest.raises(InvalidParameterValue):
        search_versions(many, order_by=["name DESC"], max_results=2, page_token=token)


def test_search_page_token_of_one_entity_kind_is_refused_by_the_other(many: RegistryStore) -> None:
    model_token = search_models(many, max_results=2).next_page_token
    version_token = search_versions(many, max_results=2).next_page_token

    with pytest.raises(InvalidParameterValue):
        search_versions(many, max_results=2, page_token=model_token)
    with pytest.raises(InvalidParameterValue):
        search_models(many, max_results=2, page_token=version_token)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda good: "garbage", id="not-base64"),
        pytest.param(lambda good: base64.b64encode(b"not json").decode(), id="not-json"),
        pytest.param(lambda good: base64.b64encode(b'{"offset": 2}').decode(), id="mlflow-token"),
        pytest.param(lambda good: good[:-2], id="truncated"),
        pytest.param(lambda good: good + "AAAA", id="extended"),
    ],
)
@pytest.mark.parametrize("kind", ["models", "versions"])
def test_search_rejects_a_forged_page_token(
    many: RegistryStore, make_token: Callable[[str], str], kind: str
) -> None:
    search = search_models if kind == "models" else search_versions
    good = search(many, max_results=2).next_page_token
    assert good is not None

    with pytest.raises(InvalidParameterValue):
        search(many, max_results=2, page_token=make_token(good))


def test_search_page_token_survives_a_change_of_page_size(many: RegistryStore) -> None:
    whole = names(search_models(many))
    first = search_models(many, max_results=2)

    rest = search_models(many, max_results=100, page_token=first.next_page_token)

    assert names(first) + names(rest) == whole


# --- prompts (MLflow keeps its prompt registry out of model searches) -----------------------------


@pytest.fixture
def with_prompt(registry: RegistryStore) -> RegistryStore:
    registry.create_registered_model("plain")
    registry.create_registered_model("prompt", tags=[RegisteredModelTag(PROMPT_TAG, "true")])
    registry.create_registered_model("notprompt", tags=[RegisteredModelTag(PROMPT_TAG, "false")])
    registry.create_model_version("plain", "s")
    registry.create_model_version("prompt", "s", tags=[ModelVersionTag(PROMPT_TAG, "true")])
    registry.create_model_version("notprompt", "s")
    return registry


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["notprompt", "plain"]),
        (f"tags.`{PROMPT_TAG}` = 'true'", ["prompt"]),
        (f"tags.`{PROMPT_TAG}` = 'false'", ["notprompt", "plain"]),
        (f"tags.`{PROMPT_TAG}` != 'true'", ["notprompt", "plain"]),
        ("name LIKE '%prompt'", ["notprompt"]),
    ],
)
def test_search_registered_models_leaves_prompts_out_unless_asked(
    with_prompt: RegistryStore, filter_string: str | None, expected: list[str]
) -> None:
    assert names(search_models(with_prompt, filter_string)) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["notprompt", "plain"]),
        (f"tags.`{PROMPT_TAG}` = 'true'", ["prompt"]),
        (f"tags.`{PROMPT_TAG}` = 'false'", ["notprompt", "plain"]),
    ],
)
def test_search_model_versions_leaves_prompt_versions_out_unless_asked(
    with_prompt: RegistryStore, filter_string: str | None, expected: list[str]
) -> None:
    assert sorted(name for name, _ in versions(search_versions(with_prompt, filter_string))) == expected


def test_get_registered_model_still_returns_a_prompt(with_prompt: RegistryStore) -> None:
    assert with_prompt.get_registered_model("prompt").tags_dict == {PROMPT_TAG: "true"}
