"""The events service's use cases: what routes and consumers call.

Each loads what it needs through the unit of work, asks the domain to decide, and saves the new
state with the events the decision produced, in one write. Decisions about one encuentro are
serialised in this process (`EventsUnitOfWork.decisions`) and retried on a compare-and-set
conflict from another process, so concurrent registrations never give a seat twice. Ids and
personal codes are made here; the domain gets them, with `now`, as plain values.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from pymongo.errors import DuplicateKeyError

from services.events.domain import activity, registrations
from services.events.domain.commitments import Commitment, take_commitment
from services.events.domain.encuentro import (
    Encuentro,
    NeedsOffers,
    Registration,
    Round,
    SurveyResponse,
)
from services.events.domain.forms import (
    CheckinInput,
    CommitmentInput,
    CommitmentStatusInput,
    EncuentroCreate,
    EncuentroPatch,
    GroupRecordInput,
    NeedsOffersInput,
    ParticipantInput,
    RoundInput,
    StatusChange,
    SurveyInput,
)
from services.events.domain.lifecycle import EncuentroStatus
from services.events.domain.organizations import ACTIVE, KnownOrganization
from services.events.storage.commitments import CommitmentQuery
from services.events.storage.invitations import Invitation
from services.events.storage.unit_of_work import EventsUnitOfWork
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.base import EventContract
from shared.events.encuentros import OrganizationInvited
from shared.events.registry import Actor
from shared.storage.repository import ConcurrentModification, Versioned

T = TypeVar("T")
Decision = Callable[[Encuentro], tuple[T, list[EventContract]]]

ATTEMPTS = 8
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


def new_id() -> str:
    return uuid.uuid4().hex


def new_code() -> str:
    """A personal code like `K7QM-2XDA` (40 bits: guessing one is hopeless)."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


# --- organisations as this service sees them ----------------------------------------------------


async def keep_organization(uow: EventsUnitOfWork, seen: KnownOrganization) -> None:
    """Apply what the registry published of an organisation: once per event, and never an
    older state over a newer one (a replayed dead letter, say). An organisation that becomes
    active is invited to the open encuentros of its territory; one that withdraws loses its
    participants' personal data here too."""
    found = await uow.organizations.get(seen.id)
    was_active = found is not None and found.entity.status == ACTIVE
    if found is None:
        await uow.organizations.add(seen)
    elif not found.already_applied and seen.changed_at >= found.entity.changed_at:
        await uow.organizations.save(seen, found.version)
    else:
        return
    if seen.status == ACTIVE and not was_active:
        await invite_to_open_encuentros(uow, seen, seen.changed_at)
    if seen.status == "withdrawn":
        await erase_participants_of(uow, seen.id, seen.changed_at)


async def organization_names(uow: EventsUnitOfWork, ids: list[str]) -> dict[str, str]:
    return {org.id: org.name for org in await uow.organizations.get_many(sorted(set(ids)))}


# --- encuentros ---------------------------------------------------------------------------------


async def load_encuentro(uow: EventsUnitOfWork, encuentro_id: str) -> Versioned[Encuentro]:
    found = await uow.encuentros.get(encuentro_id)
    if found is None:
        raise NotFound("El encuentro no existe.")
    return found


def require_visible(encuentro: Encuentro, *, staff: bool) -> None:
    """A draft is staff's: to anyone else it does not exist (404, not a state to probe)."""
    if encuentro.status == EncuentroStatus.DRAFT and not staff:
        raise NotFound("El encuentro no existe.")


async def decide(uow: EventsUnitOfWork, encuentro_id: str, decision: Decision[T]) -> T:
    """Load the encuentro, apply one decision, save it with its events; again on conflict."""
    async with uow.decisions.hold("encuentros", encuentro_id):
        for attempt in range(ATTEMPTS):
            current = await load_encuentro(uow, encuentro_id)
            result, events = decision(current.entity)
            if not events:
                return result
            try:
                await uow.encuentros.save(current.entity, current.version, events)
                return result
            except ConcurrentModification:
                if attempt == ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")


