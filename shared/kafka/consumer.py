"""The reliable consumer every service uses.

Guarantees, in order of importance:
- at-least-once: an offset is committed only after its record was handled (or dead-lettered);
- effectively-once: every event is claimed in the service's inbox keyed by CloudEvents
  `source|id` before it is handled and marked done after, so a redelivery (crash before
  commit, rebalance, a relay that published twice) is recognised and skipped, and one whose
  earlier attempt died mid-way is handled again (handlers are idempotent, see `apply_once`);
- a record that can never be handled (malformed, or failing after bounded retries) goes to the
  service's dead-letter topic with its origin and error, and the partition moves on;
- infrastructure failures (database or broker unreachable) are not the record's fault: they
  are retried without limit and without dead-lettering, so an outage loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from shared import faults
from shared.events.base import EventContract
from shared.events.catalog import by_type
from shared.events.topics import DEAD_LETTER_TOPICS, Topic, topic_name
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import EventEnvelope, MalformedEvent, from_record, headers_dict
from shared.metrics import (
    CONSUMER_ASSIGNED,
    CONSUMER_CONSUMED,
    CONSUMER_DEAD_LETTERED,
    CONSUMER_DURATION,
    CONSUMER_LAG,
    CONSUMER_PROCESSED,
    CONSUMER_RETRIED,
)
from shared.restart import keep_running
from shared.settings import ServiceSettings
from shared.storage.inbox import Inbox

log = structlog.get_logger(__name__)

Handler = Callable[[EventEnvelope], Awaitable[None]]

INFRA_ERRORS: tuple[type[BaseException], ...] = (ConnectionFailure, KafkaError, OSError)


def is_infrastructure_error(exc: BaseException) -> bool:
    if isinstance(exc, OperationFailure):
        return False  # the database answered: a real error about this record
    return isinstance(exc, INFRA_ERRORS) or (
        isinstance(exc, PyMongoError) and exc.has_error_label("RetryableWriteError")
    )


@dataclass(frozen=True)
class Subscription:
    """What one service consumes: topics and a handler per event contract."""

    topics: list[Topic]
    handlers: Mapping[type[EventContract], Handler]

    @property
    def contracts(self) -> dict[str, type[EventContract]]:
        return by_type(self.handlers)

    def handler_for(self, ce_type: str) -> Handler | None:
        for contract, handler in self.handlers.items():
            if contract.ce_type() == ce_type:
                return handler
        return None


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit what was handled before partitions move to another instance."""

    def __init__(self, runner: ReliableConsumer) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        CONSUMER_ASSIGNED.labels(self.runner.group).set(0)
        await self.runner.commit_handled(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        CONSUMER_ASSIGNED.labels(self.runner.group).set(len(assigned))
        log.info(
            "partitions_assigned",
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )


class ReliableConsumer:
    def __init__(self, settings: ServiceSettings, subscription: Subscription, inbox: Inbox) -> None:
        self.settings = settings
        self.subscription = subscription
        self.inbox = inbox
        self.group = settings.consumer_group
        self.dlq_topic = topic_name(
            DEAD_LETTER_TOPICS[settings.service_name], settings.topic_prefix
        )
        self._handled: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: Any = None
        self.assigned = asyncio.Event()

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
            max_poll_records=200,
        )
        producer = create_producer(self.settings)
        await producer.start()
        await consumer.start()
        self._consumer, self._producer = consumer, producer
        consumer.subscribe(topics, listener=_CommitOnRevoke(self))
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
                if consumer.assignment():
                    self.assigned.set()
                # Partitions are independent: handle them concurrently, each in order.
                await asyncio.gather(
                    *(self._process_partition(tp, records) for tp, records in batches.items())
                )
                await self.commit_handled(list(batches))
                await self._update_lag(consumer)
        finally:
            self._consumer = None
            with contextlib.suppress(Exception):
                await self.commit_handled(list(self._handled))
            await consumer.stop()
            await producer.stop()

    async def commit_handled(self, partitions: Any) -> None:
        consumer = self._consumer
        offsets = {tp: self._handled.pop(tp) for tp in list(partitions) if tp in self._handled}
        if consumer is None or not offsets:
            return
        try:
            await consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group rebalanced: the new owner re-reads these records and the inbox skips them.
            log.warning("commit_failed_rebalance", error=str(exc))

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await asyncio.wait_for(consumer.position(tp), 1)
            except (TimeoutError, KafkaError):
                continue
            CONSUMER_LAG.labels(tp.topic, str(tp.partition), self.group).set(
                max(0, highwater - position)
            )

    async def _process_partition(self, tp: TopicPartition, records: list[Any]) -> None:
        for record in records:
            await self._process(tp, record)

    async def _process(self, tp: TopicPartition, record: Any) -> None:
        CONSUMER_CONSUMED.labels(tp.topic, self.group).inc()
        with CONSUMER_DURATION.labels(tp.topic, self.group).time():
            outcome = await self._handle_record(tp, record)
        CONSUMER_PROCESSED.labels(tp.topic, self.group, outcome).inc()
        self._handled[tp] = record.offset + 1

    async def _handle_record(self, tp: TopicPartition, record: Any) -> str:
        try:
            envelope = from_record(
                record.key, record.value, record.headers, self.subscription.contracts
            )
        except MalformedEvent as exc:
            await self._dead_letter(tp, record, "malformed", str(exc))
            return "dead_lettered"
        handler = self.subscription.handler_for(envelope.type)
        if handler is None or envelope.payload is None:
            return "ignored"  # another service's business, or a newer version we do not know
        with structlog.contextvars.bound_contextvars(
            event_id=envelope.id, event_type=envelope.type, correlation_id=envelope.correlation_id
        ):
            if not await self._until_infra_ok(self.inbox.claim, envelope):
                log.info("event_duplicate_skipped")
                return "duplicate"
            error = await self._handle_with_retries(tp, handler, envelope)
            if error is not None:
                await self._dead_letter(tp, record, "handler_failed", error)
                await self._until_infra_ok(self.inbox.complete, envelope, "dead_lettered")
                return "dead_lettered"
            await self._until_infra_ok(self.inbox.complete, envelope)
            faults.maybe_crash(faults.AFTER_HANDLE, self.settings.fault_point)
            log.info("event_applied")
            return "applied"

    async def _handle_with_retries(
        self, tp: TopicPartition, handler: Handler, envelope: EventEnvelope
    ) -> str | None:
        """None when handled; the last error when the bounded retries are exhausted."""
        attempt = 0
        delay = self.settings.consumer_retry_backoff_seconds
        while True:
            try:
                await handler(envelope)
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

    async def _until_infra_ok(self, operation: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        delay = 0.2
        while True:
            try:
                return await operation(*args)
            except Exception as exc:
                if not is_infrastructure_error(exc):
                    raise
                log.warning("storage_unavailable_retrying", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    async def _dead_letter(self, tp: TopicPartition, record: Any, reason: str, error: str) -> None:
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
        await self._producer.send_and_wait(
            self.dlq_topic, record.value, key=record.key, headers=headers
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
