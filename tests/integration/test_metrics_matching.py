"""Matching across encuentros of different macrozones, through the registry's and the events
service's APIs: a need met by another organisation's offer is announced once, explained, and
withdrawn when the offer is replaced."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events.metrics import MatchFound, MatchWithdrawn
from shared.events.topics import Topic
from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.kafka import topic_records
from tests.harness.processes import Stack, eventually, running
from tests.harness.registry import (
    bearer,
    decoded,
    register_active,
    registration,
    settled_client,
    unique,
)


def _events(stack: Stack, contract: type[Any]) -> list[Any]:
    records = decoded(topic_records(stack.topic(Topic.METRICS_MATCHES)))
    return [e.payload for e in unique(records) if isinstance(e.payload, contract)]


def _answer(
    http: httpx.Client, encuentro_id: str, key: str, needs: list[str], offers: list[str]
) -> None:
    r = http.put(
        f"/v1/encuentros/{encuentro_id}/needs-offers",
        json={"needs": needs, "offers": offers},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text


def test_a_need_meets_an_offer_from_another_macrozone(stack: Stack) -> None:
    registry, events, metrics = (stack.service(n) for n in ("registry", "events", "metrics"))
    with running(registry, events, metrics), settled_client(stack, registry) as reg:
        needing, needing_key = register_active(
            reg, registration(head_office_region="CL-BI", regions=["CL-BI"], themes=["pobreza"])
        )
        offering, offering_key = register_active(
            reg,
            registration(
                head_office_region="CL-AR", regions=["CL-AR", "CL-BI"], themes=["pobreza"]
            ),
        )
        wait_until_known(stack, [needing, offering])
        http = httpx.Client(base_url=events.url, timeout=30)
        centro = create_encuentro(http, macrozone="centro_sur")
        sur = create_encuentro(http, macrozone="sur_austral")
        for encuentro_id, key in ((centro, needing_key), (sur, offering_key)):
            move(http, encuentro_id, "published")
            r = http.post(
                f"/v1/encuentros/{encuentro_id}/registrations",
                json={"participant": participant()},
                headers=bearer(key),
            )
            assert r.status_code == 201, r.text
        _answer(http, centro, needing_key, ["difusion"], [])
        _answer(http, sur, offering_key, [], ["plataformas", "contactos"])

        stats = httpx.Client(base_url=metrics.url, timeout=30)

        def matches() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = stats.get(
                "/v1/matches", params={"organization_id": needing}
            ).json()["items"]
            return items

        found = eventually(matches, timeout=90)
        assert len(found) == 1
        match = found[0]
        assert match["need"] == {
            "organization_id": needing,
            "category": "difusion",
            "encuentro_id": centro,
        }
        assert match["offer"]["organization_id"] == offering
        assert match["offer"]["encuentro_id"] == sur
        assert any("plataformas" in reason for reason in match["reasons"])
        assert any("CL-BI" in reason for reason in match["reasons"]), "shared region"
        assert match["score"] > 1.5

        _answer(http, sur, offering_key, [], ["contactos"])  # no longer serves difusion
        eventually(lambda: matches() == [], timeout=60)
        eventually(lambda: len(_events(stack, MatchWithdrawn)) == 1, timeout=60)
        announced = [e for e in _events(stack, MatchFound) if e.match_id == match["id"]]
        assert len(announced) == 1, "each match is announced once"
