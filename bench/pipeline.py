"""Figure 1, the pipeline: outbox relay → Kafka → one consuming service's projection, against
raw aiokafka produce → consume → `insert_many` of the same records into the same FerretDB.

Ours: a relay process (`python -m bench.pipeline relay`) writes N pings with the real
`OutboxWriter` (marker upsert, then the document with its outbox entry) into a database of
its own prefix; the writer hints its `OutboxRelay` as in the registry, but the relay is not
running yet, so the N hints (entries in memory, their markers newly created) wait. On "go" it
runs `OutboxRelay.publish_hinted`, the relay's hot path in a live registry: batches of 500
sent with one wait for the acknowledgements, and one `delete_many` of their markers. This is
an `OutboxRelay` in a process of the benchmark rather than a registry: a registry would only
find documents written behind its back through its marker pass (a read of each document and
an update removing each entry), the path after a crash, not the path of every write. The
consumer is a real events service process (`python -m services.events`) on the same prefix,
whose subscription has the batch ping projection (`shared/pings.py`): decode, one inbox claim
per poll, one `insert_many` of the pings per partition, one completion, commit. Timed from
"go" until the events service has applied all N (its `/metrics`).

Raw: the same N records (the relay's CloudEvents bytes) sent by a plain idempotent acks=all
aiokafka producer in its own process (all sends, then one wait), read by a consumer group in
another process that builds the same projection documents and `insert_many`s each poll into
the same FerretDB, committing per batch. Timed from "go" until the consumer inserted all N.

Also, the project's code where the database is not the limit: the same relay and the same
`ReliableConsumer` with the projection, their database calls answered by an in-memory
stand-in (`MemoryDatabase`): Python and Kafka only.

Settings: ``BENCH_PIPELINE_EVENTS`` (5000, at most 10,000: the relay's hint limit),
``BENCH_PIPELINE_ROUNDS`` (3; each round runs raw then ours; the summary gives the median
ratio).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, cast

import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from bench.common import ROOT, Section, process_pids
from bench.profile import Watch
from bench.registry import free_port
from shared.storage.repository import APPLIED

LOG_DIR = ROOT / ".local" / "log" / os.environ.get("ARTICULA_INSTANCE", "bench")
BATCH = 500  # the consumers' max records per poll (the services' default batch)
PROTOCOL = "@bench "  # a child's messages to the parent; its other output (logs) is skipped


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


# --- an in-memory stand-in for the database ----------------------------------------------------


class _Result:
    def __init__(self, upserted_id: Any = None, matched_count: int = 1) -> None:
        self.upserted_id = upserted_id
        self.matched_count = matched_count
        self.deleted_count = 0


class MemoryCollection:
    """Just what the outbox, the inbox and the ping projection call, answered from a dict."""

    def __init__(self) -> None:
        self.docs: dict[Any, dict[str, Any]] = {}
        self.inserted = asyncio.Event()

    async def insert_one(self, doc: dict[str, Any]) -> _Result:
        self.docs[doc["_id"]] = doc
        self.inserted.set()
        return _Result()

    async def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> _Result:
        for doc in docs:
            self.docs[doc["_id"]] = doc
        self.inserted.set()
        return _Result()

    async def update_one(
        self, query: dict[str, Any], update: dict[str, Any], upsert: bool = False
    ) -> _Result:
        doc_id = query["_id"]
        created = doc_id not in self.docs
        doc = self.docs.setdefault(doc_id, {"_id": doc_id})
        doc.update(update.get("$set", {}))
        return _Result(doc_id if created else None)

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return self.docs.get(query["_id"])

    async def delete_many(self, query: dict[str, Any]) -> _Result:
        """The relay's marker delete: `{_id: {$in: ids}, stamp: {$in: stamps}}`."""
        stamps = set(query["stamp"]["$in"])
        for doc_id in query["_id"]["$in"]:
            if self.docs.get(doc_id, {}).get("stamp") in stamps:
                del self.docs[doc_id]
        return _Result()


class MemoryDatabase:
    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.collections.setdefault(name, MemoryCollection())


# --- child processes ---------------------------------------------------------------------------


def _say(**fields: Any) -> None:
    print(PROTOCOL + json.dumps(fields), flush=True)


