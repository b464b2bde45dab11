"""The notifier loses nothing and sends nothing twice: a mail server that is down is retried
with backoff (each attempt recorded) until it answers, and a notifier killed with SIGKILL in a
burst of registrations sends every participant their confirmation once in effect after it
comes back (a copy sent in the instant between the server's acceptance and the record of it
carries the same Message-ID, which mail clients show once)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import httpx
import pytest

from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.mailpit import MailpitClient
from tests.harness.notifier import MAILPIT_API_URL, mail_to, notifier_service
from tests.harness.processes import STAFF, Stack, eventually, infra, running
from tests.harness.registry import bearer, register_active, registration, settled_client

pytestmark = pytest.mark.integration


def _address(label: str) -> str:
    return f"{label}.{uuid.uuid4().hex[:10]}@correo.test"


def _notifications(url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx.get(
        f"{url}/v1/notifications", params={"limit": 200}, headers=STAFF
    ).json()["items"]
    return items


def test_a_mail_server_that_is_down_is_retried_until_it_answers(stack: Stack) -> None:
    registry = stack.service("registry")
    notifier = notifier_service(stack, NOTIFIER_MAIL_RETRY_SCHEDULE_SECONDS="[1, 1, 2, 2, 4, 8]")
    with running(registry, notifier), settled_client(stack, registry) as reg:
        infra("mailpit", "stop")
        try:
            body = registration()
            email = _address("contacto")
            body["contact"] = {**body["contact"], "email": email}
            assert reg.post("/v1/organizations", json=body).status_code == 201

            def retried() -> dict[str, Any]:
                (item,) = [n for n in _notifications(notifier.url) if n["kind"] == "confirmation"]
                assert item["status"] == "pending" and item["attempts"] >= 2, item
                return item

            waiting = eventually(retried, timeout=30)
            assert waiting["last_error"] and "@" not in waiting["last_error"]
        finally:
            infra("mailpit", "start")
        (arrived,) = mail_to(email, timeout=60)
        assert arrived["Subject"].startswith("Confirma el registro")
        (sent,) = eventually(
            lambda: [
                n
                for n in _notifications(notifier.url)
                if n["kind"] == "confirmation" and n["status"] == "sent"
            ]
        )
        assert sent["attempts"] >= 3


def test_a_notifier_killed_in_a_burst_sends_each_confirmation_once(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    notifier = notifier_service(stack)
    with running(registry, events, notifier), settled_client(stack, registry) as reg:
        organization_id, key = register_active(reg, registration())
        wait_until_known(stack, [organization_id])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http, capacity=200)
        move(http, encuentro_id, "published")
        tag = uuid.uuid4().hex[:8]
        emails = [f"burst{n:03d}.{tag}@correo.test" for n in range(30)]

        def register_all() -> None:
            for email in emails:
                r = http.post(
                    f"/v1/encuentros/{encuentro_id}/registrations",
                    json={"participant": participant(email=email)},
                    headers=bearer(key),
                )
                assert r.status_code == 201, r.text

        burst = threading.Thread(target=register_all)
        burst.start()
        eventually(lambda: len(_received(tag)) >= 5, timeout=60)
        notifier.kill()  # SIGKILL, mid-burst: some planned, some sent, some not heard yet
        burst.join()
        notifier.start().wait_ready()
        eventually(lambda: len({m["to"] for m in _received(tag)}) == 30, timeout=90)
        per_person: dict[str, set[str]] = {}
        for message in _received(tag):
            per_person.setdefault(message["to"], set()).add(message["message_id"])
        assert sorted(per_person) == sorted(emails)
        assert all(len(ids) == 1 for ids in per_person.values()), per_person


def _received(tag: str) -> list[dict[str, str]]:
    async def read() -> list[dict[str, str]]:
        async with MailpitClient(MAILPIT_API_URL) as mailpit:
            summaries = await mailpit.messages(f"to:{tag}@correo.test")
            return [{"to": s["To"][0]["Address"], "message_id": s["MessageID"]} for s in summaries]

    return asyncio.run(read())
