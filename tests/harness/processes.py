"""Real processes for integration tests: the services, Kafka and FerretDB.

Nothing here stands in for Kafka or MongoDB: tests start the services as subprocesses
against the broker and database that `make test` started, kill them with SIGKILL, and
restart the infrastructure with the same deploy scripts a person uses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pymongo import MongoClient

from shared.events.topics import Topic, topic_name

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / ".local" / "log" / "test-services"
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
MONGODB_URL = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
STAFF_KEY = os.environ.setdefault("ARTICULA_STAFF_KEY", "test-staff-key")
STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], T], timeout: float = 60, interval: float = 0.25) -> T:
    """Poll until `check` returns a truthy value (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, httpx.HTTPError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last error: {last!r}")


class ServiceProcess:
    """One service as a real OS process, on its own port."""

    def __init__(self, name: str, env: dict[str, str], label: str | None = None) -> None:
        self.name = name
        self.label = label or name
        self.port = free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{env['ARTICULA_TOPIC_PREFIX'].rstrip('.')}-{self.label}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, fault_point: str | None = None) -> ServiceProcess:
        env = {**os.environ, **self.env, f"{self.name.upper()}_PORT": str(self.port)}
        env.pop("ARTICULA_FAULT_POINT", None)
        if fault_point:
            env["ARTICULA_FAULT_POINT"] = fault_point
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 60) -> ServiceProcess:
        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            return httpx.get(f"{self.url}/readyz", timeout=3).status_code == 200

        eventually(ready, timeout)
        return self

    def is_ready(self) -> bool:
        return httpx.get(f"{self.url}/readyz", timeout=3).status_code == 200

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no final commit, like a power cut."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus sample over the series matching `labels`."""
        total = 0.0
        for line in httpx.get(f"{self.url}/metrics", timeout=5).text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    """The services of one test, isolated from every other test by topic and database prefixes."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.topic_prefix = f"t{tag}."
        self.db_prefix = f"t{tag}_"
        self.env = {
            "ARTICULA_TOPIC_PREFIX": self.topic_prefix,
            "ARTICULA_DATABASE_PREFIX": self.db_prefix,
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "MONGODB_URL": MONGODB_URL,
            "ARTICULA_STAFF_KEY": STAFF_KEY,
            "ARTICULA_OUTBOX_SCAN_SECONDS": "2",
            "ARTICULA_CONSUMER_RETRY_BACKOFF_SECONDS": "0.05",
        }
        self.processes: list[ServiceProcess] = []
        self.mongo: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URL, tz_aware=True)

    def service(self, name: str, label: str | None = None) -> ServiceProcess:
        proc = ServiceProcess(name, self.env, label)
        self.processes.append(proc)
        return proc

    def db(self, service: str) -> Any:
        return self.mongo[f"{self.db_prefix}{service}"]

    def topic(self, topic: Topic) -> str:
        """The broker-side name of a topic in this stack."""
        return topic_name(topic, self.topic_prefix)

    def close(self) -> None:
        for proc in self.processes:
            proc.stop()
        self.mongo.close()


def infra(component: str, action: str) -> None:
    """Run deploy/<component>.sh <action> with the test instance's settings (see deploy/test.sh)."""
    if os.environ.get("ARTICULA_INSTANCE", "dev") == "dev":
        raise RuntimeError("infrastructure restarts only run under `make test` (its own instance)")
    subprocess.run([str(ROOT / "deploy" / f"{component}.sh"), action], check=True, timeout=180)


@contextmanager
def running(*procs: ServiceProcess) -> Iterator[None]:
    for p in procs:
        p.start()
    for p in procs:
        p.wait_ready()
    yield
