"""MLflow's shapes -> domain, duck-typed: anything with MLflow's attribute names reads (our mirror
classes, real ``mlflow.entities``, the protobuf messages ``mlflow server`` passes, the entities of
MLflow's file and SQL stores). Nothing is imported from mlflow.

Readers of user input leave judging to validation (a bad timestamp reaches the domain's check
unchanged); readers of stored MLflow entities (``*_to_core`` of whole experiments, runs, models
and versions, for migration) fill what MLflow's stores leave empty as MLflow shows it.
"""

from __future__ import annotations

import base64
import json
import logging
import numbers
import os
from collections.abc import Iterable, Mapping
from typing import Any

from genesis_flow.core import entities as core
from genesis_flow.core import registry as core_registry
from genesis_flow.core import tracing as tr
from genesis_flow.core import validation
from genesis_flow.core.errors import InvalidParameterValue

_logger = logging.getLogger(__name__)

TRUNCATE_LONG_VALUES_ENV = "MLFLOW_TRUNCATE_LONG_VALUES"

# --- metrics, params, tags -------------------------------------------------------------------------


def metric_value(value: Any) -> Any:
    """MLflow's client-side conversion of a metric value: numpy scalars and one-element arrays,
    torch and TensorFlow scalars, ints, bools, numeric strings become a float; anything else is
    returned unchanged for validation to refuse."""
    if value is None or type(value) is float:
        return value
    if not isinstance(value, (numbers.Number, str, bytes)) and callable(getattr(value, "item", None)):
        # numpy arrays and torch tensors: duck-typed so neither library is imported here.
        try:
            value = value.item()
        except Exception as e:
            raise InvalidParameterValue(f"Failed to convert metric value to float: {e}") from None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        # MLflow lets a TypeError (and an int beyond a double, 10**400, its OverflowError) escape
        # here; validation's INVALID_PARAMETER_VALUE says more.
        return value


def metric_to_core(metric: Any, *, missing_step: int | None = None) -> core.Metric:
    """A domain metric, its value converted to float as MLflow's client does; timestamp and step
    pass unchanged (validation judges them). A run id the metric carries is dropped: the call
    names the run. ``missing_step`` replaces a step of None (the plugin's REST callers send protobuf metrics,
    whose unset step is 0)."""
    step = metric.step
    return core.Metric(
        key=metric.key,
        value=metric_value(metric.value),
        timestamp=metric.timestamp,
        step=missing_step if step is None and missing_step is not None else step,
        model_id=getattr(metric, "model_id", None),
        dataset_name=getattr(metric, "dataset_name", None),
        dataset_digest=getattr(metric, "dataset_digest", None),
    )


def truncated_long_value(kind: str, value: Any, limit: int) -> Any:
    """``value`` cut to ``limit`` characters, with MLflow's warning, when it is longer and
    ``MLFLOW_TRUNCATE_LONG_VALUES`` is on (MLflow's default); otherwise unchanged, for validation
    to refuse. MLflow's client and SQL store both do this for param and run tag values, so
    both our entry points do; the ports refuse over-long values."""
    if not isinstance(value, str) or len(value) <= limit:
        return value
    if os.environ.get(TRUNCATE_LONG_VALUES_ENV, "true").strip().lower() in ("false", "0"):
        return value
    _logger.warning(
        "%s '%s...' (%d characters) is truncated to %d characters to meet the length limit.",
        kind,
        value[:100],
        len(value),
        limit,
    )
    return validation.truncate_value(value, limit)


def param_to_core(param: Any) -> core.Param:
    """A non-string value is stringified, as MLflow's SQL store does for ``log_batch``
    (``Param("a", 1)`` is stored as "1"); an over-long one is truncated
    (:func:`truncated_long_value`). None stays None, for the store to refuse: MLflow's store
    refuses a missing value (its NOT NULL column) rather than storing "None"."""
    value = param.value
    text = value if isinstance(value, str) or value is None else str(value)
    return core.Param(param.key, truncated_long_value("Param value", text, validation.MAX_PARAM_VAL_LENGTH))


def run_tag_to_core(tag: Any) -> core.RunTag:
    """An over-long value is truncated (:func:`truncated_long_value`)."""
    return core.RunTag(tag.key, truncated_long_value("Tag value", tag.value, validation.MAX_TAG_VAL_LENGTH))


def experiment_tag_to_core(tag: Any) -> core.ExperimentTag:
    return core.ExperimentTag(tag.key, tag.value)


def registered_model_tag_to_core(tag: Any) -> core_registry.RegisteredModelTag:
    return core_registry.RegisteredModelTag(tag.key, tag.value)


def model_version_tag_to_core(tag: Any) -> core_registry.ModelVersionTag:
    return core_registry.ModelVersionTag(tag.key, tag.value)


def _pairs(tags: Any) -> Iterable[tuple[Any, Any]]:
    # MLflow's entities hold tags as a dict (run.data.tags) or as tag objects (DatasetInput.tags).
    if tags is None:
        return ()
    if isinstance(tags, Mapping):
        return tags.items()
    return ((t.key, t.value) for t in tags)


