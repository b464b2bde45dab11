"""Events service benchmark: registrations into one encuentro, check-in, rounds, the calendar.

Set-up: organisations registered at the registry and activated by staff (the real flow, as
`tests/integration/test_events_story.py` does it), until the events service has learnt them
from Kafka (its projection shows them active and their keys are accepted).

(1) Registrations: N ``POST /v1/encuentros/{id}/registrations`` into a fresh published
encuentro, each with the key of one of the organisations, at a fixed concurrency, against the
bare FastAPI app of `bench.registry` (one ``insert_one`` per request) writing the same bodies
into the events service's database, served the same way and driven by the same client
(`bench.loadgen`); in chunks of 100, so that the rate by number of people already in the
encuentro shows. Then the last L registrations of an encuentro of P people, the others seeded
straight into the database as its repository writes them (built with the domain: create,
publish, register), since registering them all through HTTP would take minutes. (2) Check-in:
that encuentro moved to ``in_progress``, its registrations listed as staff (with the personal
codes), C of them checked in by code at the same concurrency. (3) Rounds: an encuentro with M
checked-in participants, seeded the same way, then ``POST /rounds`` a few times; the pure
`form_groups` for the same seats and the domain's `form_round` (groups, the round, its event)
timed in this process beside it. (4) Calendar, measured first (before the other parts add
encuentros full of people): E published encuentros seeded the same way, then ``GET
/v1/calendar.ics``; its parts timed in this process beside it (the repository's query, the same
``find`` with pymongo, the documents to aggregates, `render_calendar` of the same entries); at
the end once more, with the other parts' encuentros in the collection.

Each part also takes the document's own cost: a copy of the encuentro's document (same
database, another collection) read and updated from this process, and its (de)serialisation.

Settings (environment): ``BENCH_ENCUENTRO_ORGS`` (100), ``BENCH_ENCUENTRO_REGISTRATIONS`` (100
per round, into a fresh encuentro), ``BENCH_ENCUENTRO_ROUNDS`` (2, bare app then events service
in each), ``BENCH_LATE_REGISTRATIONS`` (20, the last of ``BENCH_CHECKIN_PARTICIPANTS``, 500:
the check-in's encuentro is seeded with the others), ``BENCH_CHECKINS`` (32 of them checked in;
500 checks all in, several minutes more), ``BENCH_CONCURRENCY`` (16),
``BENCH_GROUPING_PARTICIPANTS`` (1000), ``BENCH_GROUPING_ROUNDS`` (3),
``BENCH_CALENDAR_ENCUENTROS`` (1000), ``BENCH_CALENDAR_REQUESTS`` (5). Every request to an
encuentro costs in proportion to its people (see the section), so the defaults keep this part
to about three minutes on the 2-core machine. Ports and URLs come from ``deploy/bench.sh``.
"""

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
from bench.common import ROOT, Section, percentile, process_pids
from bench.profile import Watch
from bench.registry import ceiling, raw_app_process, registration_body
from services.events.api.encuentros import PUBLIC_STATUSES, calendar_entry
from services.events.application import new_code, new_id
from services.events.domain import activity, registrations
from services.events.domain.calendar import render_calendar
from services.events.domain.encuentro import Encuentro
from services.events.domain.forms import EncuentroCreate, ParticipantInput, RoundInput
from services.events.domain.grouping import Seat, form_groups
from services.events.domain.lifecycle import EncuentroStatus
from services.events.domain.organizations import ACTIVE, KnownOrganization
from services.events.settings import EventsSettings
from services.events.storage.encuentros import (
    ENCUENTROS,
    SUMMARY_PROJECTION,
    EncuentroQuery,
    _filter,
)
from services.events.storage.invitations import INVITATIONS
from services.events.storage.organizations import KNOWN_ORGANIZATIONS
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.events.registry import Actor
from shared.events.topics import Topic, topic_name
from shared.storage.locks import DocumentLocks
from shared.storage.outbox import MARKERS, OUTBOX, OutboxWriter
from shared.storage.repository import VERSION, state_of

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


# --- (1) registrations ---------------------------------------------------------------------------


@dataclass
class RegistrationRound:
    raw: Chunked
    ours: Chunked
    raw_watch: Watch
    ours_watch: Watch

    @property
    def ratio(self) -> float:
        return self.ours.rate / self.raw.rate if self.raw.rate else float("nan")


