"""Store methods a newer mlflow adds that the plugin does not know: they answer as calls.py says
(NOT_IMPLEMENTED, or empty for a listing), never with the base class's bare NotImplementedError,
which ``mlflow server`` turns into HTTP 500."""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("mlflow")

from mlflow.exceptions import MlflowException
from mlflow.server import handlers
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore as RegistryBase
from mlflow.store.tracking.abstract_store import AbstractStore as TrackingBase

from genesis_flow.entrypoints.plugin.calls import (
    EMPTY,
    NOT_SUPPORTED,
    TRACKING_STORE_CALLS,
    install,
    unknown_calls,
)
from genesis_flow.entrypoints.plugin.registry import GenesisRegistryStore
from genesis_flow.entrypoints.plugin.tracking import GenesisTrackingStore

STORES = [
    pytest.param((GenesisTrackingStore, TrackingBase, "genesis+memory:"), id="tracking"),
    # Building the registry store opens nothing: its database client is made on first use.
    pytest.param((GenesisRegistryStore, RegistryBase, "mongodb://127.0.0.1:1/never_used"), id="registry"),
]


class NewerBase:
    """What a newer MLflow's base store might add, in its usual shapes."""

    def create_widget(self, name: str) -> Any:
        raise NotImplementedError(self.__class__.__name__)

    def search_widgets(self, filter_string: str | None = None) -> PagedList[Any]:
        raise NotImplementedError(self.__class__.__name__)

    def search_widget_pairs(self) -> tuple[list[Any], str | None]:
        raise NotImplementedError(self.__class__.__name__)

    @abc.abstractmethod
    def get_gadget(self, gadget_id: str) -> Any:
        """Abstract with no body: MLflow's default would answer None."""

    async def log_widgets_async(self, widgets: list[Any]) -> list[Any]:
        raise NotImplementedError(self.__class__.__name__)

    def describe_widgets(self, prefix: str) -> str:
        return f"{prefix}: {type(self).__name__}"  # a working default stays as MLflow wrote it


NEWER = {name: method for name, method in vars(NewerBase).items() if not name.startswith("_")}


def _public_functions(base: type) -> set[str]:
    return {
        n for n in dir(base) if not n.startswith("_") and inspect.isfunction(inspect.getattr_static(base, n))
    }


@pytest.fixture(params=STORES)
def newer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A plugin store as the plugin's module builds it when the installed mlflow's base store has
    the methods of NEWER, which no table of calls.py knows."""
    store_class, base, uri = request.param
    for name, method in NEWER.items():
        monkeypatch.setattr(base, name, method, raising=False)
    guarded = unknown_calls(store_class, base)
    assert set(NEWER) <= set(guarded)
    for name, method in guarded.items():
        monkeypatch.setattr(store_class, name, method)
    return store_class(uri)


@pytest.mark.parametrize("spec", STORES)
def test_no_method_of_mlflows_base_store_is_inherited_unguarded(spec: tuple[type, type, str]) -> None:
    store_class, base, _uri = spec
    assert _public_functions(base) <= set(vars(store_class))
    assert unknown_calls(store_class, base) == {}  # installing twice changes nothing


def test_an_unknown_write_or_lookup_raises_not_implemented(newer: Any) -> None:
    calls: list[Callable[[], Any]] = [lambda: newer.create_widget("w"), lambda: newer.get_gadget("g")]
    for call in calls:
        with pytest.raises(MlflowException) as caught:
            call()
        assert caught.value.error_code == "NOT_IMPLEMENTED"
        assert caught.value.message.endswith("is not supported by this store (Genesis-Flow) yet")
    with pytest.raises(MlflowException, match=r"^log_widgets_async is not supported"):
        asyncio.run(newer.log_widgets_async([]))


def test_an_unknown_listing_is_empty_in_its_shape(newer: Any) -> None:
    page = newer.search_widgets(filter_string="name = 'x'")
    assert isinstance(page, PagedList) and list(page) == [] and page.token is None
    assert newer.search_widget_pairs() == ([], None)


def test_an_unknown_method_with_a_working_default_runs_it(newer: Any) -> None:
    assert newer.describe_widgets("kind") == f"kind: {type(newer).__name__}"
    assert "prefix" in inspect.signature(newer.describe_widgets).parameters  # callers may inspect it


def test_mlflow_server_answers_an_unknown_call_with_501_not_500(newer: Any) -> None:
    # Every handler of `mlflow server` is wrapped so: an MlflowException becomes its HTTP status,
    # anything else (a bare NotImplementedError) escapes as 500.
    catching: Any = handlers.catch_mlflow_exception  # untyped in mlflow
    response = catching(lambda: newer.create_widget("w"))()
    assert response.status_code == 501
    assert response.get_json()["error_code"] == "NOT_IMPLEMENTED"


def test_skill_registry_calls_are_known_before_mlflow_has_them() -> None:
    skills = {n: s for n, s in TRACKING_STORE_CALLS.items() if "skill" in n}
    assert {n for n, s in skills.items() if s == EMPTY} == {"search_skills", "search_skill_versions"}
    assert len(skills) == 20 and set(skills.values()) == {EMPTY, NOT_SUPPORTED}
    store: Any = GenesisTrackingStore("genesis+memory:")  # the methods are installed, not declared
    for name in ("search_skills", "search_skill_versions"):
        page = getattr(store, name)("s")
        assert isinstance(page, PagedList) and list(page) == [] and page.token is None
    with pytest.raises(MlflowException, match=r"^The skill registry is not supported") as caught:
        store.create_skill("s")
    assert caught.value.error_code == "NOT_IMPLEMENTED"


def test_install_names_the_methods_as_the_class_own() -> None:
    class Store:
        pass

    install(Store, {"ping": lambda self: "pong"})
    assert Store().ping() == "pong"  # type: ignore[attr-defined]
    assert Store.ping.__qualname__ == "Store.ping"  # type: ignore[attr-defined]
