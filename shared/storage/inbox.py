"""Durable record of the events a service has applied, for idempotent consumers.

Keyed by CloudEvents `source|id`; the unique `_id` makes recording itself idempotent.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.kafka.codec import EventEnvelope
from shared.storage.mongo import Document

INBOX_COLLECTION = "inbox"


class Inbox:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[INBOX_COLLECTION]

    async def seen(self, dedup_key: str) -> bool:
        return await self.collection.find_one({"_id": dedup_key}, {"_id": 1}) is not None

    async def record(self, envelope: EventEnvelope) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one(
                {"_id": envelope.dedup_key, "type": envelope.type, "applied_at": datetime.now(UTC)}
            )
