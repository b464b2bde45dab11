"""The notifier loses nothing and sends nothing twice: a mail server that is down is retried
with backoff (each attempt recorded) until it answers; a notifier killed with SIGKILL in a
burst of registrations sends every participant their confirmation once in effect after it
comes back (a copy sent in the instant between the server's acceptance and the record of it
carries the same Message-ID, which mail clients show once); and one killed in the middle of a
fan-out to 50 webhook subscriptions delivers every one after it comes back, a copy only of
those in flight at the kill (same `webhook-id`), none after a recorded success."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from shared.events.topics import Topic
from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.kafka import contract_record, produce_raw
from tests.harness.mailpit import MailpitClient
from tests.harness.notifier import (
    MAILPIT_API_URL,
    evidence_event,
    mail_to,
    new_address,
    notifier_service,
)
from tests.harness.processes import STAFF, Stack, eventually, infra, running
from tests.harness.registry import bearer, register_active, registration, settled_client
from tests.harness.webhooks import start_receiver

pytestmark = pytest.mark.integration


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
            email = new_address("contacto")
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


def test_a_notifier_killed_in_a_fan_out_to_50_subscriptions_delivers_every_one(
    stack: Stack,
) -> None:
    receiver = start_receiver()
    path = receiver.path([(0.1, 204)])  # every answer after 100 ms: the fan-out takes a while
    notifier = notifier_service(
        stack,
        NOTIFIER_DISPATCH_CONCURRENCY="5",
        # The jobs in flight at the kill stay leased to the dead process this long.
        NOTIFIER_DISPATCH_LEASE_SECONDS="10",
        NOTIFIER_WEBHOOK_TIMEOUT_SECONDS="5",
        NOTIFIER_WEBHOOK_RETRY_SCHEDULE_SECONDS="[1, 2, 4, 8]",
    )
    region = "CL-LR"
    with running(notifier):
        http = httpx.Client(base_url=notifier.url, timeout=30)
        subscriptions = []
        for _ in range(50):
            r = http.post(
                "/v1/subscriptions",
                json={"regions": [region], "webhook_url": f"{receiver.base}{path}"},
                headers=STAFF,
            )
            assert r.status_code == 201, r.text
            subscriptions.append(r.json()["id"])
            receiver.secrets.setdefault(path, []).append(r.json()["secret"])
        evidence = evidence_event(evidence_id=f"prg_kill-{uuid.uuid4().hex[:6]}", regions=(region,))
        produce_raw(
            stack.topic(Topic.METRICS_EVIDENCE), [contract_record(evidence, "/articula/metrics")]
        )
        eventually(lambda: len(receiver.at(path)) >= 10, timeout=60)
        notifier.kill()  # SIGKILL, mid-fan-out
        notifier.start().wait_ready()

        def settled() -> dict[str, dict[str, Any]]:
            deliveries = {}
            for subscription_id in subscriptions:
                items = http.get(
                    f"/v1/subscriptions/{subscription_id}/deliveries", headers=STAFF
                ).json()["items"]
                (delivery,) = items
                assert delivery["status"] == "delivered", delivery
                deliveries[delivery["id"]] = delivery
            return deliveries

        deliveries = eventually(settled, timeout=120)
        time.sleep(3)  # anything still to come would come now
        arrived = Counter(r.headers["webhook-id"] for r in receiver.at(path))
        assert set(arrived) == set(deliveries), "every subscription got the evidence"
        twice = [delivery_id for delivery_id, count in arrived.items() if count > 1]
        assert len(twice) <= 5, twice  # at most the deliveries in flight at the kill
        assert all(r.verified_by for r in receiver.at(path)), "every copy is signed"
        seen = len(receiver.at(path))
        time.sleep(2)
        assert len(receiver.at(path)) == seen, "nothing after the recorded successes"
