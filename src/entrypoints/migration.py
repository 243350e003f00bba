"""Copy tracking and registry data from one store to another (``genesis migrate``), no Click here.

Sources: any Genesis-Flow backend (``memory:``, ``sqlite:///``, ``postgresql://``, ``mongodb://``)
and MLflow's own stores: an ``mlruns`` directory (``file:///path/mlruns`` or a plain path) and a
SQL database MLflow created (read with MLflow's store classes; needs the ``mlflow`` extra).
Destinations: any Genesis-Flow backend.

The copy goes through the ports' import operations, which keep ids, times, numbers and
lifecycle. It is resumable: an entity whose id already exists in the destination is skipped, and
each run is written by one ``import_run`` call (atomic per run), so a migration stopped half way
and started again ends with no duplicates. Verification compares counts and a checksum per run
(:func:`run_checksum`) between both sides.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from attrs import define, evolve, field

from genesis_flow.core.diagnostics import DatabaseKind
from genesis_flow.core.entities import (
    Experiment,
    Metric,
    Run,
    ViewType,
    experiment_artifact_location,
    run_artifact_uri,
)
from genesis_flow.core.errors import (
    ExperimentNotFound,
    InvalidParameterValue,
    InvalidState,
    ModelVersionNotFound,
    RegisteredModelNotFound,
    ResourceAlreadyExists,
    RunNotFound,
)
from genesis_flow.core.redaction import redact_uri
from genesis_flow.core.registry import (
    ModelVersion,
    RegisteredModel,
)
from genesis_flow.core.search import parse_filter
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.entrypoints import shapes as S
from genesis_flow.entrypoints.bootstrap import (
    SQL_SCHEMES,
    build_artifact_store,
    build_registry_store,
    build_tracking_store,
    resolve_artifact_root,
    sql_database_kind,
)
from genesis_flow.entrypoints.extras import install_hint
from genesis_flow.ports import ArtifactStore, RegistryStore, TrackingStore
from genesis_flow.ports.tracking import DEFAULT_EXPERIMENT_ID

KINDS = ("experiments", "runs", "models", "versions")
_PAGE = 1000


# --- canonical forms and checksums ---------------------------------------------------------------


def _number(value: float) -> str:
    # JSON has no NaN or infinities; repr keeps them exact. -0.0 is 0.0: SQL databases (ours and
    # MLflow's) store it as 0, and the two compare equal.
    number = float(value)
    return repr(0.0 if number == 0 else number)


def _metric_point(m: Metric) -> str:
    return json.dumps(
        [m.key, _number(m.value), m.timestamp, m.step, m.model_id, m.dataset_name, m.dataset_digest]
    )


def canonical_run(run: Run, metric_history: Sequence[Metric]) -> dict[str, Any]:
    """The run as plain JSON data: info, params, tags, the full metric history (each distinct
    point once, ordered) and inputs/outputs. Equal data gives an equal document on every store."""
    info = run.info
    return {
        "info": {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "user_id": info.user_id,
            "status": info.status.value,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": info.artifact_uri,
            "lifecycle_stage": info.lifecycle_stage.value,
        },
        "params": sorted([p.key, p.value] for p in run.data.params),
        "tags": sorted([t.key, t.value] for t in run.data.tags),
        "metrics": sorted({_metric_point(m) for m in metric_history}),
        "datasets": sorted(
            json.dumps(
                [
                    d.dataset.name,
                    d.dataset.digest,
                    d.dataset.source_type,
                    d.dataset.source,
                    d.dataset.schema,
                    d.dataset.profile,
                    sorted([t.key, t.value] for t in d.tags),
                ]
            )
            for d in run.inputs.dataset_inputs
        ),
        "model_inputs": sorted({m.model_id for m in run.inputs.model_inputs}),
        "model_outputs": sorted({json.dumps([m.model_id, m.step]) for m in run.outputs.model_outputs}),
    }


def run_checksum(run: Run, metric_history: Sequence[Metric]) -> str:
    """sha256 of the canonical JSON of the run (:func:`canonical_run`)."""
    text = json.dumps(canonical_run(run, metric_history), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_experiment(experiment: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage.value,
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
        "tags": sorted([t.key, t.value] for t in experiment.tags),
    }


def canonical_model(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "description": model.description or None,
        "tags": sorted([t.key, t.value] for t in model.tags),
        "aliases": sorted([a.alias, a.version] for a in model.aliases),
    }


def canonical_version(version: ModelVersion) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "current_stage": version.current_stage.value,
        "description": version.description or None,
        "user_id": version.user_id or None,
        "source": version.source,
        "run_id": version.run_id or None,
        "status": version.status.value,
        "status_message": version.status_message or None,
        "run_link": version.run_link or None,
        "model_id": version.model_id or None,
        "tags": sorted([t.key, t.value] for t in version.tags),
        "aliases": sorted(version.aliases),
    }


# --- readers ------------------------------------------------------------------------------------


class Reader(Protocol):
    """What a migration reads from a store (ours or MLflow's), as domain entities."""

    def experiments(self) -> Iterator[Experiment]: ...

    def runs(self, experiment_id: str) -> Iterator[Run]: ...

    def metric_history(self, run: Run) -> list[Metric]: ...

    def registered_models(self) -> Iterator[RegisteredModel]: ...

    def model_versions(self, model: RegisteredModel) -> list[ModelVersion]: ...

    def close(self) -> None: ...


class StoreReader:
    """Reads a Genesis-Flow store through the ports."""

    def __init__(self, tracking: TrackingStore, registry: RegistryStore) -> None:
        self.tracking = tracking
        self.registry = registry

    def experiments(self) -> Iterator[Experiment]:
        token: str | None = None
        while True:
            page = self.tracking.search_experiments(
                view_type=ViewType.ALL, max_results=_PAGE, page_token=token
            )
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def runs(self, experiment_id: str) -> Iterator[Run]:
        token: str | None = None
        while True:
            page = self.tracking.search_runs(
                [experiment_id], run_view_type=ViewType.ALL, max_results=_PAGE, page_token=token
            )
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def metric_history(self, run: Run) -> list[Metric]:
        points: list[Metric] = []
        for key in sorted({m.key for m in run.data.metrics}):
            points.extend(self.tracking.get_metric_history(run.info.run_id, key).items)
        return points

    def registered_models(self) -> Iterator[RegisteredModel]:
        token: str | None = None
        while True:
            page = self.registry.search_registered_models(max_results=_PAGE, page_token=token)
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def model_versions(self, model: RegisteredModel) -> list[ModelVersion]:
        quoted = model.name.replace("\\", "\\\\").replace("'", "\\'")
        search = parse_filter(SearchKind.MODEL_VERSIONS, f"name = '{quoted}'")
        versions: list[ModelVersion] = []
        token: str | None = None
        while True:
            page = self.registry.search_model_versions(filter=search, max_results=_PAGE, page_token=token)
            versions.extend(v for v in page.items if v.name == model.name)
            token = page.next_page_token
            if not token:
                return sorted(versions, key=lambda v: v.version)

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        try:
            return self.tracking.get_experiment(experiment_id)
        except ExperimentNotFound:
            return None

    def get_run(self, run_id: str) -> Run | None:
        try:
            return self.tracking.get_run(run_id)
        except RunNotFound:
            return None

    def get_registered_model(self, name: str) -> RegisteredModel | None:
        try:
            return self.registry.get_registered_model(name)
        except RegisteredModelNotFound:
            return None

    def get_model_version(self, name: str, version: int) -> ModelVersion | None:
        try:
            return self.registry.get_model_version(name, version)
        except (ModelVersionNotFound, RegisteredModelNotFound):
            return None

    def close(self) -> None:
        pass


class MlflowReader:
    """Reads MLflow's own stores (file store or SQL database) and converts to domain entities."""

    def __init__(self, tracking: Any, registry: Any, on_close: Callable[[], None] = lambda: None) -> None:
        from mlflow.entities import ViewType as MlflowViewType

        self.tracking = tracking
        self.registry = registry
        self._all = MlflowViewType.ALL
        self._on_close = on_close

    def experiments(self) -> Iterator[Experiment]:
        token = None
        while True:
            page = self.tracking.search_experiments(view_type=self._all, max_results=_PAGE, page_token=token)
            for e in page:
                yield S.experiment_to_core(e)
            token = page.token
            if not token:
                return

    def runs(self, experiment_id: str) -> Iterator[Run]:
        token = None
        while True:
            page = self.tracking.search_runs(
                [experiment_id], "", self._all, max_results=_PAGE, order_by=None, page_token=token
            )
            for run in page:
                yield S.run_to_core(run)
            token = page.token
            if not token:
                return

    def metric_history(self, run: Run) -> list[Metric]:
        points: list[Metric] = []
        for key in sorted({m.key for m in run.data.metrics}):
            for m in self.tracking.get_metric_history(run.info.run_id, key):
                points.append(S.stored_metric_to_core(m))
        return points

    def registered_models(self) -> Iterator[RegisteredModel]:
        token = None
        while True:
            page = self.registry.search_registered_models(max_results=_PAGE, page_token=token)
            for m in page:
                yield S.registered_model_to_core(m)
            token = page.token
            if not token:
                return

    def model_versions(self, model: RegisteredModel) -> list[ModelVersion]:
        by_version: dict[int, list[str]] = {}
        for alias in model.aliases:
            by_version.setdefault(alias.version, []).append(alias.alias)
        quoted = model.name.replace("\\", "\\\\").replace("'", "\\'")
        versions: list[ModelVersion] = []
        token = None
        while True:
            page = self.registry.search_model_versions(
                filter_string=f"name = '{quoted}'", max_results=_PAGE, page_token=token
            )
            for mv in page:
                versions.append(S.model_version_to_core(mv, by_version.get(int(mv.version), ())))
            token = getattr(page, "token", None)
            if not token:
                break
        return sorted(versions, key=lambda v: v.version)

    def close(self) -> None:
        self._on_close()


# --- opening stores -----------------------------------------------------------------------------


def _import_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        hint = install_hint("mlflow")
        raise InvalidParameterValue(f"reading an MLflow store needs MLflow: {hint}") from None


def _local_path(uri: str) -> str | None:
    """The local path of a ``file://`` URI or a plain path, None for another scheme."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return unquote(parts.path)
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        return uri
    return None


def _is_sql(uri: str) -> bool:
    return urlsplit(uri).scheme.lower() in SQL_SCHEMES


def _sqlite_file(uri: str) -> str | None:
    if urlsplit(uri).scheme.lower() != "sqlite":
        return None
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def open_source(uri: str) -> Reader:
    """A reader for the source ``uri``; refuses one that does not exist (never creates it)."""
    path = _local_path(uri)
    if path is not None and os.path.isfile(path):
        # A database file named by its path (MLflow's ./mlflow.db): SQLite's URI for it.
        uri, path = f"sqlite:///{os.path.abspath(path)}", None
    if path is not None:
        if not os.path.isdir(path):
            raise InvalidParameterValue(
                f"Source {redact_uri(uri)!r} is neither an MLflow 'mlruns' directory nor a database"
                " file (no such file or directory)"
            )
        return _mlflow_file_reader(os.path.abspath(path))
    if _is_sql(uri):
        sqlite_file = _sqlite_file(uri)
        if sqlite_file is not None and not os.path.isfile(sqlite_file):
            raise InvalidParameterValue(f"Source database {redact_uri(uri)!r} does not exist")
        if sql_database_kind(uri) is DatabaseKind.MLFLOW:
            return _mlflow_sql_reader(uri)
    return StoreReader(build_tracking_store(uri), build_registry_store(uri))


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    warnings.filterwarnings("ignore", module="mlflow")


def _mlflow_file_reader(path: str) -> Reader:
    _import_mlflow()
    _quiet_mlflow()
    from mlflow.store.model_registry.file_store import FileStore as RegistryFileStore
    from mlflow.store.tracking.file_store import FileStore

    # MLflow 3 refuses to open a file store unless told to: reading one to leave it is the point.
    saved = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        tracking = FileStore(path)  # type: ignore[no-untyped-call]
        registry = RegistryFileStore(path)  # type: ignore[no-untyped-call]
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = saved
    return MlflowReader(tracking, registry)


def _mlflow_sql_reader(uri: str) -> Reader:
    _import_mlflow()
    _quiet_mlflow()
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistrySqlStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    db_uri = uri
    scheme = urlsplit(uri).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg2  # type: ignore[import-untyped]  # noqa: F401
        except ImportError:  # psycopg 3 is what our postgres extra installs
            db_uri = "postgresql+psycopg://" + uri.split("://", 1)[1]
    tracking = SqlAlchemyStore(db_uri, tempfile.gettempdir())  # type: ignore[no-untyped-call]
    registry = RegistrySqlStore(db_uri)  # type: ignore[no-untyped-call]

    def close() -> None:
        for store in (tracking, registry):
            engine = getattr(store, "engine", None)
            if engine is not None:
                engine.dispose()

    return MlflowReader(tracking, registry, close)


def open_destination(uri: str) -> StoreReader:
    return StoreReader(build_tracking_store(uri), build_registry_store(uri))


# --- the migration --------------------------------------------------------------------------------


class ProgressSink(Protocol):
    def start(self, kind: str, total: int) -> None: ...

    def advance(self, kind: str) -> None: ...


class _NoProgress:
    def start(self, kind: str, total: int) -> None:
        pass

    def advance(self, kind: str) -> None:
        pass


@define
class MigrationReport:
    """What a migration did and found. ``mismatch`` names the first differing entity, if any."""

    source: str
    destination: str
    dry_run: bool
    copied: dict[str, int] = field(factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: dict[str, int] = field(factory=lambda: dict.fromkeys(KINDS, 0))
    source_counts: dict[str, int] = field(factory=lambda: dict.fromkeys(KINDS, 0))
    destination_counts: dict[str, int] = field(factory=lambda: dict.fromkeys(KINDS, 0))
    artifacts_copied: int = 0
    # Where copied artifacts went (--artifacts); None: runs keep the source's artifact locations.
    artifact_root: str | None = None
    runs_verified: int = 0
    mismatch: str | None = None


class Relocation:
    """Optionally moves artifact locations under a new root, where a store with that root puts
    them: experiments to ``<root>/<id>``, runs to ``<root>/<experiment id>/<run id>/artifacts``.
    Without a root, locations are kept."""

    def __init__(self, root: str | None) -> None:
        self.root = root

    def experiment(self, experiment: Experiment) -> Experiment:
        if self.root is None:
            return experiment
        location = experiment_artifact_location(self.root, experiment.experiment_id)
        return evolve(experiment, artifact_location=location)

    def run(self, run: Run) -> Run:
        if self.root is None:
            return run
        info = run.info
        uri = run_artifact_uri(experiment_artifact_location(self.root, info.experiment_id), info.run_id)
        return evolve(run, info=evolve(info, artifact_uri=uri))

    def refuse_kept_elsewhere(self, what: str, found: str | None, relocated: str) -> None:
        """Raise if ``what`` (an experiment or run the destination already holds, which the
        copy skips) keeps its files at ``found`` rather than at ``relocated``, its place under
        the new root: skipped, it would still point into the source after an --artifacts copy
        (a store first migrated without --artifacts), and verification would fail on it."""
        if self.root is None or (found or "").rstrip("/") == relocated.rstrip("/"):
            return
        raise InvalidParameterValue(
            f"{what} is already in the destination with its artifacts at {found!r}, not under"
            f" {self.root!r}: it was migrated without --artifacts, and --artifacts relocates only"
            " what it copies. Migrate with --artifacts into a new store, or leave out --artifacts"
            " to keep the runs pointing at their files"
        )


def migrate(
    source_uri: str,
    destination_uri: str,
    *,
    artifacts: bool = False,
    dry_run: bool = False,
    artifact_root: str | None = None,
    progress: ProgressSink | None = None,
) -> MigrationReport:
    """Copy everything from ``source_uri`` to ``destination_uri`` and verify; see the module
    docstring. With ``dry_run`` nothing is written: the report counts what would be copied.

    With ``artifacts``, each run's files are copied under ``artifact_root`` (default: the root
    the composition root gives a store's new experiments; a relative one is made absolute), the
    copy is checked file by file (path and size) before the run is written, and the copied
    experiments and runs point there. Without it, runs keep pointing at the source's files.
    Raises InvalidState naming the run whose copied files differ from the source's."""
    if source_uri == destination_uri:
        raise InvalidParameterValue("--from and --to name the same store")
    if artifact_root is not None and not artifacts:
        raise InvalidParameterValue(
            "--artifact-root needs --artifacts: runs moved to a new root without their files"
            " would point at nothing"
        )
    sink = progress or _NoProgress()
    report = MigrationReport(redact_uri(source_uri), redact_uri(destination_uri), dry_run)
    if artifacts:
        report.artifact_root = resolve_artifact_root(artifact_root)
    relocation = Relocation(report.artifact_root)
    source = open_source(source_uri)
    try:
        destination = _open_destination_for(destination_uri, dry_run)
        _copy(source, destination, report, relocation, sink, artifacts=artifacts, dry_run=dry_run)
        if not dry_run and destination is not None:
            verify(source, destination, report, relocation, sink)
        elif dry_run:
            for kind in KINDS:
                report.source_counts[kind] = report.copied[kind] + report.skipped[kind]
            if destination is not None:
                count_destination(destination, report)
    finally:
        source.close()
    return report


def _open_destination_for(uri: str, dry_run: bool) -> StoreReader | None:
    # A dry run opens nothing it would create: a missing SQLite file counts as an empty store.
    if dry_run:
        sqlite_file = _sqlite_file(uri)
        if sqlite_file is not None and not os.path.isfile(sqlite_file):
            return None
    return open_destination(uri)


def _copy(
    source: Reader,
    destination: StoreReader | None,
    report: MigrationReport,
    relocation: Relocation,
    sink: ProgressSink,
    *,
    artifacts: bool,
    dry_run: bool,
) -> None:
    experiments = sorted(source.experiments(), key=lambda e: (e.experiment_id != DEFAULT_EXPERIMENT_ID,))
    # Before anything is written: an experiment that the copy would skip must already be where
    # the copy puts its runs' files (the default experiment is compared whole below).
    for experiment in experiments:
        existing = destination.get_experiment(experiment.experiment_id) if destination else None
        if existing is not None and experiment.experiment_id != DEFAULT_EXPERIMENT_ID:
            relocated = relocation.experiment(experiment).artifact_location
            relocation.refuse_kept_elsewhere(
                f"Experiment {experiment.experiment_id}", existing.artifact_location, relocated
            )
    sink.start("experiments", len(experiments))
    for experiment in experiments:
        experiment = relocation.experiment(experiment)
        existing = destination.get_experiment(experiment.experiment_id) if destination else None
        if existing is not None and (
            experiment.experiment_id != DEFAULT_EXPERIMENT_ID
            or canonical_experiment(existing) == canonical_experiment(experiment)
        ):
            if existing.name != experiment.name and experiment.experiment_id != DEFAULT_EXPERIMENT_ID:
                raise InvalidParameterValue(
                    f"Experiment id {experiment.experiment_id} exists in the destination as"
                    f" {existing.name!r}, in the source as {experiment.name!r}; not merging"
                )
            report.skipped["experiments"] += 1
        else:
            if not dry_run and destination is not None:
                destination.tracking.import_experiment(experiment)
            report.copied["experiments"] += 1
        sink.advance("experiments")

    total_runs = sum(1 for e in experiments for _ in source.runs(e.experiment_id))
    sink.start("runs", total_runs)
    for experiment in experiments:
        for original in source.runs(experiment.experiment_id):
            run = relocation.run(original)
            existing_run = destination.get_run(run.info.run_id) if destination is not None else None
            if existing_run is not None:
                relocation.refuse_kept_elsewhere(
                    f"Run {run.info.run_id}", existing_run.info.artifact_uri, run.info.artifact_uri
                )
                report.skipped["runs"] += 1
            else:
                if not dry_run and destination is not None:
                    history = source.metric_history(run)
                    if artifacts:
                        report.artifacts_copied += _copy_artifacts(
                            run.info.run_id, original.info.artifact_uri, run.info.artifact_uri
                        )
                    try:
                        destination.tracking.import_run(run, history)
                    except ResourceAlreadyExists:  # written by a concurrent or earlier attempt
                        report.skipped["runs"] += 1
                        sink.advance("runs")
                        continue
                report.copied["runs"] += 1
            sink.advance("runs")

    models = list(source.registered_models())
    sink.start("models", len(models))
    versions_by_model: list[tuple[RegisteredModel, list[ModelVersion]]] = []
    for model in models:
        versions_by_model.append((model, source.model_versions(model)))
        if destination is not None and destination.get_registered_model(model.name) is not None:
            report.skipped["models"] += 1
        else:
            if not dry_run and destination is not None:
                try:
                    destination.registry.import_registered_model(
                        evolve(model, latest_versions=(), aliases=())
                    )
                except ResourceAlreadyExists:
                    report.skipped["models"] += 1
                    sink.advance("models")
                    continue
            report.copied["models"] += 1
        sink.advance("models")

    sink.start("versions", sum(len(v) for _, v in versions_by_model))
    for _model, versions in versions_by_model:
        for version in versions:
            if (
                destination is not None
                and destination.get_model_version(version.name, version.version) is not None
            ):
                report.skipped["versions"] += 1
            else:
                if not dry_run and destination is not None:
                    try:
                        destination.registry.import_model_version(version)
                    except ResourceAlreadyExists:
                        report.skipped["versions"] += 1
                        sink.advance("versions")
                        continue
                report.copied["versions"] += 1
            sink.advance("versions")


def _copy_artifacts(run_id: str, source_uri: str, destination_uri: str) -> int:
    """Copy the files under a source run's artifact root to the destination run's (nothing when
    both are the same location), then check that the destination holds every source file with
    its size. Returns how many files were copied; raises InvalidState naming the run otherwise."""
    if not source_uri or source_uri.rstrip("/") == destination_uri.rstrip("/"):
        return 0
    source_store = build_artifact_store(source_uri)
    expected = artifact_sizes(source_store)
    if not expected:
        return 0
    destination_store = build_artifact_store(destination_uri)
    with tempfile.TemporaryDirectory(prefix="genesis-migrate-") as folder:
        local = source_store.download_artifacts("", folder)
        destination_store.log_artifacts(local)
    found = artifact_sizes(destination_store)
    differing = sorted(path for path, size in expected.items() if found.get(path) != size)
    if differing:
        raise InvalidState(
            f"The artifacts of run {run_id} were not copied intact: {len(differing)} of"
            f" {len(expected)} file(s) missing or of another size in the destination, e.g."
            f" {differing[0]!r}; the run was not written"
        )
    return len(expected)


def artifact_sizes(store: ArtifactStore, path: str | None = None) -> dict[str, int | None]:
    """Every file under ``path`` (default: the whole root) of ``store``: its path -> size."""
    sizes: dict[str, int | None] = {}
    for entry in store.list_artifacts(path):
        if entry.is_dir:
            sizes.update(artifact_sizes(store, entry.path))
        else:
            sizes[entry.path] = entry.file_size
    return sizes


def verify(
    source: Reader,
    destination: StoreReader,
    report: MigrationReport,
    relocation: Relocation,
    sink: ProgressSink,
) -> None:
    """Count both sides and compare every source entity with the destination's (runs by checksum).
    Sets ``report.mismatch`` to the first difference found."""
    for experiment in source.experiments():
        report.source_counts["experiments"] += 1
        experiment = relocation.experiment(experiment)
        found = destination.get_experiment(experiment.experiment_id)
        if report.mismatch is None and (
            found is None or canonical_experiment(found) != canonical_experiment(experiment)
        ):
            report.mismatch = f"experiment {experiment.experiment_id}"
        runs = list(source.runs(experiment.experiment_id))
        for run in runs:
            report.source_counts["runs"] += 1
            run = relocation.run(run)
            expected = run_checksum(run, source.metric_history(run))
            other = destination.get_run(run.info.run_id)
            actual = None if other is None else run_checksum(other, destination.metric_history(other))
            if expected != actual and report.mismatch is None:
                report.mismatch = f"run {run.info.run_id}"
            report.runs_verified += 1
    for model in source.registered_models():
        report.source_counts["models"] += 1
        other_model = destination.get_registered_model(model.name)
        if report.mismatch is None and (
            other_model is None or canonical_model(other_model) != canonical_model(model)
        ):
            report.mismatch = f"registered model {model.name!r}"
        for version in source.model_versions(model):
            report.source_counts["versions"] += 1
            other_version = destination.get_model_version(version.name, version.version)
            if report.mismatch is None and (
                other_version is None or canonical_version(other_version) != canonical_version(version)
            ):
                report.mismatch = f"model version {version.name!r} {version.version}"
    count_destination(destination, report)
    if report.mismatch is None:
        for kind in KINDS:
            if report.destination_counts[kind] < report.source_counts[kind]:
                report.mismatch = f"{kind}: {report.destination_counts[kind]} in the destination," + (
                    f" {report.source_counts[kind]} in the source"
                )
                break


def count_destination(destination: StoreReader, report: MigrationReport) -> None:
    """Fill ``report.destination_counts`` with what the destination holds."""
    for experiment in destination.experiments():
        report.destination_counts["experiments"] += 1
        report.destination_counts["runs"] += sum(1 for _ in destination.runs(experiment.experiment_id))
    for model in destination.registered_models():
        report.destination_counts["models"] += 1
        report.destination_counts["versions"] += len(destination.model_versions(model))


def store_checksums(reader: Reader) -> dict[str, str]:
    """run id -> :func:`run_checksum` for every run of the store (tests and audits)."""
    return {
        run.info.run_id: run_checksum(run, reader.metric_history(run))
        for experiment in reader.experiments()
        for run in reader.runs(experiment.experiment_id)
    }


__all__ = [
    "KINDS",
    "MigrationReport",
    "ProgressSink",
    "Reader",
    "StoreReader",
    "canonical_run",
    "migrate",
    "open_destination",
    "open_source",
    "run_checksum",
    "store_checksums",
    "verify",
]
