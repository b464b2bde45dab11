"""What events consumes from Kafka, and the handler of each event."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from shared.events.system import SystemPingSent
from shared.events.topics import Topic
from shared.kafka.consumer import Subscription
from shared.storage.mongo import Document
from shared.system import record_ping_handler


def subscription(db: AsyncDatabase[Document]) -> Subscription:
    return Subscription(
        topics=[Topic.SYSTEM],
        handlers={SystemPingSent: record_ping_handler(db)},
    )