async def _wait_line(expected: str) -> None:
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != expected:
        raise SystemExit(f"expected {expected!r}, got {line!r}")


def _settings(service: str) -> Any:
    from services.events.settings import EventsSettings
    from services.registry.settings import RegistrySettings

    return RegistrySettings() if service == "registry" else EventsSettings()


def _relay_class() -> type[Any]:
    """The relay, timing its marker deletes (which run while the next batch is sent)."""
    from shared.storage.relay import OutboxRelay

    class TimedRelay(OutboxRelay):
        clear_seconds = 0.0

        async def _clear_markers(self, publications: list[Any]) -> None:
            started = time.perf_counter()
            await super()._clear_markers(publications)
            self.clear_seconds += time.perf_counter() - started

    return TimedRelay


async def relay_child(count: int, variant: str) -> None:
    """Write `count` pings through the outbox writer, then publish them on "go"."""
    from services.registry.application import ping
    from services.registry.storage.pings import PINGS
    from services.registry.storage.unit_of_work import RegistryUnitOfWork
    from shared.kafka.clients import create_producer, ensure_topics
    from shared.storage.locks import DocumentLocks
    from shared.storage.mongo import create_client, service_database
    from shared.storage.outbox import OutboxWriter, filters_are_atomic

    settings = _settings("registry")
    client = create_client(settings)
    db: Any = MemoryDatabase() if variant == "memory" else service_database(client, settings)
    locks = DocumentLocks()
    # As `shared.runtime` settles it at start-up: False on FerretDB (the memory stand-in takes
    # the MongoDB path, whose calls it answers).
    atomic = True if variant == "memory" else await filters_are_atomic(client)
    relay = _relay_class()(settings, db, [PINGS], locks)
    writer = OutboxWriter(db, settings, locks, relay=relay, atomic_filters=atomic)
    semaphore = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with semaphore:
            await ping(RegistryUnitOfWork(writer), f"bench-pipeline-{i}", datetime.now(UTC))

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    written = time.perf_counter() - started
    await ensure_topics(settings)
    producer = create_producer(settings)
    await producer.start()
    _say(ready=True, written_seconds=written, hints=relay.pending_hints)
    await _wait_line("go")
    started = time.perf_counter()
    published = await relay.publish_hinted(producer)
    seconds = time.perf_counter() - started
    _say(done=True, published=published, seconds=seconds, markers_seconds=relay.clear_seconds)
    await asyncio.to_thread(sys.stdin.read)  # until the parent is done profiling
    await producer.stop()
    await client.close()


def _records(count: int) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
    """The CloudEvents records the relay would send for `count` pings: (topic suffix, key,
    value, headers)."""
    from services.registry.domain.pings import send_ping
    from shared.storage.outbox import outbox_entries
    from shared.storage.relay import entry_record

    settings = _settings("registry")
    records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []
    for i in range(count):
        _, event = send_ping(f"bench-pipeline-{i}", datetime.now(UTC))
        for event_id, entry in outbox_entries([event], settings).items():
            record = entry_record(event_id, entry)
            assert record.value is not None  # an event, never a tombstone
            records.append(("", record.key, record.value, record.headers))
    return records


async def raw_producer_child(topic: str, count: int) -> None:
    records = _records(count)
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=True, acks="all"
    )
    await producer.start()
    _say(ready=True)
    await _wait_line("go")
    started = time.perf_counter()
    futures = [
        await producer.send(topic, value=value, key=key, headers=headers)
        for _, key, value, headers in records
    ]
    await asyncio.gather(*futures)
    _say(done=True, published=len(futures), seconds=time.perf_counter() - started)
    await asyncio.to_thread(sys.stdin.read)
    await producer.stop()


def _projection_document(record: Any, now: datetime) -> dict[str, Any]:
    """What `shared.pings.record_pings` writes for a ping, from the raw record."""
    data = json.loads(record.value)
    return {
        "_id": data["ping_id"],
        "message": data["message"],
        "sent_at": datetime.fromisoformat(data["sent_at"]),
        "received_at": now,
        "times_applied": 1,
        APPLIED: [{"partition": f"{record.topic}#{record.partition}", "offset": record.offset}],
    }


