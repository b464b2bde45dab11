"""System pings: the walking skeleton's end-to-end check."""

from __future__ import annotations

from services.registry.domain.pings import Ping
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

PINGS = "pings"


class PingRepository(DocumentRepository[Ping]):
    collection_name = PINGS

    def to_document(self, entity: Ping) -> Document:
        return {"_id": entity.id, "message": entity.message, "sent_at": entity.sent_at}

    def from_document(self, doc: Document) -> Ping:
        return Ping(id=doc["_id"], message=doc["message"], sent_at=doc["sent_at"])
