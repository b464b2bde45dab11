"""The notifier's use cases: what each event it hears means for the people it writes to.

Consumers call these with the typed event and its identity (`cause`, the CloudEvents source
and id): every message planned from one event has an id derived from that cause and its
recipient, so applying an event twice plans nothing new. Sending is the dispatcher's
(`services.notifier.mailing`); webhooks and e-mail subscriptions are
`services.notifier.webhooks`; feeds read what `publish_item` keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog

from services.notifier import webhooks
from services.notifier.domain.activity import message_settled
from services.notifier.domain.items import PublishedItem
from services.notifier.domain.labels import need_label, offer_label
from services.notifier.domain.messages import Message, MessageKind, MessageStatus, Recipient
from services.notifier.domain.messages import message_id as new_message_id
from services.notifier.settings import NotifierSettings
from services.notifier.storage.projections import Contact, KnownEncuentro
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from shared.events.encuentros import (
    EncuentroCancelled,
    EncuentroCreated,
    EncuentroEvent,
    EncuentroResultsPublished,
    OrganizationInvited,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantsToInform,
)
from shared.events.metrics import MatchFound
from shared.events.registry import ConfirmationRequested

log = structlog.get_logger(__name__)

REMINDER_JOB = "reminder"

# What each "tell these participants" of the events service is, as a message.
_INFORM_KINDS: dict[str, MessageKind] = {
    "promoted": MessageKind.PROMOTED,
    "registration_cancelled": MessageKind.REGISTRATION_CANCELLED,
    "encuentro_cancelled": MessageKind.ENCUENTRO_CANCELLED,
    "survey_open": MessageKind.SURVEY,
    "results": MessageKind.RESULTS,
}
# Encuentros whose participants may still be reminded.
_REMINDABLE = frozenset({"published", "in_progress"})


def _message(
    kind: MessageKind,
    cause: str,
    to: Recipient,
    now: datetime,
    *,
    encuentro_id: str | None = None,
    context: dict[str, object] | None = None,
    private: dict[str, object] | None = None,
) -> Message:
    return Message(
        id=new_message_id(kind, cause, to),
        kind=kind,
        to=to,
        encuentro_id=encuentro_id,
        context=dict(context or {}),
        private=dict(private) if private else None,
        created_at=now,
    )


async def plan(uow: NotifierUnitOfWork, messages: Sequence[Message]) -> None:
    """Store and schedule the messages, except news too old to be worth sending (a notifier
    whose database was lost and that replays the kept-forever topics must not write to people
    about last year's encuentros)."""
    settings = uow.writer.settings
    assert isinstance(settings, NotifierSettings)
    oldest = datetime.now(UTC) - timedelta(hours=settings.max_message_age_hours)
    fresh = [m for m in messages if m.created_at >= oldest]
    if len(fresh) < len(messages):
        log.info("stale_messages_skipped", count=len(messages) - len(fresh))
    new = await uow.messages.plan(fresh, uow.jobs)
    if new:
        log.info("messages_planned", kinds=sorted({m.kind for m in messages}), new=new)


# --- registry -----------------------------------------------------------------------------------


async def request_confirmation(
    uow: NotifierUnitOfWork,
    event: ConfirmationRequested,
    cause: str,
    settings: NotifierSettings,
    now: datetime,
) -> None:
    """The confirmation link goes to the contact given at registration (in the event: the
    organisation is pending, and this is the address being confirmed)."""
    link = (
        settings.confirmation_link.format(organization_id=event.organization_id, token=event.token)
        if settings.confirmation_link
        else None
    )
    confirmation_url = (
        f"{settings.registry_public_url}/v1/organizations/{event.organization_id}/confirmation"
    )
    await plan(
        uow,
        [
            _message(
                MessageKind.CONFIRMATION,
                cause,
                Recipient(organization_id=event.organization_id),
                now,
                context={
                    "organization_id": event.organization_id,
                    "organization_name": event.organization_name,
                    "expires_at": event.expires_at,
                    "confirmation_url": confirmation_url,
                },
                private={
                    "email": event.contact_email,
                    "name": event.contact_name,
                    "greeting_name": event.contact_name,
                    "token": event.token,
                    "link": link,
                },
            )
        ],
    )


async def keep_contact(uow: NotifierUnitOfWork, contact: Contact) -> None:
    await uow.projections.keep_contact(contact)


async def organization_gone(uow: NotifierUnitOfWork, organization_id: str) -> None:
    """Withdrawn, or its contact erased: the contact goes, and it is never written to again."""
    await uow.projections.forget_contact(organization_id)


# --- encuentros ---------------------------------------------------------------------------------


async def keep_encuentro(
    uow: NotifierUnitOfWork, event: EncuentroEvent, settings: NotifierSettings, now: datetime
) -> None:
    """Keep the encuentro as it is now, and its participants' reminder on the schedule."""
    known = await uow.projections.encuentro(event.encuentro_id)
    agreements = known.agreements if known else None
    reason = known.reason if known else None
    attended = known.attended if known else None
    if isinstance(event, EncuentroResultsPublished):
        agreements, attended = event.agreements, event.attended
    if isinstance(event, EncuentroCancelled):
        reason = event.reason
    created_at = (
        event.occurred_at
        if isinstance(event, EncuentroCreated) or known is None
        else known.created_at
    )
    await uow.projections.keep_encuentro(
        KnownEncuentro(
            encuentro_id=event.encuentro_id,
            snapshot=event.encuentro,
            created_at=created_at,
            updated_at=event.occurred_at,
            agreements=agreements,
            reason=reason,
            attended=attended,
        )
    )
    snapshot = event.encuentro
    due = snapshot.starts_at - timedelta(hours=settings.reminder_lead_hours)
    if snapshot.status in _REMINDABLE and due > now:
        await uow.jobs.schedule(REMINDER_JOB, event.encuentro_id, due)
    elif snapshot.status not in _REMINDABLE:
        await uow.jobs.cancel(REMINDER_JOB, event.encuentro_id)


async def invite(uow: NotifierUnitOfWork, event: OrganizationInvited, now: datetime) -> None:
    await plan(
        uow,
        [
            _message(
                MessageKind.INVITATION,
                f"invitation|{event.encuentro_id}",  # one invitation per organisation
                Recipient(organization_id=event.organization_id),
                now,
                encuentro_id=event.encuentro_id,
            )
        ],
    )


async def enroll(uow: NotifierUnitOfWork, event: ParticipantEnrolled, now: datetime) -> None:
    """Keep the participant and confirm the seat or the waiting-list place, with the code."""
    await uow.projections.keep_participant(
        event.registration_id,
        encuentro_id=event.encuentro_id,
        organization_id=event.organization_id,
        name=event.participant_name,
        email=event.email,
        code=event.code,
        enrolled_as=event.status,
        position=event.position,
    )
    await plan(
        uow,
        [
            _message(
                MessageKind.REGISTRATION,
                f"registration|{event.registration_id}",  # one confirmation per registration
                Recipient(registration_id=event.registration_id),
                now,
                encuentro_id=event.encuentro_id,
                context={"position": event.position},
            )
        ],
    )


async def seat_changed(
    uow: NotifierUnitOfWork, registration_id: str, encuentro_id: str, *, promoted: bool
) -> None:
    """A promotion or a cancellation, from the public topic (the message comes separately)."""
    flag = {"promoted": True} if promoted else {"cancelled": True}
    await uow.projections.keep_participant(registration_id, encuentro_id=encuentro_id, **flag)


async def inform(
    uow: NotifierUnitOfWork, event: ParticipantsToInform, cause: str, now: datetime
) -> None:
    kind = _INFORM_KINDS[event.about]
    messages = []
    for recipient in event.recipients:
        fields: dict[str, object] = {
            "encuentro_id": event.encuentro_id,
            "organization_id": recipient.organization_id,
            "name": recipient.participant_name,
            "email": recipient.email,
            "code": recipient.code,
        }
        if event.about == "promoted":
            fields["promoted"] = True
        if event.about == "registration_cancelled":
            fields["cancelled"] = True
        await uow.projections.keep_participant(recipient.registration_id, **fields)
        messages.append(
            _message(
                kind,
                f"{kind}|{event.encuentro_id}",  # once per encuentro and participant
                Recipient(registration_id=recipient.registration_id),
                now,
                encuentro_id=event.encuentro_id,
            )
        )
    await plan(uow, messages)


async def remind(uow: NotifierUnitOfWork, encuentro_id: str, now: datetime) -> int:
    """The day before: a reminder to every participant with a seat now; how many planned."""
    known = await uow.projections.encuentro(encuentro_id)
    if known is None or known.snapshot.status not in _REMINDABLE:
        return 0
    participants = await uow.projections.participants_of(encuentro_id)
    messages = [
        _message(
            MessageKind.REMINDER,
            f"reminder|{encuentro_id}",  # never twice, however often the time moves
            Recipient(registration_id=p.registration_id),
            now,
            encuentro_id=encuentro_id,
        )
        for p in participants
        if p.has_seat
    ]
    await plan(uow, messages)
    return len(messages)


async def erase_participant(
    uow: NotifierUnitOfWork, event: ParticipantErased, now: datetime
) -> None:
    """Forget the participant, and give up what was still to be sent to them."""
    await uow.projections.forget_participant(event.registration_id)
    for message in await uow.messages.pending_for(event.registration_id):
        found = await uow.messages.get(message.id)
        if found is None or found.entity.status is not MessageStatus.PENDING:
            continue
        dropped = found.entity.model_copy(
            update={
                "status": MessageStatus.DROPPED,
                "private": None,
                "finished_at": now,
                "last_error": "participante borrado",
            }
        )
        await uow.messages.save(dropped, found.version, message_settled(dropped, now))


# --- metrics ------------------------------------------------------------------------------------


async def announce_match(
    uow: NotifierUnitOfWork, event: MatchFound, settings: NotifierSettings, now: datetime
) -> None:
    """Both organisations hear of it, each with the other's public profile."""
    common = {
        "need_category": need_label(event.need.category),
        "offer_category": offer_label(event.offer.category),
        "reasons": list(event.reasons),
        "matches_url": f"{settings.metrics_public_url}/v1/matches",
    }
    messages = []
    for side, mine, other in (
        ("need", event.need.organization_id, event.offer.organization_id),
        ("offer", event.offer.organization_id, event.need.organization_id),
    ):
        messages.append(
            _message(
                MessageKind.MATCH,
                f"match|{event.match_id}",
                Recipient(organization_id=mine),
                now,
                context={
                    **common,
                    "side": side,
                    "other_id": other,
                    "other_url": f"{settings.registry_public_url}/v1/organizations/{other}",
                },
            )
        )
    await plan(uow, messages)


# --- what funders follow ------------------------------------------------------------------------


async def publish_item(
    uow: NotifierUnitOfWork, item: PublishedItem, settings: NotifierSettings, now: datetime
) -> None:
    """Evidence, results or a fulfilled commitment: into the feeds, and out to every
    subscription that follows it (webhooks and e-mail)."""
    await uow.feed_items.add(item)
    await webhooks.fan_out(uow, item, settings, now)
