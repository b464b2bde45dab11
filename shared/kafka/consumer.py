"""The reliable consumer every service uses, a batch at a time.

Guarantees, in order of importance:
- at-least-once: an offset is committed only after its record was handled (or dead-lettered);
- effectively-once: a batch's events are claimed in the service's inbox (one bulk insert keyed
  by CloudEvents `source|id`) before handling and the batch is marked complete after (one
  insert), so a redelivery (crash before commit, rebalance, a relay that published twice) is
  recognised and skipped, and a batch that died mid-way is handled again; handlers' writes
  record the event's position (`shared.storage.repository`), so handling again changes nothing
  that already changed;
- tombstones (a null value, on a compacted topic) go to the subscription's tombstone handler
  of their topic with the same claim, retries and bookkeeping, in order with the events, and
  are skipped where it has none (never dead-lettered for having no value);
- a record that can never be handled (malformed, or failing after bounded retries) goes to the
  service's dead-letter topic with its origin and error, alone: the rest of its batch is
  applied once, and the partition moves on;
- infrastructure failures (database or broker unreachable) are not the record's fault: they
  are retried without limit and without dead-lettering, so an outage loses nothing.

`BatchProcessor` is one poll's work (decode, claim, handle, complete) and talks to the broker
only through the dead-letter port; `ReliableConsumer` adds Kafka: polling, commits, rebalances.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from shared import faults
from shared.events.topics import DEAD_LETTER_TOPICS, Topic, topic_name
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import MalformedEvent, from_record, headers_dict, read_tombstone_headers
from shared.kafka.handlers import (
    Delivered,
    Registration,
    Removed,
    Subscription,
    TombstoneHandler,
)
from shared.metrics import (
    CONSUMER_ASSIGNED,
    CONSUMER_BATCH_SIZE,
    CONSUMER_CONSUMED,
    CONSUMER_DEAD_LETTERED,
    CONSUMER_DURATION,
    CONSUMER_LAG,
    CONSUMER_PROCESSED,
    CONSUMER_RETRIED,
)
from shared.restart import keep_running
from shared.settings import ServiceSettings
from shared.storage.inbox import InboxPort, new_batch_id
from shared.storage.repository import Position, UnitOfWork

log = structlog.get_logger(__name__)

T = TypeVar("T")
INFRA_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, KafkaError, OSError)


def is_infrastructure_error(exc: BaseException) -> bool:
    """Not the record's fault: the database or the broker is unreachable or says "try again"."""
    if isinstance(exc, PyMongoError) and exc.has_error_label("RetryableWriteError"):
        return True
    if isinstance(exc, OperationFailure):
        return False  # the database answered: a real error about this record
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)  # e.g. a record too large for the broker is no outage
    return isinstance(exc, INFRA_ERRORS)


async def until_infrastructure_answers(operation: Callable[[], Awaitable[T]]) -> T:
    """Run `operation` until it stops failing for infrastructure reasons."""
    delay = 0.2
    while True:
        try:
            return await operation()
        except Exception as exc:
            if not is_infrastructure_error(exc):
                raise
            log.warning("storage_unavailable_retrying", error=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)


class DeadLetterPort(Protocol):
    async def send(self, tp: TopicPartition, record: Any, reason: str, error: str) -> None: ...


