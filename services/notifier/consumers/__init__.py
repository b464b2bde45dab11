"""What the notifier service consumes from Kafka: a typed handler per event contract."""

from __future__ import annotations

from shared.kafka.handlers import Subscription
from shared.pings import pings_heard
from shared.storage.repository import UnitOfWork

subscription: Subscription[UnitOfWork] = Subscription()
subscription.include(pings_heard)
