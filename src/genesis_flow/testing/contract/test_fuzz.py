"""Seeded fuzzing through ``MlflowClient``: every backend answers hostile calls as the memory
store does, with MLflow's error codes, and keeps the same visible state.

Each episode (seeded by its number) makes an experiment, a run and a registered model with one
version on the backend and on a fresh memory store side by side, then sends a few hostile calls
(see tests/hostile.py) to both. For every call:

* an error is an ``MlflowException`` with an MLflow code meant for the caller's input, never
  INTERNAL_ERROR or TEMPORARILY_UNAVAILABLE, never a raw exception;
* the outcome (the value, or the error code) is the memory store's;
* read-backs (the run, its metric histories, the experiment's runs, the models) agree afterwards.

Ids the stores assign are compared through a map, as in the state machines. Problems are gathered
over every episode and reported together, each with the call that reproduces it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from attrs import define, field

from genesis_flow.adapters.memory import InMemoryRegistryStore, InMemoryTrackingStore
from genesis_flow.client import MlflowClient
from genesis_flow.core.entities import Param as CoreParam
from genesis_flow.core.entities import RunTag as CoreRunTag
from genesis_flow.core.errors import InternalError
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entities import Metric, Param, RunTag, ViewType
from genesis_flow.exceptions import MlflowException
from genesis_flow.ports import RegistryStore, TrackingStore
from genesis_flow.testing.backend import Backend
from genesis_flow.testing.hostile import (
    DANGEROUS_TEXTS,
    EXPERIMENT_IDS,
    JUNK_ORDER,
    MAX_RESULTS,
    METRIC_VALUES,
    PLAIN_FILTERS,
    RUN_IDS,
    STEPS,
    TIMESTAMPS,
    VERSIONS,
    Hostile,
)
from genesis_flow.testing.support import SteppedClock
from genesis_flow.testing.tracking_helpers import hypothesis_settings

# The codes a caller's mistake may give; anything else (INTERNAL_ERROR, TEMPORARILY_UNAVAILABLE)
# blames the server for the caller's input.
INPUT_ERROR_CODES = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_ALREADY_EXISTS",
        "INVALID_STATE",
        "BAD_REQUEST",
    }
)

pytestmark = pytest.mark.genesis_requires("tracking", "registry")
CALLS_PER_EPISODE = 6
EPISODES_PER_EXAMPLE = 1  # times the profile's examples (ci: 20 episodes, 120 random calls)
BASE_TIME = 1_700_000_000_000
# Fields whose value is a store's choice, not the caller's: equal on every store by construction
# or legitimately different (artifact locations carry the store's root).
_UNCOMPARED = frozenset({"artifact_uri", "artifact_location", "run_link"})
_ID_FIELDS = frozenset({"run_id", "run_uuid", "experiment_id"})


@define(frozen=True)
class Ref:
    """A reference to an entity of the episode, resolved to each store's own id."""

    kind: str  # "run" | "experiment"
    name: str

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name}>"


@define(frozen=True)
class TokenOf:
    """A page token forged from the token this store gives for ``search`` (max_results=1)."""

    search: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    seed: int

    def __repr__(self) -> str:
        return f"<forged token of {self.search}, seed {self.seed}>"


@define(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        shown = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs]
        return f"client.{self.method}({', '.join(shown)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else f"{text[:100]}...<{len(text)} chars>...{text[-30:]}"


_NEW_IDS: dict[str, Callable[[Any], str]] = {
    "create_experiment": str,
    "create_run": lambda run: str(run.info.run_id),
}


def _difference(left: Any, right: Any, path: str = "") -> str:
    """Where two normalized answers first differ, and how (memory's side first)."""
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)) and type(left) is type(right):
        for i, (a, b) in enumerate(zip(left, right, strict=False)):
            if a != b:
                label = a[0] if isinstance(a, tuple) and a and isinstance(a[0], str) else i
                return _difference(a, b, f"{path}/{label}")
        if len(left) != len(right):
            return f"at {path or '/'}: memory has {len(left)} items, backend {len(right)}"
    return f"at {path or '/'}: memory {_short(left)} / backend {_short(right)}"


