"""One contract for the delivery machinery, run against both code paths on the real database.

After pyeventsourcing's habit: the same tests run once per backend. Here the backends are the
two ways `OutboxWriter` does a compare-and-set: in the update's filter (`atomic_filters=True`,
what production's MongoDB runs) and as a read by `_id` compared under the document's lock
(`atomic_filters=False`, what FerretDB needs). Both run on the FerretDB of `make test`, so the
MongoDB path's queries and updates are exercised for real. The concurrency cases run only where
the backend guarantees them: the filter path is atomic on MongoDB, not on FerretDB (whose
filtered updates read, compare in Go and write back), so there they run on the lock path.

The relay cases publish to the real broker under a topic prefix of their own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain.pings import Ping, send_ping
from services.registry.storage.pings import PINGS, PingRepository
from shared.events.base import Tombstone
from shared.events.pings import SystemPingSent
from shared.events.registry import ContactPublished
from shared.events.topics import Topic, topic_name
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import TOMBSTONE_ID, TOMBSTONE_SOURCE, headers_dict
from shared.settings import ServiceSettings
from shared.storage.inbox import Inbox, new_batch_id
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document
from shared.storage.outbox import MARKERS, OUTBOX, STAMP, TOMBSTONE, OutboxWriter
from shared.storage.relay import OutboxRelay
from shared.storage.repository import (
    APPLIED,
    ConcurrentModification,
    DocumentRepository,
    Position,
    UnitOfWork,
)
from tests.harness.kafka import read_topic_async
from tests.harness.processes import KAFKA, MONGODB_URL

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Counter:
    """A tiny aggregate for the repository contract: a count and who last changed it."""

    id: str
    count: int
    note: str | None = None


class CounterRepository(DocumentRepository[Counter]):
    collection_name = "counters"

    def to_document(self, entity: Counter) -> Document:
        return {"_id": entity.id, "count": entity.count, "note": entity.note}

    def from_document(self, doc: Document) -> Counter:
        return Counter(id=doc["_id"], count=doc["count"], note=doc.get("note"))


@dataclass
class Backend:
    db: AsyncDatabase[Document]
    settings: ServiceSettings
    locks: DocumentLocks
    relay: OutboxRelay
    writer: OutboxWriter
    atomic_filters: bool

    def unit_of_work(self, applying: Position | None = None) -> UnitOfWork:
        return UnitOfWork(self.writer, applying=applying)


@pytest.fixture(params=[True, False], ids=["filter-compare-and-set", "locked-compare-and-set"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    tag = uuid.uuid4().hex[:8]
    settings = ServiceSettings(
        service_name="registry",
        topic_prefix=f"c{tag}.",
        kafka_bootstrap_servers=KAFKA,
        mongodb_url=MONGODB_URL,
    )
    client: AsyncMongoClient[Document] = AsyncMongoClient(MONGODB_URL, tz_aware=True)
    db = client[f"c{tag}_contract"]
    locks = DocumentLocks()
    relay = OutboxRelay(settings, db, [PINGS, "counters"], locks)
    writer = OutboxWriter(db, settings, locks, relay=relay, atomic_filters=request.param)
    try:
        yield Backend(db, settings, locks, relay, writer, request.param)
    finally:
        await client.drop_database(db.name)
        await client.close()


async def started_producer(backend: Backend) -> Any:
    """The relay's producer, as its `run_forever` would start it."""
    await ensure_topics(backend.settings, [Topic.SYSTEM])
    producer = create_producer(backend.settings)
    await producer.start()
    return producer


def counted(message: str) -> SystemPingSent:
    """An event of the counter `c1`: one record key, so one partition and one order."""
    return SystemPingSent(ping_id="c1", message=message, sent_at=NOW)


def ping(message: str = "hola") -> tuple[Ping, SystemPingSent]:
    return send_ping(message, NOW)


# --- the writer --------------------------------------------------------------------------------


