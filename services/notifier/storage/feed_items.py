"""What the feeds list: every published item (evidence, results, fulfilled commitments), one
document each by its stable id, newest first."""

from __future__ import annotations

from datetime import datetime

from services.notifier.domain.items import ItemFilter, PublishedItem
from shared.storage.mongo import Document
from shared.storage.outbox import OutboxWriter

FEED_ITEMS = "feed_items"
INDEXES: list[list[tuple[str, int]]] = [[("published_at", -1), ("_id", -1)]]


class FeedItemRepository:
    def __init__(self, writer: OutboxWriter) -> None:
        self.collection = writer.db[FEED_ITEMS]

    async def add(self, item: PublishedItem) -> None:
        """Idempotent: the same item (same id) is written with the same content."""
        doc = item.model_dump(mode="python", exclude={"id"})
        await self.collection.update_one({"_id": item.id}, {"$set": doc}, upsert=True)

    async def page(
        self, wanted: ItemFilter, before: tuple[datetime, str] | None, limit: int
    ) -> list[PublishedItem]:
        """Items `wanted` newest first, after the cursor's (published_at, id)."""
        query: Document = {}
        conditions: list[Document] = []
        if wanted.kinds:
            conditions.append({"kind": {"$in": [str(k) for k in wanted.kinds]}})
        for field in ("themes", "regions", "macrozones", "organization_ids"):
            values = getattr(wanted, field)
            if values:
                conditions.append({field: {"$in": list(values)}})
        if before is not None:
            published_at, last_id = before
            conditions.append(
                {
                    "$or": [
                        {"published_at": {"$lt": published_at}},
                        {"published_at": published_at, "_id": {"$lt": last_id}},
                    ]
                }
            )
        if conditions:
            query = {"$and": conditions}
        cursor = self.collection.find(query).sort([("published_at", -1), ("_id", -1)]).limit(limit)
        return [PublishedItem.model_validate({**doc, "id": doc["_id"]}) async for doc in cursor]
