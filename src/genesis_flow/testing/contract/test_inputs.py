"""Dataset and model inputs of runs, model outputs, and search_datasets."""

from __future__ import annotations

import pytest

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    DatasetSummary,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
)
from genesis_flow.core.errors import InvalidParameterValue, LoggedModelNotFound, RunNotFound
from genesis_flow.ports import TrackingStore
from genesis_flow.testing.tracking_helpers import dataset, dataset_input, new_run

TRAIN = dataset("train", "d1", "s3://bucket/train")
EVAL = dataset("eval", "d2", "s3://bucket/eval")


def _inputs(tracking: TrackingStore, run_id: str) -> list[tuple[str, str, str | None]]:
    return [
        (i.dataset.name, i.dataset.digest, i.context) for i in tracking.get_run(run_id).inputs.dataset_inputs
    ]


# --- log_inputs: datasets ------------------------------------------------------------------------------


def test_log_inputs_shows_dataset_on_the_run(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    full = Dataset("train", "d1", "s3", "s3://bucket/train", schema='{"cols": []}', profile='{"rows": 3}')
    tracking.log_inputs(run_id, datasets=[DatasetInput(full, (InputTag("mlflow.data.context", "training"),))])
    (stored,) = tracking.get_run(run_id).inputs.dataset_inputs
    assert stored.dataset == full
    assert stored.context == "training"
    assert stored.tags == (InputTag("mlflow.data.context", "training"),)


def test_dataset_inputs_come_back_in_logging_order(tracking: TrackingStore) -> None:
    # MLflow returns a run's inputs in the order they were first logged, in get_run and search.
    run_id = new_run(tracking)
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN), dataset_input(EVAL)])
    tracking.log_inputs(run_id, datasets=[dataset_input(dataset("eval", "d0")), dataset_input(TRAIN)])
    expected = [("train", "d1", None), ("eval", "d2", None), ("eval", "d0", None)]
    assert _inputs(tracking, run_id) == expected
    (found,) = tracking.search_runs([tracking.get_run(run_id).info.experiment_id]).items
    assert [(i.dataset.name, i.dataset.digest, i.context) for i in found.inputs.dataset_inputs] == expected


def test_input_tags_are_kept(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN, "training", owner="ann", split="80")])
    (stored,) = tracking.get_run(run_id).inputs.dataset_inputs
    assert {t.key: t.value for t in stored.tags} == {
        "mlflow.data.context": "training",
        "owner": "ann",
        "split": "80",
    }


def test_same_dataset_input_twice_keeps_one_input(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN, "training")])
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN, "training")])
    assert _inputs(tracking, run_id) == [("train", "d1", "training")]


def test_same_dataset_with_another_context_keeps_the_first_input(tracking: TrackingStore) -> None:
    # MLflow links a (dataset, run) pair once; the second call's tags are not stored.
    run_id = new_run(tracking)
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN, "training")])
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN, "eval")])
    assert _inputs(tracking, run_id) == [("train", "d1", "training")]


def test_duplicate_dataset_within_one_call_keeps_the_first(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN, "first"), dataset_input(TRAIN, "second")])
    assert _inputs(tracking, run_id) == [("train", "d1", "first")]