async def test_an_insert_carries_its_events_and_leaves_a_marker(backend: Backend) -> None:
    sent, event = ping()
    assert await PingRepository(backend.unit_of_work()).add(sent, [event])
    doc = await backend.db[PINGS].find_one({"_id": sent.id})
    assert doc is not None and doc["version"] == 1
    ((entry),) = doc[OUTBOX].values()
    assert entry["type"] == event.ce_type() and entry["key"] == sent.id
    marker = await backend.db[MARKERS].find_one({"_id": f"{PINGS}:{sent.id}"})
    assert marker is not None and marker["stamp"] == doc[STAMP]
    assert backend.relay.pending_hints == 1


async def test_a_write_without_events_leaves_no_marker_and_no_outbox(backend: Backend) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0))
    await repo.save(Counter("c1", 1), 1)
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and doc["count"] == 1 and doc["version"] == 2
    assert OUTBOX not in doc and STAMP not in doc
    assert await backend.db[MARKERS].count_documents({}) == 0
    assert backend.relay.pending_hints == 0


async def test_entries_are_ordered_by_the_version_that_wrote_them(backend: Backend) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0), [counted("uno"), counted("dos")])
    await repo.save(Counter("c1", 1), 1, [counted("tres")])
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None
    order = sorted(doc[OUTBOX].values(), key=lambda entry: entry["seq"])
    assert [entry["data"]["message"] for entry in order] == ["uno", "dos", "tres"]
    assert [entry["seq"] for entry in order] == [10_000, 10_001, 20_000]  # not a clock


async def test_a_compare_and_set_on_a_moved_version_writes_nothing(backend: Backend) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0), [ping()[1]])
    found = await repo.get("c1")
    assert found is not None and found.version == 1
    saved = await repo.save(Counter("c1", 1), found.version, [ping("uno")[1]])
    assert saved is not None and saved.version == 2
    with pytest.raises(ConcurrentModification):
        await repo.save(Counter("c1", 99), found.version, [ping("perdido")[1]])
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and doc["count"] == 1 and doc["version"] == 2
    messages = {e["data"]["message"] for e in doc[OUTBOX].values()}
    assert "perdido" not in messages


async def test_a_write_after_publication_replaces_the_outbox_and_one_before_adds_to_it(
    backend: Backend,
) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0), [ping("creado")[1]])
    found = await repo.get("c1")
    assert found is not None
    await repo.save(Counter("c1", 1), found.version, [ping("antes")[1]])
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None
    assert {e["data"]["message"] for e in doc[OUTBOX].values()} == {"creado", "antes"}

    await backend.db[MARKERS].delete_one({"_id": "counters:c1"})  # as the relay does once sent
    await repo.save(Counter("c1", 2), 2, [ping("despues")[1]])
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None
    assert {e["data"]["message"] for e in doc[OUTBOX].values()} == {"despues"}


async def test_concurrent_compare_and_sets_on_one_version_let_exactly_one_win(
    backend: Backend,
) -> None:
    if backend.atomic_filters:
        pytest.skip("filtered updates are atomic on MongoDB only; FerretDB runs the lock path")
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0))

    async def attempt(n: int) -> bool:
        try:
            await CounterRepository(backend.unit_of_work()).save(Counter("c1", n), 1)
            return True
        except ConcurrentModification:
            return False

    results = await asyncio.gather(*(attempt(n) for n in range(1, 11)))
    assert results.count(True) == 1
    found = await repo.get("c1")
    assert found is not None and found.version == 2


# --- apply and emit: a handler's write records the event it applies ----------------------------


