"""Creating Kafka clients and topics with the project's defaults."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events.topics import TOPIC_SPECS, Topic, TopicSpec, topic_name
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


def create_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """Idempotent producer with acks=all: a retried send never duplicates within a session."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"articula-{settings.service_name}",
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


def topic_configs(spec: TopicSpec) -> dict[str, str]:
    """The broker-side configuration of a topic (only what differs from the broker's)."""
    configs: dict[str, str] = {}
    if spec.compacted:
        configs["cleanup.policy"] = "compact"
    wanted = {
        "retention.ms": spec.retention_ms,
        "segment.ms": spec.segment_ms,
        "min.compaction.lag.ms": spec.min_compaction_lag_ms,
        "max.compaction.lag.ms": spec.max_compaction_lag_ms,
        "delete.retention.ms": spec.delete_retention_ms,
    }
    configs |= {name: str(value) for name, value in wanted.items() if value is not None}
    return configs


async def ensure_topics(settings: ServiceSettings, topics: list[Topic] | None = None) -> None:
    """Create missing topics with their specified partitions (the broker does not auto-create)."""
    wanted = topics if topics is not None else list(TOPIC_SPECS)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"articula-{settings.service_name}-admin",
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if topic_name(t, settings.topic_prefix) not in existing]
        if not missing:
            return
        new_topics = []
        for topic in missing:
            spec = TOPIC_SPECS[topic]
            new_topics.append(
                NewTopic(
                    topic_name(topic, settings.topic_prefix),
                    spec.partitions,
                    1,
                    topic_configs=topic_configs(spec),
                )
            )
        with contextlib.suppress(TopicAlreadyExistsError):  # another service was first
            await admin.create_topics(new_topics)
        log.info("topics_created", topics=[t.name for t in new_topics])
        # A consumer that subscribes before the new topics' partitions are in the broker's
        # metadata is assigned nothing and waits for the next refresh (five minutes).
        await _until_described(admin, [t.name for t in new_topics])
    finally:
        await admin.close()


async def _until_described(
    admin: AIOKafkaAdminClient, names: list[str], wait_seconds: float = 30
) -> None:
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        described = await admin.describe_topics(names)
        if all(t["error_code"] == 0 and t["partitions"] for t in described):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"topics not visible after creation: {names}")
        await asyncio.sleep(0.1)


async def describe_partitions(
    bootstrap_servers: str, topic: str, wait_seconds: float = 30
) -> list[TopicPartition]:
    """Every partition of `topic`, for a reader that takes it whole without a consumer group;
    waits for a topic that another process's start-up may be about to create."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            (found,) = await admin.describe_topics([topic])
            if found["error_code"] == 0 and found["partitions"]:
                return sorted(TopicPartition(topic, p["partition"]) for p in found["partitions"])
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"topic {topic} not found")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
