"""Durable record of the events a service has applied, for idempotent consumers.

Keyed by CloudEvents `source|id`; the unique `_id` makes recording itself idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.kafka.codec import EventEnvelope
from shared.storage.mongo import Document

INBOX_COLLECTION = "inbox"
HANDLING = "handling"


class Inbox:
    """Claims are inserts: FerretDB answers an insert in ~0.5 ms, while a lookup of an `_id`
    that does not exist scans the collection (~15 ms at a few thousand documents), and every
    new event would be such a miss."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[INBOX_COLLECTION]

    async def claim(self, envelope: EventEnvelope) -> bool:
        """True when this event must be handled: new, or an earlier attempt died mid-way."""
        try:
            await self.collection.insert_one(
                {
                    "_id": envelope.dedup_key,
                    "type": envelope.type,
                    "state": HANDLING,
                    "claimed_at": datetime.now(UTC),
                }
            )
            return True
        except DuplicateKeyError:
            doc = await self.collection.find_one({"_id": envelope.dedup_key})
            return doc is not None and doc.get("state") == HANDLING

    async def complete(self, envelope: EventEnvelope, state: str = "applied") -> None:
        await self.collection.update_one(
            {"_id": envelope.dedup_key},
            {"$set": {"state": state, "completed_at": datetime.now(UTC)}},
        )


APPLIED = "applied_events"


async def apply_once(
    collection: AsyncCollection[Document], doc_id: Any, envelope: EventEnvelope, update: Document
) -> bool:
    """Apply `update` to one document at most once per event; False if it was already applied.

    The inbox skips redeliveries before a handler runs, but a write whose reply was lost (the
    database restarted mid-request) leaves the handler unsure whether it took effect. The
    event's key goes into the same single-document write as the effect, so the retry sees it.

    Only inserts and `_id` lookups of documents that exist: FerretDB serves those from SQLite's
    primary key, while any other filter, or a lookup that misses, scans the collection. A new
    document is an insert (atomic through the unique `_id`); an existing one is read, checked
    and updated by `_id`, which is safe because one consumer owns a partition, and so the
    aggregate, at a time. The key list grows by one per
    event that touches the document (FerretDB ignores `$slice`): for a document that would
    receive an unbounded stream of events, write per-event facts keyed by event id instead.
    Supports `$set`, `$setOnInsert`, `$inc` and `$push` of single values.
    """
    key = envelope.dedup_key
    try:  # insert first: a lookup of a missing `_id` is the one slow read on FerretDB
        await collection.insert_one({**_as_new_document(update), "_id": doc_id, APPLIED: [key]})
        return True
    except DuplicateKeyError:
        existing = await collection.find_one({"_id": doc_id}) or {}
    if key in (existing.get(APPLIED) or []):
        return False
    merged = {op: dict(fields) for op, fields in update.items() if op != "$setOnInsert"}
    merged.setdefault("$push", {})[APPLIED] = key
    await collection.update_one({"_id": doc_id}, merged)
    return True


def _as_new_document(update: Document) -> Document:
    """The document an upsert of `update` would create (for the supported operators)."""
    doc: Document = {}
    for op, fields in update.items():
        for path, value in fields.items():
            if "." in path:
                raise ValueError(f"apply_once: dotted path {path!r} is not supported")
            if op in ("$set", "$setOnInsert", "$inc"):
                doc[path] = value
            elif op == "$push":
                doc[path] = [value]
            else:
                raise ValueError(f"apply_once: operator {op} is not supported")
    return doc
