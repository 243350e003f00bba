"""MLflow 3 logged models: create, get, finalize, tags, params, delete, metrics, search."""

from __future__ import annotations

import pytest

from genesis_flow.core.entities import (
    DatasetRef,
    LifecycleStage,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ModelMetric,
    Page,
    ViewType,
)
from genesis_flow.core.errors import (
    ExperimentNotFound,
    InvalidParameterValue,
    LoggedModelNotFound,
    ResourceDoesNotExist,
)
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.support import TickingClock
from genesis_flow.testing.tracking_helpers import all_pages, logged_models, new_run, runs, tampered

UNKNOWN = "m-" + "0" * 32


# --- create / get ----------------------------------------------------------------------------------------


def test_create_logged_model_is_pending_and_gettable(tracking: TrackingStore, clock: TickingClock) -> None:
    experiment_id = tracking.create_experiment("models")
    run_id = new_run(tracking, experiment_id)
    before = clock.now
    model = tracking.create_logged_model(
        experiment_id,
        name="clf",
        source_run_id=run_id,
        tags=[LoggedModelTag("t", "1")],
        params=[LoggedModelParameter("p", "1")],
        model_type="sklearn",
    )
    assert model.model_id
    assert model.experiment_id == experiment_id
    assert model.name == "clf"
    assert model.source_run_id == run_id
    assert model.model_type == "sklearn"
    assert model.status is LoggedModelStatus.PENDING
    assert model.lifecycle_stage is LifecycleStage.ACTIVE
    assert model.tags == (LoggedModelTag("t", "1"),)
    assert model.params == (LoggedModelParameter("p", "1"),)
    assert model.metrics == ()
    assert before < model.creation_timestamp <= clock.now
    assert model.last_updated_timestamp == model.creation_timestamp
    assert tracking.get_logged_model(model.model_id) == model


