"""The metrics service's statistics from events only, with the registry and the events service
running: the registry profile, one encuentro, its cycle and its commitments."""

from __future__ import annotations

import httpx

from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client

SECTORS = ["sociedad_civil", "sociedad_civil", "privado", "publico", "academia"]


def test_statistics_follow_the_registry_and_the_encuentros(stack: Stack) -> None:
    registry, events, metrics = (stack.service(n) for n in ("registry", "events", "metrics"))
    with running(registry, events, metrics), settled_client(stack, registry) as reg:
        orgs = [
            register_active(
                reg,
                registration(sector=sector, links_with_others=None if n == 0 else n % 2 == 0),
            )
            for n, sector in enumerate(SECTORS)
        ]
        stats = httpx.Client(base_url=metrics.url, timeout=30)

        def by(dimension: str) -> dict[str, dict[str, int | None]]:
            answer = stats.get("/v1/stats/registry", params={"by": dimension}).json()
            return {g["key"]: g for g in answer["groups"]} | {"_": answer}

        eventually(lambda: by("sector")["_"]["total"] == 5, timeout=60)
        assert by("sector_group")["privado"]["count"] == 3
        assert by("sector_group")["privado"]["percent"] == 60
        links = by("links_with_others")
        assert links["_"]["answered"] == 4, "shares over those who answered"

        wait_until_known(stack, [o for o, _ in orgs])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentro_id = create_encuentro(http, capacity=8, cycle="ciclo-prueba")
        move(http, encuentro_id, "published")
        seats = []
        for n in range(10):
            _, key = orgs[n % 5]
            r = http.post(
                f"/v1/encuentros/{encuentro_id}/registrations",
                json={"participant": participant(gender="mujer" if n < 6 else "hombre")},
                headers=bearer(key),
            )
            seats.append(r.json())
        move(http, encuentro_id, "in_progress")
        for seat in seats[:6]:
            http.post(
                f"/v1/encuentros/{encuentro_id}/checkins",
                json={"registration_id": seat["id"]},
                headers=STAFF,
            ).raise_for_status()

        def figures() -> dict[str, object]:
            r = stats.get(f"/v1/stats/encuentros/{encuentro_id}")
            body: dict[str, object] = r.json() if r.status_code == 200 else {}
            return body

        eventually(lambda: figures().get("participaciones") == 6, timeout=60)
        found = figures()
        assert found["inscritos"] == 8 and found["attendance_percent"] == 75
        gender = {g["key"]: g for g in found["attendees_by_gender"]}  # type: ignore[attr-defined]
        assert gender["mujer"]["count"] == 6
        cycle = stats.get("/v1/stats/cycles/ciclo-prueba").json()
        assert cycle["encuentros"] == 1 and cycle["participaciones"] == 6
        assert stats.get("/v1/stats/commitments").status_code == 200
