"""SqlTrackingStore: the tracking port on SQLAlchemy Core tables (SQLite and PostgreSQL).

Every call is one short transaction (:meth:`SqlDatabase.transact`). Writes are set-based: a
``log_batch`` of 1000 metrics is one ``executemany`` per table, and the latest value of each
metric is maintained by an upsert that only wins when the new point is newer, so the order in
which concurrent writers arrive does not matter. Reads of a page of runs are one query for the
runs plus one per related table for that page. Semantics are on the port, not repeated here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genesis_flow.adapters.sql import schema as t
from genesis_flow.adapters.sql import search as q
from genesis_flow.adapters.sql.database import SqlDatabase, chunks
from genesis_flow.adapters.sql.diagnostics import diagnose_database
from genesis_flow.adapters.sql.errors import is_unique_violation
from genesis_flow.adapters.sql.mapping import (
    HISTORY_COLUMNS,
    LATEST_COLUMNS,
    MODEL_METRIC_COLUMNS,
    dataset_input_from,
    dataset_input_rows,
    experiment_from,
    grouped,
    history_metric,
    id_order,
    latest_metric,
    latest_row,
    logged_model_from,
    logged_model_row,
    metric_row,
    model_metric,
    model_metric_row,
    run_info_from,
    run_row,
)
from genesis_flow.adapters.sql.tracing import SqlTraces
from genesis_flow.core import validation as v
from genesis_flow.core.commands import (
    ExperimentSearch,
    ImportedRun,
    LogBatch,
    LoggedModelParams,
    NewLoggedModel,
    PageRequest,
    RunIdPrefix,
    check_imported_experiment,
    check_new_experiment,
    check_run_inputs,
)
from genesis_flow.core.diagnostics import Diagnosis
from genesis_flow.core.entities import (
    DatasetInput,
    DatasetRef,
    DatasetSummary,
    Experiment,
    ExperimentTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Page,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
    experiment_artifact_location,
    experiment_exists,
    experiment_id_exists,
    experiment_not_active,
    experiment_not_found,
    experiment_not_renamable,
    experiment_tag_not_found,
    imported_deletion_time,
    logged_model_not_found,
    logged_model_tag_not_found,
    run_artifact_uri,
    run_exists,
    run_not_active,
    run_not_found,
    run_tag_not_found,
)
from genesis_flow.core.search.ast import Filter, OrderBy, SearchKind
from genesis_flow.ports.clock import Clock, IdGenerator, SystemClock, UuidIdGenerator
from genesis_flow.ports.tracking import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME

RUN_NAME_TAG = v.RUN_NAME_TAG
ACTIVE = LifecycleStage.ACTIVE.value
DELETED = LifecycleStage.DELETED.value
# Runs purged per statement.
_PURGE_CHUNK = 500
# PostgreSQL collations (libc provider) that order text by code point, as RunIdPrefix needs.
_CODE_POINT_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8"})


class SqlTrackingStore(SqlTraces):
    """TrackingStore (and TraceStore, :mod:`.tracing`) on SQLite or PostgreSQL. Thread-safe;
    several processes may share a database."""

    def __init__(
        self,
        database: SqlDatabase,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        artifact_root: str = "./genesis-artifacts",
    ) -> None:
        self._db = database
        self._clock = clock or SystemClock()
        self._ids = ids or UuidIdGenerator()
        self._artifact_root = artifact_root
        self._d = q.Dialect(database.dialect)
        self._index_orders_ids_by_code_point: bool | None = None
        self._db.transact(self._ensure_default_experiment, write=True)

    @classmethod
    def from_uri(
        cls, uri: str, artifact_root: str = "./genesis-artifacts", clock: Clock | None = None
    ) -> SqlTrackingStore:
        return cls(SqlDatabase.from_uri(uri), clock=clock, artifact_root=artifact_root)

    @property
    def database(self) -> SqlDatabase:
        return self._db

    def diagnose(self) -> Diagnosis:
        return diagnose_database(self._db)

    # --- SQL helpers -------------------------------------------------------------------------------

    def _prepared(self, key: str) -> Any:
        """Hot-path statements, compiled once per database (see :class:`~.database.Prepared`)."""
        return self._db.prepare(key, lambda: self._build(key))

    def _build(self, key: str) -> Any:
        runs, bind = t.runs, sa.bindparam
        if key == "run_state":
            return sa.select(runs.c.lifecycle_stage, runs.c.experiment_id).where(
                runs.c.run_id == bind("run_id")
            )
        if key == "experiment":
            return sa.select(t.experiments).where(t.experiments.c.experiment_id == bind("experiment_id"))
        if key == "run_params":
            return sa.select(t.params.c.key, t.params.c.value).where(t.params.c.run_id == bind("run_id"))
        if key == "insert_run":
            return t.runs.insert()
        if key == "insert_tags":
            return t.tags.insert()
        if key == "insert_params":
            return self._d.insert_ignore(t.params)
        if key == "insert_metrics":
            return self._d.insert_ignore(t.metrics)
        if key == "upsert_tags":
            return self._d.upsert(t.tags, ["run_id", "key"], ["value"])
        if key == "rename_run":
            return sa.update(runs).where(runs.c.run_id == bind("run_id")).values(name=bind("name"))
        if key == "upsert_latest":
            stmt = self._d.insert(t.latest_metrics)
            current = t.latest_metrics.c
            # MLflow's (step, timestamp, value) rule; is_inf puts inf above the largest double again.
            order = ("step", "timestamp", "value", "is_inf", "is_nan")
            newer = sa.tuple_(*(stmt.excluded[c] for c in order)) > sa.tuple_(*(current[c] for c in order))
            columns = [
                "value",
                "is_inf",
                "timestamp",
                "step",
                "is_nan",
                "model_id",
                "dataset_name",
                "dataset_digest",
            ]
            return stmt.on_conflict_do_update(
                index_elements=["run_id", "key"], set_={c: stmt.excluded[c] for c in columns}, where=newer
            )
        if key == "history":
            m = t.metrics.c
            return (
                sa.select(*HISTORY_COLUMNS)
                .where(m.run_id == bind("run_id"), m.key == bind("key"))
                .order_by(m.timestamp, m.step, m.value, m.is_nan)
                .limit(bind("limit"))
                .offset(bind("offset"))
            )
        if key == "run_exists":
            return sa.select(runs.c.run_id).where(runs.c.run_id == bind("run_id"))
        raise KeyError(key)

    def _ensure_default_experiment(self, conn: Connection) -> None:
        exists = conn.execute(
            sa.select(t.experiments.c.experiment_id).where(
                t.experiments.c.experiment_id == DEFAULT_EXPERIMENT_ID
            )
        ).first()
        if exists is None:
            now = self._clock.now_ms()
            conn.execute(
                self._d.insert_ignore(t.experiments).values(
                    experiment_id=DEFAULT_EXPERIMENT_ID,
                    id_order=0,
                    name=DEFAULT_EXPERIMENT_NAME,
                    artifact_location=self._location(DEFAULT_EXPERIMENT_ID),
                    lifecycle_stage=ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
            )

    def _location(self, experiment_id: str) -> str:
        return experiment_artifact_location(self._artifact_root, experiment_id)

    # --- experiments -------------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[ExperimentTag] = ()
    ) -> str:
        check_new_experiment(name, artifact_location, tags)

        def work(conn: Connection) -> str:
            self._check_name_free(conn, name)
            counter = t.counters.c
            allocated = conn.execute(
                sa.update(t.counters)
                .where(counter.name == "experiment")
                .values(value=counter.value + 1)
                .returning(counter.value)
            ).scalar_one()
            experiment_id = str(allocated)
            now = self._clock.now_ms()
            self._insert_experiment_row(
                conn,
                {
                    "experiment_id": experiment_id,
                    "id_order": allocated,
                    "name": name,
                    "artifact_location": artifact_location or self._location(experiment_id),
                    "lifecycle_stage": ACTIVE,
                    "creation_time": now,
                    "last_update_time": now,
                },
            )
            unique = {tag.key: tag.value for tag in tags}
            if unique:
                conn.execute(
                    t.experiment_tags.insert(),
                    [{"experiment_id": experiment_id, "key": k, "value": val} for k, val in unique.items()],
                )
            return experiment_id

        return self._db.transact(work, write=True)

    def _insert_experiment_row(self, conn: Connection, row: dict[str, Any]) -> None:
        try:
            # A savepoint, so that losing a race for the name leaves the transaction usable.
            with conn.begin_nested():
                conn.execute(t.experiments.insert().values(**row))
        except sa.exc.IntegrityError as error:
            if is_unique_violation(error):
                raise experiment_exists(row["name"]) from None
            raise

    def _check_name_free(self, conn: Connection, name: str, *, other_than: str | None = None) -> None:
        query = sa.select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)
        if other_than is not None:
            query = query.where(t.experiments.c.experiment_id != other_than)
        if conn.execute(query).first() is not None:
            raise experiment_exists(name)

    def _experiment_row(self, conn: Connection, experiment_id: str) -> Any:
        experiment_id = v.experiment_id(experiment_id)
        row = self._prepared("experiment").run(conn, {"experiment_id": experiment_id}).first()
        if row is None:
            raise experiment_not_found(experiment_id)
        return row

    def _active_experiment_row(self, conn: Connection, experiment_id: str) -> Any:
        row = self._experiment_row(conn, experiment_id)
        if row.lifecycle_stage != ACTIVE:
            raise experiment_not_active(experiment_id, row.lifecycle_stage)
        return row

    def _experiments_with_tags(self, conn: Connection, rows: Sequence[Any]) -> list[Experiment]:
        et = t.experiment_tags.c
        ids = [r.experiment_id for r in rows]
        tags = grouped(conn, et.experiment_id, (et.key, et.value), ids, ExperimentTag)
        return [experiment_from(r, tags[r.experiment_id]) for r in rows]

    def get_experiment(self, experiment_id: str) -> Experiment:
        def work(conn: Connection) -> Experiment:
            return self._experiments_with_tags(conn, [self._experiment_row(conn, experiment_id)])[0]

        return self._db.transact(work)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        v.validate_text("name", name)  # no stored name can hold unstorable text

        def work(conn: Connection) -> Experiment | None:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.name == name)).first()
            return None if row is None else self._experiments_with_tags(conn, [row])[0]

        return self._db.transact(work)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter: Filter = Filter(),
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Experiment]:
        page = PageRequest.search(
            SearchKind.EXPERIMENTS, max_results, page_token, view_type, filter, tuple(order_by)
        )
        e = t.experiments
        query = (
            sa.select(e)
            .where(
                e.c.lifecycle_stage.in_(view_type.stage_values()), *q.experiment_where(self._d, e, filter, t)
            )
            .order_by(*q.experiment_order(self._d, e, order_by))
        )
        return self._db.read_page(query, page, self._experiments_with_tags)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.validate_experiment_name(new_name)

        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage != ACTIVE:
                raise experiment_not_renamable()
            if row.name == new_name:
                return
            self._check_name_free(conn, new_name)
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.update(t.experiments)
                        .where(t.experiments.c.experiment_id == row.experiment_id)
                        .values(name=new_name, last_update_time=self._clock.now_ms())
                    )
            except sa.exc.IntegrityError as error:
                if is_unique_violation(error):
                    raise experiment_exists(new_name) from None
                raise

        self._db.transact(work, write=True)

    def delete_experiment(self, experiment_id: str) -> None:
        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage != ACTIVE:
                raise experiment_not_found(experiment_id)
            self._set_experiment_stage(conn, row.experiment_id, DELETED)

        self._db.transact(work, write=True)

    def restore_experiment(self, experiment_id: str) -> None:
        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage != DELETED:
                raise experiment_not_found(experiment_id)
            self._set_experiment_stage(conn, row.experiment_id, ACTIVE)

        self._db.transact(work, write=True)

    def _set_experiment_stage(self, conn: Connection, experiment_id: str, stage: str) -> None:
        now = self._clock.now_ms()
        conn.execute(
            sa.update(t.experiments)
            .where(t.experiments.c.experiment_id == experiment_id)
            .values(lifecycle_stage=stage, last_update_time=now)
        )
        # MLflow moves every run of the experiment with it, in both directions.
        conn.execute(
            sa.update(t.runs)
            .where(t.runs.c.experiment_id == experiment_id)
            .values(lifecycle_stage=stage, deleted_time=now if stage == DELETED else None)
        )

    def set_experiment_tag(self, experiment_id: str, tag: ExperimentTag) -> None:
        v.validate_experiment_tag(tag.key, tag.value)

        def work(conn: Connection) -> None:
            row = self._active_experiment_row(conn, experiment_id)
            conn.execute(
                self._d.upsert(t.experiment_tags, ["experiment_id", "key"], ["value"]).values(
                    experiment_id=row.experiment_id, key=tag.key, value=tag.value
                )
            )

        self._db.transact(work, write=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        v.validate_lookup("key", key)

        def work(conn: Connection) -> None:
            row = self._active_experiment_row(conn, experiment_id)
            et = t.experiment_tags.c
            deleted = conn.execute(
                sa.delete(t.experiment_tags).where(et.experiment_id == row.experiment_id, et.key == key)
            )
            if deleted.rowcount == 0:
                raise experiment_tag_not_found(experiment_id, key)

        self._db.transact(work, write=True)

    # --- runs --------------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int | None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        name, tag_map = v.run_name_and_tags(run_name, [(tag.key, tag.value) for tag in tags])
        start_time = v.validate_run_start(user_id, start_time)

        def work(conn: Connection) -> Run:
            experiment = self._active_experiment_row(conn, experiment_id)
            run_id = self._ids.new_id()
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user_id=user_id,
                status=RunStatus.RUNNING,
                start_time=self._clock.now_ms() if start_time is None else start_time,
                end_time=None,
                artifact_uri=run_artifact_uri(experiment.artifact_location, run_id),
            )
            conn.execute(t.runs.insert().values(**run_row(info)))
            if tag_map:
                conn.execute(
                    t.tags.insert(),
                    [{"run_id": run_id, "key": k, "value": val} for k, val in tag_map.items()],
                )
            return Run(info=info, data=RunData(tags=tuple(RunTag(k, val) for k, val in tag_map.items())))

        return self._db.transact(work, write=True)

    def _run_row_of(self, conn: Connection, run_id: str) -> Any:
        v.validate_lookup("run_id", run_id)
        row = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
        if row is None:
            raise run_not_found(run_id)
        return row

    def _active_run_row(self, conn: Connection, run_id: str) -> Any:
        v.validate_lookup("run_id", run_id)
        row = self._prepared("run_state").run(conn, {"run_id": run_id}).first()
        if row is None:
            raise run_not_found(run_id)
        if row.lifecycle_stage != ACTIVE:
            raise run_not_active(run_id, row.lifecycle_stage)
        return row

    def _load_runs(self, conn: Connection, rows: Sequence[Any]) -> list[Run]:
        """Runs for ``rows`` of the runs table: one query per related table, whatever the count."""
        ids = [r.run_id for r in rows]
        p, tg, lm = t.params.c, t.tags.c, t.latest_metrics.c
        mi, mo = t.run_model_inputs.c, t.run_model_outputs.c
        params = grouped(conn, p.run_id, (p.key, p.value), ids, Param)
        tags = grouped(conn, tg.run_id, (tg.key, tg.value), ids, RunTag)
        metrics = grouped(conn, lm.run_id, LATEST_COLUMNS, ids, latest_metric)
        inputs = self._dataset_inputs(conn, ids)
        model_inputs = grouped(conn, mi.run_id, (mi.model_id,), ids, LoggedModelInput)
        outputs = grouped(conn, mo.run_id, (mo.model_id, mo.step), ids, LoggedModelOutput)
        return [
            Run(
                info=run_info_from(r),
                data=RunData(metrics=metrics[r.run_id], params=params[r.run_id], tags=tags[r.run_id]),
                inputs=RunInputs(dataset_inputs=inputs[r.run_id], model_inputs=model_inputs[r.run_id]),
                outputs=RunOutputs(outputs[r.run_id]),
            )
            for r in rows
        ]

    def _dataset_inputs(self, conn: Connection, ids: Sequence[str]) -> dict[str, list[DatasetInput]]:
        ri, d = t.run_inputs, t.datasets
        inputs: dict[str, list[DatasetInput]] = {i: [] for i in ids}
        for chunk in chunks(ids):
            dataset_rows = conn.execute(
                sa.select(ri.c.run_id, ri.c.tags, d)
                .join(t.runs, t.runs.c.run_id == ri.c.run_id)
                .join(
                    d,
                    sa.and_(
                        d.c.experiment_id == t.runs.c.experiment_id,
                        d.c.name == ri.c.dataset_name,
                        d.c.digest == ri.c.dataset_digest,
                    ),
                )
                .where(ri.c.run_id.in_(chunk))
                .order_by(ri.c.run_id, ri.c.ordinal, ri.c.dataset_name, ri.c.dataset_digest)
            )
            for r in dataset_rows:
                inputs[r.run_id].append(dataset_input_from(r))
        return inputs

    def get_run(self, run_id: str) -> Run:
        def work(conn: Connection) -> Run:
            return self._load_runs(conn, [self._run_row_of(conn, run_id)])[0]

        return self._db.transact(work)

    def run_ids_with_prefix(self, prefix: str, limit: int) -> tuple[str, ...]:
        lookup = RunIdPrefix.of(prefix, limit)

        def work(conn: Connection) -> tuple[str, ...]:
            # Where the primary key's index orders ids by code point, the range is an index range
            # scan. Under a language collation (en_US...) the same range could miss ids (it
            # ignores punctuation and case at first), so there ids compare as "C": exact, but
            # read by a full scan.
            run_id = t.runs.c.run_id
            if not self._ids_by_code_point(conn):
                run_id = self._d.text(run_id)
            condition = run_id >= lookup.prefix
            if lookup.upper is not None:
                condition = condition & (run_id < lookup.upper)
            statement = sa.select(t.runs.c.run_id).where(condition).order_by(run_id).limit(lookup.limit)
            return tuple(conn.execute(statement).scalars())

        return self._db.transact(work)

    def _ids_by_code_point(self, conn: Connection) -> bool:
        """Whether the run id column (the database's default collation) orders by code point."""
        if self._index_orders_ids_by_code_point is None:
            if self._d.is_sqlite:
                known = True  # BINARY: UTF-8 bytes, which order as code points
            else:
                # datlocprovider exists from PostgreSQL 15 on ("c" = libc); JSON reads it as
                # NULL on older servers, where libc is the only provider.
                provider, collate = conn.execute(
                    sa.text(
                        "SELECT to_jsonb(d) ->> 'datlocprovider', d.datcollate FROM pg_database d"
                        " WHERE d.datname = current_database()"
                    )
                ).one()
                known = provider in (None, "c") and collate in _CODE_POINT_COLLATIONS
            self._index_orders_ids_by_code_point = known
        return self._index_orders_ids_by_code_point

    def update_run_info(
        self,
        run_id: str,
        run_status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        end_time = v.validate_run_update(end_time, run_name)
        status = RunStatus.parse(run_status) if run_status is not None else None

        def work(conn: Connection) -> RunInfo:
            self._active_run_row(conn, run_id)
            values: dict[str, Any] = {}
            if status is not None:
                values["status"] = status.value
            if end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["name"] = run_name
                self._set_tags(conn, run_id, {RUN_NAME_TAG: run_name})
            if values:
                conn.execute(sa.update(t.runs).where(t.runs.c.run_id == run_id).values(**values))
            return run_info_from(self._run_row_of(conn, run_id))

        return self._db.transact(work, write=True)

    def delete_run(self, run_id: str) -> None:
        def work(conn: Connection) -> None:
            row = self._run_row_of(conn, run_id)
            if row.lifecycle_stage != DELETED:
                conn.execute(
                    sa.update(t.runs)
                    .where(t.runs.c.run_id == run_id)
                    .values(lifecycle_stage=DELETED, deleted_time=self._clock.now_ms())
                )

        self._db.transact(work, write=True)

    def restore_run(self, run_id: str) -> None:
        def work(conn: Connection) -> None:
            self._run_row_of(conn, run_id)
            conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(lifecycle_stage=ACTIVE, deleted_time=None)
            )

        self._db.transact(work, write=True)

    def purge_deleted_runs(self, older_than_ms: int, *, dry_run: bool = False) -> list[RunInfo]:
        def work(conn: Connection) -> list[RunInfo]:
            query = sa.select(t.runs).where(t.runs.c.lifecycle_stage == DELETED)
            if older_than_ms != 0:
                cutoff = self._clock.now_ms() - older_than_ms
                query = query.where(t.runs.c.deleted_time.is_not(None), t.runs.c.deleted_time <= cutoff)
            infos = [run_info_from(row) for row in conn.execute(query.order_by(t.runs.c.run_id))]
            if not dry_run:
                ids = [info.run_id for info in infos]
                for start in range(0, len(ids), _PURGE_CHUNK):
                    chunk = ids[start : start + _PURGE_CHUNK]
                    for table in t.RUN_CHILD_TABLES:
                        conn.execute(sa.delete(table).where(table.c.run_id.in_(chunk)))
                    conn.execute(sa.delete(t.runs).where(t.runs.c.run_id.in_(chunk)))
            return infos

        return self._db.transact(work, write=not dry_run)

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    def delete_tag(self, run_id: str, key: str) -> None:
        v.validate_lookup("key", key)

        def work(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            deleted = conn.execute(sa.delete(t.tags).where(t.tags.c.run_id == run_id, t.tags.c.key == key))
            if deleted.rowcount == 0:
                raise run_tag_not_found(run_id, key)

        self._db.transact(work, write=True)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        batch = LogBatch.prepare(metrics, params, tags)
        metric_rows = [metric_row(run_id, m) for m in batch.metrics]

        def work(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            # Atomic: every check that can fail runs before the first write.
            new_params = batch.new_params(run_id, self._stored_params(conn, run_id)) if batch.params else ()
            if batch.model_ids:
                self._check_models_exist(conn, batch.model_ids)
            if new_params:
                self._prepared("insert_params").run_many(
                    conn, [{"run_id": run_id, "key": p.key, "value": p.value} for p in new_params]
                )
                if not self._d.is_sqlite:
                    # A racing writer may have stored another value between our check and insert.
                    batch.new_params(run_id, self._stored_params(conn, run_id))
            if metric_rows:
                self._prepared("insert_metrics").run_many(conn, metric_rows)
                self._prepared("upsert_latest").run_many(
                    conn, [latest_row(run_id, m) for m in batch.latest.values()]
                )
                model_points = [model_metric_row(run_id, m) for m in batch.metrics if m.model_id is not None]
                if model_points:
                    conn.execute(self._d.insert_ignore(t.logged_model_metrics), model_points)
            if batch.tags:
                self._set_tags(conn, run_id, batch.tag_values)

        self._db.transact(work, write=True)

    def _stored_params(self, conn: Connection, run_id: str) -> dict[str, str]:
        # All of the run's params: runs hold tens of them, and one prepared query beats an IN list.
        return dict(self._prepared("run_params").run(conn, {"run_id": run_id}).all())

    def _check_models_exist(self, conn: Connection, model_ids: Sequence[str]) -> None:
        lm = t.logged_models.c
        found = set(
            conn.execute(
                sa.select(lm.model_id).where(lm.model_id.in_(model_ids), lm.lifecycle_stage == ACTIVE)
            ).scalars()
        )
        for model_id in model_ids:
            if model_id not in found:
                raise logged_model_not_found(model_id)

    def _set_tags(self, conn: Connection, run_id: str, values: dict[str, str]) -> None:
        self._prepared("upsert_tags").run_many(
            conn, [{"run_id": run_id, "key": k, "value": val} for k, val in values.items()]
        )
        if RUN_NAME_TAG in values:
            self._prepared("rename_run").run(conn, {"run_id": run_id, "name": values[RUN_NAME_TAG]})

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[Metric]:
        page = PageRequest.metric_history(run_id, metric_key, max_results, page_token)
        # LIMIT -1 is "no limit" to SQLite; PostgreSQL takes NULL (LIMIT ALL).
        no_limit = -1 if self._d.is_sqlite else None
        limit = no_limit if page.fetch is None else page.fetch

        def work(conn: Connection) -> list[Metric]:
            if self._prepared("run_exists").run(conn, {"run_id": run_id}).first() is None:
                raise run_not_found(run_id)
            rows = self._prepared("history").run(
                conn, {"run_id": run_id, "key": metric_key, "limit": limit, "offset": page.offset}
            )
            return [history_metric(row) for row in rows]

        return page.page(self._db.transact(work))

    def metric_history_lengths(self, run_id: str) -> dict[str, int]:
        v.validate_lookup("run_id", run_id)
        # From the run, outer-joined: no row at all is an unknown run, one NULL key a run without
        # metrics, so one statement also answers RunNotFound. The history's primary key starts
        # (run_id, key), so the counts are read off that index.
        m, runs = t.metrics.c, t.runs
        statement = (
            sa.select(m.key, sa.func.count(m.key))
            .select_from(runs.outerjoin(t.metrics, m.run_id == runs.c.run_id))
            .where(runs.c.run_id == run_id)
            .group_by(m.key)
        )

        def work(conn: Connection) -> dict[str, int]:
            rows = conn.execute(statement).all()
            if not rows:
                raise run_not_found(run_id)
            return {key: count for key, count in rows if key is not None}

        return self._db.transact(work)

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[LoggedModelInput] = (),
    ) -> None:
        check_run_inputs(datasets, models)

        def work(conn: Connection) -> None:
            row = self._active_run_row(conn, run_id)
            self._attach_inputs(conn, run_id, row.experiment_id, datasets)
            if models:
                conn.execute(
                    self._d.insert_ignore(t.run_model_inputs),
                    [{"run_id": run_id, "model_id": m.model_id} for m in models],
                )

        self._db.transact(work, write=True)

    def _attach_inputs(
        self, conn: Connection, run_id: str, experiment_id: str, datasets: Sequence[DatasetInput]
    ) -> None:
        if not datasets:
            return
        # The first stored dataset of that (name, digest) in the experiment wins, as in MLflow,
        # and so does the first input of it to a run (ON CONFLICT DO NOTHING on both).
        ri = t.run_inputs
        next_ordinal = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(ri.c.ordinal) + 1, 0)).where(ri.c.run_id == run_id)
        ).scalar_one()
        stored, inputs = dataset_input_rows(run_id, experiment_id, datasets, next_ordinal)
        conn.execute(self._d.insert_ignore(t.datasets), stored)
        conn.execute(self._d.insert_ignore(t.run_inputs), inputs)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        v.validate_model_outputs(models)

        def work(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            if not models:
                return
            self._check_models_exist(conn, sorted({m.model_id for m in models}))
            conn.execute(
                self._d.insert_ignore(t.run_model_outputs),
                [{"run_id": run_id, "model_id": m.model_id, "step": m.step} for m in models],
            )

        self._db.transact(work, write=True)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[Run]:
        search = ExperimentSearch.runs(
            experiment_ids, filter, run_view_type, max_results, order_by, page_token
        )
        runs = t.runs
        where, inner, present = q.run_where(self._d, runs, filter, t)
        terms, outer = q.run_order(self._d, runs, order_by, t, present)
        source: Any = runs
        for table, on in inner:
            source = source.join(table, on)
        for table, on in outer:
            source = source.outerjoin(table, on)
        query = (
            sa.select(runs)
            .select_from(source)
            .where(
                runs.c.experiment_id.in_(search.experiment_ids),
                runs.c.lifecycle_stage.in_(run_view_type.stage_values()),
                *where,
            )
            .order_by(*terms)
        )
        return self._db.read_page(query, search.page, self._load_runs)

    def search_datasets(self, experiment_ids: Sequence[str]) -> tuple[DatasetSummary, ...]:
        wanted = sorted(set(v.experiment_ids(experiment_ids)))
        ri, runs = t.run_inputs, t.runs
        query = (
            sa.select(runs.c.experiment_id, ri.c.dataset_name, ri.c.dataset_digest, ri.c.context)
            .join(runs, runs.c.run_id == ri.c.run_id)
            .where(runs.c.experiment_id.in_(wanted))
            .distinct()
        )
        rows = self._db.transact(lambda conn: conn.execute(query).all())
        summaries = {
            DatasetSummary(r.experiment_id, r.dataset_name, r.dataset_digest, r.context) for r in rows
        }
        return tuple(sorted(summaries, key=lambda d: (d.experiment_id, d.name, d.digest, d.context or "")))

    # --- logged models -------------------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Sequence[LoggedModelTag] = (),
        params: Sequence[LoggedModelParameter] = (),
        model_type: str | None = None,
    ) -> LoggedModel:
        new = NewLoggedModel.checked(name, source_run_id, tags, params, model_type)

        def work(conn: Connection) -> LoggedModel:
            experiment = self._active_experiment_row(conn, experiment_id)
            model = new.build(
                self._ids.new_id(),
                experiment.experiment_id,
                experiment.artifact_location,
                self._clock.now_ms(),
            )
            model_id = model.model_id
            conn.execute(t.logged_models.insert().values(logged_model_row(model)))
            self._write_model_pairs(
                conn, t.logged_model_tags, model_id, [(x.key, x.value) for x in model.tags]
            )
            self._write_model_pairs(
                conn, t.logged_model_params, model_id, [(x.key, x.value) for x in model.params]
            )
            return model

        return self._db.transact(work, write=True)

    def _write_model_pairs(
        self, conn: Connection, table: sa.Table, model_id: str, pairs: Sequence[tuple[str, str]]
    ) -> None:
        if pairs:
            conn.execute(
                self._d.upsert(table, ["model_id", "key"], ["value"]),
                [{"model_id": model_id, "key": k, "value": val} for k, val in pairs],
            )

    def _logged_model_row(self, conn: Connection, model_id: str, *, allow_deleted: bool = False) -> Any:
        # As in MLflow, reads hide deleted models while writes (delete again, tags, finalize)
        # still reach them.
        v.validate_lookup("model_id", model_id)
        row = conn.execute(sa.select(t.logged_models).where(t.logged_models.c.model_id == model_id)).first()
        if row is None or (row.lifecycle_stage != ACTIVE and not allow_deleted):
            raise logged_model_not_found(model_id)
        return row

    def _load_logged_models(self, conn: Connection, rows: Sequence[Any]) -> list[LoggedModel]:
        ids = [r.model_id for r in rows]
        lt, lp = t.logged_model_tags.c, t.logged_model_params.c
        tags = grouped(conn, lt.model_id, (lt.key, lt.value), ids, LoggedModelTag)
        params = grouped(conn, lp.model_id, (lp.key, lp.value), ids, LoggedModelParameter)
        owner = t.logged_model_metrics.c.model_id
        metrics = grouped(conn, owner, MODEL_METRIC_COLUMNS, ids, model_metric)
        return [logged_model_from(r, tags[r.model_id], params[r.model_id], metrics[r.model_id]) for r in rows]

    def get_logged_model(self, model_id: str) -> LoggedModel:
        def work(conn: Connection) -> LoggedModel:
            return self._load_logged_models(conn, [self._logged_model_row(conn, model_id)])[0]

        return self._db.transact(work)

    def delete_logged_model(self, model_id: str) -> None:
        def work(conn: Connection) -> None:
            self._logged_model_row(conn, model_id, allow_deleted=True)
            conn.execute(
                sa.update(t.logged_models)
                .where(t.logged_models.c.model_id == model_id)
                .values(lifecycle_stage=DELETED, last_updated_timestamp=self._clock.now_ms())
            )

        self._db.transact(work, write=True)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        parsed = LoggedModelStatus.parse(status)

        def work(conn: Connection) -> LoggedModel:
            row = self._logged_model_row(conn, model_id, allow_deleted=True)
            model = self._load_logged_models(conn, [row])[0].finalize(parsed, self._clock.now_ms())
            conn.execute(
                sa.update(t.logged_models)
                .where(t.logged_models.c.model_id == model_id)
                .values(status=model.status.value, last_updated_timestamp=model.last_updated_timestamp)
            )
            return model

        return self._db.transact(work, write=True)

    def set_logged_model_tags(self, model_id: str, tags: Sequence[LoggedModelTag]) -> None:
        for tag in tags:
            v.validate_run_tag(tag.key, tag.value)

        def work(conn: Connection) -> None:
            self._logged_model_row(conn, model_id, allow_deleted=True)
            pairs = {tag.key: tag.value for tag in tags}
            self._write_model_pairs(conn, t.logged_model_tags, model_id, list(pairs.items()))

        self._db.transact(work, write=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        v.validate_lookup("key", key)

        def work(conn: Connection) -> None:
            self._logged_model_row(conn, model_id, allow_deleted=True)
            lt = t.logged_model_tags.c
            deleted = conn.execute(
                sa.delete(t.logged_model_tags).where(lt.model_id == model_id, lt.key == key)
            )
            if deleted.rowcount == 0:
                raise logged_model_tag_not_found(model_id, key)

        self._db.transact(work, write=True)

    def log_logged_model_params(self, model_id: str, params: Sequence[LoggedModelParameter]) -> None:
        command = LoggedModelParams.prepare(params)

        def work(conn: Connection) -> None:
            self._logged_model_row(conn, model_id, allow_deleted=True)
            lp = t.logged_model_params.c
            stored = dict(
                conn.execute(
                    sa.select(lp.key, lp.value).where(
                        lp.model_id == model_id, lp.key.in_([p.key for p in params])
                    )
                ).all()
            )
            fresh = command.new_params(model_id, stored)
            if fresh:
                conn.execute(
                    self._d.insert_ignore(t.logged_model_params),
                    [{"model_id": model_id, "key": p.key, "value": p.value} for p in fresh],
                )

        self._db.transact(work, write=True)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        datasets: Sequence[DatasetRef] = (),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        search = ExperimentSearch.logged_models(
            experiment_ids, filter, datasets, max_results, order_by, page_token
        )
        lm = t.logged_models
        query = (
            sa.select(lm)
            .where(
                lm.c.experiment_id.in_(search.experiment_ids),
                lm.c.lifecycle_stage == ACTIVE,
                *q.logged_model_where(self._d, lm, filter, datasets, t),
            )
            .order_by(*q.logged_model_order(self._d, lm, order_by, t))
        )
        return self._db.read_page(query, search.page, self._load_logged_models)

    # --- import (migration) --------------------------------------------------------------------------

    def import_experiment(self, experiment: Experiment) -> None:
        check_imported_experiment(experiment)
        experiment_id = experiment.experiment_id

        def work(conn: Connection) -> None:
            existing = conn.execute(
                sa.select(t.experiments.c.experiment_id).where(t.experiments.c.experiment_id == experiment_id)
            ).first()
            if existing is not None and experiment_id != DEFAULT_EXPERIMENT_ID:
                raise experiment_id_exists(experiment_id)
            self._check_name_free(conn, experiment.name, other_than=experiment_id)
            row = {
                "experiment_id": experiment_id,
                "id_order": id_order(experiment_id),
                "name": experiment.name,
                "artifact_location": experiment.artifact_location,
                "lifecycle_stage": experiment.lifecycle_stage.value,
                "creation_time": experiment.creation_time,
                "last_update_time": experiment.last_update_time,
            }
            if existing is not None:
                conn.execute(
                    sa.delete(t.experiment_tags).where(t.experiment_tags.c.experiment_id == experiment_id)
                )
                conn.execute(
                    sa.update(t.experiments)
                    .where(t.experiments.c.experiment_id == experiment_id)
                    .values(**row)
                )
            else:
                self._insert_experiment_row(conn, row)
            if experiment.tags:
                conn.execute(
                    t.experiment_tags.insert(),
                    [
                        {"experiment_id": experiment_id, "key": x.key, "value": x.value}
                        for x in experiment.tags
                    ],
                )
            number = id_order(experiment_id)
            if number is not None:
                counter = t.counters.c
                conn.execute(
                    sa.update(t.counters)
                    .where(counter.name == "experiment", counter.value < number)
                    .values(value=number)
                )

        self._db.transact(work, write=True)

    def import_run(self, run: Run, metric_history: Sequence[Metric]) -> None:
        imported = ImportedRun.prepare(run.info.run_id, run.data.params, run.data.tags, metric_history)
        run_id = run.info.run_id

        def work(conn: Connection) -> None:
            self._experiment_row(conn, run.info.experiment_id)
            if conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first() is not None:
                raise run_exists(run_id)
            row = run_row(run.info)
            row["deleted_time"] = imported_deletion_time(run.info)
            conn.execute(t.runs.insert().values(**row))
            if run.data.params:
                conn.execute(
                    t.params.insert(),
                    [{"run_id": run_id, "key": p.key, "value": p.value} for p in run.data.params],
                )
            if run.data.tags:
                conn.execute(
                    t.tags.insert(),
                    [{"run_id": run_id, "key": x.key, "value": x.value} for x in run.data.tags],
                )
            if imported.points:
                conn.execute(t.metrics.insert(), [metric_row(run_id, m) for m in imported.points])
                conn.execute(
                    t.latest_metrics.insert(), [latest_row(run_id, m) for m in imported.latest.values()]
                )
            self._attach_inputs(conn, run_id, run.info.experiment_id, run.inputs.dataset_inputs)
            # Model links are kept as given: in a migration the models may arrive later.
            if run.inputs.model_inputs:
                conn.execute(
                    t.run_model_inputs.insert(),
                    [{"run_id": run_id, "model_id": m.model_id} for m in run.inputs.model_inputs],
                )
            if run.outputs.model_outputs:
                conn.execute(
                    t.run_model_outputs.insert(),
                    [
                        {"run_id": run_id, "model_id": m.model_id, "step": m.step}
                        for m in run.outputs.model_outputs
                    ],
                )

        self._db.transact(work, write=True)
