"""Long filters over many runs: a filter naming one key 1000 times, 1000 different comparisons on
one key, and the most distinct keys a filter may name, each searched over ``--runs`` runs.

Usage: python bench/search_limits.py [--runs 10000] [--backends memory,sqlite,postgres,mongo]

PostgreSQL and MongoDB run when GENESIS_TEST_SQL_POSTGRES_URI / GENESIS_TEST_MONGO_URI are set;
each gets a fresh schema or database, dropped at the end. Each search is timed as the best of
three (a page of 100 runs); on MongoDB the server's explain also gives the documents examined.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import sqlalchemy as sa

from genesis_flow.core.entities import Metric, Param, RunTag
from genesis_flow.core.search import MAX_FILTER_KEYS, parse_filter
from genesis_flow.core.search.ast import SearchKind
from genesis_flow.ports import TrackingStore

PARAMS, METRICS = 20, 10


def filters() -> dict[str, str]:
    absent = MAX_FILTER_KEYS - PARAMS - METRICS
    distinct_keys = " AND ".join(
        [f"params.p{i} = 'v'" for i in range(PARAMS)]
        + [f"metrics.m{i} >= 0" for i in range(METRICS)]
        + [f"tags.k{i} IS NULL" for i in range(absent)]
    )
    return {
        "one clause": "params.a = '3'",
        "1000 x the same clause": " AND ".join(["params.a = '3'"] * 1000),
        "1000 comparisons, one key": " AND ".join(f"params.a != 'x{i}'" for i in range(1000)),
        f"{MAX_FILTER_KEYS} distinct keys": distinct_keys,
    }


def populate(store: TrackingStore, runs: int) -> str:
    experiment_id = store.create_experiment(f"limits-{secrets.token_hex(3)}")
    for i in range(runs):
        run_id = store.create_run(experiment_id, "bench", 1_600_000_000_000 + i).info.run_id
        store.log_batch(
            run_id,
            metrics=[Metric(f"m{k}", float(i % 7), 1, 0) for k in range(METRICS)],
            params=[Param("a", str(i % 10)), *(Param(f"p{k}", "v") for k in range(PARAMS))],
            tags=[RunTag("team", "bench")],
        )
    return experiment_id


@contextmanager
def open_store(backend: str) -> Iterator[TrackingStore | None]:
    root = tempfile.mkdtemp(prefix="genesis-bench-")
    if backend == "memory":
        from genesis_flow.adapters.memory import InMemoryTrackingStore

        yield InMemoryTrackingStore(artifact_root=root)
    elif backend == "sqlite":
        from genesis_flow.adapters.sql import SqlTrackingStore

        yield SqlTrackingStore.from_uri(f"sqlite:///{root}/bench.db", artifact_root=root)
    elif backend == "postgres":
        uri = os.environ.get("GENESIS_TEST_SQL_POSTGRES_URI")
        if not uri:
            yield None
            return
        from genesis_flow.adapters.sql import SqlDatabase, SqlTrackingStore
        from genesis_flow.adapters.sql.database import normalize_uri

        schema = f"gf_bench_limits_{secrets.token_hex(3)}"
        admin = sa.create_engine(normalize_uri(uri), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        engine = sa.create_engine(normalize_uri(uri), connect_args={"options": f"-csearch_path={schema}"})
        database = SqlDatabase(engine, uri=uri)
        try:
            yield SqlTrackingStore(database, artifact_root=root)
        finally:
            database.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    elif backend == "mongo":
        uri = os.environ.get("GENESIS_TEST_MONGO_URI")
        if not uri:
            yield None
            return
        from genesis_flow.adapters.mongo import MongoTrackingStore

        name = f"gf_bench_limits_{secrets.token_hex(3)}"
        store = MongoTrackingStore.from_uri(uri.rstrip("/") + f"/{name}", artifact_root=root)
        try:
            yield store
        finally:
            store._db.client.drop_database(name)  # type: ignore[attr-defined]
    else:
        raise SystemExit(f"unknown backend {backend!r}")


def best_of_three(call: Callable[[], Any]) -> tuple[float, Any]:
    timings, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = call()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def mongo_examined(store: Any, experiment_id: str, flt: str) -> str:
    """Documents and index keys the server examined for the search's query (explain)."""
    from genesis_flow.adapters.mongo import search as q

    clauses = q.run_clauses(parse_filter(SearchKind.RUNS, flt), lambda kind, group: None)
    query = {"$and": [{"x": {"$in": [experiment_id]}, "l": {"$in": ["active"]}}, *clauses]}
    try:
        plan = store._runs.find(query).limit(101).explain()
    except Exception as error:  # the test server may not explain
        return f"explain unavailable: {type(error).__name__}"
    stats = plan.get("executionStats", {})
    return f"docs examined {stats.get('totalDocsExamined', '?')}, keys {stats.get('totalKeysExamined', '?')}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--backends", default="memory,sqlite,postgres,mongo")
    args = parser.parse_args(argv)
    print(f"{args.runs} runs; a page of 100 results; best of 3")
    for backend in args.backends.split(","):
        with open_store(backend) as store:
            if store is None:
                print(f"{backend}: skipped (no server URI in the environment)")
                continue
            start = time.perf_counter()
            experiment_id = populate(store, args.runs)
            print(f"{backend}: loaded in {time.perf_counter() - start:.1f} s")
            for label, flt in filters().items():
                parsed = parse_filter(SearchKind.RUNS, flt)
                search = partial(store.search_runs, [experiment_id], filter=parsed, max_results=100)
                seconds, page = best_of_three(search)
                extra = f"; {mongo_examined(store, experiment_id, flt)}" if backend == "mongo" else ""
                print(f"  {label:<28} {seconds * 1000:8.1f} ms  {len(page.items)} runs{extra}")


if __name__ == "__main__":
    main(sys.argv[1:])