def dataset_input_to_core(dataset_input: Any) -> core.DatasetInput:
    """A ``dataset`` (name, digest, source_type, source, schema, profile) and ``tags`` (tag objects
    or a dict)."""
    ds = dataset_input.dataset
    dataset = core.Dataset(
        name=ds.name,
        digest=ds.digest,
        source_type=ds.source_type,
        source=ds.source,
        schema=getattr(ds, "schema", None),
        profile=getattr(ds, "profile", None),
    )
    tags = [core.InputTag(k, v) for k, v in _pairs(getattr(dataset_input, "tags", None))]
    return core.DatasetInput(dataset=dataset, tags=tags)


def logged_model_input_to_core(model_input: Any) -> core.LoggedModelInput:
    return core.LoggedModelInput(model_input.model_id)


def logged_model_output_to_core(model_output: Any) -> core.LoggedModelOutput:
    if not isinstance(getattr(model_output, "model_id", None), str):
        raise InvalidParameterValue(
            f"A model output is a LoggedModelOutput (model_id and step), got {model_output!r}"
        )
    return core.LoggedModelOutput(model_output.model_id, int(model_output.step or 0))


def logged_model_tag_to_core(tag: Any) -> core.LoggedModelTag:
    return core.LoggedModelTag(str(tag.key), str(tag.value))


def logged_model_param_to_core(param: Any) -> core.LoggedModelParameter:
    return core.LoggedModelParameter(str(param.key), str(param.value))


# --- whole stored entities (MLflow's own stores, for migration) ------------------------------------


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def experiment_to_core(experiment: Any) -> core.Experiment:
    return core.Experiment(
        experiment_id=str(experiment.experiment_id),
        name=experiment.name,
        artifact_location=experiment.artifact_location or "",
        lifecycle_stage=core.LifecycleStage(experiment.lifecycle_stage),
        creation_time=_int_or_none(experiment.creation_time),
        last_update_time=_int_or_none(experiment.last_update_time),
        tags=tuple(core.ExperimentTag(k, v) for k, v in _pairs(experiment.tags)),
    )


def stored_metric_to_core(metric: Any) -> core.Metric:
    """A metric point of MLflow's stores. Its run id is left out: the run it is read with says
    which run it belongs to."""
    return core.Metric(
        key=metric.key,
        value=float(metric.value),
        timestamp=int(metric.timestamp or 0),
        step=int(metric.step or 0),
        model_id=getattr(metric, "model_id", None),
        dataset_name=getattr(metric, "dataset_name", None),
        dataset_digest=getattr(metric, "dataset_digest", None),
    )


def run_to_core(run: Any) -> core.Run:
    """A run of MLflow's stores. ``data.metrics`` holds the latest values; when the store's run
    keeps no metric objects (``_metric_objs``), only their keys and values are known."""
    info, data = run.info, run.data
    inputs = getattr(run, "inputs", None)
    outputs = getattr(run, "outputs", None)
    metrics = getattr(data, "_metric_objs", None) or [
        core.Metric(k, float(v), 0, 0) for k, v in data.metrics.items()
    ]
    return core.Run(
        info=core.RunInfo(
            run_id=info.run_id,
            experiment_id=str(info.experiment_id),
            run_name=info.run_name or "",
            user_id=info.user_id or "",
            status=core.RunStatus.parse(info.status),
            start_time=_int_or_none(info.start_time),
            end_time=_int_or_none(info.end_time),
            artifact_uri=info.artifact_uri or "",
            lifecycle_stage=core.LifecycleStage(info.lifecycle_stage),
        ),
        data=core.RunData(
            metrics=tuple(stored_metric_to_core(m) for m in metrics),
            params=tuple(core.Param(k, v) for k, v in _pairs(data.params)),
            tags=tuple(core.RunTag(k, v) for k, v in _pairs(data.tags)),
        ),
        inputs=core.RunInputs(
            dataset_inputs=tuple(
                dataset_input_to_core(d) for d in getattr(inputs, "dataset_inputs", None) or ()
            ),
            model_inputs=tuple(
                logged_model_input_to_core(m) for m in getattr(inputs, "model_inputs", None) or ()
            ),
        ),
        outputs=core.RunOutputs(
            model_outputs=tuple(
                logged_model_output_to_core(m) for m in getattr(outputs, "model_outputs", None) or ()
            )
        ),
    )


def registered_model_to_core(model: Any) -> core_registry.RegisteredModel:
    """A registered model of MLflow's stores (aliases a dict alias -> version there)."""
    aliases = {str(k): int(v) for k, v in (model.aliases or {}).items()}
    return core_registry.RegisteredModel(
        name=model.name,
        creation_timestamp=int(model.creation_timestamp or 0),
        last_updated_timestamp=int(model.last_updated_timestamp or model.creation_timestamp or 0),
        description=model.description or None,
        tags=tuple(core_registry.RegisteredModelTag(k, v) for k, v in _pairs(model.tags)),
        aliases=tuple(core_registry.RegisteredModelAlias(k, v) for k, v in aliases.items()),
    )


