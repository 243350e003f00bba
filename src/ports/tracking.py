"""The tracking port: experiments, runs, metrics, params, tags, dataset inputs, logged models.

Semantics every adapter honours (the contract suite in tests/contract/ is their executable form):

* **Ids and times.** Experiment, run and logged-model ids are strings assigned by the store;
  experiment ids are the decimal text of an integer, as in MLflow's stores, and an experiment id
  argument that is no integer raises ``InvalidParameterValue`` with MLflow's message (text such
  as ``" 07"`` names experiment ``"7"``: ``genesis_flow.core.validation.experiment_id``). Times
  are integer milliseconds since the epoch, taken from the store's :class:`~.clock.Clock` unless
  the caller passes them.
* **Default experiment.** Every store has experiment ``"0"`` named ``"Default"``. It is deleted
  and restored like any other (as in MLflow's SQL store); while it is deleted, runs cannot be
  created in it.
* **Errors.** Unknown ids raise ``ResourceDoesNotExist`` (``RunNotFound``, ``ExperimentNotFound``,
  ``LoggedModelNotFound``). Bad input raises ``InvalidParameterValue`` and stores nothing. Writes to
  a deleted run or into a deleted experiment raise ``InvalidParameterValue``. Adapters translate
  every driver error into this hierarchy. An id, key or name to find something by whose text no backend can
  store (a lone surrogate or a NUL: ``genesis_flow.core.validation.validate_lookup``) raises
  ``InvalidParameterValue`` naming the parameter, never "not found" and never an empty result.
* **Validation.** Ports reject what MLflow's rules reject (``genesis_flow.core.validation``); they
  never truncate. Client-side conveniences (truncating, splitting batches) live in entry points.
* **Idempotency.** Logging a metric point identical to a stored one (key, value, timestamp, step;
  NaN equals NaN) stores it once, so a retry is safe. Logging a param with its stored value is a
  no-op; with a different value it raises ``InvalidParameterValue``. Setting a tag overwrites.
* **Paging.** ``max_results`` None means the kind's default (runs and experiments 1000, max 50000;
  logged models 100, max 50000); out of range raises ``InvalidParameterValue``. ``next_page_token``
  is None on the last page. A token is opaque and bound to its query: replaying it with another
  filter, order, view type or experiment set, or tampering with it, raises
  ``InvalidParameterValue``. Concatenating all pages gives the unpaged answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from genesis_flow.core.entities import (
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Page,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from genesis_flow.core.search.ast import Filter, OrderBy

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


@runtime_checkable
class TrackingStore(Protocol):
    """Persistence of experiments, runs and logged models. Thread-safe in every adapter."""

    # --- experiments ---------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Sequence[ExperimentTag] = (),
    ) -> str:
        """Create an active experiment and return its id.

        ``artifact_location`` defaults to ``<store artifact root>/<experiment id>``.

        Raises:
            InvalidParameterValue: empty or over-long name (500), bad tag, ``runs:`` location.
            ExperimentAlreadyExists: an experiment of that name exists, active *or deleted*.
        """
        ...

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment, active or deleted. Raises ExperimentNotFound."""
        ...

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment of that exact name, active or deleted, or None."""
        ...

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter: Filter = Filter(),
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """Experiments matching the filter (keys: name, tags, creation_time, last_update_time).

        Order (MLflow's): without ``order_by``, ``creation_time`` DESC then experiment id ASC;
        with it, the entries then experiment id DESC. Paging as in the module docstring.
        """
        ...

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Raises ExperimentNotFound; InvalidState if deleted (as MLflow); InvalidParameterValue
        for a bad name; ExperimentAlreadyExists if another experiment has the name (MLflow's
        SQL store leaks a driver error here). Renaming to its own name is a no-op."""
        ...

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark the experiment and all its runs deleted; the default experiment too (as MLflow's
        SQL store). Raises ExperimentNotFound, also when it is already deleted (as MLflow)."""
        ...

    def restore_experiment(self, experiment_id: str) -> None:
        """Make a deleted experiment and all its runs active again (as MLflow). Raises
        ExperimentNotFound, also when it is not deleted (as MLflow)."""
        ...

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        """Set or overwrite a tag. Raises ExperimentNotFound; InvalidParameterValue if deleted or
        the tag breaks the limits (key 250, value 20000)."""
        ...

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag. Raises ExperimentNotFound; InvalidParameterValue if deleted;
        ResourceDoesNotExist if the tag does not exist."""
        ...

    # --- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run. Its artifact URI is
        ``<experiment artifact location>/<run id>/artifacts``; ``start_time`` None takes the
        store's clock (MLflow's client always passes one; its store fails on None).

        ``run_name`` None or empty takes the ``mlflow.runName`` tag if given, else stays empty
        (generating names is a client convenience). A given ``run_name`` is also written as the
        ``mlflow.runName`` tag. A nested run carries ``mlflow.parentRunId`` in its tags.

        Raises:
            ExperimentNotFound: unknown experiment.
            InvalidParameterValue: deleted experiment, bad tag, or a run_name that contradicts
                the ``mlflow.runName`` tag.
        """
        ...

    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params, tags, inputs and outputs; deleted runs too.
        Raises RunNotFound."""
        ...

    def run_ids_with_prefix(self, prefix: str, limit: int) -> tuple[str, ...]:
        """Ids of the runs whose id starts with ``prefix`` (exact, case-sensitive), deleted runs
        included, in ascending id order, at most ``limit`` of them: what a caller needs to turn
        the short id it printed back into the run, or to list the candidates of an ambiguous
        prefix. An index on the run id serves it (a range scan, never a full scan). Raises
        InvalidParameterValue for an empty prefix or a ``limit`` below 1."""
        ...

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change status, end time and/or name (None, or an empty name, leaves a field as it is);
        a new name also rewrites the ``mlflow.runName`` tag. Raises RunNotFound; InvalidParameterValue if the
        run is deleted."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Mark the run deleted (idempotent). Raises RunNotFound."""
        ...

    def restore_run(self, run_id: str) -> None:
        """Make a deleted run active (idempotent). Raises RunNotFound."""
        ...

    def purge_deleted_runs(self, older_than_ms: int, *, dry_run: bool = False) -> list[RunInfo]:
        """Permanently remove the runs deleted at least ``older_than_ms`` ago (by the store's
        clock), with everything logged to them, as ``mlflow gc`` does; with ``dry_run`` only list
        them. A run deleted before the store recorded deletion times counts only when
        ``older_than_ms`` is 0. Returns the removed runs' infos (their ``artifact_uri`` is for the
        caller, which owns artifacts); logged models and datasets are kept."""
        ...

    def log_param(self, run_id: str, param: Param) -> None:
        """Store a param. Same value again: no-op. Different value: InvalidParameterValue and
        the stored value stays. Raises RunNotFound; InvalidParameterValue for a deleted run or a
        key/value beyond the limits (250 / 6000)."""
        ...

    def log_metric(self, run_id: str, metric: Metric) -> None:
        """Append a point to the metric's history and update the latest value: the greatest
        (step, timestamp, value), NaN comparing as 0 as in MLflow's SQL store, and winning a tie
        with 0 (so the order of arrival does not matter). An identical point is stored once. A
        metric with a ``model_id`` is also recorded on that logged model.
        Raises RunNotFound; InvalidParameterValue for a deleted run or a bad key/value/timestamp."""
        ...

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        """Set or overwrite a run tag; ``mlflow.runName`` also renames the run.
        Raises RunNotFound; InvalidParameterValue for a deleted run or limits (250 / 8000)."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Raises RunNotFound; InvalidParameterValue for a deleted run;
        ResourceDoesNotExist if the run has no such tag."""
        ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log many items atomically: everything is validated (limits: 1000 metrics, 100
        params, 100 tags, 1000 in all; no duplicate param keys; no change to a stored param)
        before anything is written, so a rejected batch stores nothing. Retrying a batch stores
        no duplicate metric point. Raises RunNotFound; InvalidParameterValue."""
        ...

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Metric]:
        """Every point of one metric, ordered by (timestamp, step, value) as MLflow orders it. An
        unknown key gives an empty page. ``max_results`` None returns all points in one page;
        0 returns an empty page without a next page token (as MLflow returns an empty list).
        Raises RunNotFound; InvalidParameterValue for a bad token or a negative max_results."""
        ...

    def metric_history_lengths(self, run_id: str) -> dict[str, int]:
        """The number of stored points of each metric of the run, key -> count: what
        ``get_metric_history`` would return for that key, counted without reading the points (an
        identical point is stored once, so it counts once). A run with no metrics gives {};
        deleted runs too. Raises RunNotFound."""
        ...

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[LoggedModelInput] = (),
    ) -> None:
        """Record dataset and model inputs. A dataset is stored once per experiment, identified
        by (name, digest); logging the same dataset input to a run twice keeps one input.
        Raises RunNotFound; InvalidParameterValue for a deleted run or bad dataset fields."""
        ...

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Link logged models as outputs of the run (idempotent).
        Raises RunNotFound; LoggedModelNotFound; InvalidParameterValue for a deleted run."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs of the given experiments that match the filter.

        Order: each ``order_by`` entry in turn (values in MLflow's order, then NaN, then runs
        lacking the key), then ``start_time`` DESC, then run id ASC. Unknown experiment ids
        match nothing. Paging as in the module docstring.
        """
        ...

    def search_datasets(self, experiment_ids: Sequence[str]) -> tuple[DatasetSummary, ...]:
        """Distinct (name, digest, context) of the dataset inputs of the experiments' runs,
        ordered by experiment id, name, digest, context."""
        ...

    # --- MLflow 3 logged models ------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[LoggedModelTag] = (),
        params: Sequence[LoggedModelParameter] = (),
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model with artifact location
        ``<experiment artifact location>/models/<model id>/artifacts``. A missing name gets a
        generated one. Raises ExperimentNotFound; InvalidParameterValue for a deleted
        experiment or a bad name."""
        ...

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Raises LoggedModelNotFound (also for a deleted model)."""
        ...

    def delete_logged_model(self, model_id: str) -> None:
        """Mark the model deleted; deleting it again is a no-op. Deleted models are hidden from
        ``get_logged_model`` and searches, but, as in MLflow, the other writes (finalize, tags,
        params) still reach them. Raises LoggedModelNotFound for an unknown id."""
        ...

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set READY or FAILED. Raises LoggedModelNotFound."""
        ...

    def set_logged_model_tags(self, model_id: str, tags: Sequence[LoggedModelTag]) -> None:
        """Raises LoggedModelNotFound; InvalidParameterValue for a bad tag."""
        ...

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Raises LoggedModelNotFound; ResourceDoesNotExist if there is no such tag."""
        ...

    def log_logged_model_params(self, model_id: str, params: Sequence[LoggedModelParameter]) -> None:
        """Raises LoggedModelNotFound; InvalidParameterValue for a bad param."""
        ...

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        datasets: Sequence[DatasetRef] = (),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        """Active logged models of the experiments matching the filter (attributes name,
        model_id, model_type, status, source_run_id, creation_timestamp,
        last_updated_timestamp; ``metrics.``, ``params.``, ``tags.``). ``datasets`` restricts
        metric comparisons to metrics logged on those datasets; as in MLflow, a metric
        comparison holds when any logged point satisfies it, while ordering uses the latest
        value. Order: the ``order_by`` entries, then creation_timestamp DESC, then model id ASC.
        ``max_results`` defaults to 100 (MLflow has no ceiling; ours is 50000)."""
        ...

    # --- import (migration) ----------------------------------------------------------------------

    def import_experiment(self, experiment: Experiment) -> None:
        """Write an experiment with its original id, name, times, lifecycle and tags.
        Raises ExperimentAlreadyExists when the id or the name is taken (the default experiment
        ``"0"`` may be imported over: its name, times, location and tags are replaced)."""
        ...

    def import_run(self, run: Run, metric_history: Sequence[Metric]) -> None:
        """Write a run with its original id, times, status, lifecycle, params, tags and inputs,
        and the full metric history (the latest values are recomputed from it; run.data.metrics
        is ignored). Raises ExperimentNotFound; ResourceAlreadyExists when the run id exists."""
        ...
