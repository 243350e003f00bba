"""Servers the integration tests start (``mlflow server``, ``genesis ui``, ``mlflow models serve``):
a free port, the process in its own group until ``/health`` answers, and stopping the whole group.
Imports nothing optional, so a test of a fresh install can use it too."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# A server needs a few seconds to start on a busy machine; this bounds a hang, not a speed.
SERVER_START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(
    command: list[str],
    workdir: Path,
    env: dict[str, str],
    port: int,
    *,
    timeout_s: float = SERVER_START_TIMEOUT_S,
    health: str = "/health",
) -> Iterator[tuple[str, list[Path]]]:
    """``command`` (a server on ``port``) in its own process group, until ``health`` answers
    (``mlflow models serve`` has ``/ping``); yields its base URL and its log files, and stops
    the group afterwards."""
    logs = [workdir / "server.stdout.log", workdir / "server.stderr.log"]
    with logs[0].open("wb") as out, logs[1].open("wb") as err:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited with {proc.returncode}:\n{tail(logs)}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}{health}", timeout=2) as reply:
                if reply.status == 200:
                    break
            if time.monotonic() > deadline:
                late = f"the server is not healthy after {timeout_s} s"
                raise AssertionError(f"{late}:\n{tail(logs)}")
            time.sleep(0.25)
        yield base, logs
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
    # The group may outlive its leader (uvicorn's worker): take the stragglers down too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def tail(logs: list[Path], lines: int = 80) -> str:
    text = []
    for log in logs:
        body = log.read_text(errors="replace").splitlines() if log.exists() else []
        text.append(f"--- {log.name} (last {lines} lines)\n" + "\n".join(body[-lines:]))
    return "\n".join(text)
