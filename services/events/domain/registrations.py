"""Seats: registration, the waiting list, cancellation, promotion, check-in and erasure.

The waiting list is served in order of arrival (`Registration.seq`); a position is the place
among those still waiting, so it moves up as others are promoted or leave. Seats freed (a
cancellation, a larger capacity) promote exactly as many from the waiting list, first come
first served, in the same write as the change that freed them. One e-mail holds one place per
encuentro (compared case-insensitively); a cancelled place frees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.events.domain.encuentro import Encuentro, Registration
from services.events.domain.forms import ParticipantInput
from services.events.domain.lifecycle import REGISTRATION_OPEN, EncuentroStatus
from shared.errors import Conflict, InvalidTransition, NotFound
from shared.events.base import EventContract
from shared.events.encuentros import (
    ParticipantCheckedIn,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantRegistered,
    RegistrationCancelled,
    RegistrationPromoted,
)
from shared.events.registry import Actor

__all__ = [
    "cancel",
    "check_in",
    "erase_participant",
    "find",
    "find_by_code",
    "normalize_code",
    "position_of",
    "promote_waiting",
    "register",
    "require_in_progress",
    "walk_in",
]

ErasureCause = Literal["request", "retention", "organization_withdrawn"]


def email_key(email: str) -> str:
    return email.casefold()


def normalize_code(code: str) -> str:
    """Codes are read aloud and typed: case, spaces and hyphens do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def position_of(encuentro: Encuentro, registration: Registration) -> int | None:
    """1 for the first waiting, None for anyone not waiting."""
    if registration.status != "waitlisted":
        return None
    waiting = [r for r in encuentro.registrations if r.status == "waitlisted"]
    return next(i for i, r in enumerate(waiting, start=1) if r.id == registration.id)


def find(encuentro: Encuentro, registration_id: str) -> Registration:
    for registration in encuentro.registrations:
        if registration.id == registration_id:
            return registration
    raise NotFound("La inscripción no existe en este encuentro.")


def find_by_code(encuentro: Encuentro, code: str) -> Registration | None:
    wanted = normalize_code(code)
    if not wanted:
        return None
    for registration in encuentro.registrations:
        if registration.code is not None and normalize_code(registration.code) == wanted:
            return registration
    return None


def _holder_of(encuentro: Encuentro, email: str) -> Registration | None:
    key = email_key(email)
    for registration in encuentro.registrations:
        if registration.holds_place and registration.email_key == key:
            return registration
    return None


def register(
    encuentro: Encuentro,
    participant: ParticipantInput,
    *,
    organization_id: str,
    registration_id: str,
    code: str,
    now: datetime,
    walk_in: bool = False,
) -> tuple[Registration, list[EventContract]]:
    """A seat while there is one, else the waiting list; a walk-in (staff, at the door) always
    gets a seat. 409 when the e-mail already holds a place or registration is not open."""
    if not walk_in and encuentro.status not in REGISTRATION_OPEN:
        raise InvalidTransition(
            f"La inscripción no está abierta: el encuentro está «{encuentro.status}».",
            current=str(encuentro.status),
            allowed=[str(s) for s in REGISTRATION_OPEN],
        )
    if _holder_of(encuentro, participant.email) is not None:
        raise Conflict(
            "Ese correo ya tiene un lugar en este encuentro.",
            errors=[{"field": "participant.email", "message": "Ya inscrito en este encuentro."}],
        )
    seated = walk_in or encuentro.count("registered") < encuentro.capacity
    registration = Registration(
        id=registration_id,
        organization_id=organization_id,
        status="registered" if seated else "waitlisted",
        seq=encuentro.next_seq,
        registered_at=now,
        participant=participant,
        email_key=email_key(participant.email),
        code=code,
        walk_in=walk_in,
    )
    encuentro.next_seq += 1
    encuentro.registrations.append(registration)
    position = position_of(encuentro, registration)
    return registration, [
        ParticipantRegistered(
            encuentro_id=encuentro.id,
            occurred_at=now,
            registration_id=registration.id,
            organization_id=organization_id,
            status=registration.status,
            position=position,
            gender=participant.gender,
            age_group=participant.age_group,
            walk_in=walk_in,
        ),
        ParticipantEnrolled(
            encuentro_id=encuentro.id,
            occurred_at=now,
            registration_id=registration.id,
            organization_id=organization_id,
            participant_name=participant.name,
            email=participant.email,
            code=code,
            status=registration.status,
            position=position,
        ),
    ]


