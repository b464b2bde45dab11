"""Transactional outbox without multi-document transactions.

FerretDB has no transactions, so the events a state change causes live *inside the changed
document*: `outbox.<event id>` entries plus an `outbox_pending` counter, written by the same
single-document insert or update as the state. Either both land or neither does.

The relay finds documents with pending events, publishes them in order (idempotent producer,
acks=all), and only then removes each entry with a conditional `$unset`. A crash before the
removal republishes on restart; consumers drop the duplicate by CloudEvents id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from shared import faults
from shared.events.base import EventContract
from shared.events.topics import topic_name
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import new_event_id, to_record
from shared.metrics import OUTBOX_OLDEST_SECONDS, OUTBOX_PENDING, OUTBOX_PUBLISHED
from shared.settings import ServiceSettings
from shared.storage.mongo import Document

log = structlog.get_logger(__name__)

PENDING = "outbox_pending"


def outbox_entries(
    events: Iterable[EventContract],
    settings: ServiceSettings,
    *,
    correlation_id: str | None = None,
) -> dict[str, Document]:
    """`{event id: entry}` for the given events, in the order they happened."""
    entries: dict[str, Document] = {}
    now = datetime.now(UTC)
    for event in events:
        event_id = new_event_id()
        entries[event_id] = {
            "seq": time.time_ns(),
            "type": event.ce_type(),
            "topic": topic_name(event.topic, settings.topic_prefix),
            "key": event.aggregate_id(),
            "source": settings.event_source,
            "time": now,
            "data": event.model_dump(mode="json"),
            "correlation_id": correlation_id,
        }
    return entries


def with_outbox(update: Document, entries: dict[str, Document]) -> Document:
    """Add the entries to a MongoDB update document (`$set`/`$inc`), same atomic write."""
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$set", {}).update({f"outbox.{eid}": e for eid, e in entries.items()})
    merged.setdefault("$inc", {})[PENDING] = len(entries)
    return merged


def new_document_with_outbox(document: Document, entries: dict[str, Document]) -> Document:
    """A document to insert, carrying its creation events."""
    return {**document, "outbox": entries, PENDING: len(entries)}


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, forever."""

    def __init__(
        self, settings: ServiceSettings, db: AsyncDatabase[Document], collections: list[str]
    ) -> None:
        self.settings = settings
        self.db = db
        self.collections = collections
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Called after a write: publish now instead of waiting for the next poll."""
        self._wake.set()

    async def ensure_indexes(self) -> None:
        for name in self.collections:
            await self.db[name].create_index([(PENDING, 1)], name="outbox_pending")

    async def run_forever(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_relay_restarting", error=repr(exc), backoff=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def _run_once(self) -> None:
        await ensure_topics(self.settings)
        producer = create_producer(self.settings)
        await producer.start()
        try:
            while True:
                await self.publish_pending(producer)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_seconds)
        finally:
            await producer.stop()

    async def publish_pending(self, producer: Any, batch: int = 500) -> int:
        """One pass over every collection; returns how many events were published."""
        published = 0
        pending_total = 0
        oldest: datetime | None = None
        for name in self.collections:
            collection = self.db[name]
            cursor = collection.find({PENDING: {"$gt": 0}}, {"outbox": 1}).limit(batch)
            async for doc in cursor:
                entries = sorted((doc.get("outbox") or {}).items(), key=lambda kv: kv[1]["seq"])
                for _eid, entry in entries:
                    pending_total += 1
                    oldest = entry["time"] if oldest is None else min(oldest, entry["time"])
                sends = [
                    await producer.send(
                        entry["topic"],
                        value=msg.value,
                        key=msg.key.encode() if isinstance(msg.key, str) else msg.key,
                        headers=list(msg.headers.items()),
                    )
                    for eid, entry in entries
                    for msg in [self._record(eid, entry)]
                ]
                await asyncio.gather(*sends)
                faults.maybe_crash(faults.AFTER_PUBLISH, self.settings.fault_point)
                for eid, entry in entries:
                    await collection.update_one(
                        {"_id": doc["_id"], f"outbox.{eid}": {"$exists": True}},
                        {"$unset": {f"outbox.{eid}": ""}, "$inc": {PENDING: -1}},
                    )
                    OUTBOX_PUBLISHED.labels(entry["topic"]).inc()
                    published += 1
        OUTBOX_PENDING.set(max(0, pending_total - published))
        OUTBOX_OLDEST_SECONDS.set(
            0
            if oldest is None or published >= pending_total
            else (datetime.now(UTC) - oldest).total_seconds()
        )
        return published

    @staticmethod
    def _record(event_id: str, entry: Document) -> Any:
        return to_record(
            entry["data"],
            ce_type=entry["type"],
            source=entry["source"],
            event_id=event_id,
            key=entry["key"],
            time=entry["time"],
            correlation_id=entry.get("correlation_id"),
        )
