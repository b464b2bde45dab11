"""What happens during and after an encuentro: rounds of small groups and their records, each
organisation's needs and offers, and the satisfaction survey."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from services.events.domain.encuentro import Encuentro, Group, NeedsOffers, Round, SurveyResponse
from services.events.domain.forms import GroupRecordInput, NeedsOffersInput, RoundInput, SurveyInput
from services.events.domain.grouping import Seat, form_groups
from services.events.domain.lifecycle import EncuentroStatus
from services.events.domain.registrations import find_by_code, require_in_progress
from shared.errors import Conflict, Forbidden, InvalidTransition, NotFound
from shared.events.base import EventContract
from shared.events.encuentros import (
    GroupMember,
    GroupRecordWritten,
    NeedsOffersStated,
    RoundFormed,
    RoundGroup,
    SurveyAnswered,
)

__all__ = [
    "NEEDS_OFFERS_OPEN",
    "NEEDS_OFFERS_PUBLIC",
    "SURVEY_OPEN",
    "answer_survey",
    "form_round",
    "state_needs_offers",
    "write_group_record",
]

_S = EncuentroStatus
NEEDS_OFFERS_OPEN = frozenset({_S.PUBLISHED, _S.IN_PROGRESS, _S.CLOSED})
NEEDS_OFFERS_PUBLIC = frozenset({_S.CLOSED, _S.RESULTS_PUBLISHED})
SURVEY_OPEN = frozenset({_S.CLOSED, _S.RESULTS_PUBLISHED})
RECORDS_OPEN = frozenset({_S.IN_PROGRESS, _S.CLOSED})


def _refuse(encuentro: Encuentro, what: str, allowed: frozenset[EncuentroStatus]) -> None:
    if encuentro.status not in allowed:
        raise InvalidTransition(
            f"{what} no es posible con el encuentro «{encuentro.status}».",
            current=str(encuentro.status),
            allowed=[str(s) for s in allowed],
        )


def form_round(
    encuentro: Encuentro,
    data: RoundInput,
    *,
    round_id: str,
    sectors: Mapping[str, str],
    regions: Mapping[str, str],
    now: datetime,
) -> tuple[Round, list[EventContract]]:
    """Split the checked-in participants into groups (`grouping`): `sectors` and `regions` of
    their organisations (head-office region) help mix them."""
    require_in_progress(encuentro, "Formar grupos")
    present = [r for r in encuentro.registrations if r.attended and r.status == "registered"]
    if not present:
        raise Conflict("Aún no hay participantes con check-in para formar grupos.")
    seats = [
        Seat(
            registration_id=r.id,
            organization_id=r.organization_id,
            sector=sectors.get(r.organization_id),
            region=regions.get(r.organization_id),
        )
        for r in present
    ]
    number = len(encuentro.rounds) + 1
    formed = form_groups(seats, data.group_size, round_number=number)
    groups = [
        Group(
            number=i,
            members=[
                GroupMember(registration_id=s.registration_id, organization_id=s.organization_id)
                for s in members
            ],
        )
        for i, members in enumerate(formed, start=1)
    ]
    round_ = Round(
        id=round_id,
        number=number,
        name=data.name,
        question=data.question,
        group_size=data.group_size,
        formed_at=now,
        groups=groups,
    )
    encuentro.rounds.append(round_)
    event = RoundFormed(
        encuentro_id=encuentro.id,
        occurred_at=now,
        round_id=round_id,
        number=number,
        round_name=data.name,
        question=data.question,
        group_size=data.group_size,
        groups=tuple(RoundGroup(number=g.number, members=tuple(g.members)) for g in groups),
    )
    return round_, [event]


def find_group(encuentro: Encuentro, round_id: str, number: int) -> Group:
    for round_ in encuentro.rounds:
        if round_.id == round_id:
            for group in round_.groups:
                if group.number == number:
                    return group
            raise NotFound("El grupo no existe en esta ronda.")
    raise NotFound("La ronda no existe en este encuentro.")


def write_group_record(
    encuentro: Encuentro,
    round_id: str,
    number: int,
    data: GroupRecordInput,
    *,
    by_staff: bool,
    now: datetime,
) -> tuple[Group, list[EventContract]]:
    """The group's own record: staff, or a member of the group with their code."""
    group = find_group(encuentro, round_id, number)
    if not by_staff:
        member = find_by_code(encuentro, data.code) if data.code else None
        members = {m.registration_id for m in group.members}
        if member is None or member.id not in members:
            raise Forbidden(
                "Solo el equipo o una persona del grupo (con su código) puede escribir."
            )
    _refuse(encuentro, "Escribir el registro del grupo", RECORDS_OPEN)
    if group.record == data.text:
        return group, []
    group.record = data.text
    group.record_updated_at = now
    event = GroupRecordWritten(
        encuentro_id=encuentro.id, occurred_at=now, round_id=round_id, group_number=number
    )
    return group, [event]


def state_needs_offers(
    encuentro: Encuentro, organization_id: str, data: NeedsOffersInput, now: datetime
) -> tuple[NeedsOffers, list[EventContract]]:
    """One answer per organisation with a place there, replaced until results are published."""
    if not encuentro.has_registration_of(organization_id):
        raise Forbidden("Solo una organización con personas inscritas en el encuentro responde.")
    _refuse(encuentro, "Declarar necesidades y ofertas", NEEDS_OFFERS_OPEN)
    answer = NeedsOffers(organization_id=organization_id, stated_at=now, **data.model_dump())
    earlier = [n for n in encuentro.needs_offers if n.organization_id == organization_id]
    if earlier and earlier[0].model_dump(exclude={"stated_at"}) == answer.model_dump(
        exclude={"stated_at"}
    ):
        return earlier[0], []
    encuentro.needs_offers = [
        n for n in encuentro.needs_offers if n.organization_id != organization_id
    ] + [answer]
    event = NeedsOffersStated(
        encuentro_id=encuentro.id,
        occurred_at=now,
        organization_id=organization_id,
        macrozone=encuentro.macrozone,
        needs=tuple(answer.needs),
        offers=tuple(answer.offers),
        replaces=bool(earlier),
    )
    return answer, [event]


def answer_survey(
    encuentro: Encuentro, data: SurveyInput, *, response_id: str, now: datetime
) -> tuple[SurveyResponse, list[EventContract]]:
    """Once per checked-in participant, by code; the response is not linked to them."""
    registration = find_by_code(encuentro, data.code)
    if registration is None or not registration.attended:
        raise Forbidden("La encuesta es para quienes hicieron check-in en el encuentro.")
    _refuse(encuentro, "Responder la encuesta", SURVEY_OPEN)
    if registration.surveyed:
        raise Conflict("Esta persona ya respondió la encuesta.")
    registration.surveyed = True
    ratings = {str(k): int(v) for k, v in data.ratings.items()}
    response = SurveyResponse(
        id=response_id, ratings=ratings, comments=data.comments, answered_at=now
    )
    encuentro.survey.append(response)
    event = SurveyAnswered(
        encuentro_id=encuentro.id, occurred_at=now, response_id=response_id, ratings=ratings
    )
    return response, [event]
