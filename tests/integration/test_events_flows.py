"""The events service's other paths, with the registry running: invitations for organisations
that become active later, erasure (on request, after the retention period, when an
organisation withdraws), a larger capacity, a walk-in, and the calendar feed."""

from __future__ import annotations

from typing import Any

import httpx
from icalendar import Calendar

from shared.events.encuentros import OrganizationInvited, ParticipantErased, RegistrationPromoted
from shared.events.topics import Topic
from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.kafka import topic_records
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import (
    bearer,
    decoded,
    register_active,
    registration,
    settled_client,
    unique,
)


def _events(stack: Stack, topic: Topic, contract: type[Any], encuentro_id: str) -> list[Any]:
    return [
        e.payload
        for e in unique(decoded(topic_records(stack.topic(topic))))
        if isinstance(e.payload, contract) and e.payload.encuentro_id == encuentro_id
    ]


def _register(http: httpx.Client, encuentro_id: str, key: str) -> dict[str, Any]:
    r = http.post(
        f"/v1/encuentros/{encuentro_id}/registrations",
        json={"participant": participant()},
        headers=bearer(key),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _registrations(http: httpx.Client, encuentro_id: str) -> dict[str, dict[str, Any]]:
    items = http.get(f"/v1/encuentros/{encuentro_id}/registrations", headers=STAFF).json()
    return {r["id"]: r for r in items["items"]}


def test_organisations_active_later_are_invited_while_registration_is_open(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events), settled_client(stack, registry) as reg:
        early, _ = register_active(reg, registration(head_office_region="CL-ML", regions=["CL-ML"]))
        wait_until_known(stack, [early])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http)
        move(http, encuentro_id, "published")
        late, _ = register_active(reg, registration(head_office_region="CL-RM", regions=["CL-RM"]))
        elsewhere, _ = register_active(
            reg, registration(head_office_region="CL-AR", regions=["CL-AR"])
        )
        wait_until_known(stack, [late, elsewhere])

        def invited() -> dict[str, str]:
            found = _events(stack, Topic.EVENTS_ENCUENTROS, OrganizationInvited, encuentro_id)
            return {e.organization_id: e.cause for e in found}

        eventually(lambda: invited() == {early: "published", late: "organization_active"})


def test_erasure_on_request_when_an_organisation_withdraws_and_after_retention(
    stack: Stack,
) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    events.env = {**events.env, "EVENTS_RETENTION_DAYS": "0", "EVENTS_ERASURE_SCAN_SECONDS": "1"}
    with running(registry, events), settled_client(stack, registry) as reg:
        staying, staying_key = register_active(reg, registration())
        leaving, leaving_key = register_active(reg, registration())
        wait_until_known(stack, [staying, leaving])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http)
        move(http, encuentro_id, "published")
        asked = _register(http, encuentro_id, staying_key)
        kept = _register(http, encuentro_id, staying_key)
        gone = _register(http, encuentro_id, leaving_key)

        erased = http.post(
            f"/v1/encuentros/{encuentro_id}/registrations/{asked['id']}/erasure",
            headers=bearer(staying_key),
        )
        assert erased.status_code == 200 and erased.json()["participant"] is None
        reg.delete(f"/v1/organizations/{leaving}", headers=bearer(leaving_key)).raise_for_status()
        eventually(lambda: _registrations(http, encuentro_id)[gone["id"]]["participant"] is None)
        listed = _registrations(http, encuentro_id)
        assert listed[kept["id"]]["participant"] is not None
        assert http.get(f"/v1/encuentros/{encuentro_id}").json()["counts"]["registered"] == 3

        for status in ("in_progress", "closed", "results_published"):
            move(http, encuentro_id, status)
        eventually(lambda: _registrations(http, encuentro_id)[kept["id"]]["participant"] is None)

        def causes() -> dict[str, str]:
            found = _events(stack, Topic.EVENTS_PARTICIPANTS, ParticipantErased, encuentro_id)
            return {e.registration_id: e.cause for e in found}

        eventually(
            lambda: (
                causes()
                == {
                    asked["id"]: "request",
                    gone["id"]: "organization_withdrawn",
                    kept["id"]: "retention",
                }
            )
        )


