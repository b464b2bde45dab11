"""The notifier's unit of work: its projections, messages and schedule on one outbox writer."""

from __future__ import annotations

from services.notifier.storage.deliveries import INDEXES as DELIVERY_INDEXES
from services.notifier.storage.deliveries import DeliveryRepository
from services.notifier.storage.feed_items import INDEXES as FEED_INDEXES
from services.notifier.storage.feed_items import FeedItemRepository
from services.notifier.storage.jobs import INDEXES as JOB_INDEXES
from services.notifier.storage.jobs import JobQueue
from services.notifier.storage.messages import INDEXES as MESSAGE_INDEXES
from services.notifier.storage.messages import MessageRepository
from services.notifier.storage.projections import INDEXES as PROJECTION_INDEXES
from services.notifier.storage.projections import Projections
from services.notifier.storage.subscriptions import INDEXES as SUBSCRIPTION_INDEXES
from services.notifier.storage.subscriptions import SubscriptionRepository
from shared.runtime import Runtime
from shared.storage.outbox import OutboxWriter
from shared.storage.repository import Position, UnitOfWork


class NotifierUnitOfWork(UnitOfWork):
    def __init__(self, writer: OutboxWriter, *, applying: Position | None = None) -> None:
        super().__init__(writer, applying=applying)
        self.projections = Projections(writer)
        self.messages = MessageRepository(self)
        self.jobs = JobQueue(writer)
        self.feed_items = FeedItemRepository(writer)
        self.subscriptions = SubscriptionRepository(self)
        self.deliveries = DeliveryRepository(self)

    async def ensure_indexes(self) -> None:
        """For MongoDB deployments' scans; FerretDB reads by `_id` or scans."""
        for keys in JOB_INDEXES:
            await self.jobs.collection.create_index(keys)
        for keys in MESSAGE_INDEXES:
            await self.messages.collection.create_index(keys)
        for keys in FEED_INDEXES:
            await self.feed_items.collection.create_index(keys)
        for keys in SUBSCRIPTION_INDEXES:
            await self.subscriptions.collection.create_index(keys)
        for keys in DELIVERY_INDEXES:
            await self.deliveries.collection.create_index(keys)
        for collection, indexes in PROJECTION_INDEXES.items():
            for keys in indexes:
                await self.db[collection].create_index(keys)


def notifier_unit_of_work(runtime: Runtime, applying: Position | None) -> NotifierUnitOfWork:
    return NotifierUnitOfWork(runtime.outbox, applying=applying)
