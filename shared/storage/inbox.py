"""Durable record of the events a service has handled, for idempotent consumers, a batch at
a time.

A batch of events is *claimed* with one unordered bulk insert (`inbox`, `_id` = CloudEvents
`source|id`, the batch's id), and *completed* with one insert of the batch's own document
(`inbox_batches`, listing what was dead-lettered). A claim that already exists means one of:
- its batch completed: this is a redelivery (a republished copy, or a crash before the offset
  commit), skip it;
- its batch never completed (the process died mid-batch): handle it again, under this batch.
Handlers make the second case harmless (`shared.storage.repository`: positions applied).

Everything is an insert or a read of an `_id` that exists: FerretDB serves those from SQLite's
primary key, while any other filter scans the collection.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.storage.mongo import Document, duplicates_refused

INBOX_COLLECTION = "inbox"
BATCHES_COLLECTION = "inbox_batches"
# What a rebuild drops with the projections (a replay must not find its events "seen").
INBOX_COLLECTIONS = (INBOX_COLLECTION, BATCHES_COLLECTION)


class InboxPort(Protocol):
    """What the consumer needs of an inbox (a fake of it serves the consumer's unit tests)."""

    async def claim(self, batch_id: str, keys: Sequence[str]) -> set[str]: ...

    async def complete(self, batch_id: str, dead_lettered: Sequence[str]) -> None: ...


def new_batch_id() -> str:
    return uuid.uuid4().hex


class Inbox:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.claims = db[INBOX_COLLECTION]
        self.batches = db[BATCHES_COLLECTION]

    async def claim(self, batch_id: str, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that must be handled in this batch: new ones, and those whose
        earlier batch died before completing. Safe to call again with the same arguments (an
        outage mid-claim): this batch's own claims count as new."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return set()
        now = datetime.now(UTC)
        claimed = set(unique)
        try:
            await self.claims.insert_many(
                [{"_id": key, "batch": batch_id, "claimed_at": now} for key in unique],
                ordered=False,
            )
        except BulkWriteError as exc:
            for index in duplicates_refused(exc):
                key = unique[index]
                if not await self._reclaim(batch_id, key):
                    claimed.discard(key)
        return claimed

    async def _reclaim(self, batch_id: str, key: str) -> bool:
        """A claim that exists: True (and it moves to this batch) when its batch never ended."""
        claim = await self.claims.find_one({"_id": key})
        if claim is None or claim.get("batch") == batch_id:
            return True
        if await self.batches.find_one({"_id": claim.get("batch")}) is not None:
            return False
        await self.claims.update_one({"_id": key}, {"$set": {"batch": batch_id}})
        return True

    async def complete(self, batch_id: str, dead_lettered: Sequence[str] = ()) -> None:
        """Mark every claim of the batch done, in one write (idempotent: an outage may make the
        consumer complete a batch twice)."""
        with contextlib.suppress(DuplicateKeyError):
            await self.batches.insert_one(
                {
                    "_id": batch_id,
                    "completed_at": datetime.now(UTC),
                    "dead_lettered": list(dead_lettered),
                }
            )
