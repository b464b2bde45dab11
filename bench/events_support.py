"""What the events benchmark's parts share: settings, the organisations and encuentros it
sets up (through HTTP, or seeded straight into the database), and how it measures."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import bson
import httpx
from pymongo import AsyncMongoClient, MongoClient

from bench import loadgen
from bench.common import ROOT, process_pids
from bench.profile import Watch
from bench.registry import registration_body
from services.events.application import new_code, new_id
from services.events.domain import registrations
from services.events.domain.encuentro import Encuentro
from services.events.domain.forms import EncuentroCreate, ParticipantInput
from services.events.domain.lifecycle import EncuentroStatus
from services.events.domain.organizations import ACTIVE, KnownOrganization
from services.events.settings import EventsSettings
from services.events.storage.encuentros import (
    ENCUENTROS,
)
from services.events.storage.invitations import INVITATIONS
from services.events.storage.organizations import KNOWN_ORGANIZATIONS
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.events.registry import Actor
from shared.events.topics import Topic, topic_name
from shared.storage.locks import DocumentLocks
from shared.storage.outbox import MARKERS, OUTBOX, OutboxWriter
from shared.storage.repository import VERSION

T = TypeVar("T")

CHUNK = 100  # registrations per chunk: the rate by size of the encuentro
RAW_COUNT = 500  # at least, to the bare app: its load must last long enough to be measured
MACROZONE = "centro_sur"
HEAD_OFFICES = ["CL-RM", "CL-LI", "CL-ML", "CL-NB", "CL-BI"]  # all in centro_sur
SECTORS = ["sociedad_civil", "privado", "publico", "academia", "organismo_internacional"]
RUT_FIRST = 40_000_000  # organisations of this benchmark: 40.000.000 and up (registry: 60M+)
SEED_ACTOR = Actor(kind="staff", id="bench")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def share(ratio: float) -> str:
    """A ratio with two significant digits below 0.1 (0.004, not 0.00)."""
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


def database_name() -> str:
    return os.environ.get("ARTICULA_DATABASE_PREFIX", "articula_") + "events"


def staff_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {os.environ['ARTICULA_STAFF_KEY']}"}


def wait_for(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.2) -> float:
    """Seconds until `check()` holds; RuntimeError after `timeout`."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return time.perf_counter() - started


# --- set-up: organisations the events service knows -------------------------------------------


@dataclass(frozen=True)
class Org:
    id: str
    key: str
    sector: str
    region: str


def consuming_registry(events: str) -> bool:
    """The events service's consumer has partitions of the registry's organisations topic (its
    lag gauge has a series for them)."""
    name = topic_name(Topic.REGISTRY_ORGANIZATIONS, EventsSettings().topic_prefix)
    try:
        text = httpx.get(f"{events}/metrics", timeout=10).text
    except httpx.HTTPError:
        return False
    return any(
        line.startswith("articula_consumer_lag{") and f'topic="{name}"' in line
        for line in text.splitlines()
    )


def ready_consumer(events: str) -> str:
    """Make sure the events service consumes the registry's topic; a note when it had to be
    restarted for that."""
    try:
        wait_for("the events service's partitions", lambda: consuming_registry(events), 15, 1)
        return ""
    except RuntimeError:
        pass
    restart = [str(ROOT / "deploy" / "stack.sh"), "restart", "events"]
    subprocess.run(restart, check=True, stdout=subprocess.DEVNULL)  # stdout is the report
    wait_for("the events service's partitions", lambda: consuming_registry(events), 120, 1)
    return (
        " **The events service had no partition of the registry's organisations topic**: "
        "its consumer subscribed before the topic existed, and aiokafka only sees a new topic "
        "at its next metadata refresh (`metadata_max_age_ms`, 5 minutes by default), so on a "
        "fresh stack it learns no organisation for up to 5 minutes; the benchmark restarted it."
    )


