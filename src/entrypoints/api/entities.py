"""MLflow-shaped entities (``mlflow.entities`` of mlflow 3.17.2) and converters from and to the domain.

Users of ``import genesis_flow as mlflow`` read ``run.info.status == "RUNNING"``,
``run.data.metrics["loss"]``, ``version.aliases`` and so on, and build ``Metric(key, value,
timestamp, step)`` or ``Param("lr", "0.1")`` for ``log_batch``. The domain's frozen attrs entities
(tuples, enums) are the wrong shape for that, so this module mirrors MLflow's classes: same names,
constructor signatures, properties (read-only where MLflow's are), ``__eq__`` / ``__hash__``
semantics, ``__repr__``, ``__iter__`` (``dict(run.info)``) and ``to_dictionary()``. What is left
out: ``to_proto`` / ``from_proto`` (Genesis-Flow has no protobuf layer) and the Databricks-only
resolution of ``Experiment.trace_location`` from tags.

Conversions from and to the domain live in ``genesis_flow.entrypoints.shapes``, one body for
this mirror and for ``mlflow.entities``; :data:`SHAPES` names this module's classes for them.

This module never imports mlflow.
"""

from __future__ import annotations

import importlib
import pprint
import sys
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from functools import cached_property
from typing import Any, ClassVar, Protocol, TypeVar

from genesis_flow.entrypoints.api import trace_entities
from genesis_flow.entrypoints.api.exceptions import INVALID_PARAMETER_VALUE, mlflow_exception
from genesis_flow.entrypoints.shapes import Shapes

T = TypeVar("T")

DEFAULT_WORKSPACE_NAME = "default"
# MLflow hides this tag from RegisteredModel.tags: it marks a registered model that is a prompt.
IS_PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"


class _KeyValue(Protocol):
    """Anything with ``key`` and ``value``: our tags, MLflow's, or the domain's."""

    @property
    def key(self) -> str: ...

    @property
    def value(self) -> str: ...


def _workspace_name(workspace: str | None) -> str:
    # Our stores have one workspace; MLflow names it "default" when the store gives none.
    if workspace is not None and workspace.strip():
        return workspace.strip()
    return DEFAULT_WORKSPACE_NAME


# --- the common base -----------------------------------------------------------------------------

_PROPERTIES: dict[type, list[str]] = {}


class _MlflowObject:
    """MLflow's ``_MlflowObject``: iterating yields (property, value) pairs, so ``dict(entity)``
    works, and the repr is ``<Class: prop=value, ...>``."""

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for prop in self._properties():
            yield prop, getattr(self, prop)

    @classmethod
    def _get_properties_helper(cls) -> list[str]:
        # Only properties defined on the class itself, as MLflow does (it reads cls.__dict__).
        return sorted(p for p in cls.__dict__ if isinstance(getattr(cls, p), (property, cached_property)))

    @classmethod
    def _properties(cls) -> list[str]:
        # Cached per class: repr and dict() run this for every entity of a large search.
        props = _PROPERTIES.get(cls)
        if props is None:
            props = _PROPERTIES[cls] = cls._get_properties_helper()
        return props

    @classmethod
    def from_dictionary(cls, the_dict: dict[str, Any]) -> Any:
        """An instance from the dictionary's entries that name properties (others are ignored)."""
        filtered = {key: value for key, value in the_dict.items() if key in cls._properties()}
        return cls(**filtered)

    def __repr__(self) -> str:
        return _to_string(self)


_PRINTER = pprint.PrettyPrinter()


def _to_string(obj: Any) -> str:
    if isinstance(obj, _MlflowObject):
        return f"<{type(obj).__name__}: {', '.join(f'{key}={_to_string(value)}' for key, value in obj)}>"
    return _PRINTER.pformat(obj)


def _same_type_and_fields(self: object, other: object) -> bool:
    # MLflow's most common __eq__: same class and same private fields.
    return type(other) is type(self) and self.__dict__ == other.__dict__


# --- enums (MLflow's are plain classes of int constants, except LoggedModelStatus) ----------------


