"""Registry benchmark: self-registration against a bare FastAPI app, and the public directory.

(a) Registrations: N ``POST /v1/organizations`` with distinct valid RUTs at a fixed
concurrency, through the real registry (validation, call lookup, insert with its outbox,
relay, Kafka). (b) Baseline, same run, same database server: a bare FastAPI app, started
here in its own process like the registry, whose POST does one ``insert_one`` of the same body
into a separate collection. The ratio says what the registry's work costs on top of "HTTP plus
one write". (c) Directory queries with many organisations: documents are seeded straight into
the registry's collection, exactly as its repository writes them (built with the domain's
``register`` and ``activate_by_staff``), in batches of 1,000; the registry is restarted so its
catalogue loads them (timed, with its memory), then each query (and an owner's GET and PATCH,
which look the API key up, and the whole directory as CSV) is timed through the HTTP API at
1,000, 10,000 and the full count, within a time budget per size.

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
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psutil
from fastapi import FastAPI, Request
from pymongo import AsyncMongoClient, MongoClient

from bench import loadgen
from bench.common import ROOT, Section, percentile, process_pids
from bench.profile import Watch
from services.registry.domain.catalog import entry_from_document
from services.registry.domain.directory import encode_cursor
from services.registry.domain.organization import Organization, organization_document
from services.registry.domain.profile import (
    CURRENT_TERMS_VERSION,
    LegalForm,
    OrganizationCreate,
    Role,
    Scope,
    Sector,
    Theme,
)
from services.registry.storage.organizations import ORGANIZATION_KEYS
from shared.auth import hash_secret
from shared.reference.rut import format_rut
from shared.reference.territory import REGION_CODES

SEED_PREFIX = "bench-dir-"
SEED_KEY_PREFIX = "org_bench_seed_"
SEED_RUT_BASE = 1_000_000  # seeded bodies 1.000.000…; registrations use 60.000.000 and up
BATCH = 1_000
FULL_SCALE = 100_000


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


# --- (c) the directory -----------------------------------------------------------------------

WORDS = [
    "andes", "austral", "bosque", "cordillera", "desierto", "esperanza", "futuro", "horizonte",
    "infancia", "lago", "litoral", "mar", "norte", "oportunidad", "pacifico", "puente", "raices",
    "semilla", "sol", "sur", "territorio", "valle", "vida", "volcan", "comunidad", "familia",
    "mujeres", "jovenes", "barrio", "oficio", "ruta", "encuentro",
]  # fmt: skip
PREFIXES = {
    "fundacion": "Fundación",
    "corporacion": "Corporación",
    "ong": "ONG",
    "cooperativa": "Cooperativa",
    "empresa": "Empresa",
    "empresa_b": "Empresa B",
    "municipio": "Municipalidad de",
    "servicio_publico": "Servicio",
    "universidad": "Universidad",
    "organismo_internacional": "Programa",
    "otra": "Red",
}


def seeded_profile(rng: random.Random, number: int) -> dict[str, Any]:
    legal_form = rng.choice(list(LegalForm))
    head = rng.choice(REGION_CODES)
    regions = sorted({head, *rng.sample(REGION_CODES, rng.randint(0, 2))})
    words = " ".join(w.capitalize() for w in rng.sample(WORDS, 2))
    return {
        "rut": format_rut(SEED_RUT_BASE + number),
        "name": f"{PREFIXES[legal_form.value]} {words} {number}",
        "sector": rng.choice(list(Sector)).value,
        "legal_form": legal_form.value,
        "head_office_region": head,
        "regions": regions,
        "scope": rng.choice(list(Scope)).value,
        "roles": sorted({r.value for r in rng.sample(list(Role), rng.randint(1, 3))}),
        "themes": sorted({t.value for t in rng.sample(list(Theme), rng.randint(1, 3))}),
        "links_with_others": rng.random() < 0.8,
        "has_alliances": rng.random() < 0.95,
        "traits": ["puentes"],
        "website": f"https://org{number}.ejemplo.cl",
        "description": "Organización de prueba para medir el directorio. " * 3,
        "contact": {"name": "Persona de Prueba", "email": f"c{number}@ejemplo.cl"},
        "consent": {"publish_profile": True, "terms_version": CURRENT_TERMS_VERSION},
    }


def seeded_document(number: int, moment: datetime) -> dict[str, Any]:
    """What OrganizationRepository writes for a registration later activated by staff, after
    the relay published its events (empty outbox)."""
    rng = random.Random(number)
    data = OrganizationCreate.model_validate(seeded_profile(rng, number))
    registered = moment - timedelta(seconds=number)
    org = Organization.register(
        data, now=registered, organization_id=f"{SEED_PREFIX}{number:07d}", token="seed"
    ).organization
    org = org.activate_by_staff(
        "Carga del banco de pruebas", "bench", registered, api_key=f"{SEED_KEY_PREFIX}{number}"
    ).organization
    document = organization_document(org)
    document["api_key_hashes"] = [record.hash for record in org.api_keys]
    document["version"] = 2
    document["outbox"] = {}
    return document


class Seeder:
    """Grows the seeded set batch by batch; resumes where a previous run stopped."""

    def __init__(self, mongodb_url: str) -> None:
        self.client: MongoClient[dict[str, Any]] = MongoClient(mongodb_url)
        self.collection = self.client[database_name()]["organizations"]
        self.moment = datetime.now(UTC)
        self.count = 0
        self.seconds = 0.0
        self.sort_keys: list[tuple[str, str]] = []
        self.batch_seconds: list[float] = []  # wall time per batch of 1,000, in order
        self.pool = ThreadPoolExecutor(1)

    def grow_to(self, target: int, budget: float) -> None:
        """Seed up to `target`, or until seeding (this run, all calls) has taken `budget`
        seconds; building a batch overlaps the insert of the previous one."""
        pending = None
        started = time.perf_counter()
        while self.count < target and self.seconds + time.perf_counter() - started < budget:
            batch_started = time.perf_counter()
            start, size = self.count, min(BATCH, target - self.count)
            documents = [seeded_document(n, self.moment) for n in range(start, start + size)]
            self.sort_keys += [entry_from_document(d).sort_key for d in documents]
            if pending is not None:
                pending.result()
            if self.collection.find_one({"_id": f"{SEED_PREFIX}{start + size - 1:07d}"}):
                pending = None  # this batch is there from a previous run
            else:
                pending = self.pool.submit(self.collection.insert_many, documents, ordered=False)
            self.count += size
            self.batch_seconds.append(time.perf_counter() - batch_started)
        if pending is not None:
            pending.result()
        self.seconds += time.perf_counter() - started

    def per_10k(self) -> str:
        """Seconds per 10,000 for the first and the last 10,000 seeded (inserts slow down as
        the collection grows)."""
        first, last = self.batch_seconds[:10], self.batch_seconds[-10:]
        if not first:
            return "nothing to seed"
        if len(self.batch_seconds) <= 10:
            return f"{sum(first) / len(first) * 10:.1f} s per 10,000"
        return (
            f"{sum(first) / len(first) * 10:.1f} s per 10,000 for the first 10,000 and "
            f"{sum(last) / len(last) * 10:.1f} s for the last"
        )

    def owner(self) -> tuple[str, dict[str, str]]:
        """A seeded organisation from the middle of the collection, with its API key (and the
        key's lookup document, which the registry writes when it issues a key)."""
        number = self.count // 2
        key = f"{SEED_KEY_PREFIX}{number}"
        organization_id = f"{SEED_PREFIX}{number:07d}"
        self.client[database_name()][ORGANIZATION_KEYS].update_one(
            {"_id": hash_secret(key)}, {"$set": {"organization_id": organization_id}}, upsert=True
        )
        return organization_id, {"Authorization": f"Bearer {key}"}

    def close(self) -> None:
        self.pool.shutdown()
        self.client.close()


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)
    note: str = ""

    def cell(self) -> str:
        if not self.samples:
            return "not run (budget)"
        p50, p99 = percentile(self.samples, 50), percentile(self.samples, 99)
        note = f", {self.note}" if self.note else ""
        return f"{ms(p50)} / {ms(p99)} (n={len(self.samples)}{note})"


