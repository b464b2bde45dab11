"""Transactional outbox without multi-document transactions.

FerretDB has no transactions, so the events a state change causes live *inside the changed
document*: `outbox.<event id>` entries plus an `outbox_pending` flag, written by the same
single-document insert or update as the state. Either both land or neither does.

The relay publishes a document's pending events in order (idempotent producer, acks=all),
and only then removes the entries. A crash before the removal republishes on restart;
consumers drop the duplicate by CloudEvents id.
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
from shared.storage.locks import DocumentLocks
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
    merged["$set"][PENDING] = True
    return merged


def new_document_with_outbox(document: Document, entries: dict[str, Document]) -> Document:
    """A document to insert, carrying its creation events."""
    return {**document, "outbox": entries, PENDING: True}


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, forever.

    Hot path: writers hint `(collection, _id)` after their write, and the relay reads just
    that document by `_id` (the one lookup FerretDB pushes down to SQLite). A full pass over
    the collections runs at start-up (entries left by a crash) and every `outbox_scan_seconds`
    as a safety net (entries written by an instance that died before publishing).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        db: AsyncDatabase[Document],
        collections: list[str],
        locks: DocumentLocks | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.collections = collections
        self.locks = locks or DocumentLocks()
        self._hints: dict[tuple[str, Any], int] = {}  # (collection, _id) → lookups tried
        self._wake = asyncio.Event()

    def notify(self, collection: str, doc_id: Any) -> None:
        """Called after a write: publish that document's events now."""
        self._hints[(collection, doc_id)] = 0
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
            await self.publish_pending(producer, every_document=True)
            next_scan = time.monotonic() + self.settings.outbox_scan_seconds
            while True:
                if time.monotonic() >= next_scan:
                    await self.publish_pending(producer)
                    next_scan = time.monotonic() + self.settings.outbox_scan_seconds
                await self.publish_hinted(producer)
                self._wake.clear()
                if self._hints:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.outbox_scan_seconds)
        finally:
            await producer.stop()

    async def publish_hinted(self, producer: Any, batch: int = 200) -> int:
        """Publish the hinted documents, a batch at a time (each one's entries in order)."""
        published = 0
        while self._hints:
            chunk: list[tuple[tuple[str, Any], int]] = []
            while self._hints and len(chunk) < batch:
                chunk.append(self._hints.popitem())
            missing: list[tuple[tuple[str, Any], int]] = []
            try:
                for name in {name for (name, _), _ in chunk}:
                    keys = [(key, tries) for key, tries in chunk if key[0] == name]
                    # Bare `_id` lookups: FerretDB scans when a projection is added.
                    found = await asyncio.gather(
                        *(self.db[name].find_one({"_id": key[1]}) for key, _ in keys)
                    )
                    missing += [kt for kt, doc in zip(keys, found, strict=True) if doc is None]
                    docs = [doc for doc in found if doc is not None]
                    published += await self._publish_documents(producer, name, docs)
            except BaseException:
                for key, tries in chunk:
                    self._hints[key] = tries  # retried after the reconnect
                raise
            # A read can briefly miss a write FerretDB just committed (SQLite snapshot of another
            # connection): look again a few times, then leave it to the periodic pass.
            for key, tries in missing:
                if tries < 5:
                    self._hints[key] = tries + 1
            if missing and self._hints:
                await asyncio.sleep(0.05)
        OUTBOX_PENDING.set(len(self._hints))
        return published

    async def publish_pending(
        self, producer: Any, batch: int = 500, *, every_document: bool = False
    ) -> int:
        """A pass over every collection; returns how many events were published.

        Periodic passes look at flagged documents (an index on MongoDB). The start-up pass
        looks at every document's outbox, so an entry whose flag another instance cleared in
        the instant before this one crashed is still found.
        """
        published = 0
        pending = 0
        oldest: datetime | None = None
        for name in self.collections:
            query = {} if every_document else {PENDING: True}
            cursor = self.db[name].find(query, {"outbox": 1})
            if not every_document:
                cursor = cursor.limit(batch)
            docs = [doc async for doc in cursor if doc.get("outbox")]
            for doc in docs:
                for entry in (doc.get("outbox") or {}).values():
                    pending += 1
                    oldest = entry["time"] if oldest is None else min(oldest, entry["time"])
            published += await self._publish_documents(producer, name, docs)
        OUTBOX_PENDING.set(max(0, pending - published))
        OUTBOX_OLDEST_SECONDS.set(
            0
            if oldest is None or published >= pending
            else (datetime.now(UTC) - oldest).total_seconds()
        )
        if published:
            log.info("outbox_pass_published", events=published)
        return published

    async def _publish_documents(self, producer: Any, name: str, docs: list[Document]) -> int:
        """Publish the documents' entries (each document's in order), then remove them.

        One wait for all the acknowledgements instead of one per document: per-document round
        trips capped the relay at a few dozen events per second. Clearing the flag without
        re-reading is safe: a writer that adds entries meanwhile sets the flag itself and hints
        its own relay, which publishes them.
        """
        futures = []
        removals: list[tuple[Any, Document]] = []
        for doc in docs:
            entries = sorted((doc.get("outbox") or {}).items(), key=lambda kv: kv[1]["seq"])
            if not entries:
                continue
            for event_id, entry in entries:
                record = self._record(event_id, entry)
                key = record.key.encode() if isinstance(record.key, str) else record.key
                futures.append(
                    await producer.send(
                        entry["topic"],
                        value=record.value,
                        key=key,
                        headers=list(record.headers.items()),
                    )
                )
                OUTBOX_PUBLISHED.labels(entry["topic"]).inc()
            removals.append(
                (
                    doc["_id"],
                    {
                        "$unset": {f"outbox.{event_id}": "" for event_id, _ in entries},
                        "$set": {PENDING: False},
                    },
                )
            )
        if not futures:
            return 0
        await asyncio.gather(*futures)
        faults.maybe_crash(faults.AFTER_PUBLISH, self.settings.fault_point)
        # One update at a time: FerretDB 1.24 stalls on a multi-statement bulk update, and
        # concurrent writers to one SQLite file only wait on each other's lock.
        collection = self.db[name]
        for doc_id, update in removals:
            async with self.locks.hold(name, doc_id):  # see shared.storage.locks
                await collection.update_one({"_id": doc_id}, update)
        return len(futures)

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
