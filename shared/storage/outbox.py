"""Transactional outbox without multi-document transactions.

FerretDB has no transactions, so the events a state change causes live *inside the changed
document*: `outbox.<event id>` entries written by the same single-document insert or update as
the state. Either both land or neither does.

Finding unpublished entries must not mean scanning the state: on FerretDB 1.x every filter
other than a bare `_id` reads the whole collection. So before each write the writer upserts a
small *marker* (`outbox_markers`, `_id` = "<collection>:<document id>") with a fresh `stamp`,
and the write stores the same stamp in the document (`outbox_stamp`). A marker exists while a
document may hold unpublished entries; the relay deletes it (only if it still carries the
stamp of the entries it published) once they are on Kafka.

That gives the writer a cheap fact: when its marker upsert *created* the marker, everything
the document held was published, so the write replaces the whole `outbox` field with its own
entries and hands them to the relay in memory (the hot path reads nothing back). When the
marker was still there, the write adds its entries beside the older ones and the relay reads
the document. Published entries are removed from documents later, when the relay is idle
(`tidy`): nothing depends on it, it only keeps documents small.

A crash anywhere republishes on restart (the marker pass); consumers drop the duplicate by
CloudEvents id.

Tombstones (`shared.events.base.Tombstone`: "remove key K from compacted topic T") travel
exactly like events: a write hands them in the same list as its events, each becomes an entry
flagged `tombstone: true` (topic, key, seq, source, time, correlation id; no type, no data) in
the same single-document write, and the relay publishes it in `seq` order with the document's
other entries, as a record with the key, a null value and the `tombstone_*` headers of
`shared.kafka.codec` (no CloudEvents headers: it is no event), then forgets it like the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared import faults
from shared.context import correlation_id as current_correlation_id
from shared.events.base import Outgoing, Tombstone
from shared.events.topics import topic_name
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import new_event_id, to_record, tombstone_headers
from shared.metrics import OUTBOX_OLDEST_SECONDS, OUTBOX_PENDING, OUTBOX_PUBLISHED
from shared.restart import keep_running
from shared.settings import ServiceSettings
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document

log = structlog.get_logger(__name__)

OUTBOX = "outbox"
MARKERS = "outbox_markers"
VERSION_FIELD = "version"  # the repositories' compare-and-set field (`shared.storage.repository`)
STAMP = "outbox_stamp"
TOMBSTONE = "tombstone"  # an entry's flag: publish a null value for its key (no type, no data)
# A marker whose write never landed (the insert or compare-and-set failed, or the process died
# between marker and write) is dropped once it is this old and its document was published.
STALE_MARKER = timedelta(minutes=2)

_last_seq = 0


def marker_id(collection: str, doc_id: Any) -> str:
    return f"{collection}:{doc_id}"


# Events one write may carry: a versioned write orders its entries `version * SEQ_STEP + i`.
SEQ_STEP = 10_000


def outbox_entries(
    events: Iterable[Outgoing],
    settings: ServiceSettings,
    *,
    correlation_id: str | None = None,
    version: int | None = None,
) -> dict[str, Document]:
    """`{event id: entry}` for the given events and tombstones, in the order they happened; the
    correlation id defaults to the current request's or event's (`shared.context`).

    `seq` orders one document's entries for the relay. A write at a `version` (every
    repository's) takes it from the version, which the compare-and-set orders across processes
    and clocks; an unversioned write takes this process's clock (strictly increasing here).
    """
    global _last_seq
    correlation = correlation_id or current_correlation_id()
    entries: dict[str, Document] = {}
    now = datetime.now(UTC)
    for index, event in enumerate(events):
        event_id = new_event_id()
        if version is not None:
            seq = version * SEQ_STEP + index
        else:
            seq = _last_seq = max(time.time_ns(), _last_seq + 1)
        if isinstance(event, Tombstone):
            entries[event_id] = {
                "seq": seq,
                TOMBSTONE: True,
                "topic": topic_name(event.topic, settings.topic_prefix),
                "key": event.key,
                "source": settings.event_source,
                "time": now,
                "correlation_id": correlation,
                "version": version,
            }
            continue
        entries[event_id] = {
            "seq": seq,
            "type": event.ce_type(),
            "topic": topic_name(event.topic, settings.topic_prefix),
            "key": event.aggregate_id(),
            "source": settings.event_source,
            "time": now,
            "data": event.model_dump(mode="json"),
            "correlation_id": correlation,
            "version": version,
        }
    return entries


def with_outbox(
    update: Document, entries: dict[str, Document], stamp: str, *, replace: bool = False
) -> Document:
    """Add the entries to a MongoDB update document (`$set`/`$inc`), same atomic write:
    beside the document's older entries, or instead of them (`replace`, once they were
    published)."""
    merged = {op: dict(fields) for op, fields in update.items()}
    fields = merged.setdefault("$set", {})
    if replace:
        fields[OUTBOX] = entries
    else:
        fields.update({f"{OUTBOX}.{eid}": e for eid, e in entries.items()})
    fields[STAMP] = stamp
    return merged


def new_document_with_outbox(
    document: Document, entries: dict[str, Document], stamp: str
) -> Document:
    """A document to insert, carrying its creation events."""
    return {**document, OUTBOX: entries, STAMP: stamp}


async def filters_are_atomic(client: AsyncMongoClient[Document]) -> bool:
    """False on FerretDB 1.x: there a filtered update reads, filters in Go and writes back, with
    no isolation from another writer, and only a bare `_id` filter uses an index."""
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" not in info


@dataclass
class Hint:
    """A document whose entries should be published now: the entries themselves when the
    writer knows they are all there is (`entries`), else None and the relay reads it."""

    stamp: str | None
    entries: dict[str, Document] | None

    def absorb(self, later: Hint) -> Hint:
        if self.entries is None or later.entries is None:
            return Hint(later.stamp, None)
        return Hint(later.stamp, {**self.entries, **later.entries})


class OutboxWriter:
    """Single-document writes that carry their events, for every repository of a service.

    Each write: marker upsert, then the state with its entries (under the document's lock, see
    `shared.storage.locks`), then a hint to the relay so it publishes at once.
    `atomic_filters` comes from `filters_are_atomic`: on MongoDB a compare-and-set is the update's
    filter; on FerretDB it is a read by `_id` and a comparison under the lock, which is as safe
    there (one instance per service) and avoids a filter that would scan the collection.
    A writer without a relay (the CLI) leaves publication to the running service's marker pass.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        settings: ServiceSettings,
        locks: DocumentLocks,
        *,
        relay: OutboxRelay | None = None,
        atomic_filters: bool = True,
    ) -> None:
        self.db = db
        self.settings = settings
        self.locks = locks
        self.relay = relay
        self.atomic_filters = atomic_filters

    async def insert(
        self,
        collection: str,
        document: Document,
        events: Iterable[Outgoing],
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
            entries = outbox_entries(
                events,
                self.settings,
                correlation_id=correlation_id,
                version=document.get(VERSION_FIELD),
            )
            if not entries:  # nothing to publish: no marker, no outbox fields
                await self.db[collection].insert_one(document)
                return
            fresh = await self._mark(collection, doc_id, stamp)
            try:
                await self.db[collection].insert_one(
                    new_document_with_outbox(document, entries, stamp)
                )
            except BaseException:
                self._hint(collection, doc_id, Hint(stamp, None))  # in case it landed after all
                raise
        self._written(collection, doc_id, Hint(stamp, entries if fresh else None))

    async def update(
        self,
        collection: str,
        doc_id: Any,
        update: Document,
        events: Iterable[Outgoing],
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
            entries = outbox_entries(
                events,
                self.settings,
                correlation_id=correlation_id,
                version=update.get("$set", {}).get(VERSION_FIELD),
            )
            if expect and self.atomic_filters:
                query.update(expect)
            elif expect:
                current = await self.db[collection].find_one({"_id": doc_id})
                if current is None or any(current.get(k) != v for k, v in expect.items()):
                    return False
            if not entries:  # nothing to publish: no marker, the outbox fields left alone
                result = await self.db[collection].update_one(query, update)
                return result.matched_count == 1
            fresh = await self._mark(collection, doc_id, stamp)
            try:
                result = await self.db[collection].update_one(
                    query, with_outbox(update, entries, stamp, replace=fresh)
                )
            except BaseException:
                self._hint(collection, doc_id, Hint(stamp, None))  # in case it landed after all
                raise
            if result.matched_count != 1:
                return False
        self._written(collection, doc_id, Hint(stamp, entries if fresh else None))
        return True

    async def _mark(self, collection: str, doc_id: Any, stamp: str) -> bool:
        """Upsert the document's marker; True when it did not exist (nothing unpublished)."""
        result = await self.db[MARKERS].update_one(
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
        return result.upserted_id is not None

    def _hint(self, collection: str, doc_id: Any, hint: Hint) -> None:
        if self.relay is not None:
            self.relay.notify(collection, doc_id, hint)

    def _written(self, collection: str, doc_id: Any, hint: Hint) -> None:
        faults.maybe_crash(faults.AFTER_STATE_WRITE, self.settings.fault_point)
        self._hint(collection, doc_id, hint)


@dataclass
class _Publication:
    """One document's entries as published in a batch, and the marker stamp they clear."""

    collection: str
    doc_id: Any
    stamp: str | None
    entries: list[tuple[str, Document]]
    clear_marker: bool = True


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, forever.

    Hot path: the writer hints `(collection, _id)` with its entries after its write; the relay
    publishes a batch of hints with one wait for all acknowledgements and deletes their markers
    in one write. A pass over the markers runs at start-up (entries left by a crash) and every
    `outbox_scan_seconds` as a safety net (entries of another process, of a CLI, or whose hint
    was lost); it costs as much as there are documents with unpublished events.
    """

    MAX_HINTS = 10_000  # beyond this (a long broker outage) the marker pass takes over
    MAX_TIDY = 10_000
    RECENT = 50_000  # event ids remembered as published, not to send them again

    def __init__(
        self,
        settings: ServiceSettings,
        db: AsyncDatabase[Document],
        collections: Iterable[str],
        locks: DocumentLocks,
    ) -> None:
        self.settings = settings
        self.db = db
        self.collections = list(collections)
        self.locks = locks
        self._hints: dict[tuple[str, Any], Hint] = {}
        self._tries: dict[tuple[str, Any], int] = {}  # reads that missed the document
        self._tidy: dict[tuple[str, Any], set[str]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._clearing: asyncio.Task[None] | None = None  # a batch's markers being deleted
        self._wake = asyncio.Event()

    def notify(self, collection: str, doc_id: Any, hint: Hint | None = None) -> None:
        """Called after a write: publish that document's events now."""
        key = (collection, doc_id)
        hint = hint or Hint(None, None)
        if key in self._hints:
            self._hints[key] = self._hints[key].absorb(hint)
        elif len(self._hints) < self.MAX_HINTS:
            self._hints[key] = hint
        self._wake.set()

    @property
    def pending_hints(self) -> int:
        return len(self._hints)

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
                await self.publish_hinted(producer, settle=False)
                self._wake.clear()
                if self._hints:
                    continue
                await self.settle_markers()  # idle: the last batch's markers, before tidying
                if self._tidy:
                    await self.tidy()
                    continue
                with contextlib.suppress(TimeoutError):
                    timeout = max(0.0, next_scan - time.monotonic())
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            if self._clearing is not None:  # its markers are left to the next pass
                self._clearing.cancel()
                self._clearing = None
            await producer.stop()

    async def publish_hinted(self, producer: Any, batch: int = 500, *, settle: bool = True) -> int:
        """Publish the hinted documents, a batch at a time (each one's entries in order); a
        batch's markers are deleted while the next one is sent. `settle`: wait for the last
        batch's too (the loop does not: new hints go out while they are deleted)."""
        published = 0
        while self._hints:
            chunk: list[tuple[tuple[str, Any], Hint]] = []
            while self._hints and len(chunk) < batch:
                key = next(iter(self._hints))
                chunk.append((key, self._hints.pop(key)))
            try:
                publications = await self._publications_of(chunk)
                published += await self._publish(producer, publications)
            except BaseException:
                for key, hint in chunk:  # retried after the reconnect
                    self._hints[key] = hint.absorb(self._hints[key]) if key in self._hints else hint
                raise
            if self._hints and all(k in self._tries for k in self._hints):
                await asyncio.sleep(0.05)  # only reads that missed: give FerretDB a moment
        if settle:
            await self.settle_markers()
        OUTBOX_PENDING.set(len(self._hints))
        return published

    async def _publications_of(
        self, chunk: list[tuple[tuple[str, Any], Hint]]
    ) -> list[_Publication]:
        """What to publish for a batch of hints: their entries, or the documents' (one read by
        `_id` each; FerretDB scans when a projection is added)."""
        publications: list[_Publication] = []
        to_read = [(key, hint) for key, hint in chunk if hint.entries is None]
        for (name, doc_id), hint in chunk:
            if hint.entries is not None:
                publications.append(_Publication(name, doc_id, hint.stamp, _ordered(hint.entries)))
        found = await asyncio.gather(
            *(self.db[name].find_one({"_id": doc_id}) for (name, doc_id), _ in to_read)
        )
        for (key, hint), doc in zip(to_read, found, strict=True):
            if doc is None or (hint.stamp is not None and doc.get(STAMP) != hint.stamp):
                # A read can briefly miss a write FerretDB just committed (SQLite snapshot of
                # another connection), or show the document before it: look again a few times
                # (a later write's stamp counts as a miss too), then leave it to the pass.
                tries = self._tries.get(key, 0)
                if key in self._hints:
                    pass  # a later write's hint is pending: it covers this one
                elif tries < 5:
                    self._tries[key] = tries + 1
                    self._hints[key] = hint
                else:
                    self._tries.pop(key, None)
                continue
            self._tries.pop(key, None)
            publications.append(
                _Publication(key[0], key[1], doc.get(STAMP), _ordered(doc.get(OUTBOX) or {}))
            )
        return publications

    async def publish_pending(self, producer: Any) -> int:
        """A pass over every marker; returns how many events were published."""
        markers = [
            m async for m in self.db[MARKERS].find({}) if m.get("collection") in self.collections
        ]
        published = pending = 0
        oldest: datetime | None = None
        now = datetime.now(UTC)
        for start in range(0, len(markers), 500):
            part = markers[start : start + 500]
            docs = await asyncio.gather(
                *(self.db[m["collection"]].find_one({"_id": m["doc_id"]}) for m in part)
            )
            publications = []
            for marker, doc in zip(part, docs, strict=True):
                entries = _ordered((doc or {}).get(OUTBOX) or {})
                unpublished = [e for eid, e in entries if eid not in self._recent]
                pending += len(unpublished)
                for entry in unpublished:
                    oldest = entry["time"] if oldest is None else min(oldest, entry["time"])
                # The marker goes when it belongs to the write read here, or when it is stale:
                # its own write never landed, and what the document holds is published now.
                same = doc is not None and doc.get(STAMP) == marker["stamp"]
                stale = marker["at"] < now - STALE_MARKER
                publications.append(
                    _Publication(
                        marker["collection"],
                        marker["doc_id"],
                        marker["stamp"],
                        entries,
                        clear_marker=same or stale,
                    )
                )
            published += await self._publish(producer, publications, tidy_now=True)
        OUTBOX_PENDING.set(max(0, pending - published))
        OUTBOX_OLDEST_SECONDS.set(
            0 if oldest is None or published >= pending else (now - oldest).total_seconds()
        )
        if published:
            log.info("outbox_pass_published", events=published)
        return published

    async def _publish(
        self, producer: Any, publications: list[_Publication], *, tidy_now: bool = False
    ) -> int:
        """Publish the entries (each document's in order, skipping those this relay already
        sent), wait once for every acknowledgement, then delete the markers in one write.

        One wait for all the acknowledgements instead of one per document: per-document round
        trips capped the relay at a few dozen events per second. A marker goes only if it still
        has the stamp of the write published here: a writer that added entries meanwhile
        renewed it, and they are published on its hint or by the next pass. The marker pass
        (`tidy_now`, not the hot path) also removes the entries from their documents before it
        deletes the markers; the hot path leaves that for when the relay is idle.
        """
        futures = []
        for publication in publications:
            for event_id, entry in publication.entries:
                if event_id in self._recent:
                    continue
                record = entry_record(event_id, entry)
                futures.append(
                    await producer.send(
                        entry["topic"], value=record.value, key=record.key, headers=record.headers
                    )
                )
                OUTBOX_PUBLISHED.labels(entry["topic"]).inc()
        if futures:
            await asyncio.gather(*futures)
            faults.maybe_crash(faults.AFTER_PUBLISH, self.settings.fault_point)
        for publication in publications:
            for event_id, _ in publication.entries:
                self._remember(event_id)
        for publication in publications:
            if publication.entries and len(self._tidy) < self.MAX_TIDY:
                ids = self._tidy.setdefault((publication.collection, publication.doc_id), set())
                ids.update(event_id for event_id, _ in publication.entries)
        clear = [p for p in publications if p.clear_marker and p.stamp]
        if tidy_now:  # the marker pass: entries out of the documents, then their markers
            await self.settle_markers()
            await self.tidy(only=[(p.collection, p.doc_id) for p in publications])
            await self._clear_markers(clear)
        else:
            await self._clear_markers_meanwhile(clear)
        return len(futures)

    async def _clear_markers(self, publications: list[_Publication]) -> None:
        """Delete the batch's markers that still carry the stamp published, under the
        documents' locks (no writer of this process can renew one meanwhile).

        One command on both backends: `{_id: {$in: ids}, stamp: {$in: stamps}}` selects exactly
        the markers still at a published stamp (a stamp is a fresh uuid4 per write, so it names
        one marker). On MongoDB it is indexed and atomic per marker. On FerretDB, which
        evaluates any filter but a bare `_id` against every marker, it is one scan; an `$or`
        of `{_id, stamp}` pairs was evaluated branch by branch (36 of the relay's 37 s for
        3,000 events), and a read then a delete was two scans. A writer of another process
        renewing a marker between FerretDB's read and its delete is the one race left; FerretDB
        runs one instance per service, and the locks keep this process's writers out.
        """
        if not publications:
            return
        keys = [(p.collection, p.doc_id) for p in publications]
        async with self._holding(keys):
            await self.db[MARKERS].delete_many(
                {
                    "_id": {"$in": [marker_id(*key) for key in keys]},
                    "stamp": {"$in": [p.stamp for p in publications]},
                }
            )

    async def _clear_markers_meanwhile(self, publications: list[_Publication]) -> None:
        """Start deleting a batch's markers and return: the next batch is sent while they go
        (one deletion in flight; `settle_markers` waits for it). A deletion that fails leaves
        its markers to the marker pass, which finds their entries published and drops them."""
        await self.settle_markers()
        if publications:
            self._clearing = asyncio.create_task(self._clear_markers(publications))

    async def settle_markers(self) -> None:
        """Wait for the markers being deleted, if any; re-raises the deletion's error."""
        clearing, self._clearing = self._clearing, None
        if clearing is not None:
            await clearing

    @asynccontextmanager
    async def _holding(self, keys: list[tuple[str, Any]]) -> AsyncIterator[None]:
        # Writers hold one lock at a time, so taking many in a fixed order cannot deadlock.
        async with AsyncExitStack() as stack:
            for collection, doc_id in sorted(set(keys), key=str):
                await stack.enter_async_context(self.locks.hold(collection, doc_id))
            yield

    async def tidy(self, most: int = 20, only: list[tuple[str, Any]] | None = None) -> None:
        """Remove published entries from their documents: a few at a time while idle, or those
        of the given documents."""
        keys = [k for k in only if k in self._tidy] if only is not None else list(self._tidy)
        for collection, doc_id in keys if only is not None else keys[:most]:
            if only is None and self._hints:
                break  # new writes first: tidying only keeps documents small
            event_ids = self._tidy.pop((collection, doc_id))
            async with self.locks.hold(collection, doc_id):
                await self.db[collection].update_one(
                    {"_id": doc_id}, {"$unset": {f"{OUTBOX}.{eid}": "" for eid in event_ids}}
                )

    def _remember(self, event_id: str) -> None:
        self._recent[event_id] = None
        if len(self._recent) > self.RECENT:
            self._recent.popitem(last=False)


def _ordered(entries: Mapping[str, Document]) -> list[tuple[str, Document]]:
    return sorted(entries.items(), key=lambda kv: kv[1]["seq"])


@dataclass(frozen=True)
class OutboxRecord:
    """The Kafka record of one outbox entry, as the producer takes it."""

    key: bytes
    value: bytes | None  # None: a tombstone
    headers: list[tuple[str, bytes]]


def entry_record(event_id: str, entry: Document) -> OutboxRecord:
    """The Kafka record of one outbox entry: an event in CloudEvents binary mode, or a
    tombstone (the key, a null value, `tombstone_*` headers)."""
    key = str(entry["key"]).encode()
    if entry.get(TOMBSTONE):
        headers = tombstone_headers(
            tombstone_id=event_id,
            source=entry["source"],
            time=entry["time"],
            correlation_id=entry.get("correlation_id"),
        )
        return OutboxRecord(key, None, list(headers.items()))
    message = to_record(
        entry["data"],
        ce_type=entry["type"],
        source=entry["source"],
        event_id=event_id,
        key=entry["key"],
        time=entry["time"],
        correlation_id=entry.get("correlation_id"),
        aggregate_version=entry.get("version"),
    )
    return OutboxRecord(key, message.value, list(message.headers.items()))
