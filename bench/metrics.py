"""Metrics service benchmark (issue 9 item 8): the fold rate of its consumer against raw
aiokafka consume of the same records, `rebuild`, and statistics reads as the registry grows.

Every event is built with the project's own domain and contracts and sent as the services'
relays send it (`shared.storage.outbox.outbox_entries` → `entry_record`: CloudEvents binary
mode, record key the aggregate id), straight onto the topics of a prefix of this run
(`ARTICULA_TOPIC_PREFIX`), so that the registry's HTTP API is not the limit and no other
service folds them: organisations registered (and most of them activated by staff) with the
registry's aggregate (`Organization.register`, `activate_by_staff`), a third of them during a
registration call, in time order at `PER_DAY` a day; encuentros run with the events service's
domain (create, publish, registrations, start, check-in, needs and offers, close, survey). The
metrics service is a real process (`python -m services.metrics`) on that prefix.

(1) Fold rate. N organisation events produced onto the organisations topic with a plain
idempotent acks=all aiokafka producer, timed from the first send until the service's consumer
has handled them all (its `articula_consumer_messages_processed_total` for the topic, on
`/metrics`); then the encuentro events the same way. Raw, same run, the same records already on
the topic: `bench.pipeline`'s raw consumer (a consumer group committing per poll) consuming
them, alone ("consume") and with one `insert_many` per poll of a document per record into the
same FerretDB ("consume + insert_many", the ceiling of a consumer that writes each event
once). Beside it, the service's own consumer (`ReliableConsumer`, the same subscription and
unit of work) in a process of this benchmark with its database calls answered from memory
(`bench.pipeline.MemoryDatabase`): Python and Kafka only; the same consumer on the same
FerretDB, the records already on the topic (so its polls bring full runs, where the live
service's first polls bring what has arrived); and the service's fold given one
event at a time (`PerEventSubscription`: its batch handler called with each organisation event
alone, applying its position, as the consumer retries a failed batch), on the same FerretDB:
what the service did before it folded a partition's run of organisation events together.

(2) Rebuild. The service stopped, more organisation events produced (so that the topics hold
about what the measured fold rate folds in `BENCH_METRICS_REBUILD_SECONDS`), then `python -m
services.metrics rebuild` timed from start to exit; the projection checked against the events.

(3) Reads. A second metrics service on a prefix of its own, its projections seeded straight
into its database as its repositories write them, built with the metrics domain from
organisation events built with the contracts (`KnownOrganization.from_event`, the
`ProfileFacts` tally of each organisation summed into its `bucket_ids`), since folding 100,000
organisations takes hours (see (1)); encuentro tallies folded with `EncuentroTally.apply` from
the events of encuentros run with the events service's domain. The same organisations registered
over the same two years (`BENCH_METRICS_DAYS`) at each size, so that what grows is the number of
organisations; then `GET /v1/stats/registry?by=sector`, `by=theme` with a date range and `GET
/v1/stats/encuentros/{id}` one after the other, at 1,000 and 100,000 organisations
(`BENCH_METRICS_SIZES`); their answers are checked against the seeded counts, and their parts
are timed from this process (the buckets' `$in` find that `by_ids` sends, the same three buckets
read by `_id`, the date range's find).

Settings (environment): ``BENCH_METRICS_ORGS`` (150 organisations in the fold, about 270
events), ``BENCH_METRICS_ENCUENTROS`` (2) of ``BENCH_METRICS_PEOPLE`` (30 people each),
``BENCH_METRICS_REBUILD_SECONDS`` (30: the topics hold at least what the live fold folds in that
time; the replay takes about twice as long, see (2)),
``BENCH_METRICS_REBUILD_EVENTS`` (instead, a number of events), ``BENCH_METRICS_SIZES``
(``1000,100000``), ``BENCH_METRICS_DAYS`` (730), ``BENCH_METRICS_READS`` (20 of each query per
size), ``BENCH_METRICS_READ_SECONDS`` (5 per size: then fewer, at least 3), ``BENCH_PROFILE``.
The defaults keep this part to about three minutes on the 2-core machine. Ports and URLs come
from ``deploy/bench.sh``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import bson
import httpx
import uvloop
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient, MongoClient

from bench.common import ROOT, Section, percentile
from bench.directory import seeded_profile
from bench.events_support import SEED_ACTOR, encuentro_body, participant
from bench.pipeline import (
    LOG_DIR,
    MemoryCollection,
    MemoryDatabase,
    _environment,
    _say,
    _wait_line,
    child,
    infrastructure,
    stop,
)
from bench.profile import OTHERS, Stacks, Watch, cpu_seconds
from bench.registry import free_port
from services.events.application import new_code, new_id
from services.events.domain import activity, registrations
from services.events.domain.encuentro import Encuentro
from services.events.domain.forms import (
    EncuentroCreate,
    NeedsOffersInput,
    ParticipantInput,
    SurveyInput,
)
from services.events.domain.lifecycle import EncuentroStatus
from services.events.settings import EventsSettings
from services.metrics.consumers import organizations_changed
from services.metrics.consumers import subscription as metrics_subscription
from services.metrics.domain.encuentro_stats import NEEDS, OFFERS, EncuentroTally
from services.metrics.domain.figures import SATISFACTION_DIMENSIONS
from services.metrics.domain.organizations import KnownOrganization
from services.metrics.domain.registry_profile import NOT_WITHDRAWN, BucketKey, Tally, bucket_ids
from services.metrics.settings import MetricsSettings
from services.metrics.storage.matches import ANSWERS, MATCHES
from services.metrics.storage.projections import (
    ENCUENTRO_TALLIES,
    ORGANIZATIONS,
    PROFILE_BUCKETS,
)
from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from services.registry.domain.organization import Organization
from services.registry.domain.profile import OrganizationCreate
from services.registry.settings import RegistrySettings
from shared.events.base import EventContract
from shared.events.registry import (
    Actor,
    OrganizationActivated,
    OrganizationEvent,
    OrganizationRegistered,
    OrganizationSnapshot,
    OrganizationSuspended,
    OrganizationWithdrawn,
)
from shared.events.topics import TOPIC_SPECS, Topic, topic_name
from shared.kafka.consumer import ReliableConsumer
from shared.kafka.handlers import Delivered, Registration, Subscription
from shared.pings import pings_heard
from shared.reference.territory import macrozone_of
from shared.settings import ServiceSettings
from shared.storage.inbox import Inbox
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document, create_client, service_database
from shared.storage.outbox import OutboxWriter, filters_are_atomic, outbox_entries
from shared.storage.relay import entry_record
from shared.storage.repository import VERSION

PER_DAY = 50  # registrations a day in the fold's stream (100,000 in two years is 137 a day)
ACTIVATED = 0.8  # of the fold's organisations, activated by staff after registering
FOLD_START = datetime(2025, 3, 3, 9, tzinfo=UTC)
SEED_START = datetime(2024, 1, 1, tzinfo=UTC)
READ_PEOPLE = 120  # in the encuentro whose figures are read, from 100 organisations
RANGE_DAYS = 90  # the date range of the `by=theme` read: the last 90 days of registrations
REASON = "Carga del banco de pruebas"
SETTLE = 2.0  # `rebuild` stays at the end of every partition this long before it stops
STAFF = Actor(kind="staff", id="bench")
ORG_PREFIX = "bench-m-"

# (topic, key, value, headers) of one Kafka record
Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def share(ratio: float) -> str:
    """A ratio with two significant digits below 0.1 (0.004, not 0.00)."""
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"


def org_id(number: int) -> str:
    return f"{ORG_PREFIX}{number:07d}"


# --- events, built with the domain -------------------------------------------------------------


def organization_events(first: int, count: int) -> list[OrganizationEvent]:
    """Organisations `first`… registered with the registry's aggregate at `PER_DAY` a day (a
    third of them during a registration call), most activated by staff 1 to 48 hours later;
    their public events in the order they happened."""
    events: list[OrganizationEvent] = []
    for n in range(first, first + count):
        rng = random.Random(n)
        data = OrganizationCreate.model_validate(seeded_profile(rng, n))
        registered = FOLD_START + timedelta(days=n / PER_DAY)
        call = f"convocatoria-{n // 2000}" if n % 3 == 0 else None
        outcome = Organization.register(
            data, now=registered, call_id=call, organization_id=org_id(n), token="seed"
        )
        events += [e for e in outcome.events if isinstance(e, OrganizationEvent)]
        if rng.random() < ACTIVATED:
            later = registered + timedelta(hours=rng.uniform(1, 48))
            activated = outcome.organization.activate_by_staff(
                REASON, "bench", later, api_key=f"bench-key-{n}"
            )
            events += [e for e in activated.events if isinstance(e, OrganizationEvent)]
    events.sort(key=lambda e: e.occurred_at)
    return events


def encuentro_events(
    organizations: Sequence[str], people: int, moment: datetime
) -> tuple[str, list[EventContract]]:
    """One encuentro run with the events service's domain, `people` registered from the
    given organisations: published, 70% checked in, needs and offers from half the
    organisations present, closed, half of those present answering the survey. Its id and
    its public events (the private topic's are left out: metrics never reads them)."""
    rng = random.Random(moment.timestamp())
    body = encuentro_body("Encuentro del banco de métricas", people, moment + timedelta(days=30))
    encuentro, events = Encuentro.create(
        EncuentroCreate.model_validate(body), encuentro_id=new_id(), actor=SEED_ACTOR, now=moment
    )
    events += encuentro.change_status(
        EncuentroStatus.PUBLISHED, reason=None, actor=SEED_ACTOR, now=moment
    )
    for n in range(people):
        _, registered = registrations.register(
            encuentro,
            ParticipantInput.model_validate(participant()),
            organization_id=organizations[n % len(organizations)],
            registration_id=new_id(),
            code=new_code(),
            now=moment,
        )
        events += registered
    events += encuentro.change_status(
        EncuentroStatus.IN_PROGRESS, reason=None, actor=SEED_ACTOR, now=moment
    )
    present = encuentro.registrations[: people * 7 // 10]
    for registration in present:
        events += registrations.check_in(encuentro, registration, moment)
    answering = sorted({r.organization_id for r in present})
    for organization in answering[: len(answering) // 2]:
        answer = {"needs": rng.sample(NEEDS, 2), "offers": rng.sample(OFFERS, 2)}
        _, stated = activity.state_needs_offers(
            encuentro, organization, NeedsOffersInput.model_validate(answer), moment
        )
        events += stated
    events += encuentro.change_status(
        EncuentroStatus.CLOSED, reason=None, actor=SEED_ACTOR, now=moment
    )
    for registration in present[: len(present) // 2]:
        ratings = {d: rng.randint(3, 5) for d in SATISFACTION_DIMENSIONS}
        survey = SurveyInput.model_validate({"code": registration.code, "ratings": ratings})
        _, answered = activity.answer_survey(encuentro, survey, response_id=new_id(), now=moment)
        events += answered
    return encuentro.id, [e for e in events if e.topic == Topic.EVENTS_ENCUENTROS]


def records_of(events: Sequence[EventContract], settings: ServiceSettings) -> list[Record]:
    """The Kafka records the service's relay would send for these events, in order."""
    records: list[Record] = []
    for event_id, entry in outbox_entries(events, settings).items():
        record = entry_record(event_id, entry)
        assert record.value is not None  # an event, never a tombstone
        records.append((entry["topic"], record.key, record.value, record.headers))
    return records


async def _produce(records: Sequence[Record]) -> float:
    """Send the records with an idempotent acks=all producer; seconds until all acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for topic, key, value, headers in records
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def produce(records: Sequence[Record]) -> float:
    return asyncio.run(_produce(records))


# --- the metrics service, and what it says it did ----------------------------------------------


def metric(url: str, name: str, *fragments: str) -> float:
    """Sum of a sample over the service's series whose labels contain every fragment."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and all(f in line for f in fragments)
    )


def handled(url: str, topic: str) -> float:
    """Records of `topic` the service's consumer has handled (applied, duplicate, ignored…)."""
    return metric(url, "articula_consumer_messages_processed_total", f'topic="{topic}"')


def subscribed_partitions() -> int:
    assert metrics_subscription.topics
    return sum(TOPIC_SPECS[t].partitions for t in metrics_subscription.topics)


@contextmanager
def metrics_service(prefix: str) -> Iterator[tuple[int, str]]:
    """A real metrics service on the prefix: (pid, base URL), once it owns every partition."""
    port = free_port()
    env = {**_environment(prefix), "METRICS_PORT": str(port), "METRICS_HOST": "127.0.0.1"}
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "bench-metrics.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.metrics"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        wanted = subscribed_partitions()
        while metric(url, "articula_consumer_assigned_partitions") < wanted:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"metrics service not ready; see {LOG_DIR}/bench-metrics.log")
            time.sleep(0.2)
        yield proc.pid, url
    finally:
        stop(proc)


def topic_of(topic: Topic, prefix: str) -> str:
    return topic_name(topic, f"{prefix}.")


# --- (1) fold rate -----------------------------------------------------------------------------


@dataclass
class Fold:
    name: str
    count: int
    seconds: float
    watch: Watch | None = None
    produce_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("nan")


def fold_live(
    service: tuple[int, str],
    records: list[Record],
    topic: str,
    name: str,
    profile: bool,
    ferretdb_seconds: int = 10,
) -> Fold:
    """Produce the records; seconds from the first send until the service handled them all
    (FerretDB's CPU profile over the first `ferretdb_seconds`: shorter than the load)."""
    pid, url = service
    before = handled(url, topic)
    pids = {"metrics": pid, "benchmark (producer, polling)": os.getpid(), **infrastructure()}
    watch = Watch(pids, ["metrics"] if profile else (), ferretdb_seconds if profile else 0)
    with watch.running():
        started = time.perf_counter()
        produced = produce(records)
        deadline = started + 1800
        while handled(url, topic) - before < len(records):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the metrics service did not handle every record of {topic}")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    return Fold(name, len(records), seconds, watch, produced)


def raw_consume(prefix: str, topic: str, count: int, kind: str) -> Fold:
    """`bench.pipeline`'s raw consumer over records already on the topic (`kind`: "none",
    consume only; "records", one `insert_many` per poll)."""
    args = ["raw-consumer", topic, f"{prefix}_raw", str(count), kind]
    with child(f"metrics-raw-{kind}", args, prefix) as consumer:
        done = consumer.read("done")
    return Fold(f"raw ({kind})", count, float(done["seconds"]))


def fold_variant(prefix: str, variant: str, topic: str, count: int, profile: bool) -> Fold:
    """The service's consumer in a process of this benchmark (`fold_child`), on records already
    on the topic; seconds from its partitions' assignment until it handled `count`."""
    env = {"ARTICULA_DATABASE_PREFIX": f"{prefix}_{variant}_"}
    args = ["fold-child", variant, topic, str(count)]
    with child(f"metrics-{variant}", args, prefix, module="bench.metrics", env=env) as proc:
        proc.read("ready")
        name = f"consumer ({variant})"
        pids = {name: proc.pid, **infrastructure()}
        if variant == "memory":
            pids.pop("ferretdb", None)
        # FerretDB's profile over 1 s for the batch (a few seconds), 4 s one event at a time
        seconds = {"memory": 0, "batch": 1}.get(variant, 4) if profile else 0
        watch = Watch(pids, [name] if profile else (), seconds)
        with watch.running():
            proc.send("go")
            done = proc.read("done")
    return Fold(name, count, float(done["seconds"]), watch)


# --- the fold's variants, run in a child process -----------------------------------------------


class VariantSettings(MetricsSettings):
    """The metrics service's settings with a consumer group of its own per variant."""

    variant: str = "memory"

    @property
    def consumer_group(self) -> str:
        return f"{self.topic_prefix}articula-metrics-bench-{self.variant}"


class _Cursor:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def sort(self, *args: Any, **kwargs: Any) -> _Cursor:
        return self

    async def _all(self) -> Any:
        for doc in self.docs:
            yield doc

    def __aiter__(self) -> Any:
        return self._all()


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """Equality (an array field matches one of its elements), `$in` and `$or`: what the
    metrics service's folds filter with."""
    for name, wanted in query.items():
        if name == "$or":
            if not any(_matches(doc, q) for q in wanted):
                return False
            continue
        value = doc.get(name)
        values = value if isinstance(value, list | tuple) else [value]
        if isinstance(wanted, dict) and "$in" in wanted:
            if not any(v in wanted["$in"] for v in values):
                return False
        elif wanted not in values and value != wanted:
            return False
    return True


class FilteringCollection(MemoryCollection):
    """`bench.pipeline`'s in-memory collection with the filtered reads the folds send."""

    def find(self, query: Mapping[str, Any] | None = None, *args: Any) -> _Cursor:
        return _Cursor([d for d in self.docs.values() if _matches(d, query or {})])


class FilteringDatabase(MemoryDatabase):
    def __getitem__(self, name: str) -> FilteringCollection:
        found = self.collections.setdefault(name, FilteringCollection())
        assert isinstance(found, FilteringCollection)
        return found


class PerEventSubscription(Subscription[MetricsUnitOfWork]):
    """The metrics service's subscription with its organisation events handled one at a time:
    its batch handler (`organizations_changed`) called with each event alone and a unit of
    work applying that event, as the consumer does after a failed batch. The fold of one event
    at a time, for comparison with the batch (the service folds a partition's run at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.include(pings_heard)
        for contract, registration in metrics_subscription._registrations.items():
            if issubclass(contract, OrganizationEvent):
                self._add(Registration(contract, handle=_one_organization_event))
            elif contract not in pings_heard._registrations:
                self._add(registration)


async def _one_organization_event(
    event: Delivered[OrganizationEvent], uow: MetricsUnitOfWork
) -> None:
    await organizations_changed([event], uow)


def _handled_here(topic: str, group: str) -> float:
    return sum(
        REGISTRY.get_sample_value(
            "articula_consumer_messages_processed_total",
            {"topic": topic, "group": group, "outcome": outcome},
        )
        or 0.0
        for outcome in ("applied", "duplicate", "ignored", "dead_lettered")
    )


async def fold_child(variant: str, topic: str, count: int) -> None:
    settings = VariantSettings(variant=variant)
    db: Any
    if variant == "memory":
        db, atomic = FilteringDatabase(), True
    else:
        client = create_client(settings)
        db = service_database(client, settings)
        atomic = await filters_are_atomic(client)
    writer = OutboxWriter(db, settings, DocumentLocks(), atomic_filters=atomic)
    chosen = PerEventSubscription() if variant == "per-event" else metrics_subscription
    consumer = ReliableConsumer(
        settings,
        chosen,
        Inbox(db),
        lambda applying: MetricsUnitOfWork(writer, applying=applying),
    )
    _say(ready=True)
    await _wait_line("go")
    task = asyncio.create_task(consumer.run_forever())
    await consumer.assigned.wait()
    started = time.perf_counter()
    while _handled_here(topic, settings.consumer_group) < count:  # noqa: ASYNC110 (a counter)
        await asyncio.sleep(0.02)
    _say(done=True, seconds=time.perf_counter() - started)
    await asyncio.to_thread(sys.stdin.read)  # until the parent is done profiling
    task.cancel()


def child_main(argv: list[str]) -> None:
    if argv[0] == "fold-child":
        uvloop.run(fold_child(argv[1], argv[2], int(argv[3])))
    else:
        raise SystemExit(f"unknown role {argv[0]}")


@dataclass
class MatchingState:
    """Answers and matches in a metrics database, and what matching's reconciliation of one
    organisation reads of them (`MatchRepository.active`, `AnswerRepository.of_organization`:
    filtered finds, so scans on FerretDB), timed from this process."""

    answers: int
    matches: int
    active_find: float
    answers_find: float

    def text(self) -> str:
        return (
            f"{self.answers:,} answers and {self.matches:,} matches stored; an organisation's "
            f"active matches found in {ms(self.active_find)} ms and its answers in "
            f"{ms(self.answers_find)} ms (from this process)"
        )


def matching_state(database: str, organization: str) -> MatchingState:
    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    with mongo:
        db = mongo[database]
        query = {"status": "active", "organization_ids": organization}
        return MatchingState(
            db[ANSWERS].count_documents({}),
            db[MATCHES].count_documents({}),
            best(lambda: list(db[MATCHES].find(query).sort([("found_at", 1), ("_id", 1)]))),
            best(lambda: list(db[ANSWERS].find({"organization_id": organization}))),
        )


# --- (2) rebuild -------------------------------------------------------------------------------


@dataclass
class Rebuilt:
    events: int
    wall_seconds: float
    reported_seconds: float  # what the command prints: from the runtime's start
    watch: Watch
    checked: str

    @property
    def rate(self) -> float:
        """Events per second of the replay: its 2 s of settling at the end left out."""
        return self.events / max(self.reported_seconds - SETTLE, 0.1)


def expected_profile(events: Sequence[OrganizationEvent]) -> Counter[str]:
    """Organisations by status once every event applied (the newest event of each wins)."""
    latest: dict[str, OrganizationEvent] = {}
    for event in events:
        latest[event.organization_id] = event
    return Counter(e.organization.status for e in latest.values())


def check_projection(database: str, statuses: Counter[str]) -> str:
    """The rebuilt buckets against the events: organisations by status."""
    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    with mongo:
        buckets = mongo[database][PROFILE_BUCKETS]
        found = {
            s: int((buckets.find_one({"_id": f"s={s}"}) or {}).get("total", 0)) for s in statuses
        }
    wrong = {s: (found[s], n) for s, n in statuses.items() if found[s] != n}
    summary = ", ".join(f"{n:,} {s}" for s, n in sorted(statuses.items()))
    if wrong:
        return f"**the projection does not match the events**: {wrong} (found, expected)"
    return f"the projection matches the events ({summary})"


def rebuild(prefix: str, events: int, statuses: Counter[str], profile: bool) -> Rebuilt:
    env = {**_environment(prefix), "LOG_LEVEL": "WARNING"}
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (LOG_DIR / "bench-metrics-rebuild.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.metrics", "rebuild"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        watch = Watch(
            {"rebuild": proc.pid, **infrastructure()},
            ["rebuild"] if profile else (),
            10 if profile else 0,
        )
        with watch.running():
            first = last = cpu_seconds(proc.pid)
            reader = ThreadPoolExecutor(1).submit(proc.communicate, timeout=7200)
            while not reader.done():  # its CPU, read while it runs: psutil cannot after it exits
                last = max(last, cpu_seconds(proc.pid))
                time.sleep(0.1)
            out, _ = reader.result()
    wall = time.perf_counter() - started
    measured_after_exit = watch.cpu["rebuild"]
    watch.cpu["rebuild"] = last - first
    watch.cpu[OTHERS] = max(0.0, watch.cpu[OTHERS] + measured_after_exit - (last - first))
    found = re.search(r"rebuilt in ([\d.]+) s", out or "")
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"rebuild failed ({proc.returncode}): {out!r}")
    database = f"{prefix}_metrics"
    return Rebuilt(events, wall, float(found.group(1)), watch, check_projection(database, statuses))


# --- (3) reads -----------------------------------------------------------------------------------


def seeded_organization(number: int, days: int) -> KnownOrganization:
    """Organisation `number` as the metrics service keeps it, from the event the registry
    would have published last for it: registered on a day of the `days` from `SEED_START`,
    active (80%), pending, suspended or withdrawn."""
    rng = random.Random(number)
    profile = seeded_profile(rng, number)
    registered = SEED_START + timedelta(seconds=rng.uniform(0, days * 86_400))
    roll = rng.random()
    status = (
        "active"
        if roll < 0.8
        else "pending"
        if roll < 0.95
        else "suspended"
        if roll < 0.99
        else "withdrawn"
    )
    snapshot = OrganizationSnapshot(
        rut=profile["rut"],
        name=profile["name"],
        sector=profile["sector"],
        legal_form=profile["legal_form"],
        head_office_region=profile["head_office_region"],
        macrozone=macrozone_of(profile["head_office_region"]),
        regions=tuple(profile["regions"]),
        scope=profile["scope"],
        roles=tuple(profile["roles"]),
        themes=tuple(profile["themes"]),
        links_with_others=profile["links_with_others"],
        has_alliances=profile["has_alliances"],
        traits=tuple(profile["traits"]),
        website=profile["website"],
        status=status,
        verified=False,
        listed=status == "active",
        call_id=f"convocatoria-{registered.year}" if number % 3 == 0 else None,
        registered_at=registered,
    )
    common: dict[str, Any] = {
        "organization_id": org_id(number),
        "occurred_at": registered + timedelta(hours=2),
        "organization": snapshot,
    }
    event: OrganizationEvent
    if status == "pending":
        event = OrganizationRegistered(**common)
    elif status == "active":
        event = OrganizationActivated(**common, changed_by=STAFF, reason=REASON)
    elif status == "suspended":
        event = OrganizationSuspended(**common, changed_by=STAFF, reason=REASON)
    else:
        event = OrganizationWithdrawn(**common, changed_by=STAFF, previous_status="active")
    return KnownOrganization.from_event(event)


class ProjectionSeeder:
    """The metrics service's projections written straight into its database as its
    repositories write them (`to_document`, version 1): organisations in batches of 1,000
    (building one batch while the previous is inserted), the buckets summed from their tallies
    and rewritten whole at each size, and encuentro tallies."""

    def __init__(self, database: str, days: int) -> None:
        self.client: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
        self.db = self.client[database]
        self._async: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"])
        writer = OutboxWriter(self._async[database], MetricsSettings(), DocumentLocks())
        self.uow = MetricsUnitOfWork(writer)
        self.days = days
        self.count = 0
        self.seconds = 0.0
        self.buckets: dict[str, tuple[BucketKey, Tally]] = {}
        self.in_range = 0  # not withdrawn, registered in the `by=theme` read's range
        self.not_withdrawn = 0
        self.pool = ThreadPoolExecutor(1)

    @property
    def range(self) -> tuple[date, date]:
        last = (SEED_START + timedelta(days=self.days, seconds=-1)).date()
        return last - timedelta(days=RANGE_DAYS - 1), last

    def grow_to(self, target: int) -> None:
        started = time.perf_counter()
        pending: Future[Any] | None = None
        first, last = self.range
        while self.count < target:
            size = min(1_000, target - self.count)
            organizations = [
                seeded_organization(n, self.days) for n in range(self.count, self.count + size)
            ]
            documents = []
            for known in organizations:
                facts = known.facts()
                tally = facts.tally()
                for key in bucket_ids(facts):
                    self.buckets.setdefault(key.id, (key, Tally()))[1].add(tally)
                if known.status in NOT_WITHDRAWN:
                    self.not_withdrawn += 1
                    self.in_range += first <= facts.registered_on <= last
                documents.append({**self.uow.organizations.to_document(known), VERSION: 1})
            if pending is not None:
                pending.result()
            pending = self.pool.submit(self.db[ORGANIZATIONS].insert_many, documents, ordered=False)
            self.count += size
        if pending is not None:
            pending.result()
        self.db.drop_collection(PROFILE_BUCKETS)
        documents = [{**self.uow.buckets.to_document(b), VERSION: 1} for b in self.buckets.values()]
        for start in range(0, len(documents), 1_000):
            self.db[PROFILE_BUCKETS].insert_many(documents[start : start + 1_000], ordered=False)
        self.seconds += time.perf_counter() - started

    def insert_tallies(self, tallies: Sequence[EncuentroTally]) -> None:
        documents = [{**self.uow.tallies.to_document(t), VERSION: 1} for t in tallies]
        self.db[ENCUENTRO_TALLIES].insert_many(documents, ordered=False)

    def close(self) -> None:
        self.client.close()
        asyncio.run(self._async.close())


def tally_of(encuentro_id: str, events: Sequence[EventContract]) -> EncuentroTally:
    """The encuentro's tally as the metrics service folds it (`EncuentroTally.apply`)."""
    tally = EncuentroTally(encuentro_id=encuentro_id)
    for event in events:
        tally.apply(event)
    return tally


@dataclass
class Size:
    organizations: int
    seeded_seconds: float
    buckets: int
    bucket_bytes: int
    times: dict[str, list[float]]
    parts: dict[str, float]  # best seconds of each part, from this process
    checked: str
    watch: Watch


REGISTRY_READ = "`GET /v1/stats/registry?by=sector`"
THEME_READ = f"`by=theme`, registered in the last {RANGE_DAYS} days"
ENCUENTRO_READ = "`GET /v1/stats/encuentros/{id}`"
IN_FIND = "the buckets' `$in` find (`by_ids`: 3 bucket ids)"
BY_ID = "the same 3 buckets, `find_one` by `_id` each"
DAYS_FIND = f"the date range's find (`by_days`: {RANGE_DAYS} days)"
DAYS_BY_ID = f"the same range's day buckets, `find_one` by `_id` each ({RANGE_DAYS} × 3)"
TALLY_READ = "the encuentro's tally by `_id`, then its organisations by `_id` one by one"


def best(function: Callable[[], object], repeats: int = 3, budget: float = 2.0) -> float:
    """The fastest of up to `repeats` calls, fewer once they have taken `budget` seconds."""
    seconds: list[float] = []
    while len(seconds) < repeats and (not seconds or sum(seconds) < budget):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def measure_size(
    url: str,
    pid: int,
    seeder: ProjectionSeeder,
    encuentro_id: str,
    organizations: Sequence[str],
    repeats: int,
    budget: float,
    profile: bool,
) -> Size:
    """Each query `repeats` times in rounds, fewer (at least 3) once they took `budget` s."""
    first, last = seeder.range
    paths = {
        REGISTRY_READ: "/v1/stats/registry?by=sector",
        THEME_READ: f"/v1/stats/registry?by=theme&registered_from={first}&registered_to={last}",
        ENCUENTRO_READ: f"/v1/stats/encuentros/{encuentro_id}",
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    answers: dict[str, Any] = {}
    watch = Watch({"metrics": pid, **infrastructure()}, ["metrics"] if profile else (), 5 * profile)
    with httpx.Client(base_url=url, timeout=120) as http:
        for path in paths.values():  # warm-up
            http.get(path).raise_for_status()
        with watch.running():
            started_all = time.perf_counter()
            for round_number in range(repeats):
                if round_number >= 3 and time.perf_counter() - started_all > budget:
                    break
                for name, path in paths.items():
                    started = time.perf_counter()
                    response = http.get(path)
                    times[name].append(time.perf_counter() - started)
                    response.raise_for_status()
                    answers[name] = response.json()
    problems = []
    if answers[REGISTRY_READ]["total"] != seeder.not_withdrawn:
        problems.append(
            f"by=sector total {answers[REGISTRY_READ]['total']}, seeded {seeder.not_withdrawn}"
        )
    if answers[THEME_READ]["total"] != seeder.in_range:
        problems.append(
            f"date range total {answers[THEME_READ]['total']}, seeded {seeder.in_range}"
        )
    checked = (
        "**answers do not match the seeded organisations**: " + "; ".join(problems)
        if problems
        else f"answers checked: {seeder.not_withdrawn:,} organisations not withdrawn, "
        f"{seeder.in_range:,} of them registered in the range"
    )
    buckets = seeder.db[PROFILE_BUCKETS]
    ids = [BucketKey(s).id for s in NOT_WITHDRAWN]
    days: Document = {"$ne": None, "$gte": first.isoformat(), "$lte": last.isoformat()}
    day_filter = {"day": days, "status": {"$in": list(NOT_WITHDRAWN)}, "call_id": None}
    tallies = seeder.db[ENCUENTRO_TALLIES]
    orgs = seeder.db[ORGANIZATIONS]

    day_ids = [
        BucketKey(s, day=first + timedelta(days=d)).id
        for d in range((last - first).days + 1)
        for s in NOT_WITHDRAWN
    ]

    def tally_read() -> None:
        tallies.find_one({"_id": encuentro_id})
        for organization in organizations:
            orgs.find_one({"_id": organization})

    parts = {
        IN_FIND: best(lambda: list(buckets.find({"_id": {"$in": ids}}))),
        BY_ID: best(lambda: [buckets.find_one({"_id": i}) for i in ids]),
        DAYS_FIND: best(lambda: list(buckets.find(day_filter))),
        DAYS_BY_ID: best(lambda: [buckets.find_one({"_id": i}) for i in day_ids]),
        TALLY_READ: best(tally_read),
    }
    stored = list(buckets.find({}))
    return Size(
        seeder.count,
        seeder.seconds,
        len(stored),
        sum(len(bson.encode(d)) for d in stored),
        times,
        parts,
        checked,
        watch,
    )


# --- the report ----------------------------------------------------------------------------------


def matching_share(stacks: Stacks | None) -> float:
    """Samples under `services/metrics/matching.py`'s `organization_changed` (the consumer's
    handler has the same name)."""
    if stacks is None or not stacks.total:
        return 0.0
    needle = "organization_changed (services/metrics/matching.py"
    inside = sum(
        n for stack, n in stacks.samples.items() if any(needle in f for f in stack.split(";"))
    )
    return inside / stacks.total


ORG_FOCUS = [
    "fold_organizations",  # the service's fold of a run of organisation events, under PROFILE_LOCK
    "_fold_bucket",  # each bucket once per run: a read, and a compare-and-set or an insert
    "DocumentRepository.get",
    "DocumentRepository.save_up_to",
    "DocumentRepository.add_many_up_to",
    "BatchProcessor._decode",
    "Inbox.claim",
]
BATCH = "consumer (batch)"
PER_EVENT = "consumer (per-event)"
REBUILD_FOCUS = [*ORG_FOCUS[:2], "fold_encuentro_event", "answer_stated"]
ENCUENTRO_FOCUS = [
    "fold_encuentro_event",
    "DocumentRepository.get",
    "DocumentRepository.entity_of",
    "EncuentroTallyRepository.to_document",
    "OutboxWriter.update",
    "answer_stated",
]


def per_event(watch: Watch | None, count: int) -> float:
    return sum(watch.commands.values()) / count if watch is not None and count else 0.0


def command_mix(watch: Watch | None, count: int) -> str:
    if watch is None or not watch.commands:
        return "no command counts"
    top = ", ".join(f"{n / count:.1f} {c}" for c, n in watch.commands.most_common(4))
    return f"{per_event(watch, count):.1f} FerretDB commands per event ({top})"


def serial(watch: Watch, fold: Fold) -> str:
    """The CPU an event costs each side of its round trips in sequence, against its time."""
    service = watch.cpu.get("metrics", 0.0) / fold.count * 1000
    database = watch.cpu.get("ferretdb", 0.0) / fold.count * 1000
    return (
        f"per event FerretDB {database:.0f} ms of CPU and the service {service:.0f} ms, "
        f"{database + service:.0f} ms in all, against {1000 / fold.rate:.0f} ms per event "
        f"measured (FerretDB {watch.cores('ferretdb'):.2f} cores, the service "
        f"{watch.cores('metrics'):.2f})"
    )


def read_row(sizes: Sequence[Size], name: str) -> str:
    cells = []
    for size in sizes:
        values = size.times[name]
        cells.append(
            f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))} (n={len(values)})"
        )
    return f"| {name} | {' | '.join(cells)} |"


