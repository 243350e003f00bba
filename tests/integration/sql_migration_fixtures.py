"""Synthetic schema migrations for tests/integration/test_sql_schema.py.

They live in an importable module so that the child processes of the concurrency test run the
very same steps. Version 2 here is made up: it adds ``experiments.description`` and backfills it,
and writes one row into ``migration_log`` each time it runs, so a test can count the runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from genesis_flow.adapters.sql.migrations import Migration

TARGET = 2


def _add_description(conn: Connection, *, pause_s: float = 0.0) -> None:
    conn.execute(
        sa.text("CREATE TABLE IF NOT EXISTS migration_log (step INTEGER NOT NULL, at BIGINT NOT NULL)")
    )
    conn.execute(sa.text("INSERT INTO migration_log (step, at) VALUES (2, :at)"), {"at": time.time_ns()})
    # Without the schema lock, a second process would read version 1 during this pause and
    # run the step again.
    time.sleep(pause_s)
    conn.execute(sa.text("ALTER TABLE experiments ADD COLUMN description TEXT"))
    conn.execute(sa.text("UPDATE experiments SET description = 'was ' || name"))


def _add_description_slowly(conn: Connection) -> None:
    _add_description(conn, pause_s=0.3)


def _fail_halfway(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE experiments ADD COLUMN description TEXT"))
    conn.execute(sa.text("SELECT no_such_column FROM experiments"))


ADD_DESCRIPTION = (Migration(TARGET, "add experiments.description", _add_description),)
ADD_DESCRIPTION_SLOWLY = (Migration(TARGET, "add experiments.description", _add_description_slowly),)
FAIL_HALFWAY = (Migration(TARGET, "a step whose second statement fails", _fail_halfway),)


def open_when_told(uri: str, folder: str) -> None:
    """Child process: import everything, say so with a ``ready-<pid>`` file in ``folder``, wait
    for ``folder/go``, open ``uri`` at version 2 and print what the schema check found as one
    JSON line."""
    from genesis_flow.adapters.sql.database import SqlDatabase

    Path(folder, f"ready-{os.getpid()}").touch()
    go = Path(folder, "go")
    deadline = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("the go file never appeared")
        time.sleep(0.002)
    db = SqlDatabase.from_uri(uri, migrations=ADD_DESCRIPTION_SLOWLY, target_version=TARGET)
    try:
        print(json.dumps(list(db.schema_versions)))
    finally:
        db.dispose()
