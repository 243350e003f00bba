"""The domain's commands: the paging and batch rules every adapter method starts with."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from genesis_flow.core.commands import (
    ExperimentSearch,
    ImportedRun,
    LogBatch,
    LoggedModelParams,
    PageRequest,
    RunIdPrefix,
    check_imported_experiment,
    check_new_experiment,
    check_new_logged_model,
    check_run_inputs,
    latest_points,
)
from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    Experiment,
    ExperimentTag,
    LoggedModelInput,
    LoggedModelParameter,
    LoggedModelTag,
    Metric,
    Page,
    Param,
    RunTag,
    ViewType,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search import paginate, query_fingerprint
from genesis_flow.core.search.ast import Filter, SearchKind

ITEMS = list(range(7))


@pytest.mark.parametrize("size", [1, 2, 3, 6, 7, 8])
def test_slice_walks_the_same_pages_as_paginate(size: int) -> None:
    fingerprint = query_fingerprint(SearchKind.EXPERIMENTS, "q")
    token: str | None = None
    while True:
        page = PageRequest.search(SearchKind.EXPERIMENTS, size, token, "q").slice(ITEMS)
        assert page == paginate(ITEMS, size, token, fingerprint)
        token = page.next_page_token
        if token is None:
            break


def test_page_of_a_database_answer_drops_the_probe_row() -> None:
    request = PageRequest.search(SearchKind.RUNS, 3, None, "q")
    assert request.fetch == 4
    full = request.page([1, 2, 3, 4])
    assert full.items == (1, 2, 3) and full.next_page_token is not None
    last = request.page([1, 2, 3])
    assert last.items == (1, 2, 3) and last.next_page_token is None
    told = request.page([1, 2], more=True)
    assert told.items == (1, 2) and told.next_page_token == full.next_page_token


def test_a_token_belongs_to_its_query() -> None:
    token = PageRequest.search(SearchKind.RUNS, 1, None, "a").page([1, 2]).next_page_token
    assert PageRequest.search(SearchKind.RUNS, 1, token, "a").offset == 1
    with pytest.raises(InvalidParameterValue, match="different search"):
        PageRequest.search(SearchKind.RUNS, 1, token, "b")


def test_metric_history_without_max_results_is_one_page() -> None:
    request = PageRequest.metric_history("r", "k", None, None)
    assert request.fetch is None
    assert request.slice(ITEMS).items == tuple(ITEMS)
    assert request.page(ITEMS).next_page_token is None


def test_metric_history_refuses_a_negative_page_size() -> None:
    with pytest.raises(InvalidParameterValue, match="max_results"):
        PageRequest.metric_history("r", "k", -1, None)


def test_metric_history_of_page_size_zero_is_an_empty_last_page() -> None:
    page = PageRequest.metric_history("r", "k", 0, None)
    assert page.page(["a", "b"]) == Page(items=())
    assert page.slice(["a", "b"]) == Page(items=())


def test_experiment_scope_is_sorted_unique_text() -> None:
    search = ExperimentSearch.runs(["2", "1", "2"], Filter(), ViewType.ALL, None, (), None)
    assert search.experiment_ids == ("1", "2")
    assert search.page.limit == 1000
    # The same experiments in another order are the same query: a token carries over.
    token = search.page.page(list(range(1001))).next_page_token
    again = ExperimentSearch.runs(["1", "2"], Filter(), ViewType.ALL, None, (), token)
    assert again.page.offset == 1000


def test_a_token_from_other_experiments_is_refused_in_mlflows_words() -> None:
    token = ExperimentSearch.logged_models(["1"], Filter(), [], 1, (), None).page.page([1, 2]).next_page_token
    scope = r"^Experiment IDs in the page token do not match the requested experiment IDs. Expected: \['2'\]$"
    with pytest.raises(InvalidParameterValue, match=scope):
        ExperimentSearch.logged_models(["2"], Filter(), [], 1, (), token)
    # Another filter in the same experiments: our own words, without the (possibly long) token.
    with pytest.raises(InvalidParameterValue, match=r"^Invalid page token: it belongs to a different search"):
        ExperimentSearch.logged_models(["1"], Filter(), [DatasetRef("d")], 1, (), token)


def test_max_results_is_checked_before_the_experiment_ids() -> None:
    with pytest.raises(InvalidParameterValue, match="max_results"):
        ExperimentSearch.traces(["\x00"], Filter(), 0, (), None)
    with pytest.raises(InvalidParameterValue, match="datasets"):
        ExperimentSearch.logged_models(["1"], Filter(), [DatasetRef("\x00")], None, (), None)


def _m(key: str, value: float, timestamp: int, step: int) -> Metric:
    return Metric(key, value, timestamp, step)


def test_latest_point_follows_mlflows_order_and_keeps_the_first_of_equals() -> None:
    first, same = _m("a", 1.0, 5, 1), _m("a", 1.0, 5, 1)
    points = [_m("a", 9.0, 9, 0), first, same, _m("b", math.nan, 1, 0), _m("b", 0.0, 1, 0)]
    latest = latest_points(points)
    assert latest["a"] is first
    assert math.isnan(latest["b"].value)  # NaN counts as 0 and wins the tie against a real 0


def test_log_batch_refuses_changed_params_and_returns_the_new_ones() -> None:
    batch = LogBatch.prepare(
        params=[Param("a", "1"), Param("b", "2")], tags=[RunTag("t", "x"), RunTag("t", "y")]
    )
    assert batch.new_params("r", {"a": "1"}) == (Param("b", "2"),)
    assert batch.tag_values == {"t": "y"}
    with pytest.raises(InvalidParameterValue, match="Changing param values is not allowed"):
        batch.new_params("r", {"a": "other"})


def test_log_batch_knows_its_models_and_refuses_bad_items() -> None:
    batch = LogBatch.prepare(
        metrics=[Metric("m", 1.0, 1, 0, model_id="y"), Metric("m", 2.0, 1, 1, model_id="x")]
    )
    assert batch.model_ids == ("x", "y")
    assert batch.latest["m"].value == 2.0
    with pytest.raises(InvalidParameterValue, match="Duplicate parameter keys"):
        LogBatch.prepare(params=[Param("a", "1"), Param("a", "1")])


def test_imported_history_keeps_each_point_once() -> None:
    point = _m("a", 1.0, 1, 0)
    imported = ImportedRun.prepare("r", [], [], [point, point, _m("a", 2.0, 2, 0)])
    assert len(imported.points) == 2
    assert imported.latest["a"].value == 2.0


def test_logged_model_params_refuse_a_changed_value_and_return_the_new_ones() -> None:
    command = LoggedModelParams.prepare([LoggedModelParameter("a", "1"), LoggedModelParameter("b", "2")])
    assert command.new_params("m-1", {"a": "1"}) == (LoggedModelParameter("b", "2"),)
    with pytest.raises(InvalidParameterValue, match=r"key='a'.*value='0'.*ID='m-1'"):
        command.new_params("m-1", {"a": "0"})
    with pytest.raises(InvalidParameterValue):
        LoggedModelParams.prepare([LoggedModelParameter("a", "1"), LoggedModelParameter("a", "2")])


BAD_TAG = ExperimentTag("", "v")


@pytest.mark.parametrize(
    ("check", "first"),
    [
        (lambda: check_new_experiment("", "runs:/x", [BAD_TAG]), "name"),
        (lambda: check_new_experiment("ok", "runs:/x", [BAD_TAG]), "runs:/ URI"),
        (lambda: check_imported_experiment(Experiment("e\x00", "", "loc", tags=(BAD_TAG,))), "experiment_id"),
        (lambda: check_new_logged_model("a/b", "r\x00", [LoggedModelTag("", "v")], []), "name"),
        (lambda: check_new_logged_model(None, "r\x00", [LoggedModelTag("", "v")], []), "source_run_id"),
    ],
)
def test_preamble_checks_run_in_mlflows_order(check: Callable[[], None], first: str) -> None:
    with pytest.raises(InvalidParameterValue, match=first):
        check()


def test_run_inputs_check_datasets_before_model_ids() -> None:
    bad_dataset = DatasetInput(Dataset("n\x00", "d", "local", "s"))
    with pytest.raises(InvalidParameterValue, match="name"):
        check_run_inputs([bad_dataset], [LoggedModelInput("m\x00")])
    with pytest.raises(InvalidParameterValue, match="model_id"):
        check_run_inputs([], [LoggedModelInput("m\x00")])


@pytest.mark.parametrize(
    ("prefix", "upper"),
    [
        ("ab", "ac"),
        ("a9", "a:"),
        ("a\ud7ff", "a\ue000"),  # past the surrogates no stored id can hold
        ("a\U0010ffff", "b"),
        ("\U0010ffff\U0010ffff", None),
    ],
)
def test_run_id_prefix_range_ends_at_the_least_string_above_it(prefix: str, upper: str | None) -> None:
    assert RunIdPrefix.of(prefix, 1).upper == upper


@pytest.mark.parametrize(
    ("prefix", "limit"), [("", 1), (None, 1), ("a\x00", 1), ("a", 0), ("a", True), ("a", 1.5)]
)
def test_run_id_prefix_refuses_bad_arguments(prefix: object, limit: object) -> None:
    with pytest.raises(InvalidParameterValue):
        RunIdPrefix.of(prefix, limit)
