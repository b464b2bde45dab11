"""Sending one planned e-mail (the dispatcher's `mail` job).

The message is rendered when it is sent, from what the notifier knows then: the recipient's
current address (an organisation's contact, a participant's registration), the encuentro as it
is now. A fact not known yet (the contact of an organisation whose record has not arrived, the
agreements of results announced on the other topic first) defers the message; a recipient who
is gone (a withdrawn organisation, an erased participant) drops it. SMTP failures are retried
on `NOTIFIER_MAIL_RETRY_SCHEDULE_SECONDS` and recorded; then the message fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter

from services.notifier.dispatcher import Channels
from services.notifier.domain.activity import message_settled
from services.notifier.domain.messages import Message, MessageKind, MessageStatus, mask_email
from services.notifier.mailer import PermanentFailure, compose
from services.notifier.rendering import Attachment, render
from services.notifier.settings import NotifierSettings
from services.notifier.storage.jobs import Job
from services.notifier.storage.projections import KnownEncuentro
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from shared.calendar import CalendarEntry, render_calendar
from shared.reference.territory import MACROZONES, REGIONS

log = structlog.get_logger(__name__)

MAILS = Counter(
    "articula_notifier_mails",
    "E-mail messages settled, by kind and outcome (sent, failed, dropped)",
    ["kind", "status"],
)
MAIL_ATTEMPTS_FAILED = Counter(
    "articula_notifier_mail_attempts_failed", "SMTP attempts that failed (retried or not)"
)

# A message waiting for a fact (a contact, the agreements) is looked at again this often...
_DEFER_SECONDS = (5, 15, 60, 300, 900, 3600)
# ...and given up after this many looks (about a day): the fact is not coming.
_DEFER_MOST = 30


class _Deferred(Exception):
    """A fact the message needs is not known yet."""


class _Gone(Exception):
    """Nobody to send it to any more."""


async def send_message(
    channels: Channels, uow: NotifierUnitOfWork, job: Job, now: datetime
) -> datetime | None:
    found = await uow.messages.get(job.ref)
    if found is None or found.entity.status is not MessageStatus.PENDING:
        return None  # done before a crash, or dropped meanwhile
    message, version = found.entity, found.version
    settings = channels.settings
    try:
        to_name, to_email, facts, encuentro = await _gather(uow, message, settings)
    except _Gone as gone:
        await _finish(uow, message, version, now, MessageStatus.DROPPED, error=str(gone))
        return None
    except _Deferred as deferred:
        if job.attempts >= _DEFER_MOST:
            await _finish(uow, message, version, now, MessageStatus.FAILED, error=str(deferred))
            return None
        return now + timedelta(seconds=_DEFER_SECONDS[min(job.attempts, len(_DEFER_SECONDS) - 1)])

    mail = render(message.kind, facts, _attachments(message, facts, encuentro))
    email = compose(
        mail,
        sender=settings.mail_from,
        to_name=to_name,
        to_email=to_email,
        message_id=message.id,
    )
    attempts = message.attempts + 1
    try:
        await channels.mailer.send(email)
    except PermanentFailure as exc:
        await _finish(uow, message, version, now, MessageStatus.FAILED, error=str(exc))
        return None
    except Exception as exc:
        schedule = settings.mail_retry_schedule_seconds
        error = type(exc).__name__  # never the exception's text: it may quote the address
        MAIL_ATTEMPTS_FAILED.inc()
        log.warning("mail_failed", message=message.id, kind=message.kind, error=error)
        if attempts > len(schedule):
            await _finish(uow, message, version, now, MessageStatus.FAILED, error=error)
            return None
        await uow.messages.save(
            message.model_copy(update={"attempts": attempts, "last_error": error}), version
        )
        return now + timedelta(seconds=schedule[attempts - 1])
    sent = message.model_copy(
        update={
            "status": MessageStatus.SENT,
            "attempts": attempts,
            "sent_at": now,
            "finished_at": now,
            "recipient_masked": mask_email(to_email),
            "private": None,
            "last_error": None,
        }
    )
    await uow.messages.save(sent, version, message_settled(sent, now))
    MAILS.labels(message.kind, MessageStatus.SENT).inc()
    log.info("mail_sent", message=message.id, kind=message.kind, attempts=attempts)
    return None


async def _finish(
    uow: NotifierUnitOfWork,
    message: Message,
    version: int,
    now: datetime,
    status: MessageStatus,
    *,
    error: str,
) -> None:
    MAILS.labels(message.kind, status).inc()
    log.info("mail_not_sent", message=message.id, kind=message.kind, status=status, error=error)
    finished = message.model_copy(
        update={"status": status, "finished_at": now, "private": None, "last_error": error}
    )
    await uow.messages.save(finished, version, message_settled(finished, now))


async def _gather(
    uow: NotifierUnitOfWork, message: Message, settings: NotifierSettings
) -> tuple[str | None, str, dict[str, Any], KnownEncuentro | None]:
    """The recipient's name and address, every fact the template uses, and the encuentro."""
    private = message.private or {}
    facts: dict[str, Any] = {**message.context}
    name: str | None
    if private.get("email"):
        name, email = private.get("name"), str(private["email"])
        facts.update({k: v for k, v in private.items() if k != "email"})
        facts.setdefault("greeting_name", name or "equipo")
    elif message.to.organization_id:
        contact = await uow.projections.contact(message.to.organization_id)
        if contact is not None and contact.withdrawn:
            raise _Gone("organización retirada")
        if contact is None or not contact.email:
            raise _Deferred("sin contacto")
        name, email = contact.name, contact.email
        facts["organization_name"] = contact.organization_name or facts.get("organization_name")
        facts["greeting_name"] = contact.name or contact.organization_name
    elif message.to.registration_id:
        participant = await uow.projections.participant(message.to.registration_id)
        if participant is None:
            if await uow.projections.is_erased(message.to.registration_id):
                raise _Gone("participante borrado")
            raise _Deferred("sin participante")
        if not participant.email:
            raise _Deferred("sin participante")
        name, email = participant.name, participant.email
        facts.update(
            greeting_name=participant.name, code=participant.code, seat=participant.has_seat
        )
        facts.setdefault("position", participant.position)
    else:
        raise _Gone("sin destinatario")

    encuentro = None
    if message.encuentro_id:
        encuentro = await uow.projections.encuentro(message.encuentro_id)
        if encuentro is None:
            raise _Deferred("encuentro desconocido")
        participant_seat = bool(facts.get("seat"))
        facts["encuentro"] = _encuentro_facts(encuentro, settings, online=participant_seat)
        facts["macrozone_name"] = MACROZONES[encuentro.snapshot.macrozone].name
        facts["reason"] = encuentro.reason
        facts["registrations_url"] = (
            f"{settings.events_public_url}/v1/encuentros/{encuentro.encuentro_id}/registrations"
        )
        facts["survey_url"] = (
            f"{settings.events_public_url}/v1/encuentros/{encuentro.encuentro_id}/survey-responses"
        )
        facts["results_url"] = (
            f"{settings.metrics_public_url}/v1/stats/encuentros/{encuentro.encuentro_id}"
        )
        if message.kind is MessageKind.RESULTS:
            if encuentro.agreements is None:
                raise _Deferred("acuerdos aún no recibidos")
            facts["regions"] = _agreements_by_region(encuentro)
            facts["attended"] = encuentro.attended
    if "other_id" in facts:  # a match: the other organisation by its public name
        other = await uow.projections.contact(str(facts["other_id"]))
        facts["other_name"] = (other.organization_name if other else None) or "otra organización"
    facts.setdefault("greeting_name", name or "equipo")
    return name, email, facts, encuentro


