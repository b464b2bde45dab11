"""The walking skeleton's end-to-end flow, shared by the three services that consume it.

The registry emits `SystemPingSent`; events, metrics and notifier each record, in their own
database, that they heard it. It is also the smallest example of a batch-capable projection:
one unordered bulk insert per run of pings. `times_applied` makes a double application
visible to the reliability tests: a ping whose document exists and does not carry this
event's position is counted again, so anything that let an event through twice shows as 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo.errors import BulkWriteError

from shared.events.pings import SystemPingSent
from shared.kafka.handlers import Delivered, Subscription
from shared.storage.mongo import Document, duplicates_refused
from shared.storage.repository import APPLIED, UnitOfWork, positions_of

RECEIVED_PINGS = "received_pings"

pings_heard: Subscription[UnitOfWork] = Subscription()


@pings_heard.on_batch(SystemPingSent)
async def record_pings(events: Sequence[Delivered[SystemPingSent]], uow: UnitOfWork) -> None:
    collection = uow.db[RECEIVED_PINGS]
    now = datetime.now(UTC)
    docs: list[Document] = [
        {
            "_id": event.payload.ping_id,
            "message": event.payload.message,
            "sent_at": event.payload.sent_at,
            "received_at": now,
            "times_applied": 1,
            APPLIED: [{"partition": event.position.partition, "offset": event.position.offset}],
        }
        for event in events
    ]
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        for index in duplicates_refused(exc):
            event = events[index]
            existing = await collection.find_one({"_id": event.payload.ping_id}) or {}
            applied = positions_of(existing).get(event.position.partition, -1)
            if applied < event.position.offset:  # not this delivery's doing: count it
                await collection.update_one(
                    {"_id": event.payload.ping_id}, {"$inc": {"times_applied": 1}}
                )
