"""Commands: what a store operation checks and works out before it touches its database, once.

Every adapter method used to open with the same lines (resolve ``max_results``, fingerprint the
query, decode the page token; validate each metric, param and tag of a batch, refuse changed params,
pick each key's latest point). Each copy could drift from the others, and the contract suite only
notices a drift on the inputs it happens to try. Here those rules are values: an adapter method
builds its command in one line, and the command has already raised the domain error for bad input.
The order of the checks is part of the rule (it decides which error a call with two mistakes
gets), so it lives here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from attrs import field, frozen

from genesis_flow.core import validation as v
from genesis_flow.core.entities import (
    DatasetInput,
    DatasetRef,
    Experiment,
    ExperimentTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelParameter,
    LoggedModelTag,
    Metric,
    Page,
    Param,
    RunTag,
    ViewType,
    metric_order_key,
)
from genesis_flow.core.errors import InvalidParameterValue
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.core.search.paging import (
    decode_page_token,
    page_after,
    query_fingerprint,
    resolve_max_results,
    scoped_fingerprint,
)

E = TypeVar("E")


@frozen
class PageRequest:
    """One page of a query: its size, where it starts, and the query it belongs to.

    ``limit`` None means every item from ``offset`` on, in one page (metric history without
    ``max_results``); ``limit`` 0 means an empty page with no next page (metric history with
    ``max_results=0``, which MLflow answers with an empty list). Build it with :meth:`search` or
    :meth:`metric_history`; both raise :class:`InvalidParameterValue` for a bad ``max_results``
    or page token.
    """

    limit: int | None
    offset: int
    fingerprint: str

    @classmethod
    def search(
        cls,
        kind: SearchKind,
        max_results: int | None,
        page_token: str | None,
        *query: object,
        experiment_ids: tuple[str, ...] | None = None,
    ) -> PageRequest:
        """The page of a ``kind`` search; ``query`` (and ``experiment_ids``, the scope of a
        search inside experiments) is everything that defines the result, so a token is refused
        by any other query; in MLflow's words when the experiments changed."""
        limit = resolve_max_results(kind, max_results)
        if experiment_ids is None:
            fingerprint = query_fingerprint(kind, *query)
            return cls(limit, decode_page_token(page_token, fingerprint), fingerprint)
        fingerprint = scoped_fingerprint(experiment_ids, kind, *query)
        scope_changed = (
            "Experiment IDs in the page token do not match the requested experiment IDs. "
            f"Expected: {list(experiment_ids)}"
        )
        return cls(limit, decode_page_token(page_token, fingerprint, scope_changed), fingerprint)

    @classmethod
    def metric_history(
        cls, run_id: str, metric_key: str, max_results: int | None, page_token: str | None
    ) -> PageRequest:
        # 0 asks for nothing, as MLflow's SQL store answers it; a negative size has no meaning
        # (MLflow's answer to one depends on its database's LIMIT).
        if max_results is not None and max_results < 0:
            raise InvalidParameterValue(f"max_results must not be negative, got {max_results}")
        v.validate_lookup("run_id", run_id)
        v.validate_lookup("metric_key", metric_key)
        fingerprint = query_fingerprint("metric-history", run_id, metric_key)
        return cls(max_results, decode_page_token(page_token, fingerprint), fingerprint)

    @property
    def fetch(self) -> int | None:
        """How many rows to ask the database for at ``offset``: one more than the page holds,
        so the answer also says whether a next page exists; None for no limit."""
        return None if self.limit is None else self.limit + 1

    def page(self, rows: Sequence[E], more: bool | None = None) -> Page[E]:
        """The page from what a query for :attr:`fetch` rows at :attr:`offset` returned.

        ``more`` says whether a row beyond the page was found; by default, whether ``rows`` holds
        more than :attr:`limit` items (the extra one is dropped).
        """
        if self.limit is None:
            return Page(items=tuple(rows))
        if self.limit == 0:
            return Page(items=())
        if more is None:
            more = len(rows) > self.limit
        return page_after(rows[: self.limit], more, self.limit, self.offset, self.fingerprint)

    def slice(self, items: Sequence[E]) -> Page[E]:
        """The page of a whole result already filtered and sorted in memory."""
        end = len(items) if self.limit is None else self.offset + self.limit + 1
        return self.page(items[self.offset : end])


