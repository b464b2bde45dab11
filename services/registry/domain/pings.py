"""A staff ping: the skeleton's state change that every other service must hear about."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.events.pings import SystemPingSent


@dataclass(frozen=True)
class Ping:
    id: str
    message: str
    sent_at: datetime


def send_ping(message: str, now: datetime) -> tuple[Ping, SystemPingSent]:
    ping = Ping(id=uuid.uuid4().hex, message=message, sent_at=now)
    return ping, SystemPingSent(ping_id=ping.id, message=ping.message, sent_at=ping.sent_at)
