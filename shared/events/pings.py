"""System events: the walking skeleton's end-to-end proof that all four services hear Kafka."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.base import EventContract
from shared.events.topics import Topic


class SystemPingSent(EventContract):
    """Staff sent a ping through the registry; every other service records that it heard it."""

    name: ClassVar[str] = "system.ping_sent"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.SYSTEM

    ping_id: str
    message: str = Field(max_length=200)
    sent_at: datetime

    def aggregate_id(self) -> str:
        return self.ping_id
