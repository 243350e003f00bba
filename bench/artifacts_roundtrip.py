"""One large file up to an artifact store and back: wall time, throughput and peak memory.

Usage: python bench/artifacts_roundtrip.py [--size-mb 1024] [--backends local,azure] [--json out.json]

A file of --size-mb MiB of random bytes is generated in chunks, logged with ``log_artifact`` and
downloaded with ``download_artifacts`` through LocalArtifactStore and, when
GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING is set, AzureBlobArtifactStore (in a container of its
own, deleted at the end). The download is checked against the source by streamed SHA-256. The
target is a peak memory growth under 150 MB for a 1 GiB round trip. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import json
import os
import platform
import re
import resource
import secrets
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import genesis_flow

AZURE_ENV = "GENESIS_TEST_AZURE_BLOB_CONNECTION_STRING"
MiB = 1024 * 1024
TARGET_BYTES = 150 * 1000 * 1000  # the "under 150 MB" for a 1 GiB round trip
ARTIFACT_DIR = "bench"


# --- memory ------------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            found = re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _can_reset_peak_rss() -> bool:
    """Linux lets a process reset its own peak RSS (VmHWM) by writing 5 to clear_refs."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


RESET_PEAK = _can_reset_peak_rss()
if RESET_PEAK:
    RSS_METHOD = "peak RSS (VmHWM, reset before each phase) minus RSS when the phase starts"
elif _status_kib("VmRSS") is not None:
    RSS_METHOD = "RSS (VmRSS) sampled every 2 ms in a thread, maximum minus RSS when the phase starts"
else:
    RSS_METHOD = (
        "process peak RSS (ru_maxrss) after the phase minus before: 0 unless the phase sets a new peak"
    )


class RssPeak:
    """Peak RSS growth over a phase, by the most precise means the platform has (RSS_METHOD)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._start_kib = 0
        self._peak_kib = 0

    def __enter__(self) -> RssPeak:
        if RESET_PEAK:
            _can_reset_peak_rss()
            self._start_kib = _status_kib("VmRSS") or 0
        elif _status_kib("VmRSS") is not None:
            self._start_kib = self._peak_kib = _status_kib("VmRSS") or 0
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        else:
            self._start_kib = _max_rss_kib()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak_kib = max(self._peak_kib, _status_kib("VmRSS") or 0)

    def __exit__(self, *exc: object) -> None:
        if RESET_PEAK:
            self._peak_kib = _status_kib("VmHWM") or 0
        elif self._sampler is not None:
            self._stop.set()
            self._sampler.join()
        else:
            self._peak_kib = _max_rss_kib()

    @property
    def growth_bytes(self) -> int:
        return max(0, self._peak_kib - self._start_kib) * 1024

    @property
    def start_bytes(self) -> int:
        return self._start_kib * 1024


def _max_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes, Linux KiB


@dataclass
class Phase:
    store: str
    phase: str
    seconds: float
    mib_per_s: float
    heap_peak_bytes: int
    rss_growth_bytes: int
    rss_start_bytes: int

    @property
    def peak_bytes(self) -> int:
        return max(self.heap_peak_bytes, self.rss_growth_bytes)


def measure(store: str, phase: str, size: int, work: Callable[[], object]) -> Phase:
    gc.collect()
    # tracemalloc runs during the timed pass: the work is a few large buffers, not many small
    # objects, so its bookkeeping costs little here (unlike in the tracking benches).
    tracemalloc.start()
    try:
        with RssPeak() as rss:
            started = time.perf_counter()
            work()
            seconds = time.perf_counter() - started
        heap_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Phase(store, phase, seconds, size / MiB / seconds, heap_peak, rss.growth_bytes, rss.start_bytes)


# --- the file --------------------------------------------------------------------------------------


def generate(path: str, size: int) -> str:
    """``size`` random bytes written in 1 MiB chunks; their SHA-256, computed on the way."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(MiB, left))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


# --- stores ------------------------------------------------------------------------------------------