def model_version_to_core(version: Any, aliases: Iterable[str] = ()) -> core_registry.ModelVersion:
    """A model version of MLflow's stores; ``aliases`` are the names its model gives it (MLflow's
    searches do not fill a version's own)."""
    return core_registry.ModelVersion(
        name=version.name,
        version=int(version.version),
        creation_timestamp=int(version.creation_timestamp or 0),
        last_updated_timestamp=int(version.last_updated_timestamp or version.creation_timestamp or 0),
        current_stage=core_registry.Stage.parse(version.current_stage or "None"),
        description=version.description or None,
        user_id=version.user_id or None,
        source=version.source,
        run_id=version.run_id or None,
        status=core_registry.ModelVersionStatus(version.status or "READY"),
        status_message=version.status_message or None,
        run_link=version.run_link or None,
        model_id=getattr(version, "model_id", None) or None,
        tags=tuple(core_registry.ModelVersionTag(k, v) for k, v in _pairs(version.tags)),
        aliases=tuple(aliases),
    )


# --- traces ----------------------------------------------------------------------------------------


def _truncated(value: object, limit: int) -> str:
    # MLflow's SQL store truncates over-long trace tag values (and its client the previews and
    # metadata); our ports reject them, so they are truncated first.
    return str(value)[:limit]


def _optional_truncated(value: object, limit: int) -> str | None:
    return None if value is None else _truncated(value, limit)


def _trace_state(state: Any) -> str:
    # MLflow's stores accept its legacy TraceStatus too (its to_state() names the TraceState).
    if callable(getattr(state, "to_state", None)):
        state = state.to_state()
    return str(getattr(state, "value", state))


def trace_info_to_core(info: Any) -> tr.TraceInfo:
    """A trace info in an experiment location, truncated as MLflow's store truncates.

    Assessments are not stored (the assessment API is not supported yet)."""
    experiment_id = info.experiment_id
    if experiment_id is None:
        raise InvalidParameterValue(
            f"Trace '{info.trace_id}' has no MLflow experiment location: this store (Genesis-Flow) "
            "keeps traces in experiments only."
        )
    return tr.TraceInfo(
        trace_id=info.trace_id,
        experiment_id=str(experiment_id),
        request_time=int(info.request_time),
        state=_trace_state(info.state),
        execution_duration=None if info.execution_duration is None else int(info.execution_duration),
        request_preview=_optional_truncated(info.request_preview, tr.MAX_PREVIEW_LENGTH),
        response_preview=_optional_truncated(info.response_preview, tr.MAX_PREVIEW_LENGTH),
        client_request_id=info.client_request_id or None,
        tags={str(k): _truncated(v, tr.MAX_TRACE_TAG_VALUE_LENGTH) for k, v in info.tags.items()},
        metadata={
            str(k): _truncated(v, tr.MAX_TRACE_METADATA_VALUE_LENGTH) for k, v in info.trace_metadata.items()
        },
    )


def _json_text(value: object) -> str:
    # MLflow's tracer stores every attribute as JSON text; another OpenTelemetry producer may
    # set plain values, which become their JSON text (MLflow's Span decodes both alike).
    return value if isinstance(value, str) else json.dumps(_json_value(value))


def _json_value(value: object) -> Any:
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return value


def _otel_trace_id(encoded: object) -> str | None:
    """The 32-hex OpenTelemetry trace id of MLflow's span dict (base64 bytes, or the ``tr-``
    form older MLflow versions wrote)."""
    if not isinstance(encoded, str):
        return None
    if encoded.startswith("tr-"):
        return encoded.removeprefix("tr-")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 16 else None


def span_to_core(span: Any) -> tr.Span:
    """A span (MLflow's live, lazy or loaded one): ids as MLflow names them (``tr-...`` trace id,
    16-hex span ids), attributes as MLflow's JSON text (read from ``to_dict()``, which keeps
    them undecoded), links as MLflow's ``Link`` s. A trace id that is not ``tr-`` and the span's
    OpenTelemetry trace id keeps that id beside it (MLflow accepts any trace id)."""
    status = span.status
    data = span.to_dict()
    attributes = data.get("attributes") or {}
    otel = _otel_trace_id(data.get("trace_id"))
    return tr.Span(
        trace_id=span.trace_id,
        span_id=span.span_id,
        name=span.name,
        start_time_ns=int(span.start_time_ns),
        parent_id=span.parent_id,
        end_time_ns=None if span.end_time_ns is None else int(span.end_time_ns),
        status_code=str(getattr(status.status_code, "value", status.status_code)),
        status_message=status.description or "",
        attributes={str(k): _json_text(v) for k, v in attributes.items()},
        events=[
            tr.SpanEvent(
                name=event.name,
                timestamp_ns=int(event.timestamp),
                attributes={str(k): _json_value(v) for k, v in (event.attributes or {}).items()},
            )
            for event in span.events
        ],
        links=[
            tr.SpanLink(link.trace_id, link.span_id, dict(link.attributes or {}))
            for link in getattr(span, "links", None) or ()
        ],
        otel_trace_id=None if otel is None or span.trace_id == f"tr-{otel}" else otel,
    )
