"""Durable record of the events a service has applied, for idempotent consumers.

Keyed by CloudEvents `source|id`; the unique `_id` makes recording itself idempotent.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
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


APPLIED = "applied_events"


async def apply_once(
    collection: AsyncCollection[Document], doc_id: Any, envelope: EventEnvelope, update: Document
) -> bool:
    """Apply `update` to one document at most once per event; False if it was already applied.

    The inbox skips redeliveries before a handler runs, but a write whose reply was lost (the
    database restarted mid-request) leaves the handler unsure whether it took effect. Putting
    the event's key in the same single-document update as the effect makes the retry safe.
    The key list grows by one per event that touches the document (FerretDB ignores `$slice`),
    so use this for effects on aggregates; write per-event facts keyed by event id instead
    where one document would receive an unbounded stream of events.
    """
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[APPLIED] = envelope.dedup_key
    try:
        await collection.update_one(
            {"_id": doc_id, APPLIED: {"$ne": envelope.dedup_key}}, merged, upsert=True
        )
    except DuplicateKeyError:
        return False  # the document exists and already holds this event's key
    return True
