"""Every tracking-store method MLflow's fluent API, ``MlflowClient`` and ``mlflow server`` call,
and what the plugin's store does with it. The one list: tests walk it, the store builds its
"not supported" methods from it.

* ``implemented``: defined on ``GenesisTrackingStore`` itself and backed by our store;
* ``empty``: a read or list of a feature we do not store yet; it answers as an empty store
  answers (an empty list or page, never None, never an error), so the UI's pages load;
* ``not supported``: a write (or a lookup by id) of such a feature; it raises
  ``MlflowException(error_code=NOT_IMPLEMENTED)`` with the message
  ``"<feature> is not supported by this store (Genesis-Flow) yet"``.

``REGISTRY_STORE_CALLS`` is the same for the model-registry store (``GenesisRegistryStore``).

Collected from MLflow 3's ``mlflow/tracking/_tracking_service/client.py``, ``mlflow/tracking/
fluent.py`` and ``mlflow/server/handlers.py`` (and the server's job and gateway modules), plus the
skill registry that MLflow's next minor release adds to the tracking store.

A method MLflow's base store gains later, which no table here knows, must not reach its caller as
the base's bare ``NotImplementedError`` (``mlflow server`` answers that with HTTP 500). So every
public method a store inherits from MLflow's base unchanged is wrapped (:func:`unknown_calls`): it
runs MLflow's default, and where that raises ``NotImplementedError`` it answers by the same policy:
empty for a listing (``list_*`` / ``search_*``, MLflow's naming), else NOT_IMPLEMENTED.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
from mlflow.store.entities.paged_list import PagedList

IMPLEMENTED = "implemented"
EMPTY = "empty"
NOT_SUPPORTED = "not supported"

# Experiments: fluent (set_experiment, create/get/search/delete_experiment), the client, and the
# server's experiment endpoints and UI pages (the experiment list, the experiment page header).
_EXPERIMENTS: dict[str, str] = {
    "create_experiment": IMPLEMENTED,
    "get_experiment": IMPLEMENTED,
    "get_experiment_by_name": IMPLEMENTED,
    "search_experiments": IMPLEMENTED,
    "rename_experiment": IMPLEMENTED,
    "delete_experiment": IMPLEMENTED,
    "restore_experiment": IMPLEMENTED,
    "set_experiment_tag": IMPLEMENTED,
    "delete_experiment_tag": IMPLEMENTED,
    # the server, before listing scorers across experiments (admin pages)
    "filter_active_experiment_ids": IMPLEMENTED,
}

# Runs: fluent (start_run/end_run, log_*, set_tag, search_runs), the client (incl. its paging of
# get_metric_history and search_runs), the server's run endpoints, and the UI's run page and
# charts (get-history-bulk, get-history-bulk-interval, search-datasets).
_RUNS: dict[str, str] = {
    "create_run": IMPLEMENTED,
    "get_run": IMPLEMENTED,
    "update_run_info": IMPLEMENTED,
    "delete_run": IMPLEMENTED,
    "restore_run": IMPLEMENTED,
    "log_metric": IMPLEMENTED,
    "log_param": IMPLEMENTED,
    "set_tag": IMPLEMENTED,
    "delete_tag": IMPLEMENTED,
    "log_batch": IMPLEMENTED,
    "get_metric_history": IMPLEMENTED,
    "get_metric_history_bulk": IMPLEMENTED,
    "get_metric_history_bulk_interval": IMPLEMENTED,
    "get_metric_history_bulk_interval_from_steps": IMPLEMENTED,
    "search_runs": IMPLEMENTED,
    "_search_runs": IMPLEMENTED,
    "log_inputs": IMPLEMENTED,
    "log_outputs": IMPLEMENTED,
    "_search_datasets": IMPLEMENTED,
    # the client's log_model (MLflow 2 style models list in the mlflow.log-model.history tag)
    "record_logged_model": IMPLEMENTED,
}

# Asynchronous logging: the fluent API and the client with synchronous=False, and
# mlflow.flush_async_logging(). MLflow's own queue, writing through our log_batch.
_ASYNC: dict[str, str] = {
    "log_metric_async": IMPLEMENTED,
    "log_param_async": IMPLEMENTED,
    "set_tag_async": IMPLEMENTED,
    "log_batch_async": IMPLEMENTED,
    "flush_async_logging": IMPLEMENTED,
    "end_async_logging": IMPLEMENTED,
    "shut_down_async_logging": IMPLEMENTED,
}

# MLflow 3 logged models: log_model / create_external_model / initialize_logged_model, the
# client, the server's logged-model endpoints and the UI's models tab; the server calls
# set_model_versions_tags when a model version is created from a logged model.
_LOGGED_MODELS: dict[str, str] = {
    "create_logged_model": IMPLEMENTED,
    "get_logged_model": IMPLEMENTED,
    "delete_logged_model": IMPLEMENTED,
    "finalize_logged_model": IMPLEMENTED,
    "set_logged_model_tags": IMPLEMENTED,
    "delete_logged_model_tag": IMPLEMENTED,
    "log_logged_model_params": IMPLEMENTED,
    "search_logged_models": IMPLEMENTED,
    "set_model_versions_tags": IMPLEMENTED,
}

# Tracing: MLflow's exporter (log_spans as spans end, start_trace when the root ends),
# mlflow.get_trace / search_traces, the client's trace tags and delete_traces, and the UI's traces
# tab (search, trace info, the span tree through get_trace(allow_partial=True)). Trace metrics
# (the overview tab), sessions, assessments, run links and prompt links are not stored yet.
_TRACING: dict[str, str] = {
    "start_trace": IMPLEMENTED,
    "log_spans": IMPLEMENTED,
    "get_trace_info": IMPLEMENTED,
    "get_trace": IMPLEMENTED,
    "batch_get_traces": IMPLEMENTED,
    "batch_get_trace_infos": IMPLEMENTED,
    "search_traces": IMPLEMENTED,
    "set_trace_tag": IMPLEMENTED,
    "delete_trace_tag": IMPLEMENTED,
    "delete_traces": IMPLEMENTED,
    "_delete_traces": IMPLEMENTED,
    "query_trace_metrics": EMPTY,
    "find_completed_sessions": EMPTY,
    "deprecated_start_trace_v2": NOT_SUPPORTED,
    "deprecated_end_trace_v2": NOT_SUPPORTED,
    "get_assessment": NOT_SUPPORTED,
    "create_assessment": NOT_SUPPORTED,
    "update_assessment": NOT_SUPPORTED,
    "delete_assessment": NOT_SUPPORTED,
    "link_traces_to_run": NOT_SUPPORTED,
    "unlink_traces_from_run": NOT_SUPPORTED,
    "link_prompts_to_trace": NOT_SUPPORTED,
    "calculate_trace_filter_correlation": NOT_SUPPORTED,
    # Databricks inference tables (MlflowClient.get_online_trace_details)
    "get_online_trace_details": NOT_SUPPORTED,
}

# Trace archival: the server's archival scheduler, which only calls it on a store whose
# supports_trace_archival is true (ours is false: traces stay where they were logged).
_TRACE_ARCHIVAL: dict[str, str] = {
    "archive_traces": NOT_SUPPORTED,
}

# Scorers and online scoring: the UI's judges tab, the server's online-scoring scheduler.
_SCORERS: dict[str, str] = {
    "list_scorers": EMPTY,
    "list_scorer_versions": EMPTY,
    "list_scorers_across_experiments": EMPTY,
    "get_online_scoring_configs": EMPTY,
    "get_active_online_scorers": EMPTY,
    "register_scorer": NOT_SUPPORTED,
    "get_scorer": NOT_SUPPORTED,
    "delete_scorer": NOT_SUPPORTED,
    "upsert_online_scoring_config": NOT_SUPPORTED,
}

# GenAI evaluation datasets (mlflow.genai.datasets, the UI's datasets tab). Not the dataset
# inputs of runs above (_search_datasets).
_EVALUATION_DATASETS: dict[str, str] = {
    "search_datasets": EMPTY,
    "create_dataset": NOT_SUPPORTED,
    "get_dataset": NOT_SUPPORTED,
    "delete_dataset": NOT_SUPPORTED,
    "upsert_dataset_records": NOT_SUPPORTED,
    "delete_dataset_records": NOT_SUPPORTED,
    "set_dataset_tags": NOT_SUPPORTED,
    "delete_dataset_tag": NOT_SUPPORTED,
    "get_dataset_experiment_ids": NOT_SUPPORTED,
    "_load_dataset_records": NOT_SUPPORTED,
    "add_dataset_to_experiments": NOT_SUPPORTED,
    "remove_dataset_from_experiments": NOT_SUPPORTED,
}

# Issues, label schemas and review queues: the UI's GenAI review pages.
_REVIEW: dict[str, str] = {
    "search_issues": EMPTY,
    "list_label_schemas": EMPTY,
    "list_review_queues": EMPTY,
    "list_review_queue_items": EMPTY,
    "create_issue": NOT_SUPPORTED,
    "get_issue": NOT_SUPPORTED,
    "update_issue": NOT_SUPPORTED,
    "create_label_schema": NOT_SUPPORTED,
    "get_label_schema": NOT_SUPPORTED,
    "get_label_schema_by_name": NOT_SUPPORTED,
    "update_label_schema": NOT_SUPPORTED,
    "delete_label_schema": NOT_SUPPORTED,
    "create_review_queue": NOT_SUPPORTED,
    "get_or_create_user_queue": NOT_SUPPORTED,
    "get_review_queue": NOT_SUPPORTED,
    "get_review_queue_by_name": NOT_SUPPORTED,
    "update_review_queue": NOT_SUPPORTED,
    "delete_review_queue": NOT_SUPPORTED,
    "add_items_to_review_queue": NOT_SUPPORTED,
    "remove_items_from_review_queue": NOT_SUPPORTED,
    "set_review_queue_item_status": NOT_SUPPORTED,
}

# The AI gateway: the server's gateway endpoints and the UI's gateway pages.
_GATEWAY: dict[str, str] = {
    "list_secret_infos": EMPTY,
    "list_gateway_model_definitions": EMPTY,
    "list_gateway_endpoints": EMPTY,
    "list_endpoint_bindings": EMPTY,
    "list_budget_policies": EMPTY,
    "list_gateway_guardrails": EMPTY,
    "list_endpoint_guardrail_configs": EMPTY,
    "create_gateway_secret": NOT_SUPPORTED,
    "get_secret_info": NOT_SUPPORTED,
    "update_gateway_secret": NOT_SUPPORTED,
    "delete_gateway_secret": NOT_SUPPORTED,
    "create_gateway_model_definition": NOT_SUPPORTED,
    "get_gateway_model_definition": NOT_SUPPORTED,
    "update_gateway_model_definition": NOT_SUPPORTED,
    "delete_gateway_model_definition": NOT_SUPPORTED,
    "create_gateway_endpoint": NOT_SUPPORTED,
    "get_gateway_endpoint": NOT_SUPPORTED,
    "update_gateway_endpoint": NOT_SUPPORTED,
    "delete_gateway_endpoint": NOT_SUPPORTED,
    "set_gateway_endpoint_tag": NOT_SUPPORTED,
    "delete_gateway_endpoint_tag": NOT_SUPPORTED,
    "attach_model_to_endpoint": NOT_SUPPORTED,
    "detach_model_from_endpoint": NOT_SUPPORTED,
    "create_endpoint_binding": NOT_SUPPORTED,
    "delete_endpoint_binding": NOT_SUPPORTED,
    "create_budget_policy": NOT_SUPPORTED,
    "get_budget_policy": NOT_SUPPORTED,
    "update_budget_policy": NOT_SUPPORTED,
    "delete_budget_policy": NOT_SUPPORTED,
    "create_gateway_guardrail": NOT_SUPPORTED,
    "get_gateway_guardrail": NOT_SUPPORTED,
    "delete_gateway_guardrail": NOT_SUPPORTED,
    "add_guardrail_to_endpoint": NOT_SUPPORTED,
    "remove_guardrail_from_endpoint": NOT_SUPPORTED,
    "update_endpoint_guardrail_config": NOT_SUPPORTED,
    # the server's budget check, only with budget policies (which cannot be created here)
    "sum_gateway_trace_cost": NOT_SUPPORTED,
}

# The MCP server registry: the server's MCP endpoints and the UI's MCP pages.
_MCP: dict[str, str] = {
    "search_mcp_servers": EMPTY,
    "search_mcp_access_endpoints": EMPTY,
    "search_mcp_server_versions": EMPTY,
    "get_mcp_server_versions_for_trace": EMPTY,
    "create_mcp_server": NOT_SUPPORTED,
    "get_mcp_server": NOT_SUPPORTED,
    "update_mcp_server": NOT_SUPPORTED,
    "delete_mcp_server": NOT_SUPPORTED,
    "set_mcp_server_tag": NOT_SUPPORTED,
    "delete_mcp_server_tag": NOT_SUPPORTED,
    "set_mcp_server_alias": NOT_SUPPORTED,
    "delete_mcp_server_alias": NOT_SUPPORTED,
    "create_mcp_server_version": NOT_SUPPORTED,
    "get_mcp_server_version": NOT_SUPPORTED,
    "get_mcp_server_version_by_alias": NOT_SUPPORTED,
    "get_latest_mcp_server_version": NOT_SUPPORTED,
    "update_mcp_server_version": NOT_SUPPORTED,
    "delete_mcp_server_version": NOT_SUPPORTED,
    "set_mcp_server_version_tag": NOT_SUPPORTED,
    "delete_mcp_server_version_tag": NOT_SUPPORTED,
    "create_mcp_access_endpoint": NOT_SUPPORTED,
    "get_mcp_access_endpoint": NOT_SUPPORTED,
    "update_mcp_access_endpoint": NOT_SUPPORTED,
    "delete_mcp_access_endpoint": NOT_SUPPORTED,
    "link_mcp_server_versions_to_trace": NOT_SUPPORTED,
}

# The skill registry (MLflow 3.18's tracking store: skills, versions, tags, aliases). Listed ahead
# of the mlflow release so that the extra's range resolving to it changes nothing here.
_SKILLS: dict[str, str] = {
    "search_skills": EMPTY,
    "search_skill_versions": EMPTY,
    "create_skill": NOT_SUPPORTED,
    "get_skill": NOT_SUPPORTED,
    "update_skill": NOT_SUPPORTED,
    "delete_skill": NOT_SUPPORTED,
    "delete_skill_and_collect_artifacts": NOT_SUPPORTED,
    "create_skill_version": NOT_SUPPORTED,
    "bulk_register_skills": NOT_SUPPORTED,
    "get_skill_version": NOT_SUPPORTED,
    "get_latest_skill_version": NOT_SUPPORTED,
    "get_skill_version_by_alias": NOT_SUPPORTED,
    "update_skill_version": NOT_SUPPORTED,
    "delete_skill_version": NOT_SUPPORTED,
    "set_skill_tag": NOT_SUPPORTED,
    "delete_skill_tag": NOT_SUPPORTED,
    "set_skill_version_tag": NOT_SUPPORTED,
    "delete_skill_version_tag": NOT_SUPPORTED,
    "set_skill_alias": NOT_SUPPORTED,
    "delete_skill_alias": NOT_SUPPORTED,
}

TRACKING_STORE_CALLS: dict[str, str] = {
    **_EXPERIMENTS,
    **_RUNS,
    **_ASYNC,
    **_LOGGED_MODELS,
    **_TRACING,
    **_TRACE_ARCHIVAL,
    **_SCORERS,
    **_EVALUATION_DATASETS,
    **_REVIEW,
    **_GATEWAY,
    **_MCP,
    **_SKILLS,
}

# The feature a "not supported" method belongs to, as its error message names it.
UNSUPPORTED_FEATURES: dict[str, str] = {
    name: feature
    for feature, group in (
        ("Tracing", _TRACING),
        ("Trace archival", _TRACE_ARCHIVAL),
        ("Scoring (scorers, online scoring)", _SCORERS),
        ("The evaluation dataset API", _EVALUATION_DATASETS),
        ("The review workflow (issues, label schemas, review queues)", _REVIEW),
        ("The AI gateway", _GATEWAY),
        ("The MCP server registry", _MCP),
        ("The skill registry", _SKILLS),
    )
    for name, status in group.items()
    if status == NOT_SUPPORTED
}


def not_supported_message(feature: str) -> str:
    return f"{feature} is not supported by this store (Genesis-Flow) yet"


def not_supported(feature: str) -> MlflowException:
    """The answer to a call of a feature this store does not have: NOT_IMPLEMENTED (HTTP 501
    from ``mlflow server``), which MLflow's callers catch as the store's "no"."""
    return MlflowException(not_supported_message(feature), error_code=databricks_pb2.NOT_IMPLEMENTED)


# --- methods MLflow adds after these tables were written ----------------------------------------


def is_listing(name: str) -> bool:
    """MLflow's naming: ``list_*`` and ``search_*`` store methods return a listing."""
    return name.startswith(("list_", "search_"))


