from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain.system import Ping
from shared import faults
from shared.events.system import SystemPingSent
from shared.settings import ServiceSettings
from shared.storage.mongo import Document
from shared.storage.outbox import new_document_with_outbox, outbox_entries

PINGS = "pings"


class PingRepository:
    def __init__(self, db: AsyncDatabase[Document], settings: ServiceSettings) -> None:
        self.collection = db[PINGS]
        self.settings = settings

    async def add(self, ping: Ping, event: SystemPingSent, correlation_id: str | None) -> None:
        entries = outbox_entries([event], self.settings, correlation_id=correlation_id)
        doc = {"_id": ping.id, "message": ping.message, "sent_at": ping.sent_at}
        await self.collection.insert_one(new_document_with_outbox(doc, entries))
        faults.maybe_crash(faults.AFTER_STATE_WRITE, self.settings.fault_point)
