"""What each caller sees of an encuentro, its registrations, rounds and commitments.

One place decides what is public: anyone sees an encuentro without its online link (staff
and organisations with people registered get it); registrations carry personal data and are
only shown to staff (with the personal code) and to the participant's own organisation;
nothing public ever names a participant.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, field_serializer

from services.events.domain.commitments import Commitment
from services.events.domain.encuentro import Encuentro, Registration, Round
from services.events.domain.forms import ParticipantInput
from services.events.domain.lifecycle import AgendaItem
from services.events.domain.registrations import position_of
from shared.calendar import SANTIAGO
from shared.events.encuentros import GroupMember

__all__ = [
    "CheckinView",
    "CommitmentView",
    "Counts",
    "EncuentroView",
    "NeedsOffersView",
    "RegistrationView",
    "RoundView",
    "StaffRegistrationView",
    "SurveyReceipt",
    "commitment_view",
    "encuentro_view",
    "registration_view",
    "round_view",
    "staff_registration_view",
]


class Counts(BaseModel):
    registered: int
    waitlisted: int
    attended: int


class StatusStepView(BaseModel):
    status: str
    reason: str | None
    at: datetime


class EncuentroView(BaseModel):
    id: str
    title: str
    macrozone: str
    theme: str | None
    cycle: str | None
    mode: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    online_url: str | None
    capacity: int
    description: str | None
    agenda: list[AgendaItem]
    speakers: list[dict[str, Any]]
    status: str
    counts: Counts
    created_at: datetime
    updated_at: datetime
    history: list[StatusStepView] | None = None  # staff only

    @field_serializer("starts_at", "ends_at")
    def _local_time(self, moment: datetime) -> datetime:
        """An encuentro's times as people there read them (America/Santiago, with offset)."""
        return moment.astimezone(SANTIAGO)


def encuentro_view(encuentro: Encuentro, *, online_link: bool, staff: bool) -> EncuentroView:
    return EncuentroView(
        **encuentro.model_dump(
            include={
                "id",
                "title",
                "macrozone",
                "theme",
                "cycle",
                "mode",
                "starts_at",
                "ends_at",
                "venue",
                "capacity",
                "description",
                "agenda",
                "speakers",
                "status",
                "created_at",
                "updated_at",
            }
        ),
        online_url=encuentro.online_url if online_link else None,
        counts=Counts(
            registered=encuentro.count("registered"),
            waitlisted=encuentro.count("waitlisted"),
            attended=encuentro.count("attended"),
        ),
        history=(
            [
                StatusStepView(status=str(h.status), reason=h.reason, at=h.at)
                for h in encuentro.history
            ]
            if staff
            else None
        ),
    )


class RegistrationView(BaseModel):
    """A registration as its organisation sees it (`participant` null once erased)."""

    id: str
    encuentro_id: str
    organization_id: str
    status: Literal["registered", "waitlisted", "cancelled"]
    position: int | None
    attended: bool
    registered_at: datetime
    participant: ParticipantInput | None


class StaffRegistrationView(RegistrationView):
    """Staff also see the personal code (to check someone in who lost the e-mail)."""

    code: str | None
    walk_in: bool
    checked_in_at: datetime | None


def registration_view(
    encuentro: Encuentro, registration: Registration, *, staff: bool
) -> RegistrationView:
    common: dict[str, Any] = {
        "id": registration.id,
        "encuentro_id": encuentro.id,
        "organization_id": registration.organization_id,
        "status": registration.status,
        "position": position_of(encuentro, registration),
        "attended": registration.attended,
        "registered_at": registration.registered_at,
        "participant": registration.participant,
    }
    if staff:
        return staff_registration_view(encuentro, registration)
    return RegistrationView(**common)


def staff_registration_view(
    encuentro: Encuentro, registration: Registration
) -> StaffRegistrationView:
    return StaffRegistrationView(
        **registration_view(encuentro, registration, staff=False).model_dump(),
        code=registration.code,
        walk_in=registration.walk_in,
        checked_in_at=registration.checked_in_at,
    )


class CheckinView(BaseModel):
    registration_id: str
    organization_id: str
    status: str
    attended: bool
    checked_in_at: datetime | None


class GroupView(BaseModel):
    number: int
    members: list[GroupMember]
    record: str | None


class RoundView(BaseModel):
    id: str
    number: int
    name: str
    question: str
    group_size: int
    formed_at: datetime
    groups: list[GroupView]


def round_view(round_: Round) -> RoundView:
    return RoundView(
        id=round_.id,
        number=round_.number,
        name=round_.name,
        question=round_.question,
        group_size=round_.group_size,
        formed_at=round_.formed_at,
        groups=[
            GroupView(number=g.number, members=g.members, record=g.record) for g in round_.groups
        ],
    )


class NeedsOffersView(BaseModel):
    organization_id: str
    organization_name: str | None
    needs: list[str]
    needs_detail: str | None
    offers: list[str]
    offers_detail: str | None


class SurveyReceipt(BaseModel):
    id: str
    answered_at: datetime


class HistoryView(BaseModel):
    status: str
    note: str | None
    at: datetime


class CommitmentView(BaseModel):
    id: str
    encuentro_id: str
    macrozone: str
    region: str
    text: str
    organization_ids: list[str]
    responsible_organization_id: str
    due_date: date
    status: str
    overdue: bool
    created_at: datetime
    updated_at: datetime
    history: list[HistoryView]


def commitment_view(commitment: Commitment, today: date) -> CommitmentView:
    return CommitmentView(
        **commitment.model_dump(exclude={"history", "status"}),
        status=str(commitment.status),
        overdue=commitment.overdue(today),
        history=[
            HistoryView(status=str(h.status), note=h.note, at=h.at) for h in commitment.history
        ],
    )
