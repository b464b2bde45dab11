"""Everybody hears what concerns them, by e-mail, on the real broker, database and Mailpit:
the confirmation link, the participants' confirmations with their code and `.ics`, the
waiting list and its promotion, cancellations, the survey (checked-in only), the agreements,
and the reminder the day before, which survives a restart and is never sent twice."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.harness.events import create_encuentro, move, participant
from tests.harness.notifier import (
    attachment,
    mail_count,
    mail_to,
    new_address,
    notifier_service,
    titled,
)
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client

pytestmark = pytest.mark.integration


def _register(http: httpx.Client, encuentro_id: str, key: str, email: str) -> dict[str, Any]:
    r = http.post(
        f"/v1/encuentros/{encuentro_id}/registrations",
        json={"participant": participant(email=email)},
        headers=bearer(key),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _text(message: dict[str, Any]) -> str:
    return str(message["Text"])


def test_the_registry_s_confirmation_link_arrives_and_confirms(stack: Stack) -> None:
    registry, notifier = stack.service("registry"), notifier_service(stack)
    with running(registry, notifier), settled_client(stack, registry) as reg:
        contact_email = new_address("contacto")
        body = registration()
        body["contact"] = {**body["contact"], "email": contact_email}
        created = reg.post("/v1/organizations", json=body)
        assert created.status_code == 201, created.text
        organization_id = created.json()["id"]

        (mail,) = mail_to(contact_email)
        assert mail["Subject"] == f"Confirma el registro de {body['name']} en Articula"
        text = _text(mail)
        assert "Hola, " + body["contact"]["name"] in text
        token = re.search(r"código: (\S+)", text)
        assert token, text
        confirmed = reg.post(
            f"/v1/organizations/{organization_id}/confirmation", json={"token": token.group(1)}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["api_key"]

        # What staff see: the kind and status, never the address.
        listed = httpx.get(f"{notifier.url}/v1/notifications", headers=STAFF).json()
        (sent,) = [n for n in listed["items"] if n["kind"] == "confirmation"]
        assert sent["status"] == "sent" and sent["attempts"] == 1
        assert sent["recipient"] == "c***@c***.test"
        assert (
            contact_email not in httpx.get(f"{notifier.url}/v1/notifications", headers=STAFF).text
        )
    assert contact_email not in notifier.log_path.read_text()


def test_participants_hear_of_their_seat_the_waiting_list_the_survey_and_the_agreements(
    stack: Stack,
) -> None:
    registry, events, notifier = (
        stack.service("registry"),
        stack.service("events"),
        notifier_service(stack),
    )
    with running(registry, events, notifier), settled_client(stack, registry) as reg:
        organization_id, key = register_active(reg, registration())
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(
            http, capacity=1, mode="presencial", online_url=None, venue="Centro Cultural, Santiago"
        )
        move(http, encuentro_id, "published")
        seated_email, waiting_email = new_address("seated"), new_address("waiting")
        eventually(lambda: http.get(f"/v1/encuentros/{encuentro_id}").status_code == 200)
        seated = eventually(lambda: _register(http, encuentro_id, key, seated_email))
        waiting = _register(http, encuentro_id, key, waiting_email)
        assert waiting["status"] == "waitlisted"

        # The seat: the personal code and the encuentro as an .ics attachment.
        (confirmation,) = mail_to(seated_email)
        assert confirmation["Subject"].startswith("Inscripción confirmada")
        listed = http.get(f"/v1/encuentros/{encuentro_id}/registrations", headers=STAFF).json()
        code = next(r["code"] for r in listed["items"] if r["id"] == seated["id"])
        assert code in _text(confirmation)
        calendar = Calendar.from_ical(attachment(confirmation, "encuentro.ics"))
        (vevent,) = calendar.walk("VEVENT")
        assert str(vevent["UID"]) == f"{encuentro_id}@articula"
        # The waiting list: the place, no calendar.
        (placed,) = mail_to(waiting_email)
        assert "lista de espera (lugar 1)" in _text(placed)
        assert not placed.get("Attachments")

        # The seat is cancelled: that person is told, the first waiting is promoted.
        cancelled = http.delete(
            f"/v1/encuentros/{encuentro_id}/registrations/{seated['id']}", headers=bearer(key)
        )
        assert cancelled.status_code in (200, 204), cancelled.text
        titled(mail_to(seated_email, count=2), "Tu inscripción fue cancelada")
        promoted = titled(mail_to(waiting_email, count=2), "Tienes un cupo")
        assert attachment(promoted, "encuentro.ics")

        # The survey goes to checked-in participants only; the agreements to those with a seat.
        move(http, encuentro_id, "in_progress")
        r = http.post(
            f"/v1/encuentros/{encuentro_id}/checkins",
            json={"registration_id": waiting["id"]},
            headers=STAFF,
        )
        assert r.status_code == 200, r.text
        c = http.post(
            f"/v1/encuentros/{encuentro_id}/commitments",
            json={
                "region": "CL-RM",
                "text": "Mesa regional de articulación cada dos meses.",
                "organization_ids": [organization_id],
                "responsible_organization_id": organization_id,
                "due_date": "2027-03-31",
            },
            headers=STAFF,
        )
        assert c.status_code == 201, c.text
        move(http, encuentro_id, "closed")
        titled(mail_to(waiting_email, count=3), "¿Cómo te fue en")
        move(http, encuentro_id, "results_published")
        results = titled(mail_to(waiting_email, count=4), "Acuerdos y resultados")
        assert "Mesa regional de articulación cada dos meses." in _text(results)
        assert "Metropolitana" in _text(results)
        assert mail_count(seated_email) == 2  # no survey, no agreements: they left

    log = notifier.log_path.read_text()
    for needle in (seated_email, waiting_email, code):
        assert needle not in log


def test_the_reminder_the_day_before_survives_a_restart_and_goes_once(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    # Reminders 24 h before the start: an encuentro starting in 24 h and 20 s is due in 20 s.
    notifier = notifier_service(stack)
    with running(registry, events, notifier), settled_client(stack, registry) as reg:
        _, key = register_active(reg, registration())
        http = httpx.Client(base_url=events.url, timeout=30)
        starts = datetime.now(UTC) + timedelta(hours=24, seconds=20)
        encuentro_id = create_encuentro(
            http,
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(hours=2)).isoformat(),
        )
        move(http, encuentro_id, "published")
        email = new_address("reminded")
        eventually(lambda: _register(http, encuentro_id, key, email))
        mail_to(email)  # the confirmation
        # The schedule is in the database: a restart before the reminder is due keeps it.
        notifier.stop()
        notifier.start().wait_ready()
        titled(mail_to(email, count=2, timeout=60), "Mañana:")
        # Moving the encuentro later re-schedules the job, but that person was reminded.
        later = starts + timedelta(seconds=5)
        r = http.patch(
            f"/v1/encuentros/{encuentro_id}",
            json={
                "starts_at": later.isoformat(),
                "ends_at": (later + timedelta(hours=2)).isoformat(),
            },
            headers=STAFF,
        )
        assert r.status_code == 200, r.text
        notifier.stop()
        notifier.start().wait_ready()
        time.sleep(10)  # the moved job runs at the new time, 5 s later, and plans nothing new
        assert mail_count(email) == 2