async def test_a_handler_creating_a_document_applies_an_event_once(backend: Backend) -> None:
    at = Position("t.articula.system.v1#0", 7)
    first = CounterRepository(backend.unit_of_work(applying=at))
    assert await first.add(Counter("c1", 1), [ping("efecto")[1]])
    again = CounterRepository(backend.unit_of_work(applying=at))
    assert not await again.add(Counter("c1", 1), [ping("efecto")[1]])  # redelivered: no-op
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and len(doc[OUTBOX]) == 1
    assert doc[APPLIED] == [{"partition": at.partition, "offset": 7}]
    other = CounterRepository(backend.unit_of_work(applying=Position(at.partition, 8)))
    with pytest.raises(Exception, match="duplicate key"):
        await other.add(Counter("c1", 5))  # a different event meeting an existing id


async def test_a_handler_updating_a_document_applies_each_event_once_and_emits_with_it(
    backend: Backend,
) -> None:
    await CounterRepository(backend.unit_of_work()).add(Counter("c1", 0))
    partition = "t.articula.registry.organizations.v1#2"

    async def handle(offset: int) -> bool:
        repo = CounterRepository(backend.unit_of_work(applying=Position(partition, offset)))
        found = await repo.get("c1")
        assert found is not None
        if found.already_applied:
            return False
        counter = found.entity
        saved = await repo.save(
            Counter(counter.id, counter.count + 1), found.version, [ping(f"n{offset}")[1]]
        )
        return saved is not None

    assert await handle(10)
    assert not await handle(10)  # the same delivery again (a crash before the commit)
    assert not await handle(9)  # an earlier one of the same partition: applied before
    assert await handle(11)
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and doc["count"] == 2 and doc["version"] == 3
    assert doc[APPLIED] == [{"partition": partition, "offset": 11}]
    assert {e["data"]["message"] for e in doc[OUTBOX].values()} >= {"n10", "n11"}


async def test_a_handler_saves_only_what_it_read(backend: Backend) -> None:
    await CounterRepository(backend.unit_of_work()).add(Counter("c1", 0))
    repo = CounterRepository(backend.unit_of_work(applying=Position("t#0", 1)))
    with pytest.raises(RuntimeError):
        await repo.save(Counter("c1", 1), 1)


async def test_positions_of_other_partitions_are_kept(backend: Backend) -> None:
    await CounterRepository(backend.unit_of_work()).add(Counter("c1", 0))
    for partition, offset in (("a#0", 3), ("b#1", 5), ("a#0", 4)):
        repo = CounterRepository(backend.unit_of_work(applying=Position(partition, offset)))
        found = await repo.get("c1")
        assert found is not None
        await repo.save(Counter("c1", found.entity.count + 1), found.version)
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and doc["count"] == 3
    assert doc[APPLIED] == [{"partition": "a#0", "offset": 4}, {"partition": "b#1", "offset": 5}]


# --- the inbox ---------------------------------------------------------------------------------


async def test_the_inbox_claims_new_events_and_skips_completed_ones(backend: Backend) -> None:
    inbox = Inbox(backend.db)
    first = new_batch_id()
    assert await inbox.claim(first, ["a", "b", "b"]) == {"a", "b"}
    assert await inbox.claim(first, ["a", "b"]) == {"a", "b"}  # the same batch, claimed again
    await inbox.complete(first, dead_lettered=["b"])
    await inbox.complete(first)  # completing twice is harmless
    assert await inbox.claim(new_batch_id(), ["a", "b", "c"]) == {"c"}


async def test_the_inbox_hands_back_events_of_a_batch_that_died(backend: Backend) -> None:
    inbox = Inbox(backend.db)
    died = new_batch_id()
    assert await inbox.claim(died, ["a", "b"]) == {"a", "b"}
    retry = new_batch_id()
    assert await inbox.claim(retry, ["a", "b", "c"]) == {"a", "b", "c"}
    await inbox.complete(retry)
    assert await inbox.claim(new_batch_id(), ["a", "b", "c"]) == set()


# --- the relay ---------------------------------------------------------------------------------


async def _published(backend: Backend, expected: int) -> list[str]:
    topic = topic_name(Topic.SYSTEM, backend.settings.topic_prefix)
    records = await read_topic_async(topic, expected, seconds=20)
    return [r.value.decode() for r in records]


