"""Statistics of an encuentro and of a cycle (`GET /v1/stats/encuentros/{id}`, `/cycles/{c}`),
folded from the events service's public events (domain.md §7).

One `EncuentroTally` per encuentro holds what its figures need: each registration's status,
attendance, organisation and (optional) gender and age group, each organisation's latest needs
and offers, the survey's sums, and its commitments. It holds no names, e-mails or codes (the
public topic has none). Applying an event is constant work; a cycle adds up its encuentros,
counting organisations once across the cycle.

Definitions: inscritos are registrations holding a seat (`registered`, attended or not);
participaciones are inscritos who checked in; attendance = participaciones / inscritos;
organisations are distinct among inscritos and among those who attended; attendees by sector
use the organisation's sector; needs and offers shares are over the organisations that
answered; satisfaction is the mean per dimension over those who rated it; commitments overdue
are neither fulfilled nor dropped and past due; fulfilled share over those not dropped.
Figures about people (by gender, age group, ratings) hide cells under 3 people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from pydantic import BaseModel, Field

from services.metrics.domain.figures import (
    SATISFACTION_DIMENSIONS,
    SUPPRESSION_THRESHOLD,
    Satisfaction,
    Share,
    attendance_percent,
    fulfilled_percent,
    satisfaction,
    shares,
)
from shared.events.base import EventContract
from shared.events.commitments import CommitmentEvent
from shared.events.encuentros import (
    EncuentroEvent,
    NeedsOffersStated,
    ParticipantCheckedIn,
    ParticipantRegistered,
    RegistrationCancelled,
    RegistrationPromoted,
    SurveyAnswered,
)

__all__ = ["CommitmentFigures", "EncuentroStatistics", "EncuentroTally", "statistics"]

NEEDS = (
    "articulacion_redes",
    "informacion_contactos_voluntariado",
    "vinculacion_territorial",
    "fortalecimiento",
    "incidencia_politicas",
    "difusion",
)
OFFERS = (
    "saberes_metodologias",
    "experiencias",
    "contactos",
    "tiempo_voluntariado",
    "redes_espacios",
    "plataformas",
    "aportes_materiales",
)
GENDERS = ("mujer", "hombre", "otro", "prefiere_no_decir")
AGE_GROUPS = ("18-29", "30-44", "45-59", "60+")
COMMITMENT_STATUSES = ("pending", "in_progress", "fulfilled", "dropped")


class Seat(BaseModel):
    organization_id: str
    status: str  # registered, waitlisted, cancelled
    attended: bool = False
    gender: str | None = None
    age_group: str | None = None


class Answer(BaseModel):
    needs: list[str]
    offers: list[str]


class CommitmentState(BaseModel):
    status: str
    region: str
    due_date: date


class EncuentroTally(BaseModel):
    """Everything one encuentro's figures are computed from."""

    encuentro_id: str
    title: str | None = None
    cycle: str | None = None
    macrozone: str | None = None
    status: str | None = None
    seats: dict[str, Seat] = Field(default_factory=dict)
    answers: dict[str, Answer] = Field(default_factory=dict)
    ratings: dict[str, list[int]] = Field(default_factory=dict)  # dimension → [sum, n]
    responses: list[str] = Field(default_factory=list)  # response ids (redelivery-safe)
    commitments: dict[str, CommitmentState] = Field(default_factory=dict)

    def apply(self, event: EventContract) -> bool:
        """Fold one event in; False when it changes nothing (not ours, or already here)."""
        if isinstance(event, EncuentroEvent):
            snapshot = event.encuentro
            self.title, self.cycle = snapshot.title, snapshot.cycle
            self.macrozone, self.status = snapshot.macrozone, snapshot.status
        elif isinstance(event, ParticipantRegistered):
            self.seats[event.registration_id] = Seat(
                organization_id=event.organization_id,
                status=event.status,
                gender=event.gender,
                age_group=event.age_group,
            )
        elif isinstance(event, RegistrationPromoted | RegistrationCancelled):
            seat = self.seats.get(event.registration_id)
            if seat is None:
                return False
            seat.status = "registered" if isinstance(event, RegistrationPromoted) else "cancelled"
        elif isinstance(event, ParticipantCheckedIn):
            seat = self.seats.get(event.registration_id)
            if seat is None:
                return False
            seat.status, seat.attended = "registered", True
        elif isinstance(event, NeedsOffersStated):
            self.answers[event.organization_id] = Answer(
                needs=list(event.needs), offers=list(event.offers)
            )
        elif isinstance(event, SurveyAnswered):
            if event.response_id in self.responses:
                return False
            self.responses.append(event.response_id)
            for dimension, rating in event.ratings.items():
                total, n = self.ratings.get(dimension, [0, 0])
                self.ratings[dimension] = [total + rating, n + 1]
        elif isinstance(event, CommitmentEvent):
            self.commitments[event.commitment_id] = CommitmentState(
                status=event.status, region=event.region, due_date=event.due_date
            )
        else:
            return False
        return True


