"""Reading and writing topics from tests, with aiokafka's public API only."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events.base import EventContract
from shared.kafka.clients import describe_partitions
from shared.kafka.codec import to_record
from tests.harness.processes import KAFKA


async def _assigned(
    consumer: AIOKafkaConsumer, topic: str, wait_seconds: float
) -> list[TopicPartition]:
    partitions = await describe_partitions(KAFKA, topic, wait_seconds=wait_seconds)
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return partitions


async def read_topic_async(topic: str, expected: int, seconds: float = 30) -> list[Any]:
    """Records of a topic from the beginning, until `expected` records or the timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
    await consumer.start()
    try:
        await _assigned(consumer, topic, seconds)
        records: list[Any] = []
        deadline = time.monotonic() + seconds
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


def read_topic(topic: str, expected: int, timeout: float = 30) -> list[Any]:
    return asyncio.run(read_topic_async(topic, expected, timeout))


def topic_records(topic: str, timeout: float = 30) -> list[Any]:
    """Every record of `topic` up to its current end."""

    async def read() -> list[Any]:
        consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, enable_auto_commit=False)
        await consumer.start()
        try:
            deadline = time.monotonic() + timeout
            partitions = await _assigned(consumer, topic, timeout)
            ends = await consumer.end_offsets(partitions)
            records: list[Any] = []
            while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
                if time.monotonic() > deadline:
                    raise AssertionError(f"could not read {topic} to its end")
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
            return records
        finally:
            await consumer.stop()

    return asyncio.run(read())


def produce_raw(
    topic: str, records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
) -> None:
    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all")
        await producer.start()
        try:
            for key, value, headers in records:
                await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(produce())


def contract_record(
    event: EventContract, source: str, event_id: str | None = None
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A contract event as a service's relay would publish it, for `produce_raw`."""
    key = event.aggregate_id()
    message = to_record(
        event,
        ce_type=event.ce_type(),
        source=source,
        event_id=event_id or uuid.uuid4().hex,
        key=key,
        time=datetime.now(UTC),
    )
    return key.encode(), message.value, list(message.headers.items())
