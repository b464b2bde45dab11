"""Registration calls ("convocatorias") in the registry's database, with their events."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain.calls import RegistrationCall
from shared.events.base import EventContract
from shared.storage.mongo import Document
from shared.storage.outbox import STAMP, OutboxWriter

CALLS = "calls"


class CallRepository:
    def __init__(self, db: AsyncDatabase[Document], outbox: OutboxWriter) -> None:
        self.collection = db[CALLS]
        self.outbox = outbox

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
        await self.outbox.insert(CALLS, _document(call), events, correlation_id=correlation_id)

    async def save(
        self, call: RegistrationCall, events: Sequence[EventContract], correlation_id: str | None
    ) -> None:
        state = {k: v for k, v in _document(call).items() if k != "_id"}
        await self.outbox.update(
            CALLS, call.id, {"$set": state}, events, correlation_id=correlation_id
        )


def _document(call: RegistrationCall) -> Document:
    doc = call.model_dump(mode="python", exclude={"id"})
    doc["_id"] = call.id
    return doc


def _call(doc: Document) -> RegistrationCall:
    data = {k: v for k, v in doc.items() if k not in ("_id", "outbox", STAMP)}
    return RegistrationCall.model_validate({**data, "id": doc["_id"]})
