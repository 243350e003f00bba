"""``MlflowClient``: MLflow's lower-level client, on Genesis-Flow's stores.

Same method names, signatures, defaults and return shapes as ``mlflow.MlflowClient`` (3.17.2).
Every method raises :class:`~genesis_flow.exceptions.MlflowException` with MLflow's error code for
bad input or a missing entity; never a driver error. MLflow's client-side conveniences live here,
not in the stores: values are stringified and over-long param and tag values truncated (with a
warning) as ``MLFLOW_TRUNCATE_LONG_VALUES`` says, metric values converted to float, oversize
batches split as MLflow splits them, unnamed runs named.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import zip_longest
from typing import TYPE_CHECKING, Any, cast

from attrs import evolve

from genesis_flow.core import validation
from genesis_flow.core.artifacts import artifact_file_name, artifact_path, join_artifact_path
from genesis_flow.core.entities import (
    ExperimentTag as CoreExperimentTag,
)
from genesis_flow.core.entities import (
    LoggedModelParameter,
    LoggedModelTag,
    RunStatus,
)
from genesis_flow.core.entities import (
    Metric as CoreMetric,
)
from genesis_flow.core.entities import (
    Param as CoreParam,
)
from genesis_flow.core.entities import (
    RunTag as CoreRunTag,
)
from genesis_flow.core.errors import InternalError, InvalidParameterValue, ResourceDoesNotExist
from genesis_flow.core.redaction import redact_uri
from genesis_flow.core.registry import ModelVersionTag, RegisteredModelTag
from genesis_flow.core.search import SearchKind, parse_filter, parse_order_by
from genesis_flow.core.tracing import MAX_TRACE_TAG_VALUE_LENGTH
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.api import async_logging, config, context, live_traces, presentation
from genesis_flow.entrypoints.api import entities as E
from genesis_flow.entrypoints.api import trace_entities as T
from genesis_flow.entrypoints.api.async_logging import RunOperations
from genesis_flow.entrypoints.api.exceptions import translated
from genesis_flow.entrypoints.api.uris import ArtifactLocation, ModelUri, parse_models_uri, parse_runs_uri
from genesis_flow.entrypoints.bootstrap import resolved_local_uri

if TYPE_CHECKING:
    from genesis_flow.ports import ArtifactStore, RegistryStore, TraceStore, TrackingStore

_logger = logging.getLogger("genesis_flow")

SEARCH_MAX_RESULTS_DEFAULT = 1000
_IMAGE_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")
MLFLOW_LOGGED_IMAGES = "mlflow.loggedImages"


def _now_ms() -> int:
    return int(time.time() * 1000)


_RUN_ID = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def _check_run_id(run_id: object) -> None:
    """MLflow's client-side run id check (its message, its INVALID_PARAMETER_VALUE)."""
    if not isinstance(run_id, str) or _RUN_ID.match(run_id) is None:
        shown = json.dumps(run_id, sort_keys=True, separators=(",", ":"), default=str)
        raise InvalidParameterValue(f"Invalid value {shown} for parameter 'run_id' supplied.")


def _param(key: str, value: Any) -> CoreParam:
    return S.param_to_core(CoreParam(key, str(value)))


def _tag(key: str, value: Any) -> CoreRunTag:
    return S.run_tag_to_core(CoreRunTag(key, str(value)))


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _version(name: str, version: Any) -> int:
    return validation.model_version_number(name, version)


def check_table_file(artifact_file: str) -> None:
    """Table names are matched inside the JSON of the ``mlflow.loggedArtifacts`` tag, so the
    characters of that JSON are refused (INVALID_PARAMETER_VALUE)."""
    if not isinstance(artifact_file, str):
        raise InvalidParameterValue(f"artifact_file must be a string, got {artifact_file!r}")
    for char in ('"', "'", ",", ":", "[", "]", "{", "}"):
        if char in artifact_file:
            raise InvalidParameterValue(f"The artifact_file contains forbidden character: {char}")


def checked_model_id(model_id: str | None) -> str:
    """``model_id``, unless it is no id at all (INVALID_PARAMETER_VALUE, as MLflow words it)."""
    if not model_id or not isinstance(model_id, str):
        raise InvalidParameterValue(f"`model_id` must be a non-empty string, but got {model_id!r}")
    return model_id


