"""The walking skeleton's end-to-end flow, shared by the three services that consume it.

The registry emits `SystemPingSent`; events, metrics and notifier each record, in their own
database, that they heard it. `times_applied` makes a double application visible to the
reliability tests (the inbox must keep it at 1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.events.system import SystemPingSent
from shared.kafka.codec import EventEnvelope
from shared.kafka.consumer import Handler
from shared.storage.inbox import apply_once
from shared.storage.mongo import Document

RECEIVED_PINGS = "received_pings"


def record_ping_handler(db: AsyncDatabase[Document]) -> Handler:
    async def handle(envelope: EventEnvelope) -> None:
        ping = envelope.payload
        assert isinstance(ping, SystemPingSent)
        await apply_once(
            db[RECEIVED_PINGS],
            ping.ping_id,
            envelope,
            {
                "$setOnInsert": {
                    "message": ping.message,
                    "sent_at": ping.sent_at,
                    "received_at": datetime.now(UTC),
                },
                "$inc": {"times_applied": 1},
            },
        )

    return handle
