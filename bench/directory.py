"""Registry benchmark, part (c): the public directory with many organisations.

Documents are seeded straight into the registry's collection, exactly as its repository
writes them (built with the domain's ``register`` and ``activate_by_staff``), in batches of
1,000; the registry is restarted so its catalogue loads them (timed, with its memory), then
each query (and an owner's GET and PATCH, which look the API key up, and the whole directory
as CSV) is timed through the HTTP API at 1,000, 10,000 and the full count, within a time
budget per size. Settings: see `bench.registry`; `make bench` runs this after the write
path, in the same section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psutil
from pymongo import MongoClient

from bench.common import ROOT, Section, percentile
from bench.registry import _env_int, database_name, ms, registration_body, wait_published
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
    return Section(directory(f"http://127.0.0.1:{os.environ['REGISTRY_PORT']}", 0), [])


if __name__ == "__main__":
    print("\n".join(main().lines))