class ViewType:
    """Which lifecycle stages a search returns: ``ACTIVE_ONLY`` (1), ``DELETED_ONLY`` (2), ``ALL`` (3)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3
    _VIEW_TO_STRING: ClassVar[dict[int, str]] = {1: "active_only", 2: "deleted_only", 3: "all"}
    _STRING_TO_VIEW: ClassVar[dict[str, int]] = {v: k for k, v in _VIEW_TO_STRING.items()}

    @classmethod
    def from_string(cls, view_str: str) -> int:
        if view_str not in cls._STRING_TO_VIEW:
            raise mlflow_exception(
                f"Could not get valid view type corresponding to string {view_str}. "
                f"Valid view types are {list(cls._STRING_TO_VIEW.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return cls._STRING_TO_VIEW[view_str]

    @classmethod
    def to_string(cls, view_type: int) -> str:
        if view_type not in cls._VIEW_TO_STRING:
            raise mlflow_exception(
                f"Could not get valid view type corresponding to string {view_type}. "
                f"Valid view types are {list(cls._VIEW_TO_STRING.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return cls._VIEW_TO_STRING[view_type]


class RunStatus:
    """Run status: int constants (MLflow's proto numbers) and string conversions."""

    RUNNING = 1
    SCHEDULED = 2
    FINISHED = 3
    FAILED = 4
    KILLED = 5
    _STRING_TO_STATUS: ClassVar[dict[str, int]] = {
        "RUNNING": 1,
        "SCHEDULED": 2,
        "FINISHED": 3,
        "FAILED": 4,
        "KILLED": 5,
    }
    _STATUS_TO_STRING: ClassVar[dict[int, str]] = {v: k for k, v in _STRING_TO_STATUS.items()}
    _TERMINATED_STATUSES: ClassVar[set[int]] = {FINISHED, FAILED, KILLED}

    @staticmethod
    def from_string(status_str: str) -> int:
        if status_str not in RunStatus._STRING_TO_STATUS:
            raise mlflow_exception(
                f"Could not get run status corresponding to string {status_str}. Valid run "
                f"status strings: {list(RunStatus._STRING_TO_STATUS.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return RunStatus._STRING_TO_STATUS[status_str]

    @staticmethod
    def to_string(status: int) -> str:
        if status not in RunStatus._STATUS_TO_STRING:
            raise mlflow_exception(
                f"Could not get string corresponding to run status {status}. Valid run "
                f"statuses: {list(RunStatus._STATUS_TO_STRING.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return RunStatus._STATUS_TO_STRING[status]

    @staticmethod
    def is_terminated(status: int) -> bool:
        return status in RunStatus._TERMINATED_STATUSES

    @staticmethod
    def all_status() -> list[int]:
        return list(RunStatus._STATUS_TO_STRING.keys())


class SourceType:
    """Where a run came from: int constants and string conversions."""

    NOTEBOOK = 1
    JOB = 2
    PROJECT = 3
    LOCAL = 4
    UNKNOWN = 5
    _STRING_TO_SOURCETYPE: ClassVar[dict[str, int]] = {
        "NOTEBOOK": 1,
        "JOB": 2,
        "PROJECT": 3,
        "LOCAL": 4,
        "UNKNOWN": 5,
    }
    SOURCETYPE_TO_STRING: ClassVar[dict[int, str]] = {v: k for k, v in _STRING_TO_SOURCETYPE.items()}

    @staticmethod
    def from_string(status_str: str) -> int:
        if status_str not in SourceType._STRING_TO_SOURCETYPE:
            raise mlflow_exception(
                f"Could not get run status corresponding to string {status_str}. Valid run "
                f"status strings: {list(SourceType._STRING_TO_SOURCETYPE.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return SourceType._STRING_TO_SOURCETYPE[status_str]

    @staticmethod
    def to_string(status: int) -> str:
        if status not in SourceType.SOURCETYPE_TO_STRING:
            raise mlflow_exception(
                f"Could not get string corresponding to run status {status}. Valid run "
                f"statuses: {list(SourceType.SOURCETYPE_TO_STRING.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return SourceType.SOURCETYPE_TO_STRING[status]


class LifecycleStage:
    """Lifecycle stages of experiments, runs: the strings ``"active"`` and ``"deleted"``."""

    ACTIVE = "active"
    DELETED = "deleted"
    _VALID_STAGES: ClassVar[set[str]] = {ACTIVE, DELETED}

    @classmethod
    def view_type_to_stages(cls, view_type: int = ViewType.ALL) -> list[str]:
        stages = []
        if view_type in (ViewType.ACTIVE_ONLY, ViewType.ALL):
            stages.append(cls.ACTIVE)
        if view_type in (ViewType.DELETED_ONLY, ViewType.ALL):
            stages.append(cls.DELETED)
        return stages

    @classmethod
    def is_valid(cls, lifecycle_stage: str) -> bool:
        return lifecycle_stage in cls._VALID_STAGES

    @classmethod
    def matches_view_type(cls, view_type: int, lifecycle_stage: str) -> bool:
        if not cls.is_valid(lifecycle_stage):
            raise mlflow_exception(f"Invalid lifecycle stage '{lifecycle_stage}'")
        if view_type == ViewType.ALL:
            return True
        if view_type == ViewType.ACTIVE_ONLY:
            return lifecycle_stage == LifecycleStage.ACTIVE
        if view_type == ViewType.DELETED_ONLY:
            return lifecycle_stage == LifecycleStage.DELETED
        raise mlflow_exception(f"Invalid view type '{view_type}'")


class LoggedModelStatus(str, Enum):
    """Status of a logged model (a str enum, as in MLflow; ``str(status)`` is the value)."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return str(self.value)

    @staticmethod
    def is_finalized(status: Any) -> bool:
        """Whether no further status update will happen (READY or FAILED)."""
        return status in [LoggedModelStatus.READY, LoggedModelStatus.FAILED]

    @classmethod
    def from_int(cls, status_int: int) -> LoggedModelStatus:
        try:
            return _LOGGED_MODEL_STATUS_BY_INT[status_int]
        except (KeyError, TypeError):
            raise mlflow_exception(f"Unknown model status: {status_int}", INVALID_PARAMETER_VALUE) from None

    def to_int(self) -> int:
        return _LOGGED_MODEL_STATUS_TO_INT[self]


_LOGGED_MODEL_STATUS_BY_INT = dict(enumerate(LoggedModelStatus))
_LOGGED_MODEL_STATUS_TO_INT = {status: number for number, status in _LOGGED_MODEL_STATUS_BY_INT.items()}


class ModelVersionStatus:
    """Model version status: int constants (MLflow's proto numbers) and string conversions."""

    PENDING_REGISTRATION = 1
    FAILED_REGISTRATION = 2
    READY = 3
    _STRING_TO_STATUS: ClassVar[dict[str, int]] = {
        "PENDING_REGISTRATION": 1,
        "FAILED_REGISTRATION": 2,
        "READY": 3,
    }
    _STATUS_TO_STRING: ClassVar[dict[int, str]] = {v: k for k, v in _STRING_TO_STATUS.items()}

    @staticmethod
    def from_string(status_str: str) -> int:
        if status_str not in ModelVersionStatus._STRING_TO_STATUS:
            raise mlflow_exception(
                f"Could not get model version status corresponding to string {status_str}. "
                f"Valid status strings: {list(ModelVersionStatus._STRING_TO_STATUS.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return ModelVersionStatus._STRING_TO_STATUS[status_str]

    @staticmethod
    def to_string(status: int) -> str:
        if status not in ModelVersionStatus._STATUS_TO_STRING:
            raise mlflow_exception(
                f"Could not get string corresponding to model version status {status}. "
                f"Valid statuses: {list(ModelVersionStatus._STATUS_TO_STRING.keys())}",
                INVALID_PARAMETER_VALUE,
            )
        return ModelVersionStatus._STATUS_TO_STRING[status]

    @staticmethod
    def all_status() -> list[int]:
        return list(ModelVersionStatus._STATUS_TO_STRING.keys())


# --- experiments ---------------------------------------------------------------------------------


class ExperimentTag(_MlflowObject):
    """A tag of an experiment."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def key(self) -> str:
        """Name of the tag."""
        return self._key

    @property
    def value(self) -> str:
        """Value of the tag."""
        return self._value


class Experiment(_MlflowObject):
    """An experiment; ``tags`` is a dict, ``lifecycle_stage`` the string "active" or "deleted".

    Compared by identity, as MLflow's is (it defines no ``__eq__``).
    """

    DEFAULT_EXPERIMENT_NAME = "Default"

    def __init__(
        self,
        experiment_id: str,
        name: str,
        artifact_location: str,
        lifecycle_stage: str,
        tags: Iterable[_KeyValue] | None = None,
        creation_time: int | None = None,
        last_update_time: int | None = None,
        workspace: str | None = None,
        trace_location: Any = None,
        effective_trace_archival_retention: str | None = None,
    ) -> None:
        self._experiment_id = experiment_id
        self._name = name
        self._artifact_location = artifact_location
        self._lifecycle_stage = lifecycle_stage
        self._tags = {tag.key: tag.value for tag in (tags or [])}
        self._creation_time = creation_time
        self._last_update_time = last_update_time
        self._workspace = _workspace_name(workspace)
        self._trace_location = trace_location
        self._effective_trace_archival_retention = effective_trace_archival_retention

    @property
    def experiment_id(self) -> str:
        """String id of the experiment."""
        return self._experiment_id

    @property
    def name(self) -> str:
        """Name of the experiment."""
        return self._name

    def _set_name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def artifact_location(self) -> str:
        """Root artifact URI of the experiment."""
        return self._artifact_location

    @property
    def lifecycle_stage(self) -> str:
        """``"active"`` or ``"deleted"``."""
        return self._lifecycle_stage

    @property
    def tags(self) -> dict[str, str]:
        """Tags of the experiment, key -> value."""
        return self._tags

    def _add_tag(self, tag: _KeyValue) -> None:
        self._tags[tag.key] = tag.value

    @property
    def creation_time(self) -> int | None:
        return self._creation_time

    def _set_creation_time(self, creation_time: int | None) -> None:
        self._creation_time = creation_time

    @property
    def last_update_time(self) -> int | None:
        return self._last_update_time

    def _set_last_update_time(self, last_update_time: int | None) -> None:
        self._last_update_time = last_update_time

    @property
    def effective_trace_archival_retention(self) -> str | None:
        """Trace archival retention (a tracing feature our stores do not have: None)."""
        return self._effective_trace_archival_retention

    @effective_trace_archival_retention.setter
    def effective_trace_archival_retention(self, value: str | None) -> None:
        self._effective_trace_archival_retention = value

    @property
    def trace_location(self) -> Any:
        """Trace storage location. MLflow derives one from Databricks tags; we keep what was set."""
        return self._trace_location

    @trace_location.setter
    def trace_location(self, trace_location: Any) -> None:
        self._trace_location = trace_location

    @property
    def workspace(self) -> str:
        """Workspace of the experiment: "default" (our stores have one workspace)."""
        return self._workspace


# --- runs ----------------------------------------------------------------------------------------


class Metric(_MlflowObject):
    """One metric point; equal when every field is equal, hashable."""

    def __init__(
        self,
        key: str,
        value: float,
        timestamp: int,
        step: int,
        model_id: str | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        run_id: str | None = None,
    ) -> None:
        if (dataset_name is None) != (dataset_digest is None):
            raise mlflow_exception(
                "Both dataset_name and dataset_digest must be provided if one is provided",
                INVALID_PARAMETER_VALUE,
            )
        self._key = key
        self._value = value
        self._timestamp = timestamp
        self._step = step
        self._model_id = model_id
        self._dataset_name = dataset_name
        self._dataset_digest = dataset_digest
        self._run_id = run_id

    @property
    def key(self) -> str:
        """Name of the metric."""
        return self._key

    @property
    def value(self) -> float:
        """Value of the metric."""
        return self._value

    @property
    def timestamp(self) -> int:
        """Milliseconds since the Unix epoch."""
        return self._timestamp

    @property
    def step(self) -> int:
        """Integer step (x-coordinate)."""
        return self._step

    @property
    def model_id(self) -> str | None:
        """Logged model the metric belongs to, if any."""
        return self._model_id

    @property
    def dataset_name(self) -> str | None:
        return self._dataset_name

    @property
    def dataset_digest(self) -> str | None:
        return self._dataset_digest

    @property
    def run_id(self) -> str | None:
        return self._run_id

    def __eq__(self, other: object) -> bool:
        if isinstance(other, self.__class__):
            return self.__dict__ == other.__dict__
        return False

    def __hash__(self) -> int:
        return hash(
            (
                self._key,
                self._value,
                self._timestamp,
                self._step,
                self._model_id,
                self._dataset_name,
                self._dataset_digest,
                self._run_id,
            )
        )

    def to_dictionary(self) -> dict[str, Any]:
        """The metric's fields as a dict."""
        return {
            "key": self.key,
            "value": self.value,
            "timestamp": self.timestamp,
            "step": self.step,
            "model_id": self.model_id,
            "dataset_name": self.dataset_name,
            "dataset_digest": self.dataset_digest,
            "run_id": self._run_id,
        }

    @classmethod
    def from_dictionary(cls, metric_dict: dict[str, Any]) -> Metric:
        """A metric from ``to_dictionary()``'s shape; key, value, timestamp and step are required."""
        required_keys = ["key", "value", "timestamp", "step"]
        if missing_keys := [key for key in required_keys if key not in metric_dict]:
            raise mlflow_exception(
                f"Missing required keys {missing_keys} in metric dictionary", INVALID_PARAMETER_VALUE
            )
        return cls(**metric_dict)


def _spark_param_name(key: Any, value: Any) -> tuple[Any, Any]:
    # MLflow accepts a pyspark.ml Param as the key (its name; the value stringified). Only look
    # when pyspark.ml is loaded already: importing it ourselves would cost seconds.
    if "pyspark.ml" in sys.modules:
        spark_param = importlib.import_module("pyspark.ml.param")
        if isinstance(key, spark_param.Param):
            return key.name, str(value)
    return key, value


class Param(_MlflowObject):
    """A run parameter. Equality and hash use the key only, as in MLflow."""

    def __init__(self, key: str, value: str) -> None:
        key, value = _spark_param_name(key, value)
        self._key: str = key
        self._value: str = value

    @property
    def key(self) -> str:
        """Name of the parameter."""
        return self._key

    @property
    def value(self) -> str:
        """Value of the parameter (a string)."""
        return self._value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, self.__class__):
            return bool(self._key == other._key)
        return False

    def __hash__(self) -> int:
        return hash(self._key)


class RunTag(_MlflowObject):
    """A tag of a run."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def key(self) -> str:
        """Name of the tag."""
        return self._key

    @property
    def value(self) -> str:
        """Value of the tag."""
        return self._value


class RunInfo(_MlflowObject):
    """Run metadata; ``status`` and ``lifecycle_stage`` are strings ("RUNNING", "active")."""

    def __init__(
        self,
        run_id: str,
        experiment_id: str,
        user_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        lifecycle_stage: str,
        artifact_uri: str | None = None,
        run_name: str | None = None,
    ) -> None:
        for name, given in (
            ("experiment_id", experiment_id),
            ("user_id", user_id),
            ("status", status),
            ("start_time", start_time),
        ):
            if given is None:
                raise mlflow_exception(f"{name} cannot be None", INVALID_PARAMETER_VALUE)
        self._fill(run_id, experiment_id, user_id, status, start_time, end_time, lifecycle_stage)
        self._artifact_uri = artifact_uri
        self._run_name = run_name

    def _fill(
        self,
        run_id: str,
        experiment_id: str,
        user_id: str,
        status: str,
        start_time: int,
        end_time: int | None,
        lifecycle_stage: str,
    ) -> None:
        self._run_id = run_id
        self._experiment_id = experiment_id
        self._user_id = user_id
        self._status = status
        self._start_time = start_time
        self._end_time = end_time
        self._lifecycle_stage = lifecycle_stage

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def run_id(self) -> str:
        """Id of the run."""
        return self._run_id

    @property
    def experiment_id(self) -> str:
        """Id of the run's experiment."""
        return self._experiment_id

    @property
    def run_name(self) -> str | None:
        """Name of the run."""
        return self._run_name

    def _set_run_name(self, new_name: str) -> None:
        self._run_name = new_name

    @property
    def user_id(self) -> str:
        """User who started the run."""
        return self._user_id

    @property
    def status(self) -> str:
        """One of RunStatus's names: "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"."""
        return self._status

    @property
    def start_time(self) -> int:
        """Milliseconds since the Unix epoch."""
        return self._start_time

    @property
    def end_time(self) -> int | None:
        """Milliseconds since the Unix epoch, None while the run is not terminated."""
        return self._end_time

    @property
    def artifact_uri(self) -> str | None:
        """Root artifact URI of the run."""
        return self._artifact_uri

    @property
    def lifecycle_stage(self) -> str:
        """``"active"`` or ``"deleted"``."""
        return self._lifecycle_stage

    # MLflow marks these with a property subclass; a plain list keeps them ordinary properties
    # for type checkers.
    _SEARCHABLE: ClassVar[tuple[str, ...]] = (
        "artifact_uri",
        "end_time",
        "run_id",
        "run_name",
        "start_time",
        "status",
        "user_id",
    )

    @classmethod
    def get_searchable_attributes(cls) -> list[str]:
        """The attribute names a search filter may use (``attributes.<name>``)."""
        return sorted(cls._SEARCHABLE)

    @classmethod
    def get_orderable_attributes(cls) -> list[str]:
        """The attribute names ``order_by`` may use (every searchable one)."""
        return cls.get_searchable_attributes()


class RunData(_MlflowObject):
    """Latest metric value per key, params and tags, each a dict.

    Built from lists of Metric, Param and RunTag objects (not dicts), as in MLflow. Compared by
    identity, as MLflow's is.
    """

    def __init__(
        self,
        metrics: list[Metric] | None = None,
        params: Iterable[_KeyValue] | None = None,
        tags: Iterable[_KeyValue] | None = None,
    ) -> None:
        # The Metric objects are kept besides the dict: MLflow keeps them (its ``_metric_objs``).
        self._metric_objs = metrics or []
        self._metrics = {metric.key: metric.value for metric in self._metric_objs}
        self._params = {param.key: param.value for param in (params or [])}
        self._tags = {tag.key: tag.value for tag in (tags or [])}

    @property
    def metrics(self) -> dict[str, float]:
        """Metric key -> latest value."""
        return self._metrics

    @property
    def params(self) -> dict[str, str]:
        """Param key -> value."""
        return self._params

    @property
    def tags(self) -> dict[str, str]:
        """Tag key -> value."""
        return self._tags

    def _add_metric(self, metric: Metric) -> None:
        self._metrics[metric.key] = metric.value
        self._metric_objs.append(metric)

    def _add_param(self, param: _KeyValue) -> None:
        self._params[param.key] = param.value

    def _add_tag(self, tag: _KeyValue) -> None:
        self._tags[tag.key] = tag.value

    def to_dictionary(self) -> dict[str, Any]:
        """``{"metrics": ..., "params": ..., "tags": ...}`` (the dicts themselves, not copies)."""
        return {"metrics": self.metrics, "params": self.params, "tags": self.tags}


class Dataset(_MlflowObject):
    """A dataset as a run input names it."""

    def __init__(
        self,
        name: str,
        digest: str,
        source_type: str,
        source: str,
        schema: str | None = None,
        profile: str | None = None,
    ) -> None:
        self._name = name
        self._digest = digest
        self._source_type = source_type
        self._source = source
        self._schema = schema
        self._profile = profile

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def name(self) -> str:
        return self._name

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source_type(self) -> str:
        return self._source_type

    @property
    def source(self) -> str:
        return self._source

    @property
    def schema(self) -> str | None:
        return self._schema

    @property
    def profile(self) -> str | None:
        return self._profile

    def to_dictionary(self) -> dict[str, Any]:
        """The dataset's fields as a dict."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }


class InputTag(_MlflowObject):
    """A tag of a dataset input (e.g. ``mlflow.data.context``)."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value


class DatasetInput(_MlflowObject):
    """A dataset used by a run, with its input tags (a list of InputTag)."""

    def __init__(self, dataset: Dataset, tags: list[InputTag] | None = None) -> None:
        self._dataset = dataset
        self._tags: list[InputTag] = tags or []

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    def _add_tag(self, tag: InputTag) -> None:
        self._tags.append(tag)

    @property
    def tags(self) -> list[InputTag]:
        return self._tags

    @property
    def dataset(self) -> Dataset:
        return self._dataset

    def to_dictionary(self) -> dict[str, Any]:
        """``{"dataset": {...}, "tags": {key: value}}``."""
        return {
            "dataset": self.dataset.to_dictionary(),
            "tags": {tag.key: tag.value for tag in self.tags},
        }


class LoggedModelInput(_MlflowObject):
    """A logged model used as an input of a run."""

    def __init__(self, model_id: str) -> None:
        self._model_id = model_id

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def model_id(self) -> str:
        return self._model_id


class LoggedModelOutput(_MlflowObject):
    """A logged model a run produced, at a step."""

    def __init__(self, model_id: str, step: int) -> None:
        self._model_id = model_id
        self._step = step

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def step(self) -> int:
        return self._step

    def to_dictionary(self) -> dict[str, str | int]:
        return {"model_id": self.model_id, "step": self.step}


class RunInputs(_MlflowObject):
    """Dataset inputs and model inputs of a run (lists)."""

    def __init__(
        self, dataset_inputs: list[DatasetInput], model_inputs: list[LoggedModelInput] | None = None
    ) -> None:
        self._dataset_inputs = dataset_inputs
        self._model_inputs: list[LoggedModelInput] = model_inputs or []

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def dataset_inputs(self) -> list[DatasetInput]:
        return self._dataset_inputs

    @property
    def model_inputs(self) -> list[LoggedModelInput]:
        return self._model_inputs

    def to_dictionary(self) -> dict[str, Any]:
        # model_inputs stay objects: MLflow does not convert them either.
        return {
            "model_inputs": self.model_inputs,
            "dataset_inputs": [d.to_dictionary() for d in self.dataset_inputs],
        }


class RunOutputs(_MlflowObject):
    """Model outputs of a run (a list)."""

    def __init__(self, model_outputs: list[LoggedModelOutput]) -> None:
        self._model_outputs = model_outputs

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def model_outputs(self) -> list[LoggedModelOutput]:
        return self._model_outputs

    def to_dictionary(self) -> dict[Any, Any]:
        return {"model_outputs": [output.to_dictionary() for output in self.model_outputs]}


class Run(_MlflowObject):
    """A run: ``info``, ``data``, ``inputs``, ``outputs``.

    Compared by identity, as MLflow's is (it defines no ``__eq__``): compare ``run.info`` (which
    has field equality) or ``run.info.run_id`` instead.
    """

    def __init__(
        self,
        run_info: RunInfo,
        run_data: RunData,
        run_inputs: RunInputs | None = None,
        run_outputs: RunOutputs | None = None,
    ) -> None:
        if run_info is None:
            raise mlflow_exception("run_info cannot be None")
        self._info = run_info
        self._data = run_data
        self._inputs = run_inputs
        self._outputs = run_outputs

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def data(self) -> RunData:
        return self._data

    @property
    def inputs(self) -> RunInputs | None:
        return self._inputs

    @property
    def outputs(self) -> RunOutputs | None:
        return self._outputs

    def to_dictionary(self) -> dict[Any, Any]:
        """``{"info": {...}, "data": {...}, "inputs": {...}, "outputs": {...}}`` (parts that exist)."""
        run_dict: dict[Any, Any] = {"info": dict(self.info)}
        if self.data:
            run_dict["data"] = self.data.to_dictionary()
        if self.inputs:
            run_dict["inputs"] = self.inputs.to_dictionary()
        if self.outputs:
            run_dict["outputs"] = self.outputs.to_dictionary()
        return run_dict


class FileInfo(_MlflowObject):
    """One artifact listing entry; ``file_size`` is None for a directory."""

    def __init__(self, path: str, is_dir: bool, file_size: int | None) -> None:
        self._path = path
        self._is_dir = is_dir
        self._bytes = file_size

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def path(self) -> str:
        """Path relative to the listed root."""
        return self._path

    @property
    def is_dir(self) -> bool:
        return self._is_dir

    @property
    def file_size(self) -> int | None:
        return self._bytes


# --- logged models (MLflow 3) --------------------------------------------------------------------


class LoggedModelTag(_MlflowObject):
    """A tag of a logged model."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value


class LoggedModelParameter(_MlflowObject):
    """A parameter of a logged model. Equality and hash use the key only, as in MLflow."""

    def __init__(self, key: str, value: str) -> None:
        key, value = _spark_param_name(key, value)
        self._key: str = key
        self._value: str = value

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, self.__class__):
            return bool(self._key == other._key)
        return False

    def __hash__(self) -> int:
        return hash(self._key)


class LoggedModel(_MlflowObject):
    """A model logged to an experiment (MLflow 3). ``tags`` and ``params`` are dicts,
    ``metrics`` a list of Metric or None, ``status`` a LoggedModelStatus."""

    def __init__(
        self,
        experiment_id: str,
        model_id: str,
        name: str,
        artifact_location: str,
        creation_timestamp: int,
        last_updated_timestamp: int,
        model_type: str | None = None,
        source_run_id: str | None = None,
        status: LoggedModelStatus | int = LoggedModelStatus.READY,
        status_message: str | None = None,
        tags: Iterable[_KeyValue] | dict[str, str] | None = None,
        params: Iterable[_KeyValue] | dict[str, str] | None = None,
        metrics: list[Metric] | None = None,
    ) -> None:
        self._experiment_id = experiment_id
        self._model_id = model_id
        self._name = name
        self._artifact_location = artifact_location
        self._creation_time = creation_timestamp
        self._last_updated_timestamp = last_updated_timestamp
        self._model_type = model_type
        self._source_run_id = source_run_id
        self._status: LoggedModelStatus = (
            status if isinstance(status, LoggedModelStatus) else LoggedModelStatus.from_int(status)
        )
        self._status_message = status_message
        self._tags: dict[str, str] = _as_dict(tags)
        self._params: dict[str, str] = _as_dict(params)
        self._metrics = metrics
        self._model_uri = f"models:/{self.model_id}"

    def __repr__(self) -> str:
        # As MLflow: tags, params and metrics can be large, so the repr leaves them out.
        large = ("tags", "params", "metrics")
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(self, key=lambda x: x[0]) if k not in large)
        return f"LoggedModel({shown})"

    @property
    def experiment_id(self) -> str:
        return self._experiment_id

    @experiment_id.setter
    def experiment_id(self, new_experiment_id: str) -> None:
        self._experiment_id = new_experiment_id

    @property
    def model_id(self) -> str:
        return self._model_id

    @model_id.setter
    def model_id(self, new_model_id: str) -> None:
        self._model_id = new_model_id

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def artifact_location(self) -> str:
        return self._artifact_location

    @artifact_location.setter
    def artifact_location(self, new_artifact_location: str) -> None:
        self._artifact_location = new_artifact_location

    @property
    def creation_timestamp(self) -> int:
        return self._creation_time

    @property
    def last_updated_timestamp(self) -> int:
        return self._last_updated_timestamp

    @last_updated_timestamp.setter
    def last_updated_timestamp(self, updated_timestamp: int) -> None:
        self._last_updated_timestamp = updated_timestamp

    @property
    def model_type(self) -> str | None:
        return self._model_type

    @model_type.setter
    def model_type(self, new_model_type: str | None) -> None:
        self._model_type = new_model_type

    @property
    def source_run_id(self) -> str | None:
        return self._source_run_id

    @property
    def status(self) -> LoggedModelStatus:
        return self._status

    @status.setter
    def status(self, updated_status: LoggedModelStatus) -> None:
        self._status = updated_status

    @property
    def status_message(self) -> str | None:
        return self._status_message

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    @property
    def params(self) -> dict[str, str]:
        return self._params

    @property
    def metrics(self) -> list[Metric] | None:
        return self._metrics

    @metrics.setter
    def metrics(self, new_metrics: list[Metric] | None) -> None:
        self._metrics = new_metrics

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``."""
        return self._model_uri

    def _add_tag(self, tag: _KeyValue) -> None:
        self._tags[tag.key] = tag.value

    def to_dictionary(self) -> dict[str, Any]:
        """Every property but ``model_uri`` (derived); ``status`` as its int code."""
        model_dict = dict(self)
        model_dict["status"] = self.status.to_int()
        del model_dict["model_uri"]
        return model_dict


def _as_dict(items: Iterable[_KeyValue] | Mapping[str, str] | None) -> dict[str, str]:
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items) if not isinstance(items, dict) else items
    return {item.key: item.value for item in items}


# --- model registry ------------------------------------------------------------------------------


class _ModelRegistryEntity(_MlflowObject):
    """MLflow's registry base: equal when ``dict()`` of both sides is equal; not hashable."""

    def __eq__(self, other: object) -> bool:
        return bool(dict(self) == dict(other))  # type: ignore[call-overload]


class RegisteredModelTag(_ModelRegistryEntity):
    """A tag of a registered model."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value


class ModelVersionTag(_ModelRegistryEntity):
    """A tag of a model version."""

    def __init__(self, key: str, value: str) -> None:
        self._key = key
        self._value = value

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def key(self) -> str:
        return self._key

    @property
    def value(self) -> str:
        return self._value


class RegisteredModelAlias(_ModelRegistryEntity):
    """An alias of a registered model and the version number (an int) it points to."""

    def __init__(self, alias: str, version: int | str) -> None:
        self._alias = alias
        self._version = version

    def __eq__(self, other: object) -> bool:
        return _same_type_and_fields(self, other)

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def version(self) -> int | str:
        return self._version


class ModelVersion(_ModelRegistryEntity):
    """A model version. ``version`` is an int (what MLflow's SQL store returns), ``current_stage``
    and ``status`` strings, ``tags`` a dict, ``aliases`` a list of alias names."""

    def __init__(
        self,
        name: str,
        version: int | str,
        creation_timestamp: int,
        last_updated_timestamp: int | None = None,
        description: str | None = None,
        user_id: str | None = None,
        current_stage: str | None = None,
        source: str | None = None,
        run_id: str | None = None,
        status: str = "READY",
        status_message: str | None = None,
        tags: Iterable[_KeyValue] | None = None,
        run_link: str | None = None,
        aliases: list[str] | None = None,
        model_id: str | None = None,
        params: list[LoggedModelParameter] | None = None,
        metrics: list[Metric] | None = None,
        deployment_job_state: Any = None,
        workspace: str | None = None,
    ) -> None:
        self._name = name
        self._version = version
        self._creation_time = creation_timestamp
        self._last_updated_timestamp = last_updated_timestamp
        self._description = description
        self._user_id = user_id
        self._current_stage = current_stage
        self._source = source
        self._run_id = run_id
        self._run_link = run_link
        self._status = status
        self._status_message = status_message
        self._tags = {tag.key: tag.value for tag in (tags or [])}
        self._aliases: list[str] = aliases or []
        self._model_id = model_id
        self._params = params
        self._metrics = metrics
        self._deployment_job_state = deployment_job_state
        self._workspace = _workspace_name(workspace)

    @property
    def name(self) -> str:
        """Name of the registered model."""
        return self._name

    @name.setter
    def name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def version(self) -> int | str:
        """Version number (an int for versions our stores return)."""
        return self._version

    @property
    def creation_timestamp(self) -> int:
        return self._creation_time

    @property
    def last_updated_timestamp(self) -> int | None:
        return self._last_updated_timestamp

    @last_updated_timestamp.setter
    def last_updated_timestamp(self, updated_timestamp: int) -> None:
        self._last_updated_timestamp = updated_timestamp

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, description: str) -> None:
        self._description = description

    @property
    def user_id(self) -> str | None:
        return self._user_id

    @property
    def current_stage(self) -> str | None:
        """One of "None", "Staging", "Production", "Archived"."""
        return self._current_stage

    @current_stage.setter
    def current_stage(self, stage: str) -> None:
        self._current_stage = stage

    @property
    def source(self) -> str | None:
        return self._source

    @property
    def run_id(self) -> str | None:
        return self._run_id

    @property
    def run_link(self) -> str | None:
        return self._run_link

    @property
    def status(self) -> str:
        """One of "READY", "PENDING_REGISTRATION", "FAILED_REGISTRATION"."""
        return self._status

    @property
    def status_message(self) -> str | None:
        return self._status_message

    @property
    def tags(self) -> dict[str, str]:
        return self._tags

    def _is_prompt(self) -> bool:
        return self._tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"

    @property
    def aliases(self) -> list[str]:
        """Alias names pointing at this version."""
        return self._aliases

    @aliases.setter
    def aliases(self, aliases: list[str]) -> None:
        self._aliases = aliases

    @property
    def model_id(self) -> str | None:
        return self._model_id

    @property
    def params(self) -> list[LoggedModelParameter] | None:
        return self._params

    @property
    def metrics(self) -> list[Metric] | None:
        return self._metrics

    @property
    def deployment_job_state(self) -> Any:
        """Databricks deployment jobs: always None here."""
        return self._deployment_job_state

    @property
    def workspace(self) -> str:
        return self._workspace

    def _add_tag(self, tag: _KeyValue) -> None:
        self._tags[tag.key] = tag.value


class RegisteredModel(_ModelRegistryEntity):
    """A registered model. ``latest_versions`` is a list of ModelVersion, ``tags`` a dict (the
    prompt marker tag hidden), ``aliases`` a dict alias -> version number."""

    def __init__(
        self,
        name: str,
        creation_timestamp: int | None = None,
        last_updated_timestamp: int | None = None,
        description: str | None = None,
        latest_versions: list[ModelVersion] | None = None,
        tags: Iterable[_KeyValue] | None = None,
        aliases: Iterable[Any] | None = None,
        deployment_job_id: str | None = None,
        deployment_job_state: str | None = None,
        workspace: str | None = None,
    ) -> None:
        self._name = name
        self._creation_time = creation_timestamp
        self._last_updated_timestamp = last_updated_timestamp
        self._description = description
        self._latest_version = latest_versions
        self._tags = {tag.key: tag.value for tag in (tags or [])}
        self._aliases = {alias.alias: alias.version for alias in (aliases or [])}
        self._deployment_job_id = deployment_job_id
        self._deployment_job_state = deployment_job_state
        self._workspace = _workspace_name(workspace)

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, new_name: str) -> None:
        self._name = new_name

    @property
    def creation_timestamp(self) -> int | None:
        return self._creation_time

    @property
    def last_updated_timestamp(self) -> int | None:
        return self._last_updated_timestamp

    @last_updated_timestamp.setter
    def last_updated_timestamp(self, updated_timestamp: int | None) -> None:
        self._last_updated_timestamp = updated_timestamp

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, description: str | None) -> None:
        self._description = description

    @property
    def latest_versions(self) -> list[ModelVersion] | None:
        """The highest-numbered version of each stage."""
        return self._latest_version

    @latest_versions.setter
    def latest_versions(self, latest_versions: list[ModelVersion] | None) -> None:
        self._latest_version = latest_versions

    @property
    def tags(self) -> dict[str, str]:
        # A new dict each time, as MLflow: it filters out the prompt marker.
        return {k: v for k, v in self._tags.items() if k != IS_PROMPT_TAG_KEY}

    def _is_prompt(self) -> bool:
        return self._tags.get(IS_PROMPT_TAG_KEY, "false").lower() == "true"

    @property
    def aliases(self) -> dict[str, Any]:
        """Alias -> version number."""
        return self._aliases

    @property
    def workspace(self) -> str:
        return self._workspace

    def _add_tag(self, tag: _KeyValue) -> None:
        self._tags[tag.key] = tag.value

    def _add_alias(self, alias: Any) -> None:
        self._aliases[alias.alias] = alias.version

    @property
    def deployment_job_id(self) -> str | None:
        """Databricks deployment jobs: always None here."""
        return self._deployment_job_id

    @deployment_job_id.setter
    def deployment_job_id(self, deployment_job_id: str | None) -> None:
        self._deployment_job_id = deployment_job_id

    @property
    def deployment_job_state(self) -> str | None:
        return self._deployment_job_state


class PagedList(list[T]):
    """A list of one page of results with ``token``: pass it back to get the next page (None on
    the last page). MLflow's ``mlflow.store.entities.paged_list.PagedList``."""

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[T]:
        return list(self)


# --- the API as a target of the translation layer ------------------------------------------------


def _stored_run_info(
    run_id: str,
    experiment_id: str,
    user_id: str,
    status: str,
    start_time: int,
    end_time: int | None,
    lifecycle_stage: str,
    artifact_uri: str | None = None,
    run_name: str | None = None,
) -> RunInfo:
    # RunInfo's constructor without its None checks: stored data is shown as it is, never refused.
    info = RunInfo.__new__(RunInfo)
    info._fill(run_id, experiment_id, user_id, status, start_time, end_time, lifecycle_stage)
    info._artifact_uri = artifact_uri
    info._run_name = run_name
    return info


SHAPES = Shapes(
    Experiment=Experiment,
    ExperimentTag=ExperimentTag,
    Metric=Metric,
    Param=Param,
    RunTag=RunTag,
    RunInfo=_stored_run_info,
    RunData=RunData,
    RunInputs=RunInputs,
    RunOutputs=RunOutputs,
    Run=Run,
    Dataset=Dataset,
    DatasetInput=DatasetInput,
    InputTag=InputTag,
    LoggedModelInput=LoggedModelInput,
    LoggedModelOutput=LoggedModelOutput,
    LoggedModel=LoggedModel,
    LoggedModelTag=LoggedModelTag,
    LoggedModelParameter=LoggedModelParameter,
    LoggedModelStatus=LoggedModelStatus,
    FileInfo=FileInfo,
    ModelVersion=ModelVersion,
    ModelVersionTag=ModelVersionTag,
    RegisteredModel=RegisteredModel,
    RegisteredModelTag=RegisteredModelTag,
    RegisteredModelAlias=RegisteredModelAlias,
    TraceInfo=trace_entities.TraceInfo,
    TraceLocation=trace_entities.TraceLocation,
    TraceState=trace_entities.TraceState,
    TraceData=trace_entities.TraceData,
    Trace=trace_entities.Trace,
    span_from_dict=trace_entities.Span.from_dict,
)
"""The API's mirror classes as the target of ``genesis_flow.entrypoints.shapes``' builders."""


__all__ = [
    "SHAPES",
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelParameter",
    "LoggedModelStatus",
    "LoggedModelTag",
    "Metric",
    "ModelVersion",
    "ModelVersionStatus",
    "ModelVersionTag",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "SourceType",
    "ViewType",
]
