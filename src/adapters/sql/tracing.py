"""SQL tracing: the tracing port on the trace tables, mixed into :class:`~.tracking.SqlTrackingStore`.

Semantics are documented on the port (:mod:`genesis_flow.ports.tracing`), not repeated here. The
SQL shape:

* ``trace_info`` holds one row per trace, ``trace_tags`` and ``trace_metadata`` its key/value
  pairs, ``spans`` one row per span (its start time as a column, the rest as one JSON document).
* Writes are one transaction each and set-based: ``log_spans`` of 1000 spans is one query for
  the traces already known (locking their rows), one insert of the new traces, one insert of the
  tags they gain, one update of the known traces the spans change and one upsert of the spans,
  whatever the count. Both writers upsert (``INSERT ... ON CONFLICT``), so
  ``start_trace`` and ``log_spans`` of one trace may race in any order without a duplicate-key
  failure; ``start_trace``'s upsert does the field-by-field merge in the database.
* Reads load a page of traces with one query per table (tags and metadata together) for the
  whole page, never one per trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genesis_flow.adapters.sql import schema as t
from genesis_flow.adapters.sql import search as q
from genesis_flow.adapters.sql.database import SqlDatabase, chunks
from genesis_flow.adapters.sql.mapping import (
    TRACE_INFO_COLUMNS,
    pair_rows,
    span_from,
    span_row,
    trace_info_of,
    trace_info_row,
)
from genesis_flow.core import validation as v
from genesis_flow.core.commands import ExperimentSearch
from genesis_flow.core.entities import Page
from genesis_flow.core.errors import InternalError
from genesis_flow.core.search.ast import Filter, OrderBy
from genesis_flow.core.tracing import (
    OPEN_STATES,
    Span,
    Trace,
    TraceInfo,
    carries_totals,
    check_delete_traces_arguments,
    info_from_spans,
    span_order,
    started,
    trace_not_found,
    trace_tag_not_found,
    update_info_from_spans,
    validate_span,
    validate_trace_id,
    validate_trace_info,
    validate_trace_tag,
)

# Ids per IN list, far below SQLite's 32766 bound parameters.
_CHUNK = 5_000


def _pairs_of(d: q.Dialect, table: sa.Table, trace_id: Any) -> Any:
    """One trace's key/value rows as one JSON object (NULL when it has none)."""
    row = table.alias()
    aggregate = sa.func.json_group_object if d.is_sqlite else sa.func.json_object_agg
    pairs = sa.select(aggregate(row.c.key, row.c.value)).where(row.c.trace_id == trace_id).scalar_subquery()
    # SQLite: json() keeps the object an object inside json_array (a subquery drops its JSON-ness).
    return sa.func.json(pairs) if d.is_sqlite else pairs


def _info_columns(d: q.Dialect, source: Any) -> list[Any]:
    """A trace's info in one row: its columns of ``source`` (trace_info or a page of it), then
    ``[tags, metadata]`` as one JSON array, aggregated by correlated subqueries, so a page of
    infos is one query and one JSON document per trace."""
    array = sa.func.json_array if d.is_sqlite else sa.func.json_build_array
    return [
        *(source.c[c] for c in TRACE_INFO_COLUMNS),
        array(
            _pairs_of(d, t.trace_tags, source.c.trace_id), _pairs_of(d, t.trace_metadata, source.c.trace_id)
        ).label("pairs"),
    ]


def _update_from_spans() -> Any:
    """What spans change in a known trace, one row per trace (``executemany``). Times and state
    change only while the stored trace is still open, previews only while still missing, so a
    writer that closed or filled the trace first is never overwritten (every SET term reads the
    row as it was before the update)."""
    ti = t.trace_info
    is_open = ti.c.state.in_(sorted(s.value for s in OPEN_STATES))

    def bind(column: str) -> Any:
        return sa.bindparam(f"b_{column}", type_=ti.c[column].type)

    def while_open(column: str) -> Any:
        return sa.case((is_open, bind(column)), else_=ti.c[column])

    return (
        sa.update(ti)
        .where(ti.c.trace_id == bind("trace_id"))
        .values(
            request_time=while_open("request_time"),
            execution_duration=while_open("execution_duration"),
            request_preview=sa.func.coalesce(ti.c.request_preview, bind("request_preview")),
            response_preview=sa.func.coalesce(ti.c.response_preview, bind("response_preview")),
            state=while_open("state"),
        )
    )


_UPDATE_FROM_SPANS = _update_from_spans()
_UPDATED_COLUMNS = (
    "trace_id",
    "request_time",
    "execution_duration",
    "state",
    "request_preview",
    "response_preview",
)


