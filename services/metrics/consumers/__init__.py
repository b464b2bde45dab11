"""What the metrics service consumes from Kafka: a typed handler per event contract."""

from __future__ import annotations

from collections.abc import Sequence

from services.metrics import application, matching, programmes
from services.metrics.domain.matching import Answer, OrganizationProfile
from services.metrics.storage.unit_of_work import MetricsUnitOfWork
from shared.events.commitments import COMMITMENT_EVENTS, CommitmentEvent
from shared.events.encuentros import (
    ENCUENTRO_LIFECYCLE_EVENTS,
    EncuentroFact,
    NeedsOffersStated,
    ParticipantCheckedIn,
    ParticipantRegistered,
    RegistrationCancelled,
    RegistrationPromoted,
    SurveyAnswered,
)
from shared.events.metrics import EvidencePublished
from shared.events.registry import ORGANIZATION_EVENTS, OrganizationEvent
from shared.kafka.handlers import Delivered, Subscription
from shared.pings import pings_heard

subscription: Subscription[MetricsUnitOfWork] = Subscription()
subscription.include(pings_heard)

ENCUENTRO_FACTS: tuple[type[EncuentroFact], ...] = (
    *ENCUENTRO_LIFECYCLE_EVENTS,
    ParticipantRegistered,
    RegistrationPromoted,
    RegistrationCancelled,
    ParticipantCheckedIn,
    SurveyAnswered,
)


@subscription.on_batch(*ORGANIZATION_EVENTS)
async def organizations_changed(
    events: Sequence[Delivered[OrganizationEvent]], uow: MetricsUnitOfWork
) -> None:
    """A partition's run of organisation events folded together (`fold_organizations`), then
    each organisation's matches reconciled once, with the profile it has after the run.

    Matching comes after the fold (it reads the profiles from the projection) and for every
    organisation of the run, also those whose events the fold found already applied: a crash
    after the fold and before matching is completed by the redelivery. Reconciling is
    idempotent: it compares the stored matches with what the answers match now, and each
    change is one write with its `MatchFound` or `MatchWithdrawn` (ids derived from the two
    answers), so a second pass finds nothing to change and announces nothing again."""
    for organization in (await application.fold_organizations(uow, events)).values():
        profile = OrganizationProfile.from_snapshot(organization.id, organization.snapshot)
        await matching.organization_changed(uow, profile, organization.changed_at)


@subscription.on(*ENCUENTRO_FACTS)
async def encuentro_fact(event: Delivered[EncuentroFact], uow: MetricsUnitOfWork) -> None:
    await application.fold_encuentro_event(uow, event.payload.encuentro_id, event.payload)


@subscription.on(*COMMITMENT_EVENTS)
async def commitment_changed(event: Delivered[CommitmentEvent], uow: MetricsUnitOfWork) -> None:
    await application.fold_encuentro_event(uow, event.payload.encuentro_id, event.payload)


@subscription.on(NeedsOffersStated)
async def needs_offers_stated(event: Delivered[NeedsOffersStated], uow: MetricsUnitOfWork) -> None:
    """Counted in the encuentro's figures, and matched with other organisations' answers."""
    await application.fold_encuentro_event(uow, event.payload.encuentro_id, event.payload)
    await matching.answer_stated(uow, Answer.from_event(event.payload), event.payload.occurred_at)


@subscription.on(EvidencePublished)
async def evidence_published(event: Delivered[EvidencePublished], uow: MetricsUnitOfWork) -> None:
    """This service's own evidence, listed as it went out (`GET /v1/evidence`)."""
    await programmes.keep_evidence(uow, event.payload)
