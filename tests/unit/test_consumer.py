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
from shared.events.registry import ApiClientRevoked
from shared.kafka.codec import to_record
from shared.kafka.consumer import BatchProcessor
from shared.kafka.handlers import Delivered, Subscription
from shared.settings import ServiceSettings
from shared.storage.repository import Position, UnitOfWork

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
TP0 = TopicPartition("articula.system.v1", 0)
TP1 = TopicPartition("articula.system.v1", 1)
SETTINGS = ServiceSettings(
    service_name="events", consumer_max_attempts=3, consumer_retry_backoff_seconds=0
)


@dataclass
class Record:
    key: bytes | None
    value: bytes
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
