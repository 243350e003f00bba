"""No N+1 in the SQL adapter: the statements a call issues do not grow with the rows it touches.

An SQLAlchemy ``before_cursor_execute`` listener counts every statement sent to the database
(``executemany`` counts once, as it is one round of the driver). A page of 1 run and a page of 500
runs, a run with 1 metric and one with 200, a batch of 1 metric and one of 1000, must cost the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from genesis_flow.adapters.sql import SqlDatabase, SqlTrackingStore
from genesis_flow.adapters.sql.database import (
    DEFAULT_STATEMENT_TIMEOUT_MS,
    normalize_uri,
    uri_statement_timeout_ms,
)
from genesis_flow.core.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from genesis_flow.core.errors import InvalidParameterValue, TemporarilyUnavailable
from genesis_flow.core.search import parse_filter, parse_order_by
from genesis_flow.core.search.ast import SearchKind

POSTGRES_URI = os.environ.get("GENESIS_TEST_SQL_POSTGRES_URI")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlTrackingStore]:
    if request.param == "sqlite":
        database = SqlDatabase.from_uri(f"sqlite:///{tmp_path}/statements.db")
        yield SqlTrackingStore(database, artifact_root=str(tmp_path))
        database.dispose()
        return
    if not POSTGRES_URI:
        pytest.skip("GENESIS_TEST_SQL_POSTGRES_URI is unset (scripts/services.sh sets it)")
    url = normalize_uri(POSTGRES_URI)
    schema = f"gf_statements_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    database = SqlDatabase(engine, uri=POSTGRES_URI)
    yield SqlTrackingStore(database, artifact_root=str(tmp_path))
    database.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@contextmanager
def counting(store: SqlTrackingStore) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = store.database.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def statements_of(store: SqlTrackingStore, call: Callable[[], object]) -> list[str]:
    with counting(store) as statements:
        call()
    return statements


def _full_run(store: SqlTrackingStore, experiment_id: str, i: int) -> str:
    run_id = store.create_run(experiment_id, "u", 1000 + i, run_name=f"r{i}").info.run_id
    store.log_batch(
        run_id,
        metrics=[Metric("acc", (i % 97) / 97, 1, 0), Metric("loss", 1.0 / (i + 1), 1, 0)],
        params=[Param("lr", "0.01" if i % 2 else "0.1"), Param("depth", str(i % 7))],
        tags=[RunTag("team", "a")],
    )
    dataset = Dataset("train", "d1", "local", "/data")
    store.log_inputs(run_id, [DatasetInput(dataset, (InputTag("mlflow.data.context", "training"),))])
    return run_id


def test_a_page_of_500_runs_costs_the_statements_of_a_page_of_1(store: SqlTrackingStore) -> None:
    experiment_id = store.create_experiment("many")
    for i in range(501):
        _full_run(store, experiment_id, i)
    flt = parse_filter(SearchKind.RUNS, "params.lr = '0.01' and metrics.acc >= 0 and tags.team = 'a'")
    order = parse_order_by(SearchKind.RUNS, ["metrics.acc DESC", "params.depth"])

    def search(n: int) -> Callable[[], object]:
        return lambda: store.search_runs([experiment_id], flt, max_results=n, order_by=order)

    assert len(store.search_runs([experiment_id], flt, max_results=500, order_by=order).items) == 250
    one, five_hundred = statements_of(store, search(1)), statements_of(store, search(250))
    assert len(one) == len(five_hundred)
    # One query for the page, one per related table (params, tags, metrics, inputs, models in/out),
    # plus the transaction's BEGIN on SQLite.
    assert len(five_hundred) <= 8, five_hundred
    full_scan = statements_of(store, lambda: store.search_runs([experiment_id], max_results=1000))
    assert len(full_scan) == len(one)


def test_get_run_costs_the_same_for_1_or_200_metrics_params_and_tags(store: SqlTrackingStore) -> None:
    experiment_id = store.create_experiment("wide")
    small = store.create_run(experiment_id, "u", 1).info.run_id
    store.log_batch(small, metrics=[Metric("m0", 1.0, 1, 0)], params=[Param("p0", "v")])
    wide = store.create_run(experiment_id, "u", 1).info.run_id
    store.log_batch(
        wide,
        metrics=[Metric(f"m{i}", float(i), 1, 0) for i in range(200)],
        params=[Param(f"p{i}", "v") for i in range(100)],
        tags=[RunTag(f"t{i}", "v") for i in range(100)],
    )
    assert len(store.get_run(wide).data.metrics) == 200
    assert len(statements_of(store, lambda: store.get_run(small))) == len(
        statements_of(store, lambda: store.get_run(wide))
    )


def test_log_batch_is_one_statement_per_table_whatever_its_size(store: SqlTrackingStore) -> None:
    experiment_id = store.create_experiment("batches")
    run_id = store.create_run(experiment_id, "u", 1).info.run_id

    def batch(n: int, offset: int) -> Callable[[], object]:
        return lambda: store.log_batch(
            run_id,
            metrics=[Metric(f"m{i % 50}", float(i), offset + i, i) for i in range(n)],
            params=[Param(f"p{offset}-{i}", "v") for i in range(min(n, 100))],
            tags=[RunTag(f"t{i}", "v") for i in range(min(n, 100))],
        )

    small = statements_of(store, batch(1, 0))
    large = statements_of(store, batch(700, 10_000))
    assert len(small) == len(large), (small, large)
    assert len(store.get_metric_history(run_id, "m0").items) == 1 + 14


def test_metric_history_costs_the_same_for_10_or_10000_points(store: SqlTrackingStore) -> None:
    experiment_id = store.create_experiment("history")
    short, long = (store.create_run(experiment_id, "u", 1).info.run_id for _ in range(2))
    store.log_batch(short, metrics=[Metric("loss", 1.0, i, i) for i in range(10)])
    for start in range(0, 10_000, 1000):
        store.log_batch(long, metrics=[Metric("loss", 1.0, i, i) for i in range(start, start + 1000)])
    assert len(store.get_metric_history(long, "loss").items) == 10_000
    assert len(statements_of(store, lambda: store.get_metric_history(short, "loss"))) == len(
        statements_of(store, lambda: store.get_metric_history(long, "loss"))
    )


def test_metric_history_lengths_are_one_select_off_the_history_index(store: SqlTrackingStore) -> None:
    experiment_id = store.create_experiment("lengths")
    short, long = (store.create_run(experiment_id, "u", 1).info.run_id for _ in range(2))
    store.log_batch(short, metrics=[Metric("loss", 1.0, 0, 0)])
    store.log_batch(long, metrics=[Metric(f"m{i % 3}", 1.0, i, i) for i in range(900)])
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    sa.event.listen(store.database.engine, "before_cursor_execute", record)
    try:
        assert store.metric_history_lengths(short) == {"loss": 1}
        short_selects = [s for s in sent if s[0].startswith("SELECT")]
        sent.clear()
        assert store.metric_history_lengths(long) == {"m0": 300, "m1": 300, "m2": 300}
    finally:
        sa.event.remove(store.database.engine, "before_cursor_execute", record)
    # The transaction's BEGIN (or SET TRANSACTION) aside, one SELECT, with the run id bound.
    (select,) = [s for s in sent if s[0].startswith("SELECT")]
    assert len(short_selects) == 1 and long not in select[0]
    # The points are counted off the history's primary key, never read from the table.
    engine = store.database.engine
    explain, expected = {
        "sqlite": ("EXPLAIN QUERY PLAN ", "COVERING INDEX sqlite_autoindex_metrics"),
        "postgresql": ("EXPLAIN ", "Index Only Scan using metrics_pkey"),
    }[engine.dialect.name]
    with engine.connect() as conn:
        plan = str(conn.exec_driver_sql(explain + select[0], select[1]).all())
    assert expected in plan, plan


# --- bounded filters and the statement timeout --------------------------------------------------------


def _search_sql(store: SqlTrackingStore, experiment_id: str, flt: str) -> str:
    def search() -> object:
        return store.search_runs([experiment_id], filter=parse_filter(SearchKind.RUNS, flt))

    (query, *_) = [s for s in statements_of(store, search) if "FROM runs" in s]
    return query


@pytest.mark.parametrize(
    ("once", "many"),
    [
        ("params.lr = '0.1'", " AND ".join(["params.lr = '0.1'"] * 1000)),
        ("params.lr != 'x0'", " AND ".join(f"params.lr != 'x{i}'" for i in range(1000))),
        ("metrics.acc > 0", " AND ".join(f"metrics.acc > {-i}" for i in range(1000))),
    ],
)
def test_a_filter_naming_one_key_a_thousand_times_is_one_condition_on_that_key(
    store: SqlTrackingStore, once: str, many: str
) -> None:
    experiment_id = store.create_experiment("one-key")
    _full_run(store, experiment_id, 1)
    short, long = _search_sql(store, experiment_id, once), _search_sql(store, experiment_id, many)
    for word in ("JOIN", "EXISTS", "FROM params", "FROM latest_metrics"):
        assert short.count(word) == long.count(word), word


def test_a_query_past_sqlites_statement_limits_is_a_bad_request_not_an_outage(tmp_path: Path) -> None:
    database = SqlDatabase.from_uri(f"sqlite:///{tmp_path}/limits.db")
    deep = "SELECT 1 WHERE " + " AND ".join(["1 = 1"] * 1001)
    with pytest.raises(InvalidParameterValue, match="too complex") as raised:
        database.transact(lambda conn: conn.exec_driver_sql(deep).all())
    assert "Cannot reach" not in str(raised.value)
    database.dispose()


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999"])
def test_a_bad_statement_timeout_option_is_refused(value: str) -> None:
    with pytest.raises(InvalidParameterValue, match="genesis_statement_timeout_ms"):
        uri_statement_timeout_ms(f"postgresql://u@h/db?genesis_statement_timeout_ms={value}")


def test_the_statement_timeout_option_never_reaches_the_driver() -> None:
    uri = "postgresql://u@h/db?sslmode=require&genesis_statement_timeout_ms=250"
    assert normalize_uri(uri) == "postgresql+psycopg://u@h/db?sslmode=require"
    assert uri_statement_timeout_ms(uri) == 250
    assert uri_statement_timeout_ms("postgresql://u@h/db") == DEFAULT_STATEMENT_TIMEOUT_MS


def test_a_statement_past_the_timeout_is_cancelled_on_the_server() -> None:
    if not POSTGRES_URI:
        pytest.skip("GENESIS_TEST_SQL_POSTGRES_URI is unset (scripts/services.sh sets it)")
    url = normalize_uri(POSTGRES_URI)
    schema = f"gf_timeout_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    separator = "&" if "?" in POSTGRES_URI else "?"
    database = SqlDatabase(engine, uri=f"{POSTGRES_URI}{separator}genesis_statement_timeout_ms=200")
    marker = f"genesis-timeout-test-{os.getpid()}"
    try:
        with pytest.raises(TemporarilyUnavailable, match="longer than the statement timeout of 200 ms"):
            database.transact(lambda conn: conn.exec_driver_sql(f"SELECT pg_sleep(30) -- {marker}").all())
        with admin.connect() as conn:
            running = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                    " AND pid <> pg_backend_pid() AND query LIKE :marker"
                ),
                {"marker": f"%{marker}%"},
            ).scalar()
        assert running == 0
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
