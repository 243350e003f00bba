"""In-memory TrackingStore: the reference semantics every other adapter is compared with.

State lives in plain dicts guarded by one re-entrant lock; every read returns frozen entities, so
callers can never mutate what is stored. Semantics are documented on the port
(:mod:`genesis_flow.ports.tracking`), not repeated here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from attrs import define, evolve, field

from genesis_flow.adapters.memory.tracing import InMemoryTraces
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
    Dataset,
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
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
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
from genesis_flow.core.search import (
    RunValues,
    matcher,
    matches,
    sort,
)
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, IdGenerator, SystemClock, UuidIdGenerator
from genesis_flow.ports.tracking import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME

RUN_NAME_TAG = v.RUN_NAME_TAG


@define
class _RunState:
    """Mutable bookkeeping for one run; snapshots go out as frozen :class:`Run`."""

    info: RunInfo
    params: dict[str, str] = field(factory=dict)
    tags: dict[str, str] = field(factory=dict)
    latest: dict[str, Metric] = field(factory=dict)
    history: dict[str, dict[tuple[Any, ...], Metric]] = field(factory=dict)
    dataset_inputs: dict[tuple[str, str], DatasetInput] = field(factory=dict)
    model_inputs: set[str] = field(factory=set)
    model_outputs: set[tuple[str, int]] = field(factory=set)
    # When the run was deleted (None while active, or for a run imported deleted without one).
    deleted_time: int | None = None

    def snapshot(self) -> Run:
        return Run(
            info=self.info,
            data=RunData(
                metrics=tuple(self.latest.values()),
                params=tuple(Param(k, val) for k, val in self.params.items()),
                tags=tuple(RunTag(k, val) for k, val in self.tags.items()),
            ),
            inputs=RunInputs(
                dataset_inputs=tuple(self.dataset_inputs.values()),
                model_inputs=tuple(LoggedModelInput(m) for m in self.model_inputs),
            ),
            outputs=RunOutputs(tuple(LoggedModelOutput(m, s) for m, s in self.model_outputs)),
        )

    def values(self) -> RunValues:
        """What a search reads of the run, without building it."""
        latest = {key: metric.value for key, metric in self.latest.items()}
        return RunValues(self.info, latest, self.params, self.tags, self.dataset_inputs.values())

    def add_metric(self, metric: Metric) -> None:
        points = self.history.setdefault(metric.key, {})
        if metric.identity in points:
            return
        points[metric.identity] = metric
        current = self.latest.get(metric.key)
        if current is None or is_newer_metric(metric, current):
            self.latest[metric.key] = metric


class InMemoryTrackingStore(InMemoryTraces):
    """TrackingStore (and TraceStore) kept in process memory. Thread-safe; nothing survives the
    process."""

    def __init__(
        self,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        artifact_root: str = "./genesis-artifacts",
    ) -> None:
        self._clock = clock or SystemClock()
        self._ids = ids or UuidIdGenerator()
        self._artifact_root = artifact_root
        self._lock = threading.RLock()
        self._experiments: dict[str, Experiment] = {}
        self._runs: dict[str, _RunState] = {}
        self._datasets: dict[tuple[str, str, str], Dataset] = {}
        self._logged_models: dict[str, LoggedModel] = {}
        self._next_experiment_id = 1
        self._init_traces()
        now = self._clock.now_ms()
        self._experiments[DEFAULT_EXPERIMENT_ID] = Experiment(
            experiment_id=DEFAULT_EXPERIMENT_ID,
            name=DEFAULT_EXPERIMENT_NAME,
            artifact_location=self._location(DEFAULT_EXPERIMENT_ID),
            creation_time=now,
            last_update_time=now,
        )

    @classmethod
    def from_uri(cls, uri: str, artifact_root: str = "./genesis-artifacts") -> InMemoryTrackingStore:
        return cls(artifact_root=artifact_root)

    def _location(self, experiment_id: str) -> str:
        return experiment_artifact_location(self._artifact_root, experiment_id)

    # --- experiments -----------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] = ()
    ) -> str:
        check_new_experiment(name, artifact_location, tags)
        with self._lock:
            self._check_name_free(name)
            experiment_id = str(self._next_experiment_id)
            self._next_experiment_id += 1
            now = self._clock.now_ms()
            self._experiments[experiment_id] = Experiment(
                experiment_id=experiment_id,
                name=name,
                artifact_location=artifact_location or self._location(experiment_id),
                creation_time=now,
                last_update_time=now,
                tags=tuple({t.key: t for t in tags}.values()),
            )
            return experiment_id

    def _check_name_free(self, name: str) -> None:
        if any(e.name == name for e in self._experiments.values()):
            raise experiment_exists(name)

    def _experiment(self, experiment_id: str) -> Experiment:
        experiment_id = v.experiment_id(experiment_id)
        experiment = self._experiments.get(experiment_id)
        if experiment is None:
            raise experiment_not_found(experiment_id)
        return experiment

    def _active_experiment(self, experiment_id: str) -> Experiment:
        experiment = self._experiment(experiment_id)
        if experiment.lifecycle_stage is not LifecycleStage.ACTIVE:
            raise experiment_not_active(experiment_id, experiment.lifecycle_stage.value)
        return experiment

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._lock:
            return self._experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        v.validate_text("name", name)  # no stored name can hold unstorable text
        with self._lock:
            return next((e for e in self._experiments.values() if e.name == name), None)

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
        with self._lock:
            found = [
                e
                for e in self._experiments.values()
                if view_type.admits(e.lifecycle_stage) and matches(kind, e, filter)
            ]
        return page.slice(sort(kind, found, order_by))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.validate_experiment_name(new_name)
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage is not LifecycleStage.ACTIVE:
                raise experiment_not_renamable()
            if experiment.name == new_name:
                return
            self._check_name_free(new_name)
            self._experiments[experiment.experiment_id] = evolve(
                experiment, name=new_name, last_update_time=self._clock.now_ms()
            )

    def delete_experiment(self, experiment_id: str) -> None:
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage is not LifecycleStage.ACTIVE:
                raise experiment_not_found(experiment_id)
            self._set_experiment_stage(experiment, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.lifecycle_stage is not LifecycleStage.DELETED:
                raise experiment_not_found(experiment_id)
            self._set_experiment_stage(experiment, LifecycleStage.ACTIVE)

    def _set_experiment_stage(self, experiment: Experiment, stage: LifecycleStage) -> None:
        # MLflow moves every run of the experiment with it, in both directions.
        self._experiments[experiment.experiment_id] = evolve(
            experiment, lifecycle_stage=stage, last_update_time=self._clock.now_ms()
        )
        now = self._clock.now_ms()
        for state in self._runs.values():
            if state.info.experiment_id == experiment.experiment_id:
                state.info = evolve(state.info, lifecycle_stage=stage)
                state.deleted_time = now if stage == LifecycleStage.DELETED else None

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        v.validate_experiment_tag(tag.key, tag.value)
        with self._lock:
            experiment = self._active_experiment(experiment_id)
            tags = {t.key: t for t in experiment.tags}
            tags[tag.key] = ExperimentTag(tag.key, tag.value)
            self._experiments[experiment.experiment_id] = evolve(experiment, tags=tuple(tags.values()))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            experiment = self._active_experiment(experiment_id)
            if key not in experiment.tags_dict:
                raise experiment_tag_not_found(experiment_id, key)
            self._experiments[experiment.experiment_id] = evolve(
                experiment, tags=tuple(t for t in experiment.tags if t.key != key)
            )

    # --- runs ------------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        name, tag_map = v.run_name_and_tags(run_name, [(tag.key, tag.value) for tag in tags])
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
            state = _RunState(info=info, tags=tag_map)
            self._runs[run_id] = state
            return state.snapshot()

    def _run(self, run_id: str) -> _RunState:
        v.validate_lookup("run_id", run_id)
        state = self._runs.get(run_id)
        if state is None:
            raise run_not_found(run_id)
        return state

    def _active_run(self, run_id: str) -> _RunState:
        state = self._run(run_id)
        if state.info.lifecycle_stage is not LifecycleStage.ACTIVE:
            raise run_not_active(run_id, state.info.lifecycle_stage.value)
        return state

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return self._run(run_id).snapshot()

    def run_ids_with_prefix(self, prefix: str, limit: int) -> tuple[str, ...]:
        lookup = RunIdPrefix.of(prefix, limit)
        with self._lock:
            return tuple(sorted(i for i in self._runs if lookup.matches(i))[: lookup.limit])

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
            state = self._active_run(run_id)
            info = state.info
            if status is not None:
                info = evolve(info, status=status)
            if end_time is not None:
                info = evolve(info, end_time=end_time)
            if run_name:
                info = evolve(info, run_name=run_name)
                state.tags[RUN_NAME_TAG] = run_name
            state.info = info
            return info

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            state = self._run(run_id)
            if state.info.lifecycle_stage != LifecycleStage.DELETED:
                state.deleted_time = self._clock.now_ms()
            state.info = evolve(state.info, lifecycle_stage=LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        with self._lock:
            state = self._run(run_id)
            state.info = evolve(state.info, lifecycle_stage=LifecycleStage.ACTIVE)
            state.deleted_time = None

    def purge_deleted_runs(self, older_than_ms: int, *, dry_run: bool = False) -> list[RunInfo]:
        with self._lock:
            cutoff = self._clock.now_ms() - older_than_ms
            purged = [
                state.info
                for state in self._runs.values()
                if state.info.lifecycle_stage == LifecycleStage.DELETED
                and (older_than_ms == 0 or (state.deleted_time is not None and state.deleted_time <= cutoff))
            ]
            if not dry_run:
                for info in purged:
                    del self._runs[info.run_id]
            return purged

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            state = self._active_run(run_id)
            if key not in state.tags:
                raise run_tag_not_found(run_id, key)
            del state.tags[key]

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        batch = LogBatch.prepare(metrics, params, tags)
        with self._lock:
            state = self._active_run(run_id)
            # Atomic: every check that can fail runs before the first write.
            new_params = batch.new_params(run_id, state.params)
            for model_id in batch.model_ids:
                self._logged_model(model_id)
            for p in new_params:
                state.params[p.key] = p.value
            for m in batch.metrics:
                state.add_metric(m)
                if m.model_id is not None:
                    self._add_model_metric(m.model_id, ModelMetric.of(m, run_id))
            for key, value in batch.tag_values.items():
                state.tags[key] = value
                if key == RUN_NAME_TAG:
                    state.info = evolve(state.info, run_name=value)

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Metric]:
        page = PageRequest.metric_history(run_id, metric_key, max_results, page_token)
        with self._lock:
            points = sorted(self._run(run_id).history.get(metric_key, {}).values(), key=metric_history_key)
        return page.slice(points)

    def metric_history_lengths(self, run_id: str) -> dict[str, int]:
        with self._lock:
            return {key: len(points) for key, points in self._run(run_id).history.items()}

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[LoggedModelInput] = (),
    ) -> None:
        check_run_inputs(datasets, models)
        with self._lock:
            state = self._active_run(run_id)
            experiment_id = state.info.experiment_id
            for item in datasets:
                self._attach_dataset_input(state, experiment_id, item)
            state.model_inputs.update(m.model_id for m in models)

    def _attach_dataset_input(self, state: _RunState, experiment_id: str, item: DatasetInput) -> None:
        key = (item.dataset.name, item.dataset.digest)
        # The first stored dataset of that (name, digest) in the experiment wins, as in MLflow;
        # the same input logged to a run again is kept once.
        stored = self._datasets.setdefault((experiment_id, *key), item.dataset)
        state.dataset_inputs.setdefault(key, evolve(item, dataset=stored))

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        v.validate_model_outputs(models)
        with self._lock:
            state = self._active_run(run_id)
            for model in models:
                self._logged_model(model.model_id)
            state.model_outputs.update((m.model_id, m.step) for m in models)

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
            # Filtered and sorted on the stored values: only the page's runs become entities.
            states = {
                s.info.run_id: s
                for s in self._runs.values()
                if s.info.experiment_id in wanted and run_view_type.admits(s.info.lifecycle_stage)
            }
            runs = [s.values() for s in states.values()]
            found = [r for r in runs if keep(r)]
            page = search.page.slice(sort(kind, found, order_by))
            return Page(tuple(states[r.info.run_id].snapshot() for r in page.items), page.next_page_token)

    def search_datasets(self, experiment_ids: Sequence[str]) -> tuple[DatasetSummary, ...]:
        wanted = set(v.experiment_ids(experiment_ids))
        with self._lock:
            summaries = {
                DatasetSummary(s.info.experiment_id, i.dataset.name, i.dataset.digest, i.context)
                for s in self._runs.values()
                if s.info.experiment_id in wanted
                for i in s.dataset_inputs.values()
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
            self._logged_models[model.model_id] = model
            return model

    def _logged_model(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        # As in MLflow, reads hide deleted models while writes (delete again, tags, finalize)
        # still reach them.
        v.validate_lookup("model_id", model_id)
        model = self._logged_models.get(model_id)
        if model is None or (model.lifecycle_stage is LifecycleStage.DELETED and not allow_deleted):
            raise logged_model_not_found(model_id)
        return model

    def _add_model_metric(self, model_id: str, metric: ModelMetric) -> None:
        model = self._logged_models[model_id]
        if any(m == metric for m in model.metrics):
            return
        self._logged_models[model_id] = evolve(model, metrics=(*model.metrics, metric))

    def get_logged_model(self, model_id: str) -> LoggedModel:
        with self._lock:
            return self._logged_model(model_id)

    def delete_logged_model(self, model_id: str) -> None:
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            self._logged_models[model_id] = evolve(
                model, lifecycle_stage=LifecycleStage.DELETED, last_updated_timestamp=self._clock.now_ms()
            )

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        parsed = LoggedModelStatus.parse(status)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True).finalize(parsed, self._clock.now_ms())
            self._logged_models[model_id] = model
            return model

    def set_logged_model_tags(self, model_id: str, tags: Sequence[LoggedModelTag]) -> None:
        for tag in tags:
            v.validate_run_tag(tag.key, tag.value)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            merged = {t.key: t for t in model.tags} | {t.key: LoggedModelTag(t.key, t.value) for t in tags}
            self._logged_models[model_id] = evolve(model, tags=tuple(merged.values()))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            if not any(t.key == key for t in model.tags):
                raise logged_model_tag_not_found(model_id, key)
            self._logged_models[model_id] = evolve(model, tags=tuple(t for t in model.tags if t.key != key))

    def log_logged_model_params(self, model_id: str, params: Sequence[LoggedModelParameter]) -> None:
        command = LoggedModelParams.prepare(params)
        with self._lock:
            model = self._logged_model(model_id, allow_deleted=True)
            command.new_params(model_id, {p.key: p.value for p in model.params})
            merged = {p.key: p for p in model.params} | {
                p.key: LoggedModelParameter(p.key, p.value) for p in params
            }
            self._logged_models[model_id] = evolve(model, params=tuple(merged.values()))

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
        with self._lock:
            models = [
                m
                for m in self._logged_models.values()
                if m.experiment_id in wanted and m.lifecycle_stage is LifecycleStage.ACTIVE
            ]
        keep = matcher(kind, filter, datasets=datasets)
        found = [m for m in models if keep(m)]
        return search.page.slice(sort(kind, found, order_by))

    # --- import (migration) ------------------------------------------------------------------------

    def import_experiment(self, experiment: Experiment) -> None:
        check_imported_experiment(experiment)
        with self._lock:
            existing = self._experiments.get(experiment.experiment_id)
            if existing is not None and experiment.experiment_id != DEFAULT_EXPERIMENT_ID:
                raise experiment_id_exists(experiment.experiment_id)
            if any(
                e.name == experiment.name and e.experiment_id != experiment.experiment_id
                for e in self._experiments.values()
            ):
                raise experiment_exists(experiment.name)
            self._experiments[experiment.experiment_id] = experiment
            if experiment.experiment_id.isdigit():
                self._next_experiment_id = max(self._next_experiment_id, int(experiment.experiment_id) + 1)

    def import_run(self, run: Run, metric_history: Sequence[Metric]) -> None:
        imported = ImportedRun.prepare(run.info.run_id, run.data.params, run.data.tags, metric_history)
        with self._lock:
            self._experiment(run.info.experiment_id)
            if run.info.run_id in self._runs:
                raise run_exists(run.info.run_id)
            # Model links are kept as given: in a migration the models may arrive later.
            state = _RunState(
                info=run.info,
                params={p.key: p.value for p in run.data.params},
                tags={t.key: t.value for t in run.data.tags},
                model_inputs={m.model_id for m in run.inputs.model_inputs},
                model_outputs={(m.model_id, m.step) for m in run.outputs.model_outputs},
                deleted_time=imported_deletion_time(run.info),
            )
            for m in imported.points:
                state.add_metric(m)
            for item in run.inputs.dataset_inputs:
                self._attach_dataset_input(state, run.info.experiment_id, item)
            self._runs[run.info.run_id] = state