@define
class Side:
    """One store pair behind a client, with the map from the reference's ids to its own."""

    client: MlflowClient
    ids: dict[Ref, str] = field(factory=dict)
    back: dict[str, str] = field(factory=dict)  # own id -> the reference's id

    def link(self, ref: Ref, own: str, reference: str) -> None:
        self.ids[ref] = own
        self.back[own] = reference

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.ids.get(value, f"unknown-{value.name}")
        if isinstance(value, TokenOf):
            return self._token(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _token(self, spec: TokenOf) -> str:
        try:
            page = getattr(self.client, spec.search)(
                *self.resolve(spec.args), **{k: self.resolve(v) for k, v in spec.kwargs}, max_results=1
            )
            real = page.token
        except Exception:
            real = None
        return Hostile(spec.seed).forged_token(real)

    def call(self, call: Call) -> Any:
        method = getattr(self.client, call.method)
        return method(*self.resolve(call.args), **{k: self.resolve(v) for k, v in call.kwargs})

    def norm(self, value: Any, name: str = "") -> Any:
        """``value`` in the reference's id space, comparable with ==."""
        if isinstance(value, float):
            return "nan" if math.isnan(value) else value
        if isinstance(value, str):
            return self.back.get(value, value) if name in _ID_FIELDS else value
        if isinstance(value, dict):
            return sorted((self.norm(k), self.norm(v, str(k))) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            items = [self.norm(v) for v in value]
            token = getattr(value, "token", None)
            return (items, token is not None) if hasattr(value, "token") else items
        if hasattr(value, "_properties"):  # an mlflow-shaped entity
            return (
                type(value).__name__,
                [(k, self.norm(v, k)) for k, v in value if k not in _UNCOMPARED],
            )
        return value


@define
class Problem:
    kind: str
    call: str
    detail: str


@define
class Episode:
    """The calls of one episode and what they created, to read back after each call."""

    number: int
    model: str
    metric_keys: list[str] = field(factory=list)
    models: list[str] = field(factory=list)
    runs: list[Ref] = field(factory=list)


def _client(tracking: TrackingStore, registry: RegistryStore) -> MlflowClient:
    client = MlflowClient(tracking_uri="memory:", registry_uri="memory:")
    # The client builds its stores from URIs; here it must drive the stores under test.
    client._tracking = tracking
    client._registry = registry
    return client


class Fuzz:
    def __init__(self, backend: Backend, reference_root: str) -> None:
        self.clock = SteppedClock()
        self.real = Side(_client(backend.make_tracking(self.clock), backend.make_registry(self.clock)))
        self.model = Side(
            _client(
                InMemoryTrackingStore(clock=self.clock, artifact_root=reference_root),
                InMemoryRegistryStore(clock=self.clock),
            )
        )
        self.problems: list[Problem] = []

    # --- one call on both sides -------------------------------------------------------------------

    def attempt(self, side: Side, call: Call, label: str) -> tuple[str, Any]:
        try:
            return ("ok", side.call(call))
        except MlflowException as error:
            if error.error_code not in INPUT_ERROR_CODES:
                self.problems.append(
                    Problem(f"{label}: {error.error_code}", str(call), _short(error.message)[:300])
                )
            return ("error", error.error_code)
        except Exception as error:
            self.problems.append(
                Problem(f"{label}: raw {type(error).__name__}", str(call), _short(str(error)))
            )
            return ("raw", type(error).__name__)

    def both(self, call: Call, *, compare: bool = True) -> tuple[tuple[str, Any], tuple[str, Any]]:
        self.clock.now += 1000
        expected = self.attempt(self.model, call, "memory")
        actual = self.attempt(self.real, call, "backend")
        new_id = _NEW_IDS.get(call.method)
        if new_id is not None and expected[0] == actual[0] == "ok":
            # A hostile create that worked: its id joins the map, so the answers compare.
            ref = Ref(call.method.removeprefix("create_"), f"new{len(self.model.ids)}")
            self.model.link(ref, new_id(expected[1]), new_id(expected[1]))
            self.real.link(ref, new_id(actual[1]), new_id(expected[1]))
        if compare:
            left = expected if expected[0] != "ok" else ("ok", self.model.norm(expected[1]))
            right = actual if actual[0] != "ok" else ("ok", self.real.norm(actual[1]))
            if left != right:
                self.problems.append(Problem("outcome differs", str(call), _difference(left, right)))
        return expected, actual

    def create(self, call: Call, ref: Ref, own_id: Callable[[Any], str]) -> None:
        expected, actual = self.both(call, compare=False)
        if expected[0] == actual[0] == "ok":
            self.model.link(ref, own_id(expected[1]), own_id(expected[1]))
            self.real.link(ref, own_id(actual[1]), own_id(expected[1]))
        if expected[0] != actual[0] or (expected[0] != "ok" and expected != actual):
            self.problems.append(
                Problem("outcome differs", str(call), f"memory {expected} / backend {actual}")
            )

    # --- episodes ---------------------------------------------------------------------------------

    def start(self, number: int) -> tuple[Episode, Ref, Ref]:
        """An experiment, a run and a model with one version, on both sides."""
        ep = Episode(number, model=f"fz{number}")
        experiment, run = Ref("experiment", f"e{number}"), Ref("run", f"r{number}")
        self.create(Call("create_experiment", (f"fz-{number}",)), experiment, str)
        self.create(
            Call("create_run", (experiment,), (("start_time", BASE_TIME + number), ("run_name", "r"))),
            run,
            lambda r: str(r.info.run_id),
        )
        ep.runs.append(run)
        self.both(Call("create_registered_model", (ep.model,)))
        self.both(Call("create_model_version", (ep.model, "s3://bucket/model"), (("run_id", run),)))
        ep.models.append(ep.model)
        return ep, experiment, run

    def play(self, ep: Episode, experiment: Ref, call: Call) -> None:
        if call.method in ("create_registered_model", "rename_registered_model"):
            ep.models.append(call.args[-1])
        if call.method in ("log_metric", "get_metric_history"):
            ep.metric_keys.append(call.args[1])
        expected, actual = self.both(call)
        # A write that failed on both sides changed nothing, except a batch that could be half
        # written: read back after the others.
        changed = "ok" in (expected[0], actual[0]) or call.method == "log_batch"
        if changed and not call.method.startswith(_READ_ONLY):
            self.read_back(ep, experiment, call)

    def episode(self, number: int) -> None:
        h = Hostile(number)
        ep, experiment, run = self.start(number)
        for _ in range(CALLS_PER_EPISODE):
            self.play(ep, experiment, self.hostile_call(h, ep, experiment, run))

    def sweep(self) -> None:
        """Every hostile value of the pools once, as the only hostile part of its call: the
        classes of input the random episodes may miss are tried on every run of the suite."""
        h = Hostile("sweep")
        ep, experiment, run = self.start(-1)
        ep.metric_keys.append("m")
        calls: list[Call] = []
        for entry in JUNK_ORDER:
            calls.append(Call("search_runs", ([experiment],), (("order_by", [entry]),)))
        for kind, method in _SEARCHES.items():
            calls.extend(Call(method, *_scope(method, experiment), (("order_by", [k]),)) for k in _EMPTY_KEYS)
            calls.extend(
                Call(method, *_scope(method, experiment), (("filter_string", f),))
                for f in PLAIN_FILTERS[kind]
            )
            calls.extend(
                Call(
                    method,
                    *_scope(method, experiment),
                    (("page_token", TokenOf(method, _scope(method, experiment)[0], (), seed)),),
                )
                for seed in range(9)
            )
        calls.extend(
            Call("log_metric", (run, "m", value), (("timestamp", BASE_TIME), ("step", 1)))
            for value in METRIC_VALUES
        )
        calls.extend(
            Call("log_metric", (run, "m", 0.5), (("timestamp", ts), ("step", 1))) for ts in TIMESTAMPS
        )
        calls.extend(
            Call("log_metric", (run, "m", 0.5), (("timestamp", BASE_TIME), ("step", step))) for step in STEPS
        )
        calls.extend(Call("set_tag", (run, "k", text)) for text in DANGEROUS_TEXTS)
        calls.extend(Call("log_param", (run, text, "v")) for text in DANGEROUS_TEXTS)
        calls.extend(Call("get_run", (run_id,)) for run_id in RUN_IDS)
        calls.extend(Call("set_tag", (run_id, "k", "v")) for run_id in RUN_IDS)
        calls.extend(Call("get_experiment", (experiment_id,)) for experiment_id in EXPERIMENT_IDS)
        calls.extend(
            Call("create_run", (experiment_id,), (("start_time", 1), ("run_name", "x")))
            for experiment_id in EXPERIMENT_IDS
        )
        calls.extend(Call("get_model_version", (ep.model, version)) for version in VERSIONS)
        calls.extend(Call("get_registered_model", (text,)) for text in DANGEROUS_TEXTS)
        calls.extend(Call("search_runs", ([experiment],), (("max_results", m),)) for m in MAX_RESULTS)
        calls.append(Call("search_runs", ([experiment],), (("filter_string", h.filter(SearchKind.RUNS)),)))
        for call in calls:
            self.play(ep, experiment, call)

    def hostile_call(self, h: Hostile, ep: Episode, experiment: Ref, run: Ref) -> Call:
        run_ref = run if h.chance(0.8) else h.choice(RUN_IDS)
        experiment_ref = experiment if h.chance(0.8) else h.choice(EXPERIMENT_IDS)
        model = ep.model if h.chance(0.6) else h.name()
        version = h.choice((1, "1", 2, *VERSIONS))
        kind = h.rng.randrange(20)
        if kind == 0:
            return Call("log_param", (run_ref, h.key(), h.text()))
        if kind == 1:
            return Call("set_tag", (run_ref, h.key(), h.text()))
        if kind in (2, 3):
            key = h.choice(("m", "loss", h.key()))
            ep.metric_keys.append(key)
            return Call(
                "log_metric",
                (run_ref, key, h.maybe(METRIC_VALUES, 0.5)),
                (("timestamp", h.maybe(TIMESTAMPS, BASE_TIME)), ("step", h.maybe(STEPS, 1))),
            )
        if kind == 4:
            key = h.choice(("m", h.key()))
            ep.metric_keys.append(key)
            metrics = [
                Metric(key, h.maybe(METRIC_VALUES, 1.5), h.maybe(TIMESTAMPS, BASE_TIME), h.maybe(STEPS, 2))
                for _ in range(h.rng.randrange(0, 3))
            ]
            params = [Param(h.key(), h.text()) for _ in range(h.rng.randrange(0, 3))]
            tags = [RunTag(h.key(), h.text()) for _ in range(h.rng.randrange(0, 3))]
            return Call("log_batch", (run_ref,), (("metrics", metrics), ("params", params), ("tags", tags)))
        if kind == 5:
            return Call("delete_tag", (run_ref, h.text()))
        if kind == 6:
            return Call(h.choice(("get_run", "delete_run", "restore_run")), (h.choice(RUN_IDS),))
        if kind in (7, 8):
            return self.search(h, "search_runs", ([experiment_ref],), SearchKind.RUNS)
        if kind == 9:
            return self.search(h, "search_experiments", (), SearchKind.EXPERIMENTS, view=True)
        if kind == 10:
            key = h.choice(("m", h.text()))
            ep.metric_keys.append(key)
            return Call("get_metric_history", (run_ref, key))
        if kind == 11:
            return Call(
                h.choice(("get_experiment", "delete_experiment", "restore_experiment")),
                (h.choice(EXPERIMENT_IDS),),
            )
        if kind == 12:
            return h.choice(
                (
                    Call("create_experiment", (h.text(),)),
                    Call("get_experiment_by_name", (h.text(),)),
                    Call("set_experiment_tag", (experiment_ref, h.text(), h.text())),
                    Call("rename_experiment", (experiment_ref, h.text())),
                )
            )
        if kind == 13:
            return h.choice(
                (
                    Call("create_registered_model", (h.text(),)),
                    Call("get_registered_model", (h.text(),)),
                    Call("rename_registered_model", (model, h.text())),
                    Call("set_registered_model_tag", (model, h.text(), h.text())),
                    Call("update_registered_model", (model,), (("description", h.text()),)),
                )
            )
        if kind == 14:
            return h.choice(
                (
                    Call("create_model_version", (model, h.text()), (("run_id", run_ref),)),
                    Call("get_model_version", (model, version)),
                    Call("set_model_version_tag", (model, version, h.text(), h.text())),
                    Call("transition_model_version_stage", (model, version, h.text())),
                    Call("delete_model_version", (model, version)),
                )
            )
        if kind == 15:
            return h.choice(
                (
                    Call("set_registered_model_alias", (model, h.text(), version)),
                    Call("get_model_version_by_alias", (model, h.text())),
                    Call("get_latest_versions", (model, [h.text()])),
                )
            )
        if kind == 16:
            return self.search(h, "search_registered_models", (), SearchKind.REGISTERED_MODELS)
        if kind == 17:
            return self.search(h, "search_model_versions", (), SearchKind.MODEL_VERSIONS)
        if kind == 18:
            return Call(
                "create_run",
                (experiment_ref,),
                (
                    ("start_time", h.choice((1, *TIMESTAMPS))),
                    ("tags", {h.text(): h.text()}),
                    ("run_name", h.text()),
                ),
            )
        return Call("update_run", (run_ref,), (("status", h.text()), ("name", h.text())))

    def search(
        self, h: Hostile, method: str, args: tuple[Any, ...], kind: SearchKind, view: bool = False
    ) -> Call:
        # Mostly one hostile part per search, so it is not refused for another part first.
        hostile = {h.rng.randrange(4)} if h.chance(0.8) else {0, 1, 2, 3}
        kwargs: dict[str, Any] = {"filter_string": h.filter(kind) if 0 in hostile else None}
        if 1 in hostile:
            kwargs["order_by"] = h.order_by(kind)
        if view:
            kwargs["view_type"] = ViewType.ALL
        if method == "search_runs":
            kwargs["run_view_type"] = ViewType.ALL
        if 2 in hostile:
            kwargs["max_results"] = h.max_results()
        if 3 in hostile:
            # A token for this very query (so its fingerprint is right), then edited.
            base = tuple(sorted(kwargs.items()))
            kwargs["page_token"] = TokenOf(method, args, base, h.rng.randrange(10**6))
        return Call(method, args, tuple(sorted(kwargs.items())))

    # --- read-backs -------------------------------------------------------------------------------

    def read_back(self, ep: Episode, experiment: Ref, after: Call) -> None:
        reads: list[Call] = [Call("search_runs", ([experiment],), (("run_view_type", ViewType.ALL),))]
        keys = [k for k in dict.fromkeys(ep.metric_keys) if isinstance(k, str)][-3:]
        for run in ep.runs:
            reads.extend(Call("get_metric_history", (run, key)) for key in keys)
        reads.extend(Call("get_registered_model", (name,)) for name in dict.fromkeys(ep.models))
        for read in reads:
            before = len(self.problems)
            self.both(read)
            for problem in self.problems[before:]:
                problem.call = f"{problem.call}, read after {after}"


_READ_ONLY = ("get_", "search_")
_SEARCHES = {
    SearchKind.RUNS: "search_runs",
    SearchKind.EXPERIMENTS: "search_experiments",
    SearchKind.REGISTERED_MODELS: "search_registered_models",
    SearchKind.MODEL_VERSIONS: "search_model_versions",
}
_EMPTY_KEYS = ("``", "params.``", "metrics.``", "tags.``", "attributes.``", "name.``")


def _scope(method: str, experiment: Ref) -> tuple[tuple[Any, ...]]:
    """The positional arguments of a search: the episode's experiment for runs, else none."""
    return (([experiment],),) if method == "search_runs" else ((),)


def episodes() -> int:
    return EPISODES_PER_EXAMPLE * hypothesis_settings().max_examples


def distinct(problems: Iterable[Problem]) -> list[str]:
    """One line per distinct (kind, first words of the detail, method)."""
    seen: dict[tuple[str, str, str], str] = {}
    for p in problems:
        method = p.call.split("(", 1)[0]
        key = (p.kind, p.detail[:60], method)
        seen.setdefault(key, f"[{p.kind}] {p.call}\n      -> {p.detail}")
    return list(seen.values())


def test_hostile_client_calls_agree_with_the_memory_store(backend: Backend, tmp_path: Any) -> None:
    fuzz = Fuzz(backend, str(tmp_path / "reference-root"))
    fuzz.sweep()
    for number in range(episodes()):
        fuzz.episode(number)
    found = distinct(fuzz.problems)
    assert not found, f"{len(found)} distinct problems:\n" + "\n".join(found)


# --- the fuzzer can fail ---------------------------------------------------------------------------


class _RawErrorOnDollarValues(InMemoryTrackingStore):
    """A driver error escaping the adapter."""

    def set_tag(self, run_id: str, tag: CoreRunTag) -> None:
        if "$" in tag.value:
            raise KeyError(tag.value)
        super().set_tag(run_id, tag)


class _InternalErrorOnDottedParamKeys(InMemoryTrackingStore):
    """The caller's input blamed on the server."""

    def log_param(self, run_id: str, param: CoreParam) -> None:
        if "." in param.key:
            raise InternalError(f"cannot store {param.key!r}")
        super().log_param(run_id, param)


class _ForgetsTags(InMemoryTrackingStore):
    """Answers like the reference but does not keep what it was given."""

    def set_tag(self, run_id: str, tag: CoreRunTag) -> None:
        self.get_run(run_id)


@pytest.mark.parametrize(
    ("broken", "kind"),
    [
        (_RawErrorOnDollarValues, "backend: raw KeyError"),
        (_InternalErrorOnDottedParamKeys, "backend: INTERNAL_ERROR"),
        (_ForgetsTags, "outcome differs"),
    ],
)
def test_fuzz_catches_a_store_that_misbehaves(
    broken: type[InMemoryTrackingStore], kind: str, tmp_path: Any
) -> None:
    backend = Backend(
        "broken",
        lambda clock: broken(clock=clock, artifact_root=str(tmp_path / "broken-root")),
        lambda clock: InMemoryRegistryStore(clock=clock),
    )
    fuzz = Fuzz(backend, str(tmp_path / "reference-root"))
    fuzz.sweep()
    assert kind in {p.kind for p in fuzz.problems}, distinct(fuzz.problems)