# In priority order: at large sizes the budget may only cover the first few.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("no filter, first page", {}),
    ("macrozone + theme + role",
     {"macrozone": "sur_austral", "theme": "pobreza", "role": "programas"}),
    ("q=fundacion (common word)", {"q": "fundacion"}),
    ("macrozone=centro_sur", {"macrozone": "centro_sur"}),
    ("region=CL-BI", {"region": "CL-BI"}),
    ("theme=educacion", {"theme": "educacion"}),
    ("role=estudios", {"role": "estudios"}),
    ("sector=academia", {"sector": "academia"}),
    ("scope=nacional", {"scope": "nacional"}),
    ("sector + scope + region", {"sector": "privado", "scope": "regional", "region": "CL-RM"}),
    ("q=volcán esperanza (rare words)", {"q": "volcán esperanza"}),
]  # fmt: skip
JUMP = "one page in the middle (cursor built for it)"
OWNER = "owner `GET /v1/organizations/{id}` (API-key lookup)"
PATCH = "owner `PATCH /v1/organizations/{id}` (key lookup + one save)"
PAGES = "20 pages following `next_cursor`"
CSV = "`format=csv`: the whole directory"
ROWS = [name for name, _ in QUERIES] + [JUMP, OWNER, PATCH, CSV, PAGES]