def organizations(registry: str, events: str, count: int) -> tuple[list[Org], float, float, str]:
    """`count` organisations registered and activated at the registry (8 at a time): them, the
    seconds that took, the seconds until the events service knew them all (active in its
    projection, keys accepted), and a note when the events service had to be restarted."""
    note = ready_consumer(events)
    first = RUT_FIRST + random.randrange(0, 19_000_000 - count)

    async def one(http: httpx.AsyncClient, gate: asyncio.Semaphore, n: int) -> Org:
        region, sector = HEAD_OFFICES[n % len(HEAD_OFFICES)], SECTORS[n % len(SECTORS)]
        body = {
            **registration_body(first + n),
            "head_office_region": region,
            "regions": [region],
            "sector": sector,
        }
        async with gate:
            created = await http.post(f"{registry}/v1/organizations", json=body)
            created.raise_for_status()
            organization_id = str(created.json()["id"])
            activated = await http.post(
                f"{registry}/v1/organizations/{organization_id}/activation",
                json={"reason": "Carga del banco de pruebas"},
                headers=staff_headers(),
            )
            activated.raise_for_status()
        return Org(organization_id, str(activated.json()["api_key"]), sector, region)

    async def all_of_them() -> list[Org]:
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(timeout=60) as http:
            return list(await asyncio.gather(*(one(http, gate, n) for n in range(count))))

    started = time.perf_counter()
    orgs = asyncio.run(all_of_them())
    registered = time.perf_counter() - started
    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    known = mongo[database_name()][KNOWN_ORGANIZATIONS]
    ids = sorted(o.id for o in orgs)

    def projected() -> bool:
        found = known.find({"_id": {"$in": ids}}, {"status": 1})
        return sum(1 for doc in found if doc.get("status") == ACTIVE) == len(ids)

    started = time.perf_counter()
    with mongo, httpx.Client(base_url=events, timeout=30) as http:
        wait_for("the events service's view of the organisations", projected, timeout=300)
        for org in orgs:  # and their keys (another topic) accepted
            headers = {"Authorization": f"Bearer {org.key}"}

            def accepted(headers: dict[str, str] = headers) -> bool:
                return http.get("/v1/me", headers=headers).is_success

            wait_for("an organisation's key", accepted, timeout=60)
    return orgs, registered, time.perf_counter() - started, note


def expected_invitations(mongo: MongoClient[dict[str, Any]]) -> int:
    """Active organisations the events service knows in the benchmark's macrozone."""
    found = mongo[database_name()][KNOWN_ORGANIZATIONS].find({"status": ACTIVE})
    return sum(
        1
        for doc in found
        if KnownOrganization.model_validate({**doc, "id": doc["_id"]}).works_in(MACROZONE)
    )


# --- encuentros through HTTP ------------------------------------------------------------------


def encuentro_body(title: str, capacity: int, starts: datetime) -> dict[str, Any]:
    return {
        "title": title,
        "macrozone": MACROZONE,
        "theme": "salud_mental",
        "cycle": "bench",
        "mode": "hibrido",
        "venue": "Centro Cultural, Concepción",
        "online_url": "https://reuniones.example/banco",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "capacity": capacity,
        "description": "Encuentro participativo del ecosistema, medido por el banco de pruebas.",
    }


def move(http: httpx.Client, encuentro_id: str, status: str) -> None:
    response = http.post(
        f"/v1/encuentros/{encuentro_id}/status",
        json={"status": status, "reason": "Según lo planificado"},
        headers=staff_headers(),
    )
    response.raise_for_status()


def published_encuentro(
    http: httpx.Client, mongo: MongoClient[dict[str, Any]], capacity: int, invited: int
) -> str:
    """A new published encuentro, once the `invited` invitations its publication fans out are
    written (so that they do not run during the load)."""
    starts = datetime.now(UTC) + timedelta(days=30)
    created = http.post(
        "/v1/encuentros",
        json=encuentro_body("Encuentro del banco de pruebas", capacity, starts),
        headers=staff_headers(),
    )
    created.raise_for_status()
    encuentro_id = str(created.json()["id"])
    move(http, encuentro_id, "published")
    invitations = mongo[database_name()][INVITATIONS]
    prefix = f"{encuentro_id}:"

    def all_invited() -> bool:
        found = invitations.find({}, {"_id": 1})
        return sum(1 for d in found if str(d["_id"]).startswith(prefix)) >= invited

    wait_for("the invitations of a published encuentro", all_invited, timeout=120, interval=0.5)
    return encuentro_id


def settle(mongo: MongoClient[dict[str, Any]], encuentro_ids: list[str]) -> float:
    """Seconds until the events service's relay has nothing left: no outbox marker, and no
    published entry left in these encuentros (its tidy-up rewrites the whole document)."""
    db = mongo[database_name()]

    def idle() -> bool:
        if db[MARKERS].count_documents({}):
            return False
        for encuentro_id in encuentro_ids:
            doc = db[ENCUENTROS].find_one({"_id": encuentro_id}, {OUTBOX: 1})
            if doc is not None and doc.get(OUTBOX):
                return False
        return True

    return wait_for("the events service's relay to be idle", idle, timeout=300, interval=0.5)


_people = iter(range(1, 10**9))


def participant() -> dict[str, Any]:
    n = next(_people)
    return {
        "name": f"Persona Participante {n:06d}",
        "email": f"participante{n:06d}.{uuid.uuid4().hex[:6]}@correo.test",
        "gender": ["mujer", "hombre", "otro", "prefiere_no_decir"][n % 4],
        "age_group": ["18-29", "30-44", "45-59", "60+"][n % 4],
    }


