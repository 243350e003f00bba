"""matches / sort: MLflow 3.17.2's SQL-store semantics on domain entities."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

import pytest

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    Experiment,
    ExperimentTag,
    InputTag,
    LoggedModel,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ModelMetric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from genesis_flow.core.search import (
    Comparator,
    Comparison,
    Filter,
    KeyType,
    OrderBy,
    SearchKind,
    like,
    matches,
    parse_filter,
    parse_order_by,
    sort,
)

RUNS = SearchKind.RUNS
NAN = float("nan")


def make_run(
    run_id: str,
    start_time: int | None = 1000,
    *,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    datasets: Sequence[tuple[str, str, str | None]] = (),
    status: RunStatus = RunStatus.RUNNING,
    end_time: int | None = None,
    run_name: str = "",
    user_id: str = "alice",
) -> Run:
    info = RunInfo(
        run_id=run_id,
        experiment_id="1",
        run_name=run_name,
        user_id=user_id,
        status=status,
        start_time=start_time,
        end_time=end_time,
        artifact_uri=f"file:///a/1/{run_id}/artifacts",
    )
    data = RunData(
        metrics=tuple(Metric(k, v, 0, 0) for k, v in (metrics or {}).items()),
        params=tuple(Param(k, v) for k, v in (params or {}).items()),
        tags=tuple(RunTag(k, v) for k, v in (tags or {}).items()),
    )
    inputs = RunInputs(
        dataset_inputs=tuple(
            DatasetInput(
                Dataset(name, digest, "local", "src"),
                tags=() if context is None else (InputTag("mlflow.data.context", context),),
            )
            for name, digest, context in datasets
        )
    )
    return Run(info=info, data=data, inputs=inputs)


def run_ok(run: Run, text: str) -> bool:
    return matches(RUNS, run, parse_filter(RUNS, text))


# --- LIKE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern", "ci", "expected"),
    [
        ("abc", "abc", False, True),
        ("abc", "a%", False, True),
        ("abc", "%c", False, True),
        ("abc", "%b%", False, True),
        ("abc", "a_c", False, True),
        ("abc", "a_", False, False),
        ("abc", "ABC", False, False),
        ("abc", "ABC", True, True),
        ("ABC", "a%", True, True),
        ("a\nb", "a%b", False, True),
        ("a\nb", "a_b", False, True),
        ("a.c", "a.c", False, True),
        ("abc", "a.c", False, False),
        ("a+c", "a+c", False, True),
        ("a\\c", "a\\c", False, True),
        ("a%c", "a\\%c", False, False),
        ("", "%", False, True),
        ("", "_", False, False),
        ("x", "", False, False),
        ("ÉTÉ", "été", True, True),
    ],
)
def test_like(value: str, pattern: str, ci: bool, expected: bool) -> None:
    assert like(value, pattern, ignore_case=ci) is expected


# --- runs: metrics ----------------------------------------------------------------------------------

R = make_run("r", metrics={"acc": 0.5, "nan": NAN, "inf": math.inf, "ninf": -math.inf})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc = 0.5", True),
        ("metrics.acc != 0.5", False),
        ("metrics.acc != 0.4", True),
        ("metrics.acc < 0.6", True),
        ("metrics.acc <= 0.5", True),
        ("metrics.acc > 0.5", False),
        ("metrics.acc >= 0.5", True),
        ("metrics.acc > 0.4 AND metrics.acc < 0.6", True),
        ("metrics.acc > 0.4 AND metrics.acc > 0.6", False),
        ("metrics.missing != 1", False),
        ("metrics.missing < 1", False),
        ("metrics.nan != 1", True),
        ("metrics.nan = 0", False),
        ("metrics.nan < 1e308", False),
        ("metrics.nan > -1e308", False),
        ("metrics.nan >= 0", False),
        ("metrics.inf > 1e308", True),
        ("metrics.inf = 1.7976931348623157e308", True),
        ("metrics.ninf < -1e308", True),
        ("metrics.ninf = -1.7976931348623157e308", True),
    ],
)
def test_run_metric_matching(text: str, expected: bool) -> None:
    assert run_ok(R, text) is expected


# --- runs: params, tags, attributes ---------------------------------------------------------------

P = make_run(
    "p1",
    params={"lr": "0.1", "opt": "Adam"},
    tags={"team": "a", "mlflow.runName": "tagged-name"},
    run_name="tagged-name",
    status=RunStatus.FINISHED,
    end_time=2000,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.lr = '0.1'", True),
        ("params.lr != '0.1'", False),
        ("params.lr != '0.2'", True),
        ("params.missing != 'x'", False),
        ("params.missing = 'x'", False),
        ("params.missing LIKE '%'", False),
        ("params.missing IS NULL", True),
        ("params.lr IS NULL", False),
        ("params.lr IS NOT NULL", True),
        ("params.missing IS NOT NULL", False),
        ("params.opt LIKE 'A%'", True),
        ("params.opt LIKE 'a%'", False),
        ("params.opt ILIKE 'a%'", True),
        ("params.opt = 'adam'", False),
        ("tags.team = 'a'", True),
        ("tags.team != 'b'", True),
        ("tags.nope IS NULL", True),
        ("tags.`mlflow.runName` = 'tagged-name'", True),
        ("run_name = 'tagged-name'", True),
        ("attributes.run_name LIKE 'tagged%'", True),
        ("run_name != 'other'", True),
        ("status = 'FINISHED'", True),
        ("status = 'finished'", False),
        ("status ILIKE 'finished'", True),
        ("user_id = 'alice'", True),
        ("artifact_uri LIKE 'file:///a/1/%'", True),
        ("run_id = 'p1'", True),
        ("run_id IN ('x', 'p1')", True),
        ("run_id NOT IN ('x', 'p1')", False),
        ("run_id NOT IN ('x')", True),
        ("start_time = 1000", True),
        ("created >= 1000", True),
        ("start_time > 1000", False),
        ("start_time = 1e3", True),
        ("end_time = 2000", True),
        ("end_time != 5", True),
    ],
)
def test_run_param_tag_attribute_matching(text: str, expected: bool) -> None:
    assert run_ok(P, text) is expected


def test_run_name_falls_back_to_the_info_without_the_tag() -> None:
    run = make_run("x", run_name="plain")
    assert run_ok(run, "run_name = 'plain'")


@pytest.mark.parametrize("text", ["end_time > 0", "end_time < 99999", "end_time != 0", "end_time = 0"])
def test_null_end_time_never_matches(text: str) -> None:
    assert not run_ok(make_run("x"), text)


# --- runs: datasets ---------------------------------------------------------------------------------

DS = make_run("d", datasets=[("d1", "g1", "train"), ("d2", "g2", "eval"), ("d3", "g3", None)])
NO_DS = make_run("n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("datasets.name = 'd1'", True),
        ("datasets.name = 'zz'", False),
        ("datasets.digest = 'g2'", True),
        ("datasets.context = 'train'", True),
        ("datasets.context = 'test'", False),
        ("datasets.name != 'd1'", True),
        ("datasets.name LIKE 'd%'", True),
        ("datasets.name ILIKE 'D2'", True),
        ("datasets.name IN ('x', 'd3')", True),
        ("datasets.name NOT IN ('d1', 'd2', 'd3')", False),
        ("datasets.context NOT IN ('train')", True),
        ("datasets.context NOT IN ('train', 'eval')", False),
        ("datasets.context != 'train'", True),
        # each dataset comparison may be met by a different input (one join per comparison)
        ("datasets.name = 'd1' AND datasets.context = 'eval'", True),
        ("datasets.name = 'd1' AND datasets.digest = 'g2'", True),
    ],
)
def test_run_dataset_matching(text: str, expected: bool) -> None:
    assert run_ok(DS, text) is expected


@pytest.mark.parametrize(
    "text", ["datasets.name != 'x'", "datasets.name NOT IN ('x')", "datasets.context != 'x'"]
)
def test_run_without_datasets_never_matches_dataset_comparisons(text: str) -> None:
    assert not run_ok(NO_DS, text)


def test_empty_filter_matches_any_run() -> None:
    assert matches(RUNS, NO_DS, Filter())


def test_wrong_entity_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        matches(RUNS, "not a run", Filter())
    with pytest.raises(TypeError):
        matches(SearchKind.LOGGED_MODELS, NO_DS, Filter())


@pytest.mark.parametrize(
    "comparison",
    [
        Comparison(KeyType.ATTRIBUTE, "experiment_id", Comparator.EQ, "1"),
        Comparison(KeyType.DATASET, "source", Comparator.EQ, "x"),
        Comparison(KeyType.METRIC, "m", Comparator.IS_NULL, None),
    ],
)
def test_keys_not_from_the_parser_are_rejected(comparison: Comparison) -> None:
    with pytest.raises(InvalidParameterValue):
        matches(RUNS, DS, Filter((comparison,)))


# --- experiments ------------------------------------------------------------------------------------

EXPERIMENTS = SearchKind.EXPERIMENTS


def exp(eid: str, name: str, created: int | None = 10, updated: int | None = 20, **tags: str) -> Experiment:
    return Experiment(
        experiment_id=eid,
        name=name,
        artifact_location=f"file:///a/{eid}",
        creation_time=created,
        last_update_time=updated,
        tags=tuple(ExperimentTag(k, v) for k, v in tags.items()),
    )


EXP = exp("7", "Alpha", team="a")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'Alpha'", True),
        ("name LIKE 'al%'", False),
        ("name ILIKE 'al%'", True),
        ("name != 'Alpha'", False),
        ("experiment_id = '7'", True),
        ("experiment_id = '007'", True),
        ("experiment_id != '7'", False),
        ("experiment_id IN ('1', '07')", True),
        ("experiment_id NOT IN ('7')", False),
        ("creation_time = 10", True),
        ("creation_time > 10", False),
        ("last_update_time >= 20", True),
        ("tags.team = 'a'", True),
        ("tags.team IS NOT NULL", True),
        ("tags.other IS NULL", True),
        ("tags.other != 'x'", False),
        ("tags.team LIKE '_'", True),
    ],
)
def test_experiment_matching(text: str, expected: bool) -> None:
    assert matches(EXPERIMENTS, EXP, parse_filter(EXPERIMENTS, text)) is expected


def test_experiment_without_creation_time_never_matches_time_comparisons() -> None:
    assert not matches(
        EXPERIMENTS, exp("1", "x", created=None), parse_filter(EXPERIMENTS, "creation_time != 1")
    )


# --- registry ---------------------------------------------------------------------------------------

MODELS = SearchKind.REGISTERED_MODELS
VERSIONS = SearchKind.MODEL_VERSIONS


def rm(name: str, updated: int = 1, **tags: str) -> RegisteredModel:
    return RegisteredModel(
        name=name,
        creation_timestamp=1,
        last_updated_timestamp=updated,
        tags=tuple(RegisteredModelTag(k, v) for k, v in tags.items()),
    )


def mv(
    name: str,
    version: int,
    updated: int = 1,
    created: int = 1,
    source: str | None = "s3://b/m",
    run_id: str | None = None,
    **tags: str,
) -> ModelVersion:
    return ModelVersion(
        name=name,
        version=version,
        creation_timestamp=created,
        last_updated_timestamp=updated,
        source=source,
        run_id=run_id,
        tags=tuple(ModelVersionTag(k, v) for k, v in tags.items()),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'm1'", True),
        ("name IN ('m0', 'm1')", True),
        ("name NOT IN ('m1')", False),
        ("name LIKE 'M%'", False),
        ("name ILIKE 'M%'", True),
        ("tags.k = 'v'", True),
        ("tags.k != 'w'", True),
        ("tags.missing != 'w'", False),
    ],
)
def test_registered_model_matching(text: str, expected: bool) -> None:
    assert matches(MODELS, rm("m1", k="v"), parse_filter(MODELS, text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'm'", True),
        ("version_number = 3", True),
        ("version_number = '3'", True),
        ("version_number > 2 AND version_number < 4", True),
        ("version_number != 3", False),
        ("source_path = 's3://b/m'", True),
        ("source_path LIKE 's3://%'", True),
        ("run_id = 'r1'", True),
        ("run_id IN ('r0', 'r1')", True),
        ("run_id NOT IN ('r1')", False),
        ("tags.k = 'v'", True),
        ("tags.k ILIKE 'V'", True),
    ],
)
def test_model_version_matching(text: str, expected: bool) -> None:
    assert matches(VERSIONS, mv("m", 3, run_id="r1", k="v"), parse_filter(VERSIONS, text)) is expected


@pytest.mark.parametrize("text", ["run_id != 'x'", "run_id NOT IN ('x')", "source_path != 'x'"])
def test_model_version_null_attributes_never_match(text: str) -> None:
    assert not matches(VERSIONS, mv("m", 1, source=None, run_id=None), parse_filter(VERSIONS, text))


# --- logged models ----------------------------------------------------------------------------------

LOGGED = SearchKind.LOGGED_MODELS


def lm(
    model_id: str,
    created: int = 1,
    *,
    metrics: Sequence[ModelMetric] = (),
    name: str = "model",
    model_type: str | None = None,
    **tags: str,
) -> LoggedModel:
    return LoggedModel(
        model_id=model_id,
        experiment_id="1",
        name=name,
        artifact_location=f"file:///a/{model_id}",
        creation_timestamp=created,
        last_updated_timestamp=created,
        status=LoggedModelStatus.READY,
        model_type=model_type,
        source_run_id="run1",
        tags=tuple(LoggedModelTag(k, v) for k, v in tags.items()),
        params=(LoggedModelParameter("p", "1"),),
        metrics=tuple(metrics),
    )


def metric(
    key: str,
    value: float,
    ts: int = 0,
    step: int = 0,
    ds: str | None = None,
    digest: str | None = None,
    run_id: str = "run1",
) -> ModelMetric:
    return ModelMetric(key, value, ts, step, dataset_name=ds, dataset_digest=digest, run_id=run_id)


LM = lm(
    "m1",
    metrics=[
        metric("acc", 0.9, ds="train", digest="t1"),
        metric("acc", 0.5, ts=5, ds="eval", digest="e1"),
        metric("loss", NAN),
    ],
    model_type="sk",
    team="a",
)


@pytest.mark.parametrize(
    ("text", "datasets", "expected"),
    [
        ("metrics.acc > 0.8", (), True),  # any logged value, not only the latest
        ("metrics.acc < 0.6", (), True),
        ("metrics.acc > 0.95", (), False),
        ("metrics.acc > 0.8", (DatasetRef("eval"),), False),
        ("metrics.acc > 0.8", (DatasetRef("train"),), True),
        ("metrics.acc > 0.8", (DatasetRef("train", "zz"),), False),
        ("metrics.acc > 0.8", (DatasetRef("train", "t1"),), True),
        ("metrics.acc > 0.8", (DatasetRef("eval"), DatasetRef("train")), True),
        ("", (DatasetRef("eval"),), True),
        ("", (DatasetRef("other"),), False),
        ("params.p = '1'", (DatasetRef("other"),), False),
        ("metrics.loss = 0", (), True),  # NaN is kept as 0.0 by MLflow's SQL store
        ("metrics.loss != 0", (), False),
        ("metrics.missing != 1", (), False),
        ("params.p = '1'", (), True),
        ("params.p IN ('1', '2')", (), True),
        ("params.p NOT IN ('1')", (), False),
        ("tags.team = 'a'", (), True),
        ("tags.team != 'a'", (), False),
        ("name = 'model'", (), True),
        ("model_id IN ('m1')", (), True),
        ("model_type != 'zz'", (), True),
        ("status = 'READY'", (), True),
        ("status IN ('PENDING', 'FAILED')", (), False),
        ("source_run_id = 'run1'", (), True),
        ("experiment_id = '1'", (), True),
        ("creation_timestamp = 1", (), True),
        ("last_updated_timestamp > 1", (), False),
    ],
)
def test_logged_model_matching(text: str, datasets: tuple[DatasetRef, ...], expected: bool) -> None:
    assert matches(LOGGED, LM, parse_filter(LOGGED, text), datasets=datasets) is expected


def test_logged_model_null_model_type_never_matches() -> None:
    assert not matches(LOGGED, lm("x"), parse_filter(LOGGED, "model_type != 'zz'"))


# --- sorting runs -----------------------------------------------------------------------------------


def fixture_runs() -> list[Run]:
    # MLflow's own observation fixture: start times 1000..5000, acc .9 .5 NaN (missing) .7
    return [
        make_run("r1", 1000, metrics={"acc": 0.9}, params={"lr": "0.1"}, tags={"team": "a"}),
        make_run("r2", 2000, metrics={"acc": 0.5}, params={"lr": "0.01"}, tags={"team": "b"}),
        make_run("r3", 3000, metrics={"acc": NAN}, params={"lr": "1e-3"}, tags={"team": "a"}),
        make_run("r4", 3000),
        make_run("r5", 5000, metrics={"acc": 0.7}, params={"lr": "0.1"}, tags={"team": "c"}),
    ]


def run_ids(runs: Sequence[Run]) -> list[str]:
    return [r.run_id for r in runs]


def sorted_runs(clauses: list[str], runs: Sequence[Run] | None = None) -> list[str]:
    return run_ids(sort(RUNS, runs if runs is not None else fixture_runs(), parse_order_by(RUNS, clauses)))


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ([], ["r5", "r3", "r4", "r2", "r1"]),
        (["metrics.acc"], ["r2", "r5", "r1", "r3", "r4"]),
        (["metrics.acc ASC"], ["r2", "r5", "r1", "r3", "r4"]),
        (["metrics.acc DESC"], ["r1", "r5", "r2", "r3", "r4"]),
        (["params.lr"], ["r2", "r5", "r1", "r3", "r4"]),
        (["params.lr DESC"], ["r3", "r5", "r1", "r2", "r4"]),
        (["tags.team", "metrics.acc DESC"], ["r1", "r3", "r2", "r5", "r4"]),
        (["tags.team DESC", "metrics.acc"], ["r5", "r2", "r1", "r3", "r4"]),
        (["start_time"], ["r1", "r2", "r3", "r4", "r5"]),
        (["start_time DESC"], ["r5", "r3", "r4", "r2", "r1"]),
        (["created DESC"], ["r5", "r3", "r4", "r2", "r1"]),
        (["run_id DESC"], ["r5", "r4", "r3", "r2", "r1"]),
        (["metrics.missing"], ["r5", "r3", "r4", "r2", "r1"]),
        (["metrics.missing DESC"], ["r5", "r3", "r4", "r2", "r1"]),
    ],
)
def test_run_order_matches_mlflow(clauses: list[str], expected: list[str]) -> None:
    assert sorted_runs(clauses) == expected


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_missing_end_time_sorts_last_both_ways(direction: str) -> None:
    runs = [make_run("a", 1, end_time=None), make_run("b", 2, end_time=10), make_run("c", 3, end_time=20)]
    order = sorted_runs([f"end_time {direction}"], runs)
    assert order[-1] == "a"
    assert order[:2] == (["b", "c"] if direction == "ASC" else ["c", "b"])


def test_metric_order_nan_then_missing_with_negative_and_infinite_values() -> None:
    runs = [
        make_run("a", metrics={"m": -math.inf}),
        make_run("b", metrics={"m": NAN}),
        make_run("c"),
        make_run("d", metrics={"m": -1.0}),
        make_run("e", metrics={"m": math.inf}),
    ]
    assert sorted_runs(["metrics.m"], runs) == ["a", "d", "e", "b", "c"]
    assert sorted_runs(["metrics.m DESC"], runs) == ["e", "d", "a", "b", "c"]


def test_run_name_orders_by_the_info_name_as_strings() -> None:
    runs = [make_run("a", run_name="b"), make_run("b", run_name="B"), make_run("c", run_name="a")]
    assert sorted_runs(["run_name"], runs) == ["b", "c", "a"]


def test_status_orders_as_string() -> None:
    runs = [
        make_run("a", status=RunStatus.RUNNING),
        make_run("b", status=RunStatus.FAILED),
        make_run("c", status=RunStatus.FINISHED),
    ]
    assert sorted_runs(["status"], runs) == ["b", "c", "a"]


def test_null_start_time_sorts_last_in_the_default_order() -> None:
    runs = [make_run("a", None), make_run("b", 5), make_run("c", 7)]
    assert sorted_runs([], runs) == ["c", "b", "a"]


def test_run_order_is_total_and_independent_of_input_order() -> None:
    runs = [*fixture_runs(), make_run("r0", 3000, metrics={"acc": 0.5})]
    for clauses in ([], ["metrics.acc"], ["tags.team DESC"], ["params.lr", "end_time"]):
        expected = sorted_runs(clauses, runs)
        for permutation in itertools.islice(itertools.permutations(runs), 30):
            assert sorted_runs(clauses, list(permutation)) == expected


# --- sorting experiments, registry, logged models -----------------------------------------------------


def experiment_order(clauses: list[str], experiments: Sequence[Experiment]) -> list[str]:
    order = parse_order_by(EXPERIMENTS, clauses)
    return [e.experiment_id for e in sort(EXPERIMENTS, experiments, order)]


EXPS = [
    exp("0", "Default", 5, 5),
    exp("9", "beta", 10, 30),
    exp("10", "Alpha", 10, 20),
    exp("2", "gamma", 7, 40),
]


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ([], ["9", "10", "2", "0"]),  # creation_time DESC, experiment_id ASC (numeric)
        (["name"], ["10", "0", "9", "2"]),
        (["name DESC"], ["2", "9", "0", "10"]),
        (["experiment_id"], ["0", "2", "9", "10"]),
        (["experiment_id DESC"], ["10", "9", "2", "0"]),
        (["creation_time"], ["0", "2", "10", "9"]),  # ties: experiment_id DESC
        (["last_update_time DESC"], ["2", "9", "10", "0"]),
    ],
)
def test_experiment_order(clauses: list[str], expected: list[str]) -> None:
    assert experiment_order(clauses, EXPS) == expected


def test_experiment_null_times_sort_first_ascending_last_descending() -> None:
    exps = [exp("1", "a", created=None), exp("2", "b", created=5)]
    assert experiment_order(["creation_time"], exps) == ["1", "2"]
    assert experiment_order(["creation_time DESC"], exps) == ["2", "1"]


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ([], ["A", "a", "b"]),
        (["name DESC"], ["b", "a", "A"]),
        (["timestamp DESC"], ["b", "A", "a"]),
        (["last_updated_timestamp"], ["a", "A", "b"]),
    ],
)
def test_registered_model_order(clauses: list[str], expected: list[str]) -> None:
    models = [rm("a", 1), rm("b", 3), rm("A", 2)]
    random.Random(4).shuffle(models)
    assert [m.name for m in sort(MODELS, models, parse_order_by(MODELS, clauses))] == expected


VERSION_SET = [
    mv("m1", 1, updated=1, created=1),
    mv("m1", 2, updated=3, created=2),
    mv("m2", 1, updated=2, created=3),
]


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ([], [("m1", 2), ("m2", 1), ("m1", 1)]),
        (["version_number ASC"], [("m1", 1), ("m2", 1), ("m1", 2)]),
        (["name DESC"], [("m2", 1), ("m1", 2), ("m1", 1)]),
        (["name"], [("m1", 2), ("m1", 1), ("m2", 1)]),
        (["creation_timestamp DESC"], [("m2", 1), ("m1", 2), ("m1", 1)]),
        (["last_updated_timestamp"], [("m1", 1), ("m2", 1), ("m1", 2)]),
    ],
)
def test_model_version_order(clauses: list[str], expected: list[tuple[str, int]]) -> None:
    result = sort(VERSIONS, VERSION_SET, parse_order_by(VERSIONS, clauses))
    assert [(v.name, v.version) for v in result] == expected


LMS = [
    lm("a", 1, metrics=[metric("acc", 0.1, ts=1), metric("acc", 0.8, ts=2)], model_type="x"),
    lm("b", 3, metrics=[metric("acc", 0.5)]),
    lm("c", 3),
    lm("d", 2, metrics=[metric("acc", NAN)], model_type="y"),
]


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ([], ["b", "c", "d", "a"]),
        (["metrics.acc"], ["d", "b", "a", "c"]),  # latest value; NaN as 0.0; missing last
        (["metrics.acc DESC"], ["a", "b", "d", "c"]),
        (["model_type"], ["a", "d", "b", "c"]),
        (["model_type DESC"], ["d", "a", "b", "c"]),
        (["creation_timestamp"], ["a", "d", "b", "c"]),
        (["model_id DESC"], ["d", "c", "b", "a"]),
        (["name", "model_id DESC"], ["d", "c", "b", "a"]),
    ],
)
def test_logged_model_order(clauses: list[str], expected: list[str]) -> None:
    result = sort(LOGGED, LMS, parse_order_by(LOGGED, clauses))
    assert [m.model_id for m in result] == expected


def test_logged_model_latest_metric_ties_break_by_step_then_run_id() -> None:
    model = lm(
        "x",
        metrics=[
            metric("m", 1.0, ts=5, step=1, run_id="b"),
            metric("m", 2.0, ts=5, step=1, run_id="a"),
            metric("m", 3.0, ts=5, step=0),
        ],
    )
    other = lm("y", metrics=[metric("m", 1.5)])
    assert [m.model_id for m in sort(LOGGED, [model, other], parse_order_by(LOGGED, ["metrics.m"]))] == [
        "y",
        "x",
    ]


@pytest.mark.parametrize(
    ("kind", "order"),
    [
        (EXPERIMENTS, OrderBy(KeyType.TAG, "t")),
        (MODELS, OrderBy(KeyType.ATTRIBUTE, "creation_timestamp")),
        (VERSIONS, OrderBy(KeyType.TAG, "t")),
        (LOGGED, OrderBy(KeyType.PARAM, "p")),
        (RUNS, OrderBy(KeyType.DATASET, "name")),
        (RUNS, OrderBy(KeyType.ATTRIBUTE, "experiment_id")),
    ],
)
def test_sort_rejects_orders_the_parser_would_not_produce(kind: SearchKind, order: OrderBy) -> None:
    entity: object = {
        EXPERIMENTS: EXP,
        MODELS: rm("m"),
        VERSIONS: mv("m", 1),
        LOGGED: lm("x"),
        RUNS: make_run("x"),
    }[kind]
    with pytest.raises(InvalidParameterValue):
        sort(kind, [entity, entity], [order])


def test_like_has_no_catastrophic_backtracking() -> None:
    value = "a" * 8000
    assert not like(value, "%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b")
    assert like(value, "%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%")


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("abcabc", "%bc", True),
        ("abcab", "%bc", False),
        ("abab", "a%b%b", True),
        ("aXbYc", "a%b%c", True),
        ("ab", "a%%b", True),
        ("ab", "a%_%b", False),
        ("axb", "a%_%b", True),
        ("abc", "%%%", True),
        ("a", "a%a", False),
    ],
)
def test_like_segments(value: str, pattern: str, expected: bool) -> None:
    assert like(value, pattern) is expected