class SqlTraces:
    """The tracing port for :class:`~.tracking.SqlTrackingStore`, which provides these members."""

    _db: SqlDatabase
    _d: q.Dialect
    _active_experiment_row: Callable[[Connection, str], Any]

    # --- writes ------------------------------------------------------------------------------------

    def start_trace(self, info: TraceInfo) -> TraceInfo:
        validate_trace_info(info)
        info = started(info)
        ti = t.trace_info
        stmt = self._d.insert(ti).values(trace_info_row(info))
        # The merge of an existing trace (merge_trace_info): new values win, previews only when
        # given. Done by the database, so a concurrent log_spans creating the trace cannot fail it.
        replaced = ("experiment_id", "request_time", "execution_duration", "state", "client_request_id")
        merged = {c: stmt.excluded[c] for c in replaced}
        for preview in ("request_preview", "response_preview"):
            merged[preview] = sa.func.coalesce(stmt.excluded[preview], ti.c[preview])
        upsert = stmt.on_conflict_do_update(index_elements=["trace_id"], set_=merged)

        def work(conn: Connection) -> TraceInfo:
            self._active_experiment_row(conn, info.experiment_id)
            conn.execute(upsert)
            for table, pairs in ((t.trace_tags, info.tags), (t.trace_metadata, info.metadata)):
                if pairs:
                    conn.execute(
                        self._d.upsert(table, ["trace_id", "key"], ["value"]), pair_rows(info.trace_id, pairs)
                    )
            return self._info(conn, info.trace_id)

        return self._db.transact(work, write=True)

    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        for span in spans:
            validate_span(span)
        if not spans:
            return
        experiment_id = str(experiment_id)
        by_trace: dict[str, list[Span]] = {}
        # One row per (trace, span): the last one of the batch wins, as a later call would.
        unique: dict[tuple[str, str], Span] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
            unique[(span.trace_id, span.span_id)] = span
        # In key order, so concurrent writers lock rows in one order (no deadlock on PostgreSQL).
        span_rows = [span_row(unique[k]) for k in sorted(unique)]
        ids = sorted(by_trace)

        def work(conn: Connection) -> None:
            self._active_experiment_row(conn, experiment_id)
            stored = self._locked_infos(conn, ids)
            created = [info_from_spans(i, experiment_id, by_trace[i]) for i in ids if i not in stored]
            tags: list[dict[str, Any]] = []
            if created:
                # A trace created meanwhile by another writer keeps what that writer stored; the
                # spans then update it as they update a known trace.
                inserted = conn.execute(
                    self._d.insert_ignore(t.trace_info), [trace_info_row(i) for i in created]
                )
                if inserted.rowcount < len(created):
                    mine = {i.trace_id: trace_info_row(i) for i in created}
                    raced = self._locked_infos(conn, list(mine))
                    created = [
                        i
                        for i in created
                        if i.trace_id in raced and trace_info_row(raced[i.trace_id]) == mine[i.trace_id]
                    ]
                    for i in created:
                        del raced[i.trace_id]
                    stored.update(raced)
                tags += [row for i in created for row in pair_rows(i.trace_id, i.tags)]
                metadata = [row for i in created for row in pair_rows(i.trace_id, i.metadata)]
                if metadata:
                    conn.execute(self._d.insert_ignore(t.trace_metadata), metadata)
            updates: list[dict[str, Any]] = []
            changed: dict[sa.Table, list[dict[str, Any]]] = {t.trace_tags: [], t.trace_metadata: []}
            earlier = self._stored_spans(conn, [i for i in stored if carries_totals(by_trace[i])])
            for trace_id, before in stored.items():
                after = update_info_from_spans(before, by_trace[trace_id], earlier.get(trace_id, ()))
                if after is before:
                    continue
                row = trace_info_row(after)
                updates.append({f"b_{k}": row[k] for k in _UPDATED_COLUMNS})
                for table, old, new in (
                    (t.trace_tags, before.tags, after.tags),
                    (t.trace_metadata, before.metadata, after.metadata),
                ):
                    changed[table] += pair_rows(trace_id, {k: v for k, v in new.items() if old.get(k) != v})
            if tags:
                conn.execute(self._d.insert_ignore(t.trace_tags), tags)
            for table, rows in changed.items():
                if rows:
                    conn.execute(self._d.upsert(table, ["trace_id", "key"], ["value"]), rows)
            if updates:
                conn.execute(_UPDATE_FROM_SPANS, updates)
            conn.execute(
                self._d.upsert(t.spans, ["trace_id", "span_id"], ["start_time_ns", "content"]), span_rows
            )

        self._db.transact(work, write=True)

    def _locked_infos(self, conn: Connection, ids: Sequence[str]) -> dict[str, TraceInfo]:
        """The stored infos of the traces among ``ids`` (``ids`` sorted), tags and metadata
        included (spans change both). Their rows stay locked until the transaction ends
        (PostgreSQL; SQLite's write transactions are serial), so a concurrent ``start_trace`` or
        ``log_spans`` of the same trace waits instead of being overwritten by infos computed from
        stale rows."""
        ti = t.trace_info
        infos: dict[str, TraceInfo] = {}
        for chunk in chunks(ids, _CHUNK):
            # One statement: the row lock and the info read with its tags and metadata.
            query = sa.select(*_info_columns(self._d, ti)).where(ti.c.trace_id.in_(chunk))
            for info in map(
                trace_info_of, conn.execute(query.order_by(ti.c.trace_id).with_for_update(of=ti))
            ):
                infos[info.trace_id] = info
        return infos

    def _stored_spans(self, conn: Connection, ids: Sequence[str]) -> dict[str, list[Span]]:
        """The stored spans of the traces among ``ids``, by trace: one query per chunk of ids."""
        spans: dict[str, list[Span]] = {}
        s = t.spans.c
        for chunk in chunks(list(ids), _CHUNK):
            query = sa.select(s.trace_id, s.span_id, s.start_time_ns, s.content).where(s.trace_id.in_(chunk))
            for trace_id, span_id, start_time_ns, content in conn.execute(query).all():
                spans.setdefault(trace_id, []).append(span_from(trace_id, span_id, start_time_ns, content))
        return spans

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        validate_trace_tag(key, value)

        def work(conn: Connection) -> None:
            self._trace_row(conn, trace_id)
            conn.execute(
                self._d.upsert(t.trace_tags, ["trace_id", "key"], ["value"]),
                [{"trace_id": trace_id, "key": key, "value": value}],
            )

        self._db.transact(work, write=True)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        v.validate_lookup("key", key)
        tt = t.trace_tags

        def work(conn: Connection) -> None:
            self._trace_row(conn, trace_id)
            deleted = conn.execute(sa.delete(tt).where(tt.c.trace_id == trace_id, tt.c.key == key)).rowcount
            if not deleted:
                raise trace_tag_not_found(trace_id, key)

        self._db.transact(work, write=True)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        experiment_id = check_delete_traces_arguments(
            experiment_id, max_timestamp_millis, max_traces, trace_ids
        )
        ti = t.trace_info

        def work(conn: Connection) -> int:
            doomed: list[str] = []
            if trace_ids:
                wanted = list(dict.fromkeys(i for i in trace_ids if isinstance(i, str)))
                for chunk in chunks(wanted, _CHUNK):
                    doomed += conn.execute(
                        sa.select(ti.c.trace_id).where(
                            ti.c.trace_id.in_(chunk), ti.c.experiment_id == experiment_id
                        )
                    ).scalars()
            else:
                query = (
                    sa.select(ti.c.trace_id)
                    .where(ti.c.experiment_id == experiment_id, ti.c.request_time <= max_timestamp_millis)
                    .order_by(ti.c.request_time, self._d.text(ti.c.trace_id))
                    .limit(max_traces)
                )
                doomed = list(conn.execute(query).scalars())
            deleted = 0
            for chunk in chunks(doomed, _CHUNK):
                for child in (t.spans, t.trace_tags, t.trace_metadata):
                    conn.execute(sa.delete(child).where(child.c.trace_id.in_(chunk)))
                # Counted by the database: a concurrent delete of the same traces counts them once.
                deleted += conn.execute(sa.delete(ti).where(ti.c.trace_id.in_(chunk))).rowcount
            return deleted

        return self._db.transact(work, write=True)

    # --- reads -------------------------------------------------------------------------------------

    def _trace_row(self, conn: Connection, trace_id: str) -> Any:
        validate_trace_id(trace_id)
        row = conn.execute(sa.select(t.trace_info).where(t.trace_info.c.trace_id == trace_id)).first()
        if row is None:
            raise trace_not_found(trace_id)
        return row

    def _info(self, conn: Connection, trace_id: str) -> TraceInfo:
        """One trace's info, tags and metadata included: one query."""
        validate_trace_id(trace_id)
        d = self._d

        def build() -> Any:
            ti = t.trace_info
            return sa.select(*_info_columns(d, ti)).where(ti.c.trace_id == sa.bindparam("trace_id"))

        row = self._db.prepare("trace_info", build).run(conn, {"trace_id": trace_id}).first()
        if row is None:
            raise trace_not_found(trace_id)
        return trace_info_of(row)

    def _infos(self, conn: Connection, ids: Sequence[str]) -> list[TraceInfo]:
        """The infos of the traces among ``ids``, tags and metadata included: one query per
        :data:`_CHUNK` ids."""
        ti = t.trace_info
        infos: list[TraceInfo] = []
        for chunk in chunks(ids, _CHUNK):
            query = sa.select(*_info_columns(self._d, ti)).where(ti.c.trace_id.in_(chunk))
            infos += map(trace_info_of, conn.execute(query))
        return infos

    def _with_spans(self, conn: Connection, infos: Sequence[TraceInfo]) -> list[Trace]:
        """Traces for ``infos``, with their spans: one query for all spans."""
        spans = self._stored_spans(conn, [i.trace_id for i in infos])
        return [Trace(i, sorted(spans.get(i.trace_id, ()), key=span_order)) for i in infos]

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        return self._db.transact(lambda conn: self._info(conn, trace_id))

    def get_trace(self, trace_id: str) -> Trace:
        def work(conn: Connection) -> Trace:
            return self._with_spans(conn, [self._info(conn, trace_id)])[0]

        return self._db.transact(work)

    def batch_get_traces(self, trace_ids: Sequence[str]) -> tuple[Trace, ...]:
        v.validate_lookups("trace_ids", trace_ids)
        wanted = list(dict.fromkeys(i for i in trace_ids if isinstance(i, str)))
        if not wanted:
            return ()

        def work(conn: Connection) -> tuple[Trace, ...]:
            found = {
                trace.info.trace_id: trace for trace in self._with_spans(conn, self._infos(conn, wanted))
            }
            return tuple(found[i] for i in wanted if i in found)

        return self._db.transact(work)

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter: Filter = Filter(),
        max_results: int | None = None,
        order_by: Sequence[OrderBy] = (),
        page_token: str | None = None,
    ) -> Page[TraceInfo]:
        search = ExperimentSearch.traces(experiment_ids, filter, max_results, order_by, page_token)
        wanted = search.experiment_ids
        values = q.trace_values(self._d, filter, order_by)
        values.update({f"e{i}": e for i, e in enumerate(wanted)})
        values["limit"], values["offset"] = search.page.fetch, search.page.offset
        shape = ("search_traces", len(wanted), q.trace_filter_shape(filter), q.trace_order_shape(order_by))
        d = self._d

        def build() -> Any:
            return _search_statement(d, len(wanted), filter, order_by, values)

        statement = self._db.prepare(shape, build)

        def work(conn: Connection) -> list[TraceInfo]:
            return [trace_info_of(r) for r in statement.run(conn, values).all()]

        return search.page.page(self._db.transact(work))


