"""The consumer's per-record and per-batch steps, without a broker or a database.

`BatchProcessor` is driven with fakes of its own ports (an in-memory inbox with the real one's
semantics, a dead-letter list) and records shaped like aiokafka's. The integration suites
check the same behaviour on the real broker and database, with processes killed mid-batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from pymongo.errors import AutoReconnect

from shared.events.pings import SystemPingSent
from shared.events.registry import ApiClientRevoked, ContactPublished
from shared.events.topics import Topic
from shared.kafka.codec import to_record, tombstone_headers
from shared.kafka.consumer import BatchProcessor
from shared.kafka.handlers import Delivered, Removed, Subscription
from shared.settings import ServiceSettings
from shared.storage.repository import Position, UnitOfWork

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
TP0 = TopicPartition("articula.system.v1", 0)
TP1 = TopicPartition("articula.system.v1", 1)
CONTACTS = TopicPartition(Topic.REGISTRY_CONTACTS.value, 0)
SETTINGS = ServiceSettings(
    service_name="events", consumer_max_attempts=3, consumer_retry_backoff_seconds=0
)


@dataclass
class Record:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    offset: int


def record(message: str, offset: int, *, event_id: str | None = None) -> Record:
    payload = SystemPingSent(ping_id=f"p-{message}", message=message, sent_at=NOW)
    message_ = to_record(
        payload,
        ce_type=payload.ce_type(),
        source="/articula/registry",
        event_id=event_id or f"e-{message}",
        key=payload.ping_id,
        time=NOW,
    )
    key = message_.key.encode() if isinstance(message_.key, str) else message_.key
    return Record(key, message_.value, list(message_.headers.items()), offset)


@dataclass
class FakeInbox:
    """The real inbox's rules in memory: a claim is new, reclaimed from a batch that never
    completed, or skipped (its batch completed)."""

    claims: dict[str, str] = field(default_factory=dict)
    completed: dict[str, list[str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def claim(self, batch_id: str, keys: Sequence[str]) -> set[str]:
        self.calls.append("claim")
        handle = set()
        for key in keys:
            owner = self.claims.get(key)
            if owner is None or owner == batch_id or owner not in self.completed:
                self.claims[key] = batch_id
                handle.add(key)
        return handle

    async def complete(self, batch_id: str, dead_lettered: Sequence[str]) -> None:
        self.calls.append("complete")
        self.completed[batch_id] = list(dead_lettered)


@dataclass
class FakeDeadLetters:
    sent: list[tuple[int, str, str]] = field(default_factory=list)

    async def send(self, tp: TopicPartition, record: Any, reason: str, error: str) -> None:
        self.sent.append((record.offset, reason, error))


@dataclass
class World:
    inbox: FakeInbox = field(default_factory=FakeInbox)
    dead: FakeDeadLetters = field(default_factory=FakeDeadLetters)
    applied: list[tuple[str, Position | None]] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)

    def processor(self, subscription: Subscription[Any]) -> BatchProcessor:
        def unit_of_work(applying: Position | None) -> UnitOfWork:
            return cast(UnitOfWork, _FakeUnitOfWork(applying))

        return BatchProcessor(SETTINGS, subscription, self.inbox, self.dead, unit_of_work)


@dataclass
class _FakeUnitOfWork:
    applying: Position | None


def one_at_a_time(world: World, poison: str | None = None) -> Subscription[Any]:
    subscription: Subscription[Any] = Subscription()

    @subscription.on(SystemPingSent)
    async def handle(event: Delivered[SystemPingSent], uow: Any) -> None:
        if event.payload.message == poison:
            raise ValueError("this one can never be applied")
        world.applied.append((event.payload.message, uow.applying))

    return subscription


def in_batches(world: World, poison: str | None = None) -> Subscription[Any]:
    subscription: Subscription[Any] = Subscription()

    @subscription.on_batch(SystemPingSent)
    async def handle(events: Sequence[Delivered[SystemPingSent]], uow: Any) -> None:
        world.batches.append([e.payload.message for e in events])
        for event in events:
            if event.payload.message == poison:
                raise ValueError("this one can never be applied")
            world.applied.append((event.payload.message, uow.applying))

    return subscription


async def test_a_batch_is_claimed_once_handled_in_order_and_completed_once() -> None:
    world = World()
    offsets = await world.processor(one_at_a_time(world)).process(
        {TP0: [record("a", 10), record("b", 11), record("c", 12)]}
    )
    assert offsets == {TP0: 13}
    assert [m for m, _ in world.applied] == ["a", "b", "c"]
    assert world.applied[0][1] == Position("articula.system.v1#0", 10)
    assert world.inbox.calls == ["claim", "complete"]


async def test_a_batch_handler_gets_each_partitions_run_in_order() -> None:
    world = World()
    await world.processor(in_batches(world)).process(
        {TP0: [record("a", 1), record("b", 2)], TP1: [record("x", 1), record("y", 2)]}
    )
    assert sorted(world.batches) == [["a", "b"], ["x", "y"]]


async def test_redelivered_events_are_skipped_and_a_dead_batch_is_handled_again() -> None:
    world = World()
    processor = world.processor(one_at_a_time(world))
    await processor.process({TP0: [record("a", 1)]})
    await processor.process({TP0: [record("a", 1)]})  # a crash before the commit
    assert [m for m, _ in world.applied] == ["a"]

    world.inbox.claims["e-b"] = "batch-that-died"  # claimed, never completed
    await processor.process({TP0: [record("b", 2)]})
    assert [m for m, _ in world.applied] == ["a", "b"]


async def test_the_same_event_twice_in_one_batch_is_handled_once() -> None:
    world = World()
    await world.processor(one_at_a_time(world)).process(
        {TP0: [record("a", 1), record("a", 2)]}  # a relay that published it twice
    )
    assert [m for m, _ in world.applied] == ["a"]


@pytest.mark.parametrize("subscribe", [one_at_a_time, in_batches])
async def test_a_poison_event_goes_alone_to_the_dead_letters(subscribe: Any) -> None:
    world = World()
    records = [record("a", 1), record("poison", 2), record("c", 3)]
    offsets = await world.processor(subscribe(world, "poison")).process({TP0: records})
    assert offsets == {TP0: 4}
    assert [offset for offset, _, _ in world.dead.sent] == [2]
    assert world.dead.sent[0][1] == "handler_failed"
    assert sorted(m for m, _ in world.applied if m != "a") == ["c"]
    assert [m for m, _ in world.applied].count("c") == 1
    (dead,) = world.inbox.completed.values()
    assert dead == ["/articula/registry|e-poison"]


async def test_after_a_batch_failure_events_are_retried_one_at_a_time() -> None:
    world = World()
    await world.processor(in_batches(world, "poison")).process(
        {TP0: [record("a", 1), record("poison", 2), record("c", 3)]}
    )
    # The batch call, then each event alone (the poison three times: bounded retries).
    assert world.batches[0] == ["a", "poison", "c"]
    assert world.batches[1:] == [["a"], ["poison"], ["poison"], ["poison"], ["c"]]


def shared_batch(
    world: World, *, per_event: bool = False, other: bool = False
) -> Subscription[Any]:
    """Pings and contacts to one batch handler (`on_batch` of two contracts); with `per_event`
    the contacts go to a handler of their own instead, with `other` to another batch handler."""
    subscription: Subscription[Any] = Subscription()

    async def handle(events: Sequence[Delivered[Any]], uow: Any) -> None:
        world.batches.append([_label(e.payload) for e in events])

    async def handle_other(events: Sequence[Delivered[Any]], uow: Any) -> None:
        world.batches.append(["other", *(_label(e.payload) for e in events)])

    async def one(event: Delivered[ContactPublished], uow: Any) -> None:
        world.applied.append((_label(event.payload), uow.applying))

    if per_event:
        subscription.on_batch(SystemPingSent)(handle)
        subscription.on(ContactPublished)(one)
    elif other:
        subscription.on_batch(SystemPingSent)(handle)
        subscription.on_batch(ContactPublished)(handle_other)
    else:
        subscription.on_batch(SystemPingSent, ContactPublished)(handle)
    return subscription


def _label(payload: Any) -> str:
    return payload.message if isinstance(payload, SystemPingSent) else payload.contact_email


def mixed(offset: int = 1) -> list[Record]:
    """ping, contact, ping, contact: consecutive offsets of one partition."""
    return [
        record("a", offset),
        contact("org-1", "x@x.cl", offset + 1),
        record("b", offset + 2),
        contact("org-2", "y@x.cl", offset + 3),
    ]


async def test_one_batch_handler_of_several_contracts_gets_them_in_one_run() -> None:
    world = World()
    offsets = await world.processor(shared_batch(world)).process({TP0: mixed()})
    assert world.batches == [["a", "x@x.cl", "b", "y@x.cl"]]
    assert offsets == {TP0: 5}


async def test_a_run_ends_where_the_handler_changes_and_never_spans_partitions() -> None:
    world = World()
    await world.processor(shared_batch(world, per_event=True)).process({TP0: mixed()})
    assert world.batches == [["a"], ["b"]]
    assert [m for m, _ in world.applied] == ["x@x.cl", "y@x.cl"]

    world = World()
    await world.processor(shared_batch(world, other=True)).process({TP0: mixed()})
    assert world.batches == [["a"], ["other", "x@x.cl"], ["b"], ["other", "y@x.cl"]]

    world = World()
    await world.processor(shared_batch(world)).process({TP0: mixed(1)[:2], TP1: mixed(7)[2:]})
    assert sorted(world.batches) == [["a", "x@x.cl"], ["b", "y@x.cl"]]


async def test_a_duplicate_inside_a_run_does_not_end_it_and_a_tombstone_does() -> None:
    world = World()
    world.inbox.claims["/articula/registry|e-x@x.cl"] = "done"
    world.inbox.completed["done"] = []
    subscription = shared_batch(world)

    @subscription.on_tombstone(Topic.REGISTRY_CONTACTS)
    async def forget(removed: Removed, uow: Any) -> None:
        world.batches.append([f"forget:{removed.key}"])

    records = mixed()
    records.insert(3, tombstone("org-9", 10))
    await world.processor(subscription).process({CONTACTS: records})
    assert world.batches == [["a", "b"], ["forget:org-9"], ["y@x.cl"]]


async def test_a_malformed_record_is_dead_lettered_and_the_rest_applied() -> None:
    world = World()
    broken = Record(b"k", b"{not json", [("ce_specversion", b"1.0")], 5)
    await world.processor(one_at_a_time(world)).process(
        {TP0: [record("a", 4), broken, record("c", 6)]}
    )
    assert [(o, reason) for o, reason, _ in world.dead.sent] == [(5, "malformed")]
    assert [m for m, _ in world.applied] == ["a", "c"]


async def test_events_nobody_subscribed_to_are_ignored_without_being_decoded() -> None:
    world = World()
    other = record("a", 1)
    headers = dict(other.headers)
    headers["ce_type"] = ApiClientRevoked.ce_type().encode()  # data of another shape
    other.headers = list(headers.items())
    await world.processor(one_at_a_time(world)).process({TP0: [other, record("b", 2)]})
    assert world.dead.sent == []
    assert [m for m, _ in world.applied] == ["b"]


async def test_an_outage_is_waited_out_never_dead_lettered() -> None:
    world = World()
    failures = iter([AutoReconnect("database down"), AutoReconnect("still down")])
    subscription: Subscription[Any] = Subscription()

    @subscription.on(SystemPingSent)
    async def handle(event: Delivered[SystemPingSent], uow: Any) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        world.applied.append((event.payload.message, uow.applying))

    settings = SETTINGS.model_copy(update={"consumer_retry_backoff_seconds": 0.001})
    processor = world.processor(subscription)
    processor.settings = settings
    await processor.process({TP0: [record("a", 1)]})
    assert [m for m, _ in world.applied] == ["a"]
    assert world.dead.sent == []


# --- tombstones (null values on a compacted topic) ------------------------------------------


def contact(organization_id: str, email: str, offset: int) -> Record:
    payload = ContactPublished(
        organization_id=organization_id,
        organization_name="Fundación Ejemplo",
        contact_name="Ana",
        contact_email=email,
        occurred_at=NOW,
    )
    message = to_record(
        payload,
        ce_type=payload.ce_type(),
        source="/articula/registry",
        event_id=f"e-{email}",
        key=organization_id,
        time=NOW,
    )
    return Record(organization_id.encode(), message.value, list(message.headers.items()), offset)


def tombstone(key: str | None, offset: int, *, tombstone_id: str | None = "t-1") -> Record:
    """A tombstone as the outbox relay writes it (or, without an id, as any tool would)."""
    headers = (
        tombstone_headers(tombstone_id=tombstone_id, source="/articula/registry", time=NOW)
        if tombstone_id
        else {}
    )
    return Record(key.encode() if key else None, None, list(headers.items()), offset)


def address_book(world: World, fail_on_tombstone: bool = False) -> Subscription[Any]:
    """What the notifier keeps: the current contacts, forgotten on a tombstone."""
    subscription: Subscription[Any] = Subscription()

    @subscription.on(ContactPublished)
    async def keep(event: Delivered[ContactPublished], uow: Any) -> None:
        world.applied.append((f"contact:{event.payload.contact_email}", uow.applying))

    @subscription.on_tombstone(Topic.REGISTRY_CONTACTS)
    async def forget(removed: Removed, uow: Any) -> None:
        if fail_on_tombstone:
            raise ValueError("cannot forget")
        assert removed.topic is Topic.REGISTRY_CONTACTS and uow.applying == removed.position
        world.applied.append((f"forget:{removed.key}", uow.applying))

    return subscription


async def test_a_tombstone_goes_to_its_topics_handler_in_order_with_the_events() -> None:
    world = World()
    processor = world.processor(address_book(world))
    records = [contact("org-1", "a@x.cl", 3), tombstone("org-1", 4), contact("org-2", "b@x.cl", 5)]
    offsets = await processor.process({CONTACTS: records})
    assert offsets == {CONTACTS: 6}
    assert world.applied == [
        ("contact:a@x.cl", Position(f"{CONTACTS.topic}#0", 3)),
        ("forget:org-1", Position(f"{CONTACTS.topic}#0", 4)),
        ("contact:b@x.cl", Position(f"{CONTACTS.topic}#0", 5)),
    ]
    assert world.dead.sent == []
    assert "/articula/registry|t-1" in world.inbox.claims  # claimed like an event

    await processor.process({CONTACTS: [tombstone("org-1", 4)]})  # redelivered
    await processor.process({CONTACTS: [tombstone("org-1", 9)]})  # a relay that sent it twice
    assert [m for m, _ in world.applied].count("forget:org-1") == 1


async def test_a_tombstone_without_headers_is_known_by_its_position() -> None:
    world = World()
    processor = world.processor(address_book(world))
    await processor.process({CONTACTS: [tombstone("org-1", 4, tombstone_id=None)]})
    await processor.process({CONTACTS: [tombstone("org-1", 4, tombstone_id=None)]})
    assert world.applied == [("forget:org-1", Position(f"{CONTACTS.topic}#0", 4))]
    assert f"tombstone|{CONTACTS.topic}#0@4" in world.inbox.claims


async def test_a_tombstone_on_a_topic_without_a_tombstone_handler_is_skipped() -> None:
    world = World()
    subscription: Subscription[Any] = Subscription()

    @subscription.on(ContactPublished)
    async def keep(event: Delivered[ContactPublished], uow: Any) -> None:
        world.applied.append((event.payload.contact_email, uow.applying))

    offsets = await world.processor(subscription).process(
        {CONTACTS: [tombstone("org-1", 1), contact("org-2", "b@x.cl", 2)]}
    )
    assert offsets == {CONTACTS: 3}  # committed past it
    assert world.dead.sent == [] and [m for m, _ in world.applied] == ["b@x.cl"]
    assert world.inbox.claims.keys() == {"/articula/registry|e-b@x.cl"}


async def test_a_null_value_is_no_longer_dead_lettered_as_malformed() -> None:
    world = World()
    empty = record("a", 1)
    empty.value = None  # even with CloudEvents headers: no value, nothing to decode
    offsets = await world.processor(one_at_a_time(world)).process(
        {TP0: [empty, tombstone("p-x", 2), record("b", 3)]}
    )
    assert offsets == {TP0: 4}
    assert world.dead.sent == []
    assert [m for m, _ in world.applied] == ["b"]


async def test_a_keyless_tombstone_is_malformed_and_a_failing_handler_dead_letters_it() -> None:
    world = World()
    await world.processor(address_book(world)).process({CONTACTS: [tombstone(None, 1)]})
    assert [(o, reason) for o, reason, _ in world.dead.sent] == [(1, "malformed")]

    world = World()
    records = [tombstone("org-1", 1), contact("org-2", "b@x.cl", 2)]
    await world.processor(address_book(world, fail_on_tombstone=True)).process({CONTACTS: records})
    assert [(o, reason) for o, reason, _ in world.dead.sent] == [(1, "handler_failed")]
    assert [m for m, _ in world.applied] == ["contact:b@x.cl"]
    (dead,) = world.inbox.completed.values()
    assert dead == ["/articula/registry|t-1"]


def test_a_tombstone_handler_alone_subscribes_to_its_topic() -> None:
    subscription: Subscription[Any] = Subscription()

    @subscription.on_tombstone(Topic.REGISTRY_CONTACTS)
    async def forget(removed: Removed, uow: Any) -> None: ...

    assert subscription.topics == [Topic.REGISTRY_CONTACTS] and bool(subscription)
    assert subscription.contracts == {}
    other: Subscription[Any] = Subscription()
    other.include(subscription)
    assert other.tombstone_handler(Topic.REGISTRY_CONTACTS) is forget
    with pytest.raises(ValueError, match="already has a tombstone handler"):
        other.include(subscription)
    with pytest.raises(ValueError, match="not compacted"):
        subscription.on_tombstone(Topic.SYSTEM)(forget)
