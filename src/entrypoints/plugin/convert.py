"""The plugin's side of the translation layer: ``mlflow.entities`` as the target, and errors.

MLflow's code calls protobuf and dict methods on what a store returns (``run.to_proto()``,
``summary.to_proto()``, ``metric.to_dict()``), so the plugin hands out MLflow's own entity
classes: :data:`ML` is the target the builders of ``genesis_flow.entrypoints.shapes`` fill.
Every function here is pure: no store, no I/O, no shared state.
"""

from __future__ import annotations

import json

from mlflow.exceptions import MlflowException, MlflowTracingException
from mlflow.protos import databricks_pb2

from genesis_flow.core import tracing as tr
from genesis_flow.core.errors import ERROR_CLASSES_BY_CODE, GenesisError, InternalError
from genesis_flow.core.redaction import redact_text
from genesis_flow.entrypoints.shapes import mlflow_shapes, translating

ML = mlflow_shapes()

# --- errors ---------------------------------------------------------------------------------------


def error_code_to_mlflow(code: str) -> int:
    """MLflow's numeric ``ErrorCode`` for one of our code names; INTERNAL_ERROR if MLflow lacks it."""
    try:
        return int(databricks_pb2.ErrorCode.Value(code))
    except ValueError:
        return int(databricks_pb2.INTERNAL_ERROR)


def error_to_mlflow(error: GenesisError) -> MlflowException:
    """The MlflowException MLflow's callers expect: our message (redacted: a server's log and its
    HTTP answers show it), our error code's MLflow twin."""
    return MlflowException(redact_text(error.message), error_code=error_code_to_mlflow(error.error_code))


# For both plugin stores: our errors leave as MlflowException with MLflow's code.
translated = translating(error_to_mlflow)


def error_to_core(error: MlflowException) -> GenesisError:
    """The domain error for an MlflowException (by its code name; unknown codes -> InternalError)."""
    error_class = ERROR_CLASSES_BY_CODE.get(str(error.error_code), InternalError)
    return error_class(error.message)


# --- traces ---------------------------------------------------------------------------------------

SPANS_LOCATION_TAG = tr.SPANS_LOCATION_TAG
SPANS_IN_TRACKING_STORE = tr.SPANS_IN_TRACKING_STORE
# Where a trace's attachments go (MLflow's MLFLOW_ARTIFACT_LOCATION tag on traces).
TRACE_ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
# MLflow's trace metadata holding the exporter's span count (TraceMetadataKey.SIZE_STATS).
TRACE_SIZE_STATS_METADATA = "mlflow.trace.sizeStats"


def spans_in_store(trace: tr.Trace) -> tr.Trace:
    """``trace``, unless its spans are not in this store: no span stored and no tag saying they
    are (``start_trace`` alone wrote it), which MLflow's SQL store refuses to read
    (MlflowTracingException). A trace with spans but without the tag was written before
    ``log_spans`` stored it and is read as it always was."""
    if not trace.spans and trace.info.tags.get(SPANS_LOCATION_TAG) != SPANS_IN_TRACKING_STORE:
        raise MlflowTracingException("Trace data not stored in tracking store")  # type: ignore[no-untyped-call]
    return trace


def trace_is_complete(trace: tr.Trace) -> bool:
    """As MLflow's SQL store judges it: some spans, and at least as many as the exporter counted
    (the ``num_spans`` of the size-stats metadata, when present)."""
    if not trace.spans:
        return False
    stats = trace.info.metadata.get(TRACE_SIZE_STATS_METADATA)
    if not stats:
        return True
    try:
        expected = int(json.loads(stats).get("num_spans", 0))
    except (ValueError, TypeError, AttributeError):
        return True
    return len(trace.spans) >= expected
