"""Commitments, one document each; lists filter them (few per encuentro)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.events.domain.commitments import Commitment
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

COMMITMENTS = "commitments"
INDEXES: list[list[tuple[str, int]]] = [[("encuentro_id", 1)], [("macrozone", 1), ("status", 1)]]


@dataclass(frozen=True)
class CommitmentQuery:
    macrozone: str | None = None
    region: str | None = None
    status: str | None = None
    encuentro_id: str | None = None
    organization_id: str | None = None
    overdue_on: date | None = None  # only those overdue on this day
    after: tuple[datetime, str] | None = None  # the cursor: the last row's (created_at, id)
    limit: int | None = None


class CommitmentRepository(DocumentRepository[Commitment]):
    collection_name = COMMITMENTS

    def to_document(self, entity: Commitment) -> Document:
        doc = entity.model_dump(mode="python", exclude={"id", "due_date"})
        doc["due_date"] = entity.due_date.isoformat()  # BSON has no date type
        return {**doc, "_id": entity.id}

    def from_document(self, doc: Document) -> Commitment:
        return Commitment.model_validate({**doc, "id": doc["_id"]})

    async def find(self, query: CommitmentQuery) -> list[Commitment]:
        """Commitments in (created_at, id) order."""
        cursor = self.collection.find(_filter(query)).sort([("created_at", 1), ("_id", 1)])
        if query.limit is not None:
            cursor = cursor.limit(query.limit)
        return [self.entity_of(doc) async for doc in cursor]


def _filter(query: CommitmentQuery) -> Document:
    conditions: list[Document] = []
    for field in ("macrozone", "region", "status", "encuentro_id"):
        value = getattr(query, field)
        if value is not None:
            conditions.append({field: value})
    if query.organization_id is not None:
        conditions.append({"organization_ids": query.organization_id})
    if query.overdue_on is not None:
        conditions.append({"status": {"$in": ["pending", "in_progress"]}})
        conditions.append({"due_date": {"$lt": query.overdue_on.isoformat()}})
    if query.after is not None:
        created_at, last_id = query.after
        conditions.append(
            {
                "$or": [
                    {"created_at": {"$gt": created_at}},
                    {"created_at": created_at, "_id": {"$gt": last_id}},
                ]
            }
        )
    return {"$and": conditions} if conditions else {}
