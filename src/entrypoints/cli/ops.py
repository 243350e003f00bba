"""Operations: ``genesis doctor`` (is this store healthy?), ``genesis gc`` (purge runs deleted
long ago, as ``mlflow gc``) and ``genesis ui`` (the MLflow UI on a Genesis-Flow store).

Doctor looks at a database through the composition root's ``Diagnosable`` (no adapter is imported
here), and importing this module loads no database driver.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from genesis_flow.core.diagnostics import (
    CosmosReport,
    DatabaseKind,
    Diagnosis,
    Failed,
    IndexReport,
    failure_reason,
)
from genesis_flow.entrypoints.bootstrap import (
    GENESIS_PREFIX,
    SQL_SCHEMES,
    build_artifact_store,
    build_diagnostics,
    build_tracking_store,
    local_artifact_directory,
    plugin_uri,
    resolve_artifact_root,
    sql_database_kind,
    supported_schemes,
    unprefixed_uri,
)
from genesis_flow.entrypoints.cli.output import fail, handle_errors, redacted
from genesis_flow.entrypoints.cli.store import command_uri, uri_option
from genesis_flow.entrypoints.extras import install_hint

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
# How long doctor waits for a server before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0
T = TypeVar("T")


def _scheme(uri: str) -> str:
    return urlsplit(uri).scheme.lower()


# --- doctor ----------------------------------------------------------------------------------------


class Checks:
    """The checks of one doctor run, in order: name, PASS/FAIL/SKIP and a one-line detail, with
    nothing of the secrets of ``uri`` (the store checked) in it."""

    def __init__(self, uri: str = "") -> None:
        self.rows: list[dict[str, str]] = []
        self._uri = uri

    def add(self, check: str, status: str, detail: str) -> None:
        shown = redacted(detail, [self._uri]).replace("\n", " ")
        self.rows.append({"check": check, "status": status, "detail": shown})

    def run(self, check: str, probe: Callable[[], tuple[str, str]]) -> bool:
        """Record what ``probe`` returns ((status, detail)); an exception is a FAIL. True if not FAIL."""
        try:
            status, detail = probe()
        except Exception as error:  # a check never raises: it fails, with a one-line reason
            status, detail = FAIL, failure_reason(error)
        self.add(check, status, detail)
        return status != FAIL

    def skip_rest(self, names: Sequence[str], reason: str) -> None:
        for name in names:
            self.add(name, SKIP, reason)

    @property
    def failed(self) -> bool:
        return any(row["status"] == FAIL for row in self.rows)


def run_doctor(uri: str, artifact_root: str | None = None) -> Checks:
    """Every check doctor makes on the store at ``uri`` (plain or ``genesis+``) and the artifact
    root its new experiments use (``artifact_root``, else the composition root's); never raises."""
    checks = Checks(uri)
    checks.add("uri", PASS, redacted(uri))
    kind = _check_store(checks, uri)
    checks.run("mlflow uri", lambda: _mlflow_uri(uri, kind))
    checks.run("artifact root", lambda: artifact_root_probe(resolve_artifact_root(artifact_root)))
    return checks


def _check_store(checks: Checks, uri: str) -> DatabaseKind | None:
    """The store's checks; whose data the database holds, when doctor could tell."""
    scheme = _scheme(unprefixed_uri(uri))
    if scheme == "memory":
        _doctor_memory(checks)
        return None
    later = _SQL_LATER if scheme in SQL_SCHEMES else _MONGO_LATER
    try:
        diagnostics = build_diagnostics(uri, connect_timeout_s=CONNECT_TIMEOUT_S)
        diagnosis = None if diagnostics is None else diagnostics.diagnose()
    except Exception as error:
        checks.add("connectivity", FAIL, failure_reason(error))
        checks.skip_rest(later, "not connected")
        return None
    if diagnosis is None:
        checks.run("backend", lambda: _undiagnosable(uri, scheme))
        return None
    checks.add("connectivity", PASS, f"connected to {diagnosis.location}")
    _report(checks, "server version", diagnosis.server, lambda server: (PASS, server))
    if diagnosis.versioned:
        _report_tables(checks, diagnosis)
    else:
        _report_collections(checks, diagnosis)
    _report(checks, "write/read/delete probe", diagnosis.probe, lambda p: (PASS if p.ok else FAIL, p.note))
    return diagnosis.kind


def _undiagnosable(uri: str, scheme: str) -> tuple[str, str]:
    if scheme in supported_schemes():
        return SKIP, f"a third-party backend ({scheme}://): doctor cannot look inside it"
    build_tracking_store(uri)  # raises the composition root's words for this URI (file: included)
    return FAIL, f"doctor does not know the scheme {scheme!r}"


def _mlflow_uri(uri: str, kind: DatabaseKind | None) -> tuple[str, str]:
    """The URI real mlflow opens this store with (MLflow keeps ``sqlite://`` and ``postgresql://``
    for its own stores, so ours go by their ``genesis+`` names)."""
    if kind is DatabaseKind.MLFLOW:
        return PASS, f"an MLflow database: real mlflow opens it with its own store as {unprefixed_uri(uri)}"
    served = plugin_uri(uri)
    if served is None:
        return SKIP, "the MLflow plugin does not serve this backend"
    if _scheme(served) == PLUGIN_MEMORY_SCHEME:
        return PASS, f"{served} (inside one process only: mlflow in this process, not `mlflow server`)"
    return PASS, f"{served} (MLFLOW_TRACKING_URI, `mlflow server --backend-store-uri`, or `genesis ui`)"


def _report(checks: Checks, check: str, finding: T | Failed, say: Callable[[T], tuple[str, str]]) -> None:
    if isinstance(finding, Failed):
        checks.add(check, FAIL, finding.reason)
    else:
        checks.run(check, lambda: say(finding))


def _doctor_memory(checks: Checks) -> None:
    def probe() -> tuple[str, str]:
        store = build_tracking_store("memory:")
        store.get_experiment("0")
        return PASS, "in-process store (data lives as long as the process)"

    checks.run("connectivity", probe)
    checks.skip_rest(("server version", "schema version", "indexes"), "none (in-process store)")
    checks.add("cosmos", SKIP, "not Cosmos DB")
    checks.add("write/read/delete probe", SKIP, "nothing persistent to probe")


# SQL: a versioned schema of tables


_SQL_LATER = ("server version", "schema version", "tables", "cosmos", "write/read/delete probe")


def _report_tables(checks: Checks, diagnosis: Diagnosis) -> None:
    kind, found, expected = diagnosis.kind, diagnosis.schema_version, diagnosis.expected_schema_version
    if kind is DatabaseKind.EMPTY:
        checks.add(
            "schema version",
            FAIL,
            "empty database (no schema yet): run `genesis db upgrade URI` or any command",
        )
    elif kind is DatabaseKind.MLFLOW:
        checks.add(
            "schema version", FAIL, "an MLflow database, not Genesis-Flow's: copy it with `genesis migrate`"
        )
    elif kind is DatabaseKind.FOREIGN:
        checks.add(
            "schema version", FAIL, "tables named like ours but no genesis_schema table (another program's)"
        )
    elif found != expected:
        checks.add("schema version", FAIL, f"found {found}, expected {expected} (`genesis db upgrade URI`)")
    else:
        checks.add("schema version", PASS, f"found {found}, expected {expected}")

    def tables(present: tuple[str, ...]) -> tuple[str, str]:
        missing = sorted(set(diagnosis.expected) - set(present))
        if missing:
            return FAIL, f"missing tables: {', '.join(missing)}"
        return PASS, f"all {len(set(diagnosis.expected))} tables present"

    if kind is DatabaseKind.EMPTY:
        checks.add("tables", SKIP, "no schema yet")
    else:
        _report(checks, "tables", diagnosis.present, tables)
    checks.add("cosmos", SKIP, "not Cosmos DB")


# MongoDB and Cosmos DB: collections without a version marker


_MONGO_LATER = ("server version", "schema", "indexes", "cosmos", "write/read/delete probe")


def _report_collections(checks: Checks, diagnosis: Diagnosis) -> None:
    version = diagnosis.expected_schema_version

    def schema(present: tuple[str, ...]) -> tuple[str, str]:
        ours = [name for name in diagnosis.expected if name in present]
        if not ours:
            return (
                PASS,
                f"no collections of ours yet (created on first use); document layout version {version}",
            )
        missing = [name for name in diagnosis.expected if name not in present]
        detail = (
            f"document layout version {version} (the adapter keeps no marker); collections: {', '.join(ours)}"
        )
        if missing:
            # Collections appear on first write: a fresh store has no registry collections, say.
            detail += f"; not created yet: {', '.join(missing)}"
        return PASS, detail

    _report(checks, "schema", diagnosis.present, schema)
    _report(checks, "indexes", diagnosis.indexes, _indexes)
    _report(checks, "cosmos", diagnosis.cosmos, _cosmos)


def _indexes(report: IndexReport | None) -> tuple[str, str]:
    if report is None or report.pending:
        return PASS, "no collections of ours yet (indexes are created on first use)"
    problems = []
    if report.missing:
        problems.append(f"missing: {', '.join(report.missing)}")
    if report.different:
        problems.append(f"different keys or uniqueness: {', '.join(report.different)}")
    if problems:
        if report.unexpected:
            problems.append(f"unexpected: {', '.join(report.unexpected)}")
        return FAIL, "; ".join(problems)
    # An index of the operator's own is not an error, only worth knowing (it costs writes).
    extra = f"; unexpected (not ours): {', '.join(report.unexpected)}" if report.unexpected else ""
    return PASS, f"all {report.expected} indexes present{extra}"


def _cosmos(report: CosmosReport | None) -> tuple[str, str]:
    if report is None or not report.enabled:
        if report is not None and report.host_is_cosmos:
            return FAIL, "the host is Cosmos DB but genesis_cosmos=false turns its policies off"
        return SKIP, "not Cosmos DB (plain MongoDB policies)"
    source = "genesis_retry_budget_ms" if report.budget_from_uri else "default"
    detail = (
        f"Cosmos DB: retryWrites={str(report.retry_writes).lower()},"
        f" throttling retry budget {report.retry_budget_ms} ms ({source})"
    )
    if report.retry_writes:
        return FAIL, detail + "; Cosmos DB does not support retryable writes"
    return PASS, detail


# The artifact root probe's payload, written and read back under a name of its own.
_PROBE_BYTES = b"genesis doctor probe\n"


def artifact_root_probe(root: str) -> tuple[str, str]:
    """Is the artifact root reachable and writable? A file is written under a fresh folder of
    the root, read back and deleted, through the artifact store port (local or Azure Blob alike).
    A local root that does not exist yet is created on first use: then only its nearest existing
    parent is checked, and nothing is created."""
    shown = redacted(root)
    directory = local_artifact_directory(root)
    if directory is not None and not os.path.isdir(directory):
        parent = _existing_parent(directory)
        if not os.path.isdir(parent):
            return FAIL, f"{shown} cannot be created: {parent} is not a directory"
        if not os.access(parent, os.W_OK | os.X_OK):
            return FAIL, f"{shown} does not exist and {parent} is not writable"
        return PASS, f"{shown} (not created yet: made on first use; {parent} is writable)"
    store = build_artifact_store(root)
    folder = f"genesis-doctor-{uuid.uuid4().hex[:12]}"
    try:
        store.log_stream(io.BytesIO(_PROBE_BYTES), f"{folder}/probe")
        with store.open_artifact(f"{folder}/probe") as stream:
            read = stream.read()
    finally:
        store.delete_artifacts(folder)
    if read != _PROBE_BYTES:
        return FAIL, f"{shown}: the probe file read back differs from what was written"
    if store.list_artifacts(folder):
        return FAIL, f"{shown}: the probe folder {folder} could not be deleted"
    return PASS, f"{shown} (write/read/delete probe passed)"


def _existing_parent(directory: str) -> str:
    parent = directory
    while not os.path.exists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    return parent


@click.command()
@uri_option
@click.option(
    "--artifact-root",
    default=None,
    metavar="URI",
    help="artifact root to probe (default: where the store puts new experiments' artifacts)",
)
@click.option("--json", "as_json", is_flag=True, help="print the checks as JSON")
@handle_errors
def doctor(uri: str | None, artifact_root: str | None, as_json: bool) -> None:
    """Check a store, its schema and its artifact root.

    Connectivity, server version, schema version, indexes (tables for SQL), Cosmos DB settings,
    a write/read/delete probe of the database and one of the artifact root, each leaving nothing
    behind. A check that does not apply to the backend says SKIP. Exit code 1 if any check
    fails."""
    checks = run_doctor(command_uri(uri), artifact_root)
    if as_json:
        click.echo(json.dumps(checks.rows, indent=2))
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console(file=sys.stdout, soft_wrap=True)
        colors = {PASS: "green", FAIL: "bold red", SKIP: "yellow"}
        for row in checks.rows:
            status = row["status"]
            console.print(f"[{colors[status]}]{status}[/] {escape(row['check'])}: {escape(row['detail'])}")
    if checks.failed:
        raise SystemExit(1)


# --- gc --------------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000}


def parse_duration_ms(text: str) -> int:
    """``30d``, ``12h``, ``90m`` or ``0s`` in milliseconds; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 90m or 0s")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


class _Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration_ms(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


# --- ui --------------------------------------------------------------------------------------------

PLUGIN_MEMORY_SCHEME = GENESIS_PREFIX + "memory"
# `mlflow server` reads --backend-store-uri from this variable (the option's envvar; the registry
# store defaults to it). A URI there is not in the process list, which every local user can read.
BACKEND_STORE_URI_VARIABLE = "MLFLOW_BACKEND_STORE_URI"
# How long the server's process group has to stop after SIGTERM/SIGINT before it is killed.
STOP_GRACE_S = 10.0


def mlflow_server_argv(host: str | None = None, port: int | None = None) -> list[str]:
    """The command that starts the MLflow server through our plugin; the store's URI goes in
    its environment (:func:`mlflow_server_env`), never on the command line."""
    argv = [sys.executable, "-m", "mlflow", "server"]
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    return argv


def mlflow_server_env(uri: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the MLflow server on ``uri``: ``base`` (default: ours) plus the URI."""
    env = dict(os.environ if base is None else base)
    env[BACKEND_STORE_URI_VARIABLE] = uri
    return env


def ui_refusal(uri: str) -> str | None:
    """Why ``genesis ui`` cannot serve ``uri`` (one line), or None if it can. Raises
    InvalidParameterValue for a URI that cannot be read or a SQL database that cannot be opened."""
    served = plugin_uri(uri)
    if served is None:
        return (
            "the MLflow UI serves Genesis-Flow's own backends (sqlite, postgresql, mongodb),"
            f" not {_scheme(uri)}:// stores"
        )
    if _scheme(served) == PLUGIN_MEMORY_SCHEME:
        return (
            "memory: lives inside one process and `mlflow server` is another one, which would see an"
            " empty store; serve a persistent store (the default is sqlite:///genesis.db)"
        )
    if importlib.util.find_spec("mlflow") is None:
        return f"the MLflow UI needs MLflow, which is not installed: {install_hint('mlflow')}"
    kind = sql_database_kind(uri)
    if kind is DatabaseKind.MLFLOW:
        return (
            f"{redacted(uri)} is an MLflow database, not Genesis-Flow's: serve it with MLflow's own"
            " `mlflow server --backend-store-uri URI`, or copy it into a Genesis-Flow store with"
            " `genesis migrate`"
        )
    if kind is DatabaseKind.FOREIGN:
        return (
            f"{redacted(uri)} has tables named like Genesis-Flow's but no genesis_schema table"
            " (another program's)"
        )
    return None


@click.command()
@uri_option
@click.option("--host", default=None, help="address to listen on (MLflow's default: 127.0.0.1)")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port (MLflow's default: 5000)")
@handle_errors
def ui(uri: str | None, host: str | None, port: int | None) -> None:
    """Serve the MLflow UI on a Genesis-Flow store.

    Runs `mlflow server` through the plugin on a SQLite, PostgreSQL or MongoDB store, plain or
    genesis+ (with no --uri, the default store, ./genesis.db). Needs MLflow (the [mlflow] extra).
    Ctrl-C (or SIGTERM) stops it and its workers."""
    resolved = command_uri(uri)
    refusal = ui_refusal(resolved)
    if refusal is not None:
        fail(refusal)
    served = plugin_uri(resolved)
    assert served is not None  # ui_refusal refuses what the plugin does not serve
    click.echo(f"Serving {redacted(resolved)} to MLflow as {redacted(served)}", err=True)
    raise SystemExit(run_process_group(mlflow_server_argv(host, port), mlflow_server_env(served)))


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_process_group(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` in a session (and process group) of its own and return its exit code.

    ``mlflow server`` starts uvicorn or gunicorn, which start workers: signalling the server
    alone leaves them serving, orphaned. So SIGTERM or SIGINT to us goes to the whole group,
    which gets STOP_GRACE_S to stop before SIGKILL; and whatever is left of the group when the
    server exits on its own is stopped the same way. A terminal's Ctrl-C reaches only our own
    group (the child has its own session), so forwarding it is what stops the server."""
    process = subprocess.Popen(argv, env=env, start_new_session=True)
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping:
            stopping.append(signum)
            raise _Stop(signum)
        _signal_group(process.pid, signal.SIGKILL)  # asked twice: stop now

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            code = process.wait()
        except _Stop as stop:
            _stop_group(process, stop.signum)
            process.wait()
            code = 128 + stop.signum  # the shell's convention for "ended by signal N"
        _stop_group(process, signal.SIGTERM)  # workers that outlived the server
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _stop_group(leader: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the process group of ``leader``; SIGKILL what is left after STOP_GRACE_S."""
    if not _signal_group(leader.pid, signum):
        return
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline:
        leader.poll()  # reaped: an exited leader left as a zombie would still count as the group's
        if not _signal_group(leader.pid, 0):  # signal 0: is anyone left?
            return
        time.sleep(0.05)
    _signal_group(leader.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the group; False if the group has no process left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id was reused by someone else's group: not ours any more
        return False
    return True


__all__ = [
    "Checks",
    "doctor",
    "mlflow_server_argv",
    "mlflow_server_env",
    "parse_duration_ms",
    "run_doctor",
    "run_process_group",
    "ui",
    "ui_refusal",
]


@click.command()
@uri_option
@click.option(
    "--older-than",
    "older_than_ms",
    type=_Duration(),
    default=0,
    help="remove only runs deleted longer ago than this: 30d, 12h, 90m (default: every deleted"
    " run, as mlflow gc)",
)
@click.option("--dry-run", is_flag=True, help="only list the runs that would be removed")
@click.option(
    "--artifacts/--no-artifacts", default=True, show_default=True, help="remove the runs' artifacts too"
)
@handle_errors
def gc(uri: str | None, older_than_ms: int, dry_run: bool, artifacts: bool) -> None:
    """Permanently remove deleted runs, as `mlflow gc` does.

    Every deleted run goes (or those deleted longer ago than --older-than), with its metrics,
    params, tags and (unless --no-artifacts) artifacts. Runs of a deleted experiment count as
    deleted when the experiment was. This cannot be undone: try --dry-run first."""
    store = build_tracking_store(command_uri(uri))
    infos = store.purge_deleted_runs(older_than_ms, dry_run=dry_run)
    if dry_run:
        click.echo(f"would remove {len(infos)} run(s)" + (":" if infos else ""))
        for info in infos:
            click.echo(f"  {info.run_id} (experiment {info.experiment_id}) {redacted(info.artifact_uri)}")
        return
    failures = delete_run_artifacts([info.artifact_uri for info in infos]) if artifacts else []
    click.echo(f"removed {len(infos)} run(s)" + ("" if artifacts else " (artifacts kept)"))
    for artifact_uri, reason in failures:
        click.echo(
            f"genesis: warning: artifacts at {redacted(artifact_uri)} not removed: {redacted(reason)}",
            err=True,
        )
    if failures:
        fail(f"the artifacts of {len(failures)} removed run(s) could not be removed", "INTERNAL_ERROR")


def delete_run_artifacts(artifact_uris: Sequence[str]) -> list[tuple[str, str]]:
    """Delete everything under each run's artifact URI; returns (uri, reason) for the failures."""
    failures: list[tuple[str, str]] = []
    for artifact_uri in artifact_uris:
        try:
            build_artifact_store(artifact_uri).delete_artifacts(None)
        except Exception as error:  # one unreachable location must not stop the others
            failures.append((artifact_uri, failure_reason(error)))
    return failures
