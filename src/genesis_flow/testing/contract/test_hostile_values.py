"""Hostile values: numbers beyond 64 bits, float and numpy numbers, text that is not valid Unicode
or carries NUL, and dataset fields of MLflow's maximum sizes.

Every backend gives the same answer, decided in the domain: INVALID_PARAMETER_VALUE for what no
backend can store (a driver's OverflowError or UnicodeEncodeError never escapes), and the same
read-back for what MLflow accepts (an integral float or a numpy integer step is stored as an int).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
)
from genesis_flow.core.errors import InvalidParameterValue, ModelVersionNotFound
from genesis_flow.core.registry import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from genesis_flow.core.search import paging
from genesis_flow.core.validation import (
    MAX_DATASET_PROFILE_SIZE,
    MAX_DATASET_SCHEMA_SIZE,
    MAX_DATASET_SOURCE_SIZE,
)
from genesis_flow.ports import RegistryStore, TrackingStore
from genesis_flow.testing.tracking_helpers import (
    BASE_TIME,
    experiments,
    logged_models,
    new_experiment,
    new_run,
    run_ids,
    runs,
)

LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)
SURROGATE = "x\ud800"
NUL = "a\x00b"


def forged(token: str, offset: int) -> str:
    """A well-formed token of the same query carrying ``offset`` (the checksum is no secret)."""
    payload = json.loads(base64.urlsafe_b64decode(token))
    text = f"genesis-page-token:{offset}:{payload['q']}"
    payload.update(o=offset, c=hashlib.sha256(text.encode()).hexdigest()[:16])
    return base64.urlsafe_b64encode(
        json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    ).decode()


# --- numbers beyond 64 bits --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [2**63, 2**63 - 1, 2**64 + 5, 10**30])
def test_forged_page_token_with_a_huge_offset_is_invalid(tracking: TrackingStore, offset: int) -> None:
    exp = new_experiment(tracking)
    for _ in range(2):
        new_run(tracking, exp)
    token = runs(tracking, [exp], max_results=1).next_page_token
    assert token is not None
    with pytest.raises(InvalidParameterValue, match="page token"):
        runs(tracking, [exp], max_results=1, page_token=forged(token, offset))
    token = experiments(tracking, max_results=1).next_page_token
    assert token is not None
    with pytest.raises(InvalidParameterValue, match="page token"):
        experiments(tracking, max_results=1, page_token=forged(token, offset))


def test_forged_page_token_with_a_large_valid_offset_gives_an_empty_page(tracking: TrackingStore) -> None:
    exp = new_experiment(tracking)
    for _ in range(2):
        new_run(tracking, exp)
    token = runs(tracking, [exp], max_results=1).next_page_token
    assert token is not None
    page = runs(tracking, [exp], max_results=1, page_token=forged(token, paging.MAX_PAGE_OFFSET))
    assert (page.items, page.next_page_token) == ((), None)


@pytest.mark.parametrize(
    "flt",
    [
        "attributes.start_time > 9223372036854775808",
        "attributes.end_time < -9223372036854775809",
        "attributes.start_time = 100000000000000000000000000000",
    ],
)
def test_filter_integer_beyond_64_bits_is_invalid(tracking: TrackingStore, flt: str) -> None:
    with pytest.raises(InvalidParameterValue, match="64-bit"):
        runs(tracking, ["0"], flt)


def test_filter_at_the_64_bit_bounds_runs_on_every_backend(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    assert run_ids(runs(tracking, ["0"], f"attributes.start_time < {LONG_MAX}")) == [run_id]
    assert run_ids(runs(tracking, ["0"], f"attributes.start_time > {LONG_MIN}")) == [run_id]
    assert run_ids(runs(tracking, ["0"], "metrics.m > 1e400")) == []
    assert run_ids(runs(tracking, ["0"], "metrics.m < 9223372036854775808999")) == []


@pytest.mark.parametrize("value", [10**400, -(10**400), 2**1024])
def test_metric_value_beyond_a_double_is_invalid(tracking: TrackingStore, value: int) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue, match="double"):
        tracking.log_metric(run_id, Metric("m", value, BASE_TIME, 0))
    with pytest.raises(InvalidParameterValue, match="double"):
        tracking.log_batch(run_id, metrics=[Metric("m", value, BASE_TIME, 0)])
    assert tracking.get_run(run_id).data.metrics == ()


@pytest.mark.parametrize(
    ("timestamp", "step"),
    [(2**63, 0), (BASE_TIME, 2**63), (BASE_TIME, LONG_MIN - 1), (10**30, 0), (BASE_TIME, 1e30), (1e300, 0)],
)
def test_metric_timestamp_or_step_beyond_64_bits_is_invalid(
    tracking: TrackingStore, timestamp: int, step: int
) -> None:
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue, match="64-bit"):
        tracking.log_metric(run_id, Metric("m", 1.0, timestamp, step))
    assert tracking.get_run(run_id).data.metrics == ()


def test_metric_timestamp_and_step_at_the_64_bit_bounds_round_trip(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    points = [Metric("m", 1.0, LONG_MAX, LONG_MAX), Metric("m", 2.0, 0, LONG_MIN)]
    tracking.log_batch(run_id, metrics=points)
    history = tracking.get_metric_history(run_id, "m").items
    assert sorted((m.value, m.timestamp, m.step) for m in history) == [
        (1.0, LONG_MAX, LONG_MAX),
        (2.0, 0, LONG_MIN),
    ]
    assert [(m.timestamp, m.step) for m in tracking.get_run(run_id).data.metrics] == [(LONG_MAX, LONG_MAX)]


def _huge_times(tracking: TrackingStore) -> list[Callable[[], object]]:
    exp = new_experiment(tracking)
    run_id = new_run(tracking, exp)
    return [
        lambda: tracking.create_run(exp, "u", 2**63),
        lambda: tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=2**63),
        lambda: tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=-(2**63) - 1),
        lambda: tracking.log_outputs(run_id, [LoggedModelOutput("m-1", step=2**63)]),
    ]


def test_run_times_and_output_steps_beyond_64_bits_are_invalid(tracking: TrackingStore) -> None:
    for call in _huge_times(tracking):
        with pytest.raises(InvalidParameterValue):
            call()


@pytest.mark.parametrize("version", [2**63, 10**20, -(2**63) - 1])
def test_model_version_number_beyond_64_bits_is_invalid(registry: RegistryStore, version: int) -> None:
    registry.create_registered_model("m")
    with pytest.raises(InvalidParameterValue, match="version"):
        registry.get_model_version("m", version)
    with pytest.raises(InvalidParameterValue, match="version"):
        registry.set_registered_model_alias("m", "a", version)


@pytest.mark.parametrize("version", [2**31, 2**62])
def test_model_version_number_beyond_32_bits_is_not_found(registry: RegistryStore, version: int) -> None:
    registry.create_registered_model("m")
    with pytest.raises(ModelVersionNotFound):
        registry.get_model_version("m", version)


@pytest.mark.parametrize("experiment_id", ["99999999999999999999999", str(2**63), "-1", str(LONG_MAX)])
def test_huge_experiment_ids_are_not_found_not_crashes(tracking: TrackingStore, experiment_id: str) -> None:
    from genesis_flow.core.errors import ResourceDoesNotExist

    with pytest.raises(ResourceDoesNotExist):
        tracking.get_experiment(experiment_id)
    assert run_ids(runs(tracking, [experiment_id])) == []
    assert logged_models(tracking, [experiment_id]).items == ()


@pytest.mark.parametrize("max_results", [2**63, 10**30])
def test_huge_max_results_is_invalid(tracking: TrackingStore, max_results: int) -> None:
    with pytest.raises(InvalidParameterValue, match="max_results"):
        runs(tracking, ["0"], max_results=max_results)


# --- float and numpy timestamps and steps ------------------------------------------------------------


def _numpy() -> Any:
    return pytest.importorskip("numpy")


ACCEPTED_NUMBERS: list[tuple[str, Callable[[], object], int]] = [
    ("float", lambda: 1e15, 10**15),
    ("integral float", lambda: 3.0, 3),
    ("bool", lambda: True, 1),
    ("numpy int64", lambda: _numpy().int64(7), 7),
    ("numpy int32", lambda: _numpy().int32(8), 8),
    ("numpy uint8", lambda: _numpy().uint8(9), 9),
    ("numpy float64", lambda: _numpy().float64(10.0), 10),
    ("numpy float32", lambda: _numpy().float32(11.0), 11),
]


@pytest.mark.parametrize(
    ("label", "make", "expected"), ACCEPTED_NUMBERS, ids=[c[0] for c in ACCEPTED_NUMBERS]
)
def test_metric_timestamp_and_step_that_mlflow_accepts_are_stored_as_ints(
    tracking: TrackingStore, label: str, make: Callable[[], object], expected: int
) -> None:
    run_id = new_run(tracking)
    number = make()
    tracking.log_metric(run_id, Metric("a", 1.0, number, number))
    tracking.log_batch(run_id, metrics=[Metric("b", 2.0, number, number)])
    for key in ("a", "b"):
        (point,) = tracking.get_metric_history(run_id, key).items
        assert (type(point.timestamp), type(point.step)) == (int, int)
        assert (point.timestamp, point.step) == (expected, expected)
    latest = tracking.get_run(run_id).data.metrics
    assert [(type(m.timestamp), type(m.step), m.timestamp, m.step) for m in latest] == [
        (int, int, expected, expected)
    ] * 2
    # The same point logged again is the same point.
    tracking.log_metric(run_id, Metric("a", 1.0, expected, expected))
    assert len(tracking.get_metric_history(run_id, "a").items) == 1


def test_metric_numpy_values_are_stored_as_floats(tracking: TrackingStore) -> None:
    np = _numpy()
    run_id = new_run(tracking)
    tracking.log_batch(
        run_id,
        metrics=[Metric("a", np.float64(1.5), BASE_TIME, 0), Metric("b", np.int64(2), BASE_TIME, 0)],
    )
    assert tracking.get_run(run_id).data.metrics_dict == {"a": 1.5, "b": 2.0}
    assert [type(m.value) for m in tracking.get_run(run_id).data.metrics] == [float, float]


@pytest.mark.parametrize("number", [1.5, -2.5, 0.4, float("nan"), float("inf"), "3", None])
def test_fractional_or_non_numeric_timestamp_or_step_is_invalid(
    tracking: TrackingStore, number: object
) -> None:
    # MLflow's SQL store on SQLite keeps a fractional step as a float and PostgreSQL rounds it;
    # its REST API refuses it (int64). One answer here: refused (see DIFFERENCES.md).
    run_id = new_run(tracking)
    with pytest.raises(InvalidParameterValue, match="step"):
        tracking.log_metric(run_id, Metric("m", 1.0, BASE_TIME, number))
    with pytest.raises(InvalidParameterValue, match="imestamp"):
        tracking.log_batch(run_id, metrics=[Metric("m", 1.0, number, 0)])
    assert tracking.get_run(run_id).data.metrics == ()


# --- text: lone surrogates and NUL -------------------------------------------------------------------


def _tracking_writes(tracking: TrackingStore, bad: str) -> dict[str, Callable[[], object]]:
    exp = new_experiment(tracking)
    run_id = new_run(tracking, exp)
    ds = Dataset("train", "d1", "s3", "s3://b/t")
    return {
        "param value": lambda: tracking.log_param(run_id, Param("k", bad)),
        "batch param value": lambda: tracking.log_batch(run_id, params=[Param("k", bad)]),
        "tag value": lambda: tracking.set_tag(run_id, RunTag("k", bad)),
        "tag key": lambda: tracking.set_tag(run_id, RunTag(bad, "v")),
        "metric key": lambda: tracking.log_metric(run_id, Metric(bad, 1.0, BASE_TIME, 0)),
        "experiment name": lambda: tracking.create_experiment(bad),
        "experiment tag": lambda: tracking.create_experiment("e2", tags=[ExperimentTag("k", bad)]),
        "set experiment tag": lambda: tracking.set_experiment_tag(exp, ExperimentTag("k", bad)),
        "rename experiment": lambda: tracking.rename_experiment(exp, bad),
        "run name": lambda: tracking.create_run(exp, "u", BASE_TIME, run_name=bad),
        "rename run": lambda: tracking.update_run_info(run_id, run_name=bad),
        "run user": lambda: tracking.create_run(exp, bad, BASE_TIME),
        "dataset name": lambda: tracking.log_inputs(run_id, [DatasetInput(Dataset(bad, "d", "s3", "s"))]),
        "dataset source": lambda: tracking.log_inputs(run_id, [DatasetInput(Dataset("n", "d", "s3", bad))]),
        "dataset schema": lambda: tracking.log_inputs(
            run_id, [DatasetInput(Dataset("n", "d", "s3", "s", schema=bad))]
        ),
        "dataset profile": lambda: tracking.log_inputs(
            run_id, [DatasetInput(Dataset("n", "d", "s3", "s", profile=bad))]
        ),
        "input tag": lambda: tracking.log_inputs(run_id, [DatasetInput(ds, (InputTag("k", bad),))]),
        "logged model name": lambda: tracking.create_logged_model(exp, name=bad),
        "logged model tag": lambda: tracking.create_logged_model(exp, tags=[LoggedModelTag("k", bad)]),
        "logged model param": lambda: tracking.create_logged_model(
            exp, params=[LoggedModelParameter("k", bad)]
        ),
        "filter value": lambda: runs(tracking, [exp], f"params.k = '{bad}'"),
        "filter key": lambda: runs(tracking, [exp], f"params.`{bad}` = 'x'"),
        "order_by key": lambda: runs(tracking, [exp], order=[f"params.`{bad}`"]),
        "experiment filter": lambda: experiments(tracking, f"name = '{bad}'"),
    }


def _registry_writes(registry: RegistryStore, bad: str) -> dict[str, Callable[[], object]]:
    from genesis_flow.core.search import parse_filter
    from genesis_flow.core.search.ast import SearchKind

    registry.create_registered_model("m")
    registry.create_model_version("m", "s3://b/m")
    return {
        "model name": lambda: registry.create_registered_model(bad),
        "model description": lambda: registry.create_registered_model("m2", description=bad),
        "update description": lambda: registry.update_registered_model("m", bad),
        "model tag": lambda: registry.set_registered_model_tag("m", RegisteredModelTag("k", bad)),
        "rename model": lambda: registry.rename_registered_model("m", bad),
        "version source": lambda: registry.create_model_version("m", bad),
        "version description": lambda: registry.update_model_version("m", 1, bad),
        "version tag": lambda: registry.set_model_version_tag("m", 1, ModelVersionTag("k", bad)),
        "alias": lambda: registry.set_registered_model_alias("m", bad, 1),
        "imported model description": lambda: registry.import_registered_model(
            RegisteredModel("m3", 1, 1, description=bad)
        ),
        "imported version source": lambda: registry.import_model_version(
            ModelVersion("m", 7, 1, 1, source=bad)
        ),
        "imported version run id": lambda: registry.import_model_version(
            ModelVersion("m", 8, 1, 1, run_id=bad)
        ),
        "imported version status message": lambda: registry.import_model_version(
            ModelVersion("m", 9, 1, 1, status_message=bad)
        ),
        "model filter": lambda: registry.search_registered_models(
            filter=parse_filter(SearchKind.REGISTERED_MODELS, f"name = '{bad}'")
        ),
    }


def _not_refused(calls: dict[str, Callable[[], object]]) -> dict[str, str]:
    """What each call did other than raise InvalidParameterValue ("accepted", or the escape)."""
    failures = {}
    for what, call in calls.items():
        try:
            call()
            failures[what] = "accepted"
        except InvalidParameterValue:
            pass
        except Exception as exc:  # the point is to name every escape
            failures[what] = f"{type(exc).__name__}: {exc}"[:200]
    return failures


@pytest.mark.parametrize("bad", [SURROGATE, "\udfff", NUL], ids=["surrogate", "low-surrogate", "nul"])
def test_text_that_is_not_storable_is_invalid_everywhere_in_tracking(
    tracking: TrackingStore, bad: str
) -> None:
    assert _not_refused(_tracking_writes(tracking, bad)) == {}


@pytest.mark.genesis_requires("import")
@pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["surrogate", "nul"])
def test_text_that_is_not_storable_is_invalid_everywhere_in_the_registry(
    registry: RegistryStore, bad: str
) -> None:
    assert _not_refused(_registry_writes(registry, bad)) == {}


@pytest.mark.genesis_requires("tracing")
@pytest.mark.parametrize("bad", [SURROGATE, NUL], ids=["surrogate", "nul"])
def test_unstorable_text_and_huge_times_in_traces_are_invalid(tracking: TrackingStore, bad: str) -> None:
    from genesis_flow.core.tracing import Span, TraceInfo
    from genesis_flow.ports import TraceStore

    assert isinstance(tracking, TraceStore)
    exp = new_experiment(tracking)
    trace_id = "tr-" + "0" * 32
    tracking.start_trace(TraceInfo(trace_id, exp, BASE_TIME))
    calls: dict[str, Callable[[], object]] = {
        "tag": lambda: tracking.set_trace_tag(trace_id, "k", bad),
        "info tag": lambda: tracking.start_trace(
            TraceInfo("tr-" + "1" * 32, exp, BASE_TIME, tags={"k": bad})
        ),
        "metadata": lambda: tracking.start_trace(
            TraceInfo("tr-" + "2" * 32, exp, BASE_TIME, metadata={"k": bad})
        ),
        "preview": lambda: tracking.start_trace(
            TraceInfo("tr-" + "3" * 32, exp, BASE_TIME, request_preview=bad)
        ),
        "request time": lambda: tracking.start_trace(TraceInfo("tr-" + "4" * 32, exp, 2**63)),
        "span name": lambda: tracking.log_spans(exp, [Span(trace_id, "0" * 16, bad, BASE_TIME * 10**6)]),
        "span attribute": lambda: tracking.log_spans(
            exp, [Span(trace_id, "0" * 16, "s", BASE_TIME * 10**6, attributes={"a": f'"{bad}"'})]
        ),
    }
    failures = {}
    for what, call in calls.items():
        try:
            call()
            failures[what] = "accepted"
        except InvalidParameterValue:
            pass
        except Exception as exc:  # the point is to name every escape
            failures[what] = f"{type(exc).__name__}: {exc}"[:200]
    assert failures == {}
    assert tracking.get_trace_info(trace_id).tags.get("k") is None


def test_text_beyond_the_basic_plane_round_trips(tracking: TrackingStore) -> None:
    text = "emoji \U0001f600 and \u00e9 and \u4e2d"
    run_id = new_run(tracking, name=text)
    tracking.log_param(run_id, Param("p", text))
    tracking.set_tag(run_id, RunTag("t", text))
    run = tracking.get_run(run_id)
    assert (run.info.run_name, run.data.params_dict["p"], run.data.tags_dict["t"]) == (text, text, text)
    assert run_ids(runs(tracking, ["0"], f"params.p = '{text}'")) == [run_id]


# --- dataset fields of MLflow's maximum sizes --------------------------------------------------------


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


def test_dataset_fields_of_maximum_size_round_trip(tracking: TrackingStore) -> None:
    run_id = new_run(tracking)
    big = Dataset(
        "big",
        "d1",
        "s3",
        "s" * MAX_DATASET_SOURCE_SIZE,
        schema="c" * MAX_DATASET_SCHEMA_SIZE,
        profile="p" * MAX_DATASET_PROFILE_SIZE,
    )
    tracking.log_inputs(run_id, [DatasetInput(big, (InputTag("mlflow.data.context", "train"),))])
    tracking.log_inputs(run_id, [DatasetInput(big, (InputTag("mlflow.data.context", "train"),))])
    (got,) = tracking.get_run(run_id).inputs.dataset_inputs
    assert (got.dataset.name, got.dataset.digest, got.context) == ("big", "d1", "train")
    assert [_digest(getattr(got.dataset, f)) for f in ("source", "schema", "profile")] == [
        _digest(getattr(big, f)) for f in ("source", "schema", "profile")
    ]
    (found,) = runs(tracking, ["0"], "dataset.name = 'big'").items
    assert _digest(found.inputs.dataset_inputs[0].dataset.profile) == _digest(big.profile)


def test_long_non_ascii_dataset_values_round_trip(tracking: TrackingStore) -> None:
    # Up to 4 bytes a character: a schema of MLflow's maximum length is 4 MB of UTF-8.
    run_id = new_run(tracking)
    schema = ("\U0001f600" * MAX_DATASET_SCHEMA_SIZE)[:MAX_DATASET_SCHEMA_SIZE]
    profile = "é" * 300_001 + "日本"
    wide = Dataset("wide", "d2", "s3", "s\u00e9" * 1000, schema=schema, profile=profile)
    tracking.log_inputs(run_id, [DatasetInput(wide)])
    (got,) = tracking.get_run(run_id).inputs.dataset_inputs
    assert (got.dataset.source, got.dataset.profile) == (wide.source, profile)
    assert _digest(got.dataset.schema) == _digest(schema)
