"""Helpers for tests of the events service: encuentro bodies, participants, and the events
service's view of organisations once it has caught up with the registry."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.harness.processes import STAFF, Stack, eventually

_people = itertools.count(1)


def encuentro_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Encuentro Macrozona Centro Sur y RM",
        "macrozone": "centro_sur",
        "theme": "salud_mental",
        "cycle": "cos-2021",
        "mode": "virtual",
        "starts_at": "2026-09-23T10:00:00-03:00",
        "ends_at": "2026-09-23T12:30:00-03:00",
        "online_url": "https://reuniones.example/abc",
        "capacity": 120,
        "description": "Encuentro participativo del ecosistema.",
    }
    body.update(overrides)
    return body


def participant(**overrides: Any) -> dict[str, Any]:
    """A person no other call of this process uses (their name and e-mail are needles)."""
    n = next(_people)
    body: dict[str, Any] = {
        "name": f"Persona Participante{n:04d}",
        "email": f"participante{n:04d}.x@correo.test",
        "gender": ["mujer", "hombre", "otro", "prefiere_no_decir"][n % 4],
        "age_group": ["18-29", "30-44", "45-59", "60+"][n % 4],
    }
    body.update(overrides)
    return body


def create_encuentro(events: httpx.Client, **overrides: Any) -> str:
    response = events.post("/v1/encuentros", json=encuentro_body(**overrides), headers=STAFF)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def move(events: httpx.Client, encuentro_id: str, status: str) -> dict[str, Any]:
    response = events.post(
        f"/v1/encuentros/{encuentro_id}/status",
        json={"status": status, "reason": "Según lo planificado"},
        headers=STAFF,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def known_organizations(stack: Stack) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc for doc in stack.db("events").organizations.find({})}


def wait_until_known(stack: Stack, organization_ids: list[str], status: str = "active") -> None:
    """Until the events service has applied the registry's events about these organisations."""

    def caught_up() -> bool:
        seen = known_organizations(stack)
        return all(seen.get(o, {}).get("status") == status for o in organization_ids)

    eventually(caught_up, timeout=90)
