"""System pings: the walking skeleton's end-to-end check."""

from __future__ import annotations

from services.registry.domain.system import Ping
from shared.events.system import SystemPingSent
from shared.storage.outbox import OutboxWriter

PINGS = "pings"


class PingRepository:
    def __init__(self, outbox: OutboxWriter) -> None:
        self.outbox = outbox

    async def add(self, ping: Ping, event: SystemPingSent, correlation_id: str | None) -> None:
        doc = {"_id": ping.id, "message": ping.message, "sent_at": ping.sent_at}
        await self.outbox.insert(PINGS, doc, [event], correlation_id=correlation_id)
