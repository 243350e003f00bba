"""``genesis demo`` (log a small experiment, print its runs) and ``genesis db upgrade URI``
(bring a SQL database's schema to this release's version, docs/adr/0006-sql-schema-versioning.md).
"""

from __future__ import annotations

import contextlib
import io
import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone

import click

from genesis_flow.core.entities import Metric, Param, Run, RunStatus, RunTag
from genesis_flow.core.errors import RegisteredModelAlreadyExists
from genesis_flow.core.redaction import redact_uri
from genesis_flow.core.search import parse_order_by
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entrypoints.bootstrap import (
    build_artifact_store,
    build_registry_store,
    build_tracking_store,
    plugin_uri,
    upgrade_sql_schema,
)
from genesis_flow.entrypoints.cli.output import handle_errors
from genesis_flow.entrypoints.cli.store import command_uri, uri_option
from genesis_flow.entrypoints.demo_model import MODEL_FOLDER, WEIGHTS_FILE, DemoClassifier, mlmodel_text
from genesis_flow.ports import Clock, RegistryStore, SystemClock, TrackingStore

DEMO_EXPERIMENT = "genesis-demo"
DEMO_MODEL = "genesis-demo-classifier"
_LEARNING_RATES = (0.3, 0.1, 0.03, 0.01)
_EPOCHS = 5


@click.command()
@uri_option
@handle_errors
def demo(uri: str | None) -> None:
    """Log a small demo experiment and print its runs.

    Runs with a metric history, and a registered model with an alias."""
    resolved = command_uri(uri)
    click.echo(
        run_demo(build_tracking_store(resolved), build_registry_store(resolved), SystemClock(), resolved)
    )
    click.echo(next_steps(resolved, named=uri is not None))


@click.group()
def db() -> None:
    """Manage the schema of a SQL database (SQLite, PostgreSQL)."""


@db.command()
@click.argument("uri", metavar="URI")
@handle_errors
def upgrade(uri: str) -> None:
    """Bring a SQL database's schema to this release's version.

    Create it in an empty database, run the pending upgrade steps in one transaction under a
    lock, or say that it is up to date. SQLite databases are upgraded when opened anyway; a
    PostgreSQL database is only upgraded by this command. Back the database up first. A
    database that MLflow created is refused and left untouched (see `genesis migrate`).

    URI is sqlite:///path.db or postgresql://user@host/db.
    """
    click.echo(upgrade_schema(uri))


def upgrade_schema(uri: str) -> str:
    """Open the SQL database at ``uri`` allowing upgrades; one line saying what happened."""
    found, now = upgrade_sql_schema(uri)
    where = f"schema of {redact_uri(uri)}"
    if found is None:
        return f"{where}: created at version {now}"
    if found == now:
        return f"{where}: already at version {now}"
    return f"{where}: version {found} -> {now}"


def run_demo(tracking: TrackingStore, registry: RegistryStore, clock: Clock, uri: str) -> str:
    """Log the demo experiment into the stores and return the runs table as text."""
    experiment = tracking.get_experiment_by_name(DEMO_EXPERIMENT)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else tracking.create_experiment(DEMO_EXPERIMENT, tags=())
    )
    runs = [_train(tracking, experiment_id, lr, clock) for lr in _LEARNING_RATES]
    best = max(runs, key=lambda r: r.data.metrics_dict["accuracy"])
    source = _log_model(best, clock)
    with contextlib.suppress(RegisteredModelAlreadyExists):  # the demo may run twice on one store
        registry.create_registered_model(DEMO_MODEL, description="Best run of the Genesis-Flow demo")
    version = registry.create_model_version(DEMO_MODEL, source=source, run_id=best.info.run_id)
    registry.set_registered_model_alias(DEMO_MODEL, "champion", version.version)

    page = tracking.search_runs(
        [experiment_id], order_by=parse_order_by(SearchKind.RUNS, ["metrics.accuracy DESC"]), max_results=20
    )
    header = (
        f"Experiment '{DEMO_EXPERIMENT}' (id {experiment_id}) on {redact_uri(uri)}\n"
        f"Registered {DEMO_MODEL} version {version.version} from run {best.info.run_name}"
        " with alias 'champion'\n\n"
    )
    return header + format_runs_table(page.items)