def empty_listing(method: Callable[..., Any]) -> Any:
    """What an empty store answers for a listing: ``([], None)`` where MLflow's method returns a
    (items, token) tuple, else an empty ``PagedList`` (a list, with no next-page token)."""
    returns = str(inspect.signature(method).return_annotation).removeprefix("typing.")
    if returns.lower().startswith("tuple"):
        return [], None
    return PagedList([], None)


def _answer_unknown(name: str, inherited: Callable[..., Any]) -> Any:
    if is_listing(name):
        return empty_listing(inherited)
    raise not_supported(name) from None


def _guarded(name: str, inherited: Callable[..., Any]) -> Callable[..., Any]:
    """MLflow's default for ``name``, with its ``NotImplementedError`` answered as this module's
    policy says; a method MLflow marks abstract has no default to run."""
    abstract = getattr(inherited, "__isabstractmethod__", False)
    if inspect.iscoroutinefunction(inherited):

        @functools.wraps(inherited)
        async def coroutine(self: Any, *args: Any, **kwargs: Any) -> Any:
            if abstract:
                return _answer_unknown(name, inherited)
            try:
                return await inherited(self, *args, **kwargs)
            except NotImplementedError:
                return _answer_unknown(name, inherited)

        return coroutine

    @functools.wraps(inherited)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if abstract:
            return _answer_unknown(name, inherited)
        try:
            return inherited(self, *args, **kwargs)
        except NotImplementedError:
            return _answer_unknown(name, inherited)

    return method


