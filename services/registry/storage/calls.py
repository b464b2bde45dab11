"""Registration calls ("convocatorias") in the registry's database, with their events."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain.calls import RegistrationCall
from shared.events.base import EventContract
from shared.settings import ServiceSettings
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document
from shared.storage.outbox import new_document_with_outbox, outbox_entries, with_outbox

CALLS = "calls"


class CallRepository:
    def __init__(
        self, db: AsyncDatabase[Document], settings: ServiceSettings, locks: DocumentLocks
    ) -> None:
        self.collection = db[CALLS]
        self.settings = settings
        self.locks = locks

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("opens_at", ASCENDING)], name="opens_at")

    async def all(self) -> list[RegistrationCall]:
        cursor = self.collection.find({}, {"outbox": 0}).sort([("opens_at", ASCENDING)])
        return [_call(doc) async for doc in cursor]

    async def get(self, call_id: str) -> RegistrationCall | None:
        doc = await self.collection.find_one({"_id": call_id}, {"outbox": 0})
        return _call(doc) if doc else None

    async def add(
        self, call: RegistrationCall, events: Sequence[EventContract], correlation_id: str | None
    ) -> None:
        entries = outbox_entries(events, self.settings, correlation_id=correlation_id)
        await self.collection.insert_one(new_document_with_outbox(_document(call), entries))

    async def save(
        self, call: RegistrationCall, events: Sequence[EventContract], correlation_id: str | None
    ) -> None:
        state = {k: v for k, v in _document(call).items() if k != "_id"}
        entries = outbox_entries(events, self.settings, correlation_id=correlation_id)
        async with self.locks.hold(CALLS, call.id):  # see shared.storage.locks
            await self.collection.update_one(
                {"_id": call.id}, with_outbox({"$set": state}, entries)
            )


def _document(call: RegistrationCall) -> Document:
    doc = call.model_dump(mode="python", exclude={"id"})
    doc["_id"] = call.id
    return doc


def _call(doc: Document) -> RegistrationCall:
    data = {k: v for k, v in doc.items() if k not in ("_id", "outbox", "outbox_pending")}
    return RegistrationCall.model_validate({**data, "id": doc["_id"]})