class CommitmentFigures(BaseModel):
    total: int
    by_status: list[Share]
    fulfilled_percent: int | None
    overdue: int


class Organizations(BaseModel):
    registered: int
    attended: int


class EncuentroStatistics(BaseModel):
    inscritos: int
    participaciones: int
    attendance_percent: int | None
    organizations: Organizations
    attendees_by_sector: list[Share]
    attendees_by_gender: list[Share]
    attendees_by_age_group: list[Share]
    needs_respondents: int
    needs: list[Share]
    offers: list[Share]
    satisfaction: Satisfaction
    commitments: CommitmentFigures


def commitment_figures(commitments: Iterable[CommitmentState], today: date) -> CommitmentFigures:
    states = list(commitments)
    by_status = Counter(c.status for c in states)
    not_dropped = len(states) - by_status.get("dropped", 0)
    overdue = sum(
        1 for c in states if c.status not in ("fulfilled", "dropped") and c.due_date < today
    )
    return CommitmentFigures(
        total=len(states),
        by_status=shares(by_status, len(states), order=COMMITMENT_STATUSES),
        fulfilled_percent=fulfilled_percent(by_status.get("fulfilled", 0), not_dropped),
        overdue=overdue,
    )


def statistics(
    tallies: Sequence[EncuentroTally], sectors: Mapping[str, str], today: date
) -> EncuentroStatistics:
    """One encuentro's figures, or a cycle's when given all its encuentros (`sectors`: each
    organisation's sector, as the registry says now)."""
    seats = [seat for tally in tallies for seat in tally.seats.values()]
    inscritos = [s for s in seats if s.status == "registered"]
    attended = [s for s in inscritos if s.attended]
    by_sector = Counter(sectors.get(s.organization_id, "desconocido") for s in attended)
    by_gender = Counter(s.gender for s in attended if s.gender is not None)
    by_age = Counter(s.age_group for s in attended if s.age_group is not None)
    answers = [a for tally in tallies for a in tally.answers.values()]
    needs = Counter(n for a in answers for n in set(a.needs))
    offers = Counter(o for a in answers for o in set(a.offers))
    ratings: dict[str, tuple[int, int]] = {}
    for tally in tallies:
        for dimension, (total, n) in tally.ratings.items():
            before = ratings.get(dimension, (0, 0))
            ratings[dimension] = (before[0] + total, before[1] + n)
    responses = sum(len(t.responses) for t in tallies)
    commitments = [c for tally in tallies for c in tally.commitments.values()]
    return EncuentroStatistics(
        inscritos=len(inscritos),
        participaciones=len(attended),
        attendance_percent=attendance_percent(len(attended), len(inscritos)),
        organizations=Organizations(
            registered=len({s.organization_id for s in inscritos}),
            attended=len({s.organization_id for s in attended}),
        ),
        attendees_by_sector=shares(by_sector, len(attended)),
        attendees_by_gender=shares(
            by_gender, sum(by_gender.values()), order=GENDERS, suppress_below=SUPPRESSION_THRESHOLD
        ),
        attendees_by_age_group=shares(
            by_age, sum(by_age.values()), order=AGE_GROUPS, suppress_below=SUPPRESSION_THRESHOLD
        ),
        needs_respondents=len(answers),
        needs=shares(needs, len(answers), order=NEEDS),
        offers=shares(offers, len(answers), order=OFFERS),
        satisfaction=satisfaction(
            {d: r for d, r in ratings.items() if d in SATISFACTION_DIMENSIONS}, responses
        ),
        commitments=commitment_figures(commitments, today),
    )