def test_a_larger_capacity_and_a_walk_in(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events), settled_client(stack, registry) as reg:
        organization_id, key = register_active(reg, registration())
        wait_until_known(stack, [organization_id])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http, capacity=2)
        move(http, encuentro_id, "published")
        answers = [_register(http, encuentro_id, key) for _ in range(5)]
        assert [a["status"] for a in answers].count("waitlisted") == 3
        low = http.patch(f"/v1/encuentros/{encuentro_id}", json={"capacity": 1}, headers=STAFF)
        assert low.status_code == 409 and low.json()["errors"][0]["field"] == "capacity"
        raised = http.patch(f"/v1/encuentros/{encuentro_id}", json={"capacity": 4}, headers=STAFF)
        assert raised.status_code == 200, raised.text
        assert raised.json()["counts"] == {"registered": 4, "waitlisted": 1, "attended": 0}

        def promoted() -> list[str]:
            found = _events(stack, Topic.EVENTS_ENCUENTROS, RegistrationPromoted, encuentro_id)
            return [e.registration_id for e in found]

        eventually(lambda: promoted() == [answers[2]["id"], answers[3]["id"]])
        moved = http.patch(
            f"/v1/encuentros/{encuentro_id}", json={"macrozone": "norte_centro"}, headers=STAFF
        )
        assert moved.status_code == 409

        move(http, encuentro_id, "in_progress")
        door = http.post(
            f"/v1/encuentros/{encuentro_id}/checkins",
            json={"participant": participant(), "organization_id": organization_id},
            headers=STAFF,
        )
        assert door.status_code == 200, door.text
        assert door.json()["attended"] is True
        counts = http.get(f"/v1/encuentros/{encuentro_id}").json()["counts"]
        assert counts == {"registered": 5, "waitlisted": 1, "attended": 1}


def test_the_calendar_follows_every_change(stack: Stack) -> None:
    events = stack.service("events")
    with running(events):
        http = httpx.Client(base_url=events.url, timeout=30)
        kept = create_encuentro(http, macrozone="sur_austral", cycle="cal-2026")
        dropped = create_encuentro(http, macrozone="sur_austral", cycle="cal-2026")
        hidden = create_encuentro(http, macrozone="sur_austral", cycle="cal-2026")
        for encuentro_id in (kept, dropped):
            move(http, encuentro_id, "published")

        def feed() -> dict[str, Any]:
            ics = http.get("/v1/calendar.ics", params={"cycle": "cal-2026"})
            assert ics.status_code == 200
            return {
                str(e["UID"]).split("@")[0]: e
                for e in Calendar.from_ical(ics.content).walk("VEVENT")
            }

        before = feed()
        assert set(before) == {kept, dropped}, "drafts are not in the calendar"
        assert hidden not in before
        http.patch(f"/v1/encuentros/{kept}", json={"title": "Nuevo título"}, headers=STAFF)
        move(http, dropped, "cancelled")
        after = feed()
        assert int(after[kept]["SEQUENCE"]) > int(before[kept]["SEQUENCE"])
        assert str(after[kept]["SUMMARY"]) == "Nuevo título"
        assert str(after[dropped]["STATUS"]) == "CANCELLED"
        start = after[kept]["DTSTART"]
        assert start.params["TZID"] == "America/Santiago"
        assert start.dt.hour == 10  # 10:00-03:00 as given
        assert str(after[kept]["URL"]).endswith(f"/v1/encuentros/{kept}")
        one = http.get(f"/v1/encuentros/{kept}/calendar.ics")
        assert len(Calendar.from_ical(one.content).walk("VEVENT")) == 1
        assert http.get(f"/v1/encuentros/{hidden}/calendar.ics").status_code == 404
