"""Published evidence, one document per approved measurement: the `EvidencePublished` event as
it went out, folded from the evidence topic, so the list shows exactly what funders received
(and `rebuild` can make it again). Newest first; the filters are the event's own fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.metrics.storage.programmes import bson_dates
from shared.events.metrics import EvidencePublished
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

EVIDENCE = "evidence"
INDEXES: list[list[tuple[str, int]]] = [
    [("published_at", -1), ("_id", -1)],
    [("organization_id", 1)],
    [("themes", 1)],
    [("regions", 1)],
    [("macrozones", 1)],
]


@dataclass(frozen=True)
class EvidenceQuery:
    theme: str | None = None
    region: str | None = None
    macrozone: str | None = None
    organization_id: str | None = None
    since: datetime | None = None
    before: tuple[datetime, str] | None = None  # the cursor: the last row's (published_at, id)
    limit: int | None = None


class EvidenceRepository(DocumentRepository[EvidencePublished]):
    collection_name = EVIDENCE

    def to_document(self, entity: EvidencePublished) -> Document:
        doc = bson_dates(entity.model_dump(mode="python", exclude={"evidence_id"}))
        return {**doc, "_id": entity.evidence_id}

    def from_document(self, doc: Document) -> EvidencePublished:
        return EvidencePublished.model_validate({**doc, "evidence_id": doc["_id"]})

    async def find(self, query: EvidenceQuery) -> list[EvidencePublished]:
        """Newest first: (published_at, id) descending."""
        cursor = self.collection.find(_filter(query)).sort([("published_at", -1), ("_id", -1)])
        if query.limit is not None:
            cursor = cursor.limit(query.limit)
        return [self.entity_of(doc) async for doc in cursor]


def _filter(query: EvidenceQuery) -> Document:
    conditions: list[Document] = []
    for field, value in (
        ("themes", query.theme),
        ("regions", query.region),
        ("macrozones", query.macrozone),
        ("organization_id", query.organization_id),
    ):
        if value is not None:
            conditions.append({field: value})
    if query.since is not None:
        conditions.append({"published_at": {"$gte": query.since}})
    if query.before is not None:
        published_at, last_id = query.before
        conditions.append(
            {
                "$or": [
                    {"published_at": {"$lt": published_at}},
                    {"published_at": published_at, "_id": {"$lt": last_id}},
                ]
            }
        )
    return {"$and": conditions} if conditions else {}