def _encuentro_facts(
    encuentro: KnownEncuentro, settings: NotifierSettings, *, online: bool
) -> dict[str, Any]:
    snapshot = encuentro.snapshot
    return {
        "id": encuentro.encuentro_id,
        "title": snapshot.title,
        "starts_at": snapshot.starts_at,
        "ends_at": snapshot.ends_at,
        "venue": snapshot.venue,
        # The link to join online is for people with a seat only (as the events API shows it).
        "online_url": snapshot.online_url if online else None,
        "url": f"{settings.events_public_url}/v1/encuentros/{encuentro.encuentro_id}",
        "mode": snapshot.mode,
    }


def _agreements_by_region(encuentro: KnownEncuentro) -> list[dict[str, Any]]:
    regions: dict[str, list[dict[str, Any]]] = {}
    for agreement in encuentro.agreements or ():
        regions.setdefault(agreement.region, []).append(
            {"text": agreement.text, "due_date": agreement.due_date.isoformat()}
        )
    order = list(REGIONS)
    return [
        {"name": REGIONS[code].name if code in REGIONS else code, "agreements": items}
        for code, items in sorted(
            regions.items(), key=lambda kv: order.index(kv[0]) if kv[0] in REGIONS else 99
        )
    ]


_CALENDAR_KINDS = frozenset({MessageKind.REGISTRATION, MessageKind.PROMOTED})


def _attachments(
    message: Message, facts: dict[str, Any], encuentro: KnownEncuentro | None
) -> tuple[Attachment, ...]:
    """The `.ics` of the encuentro for a participant who has a seat."""
    if message.kind not in _CALENDAR_KINDS or not facts.get("seat") or encuentro is None:
        return ()
    return (_ics(facts["encuentro"], encuentro),)


def _ics(encuentro: dict[str, Any], known: KnownEncuentro) -> Attachment:
    snapshot = known.snapshot
    entry = CalendarEntry(
        encuentro_id=known.encuentro_id,
        title=snapshot.title,
        description=known.description,
        starts_at=snapshot.starts_at,
        ends_at=snapshot.ends_at,
        cancelled=snapshot.status == "cancelled",
        sequence=snapshot.sequence,
        url=encuentro["url"],
        location=snapshot.venue,
        online=snapshot.online_url is not None,
        created_at=known.created_at,
        updated_at=known.updated_at,
    )
    return Attachment(
        filename="encuentro.ics",
        content=render_calendar([entry], name=snapshot.title),
        maintype="text",
        subtype="calendar",
        params={"method": "PUBLISH"},
    )