def _record_document(record: Any, now: datetime) -> dict[str, Any]:
    """Any CloudEvents record as one document: its id, its data, where it was read."""
    headers = dict(record.headers or ())
    return {
        "_id": headers["ce_id"].decode(),
        "data": json.loads(record.value),
        "received_at": now,
        APPLIED: [{"partition": f"{record.topic}#{record.partition}", "offset": record.offset}],
    }


# What the raw consumer writes per poll: "pings", the ping projection (figure 1); "records",
# a document per record (`_record_document`); "none", nothing (Kafka consume alone).
RAW_DOCUMENTS = {"pings": _projection_document, "records": _record_document}


async def raw_consumer_child(topic: str, database: str, count: int, kind: str = "pings") -> None:
    """Consume `count` records of `topic` with a consumer group committing per poll, and
    `insert_many` each poll's documents (`kind`, see RAW_DOCUMENTS). Records already on the
    topic when it starts count too; `seconds` in its "done" runs from the first poll that
    returned records to the last insert."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        group_id=f"{topic}.group" if kind == "pings" else f"{topic}.{kind}.group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        os.environ["MONGODB_URL"], tz_aware=True
    )
    collection = mongo[database]["received_pings" if kind == "pings" else "received_records"]
    document = RAW_DOCUMENTS.get(kind)
    await consumer.start()
    inserted = 0
    started = None

    async def handle(batches: dict[Any, list[Any]]) -> None:
        nonlocal inserted, started
        if not batches:
            return
        started = started or time.perf_counter()
        records = [r for records in batches.values() for r in records]
        if document is not None:
            now = datetime.now(UTC)
            await collection.insert_many([document(r, now) for r in records], ordered=False)
        await consumer.commit()
        inserted += len(records)

    while not consumer.assignment():
        await handle(await consumer.getmany(timeout_ms=100))
    _say(ready=True)
    while inserted < count:
        await handle(await consumer.getmany(timeout_ms=500, max_records=BATCH))
    seconds = time.perf_counter() - started if started is not None else 0.0
    _say(done=True, inserted=inserted, seconds=seconds)
    await consumer.stop()
    await mongo.close()


async def memory_consumer_child(count: int) -> None:
    """The events service's consumer (same subscription, same `ReliableConsumer`), with its
    inbox and projection writing to memory."""
    from services.events.consumers import subscription
    from shared.kafka.consumer import ReliableConsumer
    from shared.storage.inbox import Inbox
    from shared.storage.locks import DocumentLocks
    from shared.storage.outbox import OutboxWriter
    from shared.storage.repository import UnitOfWork

    settings = _settings("events")
    db: Any = MemoryDatabase()
    writer = OutboxWriter(db, settings, DocumentLocks())
    consumer = ReliableConsumer(
        settings, subscription, Inbox(db), lambda applying: UnitOfWork(writer, applying=applying)
    )
    task = asyncio.create_task(consumer.run_forever())
    await consumer.assigned.wait()
    _say(ready=True)
    pings = db["received_pings"]
    while len(pings.docs) < count:
        pings.inserted.clear()
        await pings.inserted.wait()
    _say(done=True, inserted=len(pings.docs))
    task.cancel()


def child_main(argv: list[str]) -> None:
    role = argv[0]
    if role == "relay":
        uvloop.run(relay_child(int(argv[1]), argv[2] if len(argv) > 2 else "as-is"))
    elif role == "raw-producer":
        uvloop.run(raw_producer_child(argv[1], int(argv[2])))
    elif role == "raw-consumer":
        uvloop.run(raw_consumer_child(argv[1], argv[2], int(argv[3]), *argv[4:5]))
    elif role == "memory-consumer":
        uvloop.run(memory_consumer_child(int(argv[1])))
    else:
        raise SystemExit(f"unknown role {role}")


# --- the parent --------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read(self, key: str, timeout: float = 900) -> dict[str, Any]:
        """The child's next JSON line that has `key` (stdout is line-buffered JSON)."""
        deadline = time.monotonic() + timeout
        stdout = cast(IO[str], self.proc.stdout)
        while time.monotonic() < deadline:
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited (see {LOG_DIR}/bench-{self.name}.log)")
            if not line.startswith(PROTOCOL):
                continue
            message = json.loads(line.removeprefix(PROTOCOL))
            if key in message:
                return cast(dict[str, Any], message)
        raise TimeoutError(f"{self.name}: no {key} within {timeout} s")

    def send(self, line: str) -> None:
        stdin = cast(IO[str], self.proc.stdin)
        stdin.write(line + "\n")
        stdin.flush()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(10)