def test_logged_model_artifact_location_is_under_experiment_models(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("models")
    location = tracking.get_experiment(experiment_id).artifact_location
    model = tracking.create_logged_model(experiment_id, name="clf")
    assert model.artifact_location == f"{location}/models/{model.model_id}/artifacts"


def test_logged_model_artifact_location_goes_before_the_experiment_location_query(
    tracking: TrackingStore,
) -> None:
    experiment_id = tracking.create_experiment("models", artifact_location="s3://bucket/p?sig=x#f")
    model = tracking.create_logged_model(experiment_id, name="clf")
    assert model.artifact_location == f"s3://bucket/p/models/{model.model_id}/artifacts?sig=x#f"


def test_logged_model_ids_are_distinct(tracking: TrackingStore) -> None:
    assert len({tracking.create_logged_model("0").model_id for _ in range(10)}) == 10


def test_logged_model_without_name_gets_one(tracking: TrackingStore) -> None:
    model = tracking.create_logged_model("0")
    assert isinstance(model.name, str) and model.name


@pytest.mark.parametrize("name", ["a/b", "a:b", "a.b", "a%b", 'a"b', "a'b", ""])
def test_logged_model_name_with_forbidden_character_is_rejected(tracking: TrackingStore, name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        tracking.create_logged_model("0", name=name)
    assert logged_models(tracking, ["0"]).items == ()


@pytest.mark.parametrize("name", ["ok name", "with-dash_and_underscore", "ünï", "x" * 600])
def test_logged_model_names_mlflow_accepts_are_accepted(tracking: TrackingStore, name: str) -> None:
    assert tracking.create_logged_model("0", name=name).name == name


def test_logged_model_names_need_not_be_unique(tracking: TrackingStore) -> None:
    first = tracking.create_logged_model("0", name="same")
    second = tracking.create_logged_model("0", name="same")
    assert first.model_id != second.model_id


def test_create_logged_model_in_unknown_experiment_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(ExperimentNotFound):
        tracking.create_logged_model("999", name="clf")


def test_create_logged_model_in_deleted_experiment_is_rejected(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("gone")
    tracking.delete_experiment(experiment_id)
    with pytest.raises(InvalidParameterValue):
        tracking.create_logged_model(experiment_id, name="clf")


def test_get_unknown_logged_model_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(LoggedModelNotFound):
        tracking.get_logged_model(UNKNOWN)


# --- finalize -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [LoggedModelStatus.READY, LoggedModelStatus.FAILED])
def test_finalize_logged_model_sets_status_and_bumps_last_updated(
    tracking: TrackingStore, status: LoggedModelStatus
) -> None:
    model = tracking.create_logged_model("0", name="clf")
    finalized = tracking.finalize_logged_model(model.model_id, status)
    assert finalized.status is status
    assert finalized.last_updated_timestamp > model.last_updated_timestamp
    assert finalized.creation_timestamp == model.creation_timestamp
    assert tracking.get_logged_model(model.model_id) == finalized


def test_finalize_logged_model_again_changes_status(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0").model_id
    tracking.finalize_logged_model(model_id, LoggedModelStatus.READY)
    tracking.finalize_logged_model(model_id, LoggedModelStatus.FAILED)
    assert tracking.get_logged_model(model_id).status is LoggedModelStatus.FAILED


def test_finalize_unknown_logged_model_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(LoggedModelNotFound):
        tracking.finalize_logged_model(UNKNOWN, LoggedModelStatus.READY)


# --- tags and params ------------------------------------------------------------------------------------


def test_set_logged_model_tags_adds_and_overwrites(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0", tags=[LoggedModelTag("t", "1")]).model_id
    tracking.set_logged_model_tags(model_id, [LoggedModelTag("t", "2"), LoggedModelTag("u", "x")])
    assert tracking.get_logged_model(model_id).tags == (LoggedModelTag("t", "2"), LoggedModelTag("u", "x"))


def test_set_logged_model_tags_repeated_key_keeps_last(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0").model_id
    tracking.set_logged_model_tags(model_id, [LoggedModelTag("t", "1"), LoggedModelTag("t", "2")])
    assert tracking.get_logged_model(model_id).tags == (LoggedModelTag("t", "2"),)


@pytest.mark.parametrize("key", ["a/../b", "", "$x", "x" * 251], ids=lambda k: repr(k[:12]))
def test_set_logged_model_tag_with_bad_key_is_rejected(tracking: TrackingStore, key: str) -> None:
    # MLflow's SQL store stores any key; the port applies MLflow's tag-key rule.
    model_id = tracking.create_logged_model("0").model_id
    with pytest.raises(InvalidParameterValue):
        tracking.set_logged_model_tags(model_id, [LoggedModelTag("fine", "1"), LoggedModelTag(key, "v")])
    assert tracking.get_logged_model(model_id).tags == ()


def test_set_tags_on_unknown_logged_model_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(LoggedModelNotFound):
        tracking.set_logged_model_tags(UNKNOWN, [LoggedModelTag("t", "1")])


def test_delete_logged_model_tag_removes_it(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model(
        "0", tags=[LoggedModelTag("t", "1"), LoggedModelTag("u", "2")]
    ).model_id
    tracking.delete_logged_model_tag(model_id, "t")
    assert tracking.get_logged_model(model_id).tags == (LoggedModelTag("u", "2"),)


def test_delete_missing_logged_model_tag_raises_does_not_exist(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0").model_id
    with pytest.raises(ResourceDoesNotExist):
        tracking.delete_logged_model_tag(model_id, "missing")


def test_delete_tag_of_unknown_logged_model_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(LoggedModelNotFound):
        tracking.delete_logged_model_tag(UNKNOWN, "t")


def test_log_logged_model_params_adds_them(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0", params=[LoggedModelParameter("a", "1")]).model_id
    tracking.log_logged_model_params(
        model_id, [LoggedModelParameter("c", "3"), LoggedModelParameter("b", "2")]
    )
    assert tracking.get_logged_model(model_id).params == (
        LoggedModelParameter("a", "1"),
        LoggedModelParameter("b", "2"),
        LoggedModelParameter("c", "3"),
    )


def test_log_logged_model_param_with_another_value_is_rejected(tracking: TrackingStore) -> None:
    # MLflow's SQL store fails on its unique index (BAD_REQUEST); the port says InvalidParameterValue.
    model_id = tracking.create_logged_model("0", params=[LoggedModelParameter("a", "1")]).model_id
    with pytest.raises(InvalidParameterValue):
        tracking.log_logged_model_params(model_id, [LoggedModelParameter("a", "2")])
    assert tracking.get_logged_model(model_id).params == (LoggedModelParameter("a", "1"),)


@pytest.mark.parametrize("key", ["a/../b", "", "$x", "x" * 251], ids=lambda k: repr(k[:12]))
def test_log_logged_model_param_with_bad_key_is_rejected(tracking: TrackingStore, key: str) -> None:
    model_id = tracking.create_logged_model("0").model_id
    with pytest.raises(InvalidParameterValue):
        tracking.log_logged_model_params(model_id, [LoggedModelParameter(key, "v")])
    assert tracking.get_logged_model(model_id).params == ()


def test_log_params_of_unknown_logged_model_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(LoggedModelNotFound):
        tracking.log_logged_model_params(UNKNOWN, [LoggedModelParameter("p", "1")])


@pytest.mark.parametrize("field", ["tags", "params"], ids=["bad tag at create", "bad param at create"])
def test_create_logged_model_with_bad_key_is_rejected(tracking: TrackingStore, field: str) -> None:
    bad = {"tags": [LoggedModelTag("a/../b", "v")], "params": [LoggedModelParameter("a/../b", "v")]}
    with pytest.raises(InvalidParameterValue):
        tracking.create_logged_model("0", name="clf", **{field: bad[field]})  # type: ignore[arg-type]
    assert logged_models(tracking, ["0"]).items == ()


# --- delete --------------------------------------------------------------------------------------------


def test_deleted_logged_model_is_not_found(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0").model_id
    tracking.delete_logged_model(model_id)
    with pytest.raises(LoggedModelNotFound):
        tracking.get_logged_model(model_id)


def test_delete_logged_model_twice_is_fine(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0").model_id
    tracking.delete_logged_model(model_id)
    tracking.delete_logged_model(model_id)
    with pytest.raises(LoggedModelNotFound):
        tracking.get_logged_model(model_id)


def test_delete_unknown_logged_model_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(LoggedModelNotFound):
        tracking.delete_logged_model(UNKNOWN)


def test_deleted_logged_model_is_not_searched(tracking: TrackingStore) -> None:
    kept = tracking.create_logged_model("0").model_id
    tracking.delete_logged_model(tracking.create_logged_model("0").model_id)
    assert [m.model_id for m in logged_models(tracking, ["0"])] == [kept]


# --- metrics and runs -----------------------------------------------------------------------------------


def test_run_metrics_with_model_id_appear_on_the_logged_model(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    model_id = tracking.create_logged_model("0", source_run_id=run_id).model_id
    tracking.log_metric(
        run_id, Metric("acc", 0.5, 10, 1, model_id=model_id, dataset_name="train", dataset_digest="d1")
    )
    tracking.log_batch(run_id, metrics=[Metric("acc", 0.7, 20, 2, model_id=model_id)])
    tracking.log_metric(run_id, Metric("other", 1.0, 10, 1))
    assert tracking.get_logged_model(model_id).metrics == (
        ModelMetric(
            "acc", 0.5, 10, 1, model_id=model_id, dataset_name="train", dataset_digest="d1", run_id=run_id
        ),
        ModelMetric("acc", 0.7, 20, 2, model_id=model_id, run_id=run_id),
    )
    assert tracking.get_run(run_id).data.metrics_dict == {"acc": 0.7, "other": 1.0}


def test_model_metric_logged_twice_is_stored_once(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    model_id = tracking.create_logged_model("0").model_id
    point = Metric("acc", 0.5, 10, 1, model_id=model_id)
    tracking.log_metric(run_id, point)
    tracking.log_metric(run_id, point)
    assert len(tracking.get_logged_model(model_id).metrics) == 1


def test_log_outputs_shows_model_in_run_outputs(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    model_id = tracking.create_logged_model("0", source_run_id=run_id).model_id
    tracking.log_outputs(run_id, [LoggedModelOutput(model_id, 0)])
    run = tracking.get_run(run_id)
    assert run.outputs.model_outputs == (LoggedModelOutput(model_id, 0),)
    (found,) = runs(tracking, ["0"], view=ViewType.ALL)
    assert found.outputs == run.outputs


# --- search ---------------------------------------------------------------------------------------------


class Shelf:
    """alpha (READY, metrics on train and eval), beta (metric on train), Gamma (FAILED), delta
    (deleted), all in one experiment and created in that order; eps in another experiment."""

    def __init__(self, tracking: TrackingStore) -> None:
        self.tracking = tracking
        self.experiment_id = tracking.create_experiment("models")
        self.other_experiment = tracking.create_experiment("other")
        self.run_id = new_run(tracking, self.experiment_id)
        create = tracking.create_logged_model
        e, r = self.experiment_id, self.run_id
        alpha = create(e, "alpha", r, [LoggedModelTag("t", "1")], [LoggedModelParameter("p", "1")], "sk")
        beta = create(e, "beta", r, [LoggedModelTag("t", "2")], model_type="torch")
        gamma = create(e, "Gamma")
        delta = create(e, "delta")
        eps = create(self.other_experiment, "eps")
        self.ids = {m.name: m.model_id for m in (alpha, beta, gamma, delta, eps)}
        self.names = {i: n for n, i in self.ids.items()}
        log = tracking.log_metric
        log(r, Metric("acc", 0.5, 10, 1, model_id=alpha.model_id, dataset_name="train", dataset_digest="d1"))
        log(r, Metric("acc", 0.7, 20, 2, model_id=alpha.model_id, dataset_name="eval", dataset_digest="d2"))
        log(r, Metric("acc", 0.9, 10, 1, model_id=beta.model_id, dataset_name="train", dataset_digest="d1"))
        tracking.finalize_logged_model(alpha.model_id, LoggedModelStatus.READY)
        tracking.finalize_logged_model(gamma.model_id, LoggedModelStatus.FAILED)
        tracking.delete_logged_model(delta.model_id)

    def search(
        self,
        flt: str = "",
        order: tuple[str, ...] = (),
        datasets: tuple[DatasetRef, ...] = (),
        **kwargs: object,
    ) -> list[str]:
        page = logged_models(self.tracking, [self.experiment_id], flt, order, datasets, **kwargs)  # type: ignore[arg-type]
        return [self.names[m.model_id] for m in page]


@pytest.fixture
def shelf(tracking: TrackingStore) -> Shelf:
    return Shelf(tracking)


def test_search_logged_models_default_order_is_newest_first(shelf: Shelf) -> None:
    assert shelf.search() == ["Gamma", "beta", "alpha"]


FILTERS: dict[str, list[str]] = {
    "name = 'alpha'": ["alpha"],
    "name != 'alpha'": ["Gamma", "beta"],
    "name LIKE 'a%'": ["alpha"],
    "name ILIKE 'g%'": ["Gamma"],
    "name IN ('alpha', 'beta')": ["beta", "alpha"],
    "name NOT IN ('alpha')": ["Gamma", "beta"],
    "model_type = 'sk'": ["alpha"],
    "tags.t = '1'": ["alpha"],
    "tags.t != '1'": ["beta"],
    "params.p = '1'": ["alpha"],
    "params.nope = '1'": [],
    # a model matches when any of its points satisfies the comparison
    "metrics.acc > 0.8": ["beta"],
    "metrics.acc < 0.6": ["alpha"],
    "metrics.acc > 0.6": ["beta", "alpha"],
    "metrics.acc = 0.7": ["alpha"],
    "metrics.acc > 0.6 AND tags.t = '1'": ["alpha"],
    # MLflow's SQL store compares the status name with its integer column and finds nothing;
    # the port filters by status name.
    "status = 'READY'": ["alpha"],
    "status = 'FAILED'": ["Gamma"],
    "status = 'PENDING'": ["beta"],
}


@pytest.mark.parametrize("flt", list(FILTERS))
def test_search_logged_models_filter(shelf: Shelf, flt: str) -> None:
    assert shelf.search(flt) == FILTERS[flt]


def test_search_logged_models_by_source_run_and_model_id(shelf: Shelf) -> None:
    assert shelf.search(f"source_run_id = '{shelf.run_id}'") == ["beta", "alpha"]
    assert shelf.search(f"model_id = '{shelf.ids['beta']}'") == ["beta"]


def test_search_logged_models_by_creation_timestamp(shelf: Shelf) -> None:
    pivot = shelf.tracking.get_logged_model(shelf.ids["beta"]).creation_timestamp
    assert shelf.search(f"creation_timestamp > {pivot}") == ["Gamma"]
    assert shelf.search(f"creation_timestamp <= {pivot}") == ["beta", "alpha"]


DATASETS: dict[str, tuple[str, tuple[DatasetRef, ...], list[str]]] = {
    "metric on train only": ("metrics.acc >= 0.5", (DatasetRef("train"),), ["beta", "alpha"]),
    "0.7 was logged on eval": ("metrics.acc > 0.6", (DatasetRef("train"),), ["beta"]),
    "any metric on eval": ("", (DatasetRef("eval"),), ["alpha"]),
    "digest must match": ("", (DatasetRef("train", "zz"),), []),
    "name and digest": ("", (DatasetRef("train", "d1"),), ["beta", "alpha"]),
    "either dataset": ("metrics.acc > 0.6", (DatasetRef("train"), DatasetRef("eval")), ["beta", "alpha"]),
}


@pytest.mark.parametrize("case", list(DATASETS))
def test_search_logged_models_datasets_restrict_metrics(shelf: Shelf, case: str) -> None:
    flt, datasets, expected = DATASETS[case]
    assert shelf.search(flt, datasets=datasets) == expected


ORDERS: dict[tuple[str, ...], list[str]] = {
    ("name",): ["Gamma", "alpha", "beta"],
    ("name DESC",): ["beta", "alpha", "Gamma"],
    ("creation_timestamp ASC",): ["alpha", "beta", "Gamma"],
    # the value logged last (greatest timestamp) counts; models without the metric go last
    ("metrics.acc DESC",): ["beta", "alpha", "Gamma"],
    ("metrics.acc ASC",): ["alpha", "beta", "Gamma"],
    # missing values go last
    ("model_type ASC",): ["alpha", "beta", "Gamma"],
    ("last_updated_timestamp DESC",): ["Gamma", "alpha", "beta"],
}


@pytest.mark.parametrize("order", list(ORDERS), ids=lambda o: ", ".join(o))
def test_search_logged_models_order(shelf: Shelf, order: tuple[str, ...]) -> None:
    assert shelf.search("", order) == ORDERS[order]


def test_search_logged_models_spans_experiments(shelf: Shelf) -> None:
    page = logged_models(shelf.tracking, [shelf.experiment_id, shelf.other_experiment])
    assert [shelf.names[m.model_id] for m in page] == ["eps", "Gamma", "beta", "alpha"]


def test_search_logged_models_of_unknown_experiment_is_empty(shelf: Shelf) -> None:
    assert logged_models(shelf.tracking, ["999"]).items == ()


@pytest.mark.parametrize("page_size", [1, 2, 3])
@pytest.mark.parametrize("order", [(), ("name",), ("metrics.acc DESC",)], ids=str)
def test_search_logged_models_pages_concatenate(shelf: Shelf, page_size: int, order: tuple[str, ...]) -> None:
    def fetch(token: str | None) -> Page[LoggedModel]:
        return logged_models(
            shelf.tracking, [shelf.experiment_id], "", order, max_results=page_size, page_token=token
        )

    paged = all_pages(fetch)
    assert [shelf.names[m.model_id] for m in paged] == shelf.search("", order)


def test_search_logged_models_max_results_defaults_to_100(tracking: TrackingStore) -> None:
    for _ in range(101):
        tracking.create_logged_model("0")
    page = logged_models(tracking, ["0"])
    assert len(page.items) == 100
    assert page.next_page_token is not None


def _token(shelf: Shelf) -> str:
    token = logged_models(shelf.tracking, [shelf.experiment_id], max_results=1).next_page_token
    assert token is not None
    return token


def test_search_logged_models_tampered_token_is_rejected(shelf: Shelf) -> None:
    for bad in tampered(_token(shelf)):
        with pytest.raises(InvalidParameterValue):
            logged_models(shelf.tracking, [shelf.experiment_id], max_results=1, page_token=bad)


@pytest.mark.parametrize("change", ["filter", "order", "experiments"])
def test_search_logged_models_token_bound_to_its_query(shelf: Shelf, change: str) -> None:
    # MLflow's own logged-model tokens carry experiment ids, filter and order and check them.
    query: dict[str, object] = {
        "experiment_ids": [shelf.experiment_id],
        "flt": "name = 'alpha'" if change == "filter" else "",
        "order": ("name",) if change == "order" else (),
    }
    if change == "experiments":
        query["experiment_ids"] = [shelf.experiment_id, shelf.other_experiment]
    with pytest.raises(InvalidParameterValue):
        logged_models(shelf.tracking, max_results=1, page_token=_token(shelf), **query)  # type: ignore[arg-type]