@dataclass
class Chunked:
    """One load sent in consecutive chunks of `CHUNK` requests."""

    chunks: list[loadgen.Responses] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(c.latencies) for c in self.chunks)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.chunks)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def latencies(self) -> list[float]:
        return [x for c in self.chunks for x in c.latencies]

    @property
    def bodies(self) -> list[bytes]:
        return [b for c in self.chunks for b in c.bodies]

    def refused(self, ok: int) -> str:
        counts: dict[int, int] = {}
        for c in self.chunks:
            for status, n in c.statuses.items():
                if status != ok:
                    counts[status] = counts.get(status, 0) + n
        return ", ".join(f"{n}× {s}" for s, n in sorted(counts.items())) or "none"


def send_chunked(url: str, requests: list[bytes], concurrency: int) -> Chunked:
    result = Chunked()
    for start in range(0, len(requests), CHUNK):
        chunk = requests[start : start + CHUNK]
        result.chunks.append(asyncio.run(loadgen.post_all(url, chunk, concurrency)))
    return result


def registration_requests(url: str, orgs: list[Org], count: int) -> list[bytes]:
    return [
        loadgen.encode_post(
            url,
            {"participant": participant()},
            {"Authorization": f"Bearer {orgs[n % len(orgs)].key}"},
        )
        for n in range(count)
    ]


# --- encuentros seeded straight into the database ---------------------------------------------


class Seeder:
    """Encuentro documents built with the domain and written as `EncuentroRepository` writes
    them (its `to_document`, version 1, no outbox: nothing to publish), in one insert each."""

    def __init__(self, orgs: list[Org]) -> None:
        self.orgs = orgs
        self.client: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
        self.collection = self.client[database_name()][ENCUENTROS]
        settings = EventsSettings()
        self.public_url = settings.public_url
        self._async: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
        writer = OutboxWriter(self._async[database_name()], settings, DocumentLocks())
        self.uow = EventsUnitOfWork(writer)

    def build(
        self,
        *,
        registered: int = 0,
        checked_in: int = 0,
        starts: datetime | None = None,
        title: str = "Encuentro del banco de pruebas",
        capacity: int | None = None,
    ) -> Encuentro:
        """A published encuentro with `registered` people (cycling over the organisations);
        with `checked_in`, moved to in_progress and the first `checked_in` of them present."""
        moment = datetime.now(UTC)
        starts = starts or moment + timedelta(days=30)
        body = encuentro_body(title, capacity or max(registered, 1), starts)
        encuentro, _ = Encuentro.create(
            EncuentroCreate.model_validate(body),
            encuentro_id=uuid.uuid4().hex,
            actor=SEED_ACTOR,
            now=moment,
        )
        encuentro.change_status(
            EncuentroStatus.PUBLISHED, reason=None, actor=SEED_ACTOR, now=moment
        )
        for n in range(registered):
            registrations.register(
                encuentro,
                ParticipantInput.model_validate(participant()),
                organization_id=self.orgs[n % len(self.orgs)].id,
                registration_id=new_id(),
                code=new_code(),
                now=moment,
            )
        if checked_in:
            encuentro.change_status(
                EncuentroStatus.IN_PROGRESS, reason=None, actor=SEED_ACTOR, now=moment
            )
            for registration in encuentro.registrations[:checked_in]:
                registrations.check_in(encuentro, registration, moment)
        return encuentro

    def document(self, encuentro: Encuentro) -> dict[str, Any]:
        return {**self.uow.encuentros.to_document(encuentro), VERSION: 1}

    def insert(self, encuentros: list[Encuentro]) -> None:
        documents = [self.document(e) for e in encuentros]
        for start in range(0, len(documents), 500):
            self.collection.insert_many(documents[start : start + 500], ordered=False)

    def close(self) -> None:
        self.client.close()
        asyncio.run(self._async.close())


# --- measuring ---------------------------------------------------------------------------------

EVENTS_FOCUS = [
    "decide",  # load, decide, save under the encuentro's lock
    "DocumentRepository.get",  # find_one of the whole document
    "DocumentRepository.entity_of",  # the document to the aggregate (pydantic)
    "EncuentroRepository.to_document",  # and back
    "OutboxWriter.update",  # the compare-and-set (a second find_one on FerretDB), the write
    "OutboxRelay._run_once",
    "OutboxRelay.tidy",  # the relay's removal of published entries: another whole write
]


def timed(function: Callable[[], T], repeats: int) -> tuple[list[float], T]:
    """Wall seconds of each call, and the last result."""
    seconds: list[float] = []
    result: T | None = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    assert result is not None
    return seconds, result


