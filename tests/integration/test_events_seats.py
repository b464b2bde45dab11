"""Seats under pressure, on the real broker and database: concurrent registrations and
cancellations, and the events service killed with SIGKILL in the middle of a burst."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import httpx

from shared.events.encuentros import (
    ParticipantEnrolled,
    ParticipantRegistered,
    RegistrationPromoted,
)
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


def _payloads(stack: Stack, topic: Topic, contract: type[Any], encuentro_id: str) -> list[Any]:
    """Each event once (delivery is at least once: copies share their CloudEvents id)."""
    return [
        e.payload
        for e in unique(decoded(topic_records(stack.topic(topic))))
        if isinstance(e.payload, contract) and e.payload.encuentro_id == encuentro_id
    ]


async def _register_all(
    url: str, encuentro_id: str, key: str, people: list[dict[str, Any]]
) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"/v1/encuentros/{encuentro_id}/registrations",
                    json={"participant": p},
                    headers=bearer(key),
                )
                for p in people
            )
        )


def test_sixty_at_once_for_ten_seats_then_five_cancellations_promote_five(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events), settled_client(stack, registry) as reg:
        organization_id, key = register_active(reg, registration())
        wait_until_known(stack, [organization_id])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http, capacity=10)
        move(http, encuentro_id, "published")

        answers = asyncio.run(
            _register_all(events.url, encuentro_id, key, [participant() for _ in range(60)])
        )
        assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
        bodies = [a.json() for a in answers]
        assert Counter(b["status"] for b in bodies) == {"registered": 10, "waitlisted": 50}
        positions = sorted(b["position"] for b in bodies if b["status"] == "waitlisted")
        assert positions == list(range(1, 51)), "distinct positions"

        seated = [b["id"] for b in bodies if b["status"] == "registered"][:5]

        async def cancel_five() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=events.url, timeout=60) as client:
                return await asyncio.gather(
                    *(
                        client.delete(
                            f"/v1/encuentros/{encuentro_id}/registrations/{rid}", headers=STAFF
                        )
                        for rid in seated
                    )
                )

        assert all(c.status_code == 200 for c in asyncio.run(cancel_five()))
        counts = http.get(f"/v1/encuentros/{encuentro_id}").json()["counts"]
        assert counts == {"registered": 10, "waitlisted": 45, "attended": 0}
        first_five = [
            b["id"] for b in sorted(bodies, key=lambda b: b["position"] or 0) if b["position"]
        ][:5]

        def promoted() -> list[str]:
            found = _payloads(stack, Topic.EVENTS_ENCUENTROS, RegistrationPromoted, encuentro_id)
            return [e.registration_id for e in found]

        eventually(lambda: sorted(promoted()) == sorted(first_five), timeout=30)
        time.sleep(1)
        assert len(promoted()) == 5, "exactly five promoted"


def test_a_sigkill_during_a_registration_burst_loses_no_seat_and_gives_none_twice(
    stack: Stack,
) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events), settled_client(stack, registry) as reg:
        organization_id, key = register_active(reg, registration())
        wait_until_known(stack, [organization_id])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http, capacity=40)
        move(http, encuentro_id, "published")
        people = [participant() for _ in range(120)]
        outcomes: dict[str, int | None] = {}

        def burst() -> None:
            with httpx.Client(base_url=events.url, timeout=10) as client:
                for p in people:
                    try:
                        r = client.post(
                            f"/v1/encuentros/{encuentro_id}/registrations",
                            json={"participant": p},
                            headers=bearer(key),
                        )
                        outcomes[p["email"]] = r.status_code
                    except httpx.HTTPError:
                        outcomes[p["email"]] = None

        sender = threading.Thread(target=burst)
        sender.start()
        eventually(lambda: len(outcomes) >= 30, timeout=60, interval=0.02)
        events.kill()
        sender.join(120)
        events.start().wait_ready()

        # Retry whatever did not get an answer: landed before the kill → 409, else 201.
        for p in people:
            if outcomes[p["email"]] != 201:
                r = http.post(
                    f"/v1/encuentros/{encuentro_id}/registrations",
                    json={"participant": p},
                    headers=bearer(key),
                )
                assert r.status_code in (201, 409), r.text
        listed = http.get(
            f"/v1/encuentros/{encuentro_id}/registrations", params={"limit": 500}, headers=STAFF
        ).json()["items"]
        assert len(listed) == 120, "every person holds exactly one place"
        assert {r["participant"]["email"] for r in listed} == {p["email"] for p in people}
        statuses = Counter(r["status"] for r in listed)
        assert statuses == {"registered": 40, "waitlisted": 80}
        waiting = sorted(r["position"] for r in listed if r["status"] == "waitlisted")
        assert waiting == list(range(1, 81))

        ids = {r["id"] for r in listed}

        def published(contract: type[Any], topic: Topic) -> list[str]:
            return [e.registration_id for e in _payloads(stack, topic, contract, encuentro_id)]

        eventually(
            lambda: set(published(ParticipantRegistered, Topic.EVENTS_ENCUENTROS)) == ids,
            timeout=60,
        )
        registered = published(ParticipantRegistered, Topic.EVENTS_ENCUENTROS)
        assert len(registered) == len(ids), "each registration published once in effect"
        eventually(
            lambda: set(published(ParticipantEnrolled, Topic.EVENTS_PARTICIPANTS)) == ids,
            timeout=60,
        )