def _experiment_scope(experiment_ids: Iterable[object]) -> tuple[str, ...]:
    return tuple(sorted(set(v.experiment_ids(experiment_ids))))


@frozen
class ExperimentSearch:
    """A search inside experiments (runs, logged models, traces): the experiments, sorted and
    unique, and the page. The checks run in MLflow's order: ``max_results``, the experiment ids,
    the datasets, then the page token."""

    experiment_ids: tuple[str, ...]
    page: PageRequest

    @classmethod
    def runs(
        cls,
        experiment_ids: Sequence[str],
        filter: Filter,
        run_view_type: ViewType,
        max_results: int | None,
        order_by: Sequence[OrderBy],
        page_token: str | None,
    ) -> ExperimentSearch:
        kind = SearchKind.RUNS
        resolve_max_results(kind, max_results)
        wanted = _experiment_scope(experiment_ids)
        page = PageRequest.search(
            kind, max_results, page_token, run_view_type, filter, tuple(order_by), experiment_ids=wanted
        )
        return cls(wanted, page)

    @classmethod
    def logged_models(
        cls,
        experiment_ids: Sequence[str],
        filter: Filter,
        datasets: Sequence[DatasetRef],
        max_results: int | None,
        order_by: Sequence[OrderBy],
        page_token: str | None,
    ) -> ExperimentSearch:
        kind = SearchKind.LOGGED_MODELS
        resolve_max_results(kind, max_results)
        wanted = _experiment_scope(experiment_ids)
        v.validate_lookups("datasets", (d.name for d in datasets))
        v.validate_lookups("datasets", (d.digest for d in datasets))
        page = PageRequest.search(
            kind, max_results, page_token, filter, tuple(datasets), tuple(order_by), experiment_ids=wanted
        )
        return cls(wanted, page)

    @classmethod
    def traces(
        cls,
        experiment_ids: Sequence[str],
        filter: Filter,
        max_results: int | None,
        order_by: Sequence[OrderBy],
        page_token: str | None,
    ) -> ExperimentSearch:
        kind = SearchKind.TRACES
        resolve_max_results(kind, max_results)
        wanted = _experiment_scope(experiment_ids)
        page = PageRequest.search(
            kind, max_results, page_token, filter, tuple(order_by), experiment_ids=wanted
        )
        return cls(wanted, page)


def latest_points(metrics: Iterable[Metric]) -> dict[str, Metric]:
    """Each key's latest point among ``metrics`` by MLflow's rule (greatest step, timestamp,
    value, NaN counted as 0); of equal points the first wins, so the answer does not depend on
    which adapter computed it."""
    latest: dict[str, Metric] = {}
    for m in metrics:
        current = latest.get(m.key)
        if current is None or metric_order_key(m) > metric_order_key(current):
            latest[m.key] = m
    return latest


