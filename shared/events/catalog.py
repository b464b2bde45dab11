"""Every event contract of the system, listed once.

Consumers decode only the contracts they subscribe to (`shared.kafka.handlers`); this list is
for what needs all of them: the AsyncAPI document and the tests that every contract keeps its
rules (one class per CloudEvents type, a topic from `shared.events.topics`).
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.events import commitments, encuentros, metrics, notifier, pings, registry
from shared.events.base import EventContract

ALL_CONTRACTS: tuple[type[EventContract], ...] = (
    pings.SystemPingSent,
    registry.OrganizationRegistered,
    registry.OrganizationConfirmed,
    registry.OrganizationActivated,
    registry.OrganizationUpdated,
    registry.OrganizationVerified,
    registry.OrganizationSuspended,
    registry.OrganizationReinstated,
    registry.OrganizationWithdrawn,
    registry.ConfirmationRequested,
    registry.ContactPublished,
    registry.RegistrationCallOpened,
    registry.RegistrationCallUpdated,
    registry.RegistrationCallClosed,
    registry.ApiClientIssued,
    registry.ApiClientRevoked,
    registry.AccessChanged,
    *encuentros.ENCUENTRO_LIFECYCLE_EVENTS,
    encuentros.OrganizationInvited,
    encuentros.ParticipantRegistered,
    encuentros.RegistrationPromoted,
    encuentros.RegistrationCancelled,
    encuentros.ParticipantCheckedIn,
    encuentros.RoundFormed,
    encuentros.GroupRecordWritten,
    encuentros.NeedsOffersStated,
    encuentros.SurveyAnswered,
    encuentros.ParticipantEnrolled,
    encuentros.ParticipantsToInform,
    encuentros.ParticipantErased,
    *commitments.COMMITMENT_EVENTS,
    metrics.MatchFound,
    metrics.MatchWithdrawn,
    metrics.ProgrammeCreated,
    metrics.ProgrammeUpdated,
    metrics.IndicatorDefined,
    metrics.MeasurementSubmitted,
    metrics.MeasurementReviewed,
    metrics.WorkPlanSet,
    metrics.EvidencePublished,
    *notifier.NOTIFIER_EVENTS,
)


def by_type(contracts: Iterable[type[EventContract]]) -> dict[str, type[EventContract]]:
    """`{CloudEvents type: contract}`; two contracts claiming one type is a programming error."""
    found: dict[str, type[EventContract]] = {}
    for contract in contracts:
        ce_type = contract.ce_type()
        if found.get(ce_type, contract) is not contract:
            raise TypeError(f"two contracts claim the event type {ce_type}")
        found[ce_type] = contract
    return found