def next_steps(uri: str, named: bool) -> str:
    """What to try after the demo on the store at ``uri``; ``named`` when the user named it
    (otherwise the commands below find the same default store by themselves)."""
    shown = redact_uri(uri)
    where = f" --uri {shown}" if named else ""
    connect = f'\n    mlflow.set_tracking_uri("{shown}")' if named else ""
    lines = f"""
Next steps:
  genesis ui{where}
      browse the runs and the registered model in MLflow's UI (needs the mlflow extra)
  genesis runs list --experiment {DEMO_EXPERIMENT}{where}
  Log your own runs to this store from Python (README, "The Python API"):
    import genesis_flow as mlflow{connect}
    mlflow.set_experiment("my-experiment")
    with mlflow.start_run():
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("loss", 0.5, step=0)"""
    through_plugin = plugin_uri(uri)
    if through_plugin is not None:
        lines += f"""
  Load the champion and predict (MLflow's pyfunc flavour: the mlflow extra):
    import genesis_flow as mlflow{connect}
    mlflow.pyfunc.load_model("models:/{DEMO_MODEL}@champion").predict([[0.2, 0.3], [0.9, 0.6]])"""
    return lines


def _log_model(run: Run, clock: Clock) -> str:
    """Log the run's classifier as an MLflow model folder (``python_function`` flavour, loaded by
    :mod:`genesis_flow.entrypoints.demo_model`) through the run's artifact store; its URI."""
    learning_rate = float(run.data.params_dict["learning_rate"])
    created = datetime.fromtimestamp(clock.now_ms() / 1000, tz=timezone.utc).isoformat()
    files = {
        WEIGHTS_FILE: _classifier(_quality(learning_rate)).to_json(),
        "MLmodel": mlmodel_text(run.info.run_id, uuid.uuid4().hex, created),
    }
    artifacts = build_artifact_store(run.info.artifact_uri)
    for name, text in files.items():
        artifacts.log_stream(io.BytesIO(text.encode("utf-8")), f"{MODEL_FOLDER}/{name}")
    return f"{run.info.artifact_uri}/{MODEL_FOLDER}"


def _quality(lr: float) -> float:
    return 1.0 - abs(math.log10(lr) + 1.3) / 2  # best near lr = 0.05


def _classifier(quality: float) -> DemoClassifier:
    """The classifier "learned" at that quality: it tells whether x1 + x2 > 1, more sharply the
    better the run went."""
    slope = round(1 + 5 * quality, 4)
    return DemoClassifier(("x1", "x2"), (slope, slope), -slope)


def _train(tracking: TrackingStore, experiment_id: str, lr: float, clock: Clock) -> Run:
    """A deterministic stand-in for training: loss falls faster with a well-chosen rate."""
    start = clock.now_ms()
    run = tracking.create_run(
        experiment_id,
        user_id="demo",
        start_time=start,
        run_name=f"lr-{lr}",
        tags=[RunTag("model", "logistic-regression")],
    )
    run_id = run.info.run_id
    quality = _quality(lr)
    metrics = []
    for epoch in range(_EPOCHS):
        loss = round(1.0 / (1 + quality * (epoch + 1)), 4)
        metrics.append(Metric("loss", loss, start + epoch, epoch))
    accuracy = round(0.6 + 0.35 * quality, 4)
    metrics.append(Metric("accuracy", accuracy, start + _EPOCHS, _EPOCHS - 1))
    tracking.log_batch(
        run_id,
        metrics=metrics,
        params=[Param("learning_rate", str(lr)), Param("epochs", str(_EPOCHS))],
    )
    tracking.update_run_info(run_id, RunStatus.FINISHED, end_time=clock.now_ms())
    return tracking.get_run(run_id)


def format_runs_table(runs: Sequence[Run]) -> str:
    """Runs as an aligned text table: name, id, status, params and latest metrics."""
    param_keys = sorted({p.key for r in runs for p in r.data.params})
    metric_keys = sorted({m.key for r in runs for m in r.data.metrics})
    header = ["run", "run id", "status", *param_keys, *metric_keys]
    rows = [
        [
            r.info.run_name,
            r.info.run_id[:8],
            r.info.status.value,
            *(r.data.params_dict.get(k, "") for k in param_keys),
            *(_number(r.data.metrics_dict.get(k)) for k in metric_keys),
        ]
        for r in runs
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
