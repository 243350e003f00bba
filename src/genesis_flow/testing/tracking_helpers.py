"""Helpers of the tracking half of the contract suite: small builders, search shortcuts, profiles.

Searches take a parsed AST; :func:`runs` and :func:`experiments` parse MLflow's filter and
order-by strings so tests read like MLflow calls. Hypothesis settings come from the profile
tests/conftest.py loads (``GENESIS_HYPOTHESIS_PROFILE``: ``ci`` or ``dev``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from hypothesis import settings

from genesis_flow.core.entities import (
    Dataset,
    DatasetInput,
    DatasetRef,
    Experiment,
    InputTag,
    LoggedModel,
    Metric,
    Page,
    Run,
    RunTag,
    ViewType,
)
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import TrackingStore

T = TypeVar("T")

# --- Hypothesis profiles ---------------------------------------------------------------------------
# The profiles ("ci", "dev") are registered and loaded in tests/conftest.py.


def hypothesis_settings(**overrides: object) -> settings:
    """The active profile, with per-test overrides (e.g. fewer examples for a costly test)."""
    return settings(settings.default, **overrides)  # type: ignore[arg-type]


# --- builders --------------------------------------------------------------------------------------

BASE_TIME = 1_600_000_000_000


def new_experiment(tracking: TrackingStore, name: str = "exp", **kwargs: object) -> str:
    return tracking.create_experiment(name, **kwargs)  # type: ignore[arg-type]


def new_run(
    tracking: TrackingStore,
    experiment_id: str = "0",
    *,
    start_time: int | None = BASE_TIME,
    name: str | None = None,
    user_id: str = "alice",
    tags: Sequence[RunTag] = (),
) -> str:
    return tracking.create_run(experiment_id, user_id, start_time, tags=tags, run_name=name).info.run_id


def metric(key: str, value: float, timestamp: int = BASE_TIME, step: int = 0) -> Metric:
    return Metric(key=key, value=value, timestamp=timestamp, step=step)


def dataset(name: str = "train", digest: str = "d1", source: str = "s3://bucket/train") -> Dataset:
    return Dataset(name=name, digest=digest, source_type="s3", source=source)


def dataset_input(ds: Dataset, context: str | None = None, **tags: str) -> DatasetInput:
    items = [InputTag(k, val) for k, val in tags.items()]
    if context is not None:
        items.append(InputTag("mlflow.data.context", context))
    return DatasetInput(dataset=ds, tags=tuple(items))


def artifact_root(tracking: TrackingStore) -> str:
    """The store's artifact root, read off the default experiment's ``<root>/0`` location."""
    location = tracking.get_experiment("0").artifact_location
    assert location.endswith("/0"), location
    return location[: -len("/0")]


# --- searches ----------------------------------------------------------------------------------------


def runs(
    tracking: TrackingStore,
    experiment_ids: Sequence[str],
    flt: str = "",
    order: Sequence[str] = (),
    view: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[Run]:
    from genesis_flow.core.search import parse_filter, parse_order_by

    return tracking.search_runs(
        list(experiment_ids),
        filter=parse_filter(SearchKind.RUNS, flt),
        run_view_type=view,
        max_results=max_results,
        order_by=parse_order_by(SearchKind.RUNS, list(order)),
        page_token=page_token,
    )


def run_ids(page: Iterable[Run]) -> list[str]:
    return [r.info.run_id for r in page]


def experiments(
    tracking: TrackingStore,
    flt: str = "",
    order: Sequence[str] = (),
    view: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[Experiment]:
    from genesis_flow.core.search import parse_filter, parse_order_by

    return tracking.search_experiments(
        view_type=view,
        max_results=max_results,
        filter=parse_filter(SearchKind.EXPERIMENTS, flt),
        order_by=parse_order_by(SearchKind.EXPERIMENTS, list(order)),
        page_token=page_token,
    )


def names(page: Iterable[Experiment]) -> list[str]:
    return [e.name for e in page]


def all_pages(fetch: Callable[[str | None], Page[T]], limit: int = 10_000) -> list[T]:
    """Follow ``next_page_token`` from the first page to the last; concatenate the items."""
    items: list[T] = []
    token: str | None = None
    for _ in range(limit):
        page = fetch(token)
        items.extend(page.items)
        token = page.next_page_token
        if token is None:
            return items
    raise AssertionError("paging did not terminate")


def tampered(token: str) -> list[str]:
    """Plausible forgeries of a page token: truncated, one character changed, MLflow-shaped."""
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    forged = base64.b64encode(b'{"offset": 1}').decode()
    return [token[:middle], flipped, "garbage", forged]


def logged_models(
    tracking: TrackingStore,
    experiment_ids: Sequence[str],
    flt: str = "",
    order: Sequence[str] = (),
    datasets: Sequence[DatasetRef] = (),
    max_results: int | None = None,
    page_token: str | None = None,
) -> Page[LoggedModel]:
    from genesis_flow.core.search import parse_filter, parse_order_by

    return tracking.search_logged_models(
        list(experiment_ids),
        filter=parse_filter(SearchKind.LOGGED_MODELS, flt),
        datasets=list(datasets),
        max_results=max_results,
        order_by=parse_order_by(SearchKind.LOGGED_MODELS, list(order)),
        page_token=page_token,
    )
