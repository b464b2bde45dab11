"""Typed event handlers and the subscription that lists them.

A service declares what it consumes by registering a handler per contract class:

    subscription = Subscription()

    @subscription.on(OrganizationRegistered)
    async def invite(event: Delivered[OrganizationRegistered], uow: EventsUnitOfWork) -> None:
        ...

The handler receives the contract's typed payload (`event.payload`) with the event's
CloudEvents attributes and Kafka position, and a unit of work whose writes record that this
event was applied (`shared.storage.repository`). Topics come from the contracts themselves,
and a consumer decodes only the contracts its subscription names.

A projection that can write many events at once registers a batch form with `on_batch`, for one
contract or several sharing the handler (`on_batch(*ORGANIZATION_EVENTS)`): it receives the
consecutive events of one partition in order, whatever their contract among those, and must be
idempotent per event (after a failure the consumer retries the events one by one, each alone
with the unit of work applying it, so some may land twice).

A compacted topic also carries tombstones (a key with a null value: "forget this key"). A
service that keeps something per key registers `on_tombstone(topic)`:

    @subscription.on_tombstone(Topic.REGISTRY_CONTACTS)
    async def forget(removed: Removed, uow: NotifierUnitOfWork) -> None:
        ...  # removed.key is the organisation id

It is called in order with the partition's events, claimed in the inbox and retried like an
event handler, with a unit of work applying `removed.position`. Tombstones on a topic without
such a handler are skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.events.base import EventContract
from shared.events.catalog import by_type
from shared.events.topics import TOPIC_SPECS, Topic
from shared.storage.repository import Position, UnitOfWork

C = TypeVar("C", bound=EventContract)
U = TypeVar("U", bound=UnitOfWork)


@dataclass(frozen=True)
class Delivered(Generic[C]):
    """An event as a handler receives it."""

    payload: C
    id: str
    source: str
    type: str
    time: datetime | None
    correlation_id: str | None
    position: Position

    @property
    def dedup_key(self) -> str:
        """CloudEvents identity: `source` + `id` is unique per event (spec §3.1.1)."""
        return f"{self.source}|{self.id}"


@dataclass(frozen=True)
class Removed:
    """A tombstone as a handler receives it: `key` is gone from `topic` (a compacted topic).

    `id` and `source` come from the `tombstone_*` headers the outbox writes (None for a
    tombstone written without them, e.g. by an operator's tool)."""

    topic: Topic
    key: str
    position: Position
    id: str | None = None
    source: str | None = None
    correlation_id: str | None = None

    @property
    def dedup_key(self) -> str:
        """Its identity in the inbox: `source|id` like an event's, else its position (a copy
        republished by a relay without those headers is then handled again, harmlessly: a
        tombstone removes what is already removed)."""
        if self.id and self.source:
            return f"{self.source}|{self.id}"
        return f"tombstone|{self.position.partition}@{self.position.offset}"


Handler = Callable[[Delivered[C], U], Awaitable[None]]
BatchHandler = Callable[[Sequence[Delivered[C]], U], Awaitable[None]]
TombstoneHandler = Callable[[Removed, U], Awaitable[None]]


@dataclass(frozen=True)
class Registration:
    """How one contract is handled: one event at a time, or a batch at a time."""

    contract: type[EventContract]
    handle: Handler[Any, Any] | None = None
    handle_batch: BatchHandler[Any, Any] | None = None


class Subscription(Generic[U]):
    """What one service consumes: a handler per event contract."""

    def __init__(self) -> None:
        self._registrations: dict[type[EventContract], Registration] = {}
        self._by_type: dict[str, Registration] = {}
        self._contracts: dict[str, type[EventContract]] = {}
        self._tombstones: dict[Topic, TombstoneHandler[Any]] = {}

    def on(self, *contracts: type[C]) -> Callable[[Handler[C, U]], Handler[C, U]]:
        """Register the handler of one contract, or of several that share a base class."""

        def register(handler: Handler[C, U]) -> Handler[C, U]:
            for contract in contracts:
                self._add(Registration(contract, handle=handler))
            return handler

        return register

    def on_batch(self, *contracts: type[C]) -> Callable[[BatchHandler[C, U]], BatchHandler[C, U]]:
        """Register the batch handler of one contract, or of several sharing it: the consumer
        hands it each run of consecutive events of one partition whose contracts it handles."""

        def register(handler: BatchHandler[C, U]) -> BatchHandler[C, U]:
            for contract in contracts:
                self._add(Registration(contract, handle_batch=handler))
            return handler

        return register

    def on_tombstone(self, topic: Topic) -> Callable[[TombstoneHandler[U]], TombstoneHandler[U]]:
        """Register the handler of `topic`'s tombstones (records with a null value); the
        subscription then reads `topic` even if it handles none of its events."""

        def register(handler: TombstoneHandler[U]) -> TombstoneHandler[U]:
            self._add_tombstone(topic, handler)
            return handler

        return register

    def include(self, other: Subscription[Any]) -> None:
        """Adopt another subscription's handlers (a projection shared by several services)."""
        for registration in other._registrations.values():
            self._add(registration)
        for topic, handler in other._tombstones.items():
            self._add_tombstone(topic, handler)

    def _add_tombstone(self, topic: Topic, handler: TombstoneHandler[Any]) -> None:
        if topic in self._tombstones:
            raise ValueError(f"{topic} already has a tombstone handler")
        if not TOPIC_SPECS[topic].compacted:
            raise ValueError(f"{topic} is not compacted: it carries no tombstones")
        self._tombstones[topic] = handler

    def _add(self, registration: Registration) -> None:
        if registration.contract in self._registrations:
            raise ValueError(f"{registration.contract.__name__} already has a handler")
        self._registrations[registration.contract] = registration
        # Two contracts claiming one type fail here, at import.
        self._contracts = by_type(self._registrations)
        self._by_type[registration.contract.ce_type()] = registration

    @property
    def contracts(self) -> dict[str, type[EventContract]]:
        """`{CloudEvents type: contract}` of what this subscription decodes."""
        return self._contracts

    @property
    def topics(self) -> list[Topic]:
        return sorted({contract.topic for contract in self._registrations} | set(self._tombstones))

    def registration_for(self, ce_type: str) -> Registration | None:
        return self._by_type.get(ce_type)

    def tombstone_handler(self, topic: Topic) -> TombstoneHandler[Any] | None:
        return self._tombstones.get(topic)

    def __bool__(self) -> bool:
        return bool(self._registrations or self._tombstones)