@contextmanager
def local_store(scratch: str) -> Iterator[tuple[str, Any]]:
    from genesis_flow.adapters.blob.local import LocalArtifactStore

    root = os.path.join(scratch, "local-store")
    try:
        yield "LocalArtifactStore", LocalArtifactStore(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def azure_store(connection_string: str) -> Iterator[tuple[str, Any]]:
    from azure.storage.blob import BlobServiceClient

    from genesis_flow.adapters.blob.azure import AzureBlobArtifactStore

    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    account = fields.get("AccountName", "devstoreaccount1")
    label = "AzureBlobArtifactStore (Azurite)" if account == "devstoreaccount1" else "AzureBlobArtifactStore"
    container = f"gf-bench-{secrets.token_hex(6)}"
    service = BlobServiceClient.from_connection_string(connection_string)
    service.create_container(container)
    try:
        uri = f"wasbs://{container}@{account}.blob.core.windows.net/roundtrip"
        yield label, AzureBlobArtifactStore(uri, connection_string=connection_string)
    finally:
        try:
            service.delete_container(container)
        finally:
            service.close()


def round_trip(label: str, store: Any, source: str, size: int, expected: str, scratch: str) -> list[Phase]:
    name = os.path.basename(source)
    download_dir = os.path.join(scratch, "download")
    # Connections, lazy imports and first-call caches are set up here, untimed: the figures are
    # about moving the file, not about a store's first call.
    store.log_stream(io.BytesIO(b"warm-up"), f"{ARTIFACT_DIR}/warm-up.txt")
    store.download_artifacts(f"{ARTIFACT_DIR}/warm-up.txt", download_dir)
    try:
        upload = measure(label, "upload", size, lambda: store.log_artifact(source, ARTIFACT_DIR))
        listed = {f.path: f.file_size for f in store.list_artifacts(ARTIFACT_DIR)}
        if listed.get(f"{ARTIFACT_DIR}/{name}") != size:
            raise SystemExit(f"{label}: the stored file lists as {listed}, expected {size} bytes")
        got: list[str] = []
        download = measure(
            label,
            "download",
            size,
            lambda: got.append(store.download_artifacts(f"{ARTIFACT_DIR}/{name}", download_dir)),
        )
        if sha256_of(got[0]) != expected:
            raise SystemExit(f"{label}: the downloaded file differs from the source (SHA-256)")
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
        store.delete_artifacts()
    total = upload.seconds + download.seconds
    both = Phase(
        label,
        "round trip",
        total,
        2 * size / MiB / total,
        max(upload.heap_peak_bytes, download.heap_peak_bytes),
        max(upload.rss_growth_bytes, download.rss_growth_bytes),
        upload.rss_start_bytes,
    )
    return [upload, download, both]


# --- report ------------------------------------------------------------------------------------------


def _mib(n: int) -> str:
    return f"{n / MiB:.1f} MiB"


def print_table(rows: list[Phase]) -> None:
    headers = (
        "store",
        "phase",
        "wall",
        "throughput",
        "py heap peak",
        "RSS growth",
        "RSS at start",
        "target <150 MB",
    )
    table = [headers]
    for r in rows:
        # The target is set for 1 GiB; smaller files are checked against it all the same.
        verdict = "ok" if r.peak_bytes < TARGET_BYTES else "MISS"
        table.append(
            (
                r.store,
                r.phase,
                f"{r.seconds:.2f} s",
                f"{r.mib_per_s:.0f} MiB/s",
                _mib(r.heap_peak_bytes),
                _mib(r.rss_growth_bytes),
                _mib(r.rss_start_bytes),
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--backends", default="local,azure", help="comma-separated: local, azure")
    parser.add_argument("--tmp-dir", help="where the file is generated and downloaded (default: system temp)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON ('-': to stdout)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - {"local", "azure"} or args.size_mb <= 0:
        parser.error(f"bad --backends {args.backends!r} or --size-mb {args.size_mb}")
    size = args.size_mb * MiB

    print(f"file: {args.size_mb} MiB of random bytes, up with log_artifact, down with download_artifacts")
    print(
        f"Genesis-Flow {genesis_flow.__version__}, Python {platform.python_version()}, {platform.platform()}"
    )
    print("py heap peak: tracemalloc peak during the phase (Python allocations only)")
    print(f"RSS growth: {RSS_METHOD}")
    rows: list[Phase] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gf-bench-artifacts-", dir=args.tmp_dir) as scratch:
        source = os.path.join(scratch, f"roundtrip-{args.size_mb}mib.bin")
        expected = generate(source, size)
        baseline = _status_kib("VmRSS")
        if baseline is not None:
            print(f"RSS before the first store: {baseline / 1024:.1f} MiB")
        for backend in backends:
            if backend == "azure" and not os.environ.get(AZURE_ENV):
                skipped[backend] = f"{AZURE_ENV} is not set"
                print(f"azure: skipped ({skipped[backend]})")
                continue
            opened = local_store(scratch) if backend == "local" else azure_store(os.environ[AZURE_ENV])
            with opened as (label, store):
                rows.extend(round_trip(label, store, source, size, expected, scratch))
    print()
    print_table(rows)
    print(f"\nprocess peak RSS over the whole run (ru_maxrss): {_max_rss_kib() / 1024:.1f} MiB")
    report = {
        "size_mib": args.size_mb,
        "target_bytes": TARGET_BYTES,
        "rss_method": RSS_METHOD,
        "rows": [{**asdict(r), "target_met": r.peak_bytes < TARGET_BYTES} for r in rows],
        "skipped": skipped,
    }
    if args.json == "-":
        print(json.dumps(report, indent=2))
    elif args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