def chunk_rates(load: Chunked, first: int) -> str:
    if len(load.chunks) < 2:
        return ""
    parts = [
        f"{first + n * CHUNK}→{first + n * CHUNK + len(c.latencies)}: "
        f"{len(c.latencies) / c.seconds:.1f}/s"
        for n, c in enumerate(load.chunks)
    ]
    return " (" + ", ".join(parts) + ")"


def registrations_part(
    bench: Bench, count: int, rounds: int, participants: int, late: int
) -> tuple[list[str], list[str], Chunked, str]:
    """The section's lines, its summary row, the last bare-app load (its latencies are the
    check-in's reference) and the encuentro of `participants` people for the check-in."""
    concurrency = bench.concurrency
    raw_count = max(count, RAW_COUNT)
    results: list[RegistrationRound] = []
    with raw_app_process(database_name()) as (raw_base, raw_pid):
        raw_url = f"{raw_base}/raw"

        def raw_load(n: int) -> Chunked:
            """One load, not chunks: the bare app's cost does not grow with its collection."""
            requests = registration_requests(raw_url, bench.orgs, n)
            return Chunked([asyncio.run(loadgen.post_all(raw_url, requests, concurrency))])

        raw_load(100)  # warm-up of both servers
        warm = published_encuentro(bench.http, bench.mongo, 100, bench.invited)
        bench.made.append(warm)
        send_chunked(
            bench.registrations_url(warm),
            registration_requests(bench.registrations_url(warm), bench.orgs, 20),
            concurrency,
        )
        for round_number in range(1, rounds + 1):
            profiled = round_number == rounds  # py-spy and pprof in the last round only
            encuentro_id = published_encuentro(bench.http, bench.mongo, count, bench.invited)
            bench.made.append(encuentro_id)
            bench.settle()
            raw_watch = bench.watch(["raw app"] if profiled else [], extra={"raw app": raw_pid})
            with raw_watch.running():
                raw = raw_load(raw_count)
            url = bench.registrations_url(encuentro_id)
            requests = registration_requests(url, bench.orgs, count)
            ours_watch = bench.watch(["events"] if profiled else [], 5 if profiled else 0)
            with ours_watch.running():
                ours = send_chunked(url, requests, concurrency)
            results.append(RegistrationRound(raw, ours, raw_watch, ours_watch))
        bench.settle()  # each document's cost without the entries the relay tidies away
        fresh_costs = document_costs(bench.seeder, encuentro_id)

        # The same into an encuentro that already holds `participants - late` people.
        seeded = bench.seeder.build(registered=participants - late, capacity=participants)
        bench.seeder.insert([seeded])
        bench.made.append(seeded.id)
        bench.settle()
        url = bench.registrations_url(seeded.id)
        requests = registration_requests(url, bench.orgs, late)
        late_watch = bench.watch(ferretdb=8)
        with late_watch.running():
            late_load = send_chunked(url, requests, concurrency)
        bench.settle()
        late_costs = document_costs(bench.seeder, seeded.id)

    ratios = sorted(r.ratio for r in results)
    median_ratio = ratios[len(ratios) // 2]
    last = results[-1]
    late_ratio = late_load.rate / last.raw.rate

    def row(name: str, load: Chunked, ratio: str, first: int = 0) -> str:
        return (
            f"| {name} | {load.rate:.1f}{chunk_rates(load, first)} | "
            f"{ms(percentile(load.latencies, 50))} | {ms(percentile(load.latencies, 99))} | "
            f"{ratio} | {load.refused(201)} |"
        )

    table = []
    for n, r in enumerate(results, 1):
        table += [
            row(f"{n}: bare FastAPI, `insert_one` of the body", r.raw, "1.00"),
            row(f"{n}: events, a fresh encuentro (0 → {count})", r.ours, f"**{share(r.ratio)}**"),
        ]
    table.append(
        row(
            f"events, {participants - late} → {participants} (against round {rounds}'s bare app)",
            late_load,
            f"**{share(late_ratio)}**",
            participants - late,
        )
    )
    ceilings = (
        f"CPU ceilings (1 s / CPU per registration): events process "
        f"{ceiling(last.ours_watch, ['events'], count)}, FerretDB "
        f"{ceiling(last.ours_watch, ['ferretdb'], count)} at 0 → {count}; events process "
        f"{ceiling(late_watch, ['events'], late)}, FerretDB "
        f"{ceiling(late_watch, ['ferretdb'], late)} at {participants - late} → {participants}"
    )
    lines = [
        "### Registrations into one encuentro vs a bare FastAPI app with one insert",
        "",
        f"{rounds} rounds (`BENCH_ENCUENTRO_ROUNDS`) of {count} registrations "
        f"(`BENCH_ENCUENTRO_REGISTRATIONS`) into a fresh published encuentro, and "
        f"{raw_count} such bodies to the bare app of `bench/registry.py` (one "
        "`insert_one` into the events service's database; enough to last a second), bare app "
        "first; then "
        f"{late} more (`BENCH_LATE_REGISTRATIONS`) into an encuentro already holding "
        f"{participants - late} people (seeded, see (2)). {concurrency} concurrent clients "
        "(`bench/loadgen.py`), each request with the key of one of the organisations; after a "
        "warm-up of 100 to the bare app and 20 into another encuentro. Both servers are single "
        f"uvicorn processes writing to the same FerretDB. Median ratio **{share(median_ratio)}** "
        f"into a fresh encuentro, **{share(late_ratio)}** at {participants - late} → "
        f"{participants}.",
        "",
        "| round: path | registrations/s | p50 ms | p99 ms | throughput ratio | not 201 |",
        "|---|---|---|---|---|---|",
        *table,
        "",
        "The events service, per registration, under the encuentro's lock (one decision at a "
        "time per encuentro in the process, `EventsUnitOfWork.decisions`): the organisation "
        "read by `_id` (active?), the whole encuentro read by `_id` and validated into the "
        "aggregate, the seat decided, the whole aggregate dumped, and written back in one "
        "compare-and-set with its events (on FerretDB: a second read of the whole document "
        "for the version, the outbox marker upsert, a `$set` of every field). Then the relay: "
        "its hint carries the new entries only when the write created the marker, and under "
        "concurrency the previous marker is always still there, so it reads the whole document "
        "once more to find them; it publishes, deletes the marker and, when idle, removes the "
        "published entries (FerretDB rewrites the whole document for that too). "
        f"{finds(last.ours_watch, count)} at 0 → {count}, {finds(late_watch, late)} at "
        f"{participants - late} → {participants}; the document grows with each person.",
        "",
        "The document's own cost, on a copy of it (same FerretDB database, another "
        "collection), timed from this process:",
        "",
        f"- after round {rounds}: {fresh_costs.cells()};",
        f"- at {participants}: {late_costs.cells()}.",
        "",
        f"{ceilings}.",
        "",
        f"**What bounds it** (round {rounds}, then {participants - late} → {participants}; CPU "
        "from psutil during each load; `load generator` is this benchmark's HTTP client):",
        "",
        "Bare app:",
        "",
        *last.raw_watch.cpu_lines(raw_count, "request"),
        "",
        last.raw_watch.commands_line(raw_count, "request"),
        "",
        *last.raw_watch.profile_lines("raw app", raw_count, ["raw"], "request"),
        "",
        f"Events service, a fresh encuentro (0 → {count}):",
        "",
        *bounds(last.ours_watch, "events", count, "registration", EVENTS_FOCUS),
        "",
        f"Events service, {participants - late} → {participants}:",
        "",
        *bounds(late_watch, "events", late, "registration", EVENTS_FOCUS),
        "",
    ]
    summary = [
        f"| 4. events: registrations into one encuentro, {concurrency} clients | "
        f"{last.ours.rate:.1f}/s into a fresh one (0 → {count}), p50 "
        f"{ms(percentile(last.ours.latencies, 50))} / p99 "
        f"{ms(percentile(last.ours.latencies, 99))} ms; {late_load.rate:.1f}/s at "
        f"{participants - late} → {participants}, p99 {ms(percentile(late_load.latencies, 99))} "
        f"ms | bare FastAPI + `insert_one`: {last.raw.rate:.0f}/s, p50 "
        f"{ms(percentile(last.raw.latencies, 50))} / p99 "
        f"{ms(percentile(last.raw.latencies, 99))} ms | **{share(median_ratio)}** (median of "
        f"{rounds}); **{share(late_ratio)}** at {participants} | none set | one decision at a time "
        f"per encuentro, reading and writing the whole document: {finds(late_watch, late)} at "
        f"{participants} ({late_costs.kib:.0f} KiB: a read {ms(min(late_costs.read))} ms, an "
        f"update {ms(min(late_costs.write))} ms). Fresh: "
        f"{bound_cell(last.ours_watch, count, 'registration')}. At {participants}: "
        f"{bound_cell(late_watch, late, 'registration')}."
        f"{last.ours_watch.disturbance() or late_watch.disturbance()} |"
    ]
    return lines, summary, last.raw, seeded.id


# --- (2) check-in --------------------------------------------------------------------------------


def listed_registrations(bench: Bench, encuentro_id: str) -> tuple[list[dict[str, Any]], float]:
    """Every registration as staff see it (with its code), and the seconds the pages took."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    started = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = bench.http.get(
            f"/v1/encuentros/{encuentro_id}/registrations", params=params, headers=staff_headers()
        )
        page.raise_for_status()
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items, time.perf_counter() - started


def checkin_part(
    bench: Bench, encuentro_id: str, checkins: int, raw: Chunked
) -> tuple[list[str], list[str]]:
    started = time.perf_counter()
    move(bench.http, encuentro_id, "in_progress")
    moved = time.perf_counter() - started
    bench.settle()
    items, listing = listed_registrations(bench, encuentro_id)
    codes = [r["code"] for r in items if r["status"] == "registered"]
    sample = random.sample(codes, min(checkins, len(codes)))
    url = f"{bench.events}/v1/encuentros/{encuentro_id}/checkins"
    requests = [loadgen.encode_post(url, {"code": code}, staff_headers()) for code in sample]
    watch = bench.watch(ferretdb=8)
    with watch.running():
        load = asyncio.run(loadgen.post_all(url, requests, bench.concurrency))
    bench.settle()
    costs = document_costs(bench.seeder, encuentro_id)
    count = len(sample)
    refused = ", ".join(f"{n}× {s}" for s, n in sorted(load.statuses.items()) if s != 200)
    p50, p99 = percentile(load.latencies, 50), percentile(load.latencies, 99)
    lines = [
        f"### Check-in with {len(codes)} participants",
        "",
        f"The encuentro of the last row above ({len(codes)} registered) moved to `in_progress` "
        f"(`POST /status`: {ms(moved)} ms), its registrations listed as staff (`GET "
        f"/registrations`, pages of 500, with the personal codes: {ms(listing)} ms), then "
        f"{count} of them (`BENCH_CHECKINS`, a random sample) checked in by code, "
        f"{bench.concurrency} concurrent clients.",
        "",
        "| path | check-ins/s | p50 ms | p99 ms | max ms | not 200 |",
        "|---|---|---|---|---|---|",
        f"| events `POST /checkins` by code | {count / load.seconds:.1f} | {ms(p50)} | {ms(p99)} "
        f"| {ms(max(load.latencies))} | {refused or 'none'} |",
        f"| bare FastAPI, `insert_one` (registrations' last round, for reference) | "
        f"{raw.rate:.0f} | {ms(percentile(raw.latencies, 50))} | "
        f"{ms(percentile(raw.latencies, 99))} | {ms(max(raw.latencies))} | |",
        "",
        "A check-in is the same decision as a registration (load the whole encuentro, find the "
        "code among its registrations, mark it, write the whole document back with its event), "
        f"one at a time per encuentro; with {bench.concurrency} clients a request waits for the "
        f"ones ahead of it: {bench.concurrency} decisions of {ms(load.seconds / count)} ms (1 / "
        f"rate) are {ms(bench.concurrency * load.seconds / count)} ms. The document: "
        f"{costs.cells()}.",
        "",
        "**What bounds it** (CPU from psutil during the load):",
        "",
        *bounds(watch, "events", count, "check-in", [*EVENTS_FOCUS, "check_in.<locals>.present"]),
        "",
    ]
    summary = [
        f"| 5. events: check-in by code, {len(codes)} participants, {bench.concurrency} "
        f"clients | p50 {ms(p50)} / p99 {ms(p99)} ms, {count / load.seconds:.1f}/s | bare "
        f"FastAPI + `insert_one`: p50 {ms(percentile(raw.latencies, 50))} / p99 "
        f"{ms(percentile(raw.latencies, 99))} ms | | none set | as registrations: one decision "
        f"at a time on the whole {costs.kib:.0f} KiB document, {finds(watch, count)}. "
        f"{bound_cell(watch, count, 'check-in')}.{watch.disturbance()} |"
    ]
    return lines, summary


# --- (3) rounds ----------------------------------------------------------------------------------


def rounds_part(bench: Bench, participants: int, repeats: int) -> tuple[list[str], list[str]]:
    encuentro = bench.seeder.build(
        registered=participants, checked_in=participants, capacity=participants
    )
    bench.seeder.insert([encuentro])
    bench.made.append(encuentro.id)
    costs = document_costs(bench.seeder, encuentro.id)
    url = f"/v1/encuentros/{encuentro.id}/rounds"
    bodies = [
        {
            "name": f"Ronda {n}",
            "question": "¿Cómo colaboramos entre organizaciones?",
            "group_size": 4,
        }
        for n in range(1, repeats + 1)
    ]
    posted: list[float] = []
    groups = 0
    watch = bench.watch(ferretdb=5)
    with watch.running():
        for body in bodies:
            started = time.perf_counter()
            response = bench.http.post(url, json=body, headers=staff_headers())
            posted.append(time.perf_counter() - started)
            response.raise_for_status()
            formed = response.json()["groups"]
            groups = len(formed)
            assert sum(len(g["members"]) for g in formed) == participants
    bench.settle()  # the relay's tidy-up first: each round's event sits in the outbox until then
    after = document_costs(bench.seeder, encuentro.id)
    # What `application.form_round` reads besides the encuentro: each organisation present,
    # one read by `_id` after the other (`get_many`).
    present = sorted({r.organization_id for r in encuentro.registrations})
    known = bench.seeder.client[database_name()][KNOWN_ORGANIZATIONS]
    org_reads, _ = timed(lambda: [known.find_one({"_id": o}) for o in present], 2)

    # The same in this process: what `application.form_round` hands the domain.
    sectors = {o.id: o.sector for o in bench.orgs}
    regions = {o.id: o.region for o in bench.orgs}
    seats = [
        Seat(
            r.id, r.organization_id, sectors.get(r.organization_id), regions.get(r.organization_id)
        )
        for r in encuentro.registrations
    ]
    numbers = iter(range(1, 10 * repeats + 1))
    pure, _ = timed(lambda: form_groups(seats, 4, round_number=next(numbers)), 4)
    data = RoundInput.model_validate(bodies[0])
    domain: list[float] = []
    for _ in range(2):
        copy = encuentro.model_copy(deep=True)
        started = time.perf_counter()
        activity.form_round(
            copy, data, round_id=new_id(), sectors=sectors, regions=regions, now=datetime.now(UTC)
        )
        domain.append(time.perf_counter() - started)
    p50 = percentile(posted, 50)
    lines = [
        f"### Forming groups: {participants} checked-in participants",
        "",
        f"An encuentro with {participants} people (`BENCH_GROUPING_PARTICIPANTS`) from "
        f"{len(bench.orgs)} organisations, all checked in, seeded straight into the database as "
        "its repository writes it (built with the domain: create, publish, register, start, "
        f"check in); then {repeats} rounds (`BENCH_GROUPING_ROUNDS`) of `group_size` 4, one "
        f"after the other ({groups} groups each). Beside it, in this process, the same seats: "
        "the pure `form_groups`, and the domain's `activity.form_round` (groups, the round, "
        "its event) on a copy of the aggregate.",
        "",
        "| what | best ms | p50 ms | max ms | n |",
        "|---|---|---|---|---|",
        f"| `POST /v1/encuentros/{{id}}/rounds` | {ms(min(posted))} | {ms(p50)} | "
        f"{ms(max(posted))} | {len(posted)} |",
        f"| `activity.form_round`, this process | {ms(min(domain))} | "
        f"{ms(percentile(domain, 50))} | {ms(max(domain))} | {len(domain)} |",
        f"| `form_groups` (pure), this process | {ms(min(pure))} | {ms(percentile(pure, 50))} | "
        f"{ms(max(pure))} | {len(pure)} |",
        "",
        f"In the service itself (py-spy during the rounds): `form_groups` "
        f"{ms(in_service(watch, 'form_groups', repeats))} ms of CPU per round, `form_round` "
        f"(the domain's, with the groups) "
        f"{ms(in_service(watch, 'form_round', repeats, 'domain/activity.py'))}"
        f" ms, of {ms(watch.cpu.get('events', 0.0) / repeats)} ms of the service's CPU and "
        f"{ms(watch.cpu.get('ferretdb', 0.0) / repeats)} ms of FerretDB's per round.",
        "",
        f"The document: before the rounds {costs.cells()}; after them {after.cells()}. Each "
        "`POST /rounds` reads the encuentro, then each organisation present by `_id`, one "
        f"after the other (`get_many`: {len(present)} reads, "
        f"{ms(percentile(org_reads, 50))} ms from this process), then decides as a "
        "registration does (the encuentro read again, the compare-and-set's read, the whole "
        "document written with its new round); the rounds make it grow.",
        "",
        "**What bounds it** (CPU from psutil over the rounds):",
        "",
        *bounds(
            watch,
            "events",
            repeats,
            "round",
            [*EVENTS_FOCUS, "form_round", "form_groups", "round_view"],
        ),
        "",
    ]
    summary = [
        f"| 6. events: forming groups (`POST /rounds`), {participants} checked in | p50 "
        f"{ms(p50)} ms (n={len(posted)}) | pure `form_groups`: {ms(min(pure))} ms (best of "
        f"{len(pure)}); `activity.form_round` {ms(min(domain))} ms | grouping "
        f"{min(pure) / min(posted):.0%} of the fastest request | none set | the document, not the "
        f"grouping: {costs.kib:.0f} → {after.kib:.0f} KiB read and written whole. "
        f"{bound_cell(watch, repeats, 'round')}.{watch.disturbance()} |"
    ]
    return lines, summary


# --- (4) the calendar ----------------------------------------------------------------------------


def calendar_encuentros(seeder: Seeder, count: int) -> list[Encuentro]:
    """`count` published encuentros over the coming years, one in 25 cancelled (shown as
    such), a third online only: nobody registered yet."""
    first = datetime.now(UTC).replace(hour=13, minute=0, second=0, microsecond=0)
    made = []
    for n in range(count):
        encuentro = seeder.build(
            starts=first + timedelta(days=n * 3 // 4, hours=n % 5),
            title=f"Encuentro {n + 1} del banco de pruebas",
            capacity=120,
        )
        if n % 3 == 0:
            encuentro.mode = "virtual"
            encuentro.venue = None
        if n % 25 == 0:
            encuentro.change_status(
                EncuentroStatus.CANCELLED,
                reason="Cancelado por el banco de pruebas",
                actor=SEED_ACTOR,
                now=datetime.now(UTC),
            )
        made.append(encuentro)
    return made


async def repository_query(repeats: int) -> tuple[list[float], list[Encuentro]]:
    """The calendar route's query through the events service's own repository, here."""
    settings = EventsSettings()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    uow = EventsUnitOfWork(OutboxWriter(client[database_name()], settings, DocumentLocks()))
    seconds: list[float] = []
    rows: list[tuple[Encuentro, Any]] = []
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = await uow.encuentros.summaries(EncuentroQuery(statuses=PUBLIC_STATUSES))
            seconds.append(time.perf_counter() - started)
    finally:
        await client.close()
    return seconds, [encuentro for encuentro, _ in rows]


def public_find(collection: Any) -> list[dict[str, Any]]:
    """The calendar's query as the repository sends it, with pymongo: documents only."""
    query = _filter(EncuentroQuery(statuses=PUBLIC_STATUSES))
    return list(collection.find(query, SUMMARY_PROJECTION).sort([("starts_at", 1), ("_id", 1)]))


@dataclass
class Calendar:
    lines: list[str]
    summary: list[str]
    seeded: list[str]
    best: float  # the fastest request
    find_best: float
    listed: int


def calendar_part(bench: Bench, count: int, requests: int) -> Calendar:
    """Measured first, while the encuentros of the other parts (with their people) are not
    there yet; `calendar_later` measures it again with them, then deletes the seeded ones."""
    seeded = calendar_encuentros(bench.seeder, count)
    started = time.perf_counter()
    bench.seeder.insert(seeded)
    seeding = time.perf_counter() - started
    bench.settle()
    bench.http.get("/v1/calendar.ics").raise_for_status()  # warm-up
    latencies: list[float] = []
    body = b""
    watch = bench.watch(ferretdb=3)
    with watch.running():
        for _ in range(requests):
            started = time.perf_counter()
            response = bench.http.get("/v1/calendar.ics")
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            body = response.content
    repeats = 2  # each part here; the best of them is the part's cost
    query, encuentros = asyncio.run(repository_query(repeats))
    raw_find, documents = timed(lambda: public_find(bench.seeder.collection), repeats)
    repository = bench.seeder.uow.encuentros
    to_entities, _ = timed(
        lambda: [repository.from_document({**state_of(d), "_id": d["_id"]}) for d in documents],
        repeats,
    )
    entries = [calendar_entry(e, bench.seeder.public_url) for e in encuentros]
    render, rendered = timed(lambda: render_calendar(entries, name="Encuentros Articula"), repeats)
    same = (
        "the same bytes as the service's"
        if rendered == body
        else f"{len(rendered):,} bytes against the service's {len(body):,} (another public URL?)"
    )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    kib = len(body) / 1024
    rest = min(latencies) - min(query) - min(render)
    rendering = in_service(watch, "render_calendar", requests)
    lines = [
        f"### Calendar: `GET /v1/calendar.ics` with {count:,} encuentros",
        "",
        f"{count:,} published encuentros (`BENCH_CALENDAR_ENCUENTROS`; one in 25 cancelled, a "
        "third online only, nobody registered yet) seeded straight into the database as the "
        f"repository writes them ({seeding:.1f} s), before the other parts (the feed lists "
        f"every public encuentro: {len(encuentros):,} here). {requests} requests "
        f"(`BENCH_CALENDAR_REQUESTS`) one after the other, after a warm-up; {len(body):,} bytes "
        "each. Beside it, in this process, the route's parts on the same data (the baseline: "
        "what the request costs without HTTP).",
        "",
        "| what | best ms | p50 ms | max ms | n |",
        "|---|---|---|---|---|",
        f"| `GET /v1/calendar.ics` | {ms(min(latencies))} | {ms(p50)} | {ms(max(latencies))} | "
        f"{len(latencies)} |",
        *(
            f"| {name} | {ms(min(values))} | {ms(percentile(values, 50))} | {ms(max(values))} | "
            f"{len(values)} |"
            for name, values in (
                ("the repository's query (`EncuentroRepository.summaries`), this process", query),
                ("of which FerretDB: the same `find` with pymongo, documents only", raw_find),
                ("of which pydantic: the documents to aggregates", to_entities),
                (f"`render_calendar` of the same {len(entries):,} entries, this process", render),
            )
        ),
        "",
        f"The feed rendered here: {same}. The request without its query and its rendering "
        f"(HTTP, the entries, sending {kib:.0f} KiB), best against best: "
        f"{ms(max(0.0, rest))} ms. In the service itself (py-spy during the requests) "
        f"`render_calendar` took {ms(rendering)} ms of CPU per request, of "
        f"{ms(watch.cpu.get('events', 0.0) / requests)} ms of the service's and "
        f"{ms(watch.cpu.get('ferretdb', 0.0) / requests)} ms of FerretDB's. The query is a "
        "filtered `find`: FerretDB reads and decodes every document of the collection for it "
        "(the projection only trims the answer), so encuentros with registrations weigh on "
        "it; see the end of this section.",
        "",
        "**What bounds it** (CPU from psutil over the requests):",
        "",
        *bounds(
            watch,
            "events",
            requests,
            "request",
            ["EncuentroRepository.summaries", "calendar_entry", "render_calendar", "to_ical"],
        ),
        "",
    ]
    summary = [
        f"| 7. events: `GET /v1/calendar.ics`, {len(encuentros):,} encuentros | p50 {ms(p50)} / "
        f"p99 {ms(p99)} ms (n={len(latencies)}), {kib:.0f} KiB | its parts here, best of "
        f"{repeats}: query {ms(min(query))} ms (FerretDB's `find` {ms(min(raw_find))}, "
        f"pydantic {ms(min(to_entities))}), `render_calendar` {ms(min(render))} ms | the "
        f"fastest request {ms(min(latencies))} ms = {min(latencies) / min(render):.1f}× the "
        f"rendering alone | none set | FerretDB's scan and icalendar: `render_calendar` "
        f"{ms(rendering)} ms of the service's CPU per request. "
        f"{bound_cell(watch, requests, 'request')}.{watch.disturbance()} |"
    ]
    return Calendar(
        lines,
        summary,
        [e.id for e in seeded],
        min(latencies),
        min(raw_find),
        len(encuentros),
    )


def calendar_later(bench: Bench, calendar: Calendar, people: int) -> None:
    """The calendar again, now that the collection also holds the other parts' encuentros with
    their `people`; then the seeded encuentros go (each published one would get an invitation
    for every organisation activated later, which would weigh on a next run)."""
    raw_find, documents = timed(lambda: public_find(bench.seeder.collection), 1)
    latencies, _ = timed(lambda: bench.http.get("/v1/calendar.ics").raise_for_status(), 1)
    for start in range(0, len(calendar.seeded), 500):
        bench.seeder.collection.delete_many({"_id": {"$in": calendar.seeded[start : start + 500]}})
    calendar.lines[-1:-1] = [
        "",
        f"At the end of the run, the collection also holding the encuentros of the other parts "
        f"({len(documents) - calendar.listed} more, {people:,} registrations in them): the "
        f"FerretDB `find` {ms(raw_find[0])} ms (was {ms(calendar.find_best)} at best), `GET "
        f"/v1/calendar.ics` {ms(latencies[0])} ms (was {ms(calendar.best)} at best). The "
        "seeded encuentros are deleted afterwards (each published one gets an invitation for "
        "every organisation activated later, which "
        "would weigh on a next run against the same stack).",
    ]


# --- the whole benchmark -------------------------------------------------------------------------


def main() -> Section:
    registry = f"http://127.0.0.1:{os.environ['REGISTRY_PORT']}"
    events = f"http://127.0.0.1:{os.environ['EVENTS_PORT']}"
    concurrency = _env_int("BENCH_CONCURRENCY", 16)
    org_count = _env_int("BENCH_ENCUENTRO_ORGS", 100)
    count = _env_int("BENCH_ENCUENTRO_REGISTRATIONS", 100)
    rounds = _env_int("BENCH_ENCUENTRO_ROUNDS", 2)
    late = _env_int("BENCH_LATE_REGISTRATIONS", 20)
    participants = _env_int("BENCH_CHECKIN_PARTICIPANTS", 500)
    checkins = _env_int("BENCH_CHECKINS", 32)
    grouped = _env_int("BENCH_GROUPING_PARTICIPANTS", 1000)
    group_rounds = _env_int("BENCH_GROUPING_ROUNDS", 3)
    calendar_count = _env_int("BENCH_CALENDAR_ENCUENTROS", 1000)
    calendar_requests = _env_int("BENCH_CALENDAR_REQUESTS", 5)

    took: list[str] = []
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        took.append(f"{name} {time.perf_counter() - clock:.0f} s")
        clock = time.perf_counter()

    orgs, registering, learning, note = organizations(registry, events, org_count)
    lap("set-up")
    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    seeder = Seeder(orgs)
    with mongo, httpx.Client(base_url=events, timeout=300) as http:
        bench = Bench(events, orgs, concurrency, mongo, http, seeder, expected_invitations(mongo))
        calendar = calendar_part(bench, calendar_count, calendar_requests)
        lap("calendar")
        registration_lines, registration_summary, raw, checkin_encuentro = registrations_part(
            bench, count, rounds, participants, late
        )
        lap("registrations")
        checkin = checkin_part(bench, checkin_encuentro, checkins, raw)
        lap("check-in")
        grouping = rounds_part(bench, grouped, group_rounds)
        lap("rounds")
        calendar_later(bench, calendar, 20 + rounds * count + participants + grouped)
        lap("calendar again")
    seeder.close()
    lines = [
        "## 4. Events service: registrations, check-in, rounds, calendar (issue 8)",
        "",
        f"Set-up: {org_count} organisations (`BENCH_ENCUENTRO_ORGS`; head offices in the "
        f"five regions of {MACROZONE}, five sectors) registered at the registry and activated "
        f"by staff in {registering:.1f} s; the events service had applied their events (its "
        f"projection shows them active, their keys are accepted) {learning:.1f} s later.{note} "
        f"Every encuentro is in {MACROZONE}; publishing one invites the {bench.invited} "
        "organisations working there (the benchmark waits for those invitations, and before "
        f"each load for the events service's relay to be idle). The parts took {', '.join(took)}.",
        "",
        *registration_lines,
        *checkin[0],
        *grouping[0],
        *calendar.lines,
    ]
    summary = [*registration_summary, *checkin[1], *grouping[1], *calendar.summary]
    return Section(lines, summary)


if __name__ == "__main__":
    section = main()
    print("\n".join([*section.summary, "", *section.lines]))