def _environment(prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "ARTICULA_TOPIC_PREFIX": f"{prefix}.",
        "ARTICULA_DATABASE_PREFIX": f"{prefix}_",
        "ARTICULA_OUTBOX_SCAN_SECONDS": "3600",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def child(
    name: str,
    args: list[str],
    prefix: str,
    module: str = "bench.pipeline",
    env: dict[str, str] | None = None,
) -> Iterator[Child]:
    """`python -m module *args` on the prefix (`env` added to its environment), speaking the
    `@bench` protocol on stdout."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / f"bench-{name}.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**_environment(prefix), **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        handle = Child(name, proc)
        try:
            yield handle
        finally:
            if proc.poll() is None:
                handle.close()


@contextmanager
def events_service(prefix: str) -> Iterator[tuple[int, str]]:
    """A real events service on the prefix: (pid, base URL), once its partitions are assigned."""
    port = free_port()
    env = {**_environment(prefix), "EVENTS_PORT": str(port), "EVENTS_HOST": "127.0.0.1"}
    with (LOG_DIR / "bench-events.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.events"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while consumer_metric(url, "articula_consumer_assigned_partitions") < 1:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"events service not ready; see {LOG_DIR}/bench-events.log")
            time.sleep(0.2)
        yield proc.pid, url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any], seconds: float = 15) -> None:
    """SIGTERM, then SIGKILL after `seconds` (as `deploy/stack.sh` stops a service: a service
    whose consumer was busy may take longer than that to leave its group)."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def consumer_metric(url: str, name: str, outcome: str | None = None) -> float:
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and (outcome is None or f'outcome="{outcome}"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _create_topic(topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])  # as articula.system.v1
    finally:
        await admin.close()


@dataclass
class Run:
    name: str
    count: int
    seconds: float
    watch: Watch
    publish_seconds: float = 0.0
    markers_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def infrastructure() -> dict[str, int]:
    return {n: p for n, p in process_pids().items() if n in ("ferretdb", "kafka")}


def ours(
    count: int, prefix: str, events: tuple[int, str], profile: bool, variant: str = "as-is"
) -> Run:
    events_pid, events_url = events
    before = consumer_metric(events_url, "articula_consumer_messages_processed_total", "applied")
    with child("relay", ["relay", str(count), variant], prefix) as relay:
        relay.read("ready")
        pids = {"relay": relay.pid, "events": events_pid, **infrastructure()}
        watch = Watch(pids, ["relay", "events"] if profile else (), 8 if profile else 0)
        with watch.running():
            started = time.perf_counter()
            relay.send("go")
            deadline = started + 600
            while (
                consumer_metric(events_url, "articula_consumer_messages_processed_total", "applied")
                - before
                < count
            ):
                if time.perf_counter() > deadline:
                    raise TimeoutError("the events service did not apply every ping")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
        published = relay.read("done")
    return Run(
        f"ours ({variant})",
        count,
        seconds,
        watch,
        published["seconds"],
        published["markers_seconds"],
    )


def raw(count: int, prefix: str, round_number: int, profile: bool) -> Run:
    topic = f"{prefix}.raw.{round_number}"
    asyncio.run(_create_topic(topic))
    args = ["raw-consumer", topic, f"{prefix}_raw", str(count)]
    with (
        child("raw-consumer", args, prefix) as consumer,
        child("raw-producer", ["raw-producer", topic, str(count)], prefix) as producer,
    ):
        consumer.read("ready")
        producer.read("ready")
        pids = {"producer": producer.pid, "consumer": consumer.pid, **infrastructure()}
        watch = Watch(pids, ["producer", "consumer"] if profile else (), 4 if profile else 0)
        with watch.running():
            started = time.perf_counter()
            producer.send("go")
            consumer.read("done")
            seconds = time.perf_counter() - started
        published = producer.read("done")
    return Run("raw", count, seconds, watch, published["seconds"])


def in_memory(count: int, prefix: str, profile: bool) -> Run:
    with (
        child("memory-consumer", ["memory-consumer", str(count)], prefix) as consumer,
        child("relay", ["relay", str(count), "memory"], prefix) as relay,
    ):
        consumer.read("ready")
        relay.read("ready")
        pids = {"relay": relay.pid, "consumer": consumer.pid, "kafka": infrastructure()["kafka"]}
        watch = Watch(pids, ["relay", "consumer"] if profile else ())
        with watch.running():
            started = time.perf_counter()
            relay.send("go")
            consumer.read("done")
            seconds = time.perf_counter() - started
        published = relay.read("done")
    return Run("memory", count, seconds, watch, published["seconds"], published["markers_seconds"])


def pipeline_reading(pending: int) -> list[str]:
    return [
        f"Why: on FerretDB any filter but a bare `_id` reads every document of the collection, "
        f"and the markers collection holds every pending marker ({pending:,} when the drain "
        "starts). The relay deletes each batch's markers with one `delete_many({_id: {$in: "
        "ids}, stamp: {$in: stamps}})` (a stamp is a fresh uuid4 per write, so it names one "
        "marker), while it sends the next batch: one scan of every pending marker per batch "
        "of 500, each compared with the 500 ids, so the drain costs FerretDB about pending² / "
        "2 comparisons. Deleting each marker by `_id` (indexed) costs more here: about 1.4 ms "
        "of FerretDB per command against 0.3 ms per marker for the scan at 3,000 pending; "
        "fewer, larger deletes do not help (pending × batch however it is split). In steady "
        "use few markers are pending and the scan is short (section 3). The in-memory row "
        "bounds what the Python side allows.",
    ]


def main() -> Section:
    count = min(_env_int("BENCH_PIPELINE_EVENTS", 3000), 10_000)
    rounds = _env_int("BENCH_PIPELINE_ROUNDS", 3)
    prefix = f"bp{uuid.uuid4().hex[:6]}"
    runs: list[tuple[Run, Run]] = []
    with events_service(prefix) as events:
        warm = min(count, 500)
        ours(warm, prefix, events, profile=False)  # warm-up: topics, collections, group
        raw(warm, prefix, 0, profile=False)
        for n in range(1, rounds + 1):
            last = n == rounds  # profiles are taken in the last round only
            baseline = raw(count, prefix, n, profile=last)
            project = ours(count, prefix, events, profile=last)
            runs.append((baseline, project))
    memory = in_memory(count, f"bm{uuid.uuid4().hex[:6]}", profile=True)
    baseline, project = runs[-1]
    ratios = sorted(p.rate / b.rate for b, p in runs)
    median_ratio = ratios[len(ratios) // 2]
    lines = [
        "## 1. Pipeline: outbox relay → Kafka → a service's projection, vs raw aiokafka",
        "",
        f"{count:,} pings already written with their outbox entries and markers "
        "(`BENCH_PIPELINE_EVENTS`), then published: events/s from the first publish until the "
        "consuming service has written the last projection document. Raw: the same records "
        "from a plain idempotent acks=all aiokafka producer, a consumer group committing per "
        "poll and one `insert_many` of the same projection documents per poll into the same "
        "FerretDB. Ours: `OutboxRelay.publish_hinted` (the relay's hot path, in a process of "
        "the benchmark that wrote the pings with the real `OutboxWriter`) → Kafka → a real "
        "events service process (`bench/pipeline.py` says why). Each process alone in its "
        f"event loop (uvloop); after a warm-up of {warm}; {rounds} rounds, raw first.",
        "",
        "| round | raw: produce → consume → `insert_many` | ours: relay → Kafka → events "
        "service | ratio (goal ≥ 0.5) | raw producer: all acks | relay: all published "
        "(of which deleting markers, overlapped with the sends) |",
        "|---|---|---|---|---|---|",
    ]
    for n, (b, p) in enumerate(runs, 1):
        lines.append(
            f"| {n} | {b.rate:.0f} events/s ({b.seconds:.1f} s) | {p.rate:.0f} events/s "
            f"({p.seconds:.1f} s) | **{p.rate / b.rate:.2f}** | {b.publish_seconds:.1f} s | "
            f"{p.publish_seconds:.1f} s ({p.markers_seconds:.1f} s) |"
        )
    lines += [
        f"| the project's code, database answered from memory | | {memory.rate:.0f} events/s "
        f"({memory.seconds:.1f} s) | {memory.rate / baseline.rate:.2f} | | "
        f"{memory.publish_seconds:.1f} s ({memory.markers_seconds:.1f} s) |",
        "",
        f"Ratio as the code is: {min(ratios):.2f}–{max(ratios):.2f}, median {median_ratio:.2f}.",
        "",
        "**What bounds it** (last round; CPU from psutil, profiles from py-spy and FerretDB's "
        "pprof, commands from FerretDB's `/debug/metrics`):",
        "",
        "Raw:",
        "",
        *baseline.watch.cpu_lines(count),
        "",
        baseline.watch.commands_line(count),
        "",
        *baseline.watch.profile_lines("consumer", count, ["_projection_document"]),
        *baseline.watch.profile_lines("producer", count),
        *baseline.watch.ferretdb_lines(),
        "",
        "Ours, as the code is:",
        "",
        *project.watch.cpu_lines(count),
        "",
        project.watch.commands_line(count),
        "",
        *project.watch.profile_lines(
            "events",
            count,
            ["BatchProcessor._decode", "Inbox.claim", "record_pings", "Inbox.complete"],
        ),
        *project.watch.profile_lines(
            "relay", count, ["OutboxRelay._publish", "OutboxRelay._clear_markers", "to_record"]
        ),
        *project.watch.ferretdb_lines(),
        "",
        "The project's code with the database in memory (Python and Kafka only):",
        "",
        *memory.watch.cpu_lines(count),
        "",
        *memory.watch.profile_lines(
            "consumer", count, ["BatchProcessor._decode", "from_record", "BatchProcessor.process"]
        ),
        *memory.watch.profile_lines("relay", count, ["OutboxRelay._publish", "to_record"]),
    ]
    profile = project.watch.ferretdb
    delete_share = tracking_share = 0.0
    if profile is not None and profile.total:
        delete_share = profile.by_command.get("Delete", 0.0) / profile.total
        tracking = "FerretDB: resource tracking (a stack trace per iterator)"
        tracking_share = profile.by_layer.get(tracking, 0.0) / profile.total
    if delete_share >= 0.5:
        bound = (
            "FerretDB scanning the pending markers for the relay's marker deletes (one "
            "`$in`/`$in` `delete_many` per batch of 500, each a scan of every pending marker): "
            f"{project.watch.cores('ferretdb'):.2f} cores, {delete_share:.0%} of its CPU in "
            f"deletes, {tracking_share:.0%} in its stack trace per document iterator"
        )
    else:
        bound = (
            f"no process saturated: FerretDB {project.watch.cores('ferretdb'):.2f} cores "
            f"({project.watch.ferretdb_top(2)}), events service "
            f"{project.watch.cores('events'):.2f}, relay {project.watch.cores('relay'):.2f}: "
            "waits in sequence (each relay batch: sends, acknowledgements, marker delete)"
        )
    lines += ["", *pipeline_reading(count)]
    summary = [
        f"| 1. pipeline: {count:,} written pings → relay → Kafka → events service's projection "
        f"(last round) | {project.rate:.0f} events/s | aiokafka produce → consume → "
        f"`insert_many`: {baseline.rate:.0f} events/s | **{median_ratio:.2f}** (median of "
        f"{len(runs)}) | ≥ 0.5 | {bound}; the relay's marker deletes took "
        f"{project.markers_seconds:.1f} s of its {project.publish_seconds:.1f} s (overlapped "
        f"with its sends). The same code with the database in memory {memory.rate:.0f} events/s "
        f"({memory.rate / baseline.rate:.2f}).{project.watch.disturbance()}"
        f"{baseline.watch.disturbance()} |"
    ]
    return Section(lines, summary)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child_main(sys.argv[1:])
    else:
        print("\n".join(main().lines))