def measure_size(
    http: httpx.Client,
    mongo: MongoClient[dict[str, Any]],
    middle_cursor: str,
    owner: tuple[str, dict[str, str]],
    repeats: int,
    budget: float,
) -> dict[str, Timing]:
    """Round after round of every probe until `repeats` rounds or the budget is spent, then
    the 20-page walk with what is left."""
    deadline = time.monotonic() + budget
    timings = {name: Timing(name) for name in ROWS}

    def timed(name: str, url: str, method: str = "GET", **options: Any) -> httpx.Response:
        started = time.perf_counter()
        response = http.request(method, url, **options)
        timings[name].samples.append(time.perf_counter() - started)
        response.raise_for_status()
        return response

    owner_url = f"/v1/organizations/{owner[0]}"
    probes: list[tuple[str, str, dict[str, Any]]] = [
        (name, "/v1/organizations", {"params": {**p, "limit": 50}}) for name, p in QUERIES
    ]
    probes.insert(3, (JUMP, "/v1/organizations", {"params": {"cursor": middle_cursor}}))
    probes.insert(4, (OWNER, owner_url, {"headers": owner[1]}))
    probes.insert(5, (PATCH, owner_url, {"method": "PATCH", "headers": owner[1]}))
    probes.append((CSV, "/v1/organizations", {"params": {"format": "csv"}}))
    for round_number in range(repeats):
        for name, url, options in probes:
            if time.monotonic() > deadline:
                break
            if name == PATCH:
                # A new value each time (an unchanged PATCH saves nothing); then wait for the
                # relay, whose update of the same document would race the next save.
                body = {"short_name": f"Banco {round_number} {time.time_ns()}"}
                timed(name, url, json=body, **options)
                wait_published(mongo, database_name(), [owner[0]], timeout=600)
            else:
                timed(name, url, **options)
    cursor: str | None = None
    for page in range(20):
        if time.monotonic() > deadline:
            timings[PAGES].note = f"budget spent after {page} pages" if page else ""
            break
        params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        cursor = timed(PAGES, "/v1/organizations", params=params).json()["next_cursor"]
        if cursor is None:
            timings[PAGES].note = f"the last page was page {page + 1}"
            break
    return timings


