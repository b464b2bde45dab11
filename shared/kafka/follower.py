"""Following a whole topic without a consumer group, for in-memory views every instance keeps.

A consumer group splits partitions between instances; a view that each instance must hold
whole (the registry's catalogue, every service's principals) reads every partition itself,
from the beginning or from a moment, and keeps its positions across reconnections so a broker
outage skips nothing. `caught_up` is set once it has read as far as the topic reached when the
follower first connected: from then on its view is as current as the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.events.topics import Topic, topic_name
from shared.kafka.clients import describe_partitions, ensure_topics
from shared.restart import keep_running
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


class TopicFollower:
    def __init__(
        self,
        settings: ServiceSettings,
        topic: Topic,
        apply: Callable[[Any], Awaitable[None]],
        *,
        name: str,
        since_ms: Callable[[], int] | None = None,
    ) -> None:
        """`apply` gets every record in partition order; `since_ms` (epoch milliseconds) starts
        at the first record written at or after it instead of the beginning."""
        self.settings = settings
        self.topic_spec = topic
        self.topic = topic_name(topic, settings.topic_prefix)
        self.apply = apply
        self.name = name
        self.since_ms = since_ms
        self.caught_up = asyncio.Event()
        self._positions: dict[TopicPartition, int] = {}  # kept across reconnections
        self._target: dict[TopicPartition, int] = {}

    async def run_forever(self) -> None:
        await keep_running(self._follow_once, f"{self.name}_follow_failed")

    async def _follow_once(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=None,
            client_id=f"articula-{self.settings.service_name}-{self.name}",
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        try:
            # Create it if no service has yet: an empty topic is one we are caught up with.
            await ensure_topics(self.settings, [self.topic_spec])
            await consumer.start()
            partitions = await describe_partitions(
                self.settings.kafka_bootstrap_servers, self.topic
            )
            consumer.assign(partitions)
            if not self._positions:
                await self._first_positions(consumer, partitions)
            for tp in partitions:
                consumer.seek(tp, self._positions.get(tp, 0))  # after a reconnect too
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        await self.apply(record)
                        self._positions[tp] = record.offset + 1
                if not self.caught_up.is_set() and all(
                    self._positions.get(tp, 0) >= end for tp, end in self._target.items()
                ):
                    self.caught_up.set()
                    log.info(f"{self.name}_caught_up", topic=self.topic)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _first_positions(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        """End offsets first (the target of `caught_up`), then the start of each partition.

        From a moment: the first offset at or after it, asked after the ends, so a record
        written between the two queries is found by the second. Never "seek to end", which
        resolves whenever the broker answers (after an outage, past records written
        meanwhile: the registry's integration test caught that).
        """
        self._target = dict(await consumer.end_offsets(partitions))
        if self.since_ms is None:
            starts = await consumer.beginning_offsets(partitions)
            self._positions = {tp: starts[tp] for tp in partitions}
            return
        since = self.since_ms()
        found = await consumer.offsets_for_times({tp: since for tp in partitions})
        for tp in partitions:
            at = found.get(tp)
            self._positions[tp] = self._target[tp] if at is None else at.offset
