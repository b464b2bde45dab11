"""E-mail messages, one document each, and their jobs on the schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.errors import BulkWriteError

from services.notifier.domain.messages import Message, MessageStatus
from services.notifier.storage.jobs import Job, JobQueue
from shared.storage.mongo import Document, duplicates_refused
from shared.storage.repository import DocumentRepository

MESSAGES = "messages"
MAIL_JOB = "mail"
INDEXES: list[list[tuple[str, int]]] = [
    [("created_at", -1), ("_id", -1)],
    [("to.registration_id", 1), ("status", 1)],
]


class MessageRepository(DocumentRepository[Message]):
    collection_name = MESSAGES

    def to_document(self, entity: Message) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> Message:
        return Message.model_validate({**doc, "id": doc["_id"]})

    async def plan(self, messages: Sequence[Message], jobs: JobQueue) -> int:
        """Store the messages not planned before and schedule their sending; how many were new.

        The jobs are scheduled for every message given, new or not: a crash between the two
        writes leaves a message without its job, and planning it again (the redelivered event)
        gives it one. A job whose message is done is finished without sending."""
        if not messages:
            return 0
        documents = [{**self.to_document(m), "version": 1} for m in messages]
        refused: list[int] = []
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            refused = duplicates_refused(exc)
        await jobs.schedule_new([Job(MAIL_JOB, m.id, m.created_at) for m in messages])
        return len(messages) - len(refused)

    async def pending_for(self, registration_id: str) -> list[Message]:
        cursor = self.collection.find(
            {"to.registration_id": registration_id, "status": MessageStatus.PENDING.value}
        )
        return [self.entity_of(doc) async for doc in cursor]

    async def page(self, before: tuple[datetime, str] | None, limit: int) -> list[Message]:
        """Newest first, after the cursor's (created_at, id)."""
        query: Document = {}
        if before is not None:
            created_at, last_id = before
            query = {
                "$or": [
                    {"created_at": {"$lt": created_at}},
                    {"created_at": created_at, "_id": {"$lt": last_id}},
                ]
            }
        cursor = self.collection.find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit)
        return [self.entity_of(doc) async for doc in cursor]