async def create_encuentro(
    uow: EventsUnitOfWork, data: EncuentroCreate, actor: Actor, now: datetime
) -> Encuentro:
    encuentro, events = Encuentro.create(data, encuentro_id=new_id(), actor=actor, now=now)
    await uow.encuentros.add(encuentro, events)
    return encuentro


async def update_encuentro(
    uow: EventsUnitOfWork, encuentro_id: str, patch: EncuentroPatch, actor: Actor, now: datetime
) -> Encuentro:
    def change(e: Encuentro) -> tuple[Encuentro, list[EventContract]]:
        return e, e.update(patch, actor=actor, now=now)

    return await decide(uow, encuentro_id, change)


async def change_status(
    uow: EventsUnitOfWork, encuentro_id: str, change: StatusChange, actor: Actor, now: datetime
) -> Encuentro:
    """Publishing invites (the invitations consumer fans out); publishing results carries the
    encuentro's commitments as its agreements."""
    agreements = []
    if change.status == EncuentroStatus.RESULTS_PUBLISHED:
        taken = await uow.commitments.find(CommitmentQuery(encuentro_id=encuentro_id))
        agreements = [c.agreement() for c in taken]

    def move(e: Encuentro) -> tuple[Encuentro, list[EventContract]]:
        wanted = EncuentroStatus(change.status)
        return e, e.change_status(
            wanted, reason=change.reason, actor=actor, now=now, agreements=agreements
        )

    return await decide(uow, encuentro_id, move)


# --- invitations --------------------------------------------------------------------------------


async def _invite(
    uow: EventsUnitOfWork, encuentro: Encuentro, organization_id: str, cause: str, now: datetime
) -> None:
    invitation = Invitation(
        encuentro_id=encuentro.id, organization_id=organization_id, cause=cause, invited_at=now
    )
    event = OrganizationInvited(
        encuentro_id=encuentro.id,
        occurred_at=now,
        organization_id=organization_id,
        macrozone=encuentro.macrozone,
        cause="published" if cause == "published" else "organization_active",
    )
    # Invited already (the other way round, or before a restart): nothing to do.
    with contextlib.suppress(DuplicateKeyError):
        await uow.invitations.add(invitation, [event])


async def invite_for_publication(uow: EventsUnitOfWork, encuentro_id: str, now: datetime) -> None:
    """Every active organisation working in the macrozone, when an encuentro is published."""
    found = await uow.encuentros.get(encuentro_id)
    if found is None or found.entity.status != EncuentroStatus.PUBLISHED:
        return  # cancelled or started since: nobody left to invite to it
    for organization in await uow.organizations.active_working_in(found.entity.macrozone):
        await _invite(uow, found.entity, organization.id, "published", now)


async def invite_to_open_encuentros(
    uow: EventsUnitOfWork, organization: KnownOrganization, now: datetime
) -> None:
    from services.events.storage.encuentros import EncuentroQuery

    published = [str(EncuentroStatus.PUBLISHED)]
    for encuentro, _ in await uow.encuentros.summaries(EncuentroQuery(statuses=published)):
        if organization.works_in(encuentro.macrozone):
            await _invite(uow, encuentro, organization.id, "organization_active", now)


# --- registrations ------------------------------------------------------------------------------


async def register(
    uow: EventsUnitOfWork,
    encuentro_id: str,
    participant: ParticipantInput,
    organization_id: str,
    now: datetime,
    *,
    staff: bool,
) -> tuple[Encuentro, Registration]:
    """Only active organisations register people."""
    await _require_active(uow, organization_id)
    registration_id, code = new_id(), new_code()

    def take_place(e: Encuentro) -> tuple[tuple[Encuentro, Registration], list[EventContract]]:
        require_visible(e, staff=staff)
        registration, events = registrations.register(
            e,
            participant,
            organization_id=organization_id,
            registration_id=registration_id,
            code=code,
            now=now,
        )
        return (e, registration), events

    return await decide(uow, encuentro_id, take_place)


