"""Registry benchmark: self-registration against a bare FastAPI app, and the public directory.

(a) Registrations: N ``POST /v1/organizations`` with distinct valid RUTs at a fixed
concurrency, through the real registry (validation, call lookup, insert with its outbox,
relay, Kafka). (b) Baseline, same run, same database server: a bare FastAPI app, started
here in its own process like the registry, whose POST does one ``insert_one`` of the same body
into a separate collection. The ratio says what the registry's work costs on top of "HTTP plus
one write". (c) Directory queries with many organisations are `bench.directory`, which
`make bench` runs next (its settings are listed here).

Settings (environment): ``BENCH_REGISTRATIONS`` (1000 per round), ``BENCH_WRITE_ROUNDS`` (3,
bare app then registry in each; the summary gives the median ratio), ``BENCH_CONCURRENCY`` (16),
``BENCH_DIRECTORY_ORGS`` (10000, so that `make bench` fits in about 20 minutes; 100000 adds
about ten: the figures of the last run at that scale are kept in ``bench/directory-100k.md``
and printed below a smaller run's), ``BENCH_SEED_SECONDS`` (240, seeding budget),
``BENCH_DIRECTORY_REPEATS`` (3), ``BENCH_DIRECTORY_BUDGET_SECONDS`` (180, per size).
``REGISTRY_PORT`` and ``MONGODB_URL`` come from ``deploy/bench.sh``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from pymongo import AsyncMongoClient, MongoClient

from bench import loadgen
from bench.common import ROOT, Section, percentile, process_pids
from bench.profile import Watch
from services.registry.domain.profile import (
    CURRENT_TERMS_VERSION,
)
from shared.reference.rut import format_rut


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def database_name(prefix: str | None = None) -> str:
    return (prefix or os.environ.get("ARTICULA_DATABASE_PREFIX", "articula_")) + "registry"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


# --- (b) the bare baseline app ------------------------------------------------------------------


RAW_DATABASE = "BENCH_RAW_DATABASE"  # where the bare app writes (default: the registry's)


def create_raw_app() -> FastAPI:
    """HTTP plus one insert, nothing else: no validation, no outbox, no relay."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"])
        database = os.environ.get(RAW_DATABASE) or database_name()
        state["collection"] = client[database]["bench_raw_registrations"]
        yield
        await client.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/raw", status_code=201)
    async def raw(request: Request) -> dict[str, str]:
        document = await request.json()
        document["_id"] = uuid.uuid4().hex
        await state["collection"].insert_one(document)
        return {"id": document["_id"], "status": "pending"}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_answering(url: str, proc: subprocess.Popen[Any], seconds: float, what: str) -> None:
    """Until `url` answers 2xx; raises if `proc` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.2)


@contextmanager
def raw_app_process(database: str | None = None) -> Iterator[tuple[str, int]]:
    """The baseline in its own process and event loop, as each service has; it writes into
    `database` (default: the registry's), so that it shares the measured service's."""
    port = free_port()
    server = ["uvicorn", "bench.registry:create_raw_app", "--factory", "--no-access-log"]
    options = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(
        [sys.executable, "-m", *server, *options],
        cwd=ROOT,
        env={**os.environ, RAW_DATABASE: database or database_name()},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/openapi.json", proc, 30, "the bare app")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def registry_process(prefix: str) -> Iterator[tuple[str, int]]:
    """A registry of its own for the write path: its own database and topics (`prefix`), so
    that no other service of the stack consumes its events meanwhile and the figure is the
    registry's write path and relay alone, as the bare app's is its insert alone."""
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_HOST": "127.0.0.1",
        "REGISTRY_PORT": str(port),
        "ARTICULA_DATABASE_PREFIX": f"{prefix}_",
        "ARTICULA_TOPIC_PREFIX": f"{prefix}.",
    }
    log = open(ROOT / ".local" / "log" / f"bench-write-registry-{prefix}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.registry"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{url}/readyz", proc, 120, f"the registry (see {log.name})")
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
        with mongo:
            mongo.drop_database(database_name(f"{prefix}_"))


# --- (a) registrations ---------------------------------------------------------------------------


@dataclass
class Load:
    count: int
    seconds: float
    latencies: list[float]
    failures: dict[int, int] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def registration_body(number: int) -> dict[str, Any]:
    """A valid registration, distinct RUT and name, typical size."""
    return {
        "rut": format_rut(number),
        "name": f"Fundación Banco de Pruebas {number}",
        "sector": "sociedad_civil",
        "legal_form": "fundacion",
        "head_office_region": "CL-RM",
        "regions": ["CL-RM", "CL-VS"],
        "scope": "regional",
        "roles": ["programas", "herramientas"],
        "themes": ["pobreza", "educacion"],
        "links_with_others": True,
        "has_alliances": True,
        "traits": ["puentes"],
        "website": f"https://org{number}.ejemplo.cl",
        "description": "Acompañamos a familias en situación de pobreza en la región.",
        "contact": {
            "name": "Persona de Contacto",
            "email": f"contacto{number}@ejemplo.cl",
            "phone": "+56 9 1234 5678",
        },
        "consent": {"publish_profile": True, "terms_version": CURRENT_TERMS_VERSION},
    }


async def post_all(url: str, bodies: list[dict[str, Any]], concurrency: int) -> Load:
    """POST every body over `concurrency` keep-alive connections (`bench.loadgen`: requests
    encoded before the clock starts, so the client's CPU does not bound the baseline)."""
    answers = await loadgen.post_all(
        url, [loadgen.encode_post(url, b) for b in bodies], concurrency
    )
    failures = {status: n for status, n in answers.statuses.items() if status != 201}
    ids = [json.loads(body)["id"] for body in answers.bodies]
    return Load(len(bodies), answers.seconds, answers.latencies, failures, ids)


def wait_published(
    mongo: MongoClient[dict[str, Any]], database: str, ids: list[str], timeout: float
) -> float:
    """Seconds until the relay has published (and removed) the outbox of every document."""
    collection = mongo[database]["organizations"]
    started = time.perf_counter()
    for doc_id in ids:  # by `_id`: the one lookup FerretDB serves without a scan
        while (doc := collection.find_one({"_id": doc_id})) and doc.get("outbox"):
            if time.perf_counter() - started > timeout:
                return float("inf")
            time.sleep(0.05)
    return time.perf_counter() - started


# Functions whose inclusive share of the registry's samples the report gives.
REGISTRY_FOCUS = [
    "register",  # the route
    "solve_dependencies",  # FastAPI: body validation and dependencies
    "serialize_response",
    "CallRepository.all",
    "OutboxWriter.insert",
    "LiveCatalog.written",
    "LiveCatalog.refresh",  # the catalogue follower re-reading an organisation by _id
    "OutboxRelay._run_once",
    "OutboxRelay._clear_markers",
    "OutboxRelay.tidy",
    "request_context",
    "measure",
    "BaseHTTPMiddleware.__call__",
]


def ceiling(watch: Watch, names: list[str], count: int) -> str:
    """What the busiest of these single-threaded processes could serve on a core of its own
    ("N/s (name)"): a figure that other load on the machine does not move."""
    name = max(names, key=lambda n: watch.cpu.get(n, 0.0))
    return f"{count / max(watch.cpu.get(name, 0.0), 1e-9):.0f}/s ({name})"


def registrations(count: int, concurrency: int, rounds: int) -> tuple[list[str], list[str]]:
    """The table of (a) and (b), on a registry of its own (`registry_process`)."""
    needed = 2 * rounds * count + 400
    first = 60_000_000 + random.randrange(0, 30_000_000 - needed)
    numbers = iter(range(first, first + needed))

    def bodies(n: int) -> list[dict[str, Any]]:
        return [registration_body(next(numbers)) for _ in range(n)]

    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    stack = process_pids()
    results: list[tuple[Load, Load, float]] = []
    prefix = f"bw{uuid.uuid4().hex[:6]}"
    database = database_name(f"{prefix}_")
    with (
        registry_process(prefix) as (registry, registry_pid),
        raw_app_process(database) as (raw_url, raw_pid),
        mongo,
    ):
        asyncio.run(post_all(f"{raw_url}/raw", bodies(200), concurrency))  # warm-up
        warm = asyncio.run(post_all(f"{registry}/v1/organizations", bodies(200), concurrency))
        wait_published(mongo, database, warm.ids, timeout=600)
        common = {"ferretdb": stack["ferretdb"], "load generator": os.getpid()}
        for round_number in range(1, rounds + 1):
            last = round_number == rounds  # py-spy and pprof in the last round only
            raw_watch = Watch(
                {"raw app": raw_pid, **common}, ["raw app"] if last else (), 3 if last else 0
            )
            with raw_watch.running():
                raw = asyncio.run(post_all(f"{raw_url}/raw", bodies(count), concurrency))
            ours_watch = Watch(
                {"registry": registry_pid, "kafka": stack["kafka"], **common},
                ["registry"] if last else (),
                6 if last else 0,
            )
            with ours_watch.running():
                ours = asyncio.run(
                    post_all(f"{registry}/v1/organizations", bodies(count), concurrency)
                )
            drain_watch = Watch({"registry": registry_pid, "ferretdb": stack["ferretdb"]})
            with drain_watch.running():
                drain = wait_published(mongo, database, ours.ids, timeout=600)
            results.append((raw, ours, drain))
    relay_rate = len(ours.ids) / (ours.seconds + drain)
    ratios = sorted(o.rate / r.rate for r, o, _ in results)
    median_ratio = ratios[len(ratios) // 2]

    def row(name: str, load: Load, ratio: str) -> str:
        refused = ", ".join(f"{n}× {status}" for status, n in sorted(load.failures.items()))
        return (
            f"| {name} | {load.rate:.0f} | {ms(percentile(load.latencies, 50))} | "
            f"{ms(percentile(load.latencies, 99))} | {ratio} | {refused or 'none'} |"
        )

    table = []
    for n, (r, o, _) in enumerate(results, 1):
        table += [
            row(f"{n}: bare FastAPI, `insert_one` of the body", r, "1.00"),
            row(f"{n}: registry `POST /v1/organizations`", o, f"**{o.rate / r.rate:.2f}**"),
        ]
    lines = [
        "### Self-registration vs a bare FastAPI app with one insert",
        "",
        f"{rounds} rounds (`BENCH_WRITE_ROUNDS`) of {count} registrations "
        f"(`BENCH_REGISTRATIONS`) to each, bare app first, {concurrency} concurrent clients, "
        "after a warm-up of 200 each; both servers are single uvicorn processes writing to the "
        "same database of the same FerretDB. The registry is one of its own (its own database "
        "and topic prefix, started by the benchmark), so that no other service consumes its "
        "events meanwhile: the figure is the write path and its relay, not the system's "
        f"reactions to it (section 3). Median ratio **{median_ratio:.2f}** (goal ≥ 0.8).",
        "",
        "| round: path | registrations/s | p50 ms | p99 ms | throughput ratio | not 201 |",
        "|---|---|---|---|---|---|",
        *table,
        "",
        "The registry, per registration: validation of the profile (RUT, territory, e-mail, "
        "URL), the registration calls (held in memory), an outbox marker upsert and one insert "
        "with two outbox entries (under a unique RUT index); then the relay's two Kafka "
        "publishes (the entries handed over in memory), the markers' deletion (one command per "
        "batch) and, once idle, the entries' removal (one update per document).",
        f"The relay finished publishing {drain:.1f} s after the last 201: "
        f"{relay_rate:.1f} registrations/s from the first request to the last event on Kafka; "
        f"meanwhile the registry used {drain_watch.cores('registry'):.2f} of a core and "
        f"FerretDB {drain_watch.cores('ferretdb'):.2f} (last round).",
        "",
        "**What bounds it** (last round; CPU from psutil during each load; `load generator` is "
        "this benchmark's HTTP client, `bench/loadgen.py`, on the same two cores):",
        "",
        "Bare app:",
        "",
        *raw_watch.cpu_lines(count, "request"),
        "",
        raw_watch.commands_line(count, "request"),
        "",
        *raw_watch.profile_lines("raw app", count, ["raw"], "request"),
        *raw_watch.ferretdb_lines(),
        "",
        "Registry:",
        "",
        *ours_watch.cpu_lines(count, "request"),
        "",
        ours_watch.commands_line(count, "request"),
        "",
        *ours_watch.profile_lines("registry", count, REGISTRY_FOCUS, "request"),
        *ours_watch.ferretdb_lines(),
        "",
    ]
    per_request = ours_watch.cpu.get("registry", 0.0) / count * 1000
    db_commands = sum(ours_watch.commands.values()) / count
    summary = [
        f"| 2. write path: `POST /v1/organizations`, {concurrency} clients (last round) | "
        f"{ours.rate:.0f}/s, "
        f"p50 {ms(percentile(ours.latencies, 50))} / p99 {ms(percentile(ours.latencies, 99))} ms "
        f"| bare FastAPI + `insert_one`: {raw.rate:.0f}/s, p50 "
        f"{ms(percentile(raw.latencies, 50))} / p99 {ms(percentile(raw.latencies, 99))} ms | "
        f"**{median_ratio:.2f}** (median of {rounds}) | ≥ 0.8 | the registry process's CPU: "
        f"{ours_watch.cores('registry'):.2f} cores, {per_request:.1f} ms per registration "
        f"against the bare app's {raw_watch.cpu.get('raw app', 0.0) / count * 1000:.1f} ms "
        f"({ours_watch.top_layers('registry', 4)}); {db_commands:.1f} FerretDB commands per "
        f"registration against 1. CPU ceilings (1 s / CPU per request of the busiest Python "
        f"process): registry {ceiling(ours_watch, ['registry', 'load generator'], count)}, "
        f"bare app {ceiling(raw_watch, ['raw app', 'load generator'], count)}."
        f"{ours_watch.disturbance()}{raw_watch.disturbance()} |"
    ]
    return lines, summary


def main() -> Section:
    count = _env_int("BENCH_REGISTRATIONS", 1000)
    concurrency = _env_int("BENCH_CONCURRENCY", 16)
    rounds = _env_int("BENCH_WRITE_ROUNDS", 3)
    registration_lines, summary = registrations(count, concurrency, rounds)
    lines = [
        "## 2. Write path, and the registry's directory",
        "",
        *registration_lines,
    ]
    return Section(lines, summary)


if __name__ == "__main__":
    print("\n".join(main().lines))