class MlflowClient:
    """A client of one tracking store and one registry store (MLflow's ``MlflowClient``).

    ``tracking_uri`` defaults to the current tracking URI (:func:`genesis_flow.set_tracking_uri`,
    ``GENESIS_TRACKING_URI``, ``MLFLOW_TRACKING_URI``, else ``sqlite:///genesis.db``);
    ``registry_uri`` to the registry URI, else the tracking URI. An ``http(s)://`` URI (an MLflow
    tracking server) is refused with INVALID_PARAMETER_VALUE: Genesis-Flow talks to the database.
    Instances are cheap and thread-safe; stores are shared per URI within the process.
    """

    @translated
    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        workspace_store_uri: str | None = None,
    ) -> None:
        self._tracking_uri = config.get_tracking_uri() if tracking_uri is None else str(tracking_uri)
        self._registry_uri = (
            str(registry_uri)
            if registry_uri is not None
            else config.get_registry_uri(default_tracking_uri=self._tracking_uri)
        )
        config.refuse_server_uri(self._tracking_uri)
        self._tracking: TrackingStore | None = None
        self._registry: RegistryStore | None = None
        self._async_writer: async_logging.AsyncLogger | None = None
        self._lock = threading.Lock()

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    @property
    def _tracking_client(self) -> MlflowClient:  # MLflow code sometimes reaches for this
        return self

    @property
    def store(self) -> TrackingStore:
        if self._tracking is None:
            with self._lock:
                if self._tracking is None:
                    self._tracking = config.tracking_store(self._tracking_uri)
        return self._tracking

    @property
    def registry(self) -> RegistryStore:
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    config.refuse_server_uri(self._registry_uri)
                    self._registry = config.registry_store(self._registry_uri)
        return self._registry

    # --- experiments -----------------------------------------------------------------------------

    @translated
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment; returns its id. RESOURCE_ALREADY_EXISTS if the name is taken
        (also by a deleted experiment); INVALID_PARAMETER_VALUE for a bad name or tag. A relative
        local ``artifact_location`` is made absolute, as MLflow's stores make it."""
        experiment_tags = [CoreExperimentTag(k, str(v)) for k, v in (tags or {}).items()]
        location = resolved_local_uri(artifact_location) if artifact_location else None
        return self.store.create_experiment(name, location, experiment_tags)

    @translated
    def get_experiment(self, experiment_id: str) -> E.Experiment:
        """The experiment, active or deleted. RESOURCE_DOES_NOT_EXIST if unknown."""
        return S.experiment_from_core(self.store.get_experiment(str(experiment_id)), E.SHAPES)

    @translated
    def get_experiment_by_name(self, name: str) -> E.Experiment | None:
        """The experiment of that name (active or deleted), or None."""
        found = self.store.get_experiment_by_name(name)
        return None if found is None else S.experiment_from_core(found, E.SHAPES)

    @translated
    def search_experiments(
        self,
        view_type: int = E.ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> E.PagedList:
        """One page of experiments (default order: creation time DESC, then id); ``.token`` is
        the next page's token or None."""
        page = self.store.search_experiments(
            view_type=S.view_type_to_core(view_type),
            max_results=max_results,
            filter=parse_filter(SearchKind.EXPERIMENTS, filter_string),
            order_by=parse_order_by(SearchKind.EXPERIMENTS, order_by),
            page_token=page_token,
        )
        return E.PagedList([S.experiment_from_core(e, E.SHAPES) for e in page.items], page.next_page_token)

    @translated
    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(str(experiment_id))

    @translated
    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(str(experiment_id))

    @translated
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(str(experiment_id), new_name)

    @translated
    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.set_experiment_tag(str(experiment_id), CoreExperimentTag(key, str(value)))

    @translated
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(str(experiment_id), key)

    # --- runs ------------------------------------------------------------------------------------

    @translated
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> E.Run:
        """Create a RUNNING run. Without a name (argument or ``mlflow.runName`` tag) the run gets
        a generated one, as MLflow names it. ``mlflow.user`` in ``tags`` becomes the run's user."""
        tag_map = {k: str(v) for k, v in (tags or {}).items()}
        if not run_name and not tag_map.get(context.MLFLOW_RUN_NAME):
            run_name = context.generate_run_name()
        run = self.store.create_run(
            experiment_id=str(experiment_id),
            user_id=tag_map.get(context.MLFLOW_USER, context.DEFAULT_USER),
            start_time=start_time or _now_ms(),
            tags=[_tag(k, v) for k, v in tag_map.items()],
            run_name=run_name,
        )
        return S.run_from_core(run, E.SHAPES)

    @translated
    def get_run(self, run_id: str) -> E.Run:
        """The run with latest metrics, params, tags and inputs (deleted runs too).
        INVALID_PARAMETER_VALUE for a malformed id; RESOURCE_DOES_NOT_EXIST if unknown."""
        _check_run_id(run_id)
        return S.run_from_core(self.store.get_run(run_id), E.SHAPES)

    @translated
    def get_parent_run(self, run_id: str) -> E.Run | None:
        parent = self.store.get_run(run_id).data.tags_dict.get(context.MLFLOW_PARENT_RUN_ID)
        return None if parent is None else S.run_from_core(self.store.get_run(parent), E.SHAPES)

    @translated
    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is None and name is None:
            return
        run = self.store.get_run(run_id)
        self.store.update_run_info(
            run_id,
            run_status=RunStatus.parse(status or run.info.status),
            end_time=run.info.end_time,
            run_name=name,
        )

    @translated
    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End the run: status (default FINISHED) and end time (default now). Pending
        asynchronous writes of the run are flushed first, so they land before it ends."""
        async_logging.flush(self._tracking_uri)
        self.store.update_run_info(
            run_id, run_status=RunStatus.parse(status or "FINISHED"), end_time=end_time or _now_ms()
        )

    @translated
    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    @translated
    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    @translated
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param; returns ``value`` (or, asynchronously, a RunOperations). Logging another
        value for a logged key is INVALID_PARAMETER_VALUE and keeps the stored value."""
        param = _param(key, value)
        if not config.synchronous(synchronous):
            return self._submit(run_id, params=(param,))
        try:
            self.store.log_param(run_id, param)
        except InvalidParameterValue as error:
            raise InvalidParameterValue(error.message + _PARAM_VALIDATION_MSG) from None
        return value

    @translated
    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        """Log one point; ``timestamp`` defaults to now, ``step`` to 0. Asynchronously
        (``synchronous=False`` or MLFLOW_ENABLE_ASYNC_LOGGING) returns a RunOperations."""
        return self._log_metric(
            run_id, key, value, timestamp, step, synchronous, dataset_name, dataset_digest, model_id
        )

    def _log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None,
        step: int | None,
        synchronous: bool | None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        # The fluent API's hot path (a training loop): no decorator layers; validate_metric
        # checks a key that already passed in a fraction of the full check.
        metric = CoreMetric(
            key,
            value if type(value) is float else S.metric_value(value),
            timestamp if timestamp is not None else _now_ms(),
            step if step is not None else 0,
            model_id=model_id,
            dataset_name=dataset_name,
            dataset_digest=dataset_digest,
        )
        if not config.synchronous(synchronous):
            validation.validate_metric(metric.key, metric.value, metric.timestamp, metric.step)
            return self._writer().submit(run_id, (metric,))
        self.store.log_metric(run_id, metric)
        return None

    @translated
    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> RunOperations | None:
        tag = _tag(key, value)
        if not config.synchronous(synchronous):
            return self._submit(run_id, tags=(tag,))
        self.store.set_tag(run_id, tag)
        return None

    @translated
    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    @translated
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Any] = (),
        params: Sequence[Any] = (),
        tags: Sequence[Any] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log metrics, params and tags. Larger than one store batch (1000 metrics, 100 params,
        100 tags, 1000 in all), it is split as MLflow splits it; each part is atomic."""
        if not metrics and not params and not tags:
            return None
        core_metrics = [S.metric_to_core(m) for m in metrics]
        core_params = [_param(p.key, p.value) for p in params]
        core_tags = [_tag(t.key, t.value) for t in tags]
        sync = config.synchronous(synchronous)
        operations: list[RunOperations] = []
        for batch_metrics, batch_params, batch_tags in _split_batch(core_metrics, core_params, core_tags):
            if sync:
                self.store.log_batch(run_id, batch_metrics, batch_params, batch_tags)
            else:
                operations.append(self._submit(run_id, batch_metrics, batch_params, batch_tags))
        return None if sync else RunOperations.combine(operations)

    def _submit(
        self,
        run_id: str,
        metrics: Sequence[CoreMetric] = (),
        params: Sequence[CoreParam] = (),
        tags: Sequence[CoreRunTag] = (),
    ) -> RunOperations:
        # Bad input fails here, in the caller's frame, rather than later in the background.
        validation.validate_log_batch(
            [(m.key, m.value, m.timestamp, m.step) for m in metrics],
            [(p.key, p.value) for p in params],
            [(t.key, t.value) for t in tags],
        )
        return self._writer().submit(run_id, metrics, params, tags)

    def _writer(self) -> async_logging.AsyncLogger:
        if self._async_writer is None:
            self._async_writer = async_logging.async_logger(self._tracking_uri, self.store)
        return self._async_writer

    @translated
    def get_metric_history(self, run_id: str, key: str) -> list[E.Metric]:
        """Every point of the metric, ordered by (timestamp, step, value); [] for an unknown key."""
        points: list[E.Metric] = []
        token: str | None = None
        while True:
            page = self.store.get_metric_history(run_id, key, max_results=None, page_token=token)
            points.extend(S.metric_from_core(m, E.SHAPES) for m in page.items)
            token = page.next_page_token
            if token is None:
                return points

    @translated
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[Any] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        self.store.log_inputs(
            run_id,
            [S.dataset_input_to_core(d) for d in datasets or ()],
            [S.logged_model_input_to_core(m) for m in models or ()],
        )

    @translated
    def log_outputs(self, run_id: str, models: list[Any]) -> None:
        self.store.log_outputs(run_id, [S.logged_model_output_to_core(m) for m in models])

    @translated
    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        run_view_type: int = E.ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> E.PagedList:
        """One page of runs of the experiments matching the filter. Order: the ``order_by``
        entries, then start time DESC, then run id. ``.token`` continues, None on the last page."""
        page = self.store.search_runs(
            S.experiment_ids_to_core(experiment_ids),
            filter=parse_filter(SearchKind.RUNS, filter_string),
            run_view_type=S.view_type_to_core(run_view_type),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.RUNS, order_by),
            page_token=page_token,
        )
        return E.PagedList([S.run_from_core(r, E.SHAPES) for r in page.items], page.next_page_token)

    # --- logged models (MLflow 3) ----------------------------------------------------------------

    @translated
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
    ) -> E.LoggedModel:
        model = self.store.create_logged_model(
            str(experiment_id),
            name=name,
            source_run_id=source_run_id,
            tags=[LoggedModelTag(k, str(v)) for k, v in (tags or {}).items()],
            params=[LoggedModelParameter(k, str(v)) for k, v in (params or {}).items()],
            model_type=model_type,
        )
        return S.logged_model_from_core(model, E.SHAPES)

    @translated
    def get_logged_model(self, model_id: str) -> E.LoggedModel:
        return S.logged_model_from_core(self.store.get_logged_model(checked_model_id(model_id)), E.SHAPES)

    @translated
    def finalize_logged_model(self, model_id: str, status: Any) -> E.LoggedModel:
        model = self.store.finalize_logged_model(model_id, S.logged_model_status_to_core(status))
        return S.logged_model_from_core(model, E.SHAPES)

    @translated
    def delete_logged_model(self, model_id: str) -> None:
        self.store.delete_logged_model(model_id)

    @translated
    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self.store.set_logged_model_tags(model_id, [LoggedModelTag(k, str(v)) for k, v in tags.items()])

    @translated
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.store.delete_logged_model_tag(model_id, key)

    @translated
    def log_model_params(self, model_id: str, params: dict[str, str]) -> None:
        self.store.log_logged_model_params(
            model_id, [LoggedModelParameter(k, str(v)) for k, v in params.items()]
        )

    @translated
    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> E.PagedList:
        page = self.store.search_logged_models(
            S.experiment_ids_to_core(experiment_ids),
            filter=parse_filter(SearchKind.LOGGED_MODELS, filter_string),
            datasets=S.dataset_refs_to_core(datasets),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.LOGGED_MODELS, S.logged_model_order_by_to_core(order_by)),
            page_token=page_token,
        )
        return E.PagedList([S.logged_model_from_core(m, E.SHAPES) for m in page.items], page.next_page_token)

    # --- traces (MLflow 3) ------------------------------------------------------------------------

    @property
    def _traces(self) -> TraceStore:
        # Every tracking store of this project implements the tracing port too.
        return cast("TraceStore", self.store)

    @translated
    def get_trace(self, trace_id: str, display: bool = True, flush: bool = False) -> T.Trace:
        """The trace with its spans. RESOURCE_DOES_NOT_EXIST for an unknown id. ``display`` and
        ``flush`` change nothing (no notebook display; traces are written synchronously)."""
        return S.trace_from_core(self._traces.get_trace(trace_id), E.SHAPES)

    @translated
    def search_traces(
        self,
        experiment_ids: list[str] | None = None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        run_id: str | None = None,
        include_spans: bool = True,
        model_id: str | None = None,
        locations: list[str] | None = None,
        flush: bool = False,
    ) -> E.PagedList:
        """Up to ``max_results`` traces of the experiments (``locations`` or ``experiment_ids``)
        matching the filter; ``.token`` continues, None on the last page. Default order: request
        time DESC, then trace id. ``run_id`` keeps the traces of that run (its experiment must be
        searched), ``model_id`` those of that logged model (not with ``filter_string``)."""
        for name, value in (("experiment_ids", experiment_ids), ("locations", locations)):
            if value is not None and not isinstance(value, list):
                raise InvalidParameterValue(f"Parameter {name} must be a list, got {type(value).__name__}")
        ids = [str(e) for e in (locations if locations is not None else experiment_ids or [])]
        if not ids:
            raise InvalidParameterValue("Either `locations` or `experiment_ids` must be specified.")
        if model_id is not None:
            if filter_string:
                raise InvalidParameterValue(
                    "Cannot specify both `model_id` or `filter_string` in the search_traces call."
                )
            filter_string = f"metadata.`mlflow.modelId` = '{model_id}'"
        if run_id:
            run = self.store.get_run(run_id)
            if run.info.experiment_id not in ids:
                raise InvalidParameterValue(
                    f"Run {run_id} belongs to experiment {run.info.experiment_id}, which is not in the"
                    f" list of locations provided: {ids}. Please include experiment"
                    f" {run.info.experiment_id} in the `locations` parameter to search for traces"
                    " from this run."
                )
            run_filter = f"attribute.run_id = '{run_id}'"
            if filter_string:
                if "mlflow.sourceRun" in filter_string:
                    raise InvalidParameterValue(
                        "You cannot filter by run_id when it is already part of the filter string."
                        "Please remove the mlflow.sourceRun filter from the filter string and try again."
                    )
                filter_string = f"{filter_string} AND {run_filter}"
            else:
                filter_string = run_filter
        filter_ = parse_filter(SearchKind.TRACES, filter_string)
        clauses = parse_order_by(SearchKind.TRACES, order_by)
        traces: list[T.Trace] = []
        token = page_token
        while len(traces) < max_results:
            page = self._traces.search_traces(
                ids, filter=filter_, max_results=max_results - len(traces), order_by=clauses, page_token=token
            )
            if include_spans:
                found = {
                    t.info.trace_id: t
                    for t in self._traces.batch_get_traces([i.trace_id for i in page.items])
                }
                traces.extend(
                    S.trace_from_core(found[i.trace_id], E.SHAPES) for i in page.items if i.trace_id in found
                )
            else:
                traces.extend(
                    T.Trace(S.trace_info_from_core(i, E.SHAPES), T.TraceData([])) for i in page.items
                )
            token = page.next_page_token
            if not token:
                break
        return E.PagedList(traces, token)

    @translated
    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set a tag on a trace, in progress or stored (values over 8000 characters truncated).
        MLflow's immutable trace tags are refused with a warning."""
        if not isinstance(value, str):
            _logger.warning(
                "Received non-string value for trace tag. Please note that non-string tag values"
                "will automatically be stringified when the trace is logged."
            )
        if key in live_traces.IMMUTABLE_TAGS:
            _logger.warning("Tag '%s' is immutable and cannot be set on a trace.", key)
            return
        if live_traces.set_tag(trace_id, key, str(value)):
            return
        self._traces.set_trace_tag(trace_id, key, str(value)[:MAX_TRACE_TAG_VALUE_LENGTH])

    @translated
    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Delete a tag of a trace, in progress or stored. RESOURCE_DOES_NOT_EXIST for an unknown
        trace or tag."""
        if key in live_traces.IMMUTABLE_TAGS:
            _logger.warning("Tag '%s' is immutable and cannot be deleted on a trace.", key)
            return
        if live_traces.delete_tag(trace_id, key):
            return
        self._traces.delete_trace_tag(trace_id, key)

    @translated
    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: list[str] | None = None,
    ) -> int:
        """Delete traces of the experiment: ``trace_ids``, or those requested at or before
        ``max_timestamp_millis`` (the oldest first, at most ``max_traces``). Returns how many."""
        return self._traces.delete_traces(
            str(experiment_id),
            max_timestamp_millis=max_timestamp_millis,
            max_traces=max_traces,
            trace_ids=trace_ids,
        )

    # --- artifacts -------------------------------------------------------------------------------

    def _artifacts(self, run_id: str) -> ArtifactStore:
        return config.artifact_store(self.store.get_run(run_id).info.artifact_uri)

    @translated
    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a local file (or directory, as MLflow allows) under the run's artifacts."""
        store = self._artifacts(run_id)
        if os.path.isdir(local_path):
            name = os.path.basename(os.path.normpath(local_path))
            store.log_artifacts(local_path, join_artifact_path(artifact_path, name))
        else:
            store.log_artifact(local_path, artifact_path)

    @translated
    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        self._artifacts(run_id).log_artifacts(local_dir, artifact_path)

    @translated
    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        presentation.log_text(self._artifacts(run_id), text, artifact_file)

    @translated
    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        presentation.log_dict(self._artifacts(run_id), dictionary, artifact_file)

    @translated
    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
    ) -> None:
        if save_kwargs:
            with self._local_file(run_id, artifact_file) as tmp_path:
                figure.savefig(tmp_path, **save_kwargs)
            return
        presentation.log_figure(self._artifacts(run_id), figure, artifact_file)

    @translated
    def log_stream(self, run_id: str, stream: Any, artifact_file: str) -> None:
        """Write a readable binary stream (``io.BytesIO``, an open file ...) as one artifact file."""
        if not callable(getattr(stream, "read", None)) or isinstance(stream, io.TextIOBase):
            # Found before a byte is written: a text stream would fail mid-copy with a TypeError.
            raise InvalidParameterValue(
                f"log_stream takes a readable binary stream (io.BytesIO, a file opened with 'rb'),"
                f" got {type(stream).__name__}; log_text writes text"
            )
        self._artifacts(run_id).log_stream(stream, artifact_file)

    @translated
    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Write (or extend) a JSON table and list it in the ``mlflow.loggedArtifacts`` tag, as
        MLflow does so its UI shows the table."""
        check_table_file(artifact_file)
        presentation.log_table(self._artifacts(run_id), data, artifact_file)
        tags = self.store.get_run(run_id).data.tags_dict
        listed = json.loads(tags.get(context.MLFLOW_LOGGED_ARTIFACTS, "[]"))
        entry = {"path": artifact_file, "type": "table"}
        if entry not in listed:
            listed.append(entry)
            self.store.set_tag(run_id, CoreRunTag(context.MLFLOW_LOGGED_ARTIFACTS, json.dumps(listed)))

    @translated
    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Either a static image at ``artifact_file``, or (``key``) one step of an image series
        in MLflow's layout (``images/<key>+step+<n>+timestamp+<ms>+<uuid>.png`` plus a small
        ``.webp``) that MLflow's UI shows as a chart."""
        if artifact_file is not None and any(a is not None for a in (key, step, timestamp)):
            raise TypeError(
                "The `artifact_file` parameter cannot be used in conjunction with `key`, `step`, or"
                " `timestamp` parameters."
            )
        if artifact_file is None and key is None:
            raise TypeError("Invalid arguments: Please specify exactly one of `artifact_file` or `key`.")
        if artifact_file is not None:
            presentation.log_image(self._artifacts(run_id), image, artifact_file)
            return
        assert key is not None
        if not _IMAGE_KEY.match(key):
            raise ValueError(
                "The `key` parameter may only contain alphanumerics, underscores (_), dashes (-),"
                f" periods (.), spaces ( ), and slashes (/). The provided key `{key}` contains"
                " invalid characters."
            )
        base = (
            f"images/{key.replace('/', '~')}+step+{step or 0}+timestamp+{timestamp or _now_ms()}"
            f"+{uuid.uuid4()}"
        )
        presentation.log_image_step(self._artifacts(run_id), image, base)
        self.set_tag(run_id, MLFLOW_LOGGED_IMAGES, True)

    @contextmanager
    def _local_file(self, run_id: str, artifact_file: str) -> Iterator[str]:
        # Checked before the name reaches the local file system: "x/.." would name the
        # temporary directory's parent.
        directory, name = posixpath.split(artifact_path(artifact_file))
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = os.path.join(tmp, artifact_file_name(name))
            yield tmp_path
            self._artifacts(run_id).log_artifact(tmp_path, directory or None)

    @translated
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[E.FileInfo]:
        """Entries directly below ``path`` (the run's artifact root by default), ordered by path."""
        return [S.file_info_from_core(f, E.SHAPES) for f in self._artifacts(run_id).list_artifacts(path)]

    @translated
    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Download a file or directory of the run into ``dst_path`` (a new temporary directory
        by default) as ``dst_path/<last segment of path>`` (the whole run for ""), and return its
        local path. RESOURCE_DOES_NOT_EXIST if nothing is at ``path``."""
        return self._download(f"runs:/{run_id}/{path or ''}", dst_path)

    # --- registered models -----------------------------------------------------------------------

    @translated
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> E.RegisteredModel:
        """RESOURCE_ALREADY_EXISTS if the name is taken; INVALID_PARAMETER_VALUE for a bad name."""
        model_tags = [RegisteredModelTag(k, str(v)) for k, v in (tags or {}).items()]
        return S.registered_model_from_core(
            self.registry.create_registered_model(name, model_tags, description), E.SHAPES
        )

    @translated
    def rename_registered_model(self, name: str, new_name: str) -> None:
        """Rename the model (its versions follow). Returns None, as MLflow's client does."""
        self.registry.rename_registered_model(name, new_name)

    @translated
    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> E.RegisteredModel:
        return S.registered_model_from_core(
            self.registry.update_registered_model(name, description), E.SHAPES
        )

    @translated
    def delete_registered_model(self, name: str) -> None:
        self.registry.delete_registered_model(name)

    @translated
    def get_registered_model(self, name: str) -> E.RegisteredModel:
        return S.registered_model_from_core(self.registry.get_registered_model(name), E.SHAPES)

    @translated
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> E.PagedList:
        """One page of registered models (keys: name, tags); default order name ASC."""
        page = self.registry.search_registered_models(
            filter=parse_filter(SearchKind.REGISTERED_MODELS, filter_string),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.REGISTERED_MODELS, order_by),
            page_token=page_token,
        )
        return E.PagedList(
            [S.registered_model_from_core(m, E.SHAPES) for m in page.items], page.next_page_token
        )

    @translated
    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[E.ModelVersion]:
        return [
            S.model_version_from_core(v, E.SHAPES) for v in self.registry.get_latest_versions(name, stages)
        ]

    @translated
    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.registry.set_registered_model_tag(name, RegisteredModelTag(key, str(value)))

    @translated
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry.delete_registered_model_tag(name, key)

    # --- model versions --------------------------------------------------------------------------

    @translated
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> E.ModelVersion:
        """The next version of the model (READY at once: there is no asynchronous registration).
        The source is stored as given; ``runs:/`` and ``models:/`` sources resolve on download."""
        version_tags = [ModelVersionTag(k, str(v)) for k, v in (tags or {}).items()]
        version = self.registry.create_model_version(
            name,
            source,
            run_id=run_id,
            tags=version_tags,
            run_link=run_link,
            description=description,
            user_id=None,
            model_id=model_id,
        )
        return S.model_version_from_core(version, E.SHAPES)

    @translated
    def update_model_version(self, name: str, version: str, description: str | None = None) -> E.ModelVersion:
        return S.model_version_from_core(
            self.registry.update_model_version(name, _version(name, version), description), E.SHAPES
        )

    @translated
    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> E.ModelVersion:
        """Move the version to None/Staging/Production/Archived (any case); with
        ``archive_existing_versions`` the others in that stage move to Archived."""
        moved = self.registry.transition_model_version_stage(
            name, _version(name, version), stage, archive_existing_versions
        )
        return S.model_version_from_core(moved, E.SHAPES)

    @translated
    def delete_model_version(self, name: str, version: str) -> None:
        self.registry.delete_model_version(name, _version(name, version))

    @translated
    def get_model_version(self, name: str, version: str) -> E.ModelVersion:
        return S.model_version_from_core(
            self.registry.get_model_version(name, _version(name, version)), E.SHAPES
        )

    @translated
    def get_model_version_download_uri(self, name: str, version: str) -> str:
        return self.registry.get_model_version_download_uri(name, _version(name, version))

    @translated
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> E.PagedList:
        page = self.registry.search_model_versions(
            filter=parse_filter(SearchKind.MODEL_VERSIONS, filter_string),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.MODEL_VERSIONS, order_by),
            page_token=page_token,
        )
        return E.PagedList([S.model_version_from_core(v, E.SHAPES) for v in page.items], page.next_page_token)

    @translated
    def set_model_version_tag(
        self,
        name: str,
        version: str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        # The key is checked first, as MLflow does: a missing key is the caller's mistake
        # whatever the version (and never a tag named "None").
        checked = validation.validate_key(key, what="tag")
        number = self._version_or_stage(name, version, stage)
        self.registry.set_model_version_tag(name, number, ModelVersionTag(checked, str(value)))

    @translated
    def delete_model_version_tag(
        self, name: str, version: str | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        checked = validation.validate_key(key, what="tag")
        self.registry.delete_model_version_tag(name, self._version_or_stage(name, version, stage), checked)

    def _version_or_stage(self, name: str, version: Any, stage: str | None) -> int:
        if (version is None) == (stage is None):
            raise InvalidParameterValue(
                "version and stage cannot be set together" if version else "version must be set"
            )
        if version is not None:
            return _version(name, version)
        latest = self.registry.get_latest_versions(name, [str(stage)])
        if not latest:
            raise ResourceDoesNotExist(f"Could not find any model version for {stage} stage")
        return latest[-1].version

    @translated
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.registry.set_registered_model_alias(name, alias, _version(name, version))

    @translated
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry.delete_registered_model_alias(name, alias)

    @translated
    def get_model_version_by_alias(self, name: str, alias: str) -> E.ModelVersion:
        return S.model_version_from_core(self.registry.get_model_version_by_alias(name, alias), E.SHAPES)

    @translated
    def copy_model_version(self, src_model_uri: str, dst_name: str) -> E.ModelVersion:
        """Register the version a ``models:/`` URI names as a new version of ``dst_name``
        (created when missing) whose source is ``models:/<name>/<version>`` of the original."""
        parsed = parse_models_uri(src_model_uri)
        if parsed.model_id is not None:
            raise InvalidParameterValue(
                f"{src_model_uri} names a logged model, not a registered model version: register it"
                " with create_model_version instead."
            )
        source = self._model_version(parsed)
        try:
            self.registry.create_registered_model(dst_name)
        except Exception as error:  # an existing destination is fine
            if getattr(error, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                raise
        copied = self.registry.create_model_version(
            dst_name,
            f"models:/{source.name}/{source.version}",  # as MLflow: the copy points at the original
            run_id=source.run_id,
            tags=source.tags,
            run_link=source.run_link,
            description=source.description,
            model_id=source.model_id,
        )
        return S.model_version_from_core(copied, E.SHAPES)

    # --- URIs ------------------------------------------------------------------------------------

    def _model_version(self, uri: ModelUri) -> Any:
        assert uri.name is not None
        if uri.alias is not None:
            return self.registry.get_model_version_by_alias(uri.name, uri.alias)
        if uri.version is not None:
            return self.registry.get_model_version(uri.name, uri.version)
        stage = uri.stage or "latest"
        # MLflow raises these two without an error code: its users see INTERNAL_ERROR.
        if stage.lower() == "latest":
            versions = self.registry.get_latest_versions(uri.name, None)
            if not versions:
                raise InternalError(f"No versions of model with name '{uri.name}' and stage 'latest' found")
            return max(versions, key=lambda v: v.version)
        versions = self.registry.get_latest_versions(uri.name, [stage])
        if not versions:
            raise InternalError(f"No versions of model with name '{uri.name}' and stage '{stage}' found")
        return versions[-1]

    def _location(self, uri: str) -> ArtifactLocation:
        """Where a ``runs:/`` or ``models:/`` URI points; any other URI is split into its parent
        (the root the user named) and last segment, as MLflow downloads it."""
        if uri.startswith("runs:"):
            run_id, path = parse_runs_uri(uri)
            return ArtifactLocation(str(self.store.get_run(run_id).info.artifact_uri), path)
        if uri.startswith("models:"):
            parsed = parse_models_uri(uri)
            if parsed.model_id is not None:
                model = self.store.get_logged_model(parsed.model_id)
                return ArtifactLocation(model.artifact_location, parsed.path)
            version = self._model_version(parsed)
            source = version.source or ""
            if source.startswith(("runs:", "models:")):
                # The model is a folder of another root: stay on that root rather than building a
                # store on the folder, so a link planted there cannot lead reads out of it.
                inner = self._location(source)
                below = join_artifact_path(inner.path, parsed.path)
                return ArtifactLocation(inner.root, below, base=inner.path, version=version)
            return ArtifactLocation(source, parsed.path, version=version)
        stripped = uri.rstrip("/")
        parent, leaf = posixpath.split(stripped)
        return ArtifactLocation(parent, leaf) if leaf else ArtifactLocation(stripped)

    @translated
    def resolve_artifact_uri(self, uri: str) -> str:
        """Where a ``runs:/<run id>/<path>``, ``models:/<name>/<version|stage|latest>[/<path>]``,
        ``models:/<name>@<alias>[/<path>]`` or ``models:/<logged model id>`` URI points in
        artifact storage; other URIs unchanged. RESOURCE_DOES_NOT_EXIST for an unknown run,
        model, version or alias; INVALID_PARAMETER_VALUE for an improper URI."""
        if not uri.startswith(("runs:", "models:")):
            return uri
        return self._location(uri).uri

    def _download(self, uri: str, dst_path: str | None) -> str:
        # MLflow's layout: a whole run or model lands directly in dst_path; anything below its
        # root lands as dst_path/<its last segment>.
        where = self._location(uri)
        store = config.artifact_store(where.root)
        whole = where.path == where.base
        if whole and uri.startswith("models:") and not _holds_files(store, where.path):
            # A model (registered version or logged model) whose source holds nothing cannot be
            # loaded: say so, as MLflow does, before a folder is made, since the files of a
            # dst_path the user named must not pass for the model's.
            raise ResourceDoesNotExist(
                f"No such artifact: {uri} points at {redact_uri(where.uri)}, which holds no files"
            )
        destination = dst_path if dst_path is not None else tempfile.mkdtemp()
        relative_to = where.path if whole else posixpath.dirname(where.path)
        try:
            local = store.download_artifacts(where.path, destination, relative_to=relative_to)
        except ResourceDoesNotExist:
            if dst_path is None:
                os.rmdir(destination)  # the store wrote nothing into it
            raise
        # MLflow marks a downloaded *model* (a directory with an MLmodel file) with its name.
        if whole and where.version is not None and os.path.isfile(os.path.join(local, "MLmodel")):
            from_alias = parse_models_uri(uri).alias is not None
            _write_registered_model_meta(destination, where.version, from_alias)
        return local

    def _list(self, uri: str) -> list[E.FileInfo]:
        where = self._location(uri)
        if not uri.startswith(("runs:", "models:")):  # a plain location lists its own entries
            where = ArtifactLocation(where.uri)
        listed = config.artifact_store(where.root).list_artifacts(where.path or None)
        # Paths relative to the run's or the model's own root, as MLflow gives them.
        return [S.file_info_from_core(evolve(f, path=where.below_base(f.path)), E.SHAPES) for f in listed]


def _holds_files(store: Any, path: str) -> bool:
    """Whether ``path`` below the store's root is a file or a folder holding something."""
    try:
        if store.list_artifacts(path or None):
            return True
        siblings = store.list_artifacts(posixpath.dirname(path) or None) if path else ()
        return any(f.path == path and not f.is_dir for f in siblings)
    except ResourceDoesNotExist:
        return False


def _write_registered_model_meta(directory: str, version: Any, from_alias: bool) -> None:
    """MLflow's ``registered_model_meta`` file, written beside a downloaded registered model.
    Its YAML has the version quoted ('1') except when the URI named an alias."""
    number = str(version.version) if from_alias else f"'{version.version}'"
    name = version.name
    if not all(ch.isalnum() or ch in "_-." for ch in name) or name[:1] in "-." or name.lower() in _YAML_WORDS:
        name = json.dumps(name)  # a JSON string is a valid YAML scalar
    with open(os.path.join(directory, "registered_model_meta"), "w", encoding="utf-8") as handle:
        handle.write(f"model_name: {name}\nmodel_version: {number}\n")


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", ""}


_PARAM_VALIDATION_MSG = """

The cause of this error is typically due to repeated calls
to an individual run_id event logging.

Incorrect Example:
---------------------------------------
with mlflow.start_run():
    mlflow.log_param("depth", 3)
    mlflow.log_param("depth", 5)
---------------------------------------

Which will throw an MlflowException for overwriting a
logged parameter.

Correct Example:
---------------------------------------
with mlflow.start_run():
    with mlflow.start_run(nested=True):
        mlflow.log_param("depth", 3)
    with mlflow.start_run(nested=True):
        mlflow.log_param("depth", 5)
---------------------------------------

Which will create a new nested run for each individual
model and prevent parameter key collisions within the
tracking store."""


def _split_batch(
    metrics: Sequence[CoreMetric], params: Sequence[CoreParam], tags: Sequence[CoreRunTag]
) -> Iterator[tuple[Sequence[CoreMetric], Sequence[CoreParam], Sequence[CoreRunTag]]]:
    """MLflow's split: params and tags 100 at a time, topped up with metrics to 1000 entities,
    then the remaining metrics 1000 at a time."""
    remaining: Sequence[CoreMetric] = metrics
    param_chunks = _chunks(params, validation.MAX_PARAMS_TAGS_PER_BATCH)
    tag_chunks = _chunks(tags, validation.MAX_PARAMS_TAGS_PER_BATCH)
    for param_chunk, tag_chunk in zip_longest(param_chunks, tag_chunks, fillvalue=()):
        room = min(
            validation.MAX_ENTITIES_PER_BATCH - len(param_chunk) - len(tag_chunk),
            validation.MAX_METRICS_PER_BATCH,
        )
        room = max(room, 0)
        yield remaining[:room], param_chunk, tag_chunk
        remaining = remaining[room:]
    for metric_chunk in _chunks(remaining, validation.MAX_METRICS_PER_BATCH):
        yield metric_chunk, (), ()
