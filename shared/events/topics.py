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
    # Private and compacted: each organisation's current contact; only the notifier reads it.
    REGISTRY_CONTACTS = "articula.registry.contacts.private.v1"
    EVENTS_ENCUENTROS = "articula.events.encuentros.v1"
    EVENTS_COMMITMENTS = "articula.events.commitments.v1"
    # Private: participants' names, e-mails and codes; only the notifier reads it.
    EVENTS_PARTICIPANTS = "articula.events.participants.private.v1"
    METRICS_MATCHES = "articula.metrics.matches.v1"
    METRICS_PROGRAMMES = "articula.metrics.programmes.v1"
    METRICS_EVIDENCE = "articula.metrics.evidence.v1"
    NOTIFIER_ACTIVITY = "articula.notifier.activity.v1"
    DLQ_REGISTRY = "articula.dlq.registry.v1"
    DLQ_EVENTS = "articula.dlq.events.v1"
    DLQ_METRICS = "articula.dlq.metrics.v1"
    DLQ_NOTIFIER = "articula.dlq.notifier.v1"


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    """How a topic is created, and what a reader of `docs/asyncapi.yaml` needs to know about it."""

    description: str
    key: str  # what the record key is: every record of one key lands, in order, on one partition
    partitions: int
    retention_ms: int | None = None  # None: keep the broker default; -1: forever
    # Kafka deletes whole segments: a short retention needs short segments to be honoured.
    segment_ms: int | None = None
    private: bool = False  # holds personal data or secrets: see PRIVATE_TOPICS
    # Compacted (`cleanup.policy=compact`): the broker keeps the latest record of each key, and
    # a tombstone (the key with a null value) removes the key. `min_compaction_lag_ms` keeps a
    # record uncompacted that long, `max_compaction_lag_ms` bounds how long a superseded or
    # erased record may stay (the broker rolls the segment to honour it), and
    # `delete_retention_ms` is how long a tombstone stays readable after compaction (a reader
    # lagging more than that misses it, but then never sees the removed value either).
    compacted: bool = False
    min_compaction_lag_ms: int | None = None
    max_compaction_lag_ms: int | None = None
    delete_retention_ms: int | None = None


YEAR_MS = 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000

# A dead letter is the original record unchanged (key, value, headers) plus `dlq_*` headers.
_DLQ_KEY = "the original record's key"


def _dead_letters(service: str) -> str:
    return (
        f"Records the {service} service's consumer could not handle (malformed, or its handler "
        "kept failing), unchanged, with `dlq_*` headers saying where they came from and why."
    )


