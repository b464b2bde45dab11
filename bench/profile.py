"""What bounds a figure: CPU per process (psutil), py-spy profiles of the Python processes,
FerretDB's command counters (`/debug/metrics`) and its Go CPU profile (`/debug/pprof`).

`Watch` wraps one timed load: the CPU seconds each named process used meanwhile, `py-spy
record` of the Python ones (raw collapsed stacks, sampled without pausing them), FerretDB's
commands by name, and FerretDB's own CPU profile over the first seconds of the load. Its
`*_lines` methods turn that into report text: cores used and CPU milliseconds per event by
process, and where a process's samples went (by layer: the innermost frame of a known library
decides; for FerretDB, by command and by SQLite / encoding / runtime).

``BENCH_PROFILE=0`` skips py-spy and pprof (CPU and command counts are always taken).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import ROOT

PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
RATE = 97  # samples per second: prime, so it does not beat with 100 Hz timers

HTTP = "HTTP server: uvicorn, starlette, fastapi, anyio"
PYMONGO = "pymongo/bson: encode, decode, wire"
LOOP = "asyncio event loop, sockets"
OURS = "the project's own code (shared/, services/)"
LOGGING = "logging: structlog, stdlib"
# The innermost frame whose file matches decides a sample's layer (first marker wins).
THREADS = "thread hand-offs: sync FastAPI dependencies run in anyio's worker threads"
LAYERS: list[tuple[str, str]] = [
    ("threading.py", THREADS),
    ("queue.py", THREADS),
    ("anyio/to_thread.py", THREADS),
    ("starlette/concurrency.py", THREADS),
    ("bson/", PYMONGO),
    ("pymongo/", PYMONGO),
    ("aiokafka/", "aiokafka: records, protocol"),
    ("kafka/", "aiokafka: records, protocol"),
    ("cloudevents/", "cloudevents SDK"),
    ("dateutil/", "cloudevents SDK"),
    ("pydantic", "pydantic: validation, serialisation"),
    ("email_validator/", "pydantic: validation, serialisation"),
    ("structlog/", LOGGING),
    ("logging/", LOGGING),
    ("shared/logging.py", LOGGING),
    ("prometheus_client/", "prometheus_client"),
    ("json/", "json"),
    ("icalendar/", "icalendar: the calendar's text"),
    ("starlette/", HTTP),
    ("fastapi/", HTTP),
    ("uvicorn/", HTTP),
    ("anyio/", HTTP),
    ("h11/", HTTP),
    ("httptools/", HTTP),
    ("httpx/", "HTTP client: httpx, httpcore"),
    ("httpcore/", "HTTP client: httpx, httpcore"),
    ("shared/", OURS),
    ("services/", OURS),
    ("bench/", "benchmark driver"),
    ("asyncio/", LOOP),
    ("uvloop/", LOOP),
    ("selectors.py", LOOP),
    ("socket.py", LOOP),
    ("contextlib.py", LOOP),
]
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):\d+\)$")


def enabled() -> bool:
    return os.environ.get("BENCH_PROFILE", "1") != "0" and PY_SPY.exists()


def debug_url() -> str:
    return os.environ.get("FERRETDB_DEBUG_URL", "")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (not its children: the benchmark's own
    children, py-spy among them, are counted apart or under "everything else")."""
    try:
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    except psutil.Error:
        return 0.0


OTHERS = "everything else on the machine"


def _machine_cpu() -> float:
    times = psutil.cpu_times()
    return float(
        times.user + times.system + getattr(times, "irq", 0) + getattr(times, "softirq", 0)
    )


