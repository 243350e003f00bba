"""MLflow's tracking-store interface (``AbstractStore``) over our TrackingStore port.

``mlflow.set_tracking_uri("mongodb://host/db")`` makes MLflow build this class through the entry
point; from then on the fluent API, ``MlflowClient``, the model flavors and ``mlflow server`` call
it as they call MLflow's own SqlAlchemyStore: same signatures, MLflow's entity classes in and out,
MLflow's paging shapes (``PagedList``, ``(runs, token)``), errors as ``MlflowException`` with
MLflow's error codes.

What each method MLflow calls does is listed in :mod:`.calls` (implemented / empty / not
supported); the "not supported" methods are built from that list at the end of this module.

Thread safety: ``mlflow server`` calls one instance from many threads. The instance holds only
immutable configuration and the port store (thread-safe in every adapter); no per-call state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, ParamSpec, TypeVar

from attrs import evolve
from mlflow import entities as ml
from mlflow.entities.metric import MetricWithRunId
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_TRACES_DEFAULT_MAX_RESULTS
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_MODELS, MLFLOW_RUN_NAME
from mlflow.utils.name_utils import _generate_random_name

from genesis_flow.core import tracing
from genesis_flow.core.artifacts import artifact_segment
from genesis_flow.core.entities import LifecycleStage, Metric, RunTag, ViewType, run_not_active, uri_with_path
from genesis_flow.core.errors import GenesisError, InvalidParameterValue, ResourceDoesNotExist, RunNotFound
from genesis_flow.core.search import SearchKind, parse_filter, parse_order_by, require_max_results
from genesis_flow.core.search.ast import Comparator, Comparison, Filter, KeyType
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.bootstrap import build_tracking_store, resolved_local_uri
from genesis_flow.entrypoints.plugin import convert as cv
from genesis_flow.entrypoints.plugin.calls import (
    NOT_SUPPORTED,
    TRACKING_STORE_CALLS,
    UNSUPPORTED_FEATURES,
    install,
    not_supported,
    refuse,
    unknown_calls,
)
from genesis_flow.ports import TraceStore, TrackingStore

P = ParamSpec("P")
R = TypeVar("R")

# MLflow's SqlAlchemyStore caps the dataset summaries the UI's run table gets.
MAX_DATASET_SUMMARIES = 1000
# As MLflow's SqlAlchemyStore: a trace's artifacts (attachments) go to
# <experiment artifact location>/traces/<trace id>/artifacts; get_trace tries three times.
TRACE_FOLDER = "traces"
TRACE_ARTIFACTS_FOLDER = "artifacts"
GET_TRACE_ATTEMPTS = 3
# Ids per search in batch_get_trace_infos: one IN list, well inside every backend's limits.
BATCH_INFO_CHUNK = 1000


def _empty_page() -> PagedList[Any]:
    return PagedList([], None)


class GenesisTrackingStore(AbstractStore):
    """MLflow's ``AbstractStore`` on Genesis-Flow's stores (MongoDB, Cosmos DB, ...)."""

    def __init__(self, store_uri: str, artifact_uri: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # MLflow's async queue over our log_batch
        self.store_uri = store_uri
        self.artifact_root_uri = artifact_uri
        try:  # e.g. the MongoDB driver is missing, or the URI is malformed
            self._store: TrackingStore = build_tracking_store(store_uri, artifact_root=artifact_uri)
        except GenesisError as error:
            raise cv.error_to_mlflow(error) from None

    @property
    def supports_trace_archival(self) -> bool:
        """No: our stores keep every trace's spans where they were logged, so MLflow's server never
        schedules archive_traces here (which answers NOT_IMPLEMENTED, see calls.py). Experiments'
        archival tags are still validated as MLflow's SQL store validates them."""
        return False

    # --- experiments -----------------------------------------------------------------------------

    @cv.translated
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ml.ExperimentTag] | None = None
    ) -> str:
        location = resolved_local_uri(artifact_location) if artifact_location else None
        return self._store.create_experiment(
            name, location, [S.experiment_tag_to_core(t) for t in tags or ()]
        )

    @cv.translated
    def get_experiment(self, experiment_id: str) -> ml.Experiment:
        return S.experiment_from_core(self._store.get_experiment(str(experiment_id)), cv.ML)

    @cv.translated
    def get_experiment_by_name(self, experiment_name: str) -> ml.Experiment | None:
        experiment = self._store.get_experiment_by_name(experiment_name)
        return None if experiment is None else S.experiment_from_core(experiment, cv.ML)

    @cv.translated
    def search_experiments(
        self,
        view_type: Any = ml.ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ml.Experiment]:
        require_max_results(SearchKind.EXPERIMENTS, max_results)
        page = self._store.search_experiments(
            view_type=S.view_type_to_core(view_type, missing=ViewType.ACTIVE_ONLY),
            max_results=max_results,
            filter=parse_filter(SearchKind.EXPERIMENTS, filter_string),
            order_by=parse_order_by(SearchKind.EXPERIMENTS, order_by),
            page_token=page_token or None,
        )
        return PagedList([S.experiment_from_core(e, cv.ML) for e in page.items], page.next_page_token)

    @cv.translated
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(str(experiment_id), new_name)

    @cv.translated
    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(str(experiment_id))

    @cv.translated
    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(str(experiment_id))

    @cv.translated
    def set_experiment_tag(self, experiment_id: str, tag: ml.ExperimentTag) -> None:
        self._store.set_experiment_tag(str(experiment_id), S.experiment_tag_to_core(tag))

    @cv.translated
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.delete_experiment_tag(str(experiment_id), key)

    @cv.translated
    def filter_active_experiment_ids(self, experiment_ids: list[str]) -> list[str]:
        active = []
        for experiment_id in S.experiment_ids_to_core(experiment_ids):
            try:
                experiment = self._store.get_experiment(experiment_id)
            except ResourceDoesNotExist:
                continue
            if experiment.lifecycle_stage is LifecycleStage.ACTIVE:
                active.append(experiment_id)
        return active

    # --- runs ------------------------------------------------------------------------------------

    @cv.translated
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[ml.RunTag] | None,
        run_name: str | None,
    ) -> ml.Run:
        core_tags = [S.run_tag_to_core(t) for t in tags or ()]
        if not run_name and not any(t.key == MLFLOW_RUN_NAME and t.value for t in core_tags):
            run_name = _generate_random_name()  # type: ignore[no-untyped-call]  # as MLflow's stores do
        run = self._store.create_run(
            str(experiment_id), user_id or "", start_time, core_tags, run_name=run_name or None
        )
        return S.run_from_core(run, cv.ML)

    @cv.translated
    def get_run(self, run_id: str) -> ml.Run:
        return S.run_from_core(self._store.get_run(run_id), cv.ML)

    @cv.translated
    def update_run_info(
        self, run_id: str, run_status: Any, end_time: int | None, run_name: str | None
    ) -> ml.RunInfo:
        info = self._store.update_run_info(
            run_id, S.run_status_to_core(run_status), end_time=end_time, run_name=run_name or None
        )
        return S.run_info_from_core(info, cv.ML)

    @cv.translated
    def delete_run(self, run_id: str) -> None:
        self._store.delete_run(run_id)

    @cv.translated
    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(run_id)

    @cv.translated
    def log_metric(self, run_id: str, metric: ml.Metric) -> None:
        self._store.log_metric(run_id, S.metric_to_core(metric, missing_step=0))

    @cv.translated
    def log_param(self, run_id: str, param: ml.Param) -> None:
        self._store.log_param(run_id, S.param_to_core(param))

    @cv.translated
    def set_tag(self, run_id: str, tag: ml.RunTag) -> None:
        self._store.set_tag(run_id, S.run_tag_to_core(tag))

    @cv.translated
    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    @cv.translated
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[ml.Metric] | None,
        params: Sequence[ml.Param] | None,
        tags: Sequence[ml.RunTag] | None,
    ) -> None:
        self._store.log_batch(
            run_id,
            metrics=[S.metric_to_core(m, missing_step=0) for m in metrics or ()],
            params=[S.param_to_core(p) for p in params or ()],
            tags=[S.run_tag_to_core(t) for t in tags or ()],
        )

    @cv.translated
    def get_metric_history(
        self, run_id: str, metric_key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[ml.Metric]:
        page = self._store.get_metric_history(run_id, metric_key, max_results, page_token or None)
        return PagedList([S.metric_from_core(m, cv.ML) for m in page.items], page.next_page_token)

    def _full_history(self, run_id: str, metric_key: str) -> list[Metric]:
        points: list[Metric] = []
        token: str | None = None
        while True:
            page = self._store.get_metric_history(run_id, metric_key, None, token)
            points.extend(page.items)
            token = page.next_page_token
            if token is None:
                return points

    @cv.translated
    def get_metric_history_bulk(
        self, run_ids: Sequence[str], metric_key: str, max_results: int | None
    ) -> list[MetricWithRunId]:
        """As MLflow's SqlAlchemyStore: ordered by run id, then timestamp, step, value; unknown
        runs contribute nothing."""
        result: list[MetricWithRunId] = []
        for run_id in sorted(set(run_ids)):
            try:
                history = self._full_history(run_id, metric_key)
            except RunNotFound:
                continue
            # The port orders a history as MLflow does: timestamp, step, value.
            result.extend(S.metric_with_run_id_from_core(m, run_id, cv.ML) for m in history)
            if max_results is not None and len(result) >= max_results:
                break
        return result if max_results is None else result[:max_results]

    def get_metric_history_bulk_interval_from_steps(
        self, run_id: str, metric_key: str, steps: Sequence[int], max_results: int
    ) -> list[MetricWithRunId]:
        """MLflow's own selection (AbstractStore) over our ``get_metric_history``."""
        result: list[MetricWithRunId] = super().get_metric_history_bulk_interval_from_steps(  # type: ignore[no-untyped-call]
            run_id, metric_key, steps, max_results
        )
        return result

    def get_metric_history_bulk_interval(
        self,
        run_ids: list[str],
        metric_key: str,
        max_results: int,
        start_step: int | None,
        end_step: int | None,
    ) -> list[MetricWithRunId]:
        """MLflow's own step sampling (AbstractStore) over our ``get_metric_history``."""
        result: list[MetricWithRunId] = super().get_metric_history_bulk_interval(
            run_ids, metric_key, max_results, start_step, end_step
        )
        return result

    def search_runs(
        self,
        experiment_ids: Any,
        filter_string: str | None,
        run_view_type: Any,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ml.Run]:
        if max_results is not None:
            runs, token = self._search_runs(
                experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
            )
            return PagedList(runs, token)
        # MLflow's SQL store answers max_results=None with every run in one list; the port pages.
        every: list[ml.Run] = []
        token = page_token
        while True:
            runs, token = self._search_runs(
                experiment_ids, filter_string, run_view_type, None, order_by, token
            )
            every.extend(runs)
            if token is None:
                return PagedList(every, None)

    @cv.translated
    def _search_runs(
        self,
        experiment_ids: Any,
        filter_string: str | None,
        run_view_type: Any,
        max_results: int | None,
        order_by: list[str] | None,
        page_token: str | None,
    ) -> tuple[list[ml.Run], str | None]:
        page = self._store.search_runs(
            S.experiment_ids_to_core(experiment_ids),
            filter=parse_filter(SearchKind.RUNS, filter_string),
            run_view_type=S.view_type_to_core(run_view_type, missing=ViewType.ACTIVE_ONLY),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.RUNS, order_by),
            page_token=page_token or None,
        )
        return [S.run_from_core(r, cv.ML) for r in page.items], page.next_page_token

    @cv.translated
    def log_inputs(
        self,
        run_id: str,
        datasets: list[ml.DatasetInput] | None = None,
        models: list[ml.LoggedModelInput] | None = None,
    ) -> None:
        self._store.log_inputs(
            run_id,
            datasets=[S.dataset_input_to_core(d) for d in datasets or ()],
            models=[S.logged_model_input_to_core(m) for m in models or ()],
        )

    @cv.translated
    def log_outputs(self, run_id: str, models: list[ml.LoggedModelOutput]) -> None:
        self._store.log_outputs(run_id, [S.logged_model_output_to_core(m) for m in models or ()])

    @cv.translated
    def _search_datasets(self, experiment_ids: Any) -> list[ml._DatasetSummary]:
        summaries = self._store.search_datasets(S.experiment_ids_to_core(experiment_ids))
        return [S.dataset_summary_from_core(s, cv.ML) for s in summaries[:MAX_DATASET_SUMMARIES]]

    @cv.translated
    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """Append the model's dict to the run's ``mlflow.log-model.history`` tag, as MLflow's
        SqlAlchemyStore does (read, then write the tag: concurrent calls for one run may lose
        an entry, as they may in MLflow's file store)."""
        from mlflow.models import Model

        if not isinstance(mlflow_model, Model):
            raise TypeError(
                f"Argument 'mlflow_model' should be mlflow.models.Model, got '{type(mlflow_model)}'"
            )
        model_dict = mlflow_model.get_tags_dict()
        run = self._store.get_run(run_id)
        if run.info.lifecycle_stage is not LifecycleStage.ACTIVE:
            raise run_not_active(run_id, run.info.lifecycle_stage.value)
        previous = run.data.tags_dict.get(MLFLOW_LOGGED_MODELS)
        history = [*json.loads(previous), model_dict] if previous else [model_dict]
        self._store.set_tag(run_id, RunTag(MLFLOW_LOGGED_MODELS, json.dumps(history)))

    # --- asynchronous logging: MLflow's queue, writing through log_batch above -------------------

    def log_metric_async(self, run_id: str, metric: ml.Metric) -> Any:
        return super().log_metric_async(run_id, metric)

    def log_param_async(self, run_id: str, param: ml.Param) -> Any:
        return super().log_param_async(run_id, param)

    def set_tag_async(self, run_id: str, tag: ml.RunTag) -> Any:
        return super().set_tag_async(run_id, tag)

    def log_batch_async(
        self,
        run_id: str,
        metrics: Sequence[ml.Metric],
        params: Sequence[ml.Param],
        tags: Sequence[ml.RunTag],
    ) -> Any:
        return super().log_batch_async(run_id, metrics, params, tags)

    def flush_async_logging(self) -> None:
        super().flush_async_logging()  # type: ignore[no-untyped-call]

    def end_async_logging(self) -> None:
        super().end_async_logging()  # type: ignore[no-untyped-call]

    def shut_down_async_logging(self) -> None:
        super().shut_down_async_logging()  # type: ignore[no-untyped-call]

    # --- MLflow 3 logged models ------------------------------------------------------------------

    @cv.translated
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: list[ml.LoggedModelTag] | None = None,
        params: list[ml.LoggedModelParameter] | None = None,
        model_type: str | None = None,
    ) -> ml.LoggedModel:
        model = self._store.create_logged_model(
            str(experiment_id),
            name=name,  # None generates one; "" is refused, as by MLflow's store
            source_run_id=source_run_id or None,
            tags=[S.logged_model_tag_to_core(t) for t in tags or ()],
            params=[S.logged_model_param_to_core(p) for p in params or ()],
            model_type=model_type or None,
        )
        return S.logged_model_from_core(model, cv.ML)

    @cv.translated
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> ml.LoggedModel:
        # allow_deleted (only MLflow's `gc` command asks) cannot reach a deleted model: our port
        # hides deleted models from lookups.
        return S.logged_model_from_core(self._store.get_logged_model(model_id), cv.ML)

    @cv.translated
    def delete_logged_model(self, model_id: str) -> None:
        self._store.delete_logged_model(model_id)

    @cv.translated
    def finalize_logged_model(self, model_id: str, status: ml.LoggedModelStatus) -> ml.LoggedModel:
        model = self._store.finalize_logged_model(model_id, S.logged_model_status_to_core(status))
        return S.logged_model_from_core(model, cv.ML)

    @cv.translated
    def set_logged_model_tags(self, model_id: str, tags: list[ml.LoggedModelTag]) -> None:
        self._store.set_logged_model_tags(model_id, [S.logged_model_tag_to_core(t) for t in tags or ()])

    @cv.translated
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._store.delete_logged_model_tag(model_id, key)

    @cv.translated
    def log_logged_model_params(self, model_id: str, params: list[ml.LoggedModelParameter]) -> None:
        core_params = [S.logged_model_param_to_core(p) for p in params or ()]
        self._store.log_logged_model_params(model_id, core_params)

    @cv.translated
    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ml.LoggedModel]:
        page = self._store.search_logged_models(
            S.experiment_ids_to_core(experiment_ids),
            filter=parse_filter(SearchKind.LOGGED_MODELS, filter_string),
            datasets=S.dataset_refs_to_core(datasets),
            max_results=max_results or None,
            order_by=parse_order_by(SearchKind.LOGGED_MODELS, S.logged_model_order_by_to_core(order_by)),
            page_token=page_token or None,
        )
        return PagedList([S.logged_model_from_core(m, cv.ML) for m in page.items], page.next_page_token)

    def set_model_versions_tags(self, name: str, version: str, model_id: str) -> None:
        """MLflow's own bookkeeping (AbstractStore) over our get/set of logged-model tags."""
        super().set_model_versions_tags(name, version, model_id)

    # --- tracing -----------------------------------------------------------------------------------

    def _traces(self) -> TraceStore:
        store = self._store
        if isinstance(store, TraceStore):
            return store
        raise not_supported("Tracing")

    @cv.translated
    def start_trace(self, trace_info: ml.TraceInfo) -> ml.TraceInfo:
        """As MLflow's SqlAlchemyStore: store the info (merged into what ``log_spans`` made) with
        the experiment's trace artifact location (attachments go there). The tag saying the spans
        live in this store is stored with the spans (``log_spans``), as in MLflow, but is always
        in the answer: MLflow's exporter uploads the spans as artifacts when the answer lacks it,
        and its queue may run ``start_trace`` before the ``log_spans`` it queued first."""
        info = S.trace_info_to_core(trace_info)
        experiment = self._store.get_experiment(info.experiment_id)
        # The trace id comes from the client and names a folder of the experiment's location,
        # where MLflow reads and writes attachments: it must be one plain name, or "../.." would
        # lead them out and "." into a folder every trace shares.
        try:
            artifact_segment(info.trace_id)
        except InvalidParameterValue as error:
            raise InvalidParameterValue(f"Trace ID cannot name its attachments' folder: {error}") from None
        artifacts = uri_with_path(
            experiment.artifact_location, TRACE_FOLDER, info.trace_id, TRACE_ARTIFACTS_FOLDER
        )
        tags = {**info.tags, cv.TRACE_ARTIFACT_LOCATION_TAG: artifacts}
        stored = self._traces().start_trace(evolve(info, tags=tags))
        return S.trace_info_from_core(stored, cv.ML, spans_in_store=True)

    @cv.translated
    def log_spans(
        self, location: str, spans: list[ml.Span], tracking_uri: str | None = None
    ) -> list[ml.Span]:
        """MLflow's exporter calls this as spans end (before ``start_trace``); ``location`` is the
        experiment id."""
        spans = list(spans or ())
        if spans:
            self._traces().log_spans(str(location), [S.span_to_core(s) for s in spans])
        return spans

    @cv.translated
    def get_trace_info(self, trace_id: str) -> ml.TraceInfo:
        return S.trace_info_from_core(self._traces().get_trace_info(trace_id), cv.ML)

    @cv.translated
    def get_trace(self, trace_id: str, *, allow_partial: bool = False) -> ml.Trace:
        """As MLflow's SqlAlchemyStore: unless ``allow_partial``, wait (1 s, then 2 s) for spans
        still being exported, then answer RESOURCE_DOES_NOT_EXIST."""
        store = self._traces()
        for attempt in range(GET_TRACE_ATTEMPTS):
            trace = cv.spans_in_store(store.get_trace(trace_id))
            if allow_partial or cv.trace_is_complete(trace):
                return S.trace_from_core(trace, cv.ML)
            if attempt < GET_TRACE_ATTEMPTS - 1:
                time.sleep(2**attempt)
        raise MlflowException(
            f"Trace with ID {trace_id} is not fully exported yet, please try again later.",
            error_code=databricks_pb2.RESOURCE_DOES_NOT_EXIST,
        )

    @cv.translated
    def batch_get_traces(
        self, trace_ids: list[str], location: str | None = None, experiment_ids: list[str] | None = None
    ) -> list[ml.Trace]:
        """The complete traces among ``trace_ids`` (in that order); unknown or still-exporting
        ones are left out, as MLflow's SqlAlchemyStore does."""
        if not trace_ids:
            return []
        scope = None if experiment_ids is None else set(S.experiment_ids_to_core(experiment_ids))
        traces = [cv.spans_in_store(t) for t in self._traces().batch_get_traces(list(trace_ids))]
        return [
            S.trace_from_core(t, cv.ML)
            for t in traces
            if (scope is None or t.info.experiment_id in scope) and cv.trace_is_complete(t)
        ]

    @cv.translated
    def batch_get_trace_infos(
        self, trace_ids: list[str], location: str | None = None, experiment_ids: list[str] | None = None
    ) -> list[ml.TraceInfo]:
        """The infos of the known traces among ``trace_ids``, in that order, without spans: one
        ``request_id IN (...)`` search per chunk of ids, never a read per trace."""
        wanted = list(dict.fromkeys(str(t) for t in trace_ids or ()))
        if not wanted:
            return []
        scope = (
            S.experiment_ids_to_core(experiment_ids)
            if experiment_ids is not None
            else self._all_experiment_ids()
        )
        found: dict[str, ml.TraceInfo] = {}
        for start in range(0, len(wanted), BATCH_INFO_CHUNK):
            chunk = tuple(wanted[start : start + BATCH_INFO_CHUNK])
            page = self._traces().search_traces(
                scope,
                filter=Filter((Comparison(KeyType.ATTRIBUTE, "request_id", Comparator.IN, chunk),)),
                max_results=len(chunk),
            )
            found.update((i.trace_id, S.trace_info_from_core(i, cv.ML)) for i in page.items)
        return [found[t] for t in wanted if t in found]

    @cv.translated
    def search_traces(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        max_results: int = SEARCH_TRACES_DEFAULT_MAX_RESULTS,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        model_id: str | None = None,
        locations: list[str] | None = None,
    ) -> tuple[list[ml.TraceInfo], str | None]:
        """MLflow's trace search over our store: attribute, ``tags.`` and ``metadata.`` filters;
        MLflow's span, assessment and full-text filters answer NOT_IMPLEMENTED."""
        if experiment_ids and locations:
            raise MlflowException.invalid_parameter_value(
                "`experiment_ids` is deprecated, use `locations` instead."
            )
        require_max_results(SearchKind.TRACES, max_results)
        scope = locations or experiment_ids
        if scope and any("." in str(location) for location in scope):
            raise MlflowException.invalid_parameter_value(
                "Locations must be a list of experiment IDs (this store has no Unity Catalog tables)."
            )
        if model_id:
            model_clause = f"metadata.`{tracing.MODEL_ID_METADATA}` = '{model_id}'"
            filter_string = f"{filter_string} AND {model_clause}" if filter_string else model_clause
        page = self._traces().search_traces(
            S.experiment_ids_to_core(scope) if scope is not None else self._all_experiment_ids(),
            filter=parse_filter(SearchKind.TRACES, filter_string or None),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.TRACES, list(order_by or ())),
            page_token=page_token or None,
        )
        return [S.trace_info_from_core(i, cv.ML) for i in page.items], page.next_page_token

    def _all_experiment_ids(self) -> list[str]:
        # No location at all: MLflow's SQL store searches every experiment.
        ids: list[str] = []
        token: str | None = None
        while True:
            page = self._store.search_experiments(view_type=ViewType.ALL, max_results=None, page_token=token)
            ids.extend(e.experiment_id for e in page.items)
            token = page.next_page_token
            if token is None:
                return ids

    @cv.translated
    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        value = str(value)[: tracing.MAX_TRACE_TAG_VALUE_LENGTH]  # MLflow's store truncates
        self._traces().set_trace_tag(trace_id, key, value)

    @cv.translated
    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self._traces().delete_trace_tag(trace_id, key)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: list[str] | None = None,
    ) -> int:
        """MLflow's argument checks (AbstractStore), then :meth:`_delete_traces`."""
        deleted: int = super().delete_traces(experiment_id, max_timestamp_millis, max_traces, trace_ids)
        return deleted

    @cv.translated
    def _delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: list[str] | None = None,
    ) -> int:
        return self._traces().delete_traces(
            str(experiment_id),
            max_timestamp_millis=max_timestamp_millis,
            max_traces=max_traces,
            trace_ids=list(trace_ids) if trace_ids else None,
        )

    # --- features we do not store yet: as an empty store answers ---------------------------------

    def link_traces_to_run(self, trace_ids: list[str], run_id: str) -> None:
        """Abstract in MLflow, so spelled out here; raises as the other "not supported" ones."""
        raise not_supported(UNSUPPORTED_FEATURES["link_traces_to_run"])

    def query_trace_metrics(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def find_completed_sessions(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def list_scorers(self, experiment_id: str) -> list[Any]:
        return []

    def list_scorer_versions(self, experiment_id: str, name: str) -> list[Any]:
        return []

    def list_scorers_across_experiments(self, experiment_ids: list[str]) -> list[Any]:
        return []

    def get_online_scoring_configs(self, scorer_ids: list[str]) -> list[Any]:
        return []

    def get_active_online_scorers(self) -> list[Any]:
        return []

    def search_datasets(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def search_issues(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def list_label_schemas(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def list_review_queues(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def list_review_queue_items(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def list_secret_infos(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def list_gateway_model_definitions(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def list_gateway_endpoints(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def list_endpoint_bindings(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def list_budget_policies(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def list_gateway_guardrails(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def list_endpoint_guardrail_configs(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def search_mcp_servers(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def search_mcp_server_versions(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def search_mcp_access_endpoints(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def get_mcp_server_versions_for_trace(self, trace_id: str) -> list[Any]:
        return []

    def search_skills(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()

    def search_skill_versions(self, *args: Any, **kwargs: Any) -> PagedList[Any]:
        return _empty_page()


install(
    GenesisTrackingStore,
    {
        name: refuse(UNSUPPORTED_FEATURES[name])
        for name, status in TRACKING_STORE_CALLS.items()
        if status == NOT_SUPPORTED and name not in vars(GenesisTrackingStore)
    },
)
# Last: what MLflow's base has and nothing above defines (methods added upstream after calls.py).
install(GenesisTrackingStore, unknown_calls(GenesisTrackingStore, AbstractStore))