def _search_statement(
    d: q.Dialect, experiments: int, filter: Filter, order_by: Sequence[OrderBy], values: dict[str, Any]
) -> Any:
    """search_traces' query for its shape: the page of trace_info rows (filtered, ordered, cut)
    as a subquery, then each row's tags and metadata, aggregated for the page's rows only. Keys
    and values are bind parameters: experiments ``e0``.., ``limit``, ``offset``, the filter's
    and order's ``v0``.. (see :func:`~.search.trace_values`, checked against ``values`` here)."""
    ti = t.trace_info
    bind = q.Binds()
    where = q.trace_where(d, ti, filter, t, bind)
    terms, joins = q.trace_order(d, ti, order_by, t, bind)
    if any(k not in values or values[k] != v for k, v in bind.values.items()):
        raise InternalError("search_traces bound other values than it sends")
    source: Any = ti
    for table, on in joins:
        source = source.outerjoin(table, on)
    if experiments == 1:
        in_experiments: Any = ti.c.experiment_id == sa.bindparam("e0")
    else:
        in_experiments = ti.c.experiment_id.in_([sa.bindparam(f"e{i}") for i in range(experiments)])
    page = (
        sa.select(
            *(ti.c[c] for c in TRACE_INFO_COLUMNS), *(e.label(f"o{i}") for i, (e, _) in enumerate(terms))
        )
        .select_from(source)
        .where(in_experiments if experiments else sa.false(), *where)
        .order_by(*(e.asc() if ascending else e.desc() for e, ascending in terms))
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
        .subquery("page")
    )
    order = []
    for i, (e, ascending) in enumerate(terms):
        column = page.c[f"o{i}"]
        if isinstance(e.type, sa.String):
            column = d.text(column)
        order.append(column.asc() if ascending else column.desc())
    return sa.select(*_info_columns(d, page)).order_by(*order)
