"""The files are the truth: a store reopened on the same folder reads back everything written.

The contract kit gives every test a fresh store; these tests are this backend's own: they write
through one store object, open a second on the same folder, and compare.
"""

from __future__ import annotations

import io
from pathlib import Path

from genesis_jsonstore import JsonArtifactStore, JsonRegistryStore, JsonTracingStore
from genesis_jsonstore.files import file_name

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    LoggedModelOutput,
    LoggedModelParameter,
    Metric,
    Param,
    RunStatus,
    RunTag,
)
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag
from genesis_flow.core.tracing import Span, TraceInfo
from genesis_flow.testing import TickingClock

T0 = 1_600_000_000_000


def test_a_reopened_tracking_store_reads_back_experiments_runs_models_and_traces(tmp_path: Path) -> None:
    first = JsonTracingStore(tmp_path, clock=TickingClock())
    experiment_id = first.create_experiment("exp", tags=[ExperimentTag("team", "a")])
    run_id = first.create_run(experiment_id, "alice", T0, run_name="r1").info.run_id
    model = first.create_logged_model(experiment_id, "m", params=[LoggedModelParameter("k", "v")])
    metrics = [
        Metric("loss", value, T0 + i, i, model_id=model.model_id)
        for i, value in enumerate([0.5, float("nan")])
    ]
    first.log_batch(run_id, metrics=metrics, params=[Param("lr", "0.1")], tags=[RunTag("t", "x")])
    first.log_inputs(run_id, [DatasetInput(Dataset("train", "d1", "s3", "s3://b/train"))])
    first.log_outputs(run_id, [LoggedModelOutput(model.model_id, 1)])
    first.update_run_info(run_id, RunStatus.FINISHED, T0 + 10)
    first.start_trace(TraceInfo("tr-1", experiment_id, T0, tags={"k": "v"}))
    first.log_spans(
        experiment_id, [Span("tr-1", "s1", "root", T0 * 1_000_000, end_time_ns=(T0 + 5) * 1_000_000)]
    )

    again = JsonTracingStore(tmp_path, clock=TickingClock())

    assert again.get_experiment(experiment_id) == first.get_experiment(experiment_id)
    assert again.get_experiment_by_name("exp") == first.get_experiment(experiment_id)
    assert again.get_run(run_id) == first.get_run(run_id)
    assert again.get_run(run_id).data.params_dict == {"lr": "0.1"}
    assert again.get_metric_history(run_id, "loss").items == first.get_metric_history(run_id, "loss").items
    assert len(again.get_metric_history(run_id, "loss").items) == 2
    assert again.get_logged_model(model.model_id) == first.get_logged_model(model.model_id)
    assert len(again.get_logged_model(model.model_id).metrics) == 2
    assert again.get_trace("tr-1") == first.get_trace("tr-1")
    # Ids keep counting from what is on disk, not from zero.
    assert again.create_experiment("exp2") == str(int(experiment_id) + 1)


def test_a_reopened_registry_reads_back_models_versions_tags_and_aliases(tmp_path: Path) -> None:
    first = JsonRegistryStore(tmp_path, clock=TickingClock())
    first.create_registered_model("model", tags=[RegisteredModelTag("k", "v")], description="d")
    first.create_model_version("model", "s3://v1", tags=[ModelVersionTag("t", "1")])
    first.create_model_version("model", "s3://v2")
    first.delete_model_version("model", 2)
    first.set_registered_model_alias("model", "champion", 1)
    first.transition_model_version_stage("model", 1, "Production")

    again = JsonRegistryStore(tmp_path, clock=TickingClock())

    assert again.get_registered_model("model") == first.get_registered_model("model")
    assert again.get_model_version_by_alias("model", "champion") == first.get_model_version("model", 1)
    # The deleted number stays retired across the reopen.
    assert again.create_model_version("model", "s3://v3").version == 3


def test_a_reopened_artifact_store_reads_back_its_files(tmp_path: Path) -> None:
    JsonArtifactStore(str(tmp_path)).log_stream(io.BytesIO(b"weights"), "model/w.bin")
    with JsonArtifactStore(str(tmp_path)).open_artifact("model/w.bin") as stream:
        assert stream.read() == b"weights"


def test_a_torn_last_line_of_a_metric_history_is_ignored(tmp_path: Path) -> None:
    store = JsonTracingStore(tmp_path, clock=TickingClock())
    run_id = store.create_run("0", "alice", T0).info.run_id
    store.log_metric(run_id, Metric("loss", 1.0, T0, 0))
    history = tmp_path / "runs" / file_name(run_id) / "metrics" / f"{file_name('loss')}.jsonl"
    with open(history, "a", encoding="utf-8") as handle:
        handle.write('{"key": "loss", "val')  # a crash in the middle of an append

    reopened = JsonTracingStore(tmp_path, clock=TickingClock())
    assert [m.value for m in reopened.get_metric_history(run_id, "loss")] == [1.0]
    reopened.log_metric(run_id, Metric("loss", 2.0, T0 + 1, 1))
    assert [m.value for m in reopened.get_metric_history(run_id, "loss")] == [1.0, 2.0]
