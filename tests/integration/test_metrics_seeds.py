"""The seeds' published figures, reproduced from raw events sent through the public APIs of
the registry and the events service: seed 003's registry profile (72 organisations) and seed
000's COS cycle (321 inscritos, 166 participaciones). The data is generated to match the
published counts; the metrics service only ever sees the events."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client

# Seed 003: 55 civil society + 8 companies = 63 of 72 private (88%); 43 in Centro Sur (60%);
# 34 regional (47%); 56 of the 70 who answered link with others (80%); 69 of 72 with alliances.
SECTORS_003 = ["sociedad_civil"] * 55 + ["privado"] * 8 + ["publico"] * 5 + ["academia"] * 3
SECTORS_003 += ["organismo_internacional"]
# Seed 000's COS cycle: attendees by sector 70/13/7/6/4 of 166 are these counts.
ATTENDEES_000 = {
    "sociedad_civil": 116,
    "privado": 21,
    "publico": 12,
    "academia": 10,
    "organismo_internacional": 7,
}


def _profile_body(n: int, sector: str) -> dict[str, Any]:
    head = "CL-RM" if n < 43 else ("CL-VS" if n < 60 else "CL-AR")
    return registration(
        sector=sector,
        head_office_region=head,
        regions=[head],
        scope="regional" if n < 34 else "nacional",
        links_with_others=None if n >= 70 else n < 56,
        has_alliances=n < 69,
    )


def _groups(stats: httpx.Client, by: str) -> dict[str, Any]:
    answer = stats.get("/v1/stats/registry", params={"by": by}).json()
    return {g["key"]: g for g in answer["groups"]} | {"_": answer}


def test_seed_003_registry_profile_and_seed_000_cos_cycle(stack: Stack) -> None:
    registry, events, metrics = (stack.service(n) for n in ("registry", "events", "metrics"))
    with running(registry, events, metrics), settled_client(stack, registry) as reg:
        orgs = [register_active(reg, _profile_body(n, s)) for n, s in enumerate(SECTORS_003)]
        stats = httpx.Client(base_url=metrics.url, timeout=30)
        # Every activation folded (until then an organisation is moving between the pending
        # and the active buckets, two documents written one after the other).
        eventually(
            lambda: (
                stats.get("/v1/stats/registry", params={"by": "sector", "status": "active"}).json()[
                    "total"
                ]
                == 72
            ),
            timeout=120,
        )
        assert _groups(stats, "sector")["_"]["total"] == 72

        privado = _groups(stats, "sector_group")["privado"]
        assert (privado["count"], privado["percent"]) == (63, 88)
        centro_sur = _groups(stats, "macrozone")["centro_sur"]
        assert (centro_sur["count"], centro_sur["percent"]) == (43, 60)
        regional = _groups(stats, "scope")["regional"]
        assert (regional["count"], regional["percent"]) == (34, 47)
        links = _groups(stats, "links_with_others")
        assert links["_"]["answered"] == 70 and links["true"]["percent"] == 80
        assert _groups(stats, "has_alliances")["true"]["percent"] == 96

        # Seed 000: four encuentros of one cycle; 321 inscritos of whom 166 checked in.
        by_sector: dict[str, list[tuple[str, str]]] = {}
        for (organization_id, key), sector in zip(orgs, SECTORS_003, strict=True):
            by_sector.setdefault(sector, []).append((organization_id, key))
        wait_until_known(stack, [o for o, _ in orgs])
        http = httpx.Client(base_url=events.url, timeout=30)
        encuentros = [create_encuentro(http, capacity=200, cycle="cos-2021") for _ in range(4)]
        for encuentro_id in encuentros:
            move(http, encuentro_id, "published")
        attendees: list[tuple[str, str]] = []  # (encuentro, registration) to check in
        n = 0
        for sector, count in ATTENDEES_000.items():
            for i in range(count):
                _, key = by_sector[sector][i % len(by_sector[sector])]
                encuentro_id = encuentros[n % 4]
                r = http.post(
                    f"/v1/encuentros/{encuentro_id}/registrations",
                    json={"participant": participant()},
                    headers=bearer(key),
                )
                assert r.status_code == 201, r.text
                attendees.append((encuentro_id, r.json()["id"]))
                n += 1
        for i in range(321 - 166):  # registered, did not come
            _, key = orgs[i % 72]
            r = http.post(
                f"/v1/encuentros/{encuentros[i % 4]}/registrations",
                json={"participant": participant()},
                headers=bearer(key),
            )
            assert r.status_code == 201, r.text
        for encuentro_id in encuentros:
            move(http, encuentro_id, "in_progress")
        for encuentro_id, registration_id in attendees:
            http.post(
                f"/v1/encuentros/{encuentro_id}/checkins",
                json={"registration_id": registration_id},
                headers=STAFF,
            ).raise_for_status()

        def cycle() -> dict[str, Any]:
            r = stats.get("/v1/stats/cycles/cos-2021")
            body: dict[str, Any] = r.json() if r.status_code == 200 else {}
            return body

        eventually(lambda: cycle().get("participaciones") == 166, timeout=180)
        figures = cycle()
        assert (figures["inscritos"], figures["attendance_percent"]) == (321, 52)
        assert figures["encuentros"] == 4
        percents = {g["key"]: g["percent"] for g in figures["attendees_by_sector"]}
        assert percents == {
            "sociedad_civil": 70,
            "privado": 13,
            "publico": 7,
            "academia": 6,
            "organismo_internacional": 4,
        }
