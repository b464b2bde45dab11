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
CloudEvents id. The relay is `shared.storage.relay`.

Tombstones (`shared.events.base.Tombstone`: "remove key K from compacted topic T") travel
exactly like events: a write hands them in the same list as its events, each becomes an entry
flagged `tombstone: true` (topic, key, seq, source, time, correlation id; no type, no data) in
the same single-document write, and the relay publishes it in `seq` order with the document's
other entries, as a record with the key, a null value and the `tombstone_*` headers of
`shared.kafka.codec` (no CloudEvents headers: it is no event), then forgets it like the rest.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared import faults
from shared.context import correlation_id as current_correlation_id
from shared.events.base import Outgoing, Tombstone
from shared.events.topics import topic_name
from shared.kafka.codec import new_event_id
from shared.settings import ServiceSettings
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document

if TYPE_CHECKING:
    from shared.storage.relay import OutboxRelay

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
