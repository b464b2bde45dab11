"""Transactional outbox without multi-document transactions.

FerretDB has no transactions, so the events a state change causes live *inside the changed
document*: `outbox.<event id>` entries written by the same single-document insert or update as
the state. Either both land or neither does.

Finding pending entries must not mean scanning the state: on FerretDB 1.x every filter other
than a bare `_id` reads the whole collection. So before each write, the writer upserts a small
*marker* (`outbox_markers`, `_id` = "<collection>:<document id>") carrying a fresh `stamp`,
and the write itself stores the same stamp in the document (`outbox_stamp`). The relay reads
markers (as many as documents with unpublished events, not as many as documents), publishes the
document's entries in order (idempotent producer, acks=all), removes them, and deletes the
marker only if its stamp is the one the document carried when read: a marker renewed by a later
write stays for the next pass. A crash anywhere republishes on restart; consumers drop the
duplicate by CloudEvents id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared import faults
from shared.events.base import EventContract
from shared.events.topics import topic_name
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import new_event_id, to_record
from shared.metrics import OUTBOX_OLDEST_SECONDS, OUTBOX_PENDING, OUTBOX_PUBLISHED
from shared.restart import keep_running
from shared.settings import ServiceSettings
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document

log = structlog.get_logger(__name__)

MARKERS = "outbox_markers"
STAMP = "outbox_stamp"
# A marker whose write never landed (the insert or compare-and-set failed, or the process died
# between marker and write) is dropped once it is this old and its document has nothing pending.
STALE_MARKER = timedelta(minutes=2)


_last_seq = 0


def marker_id(collection: str, doc_id: Any) -> str:
    return f"{collection}:{doc_id}"


def outbox_entries(
    events: Iterable[EventContract],
    settings: ServiceSettings,
    *,
    correlation_id: str | None = None,
) -> dict[str, Document]:
    """`{event id: entry}` for the given events, in the order they happened."""
    global _last_seq
    entries: dict[str, Document] = {}
    now = datetime.now(UTC)
    for event in events:
        event_id = new_event_id()
        _last_seq = max(time.time_ns(), _last_seq + 1)  # strictly increasing in this process
        entries[event_id] = {
            "seq": _last_seq,
            "type": event.ce_type(),
            "topic": topic_name(event.topic, settings.topic_prefix),
            "key": event.aggregate_id(),
            "source": settings.event_source,
            "time": now,
            "data": event.model_dump(mode="json"),
            "correlation_id": correlation_id,
        }
    return entries


def with_outbox(update: Document, entries: dict[str, Document], stamp: str) -> Document:
    """Add the entries to a MongoDB update document (`$set`/`$inc`), same atomic write."""
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$set", {}).update({f"outbox.{eid}": e for eid, e in entries.items()})
    merged["$set"][STAMP] = stamp
    return merged


def new_document_with_outbox(
    document: Document, entries: dict[str, Document], stamp: str
) -> Document:
    """A document to insert, carrying its creation events."""
    return {**document, "outbox": entries, STAMP: stamp}


async def filters_are_atomic(client: AsyncMongoClient[Document]) -> bool:
    """False on FerretDB 1.x: there a filtered update reads, filters in Go and writes back, with
    no isolation from another writer, and only a bare `_id` filter uses an index."""
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" not in info


class OutboxWriter:
    """Single-document writes that carry their events, for every repository of a service.

    Each write: marker upsert, then the state with its entries (under the document's lock, see
    `shared.storage.locks`), then a hint to the relay so it publishes at once.
    `atomic_filters` comes from `filters_are_atomic`: on MongoDB a compare-and-set is the update's
    filter; on FerretDB it is a read by `_id` and a comparison under the lock, which is as safe
    there (one instance per service) and avoids a filter that would scan the collection.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        settings: ServiceSettings,
        locks: DocumentLocks,
        *,
        notify: Callable[[str, Any], None] | None = None,
        atomic_filters: bool = True,
    ) -> None:
        self.db = db
        self.settings = settings
        self.locks = locks
        self.notify = notify
        self.atomic_filters = atomic_filters

    async def insert(
        self,
        collection: str,
        document: Document,
        events: Iterable[EventContract],
        *,
        correlation_id: str | None = None,
    ) -> None:
        """Insert a new document with its creation events; errors (duplicate key) propagate.

        A failed insert leaves its marker: the error may hide a write that landed (a lost
        reply), and the marker pass tells the two apart (stale markers go after two minutes).
        """
        doc_id = document["_id"]
        stamp = uuid.uuid4().hex
        async with self.locks.hold(collection, doc_id):
            entries = outbox_entries(events, self.settings, correlation_id=correlation_id)
            await self._mark(collection, doc_id, stamp)
            try:
                await self.db[collection].insert_one(
                    new_document_with_outbox(document, entries, stamp)
                )
            except BaseException:
                if self.notify is not None:
                    self.notify(collection, doc_id)  # in case it landed after all
                raise
        self._written(collection, doc_id)

    async def update(
        self,
        collection: str,
        doc_id: Any,
        update: Document,
        events: Iterable[EventContract],
        *,
        expect: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
    ) -> bool:
        """Apply `update` with its events if the document exists and its fields equal `expect`
        (compare-and-set); False when it does not, and then nothing was written.

        A refused compare-and-set leaves its marker: it replaced the marker of an earlier
        write (maybe another instance's) that may not be published yet. The marker pass
        publishes that and drops the marker once stale.
        """
        stamp = uuid.uuid4().hex
        query: Document = {"_id": doc_id}
        async with self.locks.hold(collection, doc_id):
            # Under the lock: `seq` then orders the entries as the writes happened.
            entries = outbox_entries(events, self.settings, correlation_id=correlation_id)
            if expect and self.atomic_filters:
                query.update(expect)
            elif expect:
                current = await self.db[collection].find_one({"_id": doc_id})
                if current is None or any(current.get(k) != v for k, v in expect.items()):
                    return False
            await self._mark(collection, doc_id, stamp)
            result = await self.db[collection].update_one(
                query, with_outbox(update, entries, stamp)
            )
            if result.matched_count != 1:
                return False
        self._written(collection, doc_id)
        return True

    async def _mark(self, collection: str, doc_id: Any, stamp: str) -> None:
        await self.db[MARKERS].update_one(
            {"_id": marker_id(collection, doc_id)},
            {
                "$set": {
                    "collection": collection,
                    "doc_id": doc_id,
                    "stamp": stamp,
                    "at": datetime.now(UTC),
                }
            },
            upsert=True,
        )

    def _written(self, collection: str, doc_id: Any) -> None:
        faults.maybe_crash(faults.AFTER_STATE_WRITE, self.settings.fault_point)
        if self.notify is not None:
            self.notify(collection, doc_id)


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, forever.

    Hot path: the writer hints `(collection, _id)` after its write and the relay reads just
    that document by `_id`. A pass over the markers runs at start-up (entries left by a crash)
    and every `outbox_scan_seconds` as a safety net (entries of another process, or of a CLI,
    or whose hint was lost); it costs as much as there are documents with unpublished events.
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

    async def run_forever(self) -> None:
        await keep_running(self._run_once, "outbox_relay_restarting")

    async def _run_once(self) -> None:
        await ensure_topics(self.settings)
        producer = create_producer(self.settings)
        await producer.start()
        try:
            next_scan = 0.0  # a pass first: whatever a crash left behind
            while True:
                if time.monotonic() >= next_scan:
                    await self.publish_pending(producer)
                    next_scan = time.monotonic() + self.settings.outbox_scan_seconds
                await self.publish_hinted(producer)
                self._wake.clear()
                if self._hints:
                    continue
                with contextlib.suppress(TimeoutError):
                    timeout = max(0.0, next_scan - time.monotonic())
                    await asyncio.wait_for(self._wake.wait(), timeout)
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
            # connection): look again a few times, then leave it to the marker pass.
            for key, tries in missing:
                if tries < 5:
                    self._hints[key] = tries + 1
            if missing and self._hints:
                await asyncio.sleep(0.05)
        OUTBOX_PENDING.set(len(self._hints))
        return published

    async def publish_pending(self, producer: Any, batch: int = 500) -> int:
        """A pass over every marker, `batch` documents at a time; returns how many events were
        published."""
        markers = [
            m async for m in self.db[MARKERS].find({}) if m.get("collection") in self.collections
        ]
        published = pending = 0
        oldest: datetime | None = None
        now = datetime.now(UTC)
        for start in range(0, len(markers), batch):
            for name in self.collections:
                ours = [m for m in markers[start : start + batch] if m["collection"] == name]
                found = await asyncio.gather(
                    *(self.db[name].find_one({"_id": m["doc_id"]}) for m in ours)
                )
                docs = []
                for marker, doc in zip(ours, found, strict=True):
                    entries = (doc or {}).get("outbox") or {}
                    for entry in entries.values():
                        pending += 1
                        oldest = entry["time"] if oldest is None else min(oldest, entry["time"])
                    if doc is not None and (entries or doc.get(STAMP) == marker["stamp"]):
                        docs.append(doc)  # published (if need be) and its marker cleaned up
                    elif marker["at"] < now - STALE_MARKER:
                        await self._drop_stale(name, marker)
                published += await self._publish_documents(producer, name, docs)
        OUTBOX_PENDING.set(max(0, pending - published))
        OUTBOX_OLDEST_SECONDS.set(
            0 if oldest is None or published >= pending else (now - oldest).total_seconds()
        )
        if published:
            log.info("outbox_pass_published", events=published)
        return published

    async def _drop_stale(self, name: str, marker: Document) -> None:
        """A marker whose write never landed (failed insert or compare-and-set, or a crash
        between marker and write): nothing of it can ever be published. Checked again under
        the document's lock, so a writer of this process cannot be between marker and write."""
        async with self.locks.hold(name, marker["doc_id"]):
            doc = await self.db[name].find_one({"_id": marker["doc_id"]})
            if doc is None or (not doc.get("outbox") and doc.get(STAMP) != marker["stamp"]):
                await self.db[MARKERS].delete_one({"_id": marker["_id"], "stamp": marker["stamp"]})

    async def _publish_documents(self, producer: Any, name: str, docs: list[Document]) -> int:
        """Publish the documents' entries (each document's in order), then remove them and
        their markers.

        One wait for all the acknowledgements instead of one per document: per-document round
        trips capped the relay at a few dozen events per second. The marker goes only if it
        still has the stamp of the write this relay read: a writer that added entries meanwhile
        renewed it, and they are published on its hint or by the next pass.
        """
        futures = []
        cleanups: list[tuple[Any, Document | None, Any]] = []  # (_id, removal, stamp read)
        for doc in docs:
            entries = sorted((doc.get("outbox") or {}).items(), key=lambda kv: kv[1]["seq"])
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
            removal: Document | None = None
            if entries:
                removal = {"$unset": {f"outbox.{event_id}": "" for event_id, _ in entries}}
            cleanups.append((doc["_id"], removal, doc.get(STAMP)))
        if futures:
            await asyncio.gather(*futures)
            faults.maybe_crash(faults.AFTER_PUBLISH, self.settings.fault_point)
        # One update at a time: FerretDB 1.24 stalls on a multi-statement bulk update, and
        # concurrent writers to one SQLite file only wait on each other's lock.
        collection, markers = self.db[name], self.db[MARKERS]
        for doc_id, removal, stamp in cleanups:
            async with self.locks.hold(name, doc_id):  # see shared.storage.locks
                if removal is not None:
                    await collection.update_one({"_id": doc_id}, removal)
                if stamp is not None:
                    await markers.delete_one({"_id": marker_id(name, doc_id), "stamp": stamp})
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
