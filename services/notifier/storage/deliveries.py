"""Webhook deliveries, one document each (`_id` = the `webhook-id`), and their jobs.

Planning inserts first and lets the unique `_id` answer "planned before?", as messages do,
then schedules a `webhook` job for every delivery given (a crash between the two writes is
mended by planning again)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.errors import BulkWriteError

from services.notifier.domain.deliveries import Delivery
from services.notifier.storage.jobs import Job, JobQueue
from shared.storage.mongo import Document, duplicates_refused
from shared.storage.repository import DocumentRepository

DELIVERIES = "deliveries"
WEBHOOK_JOB = "webhook"
INDEXES: list[list[tuple[str, int]]] = [[("subscription_id", 1), ("created_at", -1), ("_id", -1)]]


class DeliveryRepository(DocumentRepository[Delivery]):
    collection_name = DELIVERIES

    def to_document(self, entity: Delivery) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> Delivery:
        return Delivery.model_validate({**doc, "id": doc["_id"]})

    async def plan(self, deliveries: Sequence[Delivery], jobs: JobQueue) -> int:
        """Store the deliveries not planned before and schedule them; how many were new."""
        if not deliveries:
            return 0
        documents = [{**self.to_document(d), "version": 1} for d in deliveries]
        refused: list[int] = []
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            refused = duplicates_refused(exc)
        await jobs.schedule_new([Job(WEBHOOK_JOB, d.id, d.created_at) for d in deliveries])
        return len(deliveries) - len(refused)

    async def page(
        self, subscription_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[Delivery]:
        """A subscription's deliveries, newest first, after the cursor's (created_at, id)."""
        conditions: list[Document] = [{"subscription_id": subscription_id}]
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
        cursor = (
            self.collection.find({"$and": conditions})
            .sort([("created_at", -1), ("_id", -1)])
            .limit(limit)
        )
        return [self.entity_of(doc) async for doc in cursor]
