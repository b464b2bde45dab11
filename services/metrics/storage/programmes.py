"""Programmes, one document each with their indicators, measurements and work plan (see
`domain.programmes` for why), and the list that filters them.

Lists read summaries: a projection without indicators, measurements, work plan and outbox. On
FerretDB a filtered list scans the collection (programmes are hundreds, not millions); on
MongoDB the indexes below serve the filters and the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.metrics.domain.programmes import Programme
from shared.storage.mongo import Document
from shared.storage.outbox import OUTBOX
from shared.storage.repository import DocumentRepository

PROGRAMMES = "programmes"
SUMMARY_PROJECTION: dict[str, int] = {
    field: 0 for field in ("indicators", "measurements", "work_plan", OUTBOX)
}
INDEXES: list[list[tuple[str, int]]] = [
    [("created_at", 1), ("_id", 1)],
    [("organization_id", 1)],
    [("themes", 1)],
    [("regions", 1)],
]


def bson_dates(value: Any) -> Any:
    """Days as `YYYY-MM-DD` text at any depth (BSON has a date-time type, no date type)."""
    if isinstance(value, dict):
        return {k: bson_dates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bson_dates(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ProgrammeQuery:
    organization_id: str | None = None
    theme: str | None = None
    region: str | None = None
    after: tuple[datetime, str] | None = None  # the cursor: the last row's (created_at, id)
    limit: int | None = None


class ProgrammeRepository(DocumentRepository[Programme]):
    collection_name = PROGRAMMES

    def to_document(self, entity: Programme) -> Document:
        doc = bson_dates(entity.model_dump(mode="python", exclude={"id"}))
        return {**doc, "_id": entity.id}

    def from_document(self, doc: Document) -> Programme:
        return Programme.model_validate({**doc, "id": doc["_id"]})

    async def summaries(self, query: ProgrammeQuery) -> list[Programme]:
        """Programmes in (created_at, id) order, without their parts."""
        cursor = self.collection.find(_filter(query), SUMMARY_PROJECTION).sort(
            [("created_at", 1), ("_id", 1)]
        )
        if query.limit is not None:
            cursor = cursor.limit(query.limit)
        return [self.entity_of(doc) async for doc in cursor]


def _filter(query: ProgrammeQuery) -> Document:
    conditions: list[Document] = []
    if query.organization_id is not None:
        conditions.append({"organization_id": query.organization_id})
    if query.theme is not None:
        conditions.append({"themes": query.theme})
    if query.region is not None:
        conditions.append({"regions": query.region})
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
