"""MLflow's model-registry store on Genesis-Flow's :class:`~genesis_flow.ports.RegistryStore`.

``mlflow`` builds :class:`GenesisRegistryStore` for ``mongodb://`` and ``mongodb+srv://`` registry
URIs (entry-point group ``mlflow.model_registry_store``); ``MlflowClient``, ``mlflow.register_model``,
``models:/`` loading and ``mlflow server`` (its registry endpoints and UI) then call it. Every method
takes and returns what MLflow's own SQL store does (``mlflow.entities.model_registry`` objects,
``PagedList`` pages, ``MlflowException`` with MLflow's error codes), with these differences:

* versions carry their aliases everywhere, also in search results and ``latest_versions`` (MLflow's
  SQL store leaves them empty there);
* a ``models:/`` source is kept as given and resolved to its storage location (the logged model's
  artifact location, or the download URI of the version it names) when the download URI is asked
  for, where MLflow's store keeps the resolved location next to the source; it is checked at
  creation, as MLflow does;
* webhooks and prompts are not stored: the listings MLflow makes on its own (webhook delivery after
  each registry write, the UI's lists) are empty, everything else raises NOT_IMPLEMENTED; so does
  any method MLflow's base store gains later (``calls.unknown_calls``), or it answers empty for a
  listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
from mlflow.entities.model_registry import ModelVersionTag as MlflowModelVersionTag
from mlflow.entities.model_registry import RegisteredModel as MlflowRegisteredModel
from mlflow.entities.model_registry.prompt import Prompt
from mlflow.entities.model_registry.prompt_version import PromptVersion
from mlflow.entities.webhook import Webhook, WebhookEvent
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
)
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.logging_utils import eprint

from genesis_flow.core import registry as core
from genesis_flow.core.errors import GenesisError, InvalidParameterValue
from genesis_flow.core.search import SearchKind, parse_filter, parse_order_by, require_max_results
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.bootstrap import build_registry_store
from genesis_flow.entrypoints.plugin import convert as cv
from genesis_flow.entrypoints.plugin.calls import install, not_supported_message, refuse, unknown_calls
from genesis_flow.ports import RegistryStore

P = ParamSpec("P")
R = TypeVar("R")

# MLflow's tag constructor and eprint carry no annotations: called through Any here.
_VersionTag: Any = MlflowModelVersionTag
_eprint: Any = eprint


PROMPTS = "Prompts"
WEBHOOKS = "Webhooks"
PROMPTS_NOT_SUPPORTED = not_supported_message(PROMPTS)
WEBHOOKS_NOT_SUPPORTED = not_supported_message(WEBHOOKS)

# A models:/name/version source may name a version whose source is models:/... again.
_MAX_SOURCE_HOPS = 16


# --- arguments -----------------------------------------------------------------------------------


def _version_number(version: Any) -> int:
    """A version number from what MLflow passes (a string from the client and the server)."""
    try:
        return int(version)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"Parameter 'version' must be an integer, got '{version}'.") from None


def _order_by(order_by: Sequence[str] | None) -> list[str] | None:
    # `mlflow server` passes a protobuf repeated field.
    return None if order_by is None else [str(clause) for clause in order_by]


# --- the store -----------------------------------------------------------------------------------


class GenesisRegistryStore(AbstractStore):
    """MLflow's model-registry store backed by Genesis-Flow's registry port."""

    def __init__(self, store_uri: str, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)  # type: ignore[no-untyped-call]
        self.store_uri = store_uri
        self.tracking_uri = tracking_uri
        self._port: RegistryStore | None = None

    @property
    def port(self) -> RegistryStore:
        """The Genesis-Flow registry store behind this one (built on first use: cheap, the
        database client is shared per URI)."""
        if self._port is None:
            try:
                self._port = build_registry_store(self.store_uri)
            except GenesisError as error:
                raise cv.error_to_mlflow(error) from None
        return self._port

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # type: ignore[no-untyped-call]
        state["_port"] = None  # a database client does not pickle; it is rebuilt on use
        return state

    # --- registered models -----------------------------------------------------------------------

    @cv.translated
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> MlflowRegisteredModel:
        # deployment_job_id is a Databricks feature; MLflow's own stores ignore it too.
        created = self.port.create_registered_model(
            name, [S.registered_model_tag_to_core(t) for t in tags or ()], description
        )
        return S.registered_model_from_core(created, cv.ML)

    @cv.translated
    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> MlflowRegisteredModel:
        return S.registered_model_from_core(self.port.update_registered_model(name, description), cv.ML)

    @cv.translated
    def rename_registered_model(self, name: str, new_name: str) -> MlflowRegisteredModel:
        return S.registered_model_from_core(self.port.rename_registered_model(name, new_name), cv.ML)

    @cv.translated
    def delete_registered_model(self, name: str) -> None:
        self.port.delete_registered_model(name)

    @cv.translated
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[MlflowRegisteredModel]:
        # MLflow's SQL store fails on None with a bare TypeError; refused here as bad input.
        require_max_results(SearchKind.REGISTERED_MODELS, max_results)
        page = self.port.search_registered_models(
            filter=parse_filter(SearchKind.REGISTERED_MODELS, filter_string),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.REGISTERED_MODELS, _order_by(order_by)),
            page_token=page_token or None,
        )
        return PagedList([S.registered_model_from_core(m, cv.ML) for m in page.items], page.next_page_token)

    @cv.translated
    def get_registered_model(self, name: str) -> MlflowRegisteredModel:
        return S.registered_model_from_core(self.port.get_registered_model(name), cv.ML)

    @cv.translated
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[MlflowModelVersion]:
        stage_list = None if stages is None else [str(s) for s in stages]
        return [S.model_version_from_core(v, cv.ML) for v in self.port.get_latest_versions(name, stage_list)]

    @cv.translated
    def set_registered_model_tag(self, name: str, tag: Any) -> None:
        self.port.set_registered_model_tag(name, core.RegisteredModelTag(tag.key, tag.value))

    @cv.translated
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.port.delete_registered_model_tag(name, key)

    # --- model versions --------------------------------------------------------------------------

    @cv.translated
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> MlflowModelVersion:
        """The next version, READY at once. A ``models:/`` source must resolve (as in MLflow); a
        logged model's source run becomes the version's run when none is given."""
        if urlsplit(source).scheme == "models":
            try:
                _location, source_run_id = self._resolve_source(source)
            except Exception as error:
                raise MlflowException(
                    f"Unable to fetch model from model URI source artifact location '{source}'.Error: {error}"
                ) from error
            run_id = run_id or source_run_id
        if not run_id and model_id:
            run_id = self._logged_model(model_id).source_run_id
        created = self.port.create_model_version(
            name,
            source,
            run_id=run_id,
            tags=[S.model_version_tag_to_core(t) for t in tags or ()],
            run_link=run_link,
            description=description,
            model_id=model_id,
        )
        return S.model_version_from_core(created, cv.ML)

    @cv.translated
    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> MlflowModelVersion:
        updated = self.port.update_model_version(name, _version_number(version), description)
        return S.model_version_from_core(updated, cv.ML)

    @cv.translated
    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> MlflowModelVersion:
        moved = self.port.transition_model_version_stage(
            name, _version_number(version), stage, bool(archive_existing_versions)
        )
        return S.model_version_from_core(moved, cv.ML)

    @cv.translated
    def delete_model_version(self, name: str, version: str | int) -> None:
        self.port.delete_model_version(name, _version_number(version))

    @cv.translated
    def get_model_version(self, name: str, version: str | int) -> MlflowModelVersion:
        return S.model_version_from_core(self.port.get_model_version(name, _version_number(version)), cv.ML)

    @cv.translated
    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """The version's storage location: its source, or for a ``models:/`` source what that
        names (a logged model's artifact location, another version's download URI)."""
        source = self.port.get_model_version_download_uri(name, _version_number(version))
        if urlsplit(source).scheme != "models":
            return source
        try:
            location, _run_id = self._resolve_source(source)
        except MlflowException as error:
            raise MlflowException(
                f"Model version (name={name}, version={version}) was registered from '{source}',"
                f" which no longer resolves: {error.message}",
                error_code=ErrorCode.Value(error.error_code),
            ) from error
        return location

    def get_model_version_stages(self, name: str, version: str | int) -> list[str]:
        """The stages a version can be in (MlflowClient.get_model_version_stages)."""
        return [stage.value for stage in core.Stage]

    @cv.translated
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[MlflowModelVersion]:
        require_max_results(SearchKind.MODEL_VERSIONS, max_results)
        page = self.port.search_model_versions(
            filter=parse_filter(SearchKind.MODEL_VERSIONS, filter_string),
            max_results=max_results,
            order_by=parse_order_by(SearchKind.MODEL_VERSIONS, _order_by(order_by)),
            page_token=page_token or None,
        )
        return PagedList([S.model_version_from_core(v, cv.ML) for v in page.items], page.next_page_token)

    @cv.translated
    def set_model_version_tag(self, name: str, version: str | int, tag: Any) -> None:
        self.port.set_model_version_tag(
            name, _version_number(version), core.ModelVersionTag(tag.key, tag.value)
        )

    @cv.translated
    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self.port.delete_model_version_tag(name, _version_number(version), key)

    # --- aliases ---------------------------------------------------------------------------------

    @cv.translated
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self.port.set_registered_model_alias(name, alias, _version_number(version))

    @cv.translated
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.port.delete_registered_model_alias(name, alias)

    @cv.translated
    def get_model_version_by_alias(self, name: str, alias: str) -> MlflowModelVersion:
        return S.model_version_from_core(self.port.get_model_version_by_alias(name, alias), cv.ML)

    # --- copies and creation ---------------------------------------------------------------------

    def copy_model_version(self, src_mv: MlflowModelVersion, dst_name: str) -> MlflowModelVersion:
        """A new version of ``dst_name`` (created when missing) whose source is
        ``models:/<src name>/<src version>``, with the source version's run, tags, run link,
        description and logged model, as MLflow's stores do."""
        try:
            created = self.create_registered_model(dst_name)
            _eprint(f"Successfully registered model '{created.name}'.")
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            _eprint(f"Registered model '{dst_name}' already exists. Creating a new version of this model...")
        try:
            copy = self.create_model_version(
                name=dst_name,
                source=f"models:/{src_mv.name}/{src_mv.version}",
                run_id=src_mv.run_id,
                tags=[_VersionTag(k, v) for k, v in src_mv.tags.items()],
                run_link=src_mv.run_link,
                description=src_mv.description,
                model_id=src_mv.model_id,
            )
        except MlflowException as error:
            # MLflow's message and code (none: INTERNAL_ERROR).
            raise MlflowException(
                "Failed to create model version copy. The current model registry backend "
                f"may not yet support model version URI sources.\nError: {error}"
            ) from error
        _eprint(
            f"Copied version '{src_mv.version}' of model '{src_mv.name}'"
            f" to version '{copy.version}' of model '{copy.name}'."
        )
        return copy

    def _await_model_version_creation(self, mv: MlflowModelVersion, await_creation_for: int) -> None:
        """Nothing to wait for: a version is READY when create_model_version returns."""

    # --- models:/ sources ------------------------------------------------------------------------

    def _resolve_source(self, source: str) -> tuple[str, str | None]:
        """(storage location, source run id) of a ``models:/<model_id>`` or
        ``models:/<name>/<version>`` source, as MLflow's SQL store resolves it; any other form of
        ``models:/`` URI raises, as there."""
        from mlflow.store.artifact.utils.models import _parse_model_uri

        hops = 0
        while True:
            parsed = _parse_model_uri(source)
            if parsed.model_id is not None:
                model = self._logged_model(parsed.model_id)
                return str(model.artifact_location), model.source_run_id
            if parsed.name is None or parsed.version is None:
                raise MlflowException.invalid_parameter_value(
                    f"'{source}' names no model version: use models:/<model_id> or models:/<name>/<version>"
                )
            try:
                source = self.port.get_model_version_download_uri(
                    parsed.name, _version_number(parsed.version)
                )
            except GenesisError as error:
                raise cv.error_to_mlflow(error) from None
            hops += 1
            if urlsplit(source).scheme != "models":
                return source, None
            if hops >= _MAX_SOURCE_HOPS:
                raise MlflowException.invalid_parameter_value(
                    f"'{source}' does not resolve to a storage location within {_MAX_SOURCE_HOPS} steps"
                )

    def _logged_model(self, model_id: str) -> Any:
        # MLflow's store asks the tracking store behind MlflowClient; this one asks the tracking
        # URI it was built with, else the current one.
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.tracking_uri) if self.tracking_uri else MlflowClient()
        return client.get_logged_model(model_id)

    # --- webhooks: none are stored -------------------------------------------------------------------

    def list_webhooks(
        self, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Webhook]:
        return PagedList([], None)

    def list_webhooks_by_event(
        self, event: WebhookEvent, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Webhook]:
        return PagedList([], None)

    create_webhook = refuse(WEBHOOKS)
    get_webhook = refuse(WEBHOOKS)
    update_webhook = refuse(WEBHOOKS)
    delete_webhook = refuse(WEBHOOKS)
    test_webhook = refuse(WEBHOOKS)

    # --- prompts: none are stored ----------------------------------------------------------------

    def search_prompts(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Prompt]:
        return PagedList([], None)

    def search_prompt_versions(
        self, name: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[PromptVersion]:
        return PagedList([], None)

    create_prompt = refuse(PROMPTS)
    create_prompt_version = refuse(PROMPTS)
    get_prompt = refuse(PROMPTS)
    get_prompt_version = refuse(PROMPTS)
    get_prompt_version_by_alias = refuse(PROMPTS)
    delete_prompt = refuse(PROMPTS)
    delete_prompt_version = refuse(PROMPTS)
    set_prompt_tag = refuse(PROMPTS)
    delete_prompt_tag = refuse(PROMPTS)
    set_prompt_version_tag = refuse(PROMPTS)
    delete_prompt_version_tag = refuse(PROMPTS)
    set_prompt_alias = refuse(PROMPTS)
    delete_prompt_alias = refuse(PROMPTS)
    link_prompts_to_trace = refuse(PROMPTS)
    link_prompt_version_to_model = refuse(PROMPTS)
    link_prompt_version_to_run = refuse(PROMPTS)


# Last: what MLflow's base has and this class does not define (methods added upstream later).
install(GenesisRegistryStore, unknown_calls(GenesisRegistryStore, AbstractStore))