def part_row(sizes: Sequence[Size], name: str) -> str:
    return f"| {name} | {' | '.join(ms(s.parts[name]) for s in sizes)} |"


def main() -> Section:
    org_count = _env_int("BENCH_METRICS_ORGS", 150)
    encuentro_count = _env_int("BENCH_METRICS_ENCUENTROS", 2)
    people = _env_int("BENCH_METRICS_PEOPLE", 30)
    rebuild_seconds = _env_int("BENCH_METRICS_REBUILD_SECONDS", 30)
    rebuild_events = _env_int("BENCH_METRICS_REBUILD_EVENTS", 0)
    sizes_wanted = [int(s) for s in os.environ.get("BENCH_METRICS_SIZES", "1000,100000").split(",")]
    days = _env_int("BENCH_METRICS_DAYS", 730)
    repeats = _env_int("BENCH_METRICS_READS", 20)
    budget = _env_int("BENCH_METRICS_READ_SECONDS", 5)
    took: list[str] = []
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        took.append(f"{name} {time.perf_counter() - clock:.0f} s")
        clock = time.perf_counter()

    prefix = f"bm{uuid.uuid4().hex[:6]}"
    registry_settings = RegistrySettings(topic_prefix=f"{prefix}.")
    events_settings = EventsSettings(topic_prefix=f"{prefix}.")
    org_topic = topic_of(Topic.REGISTRY_ORGANIZATIONS, prefix)
    encuentro_topic = topic_of(Topic.EVENTS_ENCUENTROS, prefix)

    # (1) the fold
    org_events = organization_events(0, org_count)
    org_records = records_of(org_events, registry_settings)
    ids = [org_id(n) for n in range(org_count)]
    stories = [
        encuentro_events(ids[k::encuentro_count], people, FOLD_START + timedelta(days=30 + k))
        for k in range(encuentro_count)
    ]
    encuentro_records = [r for _, events in stories for r in records_of(events, events_settings)]
    with metrics_service(prefix) as service:
        orgs_fold = fold_live(service, org_records, org_topic, "organisations", profile=True)
        raw_orgs = raw_consume(prefix, org_topic, len(org_records), "none")
        raw_orgs_db = raw_consume(prefix, org_topic, len(org_records), "records")
        memory = fold_variant(prefix, "memory", org_topic, len(org_records), profile=True)
        batch = fold_variant(prefix, "batch", org_topic, len(org_records), profile=True)
        one_by_one = fold_variant(prefix, "per-event", org_topic, len(org_records), profile=True)
        lap("organisation events")
        encuentros_fold = fold_live(
            service, encuentro_records, encuentro_topic, "encuentros", True, ferretdb_seconds=4
        )
        raw_encuentros = raw_consume(prefix, encuentro_topic, len(encuentro_records), "none")
        raw_encuentros_db = raw_consume(prefix, encuentro_topic, len(encuentro_records), "records")
        _, url = service
        with httpx.Client(base_url=url, timeout=60) as http:
            total = int(http.get("/v1/stats/registry?by=sector").json()["total"])
            stats = http.get(f"/v1/stats/encuentros/{stories[0][0]}").json()
        live_matching = matching_state(f"{prefix}_metrics", ids[0])
        lap("encuentro events")
    statuses = expected_profile(org_events)
    not_withdrawn = sum(n for s, n in statuses.items() if s in NOT_WITHDRAWN)
    fold_check = (
        f"The service's answers checked: `by=sector` total {total:,} of {not_withdrawn:,} "
        f"organisations; the first encuentro {stats['inscritos']} inscritos of {people}"
    )

    # (2) rebuild: more organisation events, then the command
    folded = len(org_records) + len(encuentro_records)
    live_rate = folded / (orgs_fold.seconds + encuentros_fold.seconds)
    target = rebuild_events or int(live_rate * rebuild_seconds)
    extra_events: list[OrganizationEvent] = []
    if target > folded:
        per_org = len(org_events) / org_count
        extra_events = organization_events(org_count, max(1, int((target - folded) / per_org)))
        produce(records_of(extra_events, registry_settings))
    all_org_events = org_events + extra_events
    total_events = folded + len(extra_events)
    rebuilt = rebuild(prefix, total_events, expected_profile(all_org_events), profile=True)
    rebuilt_matching = matching_state(f"{prefix}_metrics", ids[0])
    lap("rebuild")

    # (3) reads
    read_prefix = f"br{uuid.uuid4().hex[:6]}"
    seeder = ProjectionSeeder(f"{read_prefix}_metrics", days)
    invited = [org_id(n) for n in range(0, min(sizes_wanted), max(1, min(sizes_wanted) // 100))]
    read_id, read_events = encuentro_events(invited, READ_PEOPLE, SEED_START + timedelta(days=days))
    read_tally = tally_of(read_id, read_events)
    read_orgs = sorted({seat.organization_id for seat in read_tally.seats.values()})
    measured: list[Size] = []
    with metrics_service(read_prefix) as service:
        pid, url = service
        for size in sorted(sizes_wanted):
            seeder.grow_to(size)
            if not measured:
                seeder.insert_tallies([read_tally])
            last = size == max(sizes_wanted)
            measured.append(
                measure_size(url, pid, seeder, read_id, read_orgs, repeats, budget, last)
            )
    seeder.client.drop_database(f"{read_prefix}_metrics")
    seeder.close()
    lap("reads")
    mongo: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"])
    with mongo:
        for name in mongo.list_database_names():
            if name.startswith(prefix):
                mongo.drop_database(name)

    return report(
        org_count=org_count,
        people=people,
        org_events=len(org_records),
        encuentro_events=len(encuentro_records),
        encuentro_count=encuentro_count,
        orgs_fold=orgs_fold,
        raw_orgs=raw_orgs,
        raw_orgs_db=raw_orgs_db,
        memory=memory,
        batch=batch,
        one_by_one=one_by_one,
        encuentros_fold=encuentros_fold,
        raw_encuentros=raw_encuentros,
        raw_encuentros_db=raw_encuentros_db,
        fold_check=fold_check,
        rebuilt=rebuilt,
        rebuild_seconds=rebuild_seconds,
        measured=measured,
        read_people=READ_PEOPLE,
        live_matching=live_matching,
        extra_events=len(extra_events),
        rebuild_org_events=len(org_records) + len(extra_events),
        rebuilt_matching=rebuilt_matching,
        read_orgs=len(read_orgs),
        days=days,
        took=took,
    )


def report(**r: Any) -> Section:
    """The section of docs/benchmarks.md and its rows of the summary table."""
    orgs_fold: Fold = r["orgs_fold"]
    raw_orgs: Fold = r["raw_orgs"]
    raw_orgs_db: Fold = r["raw_orgs_db"]
    memory: Fold = r["memory"]
    batch: Fold = r["batch"]
    one_by_one: Fold = r["one_by_one"]
    encuentros_fold: Fold = r["encuentros_fold"]
    raw_encuentros: Fold = r["raw_encuentros"]
    raw_encuentros_db: Fold = r["raw_encuentros_db"]
    rebuilt: Rebuilt = r["rebuilt"]
    measured: list[Size] = r["measured"]
    n_orgs: int = r["org_events"]
    n_enc: int = r["encuentro_events"]
    watch = orgs_fold.watch
    assert watch is not None and encuentros_fold.watch is not None
    assert memory.watch is not None and one_by_one.watch is not None
    assert batch.watch is not None
    stacks = watch.stacks.get("metrics")
    matching_part = matching_share(stacks)
    lines = [
        "## 5. Metrics service: the fold, `rebuild`, statistics reads (issue 9)",
        "",
        "Every event built with the project's domain and contracts (organisations registered "
        "with the registry's aggregate and mostly activated by staff, a third during a call, "
        f"{PER_DAY} a day in time order; encuentros run with the events service's domain) and "
        "sent as the relays send them (`outbox_entries` → `entry_record`) straight onto the "
        "topics of a prefix of this run; the metrics service is a real process on that prefix "
        f"(`bench/metrics.py` says why and how). The parts took {', '.join(r['took'])}.",
        "",
        "### Events folded per second vs raw aiokafka consume of the same records",
        "",
        f"{n_orgs:,} organisation events ({r['org_count']:,} organisations, "
        f"`BENCH_METRICS_ORGS`), then {n_enc:,} encuentro events ({r['encuentro_count']} "
        f"encuentros of {r['people']} people, `BENCH_METRICS_ENCUENTROS`, "
        "`BENCH_METRICS_PEOPLE`), each produced in one go and timed from the first send until "
        "the service's consumer had handled the last (its `/metrics`); raw: `bench.pipeline`'s "
        "raw consumer (a consumer group committing per poll) over the same records, from its "
        f"first poll to the last record. {r['fold_check']}.",
        "",
        "| stream: consumer | events/s | seconds | ratio to raw consume | ratio to raw consume + "
        "`insert_many` | FerretDB commands per event |",
        "|---|---|---|---|---|---|",
        f"| organisations: raw aiokafka consume | {raw_orgs.rate:,.0f} | {raw_orgs.seconds:.2f} "
        "| 1 | | 0 |",
        f"| organisations: raw consume + one `insert_many` per poll | {raw_orgs_db.rate:,.0f} | "
        f"{raw_orgs_db.seconds:.2f} | | 1 | |",
        f"| organisations: **the metrics service** | {orgs_fold.rate:.1f} | "
        f"{orgs_fold.seconds:.1f} (producing {orgs_fold.produce_seconds:.2f}) | "
        f"**{share(orgs_fold.rate / raw_orgs.rate)}** | "
        f"**{share(orgs_fold.rate / raw_orgs_db.rate)}** | {per_event(watch, n_orgs):.1f} |",
        f"| organisations: its consumer, database answered from memory | {memory.rate:,.0f} | "
        f"{memory.seconds:.1f} | {share(memory.rate / raw_orgs.rate)} | "
        f"{share(memory.rate / raw_orgs_db.rate)} | 0 |",
        f"| organisations: its consumer in a process of this benchmark, the records already on "
        f"the topic | {batch.rate:.1f} | {batch.seconds:.1f} | {share(batch.rate / raw_orgs.rate)} "
        f"| {share(batch.rate / raw_orgs_db.rate)} | {per_event(batch.watch, n_orgs):.1f} |",
        f"| organisations: the same, one event at a time (as before the batch fold; here only) | "
        f"{one_by_one.rate:.1f} | {one_by_one.seconds:.1f} | "
        f"{share(one_by_one.rate / raw_orgs.rate)} | {share(one_by_one.rate / raw_orgs_db.rate)} "
        f"| {per_event(one_by_one.watch, n_orgs):.1f} |",
        f"| encuentros: raw aiokafka consume | {raw_encuentros.rate:,.0f} | "
        f"{raw_encuentros.seconds:.2f} | 1 | | 0 |",
        f"| encuentros: raw consume + one `insert_many` per poll | {raw_encuentros_db.rate:,.0f} "
        f"| {raw_encuentros_db.seconds:.2f} | | 1 | |",
        f"| encuentros: **the metrics service** | {encuentros_fold.rate:.1f} | "
        f"{encuentros_fold.seconds:.1f} (producing {encuentros_fold.produce_seconds:.2f}) | "
        f"**{share(encuentros_fold.rate / raw_encuentros.rate)}** | "
        f"**{share(encuentros_fold.rate / raw_encuentros_db.rate)}** | "
        f"{per_event(encuentros_fold.watch, n_enc):.1f} |",
        "",
        "**What bounds it** (CPU from psutil, profiles from py-spy and FerretDB's pprof, "
        "commands from FerretDB's `/debug/metrics`): the service folds a partition's run of "
        "organisation events at a time under one lock (`PROFILE_LOCK`): each organisation read "
        "once (the reads concurrent), each bucket read and written once per run, the new "
        "organisations inserted in one command, then matching's reconciliation once per "
        "organisation of the run; the writes are single-document commands one in flight at a "
        f"time, so its CPU and FerretDB's add up: {serial(watch, orgs_fold)}. With the "
        "records already on the topic (its consumer in a process of this "
        f"benchmark) the batch fold takes {batch.seconds:.1f} s and the same fold one event at "
        f"a time {one_by_one.seconds:.1f} s: the batch is "
        f"**{batch.rate / one_by_one.rate:.1f}×** as fast (commands per event "
        f"{per_event(batch.watch, n_orgs):.1f} against "
        f"{per_event(one_by_one.watch, n_orgs):.1f}).",
        "",
        "The service, organisation events:",
        "",
        *watch.cpu_lines(n_orgs),
        "",
        watch.commands_line(n_orgs),
        "",
        *watch.profile_lines("metrics", n_orgs, ORG_FOCUS),
        f"  Matching's reconciliation (`matching.organization_changed`: the organisation's "
        f"active matches and its answers, two filtered reads) {matching_part:.0%}.",
        *watch.ferretdb_lines(),
        "",
        "The service, encuentro events:",
        "",
        *encuentros_fold.watch.cpu_lines(n_enc),
        "",
        encuentros_fold.watch.commands_line(n_enc),
        "",
        *encuentros_fold.watch.profile_lines("metrics", n_enc, ENCUENTRO_FOCUS),
        *encuentros_fold.watch.ferretdb_lines(),
        "",
        f"Matching (`answer_stated`, for each `NeedsOffersStated`): {r['live_matching'].text()}; "
        "each new match is a document written with its `MatchFound` through the outbox (a "
        "marker upsert, the insert, then the relay's publish, marker delete and tidy-up).",
        "",
        "Its consumer with the database answered from memory (Python and Kafka only):",
        "",
        *memory.watch.cpu_lines(n_orgs),
        "",
        *memory.watch.profile_lines("consumer (memory)", n_orgs, ORG_FOCUS),
        "",
        "Its consumer in a process of this benchmark, the records already on the topic (the "
        "batch fold):",
        "",
        *batch.watch.cpu_lines(n_orgs),
        "",
        batch.watch.commands_line(n_orgs),
        "",
        *batch.watch.profile_lines(BATCH, n_orgs, ORG_FOCUS),
        f"  Matching's reconciliation {matching_share(batch.watch.stacks.get(BATCH)):.0%}.",
        *batch.watch.ferretdb_lines(),
        "",
        "The same, one event at a time (its batch handler given each event alone, applying "
        "its position, as the consumer does after a failed batch):",
        "",
        *one_by_one.watch.cpu_lines(n_orgs),
        "",
        one_by_one.watch.commands_line(n_orgs),
        "",
        *one_by_one.watch.profile_lines(PER_EVENT, n_orgs, ORG_FOCUS),
        f"  Matching's reconciliation "
        f"{matching_share(one_by_one.watch.stacks.get(PER_EVENT)):.0%}.",
        *one_by_one.watch.ferretdb_lines(),
    ]
    # rebuild
    extrapolated = 1_000_000 / rebuilt.rate
    after: MatchingState = r["rebuilt_matching"]
    replay_ms, live_ms = ferretdb_per_event(r)
    extra = (replay_ms - live_ms) * rebuilt.events / 1000
    extra_text = (
        f"{extra:.0f} s of FerretDB's CPU more in all, the reconciliations' scans of the "
        "matches stored by then (how many depends on the order in which the replay reads the "
        "topics)"
        if extra > 0.1 * rebuilt.reported_seconds
        else "about the same, so in this replay the matches came after most organisation "
        "events (it depends on the order in which it reads the topics)"
    )
    held = (
        f"the fold's, and {r['extra_events']:,} more organisation events: about what the fold "
        f"rate above folds in {r['rebuild_seconds']} s, `BENCH_METRICS_REBUILD_SECONDS`"
        if r["extra_events"]
        else f"the fold's: already more than the fold rate above folds in "
        f"{r['rebuild_seconds']} s, `BENCH_METRICS_REBUILD_SECONDS`"
    )
    lines += [
        "",
        "### `python -m services.metrics rebuild`",
        "",
        f"The service stopped, the topics holding {rebuilt.events:,} events ({held}), then "
        f"the command: {rebuilt.wall_seconds:.1f} s from start to exit, "
        f"{rebuilt.reported_seconds:.1f} s as it reports it (from its runtime's start: the "
        f"consumer group's join, the replay, {SETTLE:.0f} s of settling), "
        f"**{rebuilt.rate:.1f} events/s** without the settling; {rebuilt.checked}. "
        f"**1,000,000 events, extrapolated** at that rate (not measured): "
        f"{extrapolated / 3600:.1f} hours; and not linear, since some of the work per event "
        "grows with what is stored (below), besides the inbox's million claims.",
        "",
        f"The replay reads every topic at once, so organisation and encuentro events "
        "interleave, where the live fold above had every organisation before any encuentro "
        "(no match existed while it folded them). Matching's reconciliation of each "
        "organisation of a run (`matching.organization_changed`) reads the organisation's "
        "active matches and its answers with two filtered finds, each a scan of its collection "
        f"on FerretDB: after the rebuild {r['rebuilt_matching'].text()}; that is "
        f"{ms(after.active_find + after.answers_find)} ms per organisation once they are "
        f"there, against {1000 / r['orgs_fold'].rate:.0f} ms for the whole of one in the live "
        f"fold. In this replay FerretDB spent {replay_ms:.0f} ms of CPU per event, against "
        f"{live_ms:.0f} ms for the same mix of events in the live folds: {extra_text}.",
        "",
        *rebuilt.watch.cpu_lines(rebuilt.events),
        "",
        rebuilt.watch.commands_line(rebuilt.events),
        "",
        *rebuilt.watch.profile_lines("rebuild", rebuilt.events, REBUILD_FOCUS),
        *rebuilt.watch.ferretdb_lines(),
    ]
    # reads
    header = " | ".join(f"{s.organizations:,} organisations" for s in measured)
    lines += [
        "",
        "### Statistics reads by number of organisations",
        "",
        f"Projections seeded straight into a second metrics service's database (organisations "
        f"registered over the same {r['days']} days at each size, `BENCH_METRICS_DAYS`; "
        "`bench/metrics.py` says how), then each query "
        f"{len(measured[0].times[REGISTRY_READ])} times one after the other after a warm-up "
        f"(`BENCH_METRICS_READS`); p50 / p99 in ms. The encuentro: {r['read_people']} people "
        f"of {r['read_orgs']} organisations. Seeding took "
        + ", ".join(f"{s.seeded_seconds:.0f} s to {s.organizations:,}" for s in measured)
        + "; "
        + "; ".join(f"at {s.organizations:,}: {s.checked}" for s in measured)
        + ".",
        "",
        f"| query | {header} |",
        "|---|" + "---|" * len(measured),
        read_row(measured, REGISTRY_READ),
        read_row(measured, THEME_READ),
        read_row(measured, ENCUENTRO_READ),
        "| bucket documents (their BSON) | "
        + " | ".join(f"{s.buckets:,} ({s.bucket_bytes / 2**20:.1f} MiB)" for s in measured)
        + " |",
        "",
        "Their parts from this process (pymongo, the best of up to 3 within 2 s, ms):",
        "",
        f"| part | {header} |",
        "|---|" + "---|" * len(measured),
        part_row(measured, IN_FIND),
        part_row(measured, BY_ID),
        part_row(measured, DAYS_FIND),
        part_row(measured, DAYS_BY_ID),
        part_row(measured, TALLY_READ),
        "",
        f"**What bounds them** (the {measured[-1].organizations:,} reads; CPU from psutil):",
        "",
        *measured[-1].watch.cpu_lines(3 * repeats_of(measured[-1]), "request"),
        "",
        measured[-1].watch.commands_line(3 * repeats_of(measured[-1]), "request"),
        "",
        *measured[-1].watch.profile_lines("metrics", 3 * repeats_of(measured[-1]), what="request"),
        *measured[-1].watch.ferretdb_lines(),
    ]
    summary = summary_rows(r, measured)
    return Section(lines, summary)


def ferretdb_per_event(r: Mapping[str, Any]) -> tuple[float, float]:
    """FerretDB's CPU ms per event in the rebuild, and in the live folds for the same mix."""
    rebuilt: Rebuilt = r["rebuilt"]
    orgs, encuentros = r["orgs_fold"], r["encuentros_fold"]
    assert orgs.watch is not None and encuentros.watch is not None
    per_org = orgs.watch.cpu.get("ferretdb", 0.0) / orgs.count
    per_encuentro = encuentros.watch.cpu.get("ferretdb", 0.0) / encuentros.count
    live = r["rebuild_org_events"] * per_org + encuentros.count * per_encuentro
    replay = rebuilt.watch.cpu.get("ferretdb", 0.0)
    return replay / rebuilt.events * 1000, live / rebuilt.events * 1000


def repeats_of(size: Size) -> int:
    return len(size.times[REGISTRY_READ])


def summary_rows(r: Mapping[str, Any], measured: Sequence[Size]) -> list[str]:
    orgs_fold: Fold = r["orgs_fold"]
    raw_orgs: Fold = r["raw_orgs"]
    raw_orgs_db: Fold = r["raw_orgs_db"]
    memory: Fold = r["memory"]
    batch: Fold = r["batch"]
    one_by_one: Fold = r["one_by_one"]
    encuentros_fold: Fold = r["encuentros_fold"]
    raw_encuentros: Fold = r["raw_encuentros"]
    rebuilt: Rebuilt = r["rebuilt"]
    stored: MatchingState = r["rebuilt_matching"]
    replay_ms, live_ms = ferretdb_per_event(r)
    watch = orgs_fold.watch
    assert watch is not None
    first, last = measured[0], measured[-1]

    def p50(size: Size, name: str) -> str:
        return ms(percentile(size.times[name], 50))

    reads = "; ".join(
        f"{name.split(',')[0]} {p50(first, name)} → {p50(last, name)}"
        for name in (REGISTRY_READ, THEME_READ, ENCUENTRO_READ)
    )
    growth = {
        n: percentile(last.times[n], 50) / percentile(first.times[n], 50)
        for n in (REGISTRY_READ, THEME_READ, ENCUENTRO_READ)
    }
    growths = (
        ", ".join(
            f"{label} **{growth[n]:.1f}×**"
            for label, n in (("by=sector", REGISTRY_READ), ("by=theme", THEME_READ))
        )
        + f", encuentro {growth[ENCUENTRO_READ]:.1f}×"
    )
    flat = "flat: **not met** by the registry profile" if max(growth.values()) > 1.5 else "flat"
    return [
        f"| 8. metrics: {r['org_events']:,} organisation events → the registry profile "
        f"(then {r['encuentro_events']:,} encuentro events) | {orgs_fold.rate:.1f} events/s "
        f"(encuentros {encuentros_fold.rate:.1f}/s) | aiokafka consume: {raw_orgs.rate:,.0f}/s; "
        f"consume + `insert_many`: {raw_orgs_db.rate:,.0f}/s | "
        f"**{share(orgs_fold.rate / raw_orgs.rate)}**; "
        f"{share(orgs_fold.rate / raw_orgs_db.rate)} of consume + `insert_many` "
        f"(encuentros **{share(encuentros_fold.rate / raw_encuentros.rate)}**) | none set | "
        "a partition's run of organisation events at a time under one lock (each organisation "
        "read once, each bucket read and written once per run, new organisations in one "
        "insert, matching reconciled once per organisation), single-document round trips one "
        f"in flight at a time: {command_mix(watch, r['org_events'])}; "
        f"{serial(watch, orgs_fold)} (no match stored yet: see 9). Its consumer on the "
        "records already on the topic: batch "
        f"{batch.rate:.1f}/s ({per_event(batch.watch, r['org_events']):.1f} commands per "
        f"event), one event at a time {one_by_one.rate:.1f}/s "
        f"({per_event(one_by_one.watch, r['org_events']):.1f}): the batch "
        f"**{batch.rate / one_by_one.rate:.1f}×**; from memory "
        f"{memory.rate:,.0f}/s.{watch.disturbance()} |",
        f"| 9. metrics: `rebuild` of {rebuilt.events:,} events | {rebuilt.reported_seconds:.1f} s, "
        f"{rebuilt.rate:.1f} events/s; 1,000,000 events: **{1e6 / rebuilt.rate / 3600:.1f} h, "
        f"extrapolated** | aiokafka consume of the fold's records: {raw_orgs.rate:,.0f}/s | "
        f"**{share(rebuilt.rate / raw_orgs.rate)}** | none set | the fold above, replayed "
        f"({command_mix(rebuilt.watch, rebuilt.events)}; rebuild "
        f"{rebuilt.watch.cores('rebuild'):.2f} cores, FerretDB "
        f"{rebuilt.watch.cores('ferretdb'):.2f}). Once matches exist, matching's "
        "reconciliation of every organisation of a run scans them and the answers (two filtered "
        f"finds: {ms(stored.active_find + stored.answers_find)} ms with "
        f"{stored.matches:,} matches, where a whole organisation event took "
        f"{1000 / orgs_fold.rate:.0f} ms in the live fold); here FerretDB "
        f"{replay_ms:.0f} ms of CPU per event against {live_ms:.0f} ms for the same events "
        f"live.{rebuilt.watch.disturbance()} |",
        f"| 10. metrics: statistics reads, {first.organizations:,} → {last.organizations:,} "
        f"organisations | p50 ms: {reads} | their parts from this process at "
        f"{last.organizations:,}: the buckets' `$in` find {ms(last.parts[IN_FIND])} ms, the "
        f"date range's find {ms(last.parts[DAYS_FIND])} ms | p50 at {last.organizations:,} / "
        f"at {first.organizations:,}: {growths} | {flat} | the bucket documents, "
        f"not the organisations: {first.buckets:,} → {last.buckets:,} buckets, and on FerretDB "
        f"both registry reads scan every bucket (`by_ids` is a `$in` on `_id`; three reads by "
        f"`_id` take {ms(last.parts[BY_ID])} ms); the encuentro's figures read its "
        f"{r['read_orgs']} organisations one by one.{last.watch.disturbance()} |",
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child_main(sys.argv[1:])
    else:
        section = main()
        print("\n".join([*section.summary, "", *section.lines]))