def promote_waiting(encuentro: Encuentro, now: datetime) -> list[EventContract]:
    """Fill every free seat from the waiting list, in order of arrival."""
    free = encuentro.capacity - encuentro.count("registered")
    waiting = [r for r in encuentro.registrations if r.status == "waitlisted"]
    promoted = waiting[: max(free, 0)]
    events: list[EventContract] = []
    for registration in promoted:
        registration.status = "registered"
        registration.promoted_at = now
        events.append(
            RegistrationPromoted(
                encuentro_id=encuentro.id,
                occurred_at=now,
                registration_id=registration.id,
                organization_id=registration.organization_id,
            )
        )
    return events + encuentro.inform("promoted", promoted, now)


def cancel(
    encuentro: Encuentro, registration_id: str, *, actor: Actor, now: datetime
) -> list[EventContract]:
    """Cancel a place before the encuentro starts; a freed seat promotes the first waiting."""
    registration = find(encuentro, registration_id)
    if registration.status == "cancelled":
        return []  # already done: cancelling twice is the same request
    if not encuentro.editable_before_start:
        raise InvalidTransition(
            f"Las inscripciones ya no se pueden cancelar: el encuentro está «{encuentro.status}».",
            current=str(encuentro.status),
            allowed=[str(EncuentroStatus.DRAFT), str(EncuentroStatus.PUBLISHED)],
        )
    previous = registration.status
    registration.status = "cancelled"
    registration.cancelled_at = now
    events: list[EventContract] = [
        RegistrationCancelled(
            encuentro_id=encuentro.id,
            occurred_at=now,
            registration_id=registration.id,
            organization_id=registration.organization_id,
            previous_status=previous,
            changed_by=actor,
        ),
        *encuentro.inform("registration_cancelled", [registration], now),
    ]
    if previous == "registered" and encuentro.status in REGISTRATION_OPEN:
        events += promote_waiting(encuentro, now)
    return events


def check_in(
    encuentro: Encuentro, registration: Registration, now: datetime
) -> list[EventContract]:
    """Mark a registered person present; checking in twice changes nothing."""
    require_in_progress(encuentro, "El check-in")
    if registration.attended:
        return []
    if registration.status == "cancelled":
        raise Conflict("Esa inscripción fue cancelada.")
    events: list[EventContract] = []
    if registration.status == "waitlisted":  # came anyway: staff let them in at the door
        registration.status = "registered"
        registration.promoted_at = now
        events.append(
            RegistrationPromoted(
                encuentro_id=encuentro.id,
                occurred_at=now,
                registration_id=registration.id,
                organization_id=registration.organization_id,
            )
        )
    registration.attended = True
    registration.checked_in_at = now
    events.append(
        ParticipantCheckedIn(
            encuentro_id=encuentro.id,
            occurred_at=now,
            registration_id=registration.id,
            organization_id=registration.organization_id,
        )
    )
    return events


def walk_in(
    encuentro: Encuentro,
    participant: ParticipantInput,
    *,
    organization_id: str,
    registration_id: str,
    code: str,
    now: datetime,
) -> tuple[Registration, list[EventContract]]:
    """Staff register and check in someone at the door (their e-mail's place if they have
    one)."""
    require_in_progress(encuentro, "El check-in")
    holder = _holder_of(encuentro, participant.email)
    if holder is not None:
        return holder, check_in(encuentro, holder, now)
    registration, events = register(
        encuentro,
        participant,
        organization_id=organization_id,
        registration_id=registration_id,
        code=code,
        now=now,
        walk_in=True,
    )
    return registration, events + check_in(encuentro, registration, now)


def require_in_progress(encuentro: Encuentro, what: str) -> None:
    """409 unless the encuentro is under way (check-in, rounds)."""
    if encuentro.status != EncuentroStatus.IN_PROGRESS:
        raise InvalidTransition(
            f"{what} solo es posible con el encuentro en curso; está «{encuentro.status}».",
            current=str(encuentro.status),
            allowed=[str(EncuentroStatus.IN_PROGRESS)],
        )


def erase_participant(
    encuentro: Encuentro, registration: Registration, cause: ErasureCause, now: datetime
) -> list[EventContract]:
    """Forget who the person was; the place, its status and attendance stay for the counts."""
    if registration.participant is None:
        return []
    registration.participant = None
    registration.email_key = None
    registration.code = None
    return [
        ParticipantErased(
            encuentro_id=encuentro.id,
            occurred_at=now,
            registration_id=registration.id,
            cause=cause,
        )
    ]


def erase_all(encuentro: Encuentro, cause: ErasureCause, now: datetime) -> list[EventContract]:
    """Every participant's personal data and the survey's comments (retention reached)."""
    events: list[EventContract] = []
    for registration in encuentro.registrations:
        events += erase_participant(encuentro, registration, cause, now)
    for response in encuentro.survey:
        response.comments = None
    encuentro.personal_data_erased_at = now
    return events
