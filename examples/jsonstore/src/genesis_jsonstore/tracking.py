"""The tracking port on plain JSON files.

Under the store's root::

    experiments/<h>.json            one experiment with its tags
    runs/<h>/run.json               one run: info, params, tags, latest metrics, inputs, outputs
    runs/<h>/metrics/<h>.jsonl      one metric's history, a point per line
    datasets/<h>.json               the datasets of one experiment (the first of a name and digest)
    logged-models/<h>.json          one logged model with its tags, params and metrics

``<h>`` is the hash of the id (:func:`~genesis_jsonstore.files.file_name`). Files are the truth:
every call reads what it needs and writes whole documents back. One lock per store orders the
calls of all its threads, so a check and the write that depends on it see the same files (one
process; several processes would need a file lock instead). Semantics are the port's
(:mod:`genesis_flow.ports.tracking`); the checks and the search language are the domain's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from attrs import evolve

from genesis_flow.core import validation as v
from genesis_flow.core.commands import (
    ExperimentSearch,
    ImportedRun,
    LogBatch,
    LoggedModelParams,
    NewLoggedModel,
    PageRequest,
    RunIdPrefix,
    check_imported_experiment,
    check_new_experiment,
    check_run_inputs,
)
from genesis_flow.core.entities import (
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    ModelMetric,
    Page,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
    experiment_artifact_location,
    experiment_exists,
    experiment_id_exists,
    experiment_not_active,
    experiment_not_found,
    experiment_not_renamable,
    experiment_tag_not_found,
    imported_deletion_time,
    is_newer_metric,
    logged_model_not_found,
    logged_model_tag_not_found,
    metric_history_key,
    run_artifact_uri,
    run_exists,
    run_not_active,
    run_not_found,
    run_tag_not_found,
)
from genesis_flow.core.search import matcher, sort
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, IdGenerator, SystemClock, UuidIdGenerator
from genesis_flow.ports.tracking import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME
from genesis_jsonstore import mapping as js
from genesis_jsonstore.files import Document, Folder, file_name

RUN_NAME_TAG = v.RUN_NAME_TAG


class JsonTrackingStore:
    """TrackingStore on JSON files under ``root``; artifacts of runs go under ``artifact_root``
    (default ``<root>/artifacts``). Reopening the same root sees everything written before."""

    def __init__(
        self,
        root: str | Path,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        artifact_root: str | None = None,
    ) -> None:
        self._files = Folder(root)
        self._clock = clock or SystemClock()
        self._ids = ids or UuidIdGenerator()
        self._artifact_root = artifact_root or str(self._files.path("artifacts"))
        self._lock = threading.RLock()
        with self._lock:
            if self._files.read(self._experiment_path(DEFAULT_EXPERIMENT_ID)) is None:
                now = self._clock.now_ms()
                self._save_experiment(
                    Experiment(
                        DEFAULT_EXPERIMENT_ID,
                        DEFAULT_EXPERIMENT_NAME,
                        self._location(DEFAULT_EXPERIMENT_ID),
                        creation_time=now,
                        last_update_time=now,
                    )
                )

    def _location(self, experiment_id: str) -> str:
        return experiment_artifact_location(self._artifact_root, experiment_id)

    # --- files -----------------------------------------------------------------------------------

    def _experiment_path(self, experiment_id: str) -> Path:
        return self._files.path("experiments", file_name(experiment_id) + ".json")

    def _run_dir(self, run_id: str) -> Path:
        return self._files.path("runs", file_name(run_id))

    def _history_path(self, run_id: str, key: str) -> Path:
        return self._run_dir(run_id) / "metrics" / (file_name(key) + ".jsonl")

    def _datasets_path(self, experiment_id: str) -> Path:
        return self._files.path("datasets", file_name(experiment_id) + ".json")

    def _logged_model_path(self, model_id: str) -> Path:
        return self._files.path("logged-models", file_name(model_id) + ".json")

    def _experiments(self) -> list[Experiment]:
        return [js.experiment_from(d) for d in self._files.documents(self._files.path("experiments"))]

    def _save_experiment(self, experiment: Experiment) -> None:
        self._files.write(self._experiment_path(experiment.experiment_id), js.experiment_document(experiment))

    def _runs(self) -> list[Document]:
        return list(self._files.documents(self._files.path("runs"), "*/run.json"))

    def _save_run(self, run: Document) -> None:
        self._files.write(self._run_dir(run["info"]["run_id"]) / "run.json", run)

    def _save_logged_model(self, model: LoggedModel) -> None:
        self._files.write(self._logged_model_path(model.model_id), js.logged_model_document(model))

    # --- experiments -----------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] = ()
    ) -> str:
        check_new_experiment(name, artifact_location, tags)
        with self._lock:
            experiments = self._experiments()
            if any(e.name == name for e in experiments):
                raise experiment_exists(name)
            # Experiments are never removed, so the next id is one past the highest number.
            experiment_id = str(
                1 + max(int(e.experiment_id) for e in experiments if e.experiment_id.isdigit())
            )
            now = self._clock.now_ms()
            self._save_experiment(
                Experiment(
                    experiment_id,
                    name,
                    artifact_location or self._location(experiment_id),
                    creation_time=now,
                    last_update_time=now,
                    tags=tuple({t.key: ExperimentTag(t.key, t.value) for t in tags}.values()),
                )
            )
            return experiment_id

    def _experiment(self, experiment_id: str) -> Experiment:
        experiment_id = v.experiment_id(experiment_id)
        document = self._files.read(self._experiment_path(experiment_id))
        if document is None:
            raise experiment_not_found(experiment_id)
        return js.experiment_from(document)

    def _active_experiment(self, experiment_id: str) -> Experiment:
        experiment = self._experiment(experiment_id)
        if experiment.lifecycle_stage is not LifecycleStage.ACTIVE:
            raise experiment_not_active(experiment_id, experiment.lifecycle_stage.value)
        return experiment

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._lock:
            return self._experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        v.validate_text("name", name)
        with self._lock:
            return next((e for e in self._experiments() if e.name == name), None)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter: Filter = Filter(),
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Experiment]:
        kind = SearchKind.EXPERIMENTS
        page = PageRequest.search(kind, max_results, page_token, view_type, filter, tuple(order_by))
        keep = matcher(kind, filter)
        with self._lock:
            found = [e for e in self._experiments() if view_type.admits(e.lifecycle_stage) and keep(e)]
        return page.slice(sort(kind, found, order_by))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.validate_experiment_name(new_name)
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage is not LifecycleStage.ACTIVE:
                raise experiment_not_renamable()
            if experiment.name == new_name:
                return
            if any(e.name == new_name for e in self._experiments()):
                raise experiment_exists(new_name)
            self._save_experiment(evolve(experiment, name=new_name, last_update_time=self._clock.now_ms()))

    def delete_experiment(self, experiment_id: str) -> None:
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage is not LifecycleStage.ACTIVE:
                raise experiment_not_found(experiment_id)
            self._move_experiment(experiment, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage is not LifecycleStage.DELETED:
                raise experiment_not_found(experiment_id)
            self._move_experiment(experiment, LifecycleStage.ACTIVE)

    def _move_experiment(self, experiment: Experiment, stage: LifecycleStage) -> None:
        # The experiment's runs move with it, in both directions (MLflow).
        self._save_experiment(
            evolve(experiment, lifecycle_stage=stage, last_update_time=self._clock.now_ms())
        )
        now = self._clock.now_ms()
        for run in self._runs():
            if run["info"]["experiment_id"] == experiment.experiment_id:
                run["info"]["lifecycle_stage"] = stage.value
                run["deleted_time"] = now if stage is LifecycleStage.DELETED else None
                self._save_run(run)

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        v.validate_experiment_tag(tag.key, tag.value)
        with self._lock:
            experiment = self._active_experiment(experiment_id)
            tags = {**experiment.tags_dict, tag.key: tag.value}
            self._save_experiment(
                evolve(experiment, tags=tuple(ExperimentTag(k, x) for k, x in tags.items()))
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            experiment = self._active_experiment(experiment_id)
            if key not in experiment.tags_dict:
                raise experiment_tag_not_found(experiment_id, key)
            self._save_experiment(evolve(experiment, tags=tuple(t for t in experiment.tags if t.key != key)))

    # --- runs ------------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        name, tag_values = v.run_name_and_tags(run_name, [(t.key, t.value) for t in tags])
        start_time = v.validate_run_start(user_id, start_time)
        with self._lock:
            experiment = self._active_experiment(experiment_id)
            run_id = self._ids.new_id()
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user_id=user_id,
                status=RunStatus.RUNNING,
                start_time=self._clock.now_ms() if start_time is None else start_time,
                end_time=None,
                artifact_uri=run_artifact_uri(experiment.artifact_location, run_id),
            )
            run = js.run_document(info, {}, tag_values)
            self._save_run(run)
            return js.run_from(run)

    def _run(self, run_id: str) -> Document:
        v.validate_lookup("run_id", run_id)
        run = self._files.read(self._run_dir(run_id) / "run.json")
        if run is None:
            raise run_not_found(run_id)
        return run

    def _active_run(self, run_id: str) -> Document:
        run = self._run(run_id)
        stage = run["info"]["lifecycle_stage"]
        if stage != LifecycleStage.ACTIVE.value:
            raise run_not_active(run_id, stage)
        return run

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return js.run_from(self._run(run_id))

    def run_ids_with_prefix(self, prefix: str, limit: int) -> tuple[str, ...]:
        lookup = RunIdPrefix.of(prefix, limit)
        # Run folders are named by a hash of the id, so there is no index to ask: read them all.
        with self._lock:
            ids = (run["info"]["run_id"] for run in self._runs())
            return tuple(sorted(i for i in ids if lookup.matches(i))[: lookup.limit])

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        end_time = v.validate_run_update(end_time, run_name)
        status = RunStatus.parse(run_status) if run_status is not None else None
        with self._lock:
            run = self._active_run(run_id)
            info = run["info"]
            if status is not None:
                info["status"] = status.value
            if end_time is not None:
                info["end_time"] = end_time
            if run_name:
                info["run_name"] = run_name
                run["tags"][RUN_NAME_TAG] = run_name
            self._save_run(run)
            return js.run_info_from(info)

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            run = self._run(run_id)
            if run["info"]["lifecycle_stage"] != LifecycleStage.DELETED.value:
                run["deleted_time"] = self._clock.now_ms()
            run["info"]["lifecycle_stage"] = LifecycleStage.DELETED.value
            self._save_run(run)

    def restore_run(self, run_id: str) -> None:
        with self._lock:
            run = self._run(run_id)
            run["info"]["lifecycle_stage"] = LifecycleStage.ACTIVE.value
            run["deleted_time"] = None
            self._save_run(run)

    def purge_deleted_runs(self, older_than_ms: int, *, dry_run: bool = False) -> list[RunInfo]:
        with self._lock:
            cutoff = self._clock.now_ms() - older_than_ms
            doomed = [
                run
                for run in self._runs()
                if run["info"]["lifecycle_stage"] == LifecycleStage.DELETED.value
                and (
                    older_than_ms == 0 or (run["deleted_time"] is not None and run["deleted_time"] <= cutoff)
                )
            ]
            if not dry_run:
                for run in doomed:
                    self._files.remove(self._run_dir(run["info"]["run_id"]))
            return [js.run_info_from(run["info"]) for run in doomed]

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            run = self._active_run(run_id)
            if key not in run["tags"]:
                raise run_tag_not_found(run_id, key)
            del run["tags"][key]
            self._save_run(run)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        batch = LogBatch.prepare(metrics, params, tags)
        with self._lock:
            run = self._active_run(run_id)
            # Every check that can fail runs before the first write, so a rejected batch stores
            # nothing.
            new_params = batch.new_params(run_id, run["params"])
            models = {model_id: self._logged_model(model_id) for model_id in batch.model_ids}
            for p in new_params:
                run["params"][p.key] = p.value
            self._add_points(run, batch.metrics)
            for model_id, model in models.items():
                self._add_model_metrics(
                    model, [ModelMetric.of(m, run_id) for m in batch.metrics if m.model_id == model_id]
                )
            for key, value in batch.tag_values.items():
                run["tags"][key] = value
                if key == RUN_NAME_TAG:
                    run["info"]["run_name"] = value
            self._save_run(run)

    def _add_points(self, run: Document, points: Sequence[Metric]) -> None:
        """Append the points not stored yet to their histories and move the latest values."""
        run_id = run["info"]["run_id"]
        by_key: dict[str, list[Metric]] = {}
        for m in points:
            by_key.setdefault(m.key, []).append(m)
        for key, group in by_key.items():
            path = self._history_path(run_id, key)
            seen = {js.metric_from(d).identity for d in self._files.read_lines(path)}
            fresh: list[Metric] = []
            for m in group:
                if m.identity not in seen:
                    seen.add(m.identity)
                    fresh.append(m)
            self._files.append_lines(path, [js.metric_document(m) for m in fresh])
            for m in fresh:
                current = run["latest"].get(key)
                if current is None or is_newer_metric(m, js.metric_from(current)):
                    run["latest"][key] = js.metric_document(m)

    def _add_model_metrics(self, model: LoggedModel, points: Sequence[ModelMetric]) -> None:
        fresh: list[ModelMetric] = []
        for m in points:
            if m not in model.metrics and m not in fresh:
                fresh.append(m)
        if fresh:
            self._save_logged_model(evolve(model, metrics=(*model.metrics, *fresh)))

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Metric]:
        page = PageRequest.metric_history(run_id, metric_key, max_results, page_token)
        with self._lock:
            self._run(run_id)
            points = [
                js.metric_from(d) for d in self._files.read_lines(self._history_path(run_id, metric_key))
            ]
        return page.slice(sorted(points, key=metric_history_key))

    def metric_history_lengths(self, run_id: str) -> dict[str, int]:
        with self._lock:
            run = self._run(run_id)
            # History files are named by a hash of the key: the run's latest values name the keys.
            return {
                key: len(self._files.read_lines(self._history_path(run_id, key))) for key in run["latest"]
            }

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[LoggedModelInput] = (),
    ) -> None:
        check_run_inputs(datasets, models)
        with self._lock:
            run = self._active_run(run_id)
            self._attach_datasets(run, datasets)
            run["model_inputs"] = sorted({*run["model_inputs"], *(m.model_id for m in models)})
            self._save_run(run)

    def _attach_datasets(self, run: Document, inputs: Sequence[DatasetInput]) -> None:
        """Record each input on the run once per (name, digest); the dataset itself is stored
        once per experiment, the first of its name and digest winning (MLflow)."""
        if not inputs:
            return
        path = self._datasets_path(run["info"]["experiment_id"])
        stored = {
            (d["name"], d["digest"]): d for d in (self._files.read(path) or {"datasets": []})["datasets"]
        }
        attached = {(i["dataset"]["name"], i["dataset"]["digest"]) for i in run["datasets"]}
        for item in inputs:
            key = (item.dataset.name, item.dataset.digest)
            dataset = stored.setdefault(key, js.dataset_document(item.dataset))
            if key not in attached:
                attached.add(key)
                run["datasets"].append({**js.dataset_input_document(item), "dataset": dataset})
        self._files.write(path, {"datasets": list(stored.values())})

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        v.validate_model_outputs(models)
        with self._lock:
            run = self._active_run(run_id)
            for model in models:
                self._logged_model(model.model_id)
            outputs = {(m, step) for m, step in run["model_outputs"]} | {(m.model_id, m.step) for m in models}
            run["model_outputs"] = sorted(outputs)
            self._save_run(run)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        kind = SearchKind.RUNS
        search = ExperimentSearch.runs(
            experiment_ids, filter, run_view_type, max_results, order_by, page_token
        )
        wanted = set(search.experiment_ids)
        keep = matcher(kind, filter)
        with self._lock:
            runs = {
                run["info"]["run_id"]: run
                for run in self._runs()
                if run["info"]["experiment_id"] in wanted
                and run_view_type.admits(LifecycleStage(run["info"]["lifecycle_stage"]))
            }
        # Filtered and sorted on the stored values; only the page's runs become entities.
        found = [values for values in map(js.run_values, runs.values()) if keep(values)]
        page = search.page.slice(sort(kind, found, order_by))
        return Page(tuple(js.run_from(runs[r.info.run_id]) for r in page.items), page.next_page_token)

    def search_datasets(self, experiment_ids: Sequence[str]) -> tuple[DatasetSummary, ...]:
        wanted = set(v.experiment_ids(experiment_ids))
        with self._lock:
            summaries = {
                DatasetSummary(run.info.experiment_id, i.dataset.name, i.dataset.digest, i.context)
                for run in map(js.run_from, self._runs())
                if run.info.experiment_id in wanted
                for i in run.inputs.dataset_inputs
            }
        return tuple(sorted(summaries, key=lambda d: (d.experiment_id, d.name, d.digest, d.context or "")))

    # --- logged models -----------------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[LoggedModelTag] = (),
        params: Sequence[LoggedModelParameter] = (),
        model_type: str | None = None,
    ) -> LoggedModel:
        new = NewLoggedModel.checked(name, source_run_id, tags, params, model_type)
        with self._lock:
            experiment = self._active_experiment(experiment_id)
            model = new.build(
                self._ids.new_id(),
                experiment.experiment_id,
                experiment.artifact_location,
                self._clock.now_ms(),
            )
            self._save_logged_model(model)
            return model

    def _logged_model(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        # Reads hide deleted models; writes (delete again, tags, params, finalize) still reach
        # them, as in MLflow.
        v.validate_lookup("model_id", model_id)
        document = self._files.read(self._logged_model_path(model_id))
        if document is None:
            raise logged_model_not_found(model_id)
        model = js.logged_model_from(document)
        if model.lifecycle_stage is LifecycleStage.DELETED and not allow_deleted:
            raise logged_model_not_found(model_id)
        return model

    def get_logged_model(self, model_id: str) -> LoggedModel:
        with self._lock:
            return self._logged_model(model_id)

    def delete_logged_model(self, model_id: str) -> None:
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            self._save_logged_model(
                evolve(
                    model, lifecycle_stage=LifecycleStage.DELETED, last_updated_timestamp=self._clock.now_ms()
                )
            )

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        parsed = LoggedModelStatus.parse(status)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True).finalize(parsed, self._clock.now_ms())
            self._save_logged_model(model)
            return model

    def set_logged_model_tags(self, model_id: str, tags: Sequence[LoggedModelTag]) -> None:
        for tag in tags:
            v.validate_run_tag(tag.key, tag.value)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            merged = {t.key: t.value for t in model.tags} | {t.key: t.value for t in tags}
            self._save_logged_model(
                evolve(model, tags=tuple(LoggedModelTag(k, x) for k, x in merged.items()))
            )

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            if not any(t.key == key for t in model.tags):
                raise logged_model_tag_not_found(model_id, key)
            self._save_logged_model(evolve(model, tags=tuple(t for t in model.tags if t.key != key)))

    def log_logged_model_params(self, model_id: str, params: Sequence[LoggedModelParameter]) -> None:
        command = LoggedModelParams.prepare(params)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            stored = {p.key: p.value for p in model.params}
            new = command.new_params(model_id, stored)
            merged = stored | {p.key: p.value for p in new}
            self._save_logged_model(
                evolve(model, params=tuple(LoggedModelParameter(k, x) for k, x in merged.items()))
            )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        datasets: Sequence[DatasetRef] = (),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        kind = SearchKind.LOGGED_MODELS
        search = ExperimentSearch.logged_models(
            experiment_ids, filter, datasets, max_results, order_by, page_token
        )
        wanted = set(search.experiment_ids)
        keep = matcher(kind, filter, datasets=datasets)
        with self._lock:
            models = [
                js.logged_model_from(d) for d in self._files.documents(self._files.path("logged-models"))
            ]
        found = [
            m
            for m in models
            if m.experiment_id in wanted and m.lifecycle_stage is LifecycleStage.ACTIVE and keep(m)
        ]
        return search.page.slice(sort(kind, found, order_by))

    # --- import (migration) ------------------------------------------------------------------------

    def import_experiment(self, experiment: Experiment) -> None:
        check_imported_experiment(experiment)
        with self._lock:
            experiment_id = experiment.experiment_id
            if experiment_id != DEFAULT_EXPERIMENT_ID and self._files.read(
                self._experiment_path(experiment_id)
            ):
                raise experiment_id_exists(experiment_id)
            if any(
                e.name == experiment.name and e.experiment_id != experiment_id for e in self._experiments()
            ):
                raise experiment_exists(experiment.name)
            self._save_experiment(experiment)

    def import_run(self, run: Run, metric_history: Sequence[Metric]) -> None:
        imported = ImportedRun.prepare(run.info.run_id, run.data.params, run.data.tags, metric_history)
        with self._lock:
            self._experiment(run.info.experiment_id)
            if self._files.read(self._run_dir(run.info.run_id) / "run.json") is not None:
                raise run_exists(run.info.run_id)
            document = js.run_document(
                run.info, {p.key: p.value for p in run.data.params}, {t.key: t.value for t in run.data.tags}
            )
            # Model links are kept as given: in a migration the models may arrive later.
            document["model_inputs"] = sorted({m.model_id for m in run.inputs.model_inputs})
            document["model_outputs"] = sorted({(m.model_id, m.step) for m in run.outputs.model_outputs})
            document["deleted_time"] = imported_deletion_time(run.info)
            self._add_points(document, imported.points)
            self._attach_datasets(document, run.inputs.dataset_inputs)
            self._save_run(document)