def _validated(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> None:
    v.validate_log_batch(
        [(m.key, m.value, m.timestamp, m.step) for m in metrics],
        [(p.key, p.value) for p in params],
        [(tag.key, tag.value) for tag in tags],
    )


@frozen
class LogBatch:
    """A ``log_batch`` that passed every check that needs no stored state: each metric, param and
    tag (MLflow's messages, with ``metrics[3]``-style paths), the batch limits and unique param
    keys. What it still needs the store for is :meth:`new_params` (params already stored)."""

    metrics: tuple[Metric, ...]
    params: tuple[Param, ...]
    tags: tuple[RunTag, ...]
    latest: Mapping[str, Metric] = field(eq=False, hash=False)
    """Each key's latest point in the batch (:func:`latest_points`)."""
    model_ids: tuple[str, ...]
    """The logged models the metrics link to, sorted and unique; their ids are valid lookups."""

    @classmethod
    def prepare(
        cls, metrics: Sequence[Metric] = (), params: Sequence[Param] = (), tags: Sequence[RunTag] = ()
    ) -> LogBatch:
        """Raises:
        InvalidParameterValue: any item is invalid, a limit is exceeded, or a param key repeats.
        """
        _validated(metrics, params, tags)
        model_ids = tuple(sorted({m.model_id for m in metrics if m.model_id is not None}))
        v.validate_lookups("model_id", model_ids)
        return cls(tuple(metrics), tuple(params), tuple(tags), latest_points(metrics), model_ids)

    @property
    def tag_values(self) -> dict[str, str]:
        """The tags as a mapping; of a key given twice, the last value wins."""
        return {tag.key: tag.value for tag in self.tags}

    def new_params(self, run_id: str, stored: Mapping[str, str]) -> tuple[Param, ...]:
        """The batch's params not stored yet, given the run's ``stored`` params.

        Raises:
            InvalidParameterValue: a param is stored with another value (params never change);
                the message lists every such param, as MLflow's does.
        """
        conflicts = [p for p in self.params if p.key in stored and stored[p.key] != p.value]
        if conflicts:
            raise v.changed_params_error(run_id, [(p.key, stored[p.key], p.value) for p in conflicts])
        return tuple(p for p in self.params if p.key not in stored)


@frozen
class ImportedRun:
    """A run's metric history as migration imports it: every point checked, each distinct point
    once (first copy wins) and each key's latest point."""

    points: tuple[Metric, ...]
    latest: Mapping[str, Metric] = field(eq=False, hash=False)

    @classmethod
    def prepare(
        cls, run_id: str, params: Sequence[Param], tags: Sequence[RunTag], metric_history: Sequence[Metric]
    ) -> ImportedRun:
        """Raises:
        InvalidParameterValue: the run id, a metric point, a param or a tag is invalid.
        """
        v.validate_lookup("run_id", run_id)
        for m in metric_history:
            v.validate_metric(m.key, m.value, m.timestamp, m.step)
        for p in params:
            v.validate_param(p.key, p.value)
        for tag in tags:
            v.validate_run_tag(tag.key, tag.value)
        points: dict[tuple[object, ...], Metric] = {}
        for m in metric_history:
            points.setdefault(m.identity, m)
        return cls(tuple(points.values()), latest_points(points.values()))


# The highest code point, and the surrogate block no stored text can hold (validate_text refuses
# lone surrogates), which the successor of a prefix skips.
_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


@frozen
class RunIdPrefix:
    """``run_ids_with_prefix``'s checked arguments, and the id range the prefix stands for.

    Every id that starts with ``prefix`` lies in ``[prefix, upper)`` in code-point order (the
    order of Python strings, of UTF-8 bytes, of SQLite's BINARY and PostgreSQL's "C" collation,
    and of MongoDB's string comparison), and nothing else does; so a store asks its id index for
    that range instead of a LIKE or a regex, whose wildcards a prefix would have to escape.
    """

    prefix: str
    limit: int

    @classmethod
    def of(cls, prefix: object, limit: object) -> RunIdPrefix:
        """Raises:
        InvalidParameterValue: ``prefix`` is not non-empty storable text, or ``limit`` is not an
        integer of at least 1.
        """
        if not isinstance(prefix, str) or not prefix:
            raise InvalidParameterValue(f"A run id prefix must be a non-empty string, got {prefix!r}")
        v.validate_lookup("run_id", prefix)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidParameterValue(f"limit must be a positive integer, got {limit!r}")
        return cls(prefix, limit)

    @property
    def upper(self) -> str | None:
        """The least string above every id with the prefix; None when there is none (a prefix of
        nothing but the highest code point), and the range is open above."""
        stem = self.prefix.rstrip(chr(_MAX_CHAR))
        if not stem:
            return None
        following = ord(stem[-1]) + 1
        if following in _SURROGATES:
            following = _SURROGATES.stop
        return stem[:-1] + chr(following)

    def matches(self, run_id: str) -> bool:
        return run_id.startswith(self.prefix)


def check_new_experiment(name: str, artifact_location: str | None, tags: Sequence[ExperimentTag]) -> None:
    """``create_experiment``'s checks, in MLflow's order: the name, the location, each tag.

    Raises:
        InvalidParameterValue: the first that fails.
    """
    v.validate_experiment_name(name)
    v.validate_artifact_location(artifact_location)
    for tag in tags:
        v.validate_experiment_tag(tag.key, tag.value)


def check_imported_experiment(experiment: Experiment) -> None:
    """``import_experiment``'s checks: the id, the name, each tag (the location is kept as given).

    Raises:
        InvalidParameterValue: the first that fails.
    """
    if v.experiment_id(experiment.experiment_id) != experiment.experiment_id:
        raise InvalidParameterValue(
            f"Invalid experiment ID '{experiment.experiment_id}': an imported id is written as"
            f" stores write ids, '{v.experiment_id(experiment.experiment_id)}'."
        )
    v.validate_experiment_name(experiment.name)
    for tag in experiment.tags:
        v.validate_experiment_tag(tag.key, tag.value)


def check_run_inputs(datasets: Sequence[DatasetInput], models: Sequence[LoggedModelInput]) -> None:
    """``log_inputs``' checks: each dataset's fields and input tags, then the model ids.

    Raises:
        InvalidParameterValue: the first that fails.
    """
    for item in datasets:
        d = item.dataset
        v.validate_dataset_fields(d.name, d.digest, d.source_type, d.source, d.schema, d.profile)
        for tag in item.tags:
            v.validate_input_tag(tag.key, tag.value)
    v.validate_lookups("model_id", (m.model_id for m in models))


def check_new_logged_model(
    name: str | None,
    source_run_id: str | None,
    tags: Sequence[LoggedModelTag],
    params: Sequence[LoggedModelParameter],
) -> None:
    """``create_logged_model``'s checks: the name, the source run id, each tag, each param.

    Raises:
        InvalidParameterValue: the first that fails.
    """
    v.validate_logged_model_name(name)
    v.validate_lookup("source_run_id", source_run_id)
    for tag in tags:
        v.validate_run_tag(tag.key, tag.value)
    for param in params:
        v.validate_param(param.key, param.value)


@frozen
class NewLoggedModel:
    """A ``create_logged_model`` call that passed its checks (:func:`check_new_logged_model`);
    :meth:`build` makes the model once the store has its id and the experiment."""

    name: str | None
    source_run_id: str | None
    tags: tuple[LoggedModelTag, ...]
    params: tuple[LoggedModelParameter, ...]
    model_type: str | None

    @classmethod
    def checked(
        cls,
        name: str | None,
        source_run_id: str | None,
        tags: Sequence[LoggedModelTag],
        params: Sequence[LoggedModelParameter],
        model_type: str | None,
    ) -> NewLoggedModel:
        """Raises InvalidParameterValue as :func:`check_new_logged_model` says."""
        check_new_logged_model(name, source_run_id, tags, params)
        return cls(name, source_run_id, tuple(tags), tuple(params), model_type)

    def build(self, unique_id: str, experiment_id: str, experiment_location: str, now: int) -> LoggedModel:
        """The model, as :meth:`LoggedModel.new` makes it in that experiment."""
        return LoggedModel.new(
            unique_id,
            experiment_id,
            experiment_location,
            now,
            self.name,
            self.source_run_id,
            self.tags,
            self.params,
            self.model_type,
        )


@frozen
class LoggedModelParams:
    """A ``log_logged_model_params`` call that passed the checks needing no stored state: each
    param, and no key twice. What it still needs the store for is :meth:`new_params`."""

    params: tuple[LoggedModelParameter, ...]

    @classmethod
    def prepare(cls, params: Sequence[LoggedModelParameter]) -> LoggedModelParams:
        """Raises:
        InvalidParameterValue: a param is invalid or a key repeats.
        """
        for param in params:
            v.validate_param(param.key, param.value)
        v.validate_unique_param_keys([p.key for p in params])
        return cls(tuple(params))

    def new_params(self, model_id: str, stored: Mapping[str, str]) -> tuple[LoggedModelParameter, ...]:
        """The params not stored yet, given the model's ``stored`` params.

        Raises:
            InvalidParameterValue: a param is stored with another value (the first such, as
                MLflow reports it).
        """
        for p in self.params:
            if p.key in stored and stored[p.key] != p.value:
                raise InvalidParameterValue(
                    f"Changing param values is not allowed. Param with key='{p.key}' was already"
                    f" logged with value='{stored[p.key]}' for logged model ID='{model_id}'."
                )
        return tuple(p for p in self.params if p.key not in stored)