@dataclass
class DocumentCosts:
    """What one whole-document read and write cost, on a copy of an encuentro's document (same
    database, another collection), timed from this process, and its Python (de)serialisation."""

    registrations: int
    kib: float
    read: list[float]
    write: list[float]
    to_entity: list[float]
    to_document: list[float]

    def cells(self) -> str:
        return (
            f"{self.registrations} registrations, {self.kib:.0f} KiB: read by `_id` "
            f"{ms(min(self.read))} ms, one-field update {ms(min(self.write))} ms (FerretDB); "
            f"document → aggregate {ms(min(self.to_entity))} ms, aggregate → document "
            f"{ms(min(self.to_document))} ms (pydantic, this process; each the best of "
            f"{len(self.read)})"
        )


def document_costs(seeder: Seeder, encuentro_id: str, repeats: int = 2) -> DocumentCosts:
    doc = seeder.collection.find_one({"_id": encuentro_id})
    assert doc is not None
    probe = seeder.client[database_name()]["bench_probe"]
    copy_id = f"probe-{uuid.uuid4().hex}"
    probe.insert_one({**doc, "_id": copy_id})
    try:
        read, _ = timed(lambda: probe.find_one({"_id": copy_id}), repeats)
        counter = iter(range(repeats))
        write, _ = timed(
            lambda: probe.update_one({"_id": copy_id}, {"$set": {"probe": next(counter)}}),
            repeats,
        )
    finally:
        probe.delete_one({"_id": copy_id})
    repository = seeder.uow.encuentros
    to_entity, entity = timed(lambda: repository.entity_of(doc), repeats)
    to_document, _ = timed(lambda: repository.to_document(entity), repeats)
    return DocumentCosts(
        len(entity.registrations),
        len(bson.encode(doc)) / 1024,
        read,
        write,
        to_entity,
        to_document,
    )


def bounds(watch: Watch, name: str, count: int, what: str, focus: list[str]) -> list[str]:
    """The CPU table, FerretDB's commands and the profiles of one watched load."""
    return [
        *watch.cpu_lines(count, what),
        "",
        watch.commands_line(count, what),
        "",
        *watch.profile_lines(name, count, focus, what),
        *watch.ferretdb_lines(),
    ]


def bound_cell(watch: Watch, count: int, what: str) -> str:
    """The summary's short form: cores and CPU per request of the service and FerretDB, the
    service's biggest layers, FerretDB's commands per request."""
    events_ms = watch.cpu.get("events", 0.0) / max(count, 1) * 1000
    ferretdb_ms = watch.cpu.get("ferretdb", 0.0) / max(count, 1) * 1000
    layers = watch.top_layers("events", 3)
    commands = sum(watch.commands.values()) / max(count, 1)
    return (
        f"events {watch.cores('events'):.2f} cores ({events_ms:.1f} CPU ms per {what}"
        f"{': ' + layers if layers else ''}), FerretDB {watch.cores('ferretdb'):.2f} cores "
        f"({ferretdb_ms:.1f} ms per {what}; {commands:.1f} commands per {what})"
    )


def in_service(watch: Watch, function: str, count: int, where: str = "") -> float:
    """CPU seconds per request the events service spent in `function` of a file whose path
    contains `where`, with what it calls (py-spy's share of its samples times its CPU per
    request); NaN without a profile."""
    stacks = watch.stacks.get("events")
    if stacks is None or not stacks.total:
        return float("nan")
    needle = f"{function} ("
    inside = sum(
        n
        for stack, n in stacks.samples.items()
        if any(f.startswith(needle) and where in f for f in stack.split(";"))
    )
    return inside / stacks.total * watch.cpu.get("events", 0.0) / count


def finds(watch: Watch, count: int) -> str:
    """ "4.3 finds and 2.1 updates per registration" from FerretDB's counters."""
    per = {name: watch.commands.get(name, 0) / max(count, 1) for name in ("find", "update")}
    return f"{per['find']:.1f} finds and {per['update']:.1f} updates per request"


@dataclass
class Bench:
    """What every part shares: the stack, the organisations, the client settings."""

    events: str
    orgs: list[Org]
    concurrency: int
    mongo: MongoClient[dict[str, Any]]
    http: httpx.Client
    seeder: Seeder
    invited: int
    made: list[str] = field(default_factory=list)  # encuentros with people, for `settle`

    def watch(
        self,
        profile: Sequence[str] = ("events",),
        ferretdb: int = 0,
        extra: dict[str, int] | None = None,
    ) -> Watch:
        """CPU of the stack's processes (read anew: a restart changes a pid) and this one;
        py-spy of `profile`, FerretDB's pprof over the first `ferretdb` seconds."""
        stack = process_pids()
        pids = {
            "events": stack["events"],
            "ferretdb": stack["ferretdb"],
            "kafka": stack["kafka"],
            "load generator": os.getpid(),
            **(extra or {}),
        }
        return Watch(pids, profile, ferretdb)

    def settle(self) -> float:
        return settle(self.mongo, self.made)

    def registrations_url(self, encuentro_id: str) -> str:
        return f"{self.events}/v1/encuentros/{encuentro_id}/registrations"
