"""The one place that lists every Kafka topic.

Names are versioned: a breaking change to what a topic carries gets a new topic, and the
old one is drained before it is retired. Dead-letter topics are per consuming service,
because a record one service cannot handle may be fine for another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    SYSTEM = "articula.system.v1"
    REGISTRY_ORGANIZATIONS = "articula.registry.organizations.v1"
    REGISTRY_CALLS = "articula.registry.calls.v1"
    REGISTRY_ACCESS = "articula.registry.access.v1"
    # Private: carries personal data and one-time secrets; only the notifier reads it.
    REGISTRY_NOTIFICATIONS = "articula.registry.notifications.private.v1"
    DLQ_REGISTRY = "articula.dlq.registry.v1"
    DLQ_EVENTS = "articula.dlq.events.v1"
    DLQ_METRICS = "articula.dlq.metrics.v1"
    DLQ_NOTIFIER = "articula.dlq.notifier.v1"


@dataclass(frozen=True)
class TopicSpec:
    partitions: int
    retention_ms: int | None = None  # None: keep the broker default
    # Kafka deletes whole segments: a short retention needs short segments to be honoured.
    segment_ms: int | None = None


YEAR_MS = 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000

TOPIC_SPECS: dict[Topic, TopicSpec] = {
    Topic.SYSTEM: TopicSpec(partitions=3),
    Topic.REGISTRY_ORGANIZATIONS: TopicSpec(partitions=6, retention_ms=-1),
    Topic.REGISTRY_CALLS: TopicSpec(partitions=1, retention_ms=-1),
    Topic.REGISTRY_ACCESS: TopicSpec(partitions=1, retention_ms=-1),
    # Longer than the confirmation token's 72 h lifetime (a notifier outage still delivers),
    # short enough that contact e-mails and tokens do not outlive their use.
    Topic.REGISTRY_NOTIFICATIONS: TopicSpec(
        partitions=3, retention_ms=7 * DAY_MS, segment_ms=DAY_MS
    ),
    Topic.DLQ_REGISTRY: TopicSpec(partitions=1, retention_ms=YEAR_MS),
    Topic.DLQ_EVENTS: TopicSpec(partitions=1, retention_ms=YEAR_MS),
    Topic.DLQ_METRICS: TopicSpec(partitions=1, retention_ms=YEAR_MS),
    # The notifier's dead letters may hold the private topic's personal data: keep them briefly.
    Topic.DLQ_NOTIFIER: TopicSpec(partitions=1, retention_ms=14 * DAY_MS, segment_ms=DAY_MS),
}

# Topics whose records hold personal data or secrets: never mirror, export or log their payloads.
PRIVATE_TOPICS: frozenset[Topic] = frozenset({Topic.REGISTRY_NOTIFICATIONS})

DEAD_LETTER_TOPICS: dict[str, Topic] = {
    "registry": Topic.DLQ_REGISTRY,
    "events": Topic.DLQ_EVENTS,
    "metrics": Topic.DLQ_METRICS,
    "notifier": Topic.DLQ_NOTIFIER,
}


def topic_name(topic: Topic, prefix: str = "") -> str:
    """The broker-side name; the prefix isolates deployments or test runs on one broker."""
    return f"{prefix}{topic.value}"
