"""Tracking entities: experiments, runs, metrics, params, tags, datasets, logged models.

All entities are frozen attrs classes. Collections are tuples in canonical order (sorted by key,
or by the order the rule below names), so two backends that store the same thing produce equal
objects. Serialization lives in the adapters (``from_row`` / ``from_document``), never here.
Times are integer milliseconds since the epoch; ids are strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from attrs import evolve, field, frozen

from genesis_flow.core.errors import (
    ExperimentAlreadyExists,
    ExperimentNotFound,
    InvalidParameterValue,
    InvalidState,
    LoggedModelNotFound,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    RunNotFound,
)
from genesis_flow.core.validation import as_double, as_long

T = TypeVar("T")


class LifecycleStage(str, Enum):
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(Enum):
    """Which lifecycle stages a search sees (MLflow's ``ViewType``)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    def admits(self, stage: LifecycleStage) -> bool:
        if self is ViewType.ALL:
            return True
        if self is ViewType.ACTIVE_ONLY:
            return stage is LifecycleStage.ACTIVE
        return stage is LifecycleStage.DELETED

    def stage_values(self) -> list[str]:
        """The stored values of the lifecycle stages this view admits (for a query's IN list)."""
        return [s.value for s in LifecycleStage if self.admits(s)]


class RunStatus(str, Enum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)

    @classmethod
    def parse(cls, value: str | RunStatus) -> RunStatus:
        if isinstance(value, RunStatus):
            return value
        try:
            return cls(str(value).upper())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise InvalidParameterValue(f"Invalid run status {value!r}; expected one of {allowed}") from None


def _sorted_by_key(items: Iterable[Any]) -> tuple[Any, ...]:
    # Idempotent (attrs.evolve re-runs converters): sorting a sorted tuple changes nothing.
    return tuple(sorted(items, key=lambda item: item.key))


def _nan_aware(value: float) -> Any:
    # NaN != NaN would make two equal runs compare unequal; compare NaN as one value.
    return ("nan",) if isinstance(value, float) and math.isnan(value) else value


@frozen
class Page(Generic[T]):
    """One page of a search. ``next_page_token`` is None on the last page."""

    items: tuple[T, ...]
    next_page_token: str | None = None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


# --- experiments -------------------------------------------------------------------------------


@frozen
class ExperimentTag:
    key: str
    value: str


@frozen
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: tuple[ExperimentTag, ...] = field(default=(), converter=_sorted_by_key)

    @property
    def tags_dict(self) -> dict[str, str]:
        return {t.key: t.value for t in self.tags}


# --- runs --------------------------------------------------------------------------------------


@frozen
class Param:
    key: str
    value: str


@frozen
class RunTag:
    key: str
    value: str


@frozen
class Metric:
    """One metric point. NaN and +/-inf are valid values, as in MLflow.

    Two points are the same point when key, value (NaN equals NaN), timestamp and step agree;
    stores keep such a point once (see ``TrackingStore.log_metric``).
    """

    key: str
    # Numbers MLflow accepts (numpy scalars, integral floats such as 1e15, bools as steps) are
    # normalised here, once, so every adapter stores a float value and int timestamp and step;
    # what cannot be normalised stays as given for validation to refuse with MLflow's message.
    value: float = field(eq=_nan_aware, converter=as_double)
    timestamp: int = field(converter=as_long)
    step: int = field(default=0, converter=as_long)
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes two points the same point (the dedup key)."""
        return (self.key, _nan_aware(self.value), self.timestamp, self.step)


def is_newer_metric(candidate: Metric, current: Metric) -> bool:
    """MLflow's latest-value rule: the greatest (step, timestamp, value) wins.

    MLflow's SQL store compares NaN as 0 (it stores NaN as value 0 plus an ``is_nan`` flag);
    we do the same, and break the remaining tie (NaN against a real 0) in favour of NaN so the
    result does not depend on the order the points arrived in.
    """
    return metric_order_key(candidate) > metric_order_key(current)


def metric_order_key(m: Metric) -> tuple[int, int, float, int]:
    """(step, timestamp, value with NaN as 0, is_nan): the latest-value order."""
    is_nan = math.isnan(m.value)
    return (m.step, m.timestamp, 0.0 if is_nan else m.value, 1 if is_nan else 0)


def metric_history_key(m: Metric) -> tuple[int, int, float, int]:
    """(timestamp, step, value with NaN as 0, is_nan): MLflow's metric-history order."""
    is_nan = math.isnan(m.value)
    return (m.timestamp, m.step, 0.0 if is_nan else m.value, 1 if is_nan else 0)


@frozen
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE


@frozen
class RunData:
    """Latest metric value per key, params and tags; each tuple sorted by key."""

    metrics: tuple[Metric, ...] = field(default=(), converter=_sorted_by_key)
    params: tuple[Param, ...] = field(default=(), converter=_sorted_by_key)
    tags: tuple[RunTag, ...] = field(default=(), converter=_sorted_by_key)

    @property
    def metrics_dict(self) -> dict[str, float]:
        return {m.key: m.value for m in self.metrics}

    @property
    def params_dict(self) -> dict[str, str]:
        return {p.key: p.value for p in self.params}

    @property
    def tags_dict(self) -> dict[str, str]:
        return {t.key: t.value for t in self.tags}


@frozen
class Dataset:
    """A dataset as MLflow tracks it; (name, digest) identifies it within an experiment."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@frozen
class InputTag:
    key: str
    value: str


@frozen
class DatasetInput:
    dataset: Dataset
    tags: tuple[InputTag, ...] = field(default=(), converter=_sorted_by_key)

    @property
    def context(self) -> str | None:
        for tag in self.tags:
            if tag.key == DATASET_CONTEXT_TAG:
                return tag.value
        return None


DATASET_CONTEXT_TAG = "mlflow.data.context"


@frozen
class LoggedModelInput:
    model_id: str


@frozen
class LoggedModelOutput:
    model_id: str
    step: int = field(default=0, converter=as_long)


def _dataset_inputs(items: Iterable[DatasetInput]) -> tuple[DatasetInput, ...]:
    return tuple(items)


def _sorted_model_inputs(items: Iterable[LoggedModelInput]) -> tuple[LoggedModelInput, ...]:
    return tuple(sorted(items, key=lambda m: m.model_id))


def _sorted_model_outputs(items: Iterable[LoggedModelOutput]) -> tuple[LoggedModelOutput, ...]:
    return tuple(sorted(items, key=lambda m: (m.model_id, m.step)))


@frozen
class RunInputs:
    """Dataset inputs in the order they were first logged to the run (MLflow's order); model
    inputs sorted by model id."""

    dataset_inputs: tuple[DatasetInput, ...] = field(default=(), converter=_dataset_inputs)
    model_inputs: tuple[LoggedModelInput, ...] = field(default=(), converter=_sorted_model_inputs)


@frozen
class RunOutputs:
    model_outputs: tuple[LoggedModelOutput, ...] = field(default=(), converter=_sorted_model_outputs)


@frozen
class Run:
    info: RunInfo
    data: RunData = RunData()
    inputs: RunInputs = RunInputs()
    outputs: RunOutputs = RunOutputs()

    @property
    def run_id(self) -> str:
        return self.info.run_id


@frozen
class DatasetSummary:
    """One row of ``search_datasets``: a dataset used by runs of an experiment, per context."""

    experiment_id: str
    name: str
    digest: str
    context: str | None = None


# --- MLflow 3 logged models --------------------------------------------------------------------


class LoggedModelStatus(str, Enum):
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    @classmethod
    def parse(cls, value: str | LoggedModelStatus) -> LoggedModelStatus:
        if isinstance(value, LoggedModelStatus):
            return value
        try:
            return cls(str(value).upper())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise InvalidParameterValue(
                f"Invalid logged model status {value!r}; expected one of {allowed}"
            ) from None


@frozen
class LoggedModelTag:
    key: str
    value: str


@frozen
class LoggedModelParameter:
    key: str
    value: str


@frozen
class ModelMetric(Metric):
    """A metric point as a logged model lists it: with the run that logged it, which MLflow
    shows on a model's metrics. A run's own points carry no run id: the run holds them."""

    run_id: str | None = None

    @classmethod
    def of(cls, metric: Metric, run_id: str | None) -> ModelMetric:
        return cls(
            metric.key,
            metric.value,
            metric.timestamp,
            metric.step,
            metric.model_id,
            metric.dataset_name,
            metric.dataset_digest,
            run_id,
        )


def _sorted_metrics(items: Iterable[ModelMetric]) -> tuple[ModelMetric, ...]:
    return tuple(sorted(items, key=lambda m: (m.key, m.step, m.timestamp, m.run_id or "", repr(m.value))))


@frozen
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    status_message: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    tags: tuple[LoggedModelTag, ...] = field(default=(), converter=_sorted_by_key)
    params: tuple[LoggedModelParameter, ...] = field(default=(), converter=_sorted_by_key)
    metrics: tuple[ModelMetric, ...] = field(default=(), converter=_sorted_metrics)

    @classmethod
    def new(
        cls,
        unique_id: str,
        experiment_id: str,
        experiment_location: str,
        now: int,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[LoggedModelTag] = (),
        params: Sequence[LoggedModelParameter] = (),
        model_type: str | None = None,
    ) -> LoggedModel:
        """The model ``create_logged_model`` makes in an experiment (its id and artifact
        location): id ``m-<unique_id>``, MLflow's artifact layout under the experiment's, a name
        derived from the id when none is given, one tag and one param per key (the last wins)."""
        model_id = f"m-{unique_id}"
        return cls(
            model_id=model_id,
            experiment_id=experiment_id,
            name=name or default_logged_model_name(model_id),
            artifact_location=logged_model_artifact_location(experiment_location, model_id),
            creation_timestamp=now,
            last_updated_timestamp=now,
            model_type=model_type,
            source_run_id=source_run_id,
            tags=tuple({t.key: LoggedModelTag(t.key, t.value) for t in tags}.values()),
            params=tuple({p.key: LoggedModelParameter(p.key, p.value) for p in params}.values()),
        )

    def finalize(self, status: LoggedModelStatus, now: int) -> LoggedModel:
        return evolve(self, status=status, last_updated_timestamp=now)


@frozen
class DatasetRef:
    """A dataset named in ``search_logged_models(datasets=...)``; digest None matches any digest."""

    name: str
    digest: str | None = None


@frozen
class FileInfo:
    """One entry of an artifact listing; ``path`` is relative to the listed root, '/'-separated."""

    path: str
    is_dir: bool
    file_size: int | None = None


# MLflow's messages for the tracking lookups, shared by every adapter.


def run_not_found(run_id: str) -> RunNotFound:
    return RunNotFound(f"Run with id={run_id} not found")


def run_not_active(run_id: str, stage: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"The run {run_id} must be in the 'active' state. Current state is {stage}.")


def experiment_not_found(experiment_id: str) -> ExperimentNotFound:
    return ExperimentNotFound(f"No Experiment with id={experiment_id} exists")


def experiment_not_active(experiment_id: str, stage: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
    )


def experiment_exists(name: str) -> ExperimentAlreadyExists:
    return ExperimentAlreadyExists(f"Experiment(name={name}) already exists.")


def logged_model_not_found(model_id: str) -> LoggedModelNotFound:
    return LoggedModelNotFound(f"Logged model with ID '{model_id}' not found.")


def experiment_id_exists(experiment_id: str) -> ExperimentAlreadyExists:
    return ExperimentAlreadyExists(f"Experiment with id={experiment_id} already exists.")


def experiment_not_renamable() -> InvalidState:
    return InvalidState("Cannot rename a non-active experiment.")


def experiment_tag_not_found(experiment_id: str, key: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No tag with name: {key} in experiment with id {experiment_id}")


def run_exists(run_id: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Run with id={run_id} already exists.")


def run_tag_not_found(run_id: str, key: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No tag with name: {key} in run with id {run_id}")


def logged_model_tag_not_found(model_id: str, key: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No tag with key {key!r} found for model with ID {model_id!r}.")


# Where a store puts what it creates (MLflow's layout under an experiment's artifact location).


def uri_with_path(uri: str, *segments: str) -> str:
    """``uri`` with ``segments`` appended to its path, '/'-separated, as MLflow's stores join
    artifact locations: before any query or fragment (``s3://b/root?creds=x`` gives
    ``s3://b/root/1?creds=x``: the query may hold a credential such as a SAS token, and it stays
    the URI's query), keeping a relative ``file:`` path relative; a ``uri`` without a scheme is a
    POSIX path, joined as it is.

    Raises:
        InvalidParameterValue: the query holds ``..`` (once decoded), which a store or proxy could
            read as part of the path; or the URI cannot be parsed. The message never quotes the
            URI, whose query may be a secret.
    """
    suffix = "/".join(segment.strip("/") for segment in segments)
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidParameterValue("Invalid artifact location: not a URI") from None
    if ".." in _fully_unquoted(parts.query):
        raise InvalidParameterValue("Invalid query string")
    if not parts.scheme:
        return _joined_path(uri, suffix)
    joined = parts._replace(path=_joined_path(parts.path, suffix))
    if parts.path.startswith("/"):
        return urlunsplit(joined)
    # urlunsplit would make a relative path absolute ("file:a" -> "file:///a/1"): spell the
    # scheme out and unsplit the rest.
    return f"{parts.scheme}:{urlunsplit(joined._replace(scheme=''))}"


def _joined_path(path: str, suffix: str) -> str:
    if not path or path.endswith("/"):
        return path + suffix
    return f"{path}/{suffix}"


def _fully_unquoted(text: str) -> str:
    # Decoded until stable (bounded): "%252e%252e" is ".." to a server that decodes twice.
    for _ in range(10):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def experiment_artifact_location(artifact_root: str, experiment_id: str) -> str:
    """Where an experiment created without an artifact location keeps its artifacts."""
    return uri_with_path(artifact_root, experiment_id)


def run_artifact_uri(experiment_location: str, run_id: str) -> str:
    return uri_with_path(experiment_location, run_id, "artifacts")


def logged_model_artifact_location(experiment_location: str, model_id: str) -> str:
    return uri_with_path(experiment_location, "models", model_id, "artifacts")


def default_logged_model_name(model_id: str) -> str:
    """The name of a logged model created without one. MLflow's store invents a random name; this
    one is derived from the ``m-<hex>`` id, so every store gives the same model the same name."""
    return f"model-{model_id[2:10]}"


def imported_deletion_time(info: RunInfo) -> int | None:
    """When an imported run was deleted, for ``purge_deleted_runs``: MLflow's stores do not
    export it, so a deleted run counts as deleted when it last changed (as MLflow's SQL store
    migrates old rows); None for a live run."""
    if info.lifecycle_stage is not LifecycleStage.DELETED:
        return None
    return info.end_time or info.start_time