async def _require_active(uow: EventsUnitOfWork, organization_id: str) -> KnownOrganization:
    found = await uow.organizations.get(organization_id)
    if found is None:
        raise InvalidInput(
            "La organización no existe en el registro.",
            errors=[{"field": "organization_id", "message": "Organización desconocida."}],
        )
    if found.entity.status != ACTIVE:
        raise Conflict(
            f"Solo organizaciones activas inscriben personas; esta está «{found.entity.status}».",
            current_status=found.entity.status,
        )
    return found.entity


async def cancel_registration(
    uow: EventsUnitOfWork,
    encuentro_id: str,
    registration_id: str,
    actor: Actor,
    owner_check: Callable[[str], None],
    now: datetime,
) -> tuple[Encuentro, Registration]:
    def cancel(e: Encuentro) -> tuple[tuple[Encuentro, Registration], list[EventContract]]:
        registration = registrations.find(e, registration_id)
        owner_check(registration.organization_id)
        events = registrations.cancel(e, registration_id, actor=actor, now=now)
        return (e, registration), events

    return await decide(uow, encuentro_id, cancel)


async def check_in(
    uow: EventsUnitOfWork, encuentro_id: str, data: CheckinInput, now: datetime
) -> tuple[Encuentro, Registration]:
    """By registration id or code; a walk-in (participant and organisation) at once."""
    if data.participant is not None:
        if data.organization_id is None:
            raise InvalidInput(
                "Para inscribir en la puerta indique la organización.",
                errors=[{"field": "organization_id", "message": "Requerido con participant."}],
            )
        organization_id, participant = data.organization_id, data.participant
        await _require_active(uow, organization_id)
        registration_id, code = new_id(), new_code()

        def at_door(e: Encuentro) -> tuple[tuple[Encuentro, Registration], list[EventContract]]:
            registration, events = registrations.walk_in(
                e,
                participant,
                organization_id=organization_id,
                registration_id=registration_id,
                code=code,
                now=now,
            )
            return (e, registration), events

        return await decide(uow, encuentro_id, at_door)

    def present(e: Encuentro) -> tuple[tuple[Encuentro, Registration], list[EventContract]]:
        if data.registration_id is not None:
            registration = registrations.find(e, data.registration_id)
        else:
            found = registrations.find_by_code(e, data.code or "")
            if found is None:
                raise NotFound("Ese código no corresponde a ninguna inscripción del encuentro.")
            registration = found
        return (e, registration), registrations.check_in(e, registration, now)

    if data.registration_id is None and data.code is None:
        raise InvalidInput(
            "Indique registration_id o code (o participant y organization_id para una persona "
            "que llega sin inscripción).",
            errors=[{"field": "registration_id", "message": "Indique registration_id o code."}],
        )
    return await decide(uow, encuentro_id, present)


async def erase_participant(
    uow: EventsUnitOfWork,
    encuentro_id: str,
    registration_id: str,
    owner_check: Callable[[str], None],
    now: datetime,
) -> tuple[Encuentro, Registration]:
    def erase(e: Encuentro) -> tuple[tuple[Encuentro, Registration], list[EventContract]]:
        registration = registrations.find(e, registration_id)
        owner_check(registration.organization_id)
        return (e, registration), registrations.erase_participant(e, registration, "request", now)

    return await decide(uow, encuentro_id, erase)


async def erase_participants_of(uow: EventsUnitOfWork, organization_id: str, now: datetime) -> None:
    """The organisation withdrew: its participants' personal data go everywhere."""
    for encuentro_id in await uow.encuentros.ids_with_registrations_of(organization_id):

        def erase(e: Encuentro) -> tuple[None, list[EventContract]]:
            events: list[EventContract] = []
            for registration in e.registrations:
                if registration.organization_id == organization_id:
                    events += registrations.erase_participant(
                        e, registration, "organization_withdrawn", now
                    )
            return None, events

        await decide(uow, encuentro_id, erase)