async def test_the_relay_publishes_hints_in_order_and_clears_markers(backend: Backend) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0), [counted("uno"), counted("dos")])
    await repo.save(Counter("c1", 1), 1, [counted("tres")])  # before the relay ran: merged
    producer = await started_producer(backend)
    try:
        assert await backend.relay.publish_hinted(producer) == 3
    finally:
        await producer.stop()
    values = await _published(backend, 3)
    assert [json.loads(v)["message"] for v in values] == ["uno", "dos", "tres"]
    assert await backend.db[MARKERS].count_documents({}) == 0
    await backend.relay.tidy()
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and not doc[OUTBOX]


async def test_the_marker_pass_publishes_what_a_crash_left_and_drops_stale_markers(
    backend: Backend,
) -> None:
    uow = backend.unit_of_work()
    # Written by "another process": nothing hinted to this relay.
    writer = OutboxWriter(backend.db, backend.settings, DocumentLocks(), atomic_filters=True)
    await PingRepository(UnitOfWork(writer)).add(*_one(ping("huerfano")))
    long_ago = NOW - timedelta(days=1)
    await backend.db[MARKERS].insert_many(
        [
            # a write that never landed, long ago: dropped
            {
                "_id": "pings:nunca",
                "collection": PINGS,
                "doc_id": "nunca",
                "stamp": "s",
                "at": long_ago,
            },
            # one that may still be landing (another process, a moment ago): kept
            {
                "_id": "pings:pronto",
                "collection": PINGS,
                "doc_id": "pronto",
                "stamp": "s",
                "at": datetime.now(UTC),
            },
        ]
    )
    producer = await started_producer(backend)
    try:
        assert await backend.relay.publish_pending(producer) == 1
        assert await backend.relay.publish_pending(producer) == 0  # sent once, not again
    finally:
        await producer.stop()
    assert len(await _published(backend, 1)) == 1
    remaining = [m["_id"] async for m in backend.db[MARKERS].find({})]
    assert remaining == ["pings:pronto"]
    assert uow.applying is None


async def test_a_marker_renewed_by_a_later_write_outlives_the_earlier_publication(
    backend: Backend,
) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0), [ping("uno")[1]])
    producer = await started_producer(backend)
    try:
        hinted = dict(backend.relay._hints)  # what the first write told the relay
        backend.relay._hints.clear()
        await repo.save(Counter("c1", 1), 1, [ping("dos")[1]])  # renews the marker
        backend.relay._hints.clear()  # its hint is lost: only the marker pass can find it
        backend.relay._hints.update(hinted)
        assert await backend.relay.publish_hinted(producer) == 1
        assert await backend.db[MARKERS].count_documents({}) == 1
        assert await backend.relay.publish_pending(producer) == 1  # "dos"
        assert await backend.db[MARKERS].count_documents({}) == 0
    finally:
        await producer.stop()
    assert len(await _published(backend, 2)) == 2


async def test_each_batchs_markers_go_while_the_next_batch_is_sent(backend: Backend) -> None:
    pings = PingRepository(backend.unit_of_work())
    for n in range(5):
        await pings.add(*_one(ping(f"n{n}")))
    producer = await started_producer(backend)
    try:
        assert await backend.relay.publish_hinted(producer, batch=2) == 5  # three batches
    finally:
        await producer.stop()
    assert await backend.db[MARKERS].count_documents({}) == 0  # the last batch's too
    assert len(await _published(backend, 5)) == 5


