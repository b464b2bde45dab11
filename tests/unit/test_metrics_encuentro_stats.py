"""Encuentro and cycle statistics folded from the events service's events, without
infrastructure: seed 000's COS cycle, redelivery, suppression of small cells."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from services.metrics.domain.encuentro_stats import EncuentroTally, statistics
from shared.events.commitments import CommitmentTaken
from shared.events.encuentros import (
    NeedsOffersStated,
    ParticipantCheckedIn,
    ParticipantRegistered,
    RegistrationCancelled,
    SurveyAnswered,
)
from shared.events.registry import Actor

NOW = datetime(2021, 10, 1, tzinfo=UTC)
STAFF = Actor(kind="staff", id="s")
SECTORS = {
    "sociedad_civil": 116,
    "privado": 21,
    "publico": 12,
    "academia": 10,
    "organismo_internacional": 7,
}
_ids = itertools.count()


def registered(tally: EncuentroTally, org: str, **kw: Any) -> str:
    rid = f"r{next(_ids)}"
    tally.apply(
        ParticipantRegistered(
            encuentro_id=tally.encuentro_id,
            occurred_at=NOW,
            registration_id=rid,
            organization_id=org,
            status="registered",
            **kw,
        )
    )
    return rid


def checked_in(tally: EncuentroTally, rid: str) -> None:
    org = tally.seats[rid].organization_id
    tally.apply(
        ParticipantCheckedIn(
            encuentro_id=tally.encuentro_id,
            occurred_at=NOW,
            registration_id=rid,
            organization_id=org,
        )
    )


def test_seed_000_cos_cycle() -> None:
    """321 inscritos, 166 participaciones (52%), attendees by sector 70/13/7/6/4, over four
    encuentros of one cycle; organisations counted once across it."""
    tallies = [EncuentroTally(encuentro_id=f"e{n}", cycle="cos-2021") for n in range(4)]
    sectors: dict[str, str] = {}
    attendees = [sector for sector, count in SECTORS.items() for _ in range(count)]
    for n, sector in enumerate(attendees):
        org = f"org-{sector}-{n % 9}"
        sectors[org] = sector
        tally = tallies[n % 4]
        checked_in(tally, registered(tally, org))
    for n in range(321 - 166):
        registered(tallies[n % 4], "org-sociedad_civil-0")
    cycle = statistics(tallies, sectors, date(2021, 12, 1))
    assert (cycle.inscritos, cycle.participaciones, cycle.attendance_percent) == (321, 166, 52)
    by_sector = {s.key: s.percent for s in cycle.attendees_by_sector}
    assert by_sector == {
        "sociedad_civil": 70,
        "privado": 13,
        "publico": 7,
        "academia": 6,
        "organismo_internacional": 4,
    }
    assert cycle.organizations.registered == len(sectors)  # once across the cycle


def test_redelivered_and_cancelled_events() -> None:
    tally = EncuentroTally(encuentro_id="e")
    rid = registered(tally, "a")
    registered(tally, "b")
    cancel = RegistrationCancelled(
        encuentro_id="e",
        occurred_at=NOW,
        registration_id=rid,
        organization_id="a",
        previous_status="registered",
        changed_by=STAFF,
    )
    tally.apply(cancel)
    tally.apply(cancel)
    answer = SurveyAnswered(
        encuentro_id="e", occurred_at=NOW, response_id="x", ratings={"temas": 5}
    )
    assert tally.apply(answer) and not tally.apply(answer)
    figures = statistics([tally], {}, date(2021, 12, 1))
    assert figures.inscritos == 1 and figures.organizations.registered == 1


def test_figures_about_people_hide_small_cells() -> None:
    tally = EncuentroTally(encuentro_id="e")
    for gender in ["mujer"] * 5 + ["hombre"] * 2 + ["otro"]:
        checked_in(tally, registered(tally, "a", gender=gender))
    for n in range(2):
        tally.apply(
            SurveyAnswered(
                encuentro_id="e", occurred_at=NOW, response_id=f"s{n}", ratings={"temas": 5}
            )
        )
    figures = statistics([tally], {"a": "privado"}, date(2021, 12, 1))
    cells = {s.key: s for s in figures.attendees_by_gender}
    assert cells["mujer"].count == 5
    assert cells["hombre"].suppressed and cells["otro"].suppressed
    assert figures.satisfaction.suppressed, "two responses say too much about two people"


def test_needs_offers_and_commitments() -> None:
    tally = EncuentroTally(encuentro_id="e")
    for org, needs in (("a", ("difusion",)), ("b", ("difusion", "fortalecimiento"))):
        tally.apply(
            NeedsOffersStated(
                encuentro_id="e",
                occurred_at=NOW,
                organization_id=org,
                macrozone="centro_sur",
                needs=needs,
                offers=("contactos",),
                replaces=False,
            )
        )
    for n, (status, due) in enumerate(
        [("pending", date(2021, 11, 1)), ("fulfilled", date(2021, 11, 1)), ("dropped", None)]
    ):
        tally.apply(
            CommitmentTaken(
                commitment_id=f"c{n}",
                encuentro_id="e",
                macrozone="centro_sur",
                region="CL-RM",
                text="Compromiso",
                organization_ids=("a",),
                responsible_organization_id="a",
                due_date=due or date(2022, 1, 1),
                status=status,
                occurred_at=NOW,
                changed_by=STAFF,
            )
        )
    figures = statistics([tally], {}, date(2021, 12, 1))
    assert figures.needs_respondents == 2
    assert {s.key: s.percent for s in figures.needs}["difusion"] == 100
    assert {s.key: s.percent for s in figures.needs}["fortalecimiento"] == 50
    assert figures.commitments.total == 3 and figures.commitments.overdue == 1
    assert figures.commitments.fulfilled_percent == 50  # over those not dropped