def unknown_calls(store: type, base: type) -> dict[str, Callable[..., Any]]:
    """The guarded version of every public method ``store`` inherits unchanged from MLflow's
    ``base`` (methods it defines itself, properties and static methods are left alone), for the
    store's module to install on its class."""
    guarded: dict[str, Callable[..., Any]] = {}
    for name in dir(base):
        inherited = inspect.getattr_static(base, name)
        if name.startswith("_") or not inspect.isfunction(inherited):
            continue
        if inspect.getattr_static(store, name) is inherited:
            guarded[name] = _guarded(name, inherited)
    return guarded


def refuse(feature: str) -> Callable[..., NoReturn]:
    """A store method that answers every call with :func:`not_supported` for ``feature``."""

    def method(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise not_supported(feature)

    method.__doc__ = f"Raises MlflowException(NOT_IMPLEMENTED): {not_supported_message(feature)}."
    return method


def install(store: type, methods: Mapping[str, Callable[..., Any]]) -> None:
    """Set ``methods`` on the class ``store``, named as its own."""
    for name, method in methods.items():
        method.__name__ = name
        method.__qualname__ = f"{store.__name__}.{name}"
        setattr(store, name, method)


# --- the model-registry store ------------------------------------------------------------------

# Every method of MLflow's registry store and what this store does with it: "implemented",
# "empty" (answers an empty listing: MLflow calls it on its own) or "not supported" (raises
# MlflowException NOT_IMPLEMENTED). tests/integration/test_plugin_registry.py walks this table.
REGISTRY_STORE_CALLS: dict[str, str] = {
    # MlflowClient and the fluent registry API (mlflow.register_model, models:/ loading), and the
    # registry endpoints of `mlflow server` and its UI.
    "create_registered_model": "implemented",
    "get_registered_model": "implemented",
    "update_registered_model": "implemented",
    "rename_registered_model": "implemented",
    "delete_registered_model": "implemented",
    "search_registered_models": "implemented",
    "get_latest_versions": "implemented",
    "set_registered_model_tag": "implemented",
    "delete_registered_model_tag": "implemented",
    "create_model_version": "implemented",
    "get_model_version": "implemented",
    "update_model_version": "implemented",
    "delete_model_version": "implemented",
    "transition_model_version_stage": "implemented",
    "get_model_version_download_uri": "implemented",
    "get_model_version_stages": "implemented",
    "search_model_versions": "implemented",
    "set_model_version_tag": "implemented",
    "delete_model_version_tag": "implemented",
    "set_registered_model_alias": "implemented",
    "delete_registered_model_alias": "implemented",
    "get_model_version_by_alias": "implemented",
    "copy_model_version": "implemented",
    # MlflowClient.create_model_version(await_creation_for=...): versions are READY at once.
    "_await_model_version_creation": "implemented",
    # Webhooks: `mlflow server` looks webhooks up after every registry write (webhook delivery) and
    # its UI lists them; the rest is the client's and the UI's webhook management.
    "list_webhooks": "empty",
    "list_webhooks_by_event": "empty",
    "create_webhook": "not supported",
    "get_webhook": "not supported",
    "update_webhook": "not supported",
    "delete_webhook": "not supported",
    "test_webhook": "not supported",
    # Prompts (mlflow.genai prompt registry, MlflowClient prompt methods, the UI's prompt pages).
    "search_prompts": "empty",
    "search_prompt_versions": "empty",
    "create_prompt": "not supported",
    "create_prompt_version": "not supported",
    "get_prompt": "not supported",
    "get_prompt_version": "not supported",
    "get_prompt_version_by_alias": "not supported",
    "delete_prompt": "not supported",
    "delete_prompt_version": "not supported",
    "set_prompt_tag": "not supported",
    "delete_prompt_tag": "not supported",
    "set_prompt_version_tag": "not supported",
    "delete_prompt_version_tag": "not supported",
    "set_prompt_alias": "not supported",
    "delete_prompt_alias": "not supported",
    "link_prompts_to_trace": "not supported",
    "link_prompt_version_to_model": "not supported",
    "link_prompt_version_to_run": "not supported",
}
