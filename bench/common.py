"""Measurement helpers shared by the benchmarks: percentiles, process memory, report tables."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = ROOT / ".local" / "run" / os.environ.get("ARTICULA_INSTANCE", "bench")


@dataclass
class Section:
    """One benchmark's part of docs/benchmarks.md, and its rows of the summary table
    (| figure | ours | baseline | ratio or latency | goal | what bounds it |)."""

    lines: list[str]
    summary: list[str] = field(default_factory=list)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms"


def process_pids() -> dict[str, int]:
    pids = {}
    for pidfile in sorted(RUN_DIR.glob("*.pid")):
        try:
            pid = int(pidfile.read_text().strip())
            if psutil.pid_exists(pid):
                pids[pidfile.stem] = pid
        except ValueError:
            continue
    return pids


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (a daemon may fork helpers)."""
    try:
        proc = psutil.Process(pid)
        return int(proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True)))
    except psutil.Error:
        return 0


@dataclass
class MemorySampler:
    """Peak RSS per process while a load runs, sampled every 200 ms in a thread."""

    pids: dict[str, int]
    peak: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def sampling(self) -> Iterator[None]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak.get(name, 0), rss_bytes(pid))
            time.sleep(0.2)


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"{mem:.0f} GiB RAM; Python {platform.python_version()}; "
        f"{java[0] if java else 'java ?'}"
    )


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def service_metric(
    http: httpx.AsyncClient, service: str, name: str, *fragments: str
) -> float:
    """Sum of a Prometheus sample over the series of a running service whose labels contain
    every fragment (e.g. 'outcome="applied"'), from its /metrics: no load on the database."""
    port = os.environ[f"{service.upper()}_PORT"]
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and all(fragment in line for fragment in fragments)
    )
