"""Registration calls ("convocatorias") in the registry's database, with their events."""

from __future__ import annotations

from pymongo import ASCENDING

from services.registry.domain.calls import RegistrationCall
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

CALLS = "calls"


class CallRepository(DocumentRepository[RegistrationCall]):
    collection_name = CALLS

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("opens_at", ASCENDING)], name="opens_at")

    def to_document(self, entity: RegistrationCall) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> RegistrationCall:
        return RegistrationCall.model_validate({**doc, "id": doc["_id"]})

    async def all(self) -> list[RegistrationCall]:
        """Every call, oldest first (a handful: reading them all is cheap on any backend)."""
        cursor = self.collection.find({}).sort([("opens_at", ASCENDING)])
        return [self.entity_of(doc) async for doc in cursor]