async def test_markers_a_failed_deletion_left_are_dropped_by_the_marker_pass(
    backend: Backend,
) -> None:
    class FailingOnce(OutboxRelay):
        failed = False

        async def _clear_markers(self, publications: list[Any]) -> None:
            if not self.failed:
                self.failed = True
                raise ConnectionError("the database went away mid-deletion")
            await super()._clear_markers(publications)

    relay = FailingOnce(backend.settings, backend.db, [PINGS], backend.locks)
    writer = OutboxWriter(backend.db, backend.settings, backend.locks, relay=relay)
    await PingRepository(UnitOfWork(writer)).add(*_one(ping("uno")))
    producer = await started_producer(backend)
    try:
        with pytest.raises(ConnectionError):
            await relay.publish_hinted(producer)  # published, its marker left
        assert await backend.db[MARKERS].count_documents({}) == 1
        assert await relay.publish_pending(producer) == 0  # not sent again
    finally:
        await producer.stop()
    assert await backend.db[MARKERS].count_documents({}) == 0
    assert len(await _published(backend, 1)) == 1


def _one(pair: tuple[Any, Any]) -> tuple[Any, list[Any]]:
    entity, event = pair
    return entity, [event]


# --- tombstones ----------------------------------------------------------------------------------


def contact_of(counter_id: str, email: str) -> ContactPublished:
    """A record of the compacted contacts topic keyed like the counter (one partition)."""
    return ContactPublished(
        organization_id=counter_id,
        organization_name="Contador",
        contact_name="Ana",
        contact_email=email,
        occurred_at=NOW,
    )


async def test_a_tombstone_travels_in_the_write_and_is_published_in_order_as_a_null_value(
    backend: Backend,
) -> None:
    repo = CounterRepository(backend.unit_of_work())
    await repo.add(Counter("c1", 0), [contact_of("c1", "a@x.cl")])
    removed = Tombstone(Topic.REGISTRY_CONTACTS, "c1")
    await repo.save(Counter("c1", 1), 1, [contact_of("c1", "b@x.cl"), removed])
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and doc["count"] == 1
    order = sorted(doc[OUTBOX].values(), key=lambda entry: entry["seq"])
    assert [e.get(TOMBSTONE, False) for e in order] == [False, False, True]
    stored = order[-1]  # in the same write as the state, like an event
    assert stored["key"] == "c1" and "data" not in stored and "type" not in stored
    assert stored["topic"] == topic_name(Topic.REGISTRY_CONTACTS, backend.settings.topic_prefix)
    assert await backend.db[MARKERS].count_documents({}) == 1

    # Another process's write (no hint): the marker pass publishes it from the document.
    other = OutboxWriter(backend.db, backend.settings, DocumentLocks(), atomic_filters=True)
    await CounterRepository(UnitOfWork(other)).add(
        Counter("c2", 0), [contact_of("c2", "c@x.cl"), Tombstone(Topic.REGISTRY_CONTACTS, "c2")]
    )

    await ensure_topics(backend.settings, [Topic.REGISTRY_CONTACTS])
    producer = await started_producer(backend)
    try:
        assert await backend.relay.publish_hinted(producer) == 3
        assert await backend.relay.publish_pending(producer) == 2
    finally:
        await producer.stop()
    assert await backend.db[MARKERS].count_documents({}) == 0
    records = await read_topic_async(stored["topic"], 5, seconds=20)
    by_key: dict[bytes, list[Any]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(record)

    def emails(key: bytes) -> list[str | None]:
        return [json.loads(r.value)["contact_email"] if r.value else None for r in by_key[key]]

    assert emails(b"c1") == ["a@x.cl", "b@x.cl", None]
    assert emails(b"c2") == ["c@x.cl", None]
    for record in (by_key[b"c1"][-1], by_key[b"c2"][-1]):
        headers = headers_dict(record.headers)
        assert not [name for name in headers if name.startswith("ce_")]  # no event
        assert headers[TOMBSTONE_SOURCE] == backend.settings.event_source.encode()
        assert headers[TOMBSTONE_ID]
    await backend.relay.tidy()
    doc = await backend.db["counters"].find_one({"_id": "c1"})
    assert doc is not None and not doc[OUTBOX]  # removed after the ack, like the events