def test_same_name_other_digest_is_another_dataset(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    tracking.log_inputs(run_id, datasets=[dataset_input(dataset("train", "v1"))])
    tracking.log_inputs(run_id, datasets=[dataset_input(dataset("train", "v2"))])
    assert _inputs(tracking, run_id) == [("train", "v1", None), ("train", "v2", None)]


def test_same_dataset_to_two_runs_is_one_dataset(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("shared")
    first, second = new_run(tracking, experiment_id), new_run(tracking, experiment_id)
    tracking.log_inputs(first, datasets=[dataset_input(TRAIN, "training")])
    tracking.log_inputs(second, datasets=[dataset_input(TRAIN, "training")])
    assert _inputs(tracking, first) == _inputs(tracking, second) == [("train", "d1", "training")]
    assert tracking.search_datasets([experiment_id]) == (
        DatasetSummary(experiment_id, "train", "d1", "training"),
    )


def test_dataset_fields_of_first_logging_win_within_an_experiment(tracking: TrackingStore) -> None:
    # A dataset is stored once per experiment, keyed by (name, digest).
    experiment_id = tracking.create_experiment("shared")
    first, second = new_run(tracking, experiment_id), new_run(tracking, experiment_id)
    tracking.log_inputs(first, datasets=[dataset_input(Dataset("train", "d1", "s3", "s3://a"))])
    tracking.log_inputs(second, datasets=[dataset_input(Dataset("train", "d1", "local", "/elsewhere"))])
    (stored,) = tracking.get_run(second).inputs.dataset_inputs
    assert (stored.dataset.source_type, stored.dataset.source) == ("s3", "s3://a")


def test_log_inputs_with_nothing_changes_nothing(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    before = tracking.get_run(run_id)
    tracking.log_inputs(run_id)
    assert tracking.get_run(run_id) == before


def test_log_inputs_on_unknown_run_raises_not_found(tracking: TrackingStore) -> None:
    with pytest.raises(RunNotFound):
        tracking.log_inputs("0" * 32, datasets=[dataset_input(TRAIN)])


BAD_DATASETS = {
    "name 501": Dataset("n" * 501, "d", "s3", "src"),
    "digest 37": Dataset("n", "d" * 37, "s3", "src"),
    "source 65536": Dataset("n", "d", "s3", "s" * 65536),
    "name None": Dataset(None, "d", "s3", "src"),  # type: ignore[arg-type]
    "digest None": Dataset("n", None, "s3", "src"),  # type: ignore[arg-type]
    "source_type None": Dataset("n", "d", None, "src"),  # type: ignore[arg-type]
    "source None": Dataset("n", "d", "s3", None),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", list(BAD_DATASETS))
def test_log_inputs_with_bad_dataset_is_rejected(tracking: TrackingStore, case: str) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_inputs(run_id, datasets=[dataset_input(TRAIN), DatasetInput(BAD_DATASETS[case])])
    assert tracking.get_run(run_id).inputs.dataset_inputs == ()


@pytest.mark.parametrize(
    "tag", [InputTag("k" * 256, "v"), InputTag("k", "v" * 501)], ids=["key 256", "value 501"]
)
def test_log_inputs_with_over_long_input_tag_is_rejected(tracking: TrackingStore, tag: InputTag) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue):
        tracking.log_inputs(run_id, datasets=[DatasetInput(TRAIN, (tag,))])
    assert tracking.get_run(run_id).inputs.dataset_inputs == ()


def test_dataset_limits_are_inclusive(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    big = Dataset("n" * 500, "d" * 36, "s3", "s" * 65535)
    tracking.log_inputs(run_id, datasets=[DatasetInput(big, (InputTag("k" * 255, "v" * 500),))])
    (stored,) = tracking.get_run(run_id).inputs.dataset_inputs
    assert stored.dataset == big


# --- model inputs and outputs ------------------------------------------------------------------------


def test_log_inputs_records_model_inputs_once(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    model_id = tracking.create_logged_model("0").model_id
    tracking.log_inputs(run_id, models=[LoggedModelInput(model_id)])
    tracking.log_inputs(run_id, models=[LoggedModelInput(model_id)])
    assert tracking.get_run(run_id).inputs.model_inputs == (LoggedModelInput(model_id),)


def test_log_outputs_links_logged_model_to_run(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    model_id = tracking.create_logged_model("0", source_run_id=run_id).model_id
    tracking.log_outputs(run_id, [LoggedModelOutput(model_id, step=3)])
    assert tracking.get_run(run_id).outputs.model_outputs == (LoggedModelOutput(model_id, 3),)


def test_log_outputs_is_idempotent(tracking: TrackingStore) -> None:
    # MLflow's SQL store fails the second call on its unique index; the port makes it a no-op.
    run_id = new_run(tracking)
    model_id = tracking.create_logged_model("0").model_id
    tracking.log_outputs(run_id, [LoggedModelOutput(model_id, 3)])
    tracking.log_outputs(run_id, [LoggedModelOutput(model_id, 3)])
    assert tracking.get_run(run_id).outputs.model_outputs == (LoggedModelOutput(model_id, 3),)


def test_log_outputs_of_several_models_come_back_sorted(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    ids = sorted(tracking.create_logged_model("0").model_id for _ in range(3))
    tracking.log_outputs(run_id, [LoggedModelOutput(m) for m in reversed(ids)])
    assert [o.model_id for o in tracking.get_run(run_id).outputs.model_outputs] == ids


def test_log_outputs_with_unknown_model_raises_not_found(tracking: TrackingStore) -> None:
    # MLflow's SQL store links any id; the port checks the model exists.
    run_id = new_run(tracking)
    with pytest.raises(LoggedModelNotFound):
        tracking.log_outputs(run_id, [LoggedModelOutput("m-" + "0" * 32)])
    assert tracking.get_run(run_id).outputs.model_outputs == ()


def test_log_outputs_on_unknown_run_raises_run_not_found(tracking: TrackingStore) -> None:
    model_id = tracking.create_logged_model("0").model_id
    with pytest.raises(RunNotFound):
        tracking.log_outputs("0" * 32, [LoggedModelOutput(model_id)])


# --- search_datasets -------------------------------------------------------------------------------------


def test_search_datasets_lists_distinct_name_digest_context(tracking: TrackingStore) -> None:
    exp_a = tracking.create_experiment("a")
    exp_b = tracking.create_experiment("b")
    r1, r2, r3 = new_run(tracking, exp_a), new_run(tracking, exp_a), new_run(tracking, exp_b)
    tracking.log_inputs(r1, datasets=[dataset_input(TRAIN, "training"), dataset_input(EVAL, "eval")])
    tracking.log_inputs(r2, datasets=[dataset_input(TRAIN, "training"), dataset_input(dataset("nc", "d9"))])
    tracking.log_inputs(r3, datasets=[dataset_input(TRAIN, "other")])
    assert tracking.search_datasets([exp_a]) == (
        DatasetSummary(exp_a, "eval", "d2", "eval"),
        DatasetSummary(exp_a, "nc", "d9", None),
        DatasetSummary(exp_a, "train", "d1", "training"),
    )
    assert tracking.search_datasets([exp_b]) == (DatasetSummary(exp_b, "train", "d1", "other"),)


def test_search_datasets_over_several_experiments_orders_by_experiment(tracking: TrackingStore) -> None:
    exp_a = tracking.create_experiment("a")
    exp_b = tracking.create_experiment("b")
    tracking.log_inputs(new_run(tracking, exp_b), datasets=[dataset_input(TRAIN, "x")])
    tracking.log_inputs(new_run(tracking, exp_a), datasets=[dataset_input(TRAIN, "x")])
    found = tracking.search_datasets([exp_b, exp_a])
    assert {(s.experiment_id, s.name) for s in found} == {(exp_a, "train"), (exp_b, "train")}
    assert [s.experiment_id for s in found] == sorted(s.experiment_id for s in found)


def test_search_datasets_of_experiment_without_inputs_is_empty(tracking: TrackingStore) -> None:
    experiment_id = tracking.create_experiment("empty")
    new_run(tracking, experiment_id)
    assert tracking.search_datasets([experiment_id]) == ()


def test_search_datasets_of_unknown_experiment_is_empty(tracking: TrackingStore) -> None:
    assert tracking.search_datasets(["999"]) == ()