def new_organization(http: httpx.Client) -> str:
    body = registration_body(90_000_000 + random.randrange(9_000_000))
    response = http.post("/v1/organizations", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def relay_lag(http: httpx.Client, mongo: MongoClient[dict[str, Any]]) -> float:
    """Seconds from a registration's 201 until the relay has published its events."""
    return wait_published(mongo, database_name(), [new_organization(http)], timeout=600)


def directory(registry: str, pending: int) -> list[str]:
    target = _env_int("BENCH_DIRECTORY_ORGS", 10_000)
    seed_budget = _env_int("BENCH_SEED_SECONDS", 240)
    repeats = _env_int("BENCH_DIRECTORY_REPEATS", 3)
    budget = _env_int("BENCH_DIRECTORY_BUDGET_SECONDS", 180)
    mongodb_url = os.environ["MONGODB_URL"]
    sizes = sorted({min(target, 1_000), min(target, 10_000), target})
    seeder = Seeder(mongodb_url)
    results: list[tuple[int, dict[str, Timing], float]] = []
    restarts: list[tuple[float, float]] = []  # (seconds until ready, registry RSS in MiB)
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongodb_url)
    with httpx.Client(base_url=registry, timeout=900) as http, mongo:
        for size in sizes:
            seeder.grow_to(size, seed_budget)
            if results and seeder.count == results[-1][0]:
                break  # the seeding budget ran out: nothing new to measure
            restarts.append(restart_registry())  # it loads what was seeded behind its back
            keys = sorted(seeder.sort_keys)
            middle = encode_cursor(*keys[len(keys) // 2])
            lag = relay_lag(http, mongo)
            pending += 1
            timings = measure_size(http, mongo, middle, seeder.owner(), repeats, budget)
            results.append((seeder.count, timings, lag))
    seeder.close()
    lines = [
        "### Public directory by number of organisations",
        "",
        f"Seeded {seeder.count:,} listed organisations of the {target:,} asked "
        f"(`BENCH_DIRECTORY_ORGS`) in {seeder.seconds:.0f} s: {seeder.per_10k()} "
        "(documents built with the domain, `insert_many` of 1,000, building overlapped with "
        f"writing, budget {seed_budget} s); the collection also holds the {pending:,} pending "
        f"registrations made above. At each size, up to {repeats} rounds of every query, one "
        f"at a time, within {budget} s (then the 20-page walk with what is left); `limit=50`; "
        "p50 / p99 in ms. The owner is a seeded organisation from the middle of the collection.",
        "",
        "| query | " + " | ".join(f"{n:,} listed" for n, _, _ in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for name in ROWS:
        lines.append(f"| {name} | " + " | ".join(t[name].cell() for _, t, _ in results) + " |")
    lags = " | ".join(f"{lag * 1000:.0f}" for _, _, lag in results)
    loads = " | ".join(f"{seconds:.1f} s" for seconds, _ in restarts)
    memory = " | ".join(f"{rss:.0f} MiB" for _, rss in restarts)
    lines += [
        f"| one registration: 201 → its events published by the relay | {lags} |",
        f"| registry restart until ready (loads its catalogue) | {loads} |",
        f"| registry resident memory after the load | {memory} |",
        "",
    ]
    lines += [
        "Directory, staff queue, duplicate warnings and counts are answered by the registry's "
        "in-memory catalogue (`services/registry/domain/catalog.py`); the database is read by "
        "`_id` only (the page's owner, the PATCH's compare-and-set) and the relay finds pending "
        "events through small marker documents, so no request reads the whole collection. "
        "The price is the catalogue's memory and its load at start-up, both in the table.",
    ]
    if target < FULL_SCALE:
        lines += [
            "",
            f"This run seeded {target:,} (`BENCH_DIRECTORY_ORGS`, default 10,000 so that "
            f"`make bench` fits in about 20 minutes); the last run at {FULL_SCALE:,}, kept from "
            "then (`bench/directory-100k.md`; `BENCH_DIRECTORY_ORGS=100000 make bench` measures "
            "it again, about ten minutes more):",
            "",
            *(ROOT / "bench" / "directory-100k.md").read_text().rstrip().splitlines(),
        ]
    return lines


def restart_registry() -> tuple[float, float]:
    """Restart the registry with `deploy/stack.sh`; seconds until ready and its RSS in MiB."""
    started = time.perf_counter()
    subprocess.run([str(ROOT / "deploy" / "stack.sh"), "restart", "registry"], check=True)
    seconds = time.perf_counter() - started
    instance = os.environ.get("ARTICULA_INSTANCE", "bench")
    pid = int((ROOT / ".local" / "run" / instance / "registry.pid").read_text())
    return seconds, psutil.Process(pid).memory_info().rss / 2**20


def main() -> Section:
    registry = f"http://127.0.0.1:{os.environ['REGISTRY_PORT']}"
    count = _env_int("BENCH_REGISTRATIONS", 1000)
    concurrency = _env_int("BENCH_CONCURRENCY", 16)
    rounds = _env_int("BENCH_WRITE_ROUNDS", 3)
    registration_lines, summary = registrations(count, concurrency, rounds)
    lines = [
        "## 2. Write path, and the registry's directory",
        "",
        *registration_lines,
        *directory(registry, 0),
    ]
    return Section(lines, summary)


if __name__ == "__main__":
    print("\n".join(main().lines))