class KafkaDeadLetters:
    """The service's dead-letter topic: the record unchanged, plus where it came from and why."""

    def __init__(self, producer: Any, topic: str, group: str) -> None:
        self.producer = producer
        self.topic = topic
        self.group = group

    async def send(self, tp: TopicPartition, record: Any, reason: str, error: str) -> None:
        headers = list(record.headers or ())
        headers += [
            ("dlq_original_topic", tp.topic.encode()),
            ("dlq_original_partition", str(tp.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.group.encode()),
            ("dlq_reason", reason.encode()),
            ("dlq_error", error[:2000].encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        await self.producer.send_and_wait(self.topic, record.value, key=record.key, headers=headers)


@dataclass
class _Item:
    """One record of a batch on its way through."""

    record: Any
    delivered: Delivered[Any] | None = None
    registration: Registration | None = None
    removed: Removed | None = None  # a tombstone, for `on_tombstone`
    outcome: str | None = None  # set once decided: applied, duplicate, ignored, dead_lettered

    @property
    def dedup_key(self) -> str | None:
        """Its key in the inbox, if it is to be handled (an event or a tombstone)."""
        if self.delivered is not None:
            return self.delivered.dedup_key
        if self.removed is not None:
            return self.removed.dedup_key
        return None


UnitOfWorkFactory = Callable[[Position | None], UnitOfWork]


def _same_batch(first: Registration | None, other: Registration) -> bool:
    """Whether an event of `other` joins a run that began with an event of `first`: both go to
    one batch handler (registered for several contracts, or once per contract)."""
    return (
        first is not None
        and first.handle_batch is not None
        and other.handle_batch is not None
        and first.handle_batch is other.handle_batch
    )


class BatchProcessor:
    """Decode, claim, handle and complete one poll's records; returns the offsets to commit."""

    def __init__(
        self,
        settings: ServiceSettings,
        subscription: Subscription[Any],
        inbox: InboxPort,
        dead_letters: DeadLetterPort,
        unit_of_work: UnitOfWorkFactory,
    ) -> None:
        self.settings = settings
        self.subscription = subscription
        self.inbox = inbox
        self.dead_letters = dead_letters
        self.unit_of_work = unit_of_work
        self.group = settings.consumer_group
        # Broker-side names (with the deployment's prefix) of the topics read.
        self.topics: dict[str, Topic] = {
            topic_name(t, settings.topic_prefix): t for t in subscription.topics
        }

    async def process(self, batches: Mapping[TopicPartition, Sequence[Any]]) -> dict[Any, int]:
        batch_id = new_batch_id()
        items = {
            tp: [await self._decode(tp, r) for r in records] for tp, records in batches.items()
        }
        events = [i for its in items.values() for i in its if i.dedup_key and not i.outcome]
        keys = [i.dedup_key for i in events if i.dedup_key]
        to_handle = await until_infrastructure_answers(lambda: self.inbox.claim(batch_id, keys))
        seen: set[str] = set()
        for item in events:
            key = item.dedup_key
            assert key is not None
            if key not in to_handle or key in seen:  # handled before, or twice in this batch
                item.outcome = "duplicate"
            seen.add(key)
        async with asyncio.TaskGroup() as partitions:  # one failing partition stops them all
            for tp, its in items.items():
                partitions.create_task(self._handle_partition(tp, its))
        faults.maybe_crash(faults.BEFORE_BATCH_COMPLETE, self.settings.fault_point)
        dead = [i.dedup_key for i in events if i.dedup_key and i.outcome == "dead_lettered"]
        await until_infrastructure_answers(lambda: self.inbox.complete(batch_id, dead))
        for tp, its in items.items():
            CONSUMER_BATCH_SIZE.labels(tp.topic, self.group).observe(len(its))
            for item in its:
                CONSUMER_PROCESSED.labels(tp.topic, self.group, item.outcome or "applied").inc()
        return {tp: records[-1].offset + 1 for tp, records in batches.items() if records}

    async def _decode(self, tp: TopicPartition, record: Any) -> _Item:
        CONSUMER_CONSUMED.labels(tp.topic, self.group).inc()
        item = _Item(record)
        if record.value is None:
            return await self._decode_tombstone(tp, item)
        ce_type = headers_dict(record.headers).get("ce_type", b"").decode(errors="replace")
        registration = self.subscription.registration_for(ce_type)
        try:
            envelope = from_record(
                record.key,
                record.value,
                record.headers,
                self.subscription.contracts if registration else {},
            )
        except MalformedEvent as exc:
            await self._dead_letter(tp, record, "malformed", str(exc))
            item.outcome = "dead_lettered"
            return item
        if registration is None or envelope.payload is None:
            item.outcome = "ignored"  # another service's business, or a version we do not know
            return item
        item.registration = registration
        item.delivered = Delivered(
            payload=envelope.payload,
            id=envelope.id,
            source=envelope.source,
            type=envelope.type,
            time=envelope.time,
            correlation_id=envelope.correlation_id,
            position=Position(f"{tp.topic}#{tp.partition}", record.offset),
        )
        return item

    async def _decode_tombstone(self, tp: TopicPartition, item: _Item) -> _Item:
        """A null value: a tombstone for its topic's handler, or skipped where there is none."""
        record = item.record
        topic = self.topics.get(tp.topic)
        if topic is None or self.subscription.tombstone_handler(topic) is None:
            item.outcome = "ignored"  # nobody here keeps anything per key of this topic
            return item
        try:
            if record.key is None:
                raise MalformedEvent("a tombstone without a key removes nothing")
            key = bytes(record.key).decode()
        except (MalformedEvent, UnicodeDecodeError) as exc:
            await self._dead_letter(tp, record, "malformed", str(exc))
            item.outcome = "dead_lettered"
            return item
        headers = read_tombstone_headers(record.headers)
        item.removed = Removed(
            topic=topic,
            key=key,
            position=Position(f"{tp.topic}#{tp.partition}", record.offset),
            id=headers.id,
            source=headers.source,
            correlation_id=headers.correlation_id,
        )
        return item

    async def _handle_partition(self, tp: TopicPartition, items: list[_Item]) -> None:
        """In offset order; consecutive events of one batch handler go to it together, whatever
        their contracts among those it was registered for (a run is one partition's: per-key
        order holds, as a key's events are all in one partition and stay in offset order).
        Records decided already (ignored, duplicate, dead-lettered) do not end a run; a
        tombstone, an event of a per-event handler or of another batch handler does."""
        run: list[_Item] = []
        for item in items:
            if item.outcome is None and item.removed is not None:
                if run:
                    await self._handle_run(tp, run)
                    run = []
                await self._handle_tombstone(tp, item)
                continue
            registration = item.registration
            if item.outcome is not None or registration is None:
                continue  # decided already: ignored, duplicate or dead-lettered
            if run and not _same_batch(run[0].registration, registration):
                await self._handle_run(tp, run)
                run = []
            if registration.handle_batch is not None:
                run.append(item)
            else:
                await self._handle_one(tp, item)
        if run:
            await self._handle_run(tp, run)

    async def _handle_run(self, tp: TopicPartition, run: list[_Item]) -> None:
        registration = run[0].registration
        assert registration is not None and registration.handle_batch is not None
        handle_batch = registration.handle_batch
        events = [item.delivered for item in run if item.delivered is not None]
        with CONSUMER_DURATION.labels(tp.topic, self.group).time():
            try:
                await until_infrastructure_answers(
                    lambda: handle_batch(events, self.unit_of_work(None))
                )
                for item in run:
                    item.outcome = "applied"
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("batch_handler_failed_one_by_one", events=len(run), error=repr(exc))
        for item in run:  # each alone: only the failing one is retried and dead-lettered
            await self._handle_one(tp, item)

    async def _handle_one(self, tp: TopicPartition, item: _Item) -> None:
        delivered, registration = item.delivered, item.registration
        assert delivered is not None and registration is not None
        if registration.handle is not None:
            handle = registration.handle

            async def call() -> None:
                await handle(delivered, self.unit_of_work(delivered.position))
        else:
            assert registration.handle_batch is not None
            handle_batch = registration.handle_batch

            async def call() -> None:
                await handle_batch([delivered], self.unit_of_work(delivered.position))

        with (
            structlog.contextvars.bound_contextvars(
                event_id=delivered.id,
                event_type=delivered.type,
                correlation_id=delivered.correlation_id or delivered.id,
            ),
            CONSUMER_DURATION.labels(tp.topic, self.group).time(),
        ):
            error = await self._with_retries(tp, call)
            if error is None:
                item.outcome = "applied"
                return
            await self._dead_letter(tp, item.record, "handler_failed", error)
            item.outcome = "dead_lettered"

    async def _handle_tombstone(self, tp: TopicPartition, item: _Item) -> None:
        removed = item.removed
        assert removed is not None
        handler: TombstoneHandler[Any] | None = self.subscription.tombstone_handler(removed.topic)
        assert handler is not None
        handle = handler

        async def call() -> None:
            await handle(removed, self.unit_of_work(removed.position))

        with (
            structlog.contextvars.bound_contextvars(
                tombstone_key=removed.key,
                correlation_id=removed.correlation_id or removed.dedup_key,
            ),
            CONSUMER_DURATION.labels(tp.topic, self.group).time(),
        ):
            error = await self._with_retries(tp, call)
            if error is None:
                item.outcome = "applied"
                return
            await self._dead_letter(tp, item.record, "handler_failed", error)
            item.outcome = "dead_lettered"

    async def _with_retries(
        self, tp: TopicPartition, call: Callable[[], Awaitable[None]]
    ) -> str | None:
        """None when handled; the last error when the bounded retries are exhausted."""
        attempt = 0
        delay = self.settings.consumer_retry_backoff_seconds
        while True:
            try:
                await call()
                return None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_infrastructure_error(exc):
                    log.warning("handler_infrastructure_error", error=repr(exc))
                    await asyncio.sleep(min(delay * 4, 5))
                    continue  # not the record's fault: never dead-letter for an outage
                attempt += 1
                if attempt >= self.settings.consumer_max_attempts:
                    log.error("handler_failed", attempts=attempt, error=repr(exc))
                    return repr(exc)
                CONSUMER_RETRIED.labels(tp.topic, self.group).inc()
                log.warning("handler_retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _dead_letter(self, tp: TopicPartition, record: Any, reason: str, error: str) -> None:
        await until_infrastructure_answers(
            lambda: self.dead_letters.send(tp, record, reason, error)
        )
        CONSUMER_DEAD_LETTERED.labels(tp.topic, self.group, reason).inc()
        log.error(
            "event_dead_lettered",
            reason=reason,
            error=error[:500],
            topic=tp.topic,
            partition=tp.partition,
            offset=record.offset,
            ce_id=headers_dict(record.headers).get("ce_id", b"").decode(errors="replace"),
        )


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit what was handled before partitions move to another instance."""

    def __init__(self, runner: ReliableConsumer) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Waits for the batch in flight (aiokafka calls this before the partitions move), so
        its offsets are committed here and the next owner never finds it half handled."""
        CONSUMER_ASSIGNED.labels(self.runner.group).set(0)
        async with self.runner.processing:
            await self.runner.commit_handled(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        CONSUMER_ASSIGNED.labels(self.runner.group).set(len(assigned))
        log.info(
            "partitions_assigned",
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )


class ReliableConsumer:
    def __init__(
        self,
        settings: ServiceSettings,
        subscription: Subscription[Any],
        inbox: InboxPort,
        unit_of_work: UnitOfWorkFactory,
    ) -> None:
        self.settings = settings
        self.subscription = subscription
        self.inbox = inbox
        self.unit_of_work = unit_of_work
        self.group = settings.consumer_group
        self.dlq_topic = topic_name(
            DEAD_LETTER_TOPICS[settings.service_name], settings.topic_prefix
        )
        self._handled: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self.assigned = asyncio.Event()
        self.lag: dict[TopicPartition, int] = {}  # per owned partition, after each poll
        # Held while a batch is handled and committed; a rebalance waits for it.
        self.processing = asyncio.Lock()

    async def run_forever(self) -> None:
        """Consume until cancelled; reconnect after any broker outage."""
        await keep_running(self._run_once, "consumer_restarting")

    async def _run_once(self) -> None:
        topics = [topic_name(t, self.settings.topic_prefix) for t in self.subscription.topics]
        await ensure_topics(
            self.settings,
            [*self.subscription.topics, DEAD_LETTER_TOPICS[self.settings.service_name]],
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.group,
            client_id=f"articula-{self.settings.service_name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self.settings.consumer_batch_size,
        )
        producer = create_producer(self.settings)
        await producer.start()
        await consumer.start()
        self._consumer = consumer
        processor = BatchProcessor(
            self.settings,
            self.subscription,
            self.inbox,
            KafkaDeadLetters(producer, self.dlq_topic, self.group),
            self.unit_of_work,
        )
        consumer.subscribe(topics, listener=_CommitOnRevoke(self))
        try:
            while True:
                batches = await consumer.getmany(
                    timeout_ms=500, max_records=self.settings.consumer_batch_size
                )
                if consumer.assignment():
                    self.assigned.set()
                if batches:
                    async with self.processing:
                        self._handled.update(await processor.process(batches))
                        faults.maybe_crash(faults.AFTER_HANDLE, self.settings.fault_point)
                        await self.commit_handled(list(batches))
                await self._update_lag(consumer)
        finally:
            with contextlib.suppress(Exception):
                await self.commit_handled(list(self._handled))
            self._consumer = None
            await consumer.stop()
            await producer.stop()

    async def commit_handled(self, partitions: Any) -> None:
        """Commit what was handled of `partitions` that this instance still owns; offsets of a
        partition it lost are dropped (its new owner re-reads them and the inbox skips them)."""
        consumer = self._consumer
        if consumer is None:
            return
        owned = consumer.assignment()
        for tp in [tp for tp in list(partitions) if tp in self._handled and tp not in owned]:
            del self._handled[tp]
        offsets = {tp: self._handled[tp] for tp in list(partitions) if tp in self._handled}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group rebalanced: the new owner re-reads these records and the inbox skips them.
            log.warning("commit_failed_rebalance", error=str(exc))
        for tp, offset in offsets.items():
            if self._handled.get(tp) == offset:
                del self._handled[tp]

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await asyncio.wait_for(consumer.position(tp), 1)
            except (TimeoutError, KafkaError):
                continue
            self.lag[tp] = max(0, highwater - position)
            CONSUMER_LAG.labels(tp.topic, str(tp.partition), self.group).set(self.lag[tp])

    def caught_up(self) -> bool:
        """Every owned partition read to its end (a replay is done when this holds)."""
        consumer = self._consumer
        if consumer is None or not self.assigned.is_set():
            return False
        owned = consumer.assignment()
        return bool(owned) and all(self.lag.get(tp, 1) == 0 for tp in owned)