TOPIC_SPECS: dict[Topic, TopicSpec] = {
    Topic.SYSTEM: TopicSpec(
        description="Pings staff send through the registry: the proof that every service hears "
        "Kafka.",
        key="ping id",
        partitions=3,
    ),
    Topic.REGISTRY_ORGANIZATIONS: TopicSpec(
        description="Organisations' lifecycle with their public profile; kept forever, so it "
        "never carries erasable data (contact, consent, description).",
        key="organisation id",
        partitions=6,
        retention_ms=-1,
    ),
    Topic.REGISTRY_CALLS: TopicSpec(
        description="Registration calls (convocatorias) opened, changed or closed by staff.",
        key="call id",
        partitions=1,
        retention_ms=-1,
    ),
    Topic.REGISTRY_ACCESS: TopicSpec(
        description=(
            "Who may call the services: the key hashes that open the API for each "
            "organisation and each staff or funder API client, as they are now (never a key "
            "itself); every service follows it from the start."
        ),
        key="principal id (organisation id or API client id)",
        partitions=1,
        retention_ms=-1,
    ),
    # Longer than the confirmation token's 72 h lifetime (a notifier outage still delivers),
    # short enough that contact e-mails and tokens do not outlive their use.
    Topic.REGISTRY_NOTIFICATIONS: TopicSpec(
        description="What the notifier needs to e-mail a contact: contact name and e-mail and "
        "the one-time confirmation token; read only by the notifier.",
        key="organisation id",
        partitions=3,
        retention_ms=7 * DAY_MS,
        segment_ms=DAY_MS,
        private=True,
    ),
    # Erasure bounds the design: a withdrawn organisation's contact must leave the broker too.
    # The tombstone tells the notifier at once; compaction removes the older records of the
    # key within `max_compaction_lag_ms` (a week, the notifications topic's retention) and the
    # tombstone itself a day later. Segments roll daily so compaction has closed ones to clean.
    Topic.REGISTRY_CONTACTS: TopicSpec(
        description="Each organisation's current contact person (name, e-mail, phone) and "
        "name, as `ContactPublished`, for the notifier; read only by the notifier. Compacted "
        "by organisation id: the latest record of a key is the contact now, and a tombstone "
        "(the key with a null value, no CloudEvents headers) says the organisation withdrew "
        "or its contact was erased, so the notifier forgets it.",
        key="organisation id",
        partitions=3,
        segment_ms=DAY_MS,
        private=True,
        compacted=True,
        min_compaction_lag_ms=DAY_MS,
        max_compaction_lag_ms=7 * DAY_MS,
        delete_retention_ms=DAY_MS,
    ),
    Topic.EVENTS_ENCUENTROS: TopicSpec(
        description="Encuentros by macrozone, every step: lifecycle, invitations, "
        "registrations, check-ins, rounds, needs and offers, survey ratings, results. "
        "Organisation and registration ids only, never a participant's name, e-mail or code; "
        "kept forever so that statistics can be rebuilt by replay.",
        key="encuentro id",
        partitions=6,
        retention_ms=-1,
    ),
    Topic.EVENTS_COMMITMENTS: TopicSpec(
        description="Commitments per region taken at encuentros, and each change of status.",
        key="commitment id",
        partitions=3,
        retention_ms=-1,
    ),
    # The notifier keeps what it needs as it reads (reminders are sent from its own copy), so
    # two weeks outlive a notifier outage without keeping participants' data for long.
    Topic.EVENTS_PARTICIPANTS: TopicSpec(
        description="What the notifier needs to write to participants: names, e-mails and "
        "personal codes with the message each one is due; read only by the notifier.",
        key="encuentro id",
        partitions=3,
        retention_ms=14 * DAY_MS,
        segment_ms=DAY_MS,
        private=True,
    ),
    Topic.METRICS_MATCHES: TopicSpec(
        description="Needs of one organisation matched with another's offers, each announced "
        "once and withdrawn when a side replaces its answer or leaves; organisation ids only.",
        key="match id",
        partitions=3,
        retention_ms=-1,
    ),
    Topic.METRICS_PROGRAMMES: TopicSpec(
        description="Programmes, their indicators, measurements (submitted, reviewed) and work "
        "plans, as their organisations and staff change them.",
        key="programme id",
        partitions=3,
        retention_ms=-1,
    ),
    Topic.METRICS_EVIDENCE: TopicSpec(
        description="Approved measurements as evidence of results, with the programme's themes, "
        "regions and macrozones, for funders' feeds and webhooks; never personal data.",
        key="programme id",
        partitions=3,
        retention_ms=-1,
    ),
    # Operational history, not evidence: a year is what an operator looks back on.
    Topic.NOTIFIER_ACTIVITY: TopicSpec(
        description="What the notifier did: funders' subscriptions created, changed or deleted "
        "(what they follow and their status; never a webhook URL, an e-mail address or a "
        "secret), and each webhook delivery and e-mail message once settled (kind, outcome, "
        "attempts; never a recipient).",
        key="subscription id (message id for e-mail)",
        partitions=3,
        retention_ms=YEAR_MS,
    ),
    Topic.DLQ_REGISTRY: TopicSpec(
        description=_dead_letters("registry"), key=_DLQ_KEY, partitions=1, retention_ms=YEAR_MS
    ),
    Topic.DLQ_EVENTS: TopicSpec(
        description=_dead_letters("events"), key=_DLQ_KEY, partitions=1, retention_ms=YEAR_MS
    ),
    Topic.DLQ_METRICS: TopicSpec(
        description=_dead_letters("metrics"), key=_DLQ_KEY, partitions=1, retention_ms=YEAR_MS
    ),
    # The notifier's dead letters may hold the private topic's personal data: keep them briefly.
    Topic.DLQ_NOTIFIER: TopicSpec(
        description=_dead_letters("notifier")
        + " May hold records of the private topics it reads (personal data, tokens).",
        key=_DLQ_KEY,
        partitions=1,
        retention_ms=14 * DAY_MS,
        segment_ms=DAY_MS,
    ),
}

# Topics whose records hold personal data or secrets: never mirror, export or log their payloads.
PRIVATE_TOPICS: frozenset[Topic] = frozenset(t for t, spec in TOPIC_SPECS.items() if spec.private)
# Topics whose records are states per key, removed by tombstones.
COMPACTED_TOPICS: frozenset[Topic] = frozenset(
    t for t, spec in TOPIC_SPECS.items() if spec.compacted
)

DEAD_LETTER_TOPICS: dict[str, Topic] = {
    "registry": Topic.DLQ_REGISTRY,
    "events": Topic.DLQ_EVENTS,
    "metrics": Topic.DLQ_METRICS,
    "notifier": Topic.DLQ_NOTIFIER,
}


def topic_name(topic: Topic, prefix: str = "") -> str:
    """The broker-side name; the prefix isolates deployments or test runs on one broker."""
    return f"{prefix}{topic.value}"
