"""Base class of event contracts.

A contract is a pydantic model with a CloudEvents `type` (`cl.articula.<area>.<name>`), an
integer schema version and the topic it travels on. The version is part of the type string
(`….v1`), so a consumer can tell old and new shapes apart and a breaking change is a new
class, never an edit of an old one.

There is no process-wide registry filled by imports: every contract is listed once in
`shared.events.catalog`, and a consumer decodes only the contracts it subscribes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events.topics import TOPIC_SPECS, Topic


class EventContract(BaseModel):
    """Payload of one event; `aggregate_id` becomes the Kafka record key and CE `subject`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: ClassVar[str]
    version: ClassVar[int]
    topic: ClassVar[Topic]

    @classmethod
    def ce_type(cls) -> str:
        return f"cl.articula.{cls.name}.v{cls.version}"

    def aggregate_id(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Tombstone:
    """A record with `key` and a null value on a compacted topic: the key's earlier records go
    at the next compaction, and its readers forget what they kept of it.

    Not an event (no contract, no CloudEvents attributes): it travels beside events through
    the outbox (`shared.storage.outbox`), in order with them, and consumers receive it as
    `shared.kafka.handlers.Removed`.
    """

    topic: Topic
    key: str

    def __post_init__(self) -> None:
        if not TOPIC_SPECS[self.topic].compacted:
            raise ValueError(f"{self.topic} is not compacted: a tombstone there removes nothing")
        if not self.key:
            raise ValueError("a tombstone needs a key")


# What a write may hand to the outbox: events, and tombstones of compacted topics.
Outgoing = EventContract | Tombstone
