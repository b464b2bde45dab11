"""What the events service consumes from Kafka: a typed handler per event contract."""

from __future__ import annotations

from services.events import application
from services.events.domain.organizations import KnownOrganization
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.events.registry import ORGANIZATION_EVENTS, OrganizationEvent
from shared.kafka.handlers import Delivered, Subscription
from shared.pings import pings_heard

subscription: Subscription[EventsUnitOfWork] = Subscription()
subscription.include(pings_heard)


@subscription.on(*ORGANIZATION_EVENTS)
async def organization_changed(event: Delivered[OrganizationEvent], uow: EventsUnitOfWork) -> None:
    await application.keep_organization(uow, KnownOrganization.from_event(event.payload))
