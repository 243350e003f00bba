"""MLflow's shapes and the domain, translated once (imported as ``genesis_flow.entrypoints.shapes``).

Three places meet MLflow's entities: the MLflow-compatible API hands out its mirror classes
(``entrypoints.api.entities``), the plugin hands out ``mlflow.entities`` themselves, and migration
reads entities out of MLflow's own stores. All three go through this package:

* ``from_core``: builders. Each takes the target's classes (:class:`Shapes`): the API's mirror
  namespace or :func:`mlflow_shapes`; one body serves both, as their constructors are MLflow's.
* ``to_core``: duck-typed readers of anything with MLflow's attribute names (our mirror, real
  ``mlflow.entities``, the entities of MLflow's file and SQL stores).
* ``arguments``: MLflow's call arguments (experiment ids, view types, statuses, the dict clauses of
  ``search_logged_models``) normalised to the domain's, with MLflow's answers to odd input.
* ``errors``: the decorator each entrypoint wraps its calls in to turn domain errors into its
  exception class.

Nothing here imports mlflow at module level: genesis_flow works without it.
"""

from genesis_flow.entrypoints.shapes.arguments import (
    dataset_refs_to_core,
    experiment_ids_to_core,
    logged_model_order_by_to_core,
    logged_model_status_to_core,
    run_status_to_core,
    view_type_to_core,
)
from genesis_flow.entrypoints.shapes.errors import translating
from genesis_flow.entrypoints.shapes.from_core import (
    dataset_input_from_core,
    dataset_summary_from_core,
    experiment_from_core,
    file_info_from_core,
    logged_model_from_core,
    metric_from_core,
    metric_with_run_id_from_core,
    model_version_from_core,
    param_from_core,
    registered_model_from_core,
    run_from_core,
    run_info_from_core,
    run_tag_from_core,
    span_from_core,
    trace_from_core,
    trace_info_from_core,
)
from genesis_flow.entrypoints.shapes.targets import AnyShapes, Shapes, mlflow_shapes
from genesis_flow.entrypoints.shapes.to_core import (
    dataset_input_to_core,
    experiment_tag_to_core,
    experiment_to_core,
    logged_model_input_to_core,
    logged_model_output_to_core,
    logged_model_param_to_core,
    logged_model_tag_to_core,
    metric_to_core,
    metric_value,
    model_version_tag_to_core,
    model_version_to_core,
    param_to_core,
    registered_model_tag_to_core,
    registered_model_to_core,
    run_tag_to_core,
    run_to_core,
    span_to_core,
    stored_metric_to_core,
    trace_info_to_core,
    truncated_long_value,
)

__all__ = [
    "AnyShapes",
    "Shapes",
    "dataset_input_from_core",
    "dataset_input_to_core",
    "dataset_refs_to_core",
    "dataset_summary_from_core",
    "experiment_from_core",
    "experiment_ids_to_core",
    "experiment_tag_to_core",
    "experiment_to_core",
    "file_info_from_core",
    "logged_model_from_core",
    "logged_model_input_to_core",
    "logged_model_order_by_to_core",
    "logged_model_output_to_core",
    "logged_model_param_to_core",
    "logged_model_status_to_core",
    "logged_model_tag_to_core",
    "metric_from_core",
    "metric_to_core",
    "metric_value",
    "metric_with_run_id_from_core",
    "mlflow_shapes",
    "model_version_from_core",
    "model_version_tag_to_core",
    "model_version_to_core",
    "param_from_core",
    "param_to_core",
    "registered_model_from_core",
    "registered_model_tag_to_core",
    "registered_model_to_core",
    "run_from_core",
    "run_info_from_core",
    "run_status_to_core",
    "run_tag_from_core",
    "run_tag_to_core",
    "run_to_core",
    "span_from_core",
    "span_to_core",
    "stored_metric_to_core",
    "trace_from_core",
    "trace_info_from_core",
    "trace_info_to_core",
    "translating",
    "truncated_long_value",
    "view_type_to_core",
]
