"""Realistic user scripts, run unchanged against real ``mlflow`` and against ``genesis_flow``.

Each script is a function ``script(api, obs)``: ``api`` is the imported module (``mlflow`` or
``genesis_flow``), used exactly as a user would (fluent functions, ``api.MlflowClient()``,
``api.exceptions.MlflowException``); ``obs`` is an :class:`Observer` that turns what the script
sees into plain, JSON-like data. The observation keeps everything a user can observe (entities,
search results and their order, metric histories, errors and their codes) and normalizes only
what legitimately depends on the environment:

- run ids, experiment ids and other generated ids become stable labels given when the script
  creates the entity (an id never labelled gets ``id-<n>`` in order of first sight);
- wall-clock times become ``"<now>"`` when they fall inside the script's run time (explicit
  times the script chose are kept), and order relations (end >= start) are recorded instead;
- absolute paths become ``<tmp>``-relative; the name of the product's default artifact folder
  (``mlruns`` for MLflow, ``genesis-artifacts`` for us) becomes ``<default-root>``;
- the values of the ``mlflow.user`` / ``mlflow.source.*`` system tags become ``"<present>"``,
  and MLflow's generated run names (``adjective-noun-123``) become ``"<generated>"``;
- floats that are not finite become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
  (so observations compare with ``==``).

An error is observed as ``{"error": family, "code": error_code}``: ``family`` is
``"MlflowException"`` for any ``api.exceptions.MlflowException`` (subclasses included), else the
nearest built-in exception class name.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

# Environment-dependent system tags: presence is compared, values are not.
ENV_TAGS = frozenset(
    {
        "mlflow.user",
        "mlflow.source.name",
        "mlflow.source.type",
        "mlflow.gitRepoURL",
    }
)
# Git tags: MLflow sets them only when GitPython is installed, we read the repository's files
# ourselves; whether they appear depends on the environment, so they are left out.
GIT_TAGS = frozenset({"mlflow.source.git.commit", "mlflow.source.git.branch", "mlflow.source.git.repoURL"})
DEFAULT_ROOTS = frozenset({"mlruns", "mlartifacts", "genesis-artifacts"})
GENERATED_NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")
NOW_SLACK_MS = 2_000
# Explicit times the scripts choose: far from "now", so they are never mistaken for it.
BASE_TIME = 1_600_000_000_000


class Observer:
    """Normalizes what a script observes; ``data`` is the observation (filled as the script runs,
    so a script that crashes half-way still yields what it saw until then)."""

    def __init__(self, api: Any, workdir: Path) -> None:
        self.api = api
        self.workdir = workdir
        self.data: dict[str, Any] = {}
        # MLflow's Default experiment is "0" in every store.
        self.labels: dict[str, str] = {"0": "exp-default"}
        self.started_ms = int(time.time() * 1000)
        roots = {str(workdir), os.path.realpath(workdir)}
        self._roots = sorted(roots, key=len, reverse=True)

    # --- recording ------------------------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.data:
            raise KeyError(f"observation key {key!r} recorded twice")
        self.data[key] = value

    def attempt(self, fn: Callable[[], Any], then: Callable[[Any], Any] | None = None) -> Any:
        """``{"ok": then(fn())}``, or the error as ``{"error": family, "code": error_code}``."""
        try:
            value = fn()
        except Exception as exc:
            return self.error(exc)
        return {"ok": then(value) if then is not None else value}

    def error(self, exc: BaseException) -> dict[str, Any]:
        mlflow_exception = self.api.exceptions.MlflowException
        if isinstance(exc, mlflow_exception):
            return {"error": "MlflowException", "code": exc.error_code}
        family = next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
        return {"error": family, "code": None}

    # --- ids, times, paths, numbers -----------------------------------------------------------

    def label(self, value: Any, name: str) -> str:
        self.labels[str(value)] = name
        return name

    def id(self, value: Any) -> str | None:
        if value is None:
            return None
        key = str(value)
        if key not in self.labels:
            self.labels[key] = f"id-{len(self.labels)}"
        return self.labels[key]

    def time(self, value: Any) -> Any:
        if value is None:
            return None
        now = int(time.time() * 1000)
        if self.started_ms - NOW_SLACK_MS <= int(value) <= now + NOW_SLACK_MS:
            return "<now>"
        return int(value)

    def path(self, value: Any) -> Any:
        """A URI or path with the workdir, ids and the default artifact folder name normalized."""
        if value is None:
            return None
        text = str(value)
        for root in self._roots:
            text = text.replace(root, "<tmp>")
        parts = text.split("/")
        out = []
        for i, part in enumerate(parts):
            if part in self.labels:
                out.append(self.labels[part])
            elif part in DEFAULT_ROOTS and i > 0 and parts[i - 1] == "<tmp>":
                out.append("<default-root>")
            else:
                out.append(part)
        return "/".join(out)

    @staticmethod
    def num(value: Any) -> Any:
        if isinstance(value, float):
            if math.isnan(value):
                return "NaN"
            if math.isinf(value):
                return "Infinity" if value > 0 else "-Infinity"
        return value

    # --- entities -------------------------------------------------------------------------------

    def tags(self, tags: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in sorted(tags.items()):
            if key in GIT_TAGS:
                continue
            if key in ENV_TAGS:
                out[key] = "<present>"
            elif key == "mlflow.parentRunId":
                out[key] = self.id(value)
            elif key == "mlflow.runName" and GENERATED_NAME.match(value):
                out[key] = "<generated>"
            else:
                out[key] = self.text(value)
        return out

    def run_name(self, name: str | None) -> str | None:
        return "<generated>" if name and GENERATED_NAME.match(name) else name

    def run(self, run: Any) -> dict[str, Any]:
        info, data = run.info, run.data
        return {
            "run_id": self.id(info.run_id),
            "experiment_id": self.id(info.experiment_id),
            "run_name": self.run_name(info.run_name),
            "status": info.status,
            "lifecycle_stage": info.lifecycle_stage,
            "start_time": self.time(info.start_time),
            "end_time": self.time(info.end_time),
            "ended_after_start": None if info.end_time is None else info.end_time >= info.start_time,
            "artifact_uri": self.path(info.artifact_uri),
            "user_id": "<present>" if info.user_id else info.user_id,
            "params": {k: self.text(v) for k, v in sorted(data.params.items())},
            "metrics": {k: self.num(v) for k, v in sorted(data.metrics.items())},
            "tags": self.tags(data.tags),
            "inputs": self.inputs(run),
        }

    def inputs(self, run: Any) -> Any:
        inputs = getattr(run, "inputs", None)
        if inputs is None:
            return None
        return [
            {
                "name": d.dataset.name,
                "digest": d.dataset.digest,
                "source_type": d.dataset.source_type,
                "source": d.dataset.source,
                "schema": d.dataset.schema,
                "profile": d.dataset.profile,
                "tags": {t.key: t.value for t in d.tags},
            }
            for d in inputs.dataset_inputs
        ]

    def run_ids(self, runs: Any) -> list[str | None]:
        return [self.id(r.info.run_id) for r in runs]

    def experiment(self, exp: Any) -> dict[str, Any] | None:
        if exp is None:
            return None
        return {
            "experiment_id": self.id(exp.experiment_id),
            "name": exp.name,
            "artifact_location": self.path(exp.artifact_location),
            "lifecycle_stage": exp.lifecycle_stage,
            "tags": self.tags(dict(exp.tags)),
            "creation_time": self.time(exp.creation_time),
            "last_update_time": self.time(exp.last_update_time),
        }

    def metric(self, m: Any) -> dict[str, Any]:
        return {"key": m.key, "value": self.num(m.value), "step": m.step, "timestamp": self.time(m.timestamp)}

    def history(self, metrics: Any) -> list[dict[str, Any]]:
        """A metric history in the order returned; points logged at "now" may share a millisecond,
        and their order is then arbitrary, so those are sorted by (step, value)."""
        points = [self.metric(m) for m in metrics]
        if any(p["timestamp"] == "<now>" for p in points):
            points.sort(key=lambda p: (p["step"], str(p["value"])))
        return points

    @staticmethod
    def text(value: Any) -> Any:
        """A long string as its length and first characters (the whole text adds nothing)."""
        if isinstance(value, str) and len(value) > 80:
            return f"<{len(value)} chars: {value[:8]}...>"
        return value

    def registered_model(self, rm: Any) -> dict[str, Any]:
        return {
            "name": rm.name,
            "description": rm.description,
            "tags": dict(sorted(rm.tags.items())),
            "aliases": dict(sorted(rm.aliases.items())),
            "latest_versions": sorted((v.version, v.current_stage) for v in rm.latest_versions),
            "creation_timestamp": self.time(rm.creation_timestamp),
            "last_updated_timestamp": self.time(rm.last_updated_timestamp),
        }

    def model_version(self, mv: Any) -> dict[str, Any]:
        return {
            "name": mv.name,
            "version": mv.version,
            "current_stage": mv.current_stage,
            "status": mv.status,
            "source": self.path(mv.source),
            "run_id": self.id(mv.run_id),
            "run_link": mv.run_link,
            "description": mv.description,
            "tags": dict(sorted(mv.tags.items())),
            "aliases": sorted(mv.aliases),
            "creation_timestamp": self.time(mv.creation_timestamp),
            "last_updated_timestamp": self.time(mv.last_updated_timestamp),
        }

    def files(self, root: str | os.PathLike[str]) -> dict[str, Any]:
        """A downloaded tree: relative path -> size (a file) for every file under ``root``."""
        base = Path(root)
        if base.is_file():
            return {base.name: base.stat().st_size}
        return {
            p.relative_to(base).as_posix(): p.stat().st_size for p in sorted(base.rglob("*")) if p.is_file()
        }

    def file_info(self, info: Any) -> list[Any]:
        return [info.path, info.is_dir, info.file_size]


# --- (1) train loop -------------------------------------------------------------------------------


def train_loop(api: Any, obs: Observer) -> None:
    client = api.MlflowClient()
    exp = api.set_experiment("train-loop")
    obs.label(exp.experiment_id, "exp-train")
    obs["set_experiment"] = obs.experiment(exp)
    with api.start_run(run_name="train", tags={"team": "vision"}, description="first try") as run:
        run_id = obs.label(run.info.run_id, "run-train") and run.info.run_id
        obs["active_in_context"] = obs.id(api.active_run().info.run_id)
        api.log_param("lr", 0.01)
        api.log_params({"epochs": 3, "optimizer": "adam", "layers": [64, 32], "dropout": None})
        for epoch in range(3):
            for batch in range(4):
                step = epoch * 4 + batch
                api.log_metric("loss", round(1.0 / (1 + step), 6), step=step, timestamp=BASE_TIME + step)
            api.log_metrics({"acc": 0.5 + 0.1 * epoch, "val_loss": 0.9 - 0.2 * epoch}, step=epoch)
        api.log_metric("loss", 0.05, step=2, timestamp=BASE_TIME + 100)  # a second value at step 2
        api.log_metric("loss", 0.75, step=1, timestamp=BASE_TIME + 1)  # a duplicate point: stored once
        api.log_metric("default_step", 1.5)
        api.log_metric("default_step", 2.5)
        api.log_metric("default_step", 3.5, step=-3)
        api.log_metric("odd", float("nan"), step=0, timestamp=BASE_TIME)
        api.log_metric("odd", float("inf"), step=1, timestamp=BASE_TIME + 1)
        api.log_metric("odd", float("-inf"), step=2, timestamp=BASE_TIME + 2)
        api.log_metric("last_nan", 1.0, step=0, timestamp=BASE_TIME)
        api.log_metric("last_nan", float("nan"), step=1, timestamp=BASE_TIME + 1)
        api.log_metric("big_int", 12345678901234, step=0, timestamp=BASE_TIME)
        api.log_metric("bool_like", True, step=0, timestamp=BASE_TIME)
        api.log_metric("sync", 3.0, step=1, synchronous=True)
        api.log_metrics({"m.dotted": 1.0, "m/slashed": 2.0, "m space": 3.0}, step=7, timestamp=BASE_TIME + 7)
        obs["log_input"] = obs.attempt(lambda: _log_dataset(api, "train-data", 5))
        api.set_tag("stage", "dev")
        api.set_tags({"a": "1", "b": 2, "c": 3.5, "d": None})
        api.set_tag("stage", "prod")  # tags may change, params may not
        api.set_tag("empty", "")
        api.set_tag("unicode", "grün ✓")
        api.log_param("empty_param", "")
        api.delete_tag("a")
        obs["active_run"] = obs.run(api.active_run())
    obs["active_after"] = api.active_run()
    obs["last_active_run"] = obs.id(api.last_active_run().info.run_id)
    finished = api.get_run(run_id)
    obs["run"] = obs.run(finished)
    for key in ("loss", "acc", "default_step", "odd", "last_nan", "big_int", "bool_like", "sync", "missing"):
        obs[f"history:{key}"] = obs.history(client.get_metric_history(run_id, key))
    obs["description"] = finished.data.tags.get("mlflow.note.content")

    # A run that fails inside its context manager, one killed by hand, one ended with no status.
    try:
        with api.start_run(run_name="crashes") as failing:
            obs.label(failing.info.run_id, "run-crashes")
            api.log_metric("loss", 9.0)
            raise KeyError("boom")
    except KeyError:
        pass
    obs["failed"] = obs.run(api.get_run(failing.info.run_id))
    killed = api.start_run(run_name="killed")
    obs.label(killed.info.run_id, "run-killed")
    api.end_run(status="KILLED")
    obs["killed"] = obs.run(api.get_run(killed.info.run_id))
    unnamed = api.start_run()
    obs.label(unnamed.info.run_id, "run-unnamed")
    obs["unnamed_active"] = obs.run(api.active_run())
    api.end_run()
    obs["unnamed"] = obs.run(api.get_run(unnamed.info.run_id))
    obs["runs_in_experiment"] = sorted(
        obs.run_ids(api.search_runs([exp.experiment_id], output_format="list"))
    )


# --- (2) nested runs ------------------------------------------------------------------------------


def nested_runs(api: Any, obs: Observer) -> None:
    client = api.MlflowClient()
    exp = api.set_experiment("nested")
    obs.label(exp.experiment_id, "exp-nested")
    with api.start_run(run_name="parent") as parent:
        obs.label(parent.info.run_id, "parent")
        api.log_param("search", "grid")
        with api.start_run(run_name="child-a", nested=True) as a:
            obs.label(a.info.run_id, "child-a")
            obs["active_in_a"] = obs.id(api.active_run().info.run_id)
            api.log_param("k", "a")
            api.log_metric("score", 0.1)
        obs["active_after_a"] = obs.id(api.active_run().info.run_id)
        obs["last_active_after_a"] = obs.id(api.last_active_run().info.run_id)
        with api.start_run(run_name="child-b", nested=True) as b:
            obs.label(b.info.run_id, "child-b")
            with api.start_run(run_name="grandchild", nested=True) as g:
                obs.label(g.info.run_id, "grandchild")
                obs["active_in_grandchild"] = obs.id(api.active_run().info.run_id)
                obs["grandchild_active"] = obs.run(api.active_run())
            obs["active_after_grandchild"] = obs.id(api.active_run().info.run_id)
        child_c = api.start_run(run_name="child-c", nested=True, tags={"kind": "explicit"})
        obs.label(child_c.info.run_id, "child-c")
        api.end_run()
        obs["active_after_c"] = obs.id(api.active_run().info.run_id)
    obs["active_after_parent"] = api.active_run()
    obs["last_active_after_parent"] = obs.id(api.last_active_run().info.run_id)

    # parent_run_id without an active parent; then a nested run whose parent_run_id is the active one.
    with api.start_run(run_name="adopted", parent_run_id=parent.info.run_id) as adopted:
        obs.label(adopted.info.run_id, "adopted")
    with api.start_run(run_name="parent-2") as p2:
        obs.label(p2.info.run_id, "parent-2")
        with api.start_run(run_name="child-2", nested=True, parent_run_id=p2.info.run_id) as c2:
            obs.label(c2.info.run_id, "child-2")
        obs["mismatched_parent"] = obs.attempt(
            lambda: api.start_run(run_name="bad", nested=True, parent_run_id=parent.info.run_id),
            lambda r: obs.id(r.info.run_id),
        )
        if api.active_run() is not None and api.active_run().info.run_id != p2.info.run_id:
            api.end_run()

    # Resume child-a by id: logs go to the same run, which runs again and finishes again.
    with api.start_run(run_id=a.info.run_id) as resumed:
        obs["resumed_id"] = obs.id(resumed.info.run_id)
        obs["resumed_status"] = api.get_run(a.info.run_id).info.status
        api.log_metric("score", 0.2, step=1)
        api.set_tag("resumed", "yes")
    obs["resumed"] = obs.run(api.get_run(a.info.run_id))
    obs["resumed_history"] = [m.value for m in client.get_metric_history(a.info.run_id, "score")]
    # Resuming as a nested run of another active run.
    with api.start_run(run_name="outer") as outer:
        obs.label(outer.info.run_id, "outer")
        with api.start_run(run_id=b.info.run_id, nested=True) as inner:
            obs["nested_resume_id"] = obs.id(inner.info.run_id)
    obs["nested_resume"] = obs.run(api.get_run(b.info.run_id))

    for name, run_id in (
        ("parent", parent.info.run_id),
        ("child-a", a.info.run_id),
        ("grandchild", g.info.run_id),
        ("child-c", child_c.info.run_id),
        ("adopted", adopted.info.run_id),
        ("child-2", c2.info.run_id),
    ):
        run = api.get_run(run_id)
        obs[f"run:{name}"] = obs.run(run)
    children = api.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        order_by=["attributes.run_name ASC"],
        output_format="list",
    )
    obs["children_of_parent"] = obs.run_ids(children)
    obs["get_parent_run grandchild"] = obs.attempt(
        lambda: api.get_parent_run(g.info.run_id), lambda r: None if r is None else obs.id(r.info.run_id)
    )
    obs["get_parent_run parent"] = obs.attempt(lambda: api.get_parent_run(parent.info.run_id))
    with api.start_run(run_name="lonely", nested=True) as lonely:
        obs.label(lonely.info.run_id, "lonely")
    obs["nested without parent"] = obs.run(api.get_run(lonely.info.run_id))
    obs["all_runs"] = obs.run_ids(
        client.search_runs([exp.experiment_id], order_by=["attributes.run_name DESC"])
    )


# --- (3) sweep, then search and order -------------------------------------------------------------


SWEEP_SEARCHES: list[tuple[str, list[str] | None]] = [
    ("", None),
    ("metrics.acc > 0.7", ["metrics.acc DESC"]),
    ("params.optimizer = 'adam'", ["params.lr ASC", "metrics.acc DESC"]),
    ("params.optimizer IN ('sgd', 'rmsprop') and tags.group = 'b'", ["attributes.run_name ASC"]),
    ("attributes.run_name LIKE 'sweep-0%'", ["run_name DESC"]),
    ("run_name ILIKE 'SWEEP-1%'", None),
    ("tags.group != 'a'", ["start_time ASC"]),
    ("metrics.f1 >= 0", ["metrics.f1 ASC"]),
    ("", ["metrics.f1 DESC"]),
    ("", ["metrics.f1 ASC"]),
    ("", ["params.note ASC", "attributes.start_time DESC"]),
    ("", ["params.batch", "metrics.loss DESC"]),
    ("", ["tags.group DESC", "attributes.run_name"]),
    ("attributes.status = 'FAILED'", None),
    ("attributes.status != 'FINISHED'", None),
    ("params.batch = '32'", ["metrics.loss ASC"]),
    ("metrics.loss <= 0.3 AND params.lr != '0.1'", ["metrics.loss"]),
    ("tags.`Note` LIKE '%best%'", None),
    ("tags.Note ILIKE '%BEST%'", None),
    ("tags.mlflow.runName = 'sweep-03'", None),
    ("params.lr LIKE '0.0%'", ["attributes.run_name"]),
    ("params.lr NOT IN ('0.1')", ["attributes.run_name"]),
    (f"attributes.start_time > {BASE_TIME + 5000}", ["attributes.start_time"]),
    (f"attributes.start_time >= {BASE_TIME + 5000} and attributes.start_time < {BASE_TIME + 8000}", None),
    ("metrics.acc = 0.62", None),
    ("metrics.acc != 0.62 and metrics.acc < 0.6", None),
    ("params.note IS NULL", ["attributes.run_name"]),
    ("params.note IS NOT NULL", None),
    ("tags.Note IS NULL", ["attributes.run_name"]),
    ("metrics.weird = 1", None),
    ('params."optimizer" = "sgd"', ["attributes.run_name"]),
    ("attributes.end_time > 0", ["metrics.acc"]),
    ("metrics.`loss` > 0.2 and metrics.acc > 0.5 and params.batch != '16'", ["metrics.acc DESC"]),
    ("datasets.name = 'sweep-data'", None),
    ("attributes.user_id != 'nobody'", ["attributes.run_name"]),
    ("params.`opt.momentum` = '0.9'", ["attributes.run_name"]),
    ("tags.`team name` = 'red team'", None),
    ("metrics.`val/acc` > 0.6", ["metrics.`val/acc` DESC"]),
    ("params.empty = ''", ["attributes.run_name"]),
]


def sweep(api: Any, obs: Observer) -> None:
    client = api.MlflowClient()
    exp_id = api.create_experiment("sweep", tags={"project": "hp", "owner": "ana"})
    obs.label(exp_id, "exp-sweep")
    archive_id = api.create_experiment("sweep-archive", tags={"project": "hp-old"})
    obs.label(archive_id, "exp-archive")
    other_id = api.create_experiment("Other Stuff", tags={"owner": "bo"})
    obs.label(other_id, "exp-other")
    old_id = api.create_experiment("old")
    obs.label(old_id, "exp-old")
    api.delete_experiment(old_id)
    api.set_experiment(experiment_id=exp_id)

    ids: list[str] = []
    for i in range(12):
        # Creation order differs from start-time order, so the two are told apart.
        start = BASE_TIME + ((i * 5) % 12) * 1000
        tags = {"group": "a" if i < 6 else "b"}
        if i % 4 == 1:
            tags["Note"] = "best so far" if i == 5 else "meh"
        run = client.create_run(exp_id, start_time=start, run_name=f"sweep-{i:02d}", tags=tags)
        run_id = run.info.run_id
        obs.label(run_id, f"sweep-{i:02d}")
        ids.append(run_id)
        with api.start_run(run_id=run_id):
            params = {
                "lr": [0.1, 0.01, 0.001][i % 3],
                "batch": [16, 32, 64, 128][i % 4],
                "optimizer": ["adam", "sgd", "rmsprop"][(i // 3) % 3],
            }
            if i % 5 == 0:
                params["note"] = f"n{i}"
            if i % 4 == 2:
                params["opt.momentum"] = "0.9"
                params["empty"] = ""
                api.set_tag("team name", "red team")
            api.log_params(params)
            acc = round(0.5 + 0.04 * i - 0.01 * (i % 3), 4)
            metrics = {
                "acc": acc,
                "loss": round(1 - acc + 0.001 * (i % 5), 4),
                "val/acc": round(acc - 0.02, 4),
            }
            if i % 2 == 0:
                metrics["f1"] = round(acc - 0.05, 4)
            if i == 3:
                metrics["weird"] = float("nan")
            if i == 4:
                metrics["weird"] = float("inf")
            if i == 6:
                metrics["weird"] = 1.0
            api.log_metrics(metrics)
            if i % 3 == 0:
                obs[f"log_input {i}"] = obs.attempt(partial(_log_dataset, api, "sweep-data", 3 + i))
            if i == 11:
                api.end_run(status="FAILED")
    client.delete_run(ids[10])

    for n, (filter_string, order_by) in enumerate(SWEEP_SEARCHES):
        obs[f"search {n}: {filter_string!r} {order_by}"] = obs.attempt(
            partial(
                api.search_runs,
                [exp_id],
                filter_string=filter_string,
                order_by=order_by,
                output_format="list",
            ),
            obs.run_ids,
        )
    view_type = api.entities.ViewType
    for name in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        obs[f"view {name}"] = obs.attempt(
            partial(
                api.search_runs,
                [exp_id],
                run_view_type=getattr(view_type, name),
                order_by=["run_name"],
                output_format="list",
            ),
            obs.run_ids,
        )
    obs["run_id IN"] = obs.attempt(
        lambda: api.search_runs(
            [exp_id],
            filter_string=f"attributes.run_id IN ('{ids[1]}', '{ids[7]}', '{ids[10]}')",
            output_format="list",
        ),
        obs.run_ids,
    )
    obs["max_results=3"] = obs.run_ids(
        api.search_runs([exp_id], order_by=["metrics.acc DESC"], max_results=3, output_format="list")
    )
    obs["by experiment_names"] = obs.run_ids(
        api.search_runs(experiment_names=["sweep", "sweep-archive"], max_results=4, output_format="list")
    )
    obs["all experiments"] = obs.attempt(
        lambda: api.search_runs(search_all_experiments=True, output_format="list", order_by=["run_name"]),
        obs.run_ids,
    )
    obs["full run"] = obs.run(api.get_run(ids[4]))

    # Paging with the client's page tokens.
    pages: list[Any] = []
    token = None
    for _ in range(5):
        page = client.search_runs(
            [exp_id], "params.lr != '0.5'", order_by=["metrics.acc DESC"], max_results=5, page_token=token
        )
        pages.append({"ids": obs.run_ids(page), "has_token": bool(page.token)})
        token = page.token
        if not token:
            break
    obs["pages"] = pages
    obs["bad page token"] = obs.attempt(lambda: client.search_runs([exp_id], page_token="not-a-token"))

    # pandas.
    frame = api.search_runs([exp_id], order_by=["attributes.run_name ASC"])
    obs["frame columns"] = _columns(frame)
    obs["frame dtypes"] = {c: str(t) for c, t in frame.dtypes.items()}
    obs["frame rows"] = [_frame_row(obs, row) for row in frame.to_dict("records")]
    empty = api.search_runs([exp_id], filter_string="metrics.acc > 99")
    obs["empty frame"] = {"columns": _columns(empty), "len": len(empty)}

    # Experiments.
    searches = [
        ("name LIKE 'sweep%'", ["name DESC"], None),
        ("tags.project = 'hp'", None, None),
        ("", ["name ASC"], None),
        ("tags.owner != 'zed'", ["name"], None),
        ("name ILIKE '%ARCHIVE%'", None, None),
        ("attribute.name != 'Default'", ["experiment_id DESC"], None),
        ("tags.project LIKE 'hp%'", ["name"], None),
        ("", ["name ASC"], "DELETED_ONLY"),
        ("", ["name ASC"], "ALL"),
        ("name = 'old'", None, "ALL"),
    ]
    for n, (filter_string, order_by, view) in enumerate(searches):
        obs[f"experiments {n}: {filter_string!r} {order_by} {view}"] = obs.attempt(
            partial(
                api.search_experiments,
                filter_string=filter_string,
                order_by=order_by,
                view_type=getattr(view_type, view or "ACTIVE_ONLY"),
            ),
            lambda exps: [obs.id(e.experiment_id) for e in exps],
        )
    exp_pages: list[Any] = []
    token = None
    for _ in range(5):
        page = client.search_experiments(max_results=2, order_by=["name"], page_token=token)
        exp_pages.append({"ids": [obs.id(e.experiment_id) for e in page], "has_token": bool(page.token)})
        token = page.token
        if not token:
            break
    obs["experiment pages"] = exp_pages
    obs["experiment"] = obs.experiment(api.get_experiment(exp_id))
    obs["experiment by name"] = obs.experiment(api.get_experiment_by_name("sweep"))
    obs["deleted experiment"] = obs.experiment(api.get_experiment(old_id))
    api.restore_experiment(old_id)
    obs["restored experiment"] = obs.experiment(api.get_experiment_by_name("old"))
    client.rename_experiment(other_id, "Renamed Stuff")
    client.set_experiment_tag(other_id, "owner", "cy")
    obs["renamed experiment"] = obs.experiment(client.get_experiment(other_id))
    obs["old name"] = api.get_experiment_by_name("Other Stuff")


def _log_dataset(api: Any, name: str, rows: int) -> None:
    import pandas as pd  # type: ignore[import-untyped]  # no stubs are installed

    frame = pd.DataFrame({"x": [float(i) for i in range(rows)], "y": [i % 2 for i in range(rows)]})
    dataset = api.data.from_pandas(frame, source="https://example.com/data/train.csv", name=name, targets="y")
    api.log_input(dataset, context="training", tags={"split": "train"})


def _columns(frame: Any) -> list[str]:
    """The DataFrame's columns in order, except that within the metrics.*, params.* and tags.*
    groups they are sorted: MLflow orders those by iterating a set (PYTHONHASHSEED decides)."""
    groups: dict[str, list[str]] = {}
    for column in frame.columns:
        prefix = column.split(".", 1)[0] if column.startswith(("metrics.", "params.", "tags.")) else column
        groups.setdefault(prefix, []).append(column)
    return [column for members in groups.values() for column in sorted(members)]


def _frame_row(obs: Observer, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(row.items()):
        if key in ("run_id", "experiment_id", "tags.mlflow.parentRunId"):
            out[key] = obs.id(value) if isinstance(value, str) else _scalar(value)
        elif key in ("start_time", "end_time"):
            out[key] = obs.time(int(value.timestamp() * 1000)) if hasattr(value, "timestamp") else str(value)
        elif key == "artifact_uri":
            out[key] = obs.path(value)
        elif key.startswith("tags.") and key[5:] in GIT_TAGS:
            continue
        elif key.startswith("tags.") and key[5:] in ENV_TAGS:
            out[key] = "<present>" if isinstance(value, str) else _scalar(value)
        else:
            out[key] = obs.num(_scalar(value))
    return out


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


# --- (4) registry promotion -----------------------------------------------------------------------


def registry(api: Any, obs: Observer) -> None:
    client = api.MlflowClient()
    exp = api.set_experiment("registry")
    obs.label(exp.experiment_id, "exp-registry")
    runs = []
    for i in range(3):
        with api.start_run(run_name=f"train-{i}") as run:
            obs.label(run.info.run_id, f"run-{i}")
            api.log_metric("acc", 0.7 + 0.1 * i)
            api.log_text(f"weights {i}\n", "model/weights.txt")
            api.log_text("flavor: toy\n", "model/MLmodel")
            runs.append(run.info.run_id)

    obs["create"] = obs.registered_model(
        client.create_registered_model("clf", tags={"task": "classification"}, description="first")
    )
    obs["create duplicate"] = obs.attempt(lambda: client.create_registered_model("clf"))
    mv1 = api.register_model(f"runs:/{runs[0]}/model", "clf")
    obs["register_model v1"] = obs.model_version(mv1)
    mv2 = client.create_model_version(
        "clf",
        source=f"runs:/{runs[1]}/model",
        run_id=runs[1],
        tags={"validated": "no"},
        description="second",
    )
    obs["create_model_version v2"] = obs.model_version(mv2)
    mv3 = api.register_model(f"runs:/{runs[2]}/model", "clf", tags={"validated": "yes"})
    obs["register_model v3"] = obs.model_version(mv3)
    obs["register new name"] = obs.model_version(api.register_model(f"runs:/{runs[2]}/model", "other-model"))

    stage = client.transition_model_version_stage
    obs["v1 -> Staging"] = obs.model_version(stage("clf", "1", "Staging"))
    obs["v2 -> Production"] = obs.model_version(stage("clf", "2", "production"))
    obs["v3 -> Production archiving"] = obs.model_version(
        stage("clf", "3", "Production", archive_existing_versions=True)
    )
    obs["v2 after archive"] = obs.model_version(client.get_model_version("clf", "2"))
    obs["bad stage"] = obs.attempt(lambda: stage("clf", "1", "Shipping"))
    obs["latest all"] = [obs.model_version(v) for v in client.get_latest_versions("clf")]
    obs["latest Production"] = [
        obs.model_version(v) for v in client.get_latest_versions("clf", stages=["Production"])
    ]
    obs["latest None+Staging"] = sorted(
        (v.version, v.current_stage) for v in client.get_latest_versions("clf", stages=["None", "Staging"])
    )

    client.set_registered_model_alias("clf", "champion", "3")
    client.set_registered_model_alias("clf", "challenger", "2")
    obs["by alias champion"] = obs.model_version(client.get_model_version_by_alias("clf", "champion"))
    client.set_registered_model_alias("clf", "champion", 2)  # moves the alias
    obs["aliases after move"] = obs.registered_model(client.get_registered_model("clf"))
    obs["v2 aliases"] = sorted(client.get_model_version("clf", "2").aliases)
    obs["v3 aliases"] = sorted(client.get_model_version("clf", "3").aliases)
    client.delete_registered_model_alias("clf", "challenger")
    obs["after delete alias"] = dict(client.get_registered_model("clf").aliases)
    obs["unknown alias"] = obs.attempt(lambda: client.get_model_version_by_alias("clf", "nope"))
    set_alias = client.set_registered_model_alias
    obs["alias to missing version"] = obs.attempt(lambda: set_alias("clf", "x", "42"))
    obs["alias that is a version"] = obs.attempt(lambda: set_alias("clf", "v1", "1"))
    obs["alias latest reserved"] = obs.attempt(lambda: set_alias("clf", "latest", "1"))

    # Later edits get later timestamps (the default order of search_model_versions shows them).
    time.sleep(0.01)
    client.set_registered_model_tag("clf", "owner", "team-a")
    client.set_registered_model_tag("clf", "temp", "x")
    client.delete_registered_model_tag("clf", "temp")
    client.set_model_version_tag("clf", "1", "validated", "maybe")
    client.set_model_version_tag("clf", "1", "temp", "y")
    client.delete_model_version_tag("clf", "1", "temp")
    client.update_registered_model("clf", description="promoted")
    client.update_model_version("clf", "1", description="baseline")
    obs["model"] = obs.registered_model(client.get_registered_model("clf"))
    obs["v1"] = obs.model_version(client.get_model_version("clf", "1"))

    client.create_registered_model("reg-b", tags={"task": "regression"})
    client.create_registered_model("Clf-Upper")
    for n, (filter_string, order_by) in enumerate(
        [
            ("", None),
            ("name LIKE 'cl%'", ["name DESC"]),
            ("name ILIKE 'cl%'", ["name ASC"]),
            ("tags.task = 'classification'", None),
            ("tags.task != 'classification'", ["name"]),
            ("name = 'reg-b'", None),
            ("", ["name DESC"]),
            ("tags.task IS NULL", None),
        ]
    ):
        obs[f"search models {n}: {filter_string!r} {order_by}"] = obs.attempt(
            partial(client.search_registered_models, filter_string=filter_string, order_by=order_by),
            lambda ms: [m.name for m in ms],
        )
    for n, (filter_string, order_by) in enumerate(
        [
            ("name = 'clf'", ["version_number DESC"]),
            ("name = 'clf'", None),
            ("run_id = <run-1>", None),
            ("tags.validated = 'yes'", None),
            ("name LIKE 'c%' and tags.validated != 'no'", ["version_number ASC"]),
            ("", ["name ASC", "version_number DESC"]),
            ("version_number > 1 and name = 'clf'", None),
            ("run_id IN (<run-0>, <run-2>)", ["name", "version_number"]),
            ("tags.validated IS NOT NULL", None),
        ]
    ):
        concrete = filter_string
        for i, run_id in enumerate(runs):
            concrete = concrete.replace(f"<run-{i}>", f"'{run_id}'")
        obs[f"search versions {n}: {filter_string!r} {order_by}"] = obs.attempt(
            partial(client.search_model_versions, filter_string=concrete, order_by=order_by),
            lambda vs: [(v.name, v.version) for v in vs],
        )
    pages: list[Any] = []
    token = None
    for _ in range(5):
        page = client.search_registered_models(max_results=2, order_by=["name"], page_token=token)
        pages.append({"names": [m.name for m in page], "has_token": bool(page.token)})
        token = page.token
        if not token:
            break
    obs["model pages"] = pages
    version_pages: list[Any] = []
    token = None
    for _ in range(5):
        page = client.search_model_versions(
            "name = 'clf'", max_results=2, order_by=["version_number ASC"], page_token=token
        )
        version_pages.append({"versions": [v.version for v in page], "has_token": bool(page.token)})
        token = page.token
        if not token:
            break
    obs["version pages"] = version_pages
    obs["delete missing version tag"] = obs.attempt(
        lambda: client.delete_model_version_tag("clf", "1", "nope")
    )
    obs["delete missing model tag"] = obs.attempt(lambda: client.delete_registered_model_tag("clf", "nope"))
    obs["tag missing version"] = obs.attempt(lambda: client.set_model_version_tag("clf", "42", "k", "v"))
    obs["tag missing model"] = obs.attempt(lambda: client.set_registered_model_tag("nope", "k", "v"))
    obs["stage of missing version"] = obs.attempt(lambda: stage("clf", "42", "Staging"))

    # models:/ URIs.
    for uri in ("models:/clf/1", "models:/clf@champion", "models:/clf/Production", "models:/clf/Staging"):
        obs[f"download {uri}"] = obs.attempt(
            partial(api.artifacts.download_artifacts, uri, dst_path=str(_fresh_dir(obs, "dl"))), obs.files
        )
    obs["download uri v1"] = obs.attempt(lambda: client.get_model_version_download_uri("clf", "1"), obs.path)
    obs["download uri v3"] = obs.attempt(lambda: client.get_model_version_download_uri("clf", "3"), obs.path)

    # Rename: the versions follow; the old name is gone.
    obs["rename returns"] = obs.attempt(
        lambda: client.rename_registered_model("clf", "classifier"),
        lambda rm: None if rm is None else obs.registered_model(rm),
    )
    obs["renamed"] = obs.registered_model(client.get_registered_model("classifier"))
    obs["renamed v3"] = obs.model_version(client.get_model_version("classifier", "3"))
    obs["old name"] = obs.attempt(lambda: client.get_registered_model("clf"))
    obs["old name version"] = obs.attempt(lambda: client.get_model_version("clf", "1"))
    obs["renamed by alias"] = obs.attempt(
        lambda: client.get_model_version_by_alias("classifier", "champion"), lambda v: v.version
    )
    obs["rename to existing"] = obs.attempt(lambda: client.rename_registered_model("classifier", "reg-b"))

    # Versions are never reused; deleting the aliased version drops its alias.
    client.delete_model_version("classifier", "2")
    obs["deleted version"] = obs.attempt(lambda: client.get_model_version("classifier", "2"))
    obs["aliases after delete"] = dict(client.get_registered_model("classifier").aliases)
    client.delete_model_version("classifier", "3")
    mv4 = client.create_model_version("classifier", source=f"runs:/{runs[0]}/model", run_id=runs[0])
    obs["next version"] = mv4.version
    obs["versions left"] = sorted(
        v.version for v in client.search_model_versions("name = 'classifier'", order_by=["version_number"])
    )
    client.delete_registered_model("reg-b")
    obs["deleted model"] = obs.attempt(lambda: client.get_registered_model("reg-b"))
    obs["missing version"] = obs.attempt(lambda: client.get_model_version("classifier", "99"))
    obs["version on missing model"] = obs.attempt(
        lambda: client.create_model_version("nope", source=f"runs:/{runs[0]}/model", run_id=runs[0])
    )
    obs["registry final"] = sorted(m.name for m in client.search_registered_models())


def _fresh_dir(obs: Observer, prefix: str) -> Path:
    n = sum(1 for _ in obs.workdir.glob(f"{prefix}-*"))
    path = obs.workdir / f"{prefix}-{n}"
    path.mkdir()
    return path


# --- (5) artifacts --------------------------------------------------------------------------------


def artifacts(api: Any, obs: Observer) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    client = api.MlflowClient()
    src = obs.workdir / "src"
    (src / "bundle" / "sub").mkdir(parents=True)
    (src / "notes.txt").write_text("some notes\n")
    (src / "bundle" / "a.csv").write_text("x,y\n1,2\n")
    (src / "bundle" / "b.bin").write_bytes(bytes(range(256)) * 4)
    (src / "bundle" / "sub" / "c.txt").write_text("deep\n")
    (src / "empty.txt").write_text("")

    exp = api.set_experiment("artifacts")
    obs.label(exp.experiment_id, "exp-artifacts")
    with api.start_run(run_name="art") as run:
        run_id = run.info.run_id
        obs.label(run_id, "run-art")
        obs["artifact_uri"] = obs.path(run.info.artifact_uri)
        api.log_artifact(str(src / "notes.txt"))
        api.log_artifact(str(src / "notes.txt"), artifact_path="docs")
        api.log_artifact(str(src / "empty.txt"), artifact_path="docs/deeper")
        api.log_artifacts(str(src / "bundle"), artifact_path="bundle")
        api.log_artifacts(str(src / "bundle" / "sub"))
        api.log_text("hello\nworld", "texts/hello.txt")
        api.log_text("überall ✓", "texts/unicode.txt")
        api.log_dict({"b": [1, 2], "a": {"nested": True}}, "config.json")
        api.log_dict({"b": [1, 2], "a": {"nested": True}}, "config.yaml")
        api.log_dict({"b": [1, 2]}, "config.yml")
        api.log_dict({"b": [1, 2]}, "config.txt")
        obs["log_table"] = obs.attempt(
            lambda: api.log_table({"x": [1, 2], "y": ["a", "b"]}, artifact_file="tables/table.json")
        )
        pixels = np.zeros((8, 6, 3), dtype=np.uint8)
        pixels[:, :, 0] = 255
        api.log_image(pixels, "img/red.png")
        api.log_image(Image.new("RGB", (5, 4), (0, 0, 255)), "img/blue.png")
        api.log_image(np.full((3, 3), 0.5, dtype=np.float32), "img/gray.png")
        fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
        ax.plot([0, 1], [1, 0])
        api.log_figure(fig, "plots/line.png")
        plt.close(fig)
        obs["get_artifact_uri"] = obs.path(api.get_artifact_uri())
        obs["get_artifact_uri path"] = obs.path(api.get_artifact_uri("docs/notes.txt"))
        obs["bad artifact path"] = obs.attempt(lambda: api.log_text("x", "../escape.txt"))
        obs["absolute artifact path"] = obs.attempt(lambda: api.log_text("x", "/abs.txt"))

    obs["tags"] = obs.run(api.get_run(run_id))["tags"]
    obs["list root"] = [obs.file_info(f) for f in client.list_artifacts(run_id)]
    for path in ("bundle", "bundle/sub", "docs", "img", "missing", "notes.txt"):
        obs[f"list {path}"] = obs.attempt(
            partial(client.list_artifacts, run_id, path), lambda fs: [obs.file_info(f) for f in fs]
        )
    obs["download bundle"] = obs.attempt(
        lambda: client.download_artifacts(run_id, "bundle", str(_fresh_dir(obs, "dl"))),
        lambda local: {"path": obs.path(local), "files": obs.files(local)},
    )
    obs["download file"] = obs.attempt(
        lambda: client.download_artifacts(run_id, "texts/hello.txt", str(_fresh_dir(obs, "dl"))),
        lambda local: {"path": obs.path(local), "text": Path(local).read_text()},
    )
    obs["download missing"] = obs.attempt(
        lambda: client.download_artifacts(run_id, "nope.txt", str(_fresh_dir(obs, "dl")))
    )
    everything = api.artifacts.download_artifacts(run_id=run_id, dst_path=str(_fresh_dir(obs, "dl")))
    obs["download all"] = obs.files(everything)
    root = Path(everything)
    texts = ["notes.txt", "texts/hello.txt", "texts/unicode.txt", "config.json", "config.yaml"]
    texts += ["config.yml", "config.txt", "tables/table.json", "c.txt"]
    for name in texts:
        target = root / name
        obs[f"content {name}"] = target.read_text(encoding="utf-8") if target.exists() else None
    for name in ("img/red.png", "img/blue.png", "img/gray.png", "plots/line.png"):
        target = root / name
        if target.exists():
            with Image.open(target) as image:
                obs[f"image {name}"] = [image.format, image.mode, list(image.size)]
        else:
            obs[f"image {name}"] = None
    obs["download runs:/ uri"] = obs.attempt(
        lambda: api.artifacts.download_artifacts(
            artifact_uri=f"runs:/{run_id}/texts", dst_path=str(_fresh_dir(obs, "dl"))
        ),
        obs.files,
    )
    obs["load_text"] = obs.attempt(lambda: api.artifacts.load_text(f"runs:/{run_id}/texts/hello.txt"))
    obs["load_dict"] = obs.attempt(lambda: api.artifacts.load_dict(f"runs:/{run_id}/config.json"))
    client.log_text(run_id, "from the client", "client/text.txt")
    client.log_dict(run_id, {"k": "v"}, "client/dict.json")
    client.log_artifact(run_id, str(src / "notes.txt"), "client")
    obs["client logged"] = [obs.file_info(f) for f in client.list_artifacts(run_id, "client")]
    obs["download one file"] = obs.attempt(
        lambda: api.artifacts.download_artifacts(
            run_id=run_id, artifact_path="docs/notes.txt", dst_path=str(_fresh_dir(obs, "dl"))
        ),
        obs.path,
    )
    obs["list_artifacts fluent"] = obs.attempt(
        lambda: api.artifacts.list_artifacts(run_id=run_id, artifact_path="docs"),
        lambda fs: [obs.file_info(f) for f in fs],
    )


# --- (6) errors -----------------------------------------------------------------------------------


def errors(api: Any, obs: Observer) -> None:
    client = api.MlflowClient()
    a = obs.attempt
    missing_run = "0" * 32
    obs["get_run unknown"] = a(lambda: api.get_run(missing_run))
    obs["get_run malformed"] = a(lambda: api.get_run("not a run id"))
    obs["get_experiment unknown"] = a(lambda: api.get_experiment("987654"))
    obs["get_experiment malformed"] = a(lambda: api.get_experiment("abc"))
    obs["get_experiment_by_name unknown"] = a(lambda: api.get_experiment_by_name("nope"))
    obs["create_experiment"] = a(lambda: api.create_experiment("dup"), obs.id)
    obs["create_experiment duplicate"] = a(lambda: api.create_experiment("dup"))
    obs["create_experiment empty name"] = a(lambda: api.create_experiment(""))
    obs["create_experiment bad name type"] = a(lambda: api.create_experiment(None))
    dup_id = api.get_experiment_by_name("dup").experiment_id
    obs["restore active experiment"] = a(lambda: api.restore_experiment(dup_id))
    obs["delete unknown experiment"] = a(lambda: api.delete_experiment("987654"))
    api.delete_experiment(dup_id)
    obs["set_experiment deleted"] = a(lambda: api.set_experiment("dup"))
    obs["create_experiment deleted name"] = a(lambda: api.create_experiment("dup"))
    obs["set_experiment unknown id"] = a(lambda: api.set_experiment(experiment_id="987654"))
    obs["set_experiment no args"] = a(lambda: api.set_experiment())
    obs["rename to existing"] = a(lambda: client.rename_experiment("0", "dup"))
    obs["end_run without run"] = a(lambda: api.end_run())
    obs["active_run without run"] = a(lambda: api.active_run())
    obs["start_run unknown id"] = a(lambda: api.start_run(run_id=missing_run))
    obs["active after failed start"] = a(lambda: api.active_run())

    exp = api.set_experiment("errors")
    obs.label(exp.experiment_id, "exp-errors")
    run = api.start_run(run_name="main")
    run_id = run.info.run_id
    obs.label(run_id, "run-main")
    obs["start_run while active"] = a(lambda: api.start_run(run_name="second"))
    obs["active after refused start"] = obs.id(api.active_run().info.run_id)
    api.log_param("p", 1)
    obs["log_param same value"] = a(lambda: api.log_param("p", "1"))
    obs["log_param changed"] = a(lambda: api.log_param("p", 2))
    obs["log_params changed in batch"] = a(lambda: api.log_params({"q": 1, "p": 3}))
    obs["q after refused batch"] = api.get_run(run_id).data.params.get("q")
    obs["log_param long value"] = a(lambda: api.log_param("long", "x" * 6001), obs.text)
    obs["log_param 6000 chars"] = a(lambda: api.log_param("ok_long", "y" * 6000), obs.text)
    obs["param key too long"] = a(lambda: api.log_param("k" * 251, 1))
    for key in ("bad key!", "../up", "/abs", "a//b", "", "ok-key_1.2 3/x", "naïve"):
        obs[f"metric key {key!r}"] = a(partial(api.log_metric, key, 1.0))
    obs["metric value string"] = a(lambda: api.log_metric("m", "abc"))
    obs["metric value numeric string"] = a(lambda: api.log_metric("m2", "1.5"))
    obs["metric value None"] = a(lambda: api.log_metric("m3", None))
    obs["metric step float"] = a(lambda: api.log_metric("m4", 1.0, step=1.5))
    obs["metric step string"] = a(lambda: api.log_metric("m5", 1.0, step="x"))
    obs["metric timestamp string"] = a(lambda: api.log_metric("m6", 1.0, timestamp="x"))
    obs["tag key invalid"] = a(lambda: api.set_tag("bad?tag", "v"))
    obs["tag value long"] = a(lambda: api.set_tag("long", "t" * 8001), lambda _: "ok")
    obs["delete_tag missing"] = a(lambda: api.delete_tag("never-set"))
    obs["run after errors"] = obs.run(api.get_run(run_id))
    api.end_run()

    search = api.search_runs
    obs["search bad syntax"] = a(lambda: search([exp.experiment_id], filter_string="metrics.acc >>> 1"))
    obs["search param comparator"] = a(
        lambda: api.search_runs([exp.experiment_id], filter_string="params.p > '1'")
    )
    obs["search unknown entity"] = a(lambda: search([exp.experiment_id], filter_string="foo.bar = 1"))
    obs["search unknown attribute"] = a(
        lambda: api.search_runs([exp.experiment_id], filter_string="attributes.color = 'red'")
    )
    obs["search metric vs string"] = a(
        lambda: api.search_runs([exp.experiment_id], filter_string="metrics.acc = 'high'")
    )
    obs["search OR"] = a(
        lambda: api.search_runs([exp.experiment_id], filter_string="params.p = '1' OR params.p = '2'")
    )
    obs["order_by bad direction"] = a(
        lambda: api.search_runs([exp.experiment_id], order_by=["metrics.acc SIDEWAYS"])
    )
    obs["order_by unknown attribute"] = a(
        lambda: api.search_runs([exp.experiment_id], order_by=["attributes.color"])
    )
    obs["search max_results 0"] = a(
        lambda: api.search_runs([exp.experiment_id], max_results=0, output_format="list"), obs.run_ids
    )
    obs["search max_results huge"] = a(
        lambda: api.search_runs([exp.experiment_id], max_results=50001, output_format="list"), obs.run_ids
    )
    obs["search unknown experiment"] = a(
        lambda: api.search_runs(["987654"], output_format="list"), obs.run_ids
    )
    obs["search unknown experiment name"] = a(
        lambda: api.search_runs(experiment_names=["no-such"], output_format="list"), obs.run_ids
    )
    obs["search bad output_format"] = a(lambda: api.search_runs([exp.experiment_id], output_format="xml"))
    obs["search_experiments bad filter"] = a(lambda: api.search_experiments(filter_string="name ~ 'x'"))
    obs["search_experiments bad key"] = a(lambda: api.search_experiments(filter_string="metrics.a > 1"))
    obs["search_experiments bad order"] = a(lambda: api.search_experiments(order_by=["color"]))

    # A deleted run.
    client.delete_run(run_id)
    obs["deleted run"] = obs.run(api.get_run(run_id))
    obs["log to deleted run"] = a(lambda: client.log_metric(run_id, "x", 1.0))
    obs["tag deleted run"] = a(lambda: client.set_tag(run_id, "x", "y"))
    obs["resume deleted run"] = a(lambda: api.start_run(run_id=run_id))
    if api.active_run() is not None:
        api.end_run()
    obs["delete run twice"] = a(lambda: client.delete_run(run_id))
    client.restore_run(run_id)
    obs["restored run"] = a(lambda: api.get_run(run_id).info.lifecycle_stage)
    obs["log to finished run"] = a(lambda: client.log_metric(run_id, "after", 2.0))
    obs["delete unknown run"] = a(lambda: client.delete_run(missing_run))
    obs["set_terminated bad status"] = a(lambda: client.set_terminated(run_id, "DONE"))
    obs["create_run unknown experiment"] = a(lambda: client.create_run("987654"))
    obs["log_batch too many params"] = a(
        lambda: client.log_batch(run_id, params=[api.entities.Param(f"p{i}", "v") for i in range(101)])
    )
    obs["log_batch duplicate params"] = a(
        lambda: client.log_batch(run_id, params=[api.entities.Param("z", "1"), api.entities.Param("z", "2")])
    )

    # Implicit runs: logging with no active run starts one in the active experiment.
    obs["implicit log_param"] = a(lambda: api.log_param("implicit", "yes"))
    implicit = api.active_run()
    obs["implicit run"] = None if implicit is None else obs.run(implicit)
    if implicit is not None:
        api.end_run()

    # Registry.
    obs["registered model unknown"] = a(lambda: client.get_registered_model("nope"))
    obs["registered model empty name"] = a(lambda: client.create_registered_model(""))
    obs["delete unknown model"] = a(lambda: client.delete_registered_model("nope"))
    obs["search models bad filter"] = a(lambda: client.search_registered_models(filter_string="name >< 'x'"))
    obs["search models bad key"] = a(lambda: client.search_registered_models(filter_string="run_id = 'x'"))
    obs["search versions bad filter"] = a(lambda: client.search_model_versions(filter_string="version ~ 1"))
    obs["register_model bad uri"] = a(lambda: api.register_model("not-a-uri", "m"), obs.model_version)
    obs["register_model unknown run"] = a(lambda: api.register_model(f"runs:/{missing_run}/model", "m2"))
    obs["get_model_version_download_uri unknown"] = a(
        lambda: client.get_model_version_download_uri("nope", "1")
    )
    obs["start_run unknown experiment"] = a(lambda: api.start_run(experiment_id="987654"))
    if api.active_run() is not None:
        api.end_run()
    obs["get_experiment_by_name empty"] = a(lambda: api.get_experiment_by_name(""), obs.experiment)
    obs["metric key too long"] = a(lambda: api.log_metric("k" * 251, 1.0))
    if api.active_run() is not None:
        api.end_run()
    obs["delete Default"] = a(lambda: api.delete_experiment("0"))
    obs["Default after delete"] = a(lambda: api.get_experiment("0"), obs.experiment)


SCRIPTS: dict[str, Callable[[Any, Observer], None]] = {
    "train_loop": train_loop,
    "nested_runs": nested_runs,
    "sweep": sweep,
    "registry": registry,
    "artifacts": artifacts,
    "errors": errors,
}


def dumps(observation: Any) -> str:
    return json.dumps(observation, indent=1, sort_keys=True, default=repr)


def execute(api: Any, name: str, workdir: Path, tracking_uri: str) -> dict[str, Any]:
    """Run script ``name`` with ``api`` on ``tracking_uri`` (tracking and registry), in ``workdir``
    (the working directory, so default artifact roots land there). Returns the observation; a
    crash is recorded under ``"<crashed>"`` next to what was observed before it."""
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        api.set_tracking_uri(tracking_uri)
        api.set_registry_uri(tracking_uri)
        obs = Observer(api, workdir)
        try:
            SCRIPTS[name](api, obs)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            obs.data["<crashed>"] = {
                **obs.error(exc),
                "type": type(exc).__name__,
                "message": str(exc)[:500],
                "at": f"{Path(frame.filename).name}:{frame.lineno}",
            }
        finally:
            while api.active_run() is not None:
                api.end_run()
        return obs.data
    finally:
        os.chdir(previous)
