"""The outbox relay: publishes the entries `shared.storage.outbox` writes, forever.

Hot path: the writer hints a document with its entries after its write; the relay publishes a
batch of hints with one wait for all acknowledgements, and deletes their markers in one
command while it sends the next batch. The marker pass (at start-up and every
`outbox_scan_seconds`) publishes whatever a crash, another process or a lost hint left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from shared import faults
from shared.kafka.clients import create_producer, ensure_topics
from shared.kafka.codec import to_record, tombstone_headers
from shared.metrics import OUTBOX_OLDEST_SECONDS, OUTBOX_PENDING, OUTBOX_PUBLISHED
from shared.restart import keep_running
from shared.settings import ServiceSettings
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document
from shared.storage.outbox import (
    MARKERS,
    OUTBOX,
    STALE_MARKER,
    STAMP,
    TOMBSTONE,
    Hint,
    marker_id,
)

log = structlog.get_logger(__name__)


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
