"""What the notifier consumes from Kafka: a typed handler per event contract.

Handlers keep the projections and *plan* messages and deliveries; the dispatcher sends them.
`event.dedup_key` (CloudEvents source and id) is the cause a planned message's id derives
from, so a redelivered event plans nothing new."""

from __future__ import annotations

from services.notifier import application
from services.notifier.domain.items import (
    evidence_item,
    fulfilled_commitment_item,
    results_item,
)
from services.notifier.settings import NotifierSettings
from services.notifier.storage.projections import Contact
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from shared.events.commitments import CommitmentStatusChanged
from shared.events.encuentros import (
    ENCUENTRO_LIFECYCLE_EVENTS,
    EncuentroEvent,
    EncuentroResultsPublished,
    OrganizationInvited,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantsToInform,
    RegistrationCancelled,
    RegistrationPromoted,
)
from shared.events.metrics import EvidencePublished, MatchFound
from shared.events.registry import (
    ConfirmationRequested,
    ContactPublished,
    OrganizationWithdrawn,
)
from shared.events.topics import Topic
from shared.kafka.handlers import Delivered, Removed, Subscription
from shared.pings import pings_heard

subscription: Subscription[NotifierUnitOfWork] = Subscription()
subscription.include(pings_heard)


def _settings(uow: NotifierUnitOfWork) -> NotifierSettings:
    settings = uow.writer.settings
    assert isinstance(settings, NotifierSettings)
    return settings


# --- registry -----------------------------------------------------------------------------------


@subscription.on(ConfirmationRequested)
async def confirmation_requested(
    event: Delivered[ConfirmationRequested], uow: NotifierUnitOfWork
) -> None:
    await application.request_confirmation(
        uow, event.payload, event.dedup_key, _settings(uow), event.payload.requested_at
    )


@subscription.on(ContactPublished)
async def contact_published(event: Delivered[ContactPublished], uow: NotifierUnitOfWork) -> None:
    payload = event.payload
    await application.keep_contact(
        uow,
        Contact(
            organization_id=payload.organization_id,
            organization_name=payload.organization_name,
            name=payload.contact_name,
            email=payload.contact_email,
        ),
    )


@subscription.on_tombstone(Topic.REGISTRY_CONTACTS)
async def contact_removed(removed: Removed, uow: NotifierUnitOfWork) -> None:
    """The organisation withdrew (or its contact was erased): never written to again."""
    await application.organization_gone(uow, removed.key)


@subscription.on(OrganizationWithdrawn)
async def organization_withdrawn(
    event: Delivered[OrganizationWithdrawn], uow: NotifierUnitOfWork
) -> None:
    await application.organization_gone(uow, event.payload.organization_id)


# --- encuentros ---------------------------------------------------------------------------------


@subscription.on(*ENCUENTRO_LIFECYCLE_EVENTS)
async def encuentro_changed(event: Delivered[EncuentroEvent], uow: NotifierUnitOfWork) -> None:
    settings = _settings(uow)
    await application.keep_encuentro(uow, event.payload, settings, event.payload.occurred_at)
    if isinstance(event.payload, EncuentroResultsPublished):
        item = results_item(event.payload, settings.events_public_url)
        await application.publish_item(uow, item, settings, event.payload.occurred_at)


@subscription.on(OrganizationInvited)
async def organization_invited(
    event: Delivered[OrganizationInvited], uow: NotifierUnitOfWork
) -> None:
    await application.invite(uow, event.payload, event.payload.occurred_at)


@subscription.on(ParticipantEnrolled)
async def participant_enrolled(
    event: Delivered[ParticipantEnrolled], uow: NotifierUnitOfWork
) -> None:
    await application.enroll(uow, event.payload, event.payload.occurred_at)


@subscription.on(RegistrationPromoted)
async def registration_promoted(
    event: Delivered[RegistrationPromoted], uow: NotifierUnitOfWork
) -> None:
    payload = event.payload
    await application.seat_changed(
        uow, payload.registration_id, payload.encuentro_id, promoted=True
    )


@subscription.on(RegistrationCancelled)
async def registration_cancelled(
    event: Delivered[RegistrationCancelled], uow: NotifierUnitOfWork
) -> None:
    payload = event.payload
    await application.seat_changed(
        uow, payload.registration_id, payload.encuentro_id, promoted=False
    )


@subscription.on(ParticipantsToInform)
async def participants_to_inform(
    event: Delivered[ParticipantsToInform], uow: NotifierUnitOfWork
) -> None:
    await application.inform(uow, event.payload, event.dedup_key, event.payload.occurred_at)


@subscription.on(ParticipantErased)
async def participant_erased(event: Delivered[ParticipantErased], uow: NotifierUnitOfWork) -> None:
    await application.erase_participant(uow, event.payload, event.payload.occurred_at)


@subscription.on(CommitmentStatusChanged)
async def commitment_status_changed(
    event: Delivered[CommitmentStatusChanged], uow: NotifierUnitOfWork
) -> None:
    settings = _settings(uow)
    known = await uow.projections.encuentro(event.payload.encuentro_id)
    theme = known.snapshot.theme if known else None
    item = fulfilled_commitment_item(event.payload, settings.events_public_url, theme)
    if item is not None:
        await application.publish_item(uow, item, settings, event.payload.occurred_at)


# --- metrics ------------------------------------------------------------------------------------


@subscription.on(MatchFound)
async def match_found(event: Delivered[MatchFound], uow: NotifierUnitOfWork) -> None:
    await application.announce_match(uow, event.payload, _settings(uow), event.payload.occurred_at)


@subscription.on(EvidencePublished)
async def evidence_published(event: Delivered[EvidencePublished], uow: NotifierUnitOfWork) -> None:
    settings = _settings(uow)
    item = evidence_item(event.payload, settings.metrics_public_url)
    await application.publish_item(uow, item, settings, event.payload.published_at)
