"""What the events service consumes from Kafka: a typed handler per event contract."""

from __future__ import annotations

from services.events import application
from services.events.domain.organizations import KnownOrganization
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.events.encuentros import EncuentroPublished
from shared.events.registry import ORGANIZATION_EVENTS, OrganizationEvent
from shared.kafka.handlers import Delivered, Subscription
from shared.pings import pings_heard

subscription: Subscription[EventsUnitOfWork] = Subscription()
subscription.include(pings_heard)


@subscription.on(*ORGANIZATION_EVENTS)
async def organization_changed(event: Delivered[OrganizationEvent], uow: EventsUnitOfWork) -> None:
    await application.keep_organization(uow, KnownOrganization.from_event(event.payload))


@subscription.on(EncuentroPublished)
async def encuentro_published(event: Delivered[EncuentroPublished], uow: EventsUnitOfWork) -> None:
    """Invitations fan out from the service's own event, so publishing is one quick write and
    each invitation is its own event, even for thousands of organisations."""
    await application.invite_for_publication(
        uow, event.payload.encuentro_id, event.payload.occurred_at
    )