async def erase_expired(uow: EventsUnitOfWork, retention: timedelta, now: datetime) -> int:
    """Erase the participants of encuentros whose results were published `retention` ago."""
    due = await uow.encuentros.ids_due_for_erasure(now - retention)
    for encuentro_id in due:
        await decide(
            uow, encuentro_id, lambda e: (None, registrations.erase_all(e, "retention", now))
        )
    return len(due)


# --- during and after ---------------------------------------------------------------------------


async def form_round(
    uow: EventsUnitOfWork, encuentro_id: str, data: RoundInput, now: datetime
) -> Round:
    current = await load_encuentro(uow, encuentro_id)
    present = {r.organization_id for r in current.entity.registrations if r.attended}
    known = await uow.organizations.get_many(sorted(present))
    sectors = {org.id: org.sector for org in known}
    regions = {org.id: org.head_office_region for org in known}
    round_id = new_id()

    def split(e: Encuentro) -> tuple[Round, list[EventContract]]:
        round_, events = activity.form_round(
            e, data, round_id=round_id, sectors=sectors, regions=regions, now=now
        )
        return round_, list(events)

    return await decide(uow, encuentro_id, split)


async def write_group_record(
    uow: EventsUnitOfWork,
    encuentro_id: str,
    round_id: str,
    number: int,
    data: GroupRecordInput,
    *,
    by_staff: bool,
    now: datetime,
) -> Round:
    def write(e: Encuentro) -> tuple[Round, list[EventContract]]:
        require_visible(e, staff=by_staff)
        _, events = activity.write_group_record(
            e, round_id, number, data, by_staff=by_staff, now=now
        )
        return next(r for r in e.rounds if r.id == round_id), events

    return await decide(uow, encuentro_id, write)


async def state_needs_offers(
    uow: EventsUnitOfWork,
    encuentro_id: str,
    organization_id: str,
    data: NeedsOffersInput,
    now: datetime,
) -> NeedsOffers:
    def state(e: Encuentro) -> tuple[NeedsOffers, list[EventContract]]:
        require_visible(e, staff=False)
        answer, events = activity.state_needs_offers(e, organization_id, data, now)
        return answer, events

    return await decide(uow, encuentro_id, state)


async def answer_survey(
    uow: EventsUnitOfWork, encuentro_id: str, data: SurveyInput, now: datetime
) -> SurveyResponse:
    response_id = new_id()

    def answer(e: Encuentro) -> tuple[SurveyResponse, list[EventContract]]:
        require_visible(e, staff=False)
        response, events = activity.answer_survey(e, data, response_id=response_id, now=now)
        return response, events

    return await decide(uow, encuentro_id, answer)


# --- commitments --------------------------------------------------------------------------------


async def take(
    uow: EventsUnitOfWork, encuentro_id: str, data: CommitmentInput, actor: Actor, now: datetime
) -> Commitment:
    encuentro = (await load_encuentro(uow, encuentro_id)).entity
    known = {
        org.id: org.status != "withdrawn"
        for org in await uow.organizations.get_many(data.organization_ids)
    }
    commitment, events = take_commitment(
        encuentro, data, commitment_id=new_id(), known_organizations=known, actor=actor, now=now
    )
    await uow.commitments.add(commitment, events)
    return commitment


async def load_commitment(uow: EventsUnitOfWork, commitment_id: str) -> Versioned[Commitment]:
    found = await uow.commitments.get(commitment_id)
    if found is None:
        raise NotFound("El compromiso no existe.")
    return found


async def follow_up(
    uow: EventsUnitOfWork,
    commitment_id: str,
    data: CommitmentStatusInput,
    actor: Actor,
    *,
    may_change: Callable[[Commitment], bool],
    now: datetime,
) -> Commitment:
    """Staff or the responsible organisation move a commitment on."""
    current = await load_commitment(uow, commitment_id)
    if not may_change(current.entity):
        raise Forbidden("Solo el equipo o la organización responsable actualizan el compromiso.")
    events = current.entity.change_status(data, actor=actor, now=now)
    if events:
        await uow.commitments.save(current.entity, current.version, events)
    return current.entity