def ferretdb_commands() -> Counter[str]:
    """FerretDB's request counters by command (`ferretdb_client_requests_total`)."""
    counts: Counter[str] = Counter()
    if not debug_url():
        return counts
    try:
        with urllib.request.urlopen(f"{debug_url()}/debug/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return counts
    for line in text.splitlines():
        if line.startswith("ferretdb_client_requests_total{"):
            command = re.search(r'command="([^"]+)"', line)
            if command:
                counts[command.group(1)] += int(float(line.rsplit(" ", 1)[1]))
    return counts


# --- Python: py-spy ----------------------------------------------------------------------------


@dataclass
class Stacks:
    """A py-spy raw profile: collapsed stacks (outermost frame first) and sample counts."""

    samples: Counter[str] = field(default_factory=Counter)

    @classmethod
    def read(cls, path: Path) -> Stacks:
        stacks = cls()
        if path.exists():
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if stack and count.isdigit():
                    stacks.samples[stack] += int(count)
        return stacks

    @property
    def total(self) -> int:
        return sum(self.samples.values())

    def by_layer(self) -> Counter[str]:
        layers: Counter[str] = Counter()
        for stack, n in self.samples.items():
            layers[_layer(stack.split(";"))] += n
        return layers

    def by_leaf(self) -> Counter[str]:
        leaves: Counter[str] = Counter()
        for stack, n in self.samples.items():
            leaves[_short(stack.rsplit(";", 1)[-1])] += n
        return leaves

    def inclusive(self, function: str) -> int:
        """Samples with `function` (e.g. "OutboxWriter.insert") anywhere on the stack."""
        needle = f"{function} ("
        return sum(n for stack, n in self.samples.items() if needle in stack)


_THREAD_FUNCTIONS = ("WorkerThread.", "run_sync_in_worker_thread", "BlockingPortal")


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        path = match.group("file") if match else frame
        if match and match.group("func").startswith(_THREAD_FUNCTIONS):
            return THREADS
        for marker, layer in LAYERS:
            if path.startswith(marker) or f"/{marker}" in path:
                return layer
    return "other (interpreter, C extensions)"


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for root in ("site-packages/", "lib/python3.11/", f"{ROOT}/"):
        if root in path:
            path = path.split(root, 1)[1]
    return f"{match.group('func')} ({path})"


# --- FerretDB: Go's pprof ----------------------------------------------------------------------

GO_LAYERS: list[tuple[str, str]] = [
    ("FerretDB/internal/util/resource", "FerretDB: resource tracking (a stack trace per iterator)"),
    ("FerretDB/internal/handler/common.Filter", "FerretDB: filter evaluation in Go"),
    ("FerretDB/internal/handler/common.filter", "FerretDB: filter evaluation in Go"),
    ("modernc.org/libc.Xfsync", "SQLite: fsync"),
    ("modernc.org/libc.Xpwrite", "SQLite: file reads and writes"),
    ("modernc.org/libc.Xpread", "SQLite: file reads and writes"),
    ("modernc.org/sqlite/lib._json", "SQLite: JSON functions (documents are JSON text)"),
    ("modernc.org/sqlite", "SQLite engine (C translated to Go)"),
    ("modernc.org/libc", "SQLite engine (C translated to Go)"),
    ("FerretDB/internal/handler/sjson", "FerretDB: documents to and from JSON"),
    ("FerretDB/internal/backends/sqlite/metadata", "FerretDB: collection metadata"),
    ("FerretDB/wire", "FerretDB: wire protocol, BSON"),
    ("FerretDB/internal/bson", "FerretDB: wire protocol, BSON"),
    ("FerretDB/internal/wire", "FerretDB: wire protocol, BSON"),
    ("FerretDB/internal/types", "FerretDB: query and document logic"),
    ("FerretDB/internal/handler", "FerretDB: query and document logic"),
    ("FerretDB", "FerretDB: query and document logic"),
    ("net.", "network I/O"),
    ("bufio.", "network I/O"),
    ("database/sql", "Go database/sql"),
]


@dataclass
class GoProfile:
    """FerretDB's CPU profile, summed by command (the handler on the stack) and by layer."""

    seconds: float = 0.0
    by_command: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    by_layer: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def total(self) -> float:
        return sum(self.by_command.values())

    @staticmethod
    def top(values: dict[str, float], n: int) -> list[tuple[str, float]]:
        return sorted(values.items(), key=lambda kv: -kv[1])[:n]

    @classmethod
    def parse(cls, text: str) -> GoProfile:
        profile = cls()
        duration = re.search(r"Duration: ([\d.]+)s", text)
        profile.seconds = float(duration.group(1)) if duration else 0.0
        for block in text.split("-----------+")[1:]:
            lines = [line for line in block.splitlines()[1:] if line.strip()]
            if not lines:
                continue
            head = lines[0].split()
            if not head or not re.match(r"^[\d.]+(ms|s|us|ns)$", head[0]):
                continue
            seconds = _go_seconds(head[0])
            frames = [head[-1], *(line.strip() for line in lines[1:])]  # leaf first
            command = next(
                (m.group(1) for f in frames if (m := re.search(r"\)\.Msg(\w+)", f))), "(none)"
            )
            profile.by_command[command] += seconds
            profile.by_layer[_go_layer(frames)] += seconds
        return profile


def _go_seconds(value: str) -> float:
    for suffix, scale in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * scale
    return 0.0


_GO_RUNTIME = (
    "runtime.",
    "internal/",
    "syscall.",
    "aeshash",
    "indexbyte",
    "memeqbody",
    "sync.",
    "modernc.org/libc.___syscall",
    "modernc.org/libc.X__syscall",
)


def _go_layer(frames: list[str]) -> str:
    """Leaf first; allocation, locks and syscalls belong to whoever called them."""
    for frame in frames:
        if frame.startswith(_GO_RUNTIME):
            continue
        for marker, layer in GO_LAYERS:
            if marker in frame:
                return layer
    if any(f.startswith(("runtime.gcBgMarkWorker", "runtime.gcDrain")) for f in frames):
        return "Go runtime: GC"
    return "Go runtime: scheduler, GC, idle network polling"


def _pprof_text(path: Path) -> str:
    go = shutil.which("go")
    if go is None or not path.exists() or path.stat().st_size == 0:
        return ""
    result = subprocess.run(
        [go, "tool", "pprof", "-traces", str(path)], capture_output=True, text=True, timeout=300
    )
    return result.stdout


# --- one watched load --------------------------------------------------------------------------


@dataclass
class Watch:
    """CPU, profiles and database commands of the named processes during one timed load.

    `profile` names the Python processes to py-spy; `ferretdb_seconds` > 0 takes FerretDB's
    CPU profile over that many seconds from the start of the load (Go's profiler runs for a
    span fixed in advance, so pick one shorter than the load)."""

    pids: dict[str, int]
    profile: Sequence[str] = ()
    ferretdb_seconds: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    stacks: dict[str, Stacks] = field(default_factory=dict)
    commands: Counter[str] = field(default_factory=Counter)
    ferretdb: GoProfile | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Watch]:
        workdir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
        spies: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        pprof: subprocess.Popen[bytes] | None = None
        pprof_path = workdir / "ferretdb.pprof"
        if enabled():
            for name in self.profile:
                if name in self.pids:
                    out = workdir / f"{name}.txt"
                    command = [str(PY_SPY), "record", "--pid", str(self.pids[name]), "--rate"]
                    command += [str(RATE), "--format", "raw", "--nonblocking", "-o", str(out)]
                    spy = subprocess.Popen(
                        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
                    spies[name] = (spy, out)
            time.sleep(1.0 if spies else 0)  # let py-spy attach before the load starts
            if self.ferretdb_seconds and debug_url():
                url = f"{debug_url()}/debug/pprof/profile?seconds={self.ferretdb_seconds}"
                pprof = subprocess.Popen(
                    ["curl", "-s", "-o", str(pprof_path), url],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        machine_before = _machine_cpu()
        commands_before = ferretdb_commands()
        started = time.perf_counter()
        try:
            yield self
        finally:
            self.seconds = time.perf_counter() - started
            self.cpu = {name: cpu_seconds(pid) - before[name] for name, pid in self.pids.items()}
            watched = sum(self.cpu.values())
            self.cpu[OTHERS] = max(0.0, _machine_cpu() - machine_before - watched)
            self.commands = ferretdb_commands() - commands_before
            for name, (spy, out) in spies.items():
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
                try:
                    spy.wait(60)
                except subprocess.TimeoutExpired:
                    spy.kill()
                    spy.wait()
                self.stacks[name] = Stacks.read(out)
            if pprof is not None:
                try:
                    pprof.wait(self.ferretdb_seconds + 30)
                except subprocess.TimeoutExpired:
                    pprof.kill()
                    pprof.wait()
                text = _pprof_text(pprof_path)
                self.ferretdb = GoProfile.parse(text) if text else None
            shutil.rmtree(workdir, ignore_errors=True)

    def cores(self, name: str) -> float:
        return self.cpu.get(name, 0.0) / self.seconds if self.seconds else 0.0

    def cpu_lines(self, events: int, what: str = "event") -> list[str]:
        """Cores used and CPU ms per event for every watched process that did something."""
        lines = [
            f"| process | CPU s | cores used (of 2) | CPU ms per {what} |",
            "|---|---|---|---|",
        ]
        busy = sorted((n for n in self.cpu if self.cpu[n] >= 0.05), key=lambda n: -self.cpu[n])
        for name in busy:
            lines.append(
                f"| {name} | {self.cpu[name]:.1f} | {self.cores(name):.2f} | "
                f"{self.cpu[name] / max(events, 1) * 1000:.2f} |"
            )
        total = sum(self.cpu[n] for n in busy)
        lines.append(
            f"| all | {total:.1f} | {total / self.seconds if self.seconds else 0:.2f} | "
            f"{total / max(events, 1) * 1000:.2f} |"
        )
        return lines

    @property
    def disturbed(self) -> bool:
        """Other processes (another stack's tests) took a tenth of a core or more."""
        return self.cores(OTHERS) >= 0.1

    def commands_line(self, events: int, what: str = "event") -> str:
        if not self.commands:
            return "FerretDB's command counters were not available."
        parts = ", ".join(
            f"{name} {n:,} ({n / max(events, 1):.3f} per {what})"
            for name, n in self.commands.most_common(8)
        )
        return f"FerretDB commands (`/debug/metrics`; a bulk command counts once): {parts}."

    def profile_lines(
        self, name: str, events: int, focus: Sequence[str] = (), what: str = "event"
    ) -> list[str]:
        """Where a profiled Python process's samples went, with CPU ms per event."""
        stacks = self.stacks.get(name)
        if stacks is None or not stacks.total:
            return []
        total = stacks.total
        per_event_ms = self.cpu.get(name, 0.0) / max(events, 1) * 1000
        layers = "; ".join(
            f"{layer} {n / total:.0%} ({n / total * per_event_ms:.2f} ms)"
            for layer, n in stacks.by_layer().most_common()
            if n / total >= 0.02
        )
        busiest = ", ".join(
            f"`{leaf}` {n / total:.0%}" for leaf, n in stacks.by_leaf().most_common(5)
        )
        lines = [
            f"- **{name}** (py-spy, {total} samples at {RATE} Hz while not idle, "
            f"{per_event_ms:.2f} CPU ms per {what}): {layers}. Busiest functions (self): "
            f"{busiest}."
        ]
        if focus:
            parts = [
                f"`{f}` {stacks.inclusive(f) / total:.0%} "
                f"({stacks.inclusive(f) / total * per_event_ms:.2f} ms)"
                for f in focus
            ]
            lines[0] += f" Including what they call: {', '.join(parts)}."
        return lines

    def top_layers(self, name: str, n: int = 3) -> str:
        """The process's biggest layers, e.g. "pymongo/bson 29%, …" (empty without a profile)."""
        stacks = self.stacks.get(name)
        if stacks is None or not stacks.total:
            return ""
        return ", ".join(
            f"{layer.split(':')[0]} {count / stacks.total:.0%}"
            for layer, count in stacks.by_layer().most_common(n)
        )

    def ferretdb_top(self, n: int = 2) -> str:
        profile = self.ferretdb
        if profile is None or not profile.total:
            return ""
        commands = ", ".join(
            f"{c} {s / profile.total:.0%}" for c, s in profile.top(profile.by_command, n)
        )
        layers = ", ".join(
            f"{layer} {s / profile.total:.0%}" for layer, s in profile.top(profile.by_layer, n)
        )
        return f"{commands}; {layers}"

    def disturbance(self) -> str:
        """A note when other processes took CPU during the load (another stack's tests)."""
        if not self.disturbed:
            return ""
        return (
            f" **Disturbed:** other processes on the machine used {self.cores(OTHERS):.2f} "
            "cores meanwhile."
        )

    def ferretdb_lines(self) -> list[str]:
        profile = self.ferretdb
        if profile is None or not profile.total:
            return []
        total = profile.total
        commands = ", ".join(
            f"{c} {s / total:.0%}"
            for c, s in profile.top(profile.by_command, 6)
            if s / total > 0.01
        )
        layers = ", ".join(
            f"{layer} {s / total:.0%}"
            for layer, s in profile.top(profile.by_layer, 8)
            if s / total > 0.02
        )
        span = min(profile.seconds, self.seconds) or 1.0
        return [
            f"- **ferretdb** (Go pprof over the first {span:.0f} s of the load: "
            f"{total:.1f} CPU s, {total / span:.2f} cores): by command {commands}; "
            f"by layer {layers}."
        ]
