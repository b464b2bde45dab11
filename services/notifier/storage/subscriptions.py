"""Funders' subscriptions, one document each (`_id` = "sub_…"), written with a compare-and-set
on their version."""

from __future__ import annotations

from datetime import datetime

from services.notifier.domain.subscriptions import Subscription, SubscriptionStatus
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

SUBSCRIPTIONS = "subscriptions"
INDEXES: list[list[tuple[str, int]]] = [
    [("owner_id", 1), ("created_at", -1), ("_id", -1)],
    [("status", 1)],
]


class SubscriptionRepository(DocumentRepository[Subscription]):
    collection_name = SUBSCRIPTIONS

    def to_document(self, entity: Subscription) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> Subscription:
        return Subscription.model_validate({**doc, "id": doc["_id"]})

    async def active(self) -> list[Subscription]:
        """Every active subscription (a fan-out reads them all: few, and filters are lists)."""
        cursor = self.collection.find({"status": SubscriptionStatus.ACTIVE.value})
        return [self.entity_of(doc) async for doc in cursor]

    async def page(
        self, owner_id: str | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[Subscription]:
        """Newest first, after the cursor's (created_at, id); one owner's, or everyone's."""
        conditions: list[Document] = [{"deleted_at": None}]  # null or absent: not deleted
        if owner_id is not None:
            conditions.append({"owner_id": owner_id})
        if before is not None:
            created_at, last_id = before
            conditions.append(
                {
                    "$or": [
                        {"created_at": {"$lt": created_at}},
                        {"created_at": created_at, "_id": {"$lt": last_id}},
                    ]
                }
            )
        query: Document = {"$and": conditions}
        cursor = self.collection.find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit)
        return [self.entity_of(doc) async for doc in cursor]
