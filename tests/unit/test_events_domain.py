"""The encuentro aggregate without infrastructure: changes, seats and the waiting list, check-in,
the survey, needs and offers, commitments and erasure."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.events.domain import activity, registrations
from services.events.domain.commitments import take_commitment
from services.events.domain.encuentro import Encuentro
from services.events.domain.forms import (
    CommitmentInput,
    CommitmentStatusInput,
    EncuentroCreate,
    EncuentroPatch,
    NeedsOffersInput,
    ParticipantInput,
    RoundInput,
    SurveyInput,
)
from services.events.domain.lifecycle import STANDARD_AGENDA, EncuentroStatus
from shared.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from shared.events.encuentros import (
    EncuentroCancelled,
    EncuentroCreated,
    ParticipantEnrolled,
    ParticipantRegistered,
    ParticipantsToInform,
    RegistrationPromoted,
)
from shared.events.registry import Actor

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
STAFF = Actor(kind="staff", id="staff-1")
_ids = itertools.count(1)


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Encuentro Centro Sur",
        "macrozone": "centro_sur",
        "mode": "virtual",
        "starts_at": "2026-09-23T10:00:00-03:00",
        "ends_at": "2026-09-23T12:30:00-03:00",
        "capacity": 3,
    }
    data.update(overrides)
    return data


def encuentro(status: EncuentroStatus = EncuentroStatus.PUBLISHED, **overrides: Any) -> Encuentro:
    created, _ = Encuentro.create(
        EncuentroCreate.model_validate(body(**overrides)),
        encuentro_id="e1",
        actor=STAFF,
        now=NOW,
    )
    created.status = status
    return created


def person(n: int | None = None) -> ParticipantInput:
    n = n if n is not None else next(_ids)
    return ParticipantInput(name=f"Persona {n}", email=f"p{n}@correo.test")


def register(e: Encuentro, organization_id: str = "org-a", **kwargs: Any) -> Any:
    n = next(_ids)
    return registrations.register(
        e,
        kwargs.pop("participant", None) or person(n),
        organization_id=organization_id,
        registration_id=f"r{n}",
        code=f"CODE-{n:04d}",
        now=NOW,
        **kwargs,
    )


def test_creation_has_the_standard_agenda_and_a_draft_event() -> None:
    created, events = Encuentro.create(
        EncuentroCreate.model_validate(body()), encuentro_id="e1", actor=STAFF, now=NOW
    )
    assert created.status == EncuentroStatus.DRAFT
    assert tuple(created.agenda) == STANDARD_AGENDA
    assert isinstance(events[0], EncuentroCreated)
    assert set(events[0].encuentro.regions) == {"CL-LI", "CL-ML", "CL-NB", "CL-BI", "CL-RM"}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"ends_at": "2026-09-23T09:00:00-03:00"}, "ends_at"),
        ({"starts_at": "2026-09-23T10:00:00"}, "starts_at"),
        ({"capacity": 0}, "capacity"),
        ({"macrozone": "centro"}, "macrozone"),
        ({"online_url": "ftp://x.cl"}, "online_url"),
        ({"agenda": [{"kind": "almuerzo", "title": "x", "minutes": 5}]}, "agenda"),
    ],
)
def test_creation_refuses_what_the_contract_refuses(override: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        EncuentroCreate.model_validate(body(**override))
    assert field in str(info.value)


def test_seats_then_the_waiting_list_with_positions() -> None:
    e = encuentro()
    answers = [register(e)[0] for _ in range(5)]
    assert [a.status for a in answers] == ["registered"] * 3 + ["waitlisted"] * 2
    assert [registrations.position_of(e, a) for a in answers] == [None, None, None, 1, 2]


def test_the_same_email_twice_is_a_conflict_whatever_its_case() -> None:
    e = encuentro()
    register(e, participant=ParticipantInput(name="Ana Pérez", email="ana@correo.test"))
    with pytest.raises(Conflict):
        register(e, participant=ParticipantInput(name="Ana P", email="ANA@correo.test"))


def test_registration_only_while_published() -> None:
    with pytest.raises(InvalidTransition) as info:
        register(encuentro(EncuentroStatus.DRAFT))
    assert info.value.extra["current_status"] == "draft"


def test_cancelling_a_seat_promotes_the_first_waiting_and_tells_them() -> None:
    e = encuentro()
    answers = [register(e)[0] for _ in range(5)]
    events = registrations.cancel(e, answers[0].id, actor=STAFF, now=NOW)
    promoted = [ev for ev in events if isinstance(ev, RegistrationPromoted)]
    assert [p.registration_id for p in promoted] == [answers[3].id]
    told = [ev for ev in events if isinstance(ev, ParticipantsToInform)]
    assert {t.about for t in told} == {"registration_cancelled", "promoted"}
    assert registrations.position_of(e, answers[4]) == 1
    assert registrations.cancel(e, answers[0].id, actor=STAFF, now=NOW) == []  # idempotent


def test_cancelling_a_waiting_place_promotes_nobody() -> None:
    e = encuentro()
    answers = [register(e)[0] for _ in range(5)]
    events = registrations.cancel(e, answers[3].id, actor=STAFF, now=NOW)
    assert not [ev for ev in events if isinstance(ev, RegistrationPromoted)]


def test_a_larger_capacity_promotes_as_many_as_seats_freed() -> None:
    e = encuentro()
    answers = [register(e)[0] for _ in range(6)]
    events = e.update(EncuentroPatch(capacity=5), actor=STAFF, now=NOW)
    promoted = [ev.registration_id for ev in events if isinstance(ev, RegistrationPromoted)]
    assert promoted == [answers[3].id, answers[4].id]
    assert e.count("registered") == 5 and e.count("waitlisted") == 1


def test_capacity_never_below_the_seats_taken_nor_macrozone_changed_once_published() -> None:
    e = encuentro()
    for _ in range(3):
        register(e)
    with pytest.raises(Conflict) as info:
        e.update(EncuentroPatch(capacity=2), actor=STAFF, now=NOW)
    assert info.value.errors and info.value.errors[0]["field"] == "capacity"
    with pytest.raises(Conflict):
        e.update(EncuentroPatch(macrozone="sur_austral"), actor=STAFF, now=NOW)
    with pytest.raises(InvalidInput):
        e.update(
            EncuentroPatch.model_validate({"ends_at": "2026-09-22T10:00:00-03:00"}),
            actor=STAFF,
            now=NOW,
        )


def test_every_change_raises_the_calendar_sequence() -> None:
    e = encuentro(EncuentroStatus.DRAFT)
    before = e.sequence
    e.update(EncuentroPatch(title="Otro título"), actor=STAFF, now=NOW)
    e.change_status(EncuentroStatus.PUBLISHED, reason=None, actor=STAFF, now=NOW)
    assert e.sequence == before + 2
    assert e.update(EncuentroPatch(title="Otro título"), actor=STAFF, now=NOW) == []


def test_cancelling_the_encuentro_tells_every_registrant() -> None:
    e = encuentro()
    for _ in range(5):
        register(e)
    events = e.change_status(EncuentroStatus.CANCELLED, reason="Lluvia", actor=STAFF, now=NOW)
    assert isinstance(events[0], EncuentroCancelled)
    told = events[1]
    assert isinstance(told, ParticipantsToInform) and len(told.recipients) == 5


def test_registration_events_keep_people_off_the_public_topic() -> None:
    e = encuentro()
    _, events = register(e, participant=ParticipantInput(name="Ana Pérez", email="ana@x.test"))
    public = next(ev for ev in events if isinstance(ev, ParticipantRegistered))
    private = next(ev for ev in events if isinstance(ev, ParticipantEnrolled))
    assert "ana" not in public.model_dump_json().lower()
    assert private.topic.value.endswith(".private.v1")
    assert "Ana" not in repr(private) and "ana@x.test" not in str(private.safe_summary())


def test_check_in_by_code_is_idempotent_and_only_in_progress() -> None:
    e = encuentro()
    registration, _ = register(e)
    with pytest.raises(InvalidTransition):
        registrations.check_in(e, registration, NOW)
    e.status = EncuentroStatus.IN_PROGRESS
    found = registrations.find_by_code(e, str(registration.code).lower().replace("-", " "))
    assert found is not None and found.id == registration.id
    assert len(registrations.check_in(e, found, NOW)) == 1
    assert registrations.check_in(e, found, NOW) == []


def test_a_walk_in_is_seated_and_checked_in_even_when_full() -> None:
    e = encuentro()
    for _ in range(3):
        register(e)
    e.status = EncuentroStatus.IN_PROGRESS
    registration, _ = registrations.walk_in(
        e, person(), organization_id="org-b", registration_id="walk", code="WALK-0001", now=NOW
    )
    assert registration.status == "registered" and registration.attended
    assert e.count("registered") == 4


def test_survey_once_for_those_who_checked_in() -> None:
    e = encuentro()
    came, _ = register(e)
    absent, _ = register(e)
    e.status = EncuentroStatus.IN_PROGRESS
    registrations.check_in(e, came, NOW)
    e.status = EncuentroStatus.CLOSED
    ratings = {"experiencia_general": 5}
    answer = SurveyInput.model_validate({"code": came.code, "ratings": ratings})
    activity.answer_survey(e, answer, response_id="s1", now=NOW)
    with pytest.raises(Conflict):
        activity.answer_survey(e, answer, response_id="s2", now=NOW)
    with pytest.raises(Forbidden):
        activity.answer_survey(
            e,
            SurveyInput.model_validate({"code": absent.code, "ratings": ratings}),
            response_id="s3",
            now=NOW,
        )
    assert "r" not in e.survey[0].model_dump(), "a response is not linked to who answered"


def test_needs_and_offers_replace_the_organisations_earlier_answer() -> None:
    e = encuentro()
    register(e, organization_id="org-a")
    first = NeedsOffersInput(needs=["difusion"], offers=["experiencias"])
    _, events = activity.state_needs_offers(e, "org-a", first, NOW)
    assert not events[0].replaces  # type: ignore[attr-defined]
    second = NeedsOffersInput(needs=["fortalecimiento"], offers=[])
    _, events = activity.state_needs_offers(e, "org-a", second, NOW)
    assert events[0].replaces  # type: ignore[attr-defined]
    assert [n.needs for n in e.needs_offers] == [["fortalecimiento"]]
    with pytest.raises(Forbidden):
        activity.state_needs_offers(e, "org-z", first, NOW)


def test_rounds_put_every_checked_in_person_in_one_group() -> None:
    e = encuentro(capacity=50)
    people = [register(e, organization_id=f"org-{n % 7}")[0] for n in range(23)]
    e.status = EncuentroStatus.IN_PROGRESS
    for p in people[:21]:
        registrations.check_in(e, p, NOW)
    round_, _ = activity.form_round(
        e,
        RoundInput(name="Ronda uno", question="¿Qué hacemos?", group_size=4),
        round_id="round-1",
        sectors={},
        regions={},
        now=NOW,
    )
    members = [m.registration_id for g in round_.groups for m in g.members]
    assert sorted(members) == sorted(p.id for p in people[:21])


def test_commitments_lie_in_the_macrozone_with_a_responsible_among_them() -> None:
    e = encuentro(EncuentroStatus.IN_PROGRESS)
    data = CommitmentInput(
        region="CL-AR",
        text="Mesa regional",
        organization_ids=["org-a"],
        responsible_organization_id="org-b",
        due_date=date(2027, 1, 1),
    )
    with pytest.raises(InvalidInput) as info:
        take_commitment(
            e,
            data,
            commitment_id="c1",
            known_organizations={"org-a": True},
            actor=STAFF,
            now=NOW,
        )
    assert {err["field"] for err in info.value.errors or []} == {
        "region",
        "responsible_organization_id",
    }
    good = data.model_copy(update={"region": "CL-RM", "responsible_organization_id": "org-a"})
    commitment, _ = take_commitment(
        e, good, commitment_id="c1", known_organizations={"org-a": True}, actor=STAFF, now=NOW
    )
    assert not commitment.overdue(date(2026, 12, 31)) and commitment.overdue(date(2027, 1, 2))
    commitment.change_status(
        CommitmentStatusInput(status="fulfilled"), actor=STAFF, now=NOW + timedelta(days=1)
    )
    assert not commitment.overdue(date(2027, 1, 2))
    assert [h.status for h in commitment.history] == ["pending", "fulfilled"]


def test_erasure_forgets_people_and_keeps_the_counts() -> None:
    e = encuentro()
    for _ in range(4):
        register(e)
    events = registrations.erase_all(e, "retention", NOW)
    assert len(events) == 4
    assert all(r.participant is None and r.code is None for r in e.registrations)
    assert e.count("registered") == 3 and e.count("waitlisted") == 1


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=8),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=40),
)
def test_the_waiting_list_invariants_hold_whatever_happens(
    capacity: int, steps: list[tuple[bool, int]]
) -> None:
    """Registrations and cancellations in any order: never more seated than the capacity,
    no free seat while someone waits, and the waiting list in order of arrival."""
    e = encuentro(capacity=capacity)
    for registering, pick in steps:
        holding = [r for r in e.registrations if r.holds_place]
        if registering or not holding:
            register(e)
        else:
            registrations.cancel(e, holding[pick % len(holding)].id, actor=STAFF, now=NOW)
        seated = e.count("registered")
        waiting = [r for r in e.registrations if r.status == "waitlisted"]
        assert seated <= capacity
        assert not waiting or seated == capacity
        assert [r.seq for r in waiting] == sorted(r.seq for r in waiting)
        assert [registrations.position_of(e, r) for r in waiting] == list(
            range(1, len(waiting) + 1)
        )


@pytest.mark.parametrize("value", [True, "12", 12.5])
def test_numbers_are_json_integers(value: Any) -> None:
    """Capacity, group size and ratings refuse booleans and digit strings pydantic would read."""
    with pytest.raises(ValidationError):
        EncuentroCreate.model_validate(body(capacity=value))
    with pytest.raises(ValidationError):
        RoundInput.model_validate({"name": "Ronda", "question": "¿Qué?", "group_size": value})
    with pytest.raises(ValidationError):
        SurveyInput.model_validate({"code": "ABCD-EFGH", "ratings": {"temas": value}})
