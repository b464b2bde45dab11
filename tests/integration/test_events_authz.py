# ruff: noqa: E501  (the policy table is wider than code)
"""Who may call what at the events service: every route against every kind of caller.

The table is the authorisation policy, one row per route; the route list is read from the app,
so a new endpoint without a row fails `test_every_route_has_a_row`. Keys are the registry's
(one key everywhere): `owner` is an organisation with people registered, `other` an active
organisation without, `funder` and `staff` keys come from the registry's CLI and the bootstrap
key, `badkey` was never issued, `revoked` was rotated away at the registry. A cell that could
change what another cell sees gets its own record (a registration to cancel, say).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness.app import served_routes
from tests.harness.authz import check_row, policy
from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import (
    bearer,
    issue_key,
    register_active,
    registration,
    settled_client,
)

CALLERS = ("anon", "owner", "other", "staff", "funder", "badkey", "revoked")

# fmt: off
MATRIX = """
route                                                              anon owner other staff funder badkey revoked
GET    /openapi.json                                               200  200   200   200   200    200    200
GET    /docs                                                       200  200   200   200   200    200    200
GET    /docs/oauth2-redirect                                       200  200   200   200   200    200    200
GET    /redoc                                                      200  200   200   200   200    200    200
GET    /metrics                                                    200  200   200   200   200    200    200
GET    /healthz                                                    200  200   200   200   200    200    200
GET    /readyz                                                     200  200   200   200   200    200    200
GET    /v1/me                                                      401  200   200   200   200    401    401
POST   /v1/encuentros                                              401  403   403   201   403    401    401
GET    /v1/encuentros                                              200  200   200   200   200    401    401
GET    /v1/encuentros/{encuentro_id}                               200  200   200   200   200    401    401
PATCH  /v1/encuentros/{encuentro_id}                               401  403   403   200   403    401    401
POST   /v1/encuentros/{encuentro_id}/status                        401  403   403   409   403    401    401
GET    /v1/calendar.ics                                            200  200   200   200   200    200    200
GET    /v1/encuentros/{encuentro_id}/calendar.ics                  200  200   200   200   200    200    200
POST   /v1/encuentros/{encuentro_id}/registrations                 401  201   403   201   403    401    401
GET    /v1/encuentros/{encuentro_id}/registrations                 401  200   200   200   403    401    401
DELETE /v1/encuentros/{encuentro_id}/registrations/{registration_id}  401  200   403   200   403    401    401
POST   /v1/encuentros/{encuentro_id}/registrations/{registration_id}/erasure  401  200   403   200   403    401    401
POST   /v1/encuentros/{encuentro_id}/checkins                      401  403   403   200   403    401    401
POST   /v1/encuentros/{encuentro_id}/rounds                        401  403   403   201   403    401    401
GET    /v1/encuentros/{encuentro_id}/rounds                        401  200   403   200   403    401    401
PUT    /v1/encuentros/{encuentro_id}/rounds/{round_id}/groups/{number}/record  403  403   403   200   403    401    401
PUT    /v1/encuentros/{encuentro_id}/needs-offers                  401  200   403   403   403    401    401
GET    /v1/encuentros/{encuentro_id}/needs-offers                  200  200   200   200   200    401    401
POST   /v1/encuentros/{encuentro_id}/commitments                   401  403   403   201   403    401    401
PATCH  /v1/commitments/{commitment_id}                             401  200   403   200   403    401    401
GET    /v1/commitments                                             200  200   200   200   200    401    401
POST   /v1/encuentros/{encuentro_id}/survey-responses              201  201   201   201   201    201    201
"""
# fmt: on


ROWS = policy(MATRIX, CALLERS)


@dataclass
class World:
    """The records the cells act on, and each caller's headers."""

    http: httpx.Client
    headers: dict[str, dict[str, str]]
    owner: str
    published: str  # registration open; the owner has people there
    running_: str  # in progress: a checked-in person, a round, a commitment
    closed: str  # closed: needs and offers, people who checked in (one survey code per caller)
    present: str  # checked in at the encuentro in progress
    round_id: str
    commitment_id: str
    survey_codes: dict[str, str]

    def seat(self) -> str:
        """A fresh registration of the owner's at the published encuentro."""
        r = self.http.post(
            f"/v1/encuentros/{self.published}/registrations",
            json={"participant": participant(), "organization_id": self.owner},
            headers=STAFF,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def _register(http: httpx.Client, encuentro_id: str, organization_id: str) -> dict[str, Any]:
    r = http.post(
        f"/v1/encuentros/{encuentro_id}/registrations",
        json={"participant": participant(), "organization_id": organization_id},
        headers=STAFF,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    stack = Stack()
    try:
        registry, events = stack.service("registry"), stack.service("events")
        with running(registry, events), settled_client(stack, registry) as reg:
            owner, owner_key = register_active(reg, registration())
            other, other_key = register_active(reg, registration())
            leaver, old_key = register_active(reg, registration())
            reg.post(f"/v1/organizations/{leaver}/api-key", headers=bearer(old_key))
            _, funder_key = issue_key(stack, "funder", "Fondo de prueba")
            wait_until_known(stack, [owner, other, leaver])
            http = httpx.Client(base_url=events.url, timeout=30)
            eventually(
                lambda: http.get("/v1/me", headers=bearer(old_key)).status_code == 401, timeout=30
            )
            eventually(
                lambda: http.get("/v1/me", headers=bearer(funder_key)).status_code == 200,
                timeout=30,
            )

            published = create_encuentro(http)
            move(http, published, "published")
            _register(http, published, owner)

            running_ = create_encuentro(http)
            move(http, running_, "published")
            present = _register(http, running_, owner)
            move(http, running_, "in_progress")
            http.post(
                f"/v1/encuentros/{running_}/checkins",
                json={"registration_id": present["id"]},
                headers=STAFF,
            ).raise_for_status()
            formed = http.post(
                f"/v1/encuentros/{running_}/rounds",
                json={"name": "Ronda", "question": "¿Qué hacemos?", "group_size": 4},
                headers=STAFF,
            )
            assert formed.status_code == 201, formed.text
            commitment = http.post(
                f"/v1/encuentros/{running_}/commitments",
                json=_commitment(owner),
                headers=STAFF,
            )
            assert commitment.status_code == 201, commitment.text

            closed = create_encuentro(http)
            move(http, closed, "published")
            people = [_register(http, closed, owner) for _ in CALLERS]
            move(http, closed, "in_progress")
            for person in people:
                http.post(
                    f"/v1/encuentros/{closed}/checkins",
                    json={"registration_id": person["id"]},
                    headers=STAFF,
                ).raise_for_status()
            move(http, closed, "closed")
            listed = http.get(f"/v1/encuentros/{closed}/registrations", headers=STAFF).json()[
                "items"
            ]
            codes = [r["code"] for r in listed]

            yield World(
                http=http,
                headers={
                    "anon": {},
                    "owner": bearer(owner_key),
                    "other": bearer(other_key),
                    "staff": STAFF,
                    "funder": bearer(funder_key),
                    "badkey": bearer("clave-que-nadie-emitio-0123456789"),
                    "revoked": bearer(old_key),
                },
                owner=owner,
                published=published,
                running_=running_,
                closed=closed,
                present=present["id"],
                round_id=formed.json()["id"],
                commitment_id=commitment.json()["id"],
                survey_codes=dict(zip(CALLERS, codes, strict=True)),
            )
    finally:
        stack.close()


def _commitment(organization_id: str) -> dict[str, Any]:
    return {
        "region": "CL-RM",
        "text": "Compartir la base de voluntariado.",
        "organization_ids": [organization_id],
        "responsible_organization_id": organization_id,
        "due_date": "2027-06-30",
    }


Request = tuple[str, dict[str, Any] | None]


def _request(w: World, method: str, route: str, caller: str) -> Request:
    """The path and body of one cell (fresh records where a cell would change them)."""
    e = {
        "/v1/encuentros/{encuentro_id}/checkins": w.running_,
        "/v1/encuentros/{encuentro_id}/rounds": w.running_,
        "/v1/encuentros/{encuentro_id}/rounds/{round_id}/groups/{number}/record": w.running_,
        "/v1/encuentros/{encuentro_id}/commitments": w.running_,
        "/v1/encuentros/{encuentro_id}/needs-offers": w.closed,
        "/v1/encuentros/{encuentro_id}/survey-responses": w.closed,
    }.get(route, w.published)
    path = route.replace("{encuentro_id}", e)
    if "{registration_id}" in path:
        path = path.replace("{registration_id}", w.seat())
    path = path.replace("{round_id}", w.round_id).replace("{number}", "1")
    path = path.replace("{commitment_id}", w.commitment_id)
    bodies: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
        ("POST", "/v1/encuentros"): lambda: {
            "title": "Encuentro de prueba",
            "macrozone": "sur_austral",
            "mode": "presencial",
            "starts_at": "2026-10-01T10:00:00-03:00",
            "ends_at": "2026-10-01T12:00:00-03:00",
            "capacity": 10,
        },
        ("PATCH", "/v1/encuentros/{encuentro_id}"): lambda: {"description": f"Por {caller}"},
        ("POST", "/v1/encuentros/{encuentro_id}/status"): lambda: {"status": "draft"},
        ("POST", "/v1/encuentros/{encuentro_id}/registrations"): lambda: {
            "participant": participant(),
            "organization_id": w.owner,
        },
        ("POST", "/v1/encuentros/{encuentro_id}/checkins"): lambda: {"registration_id": w.present},
        ("POST", "/v1/encuentros/{encuentro_id}/rounds"): lambda: {
            "name": "Otra ronda",
            "question": "¿Cómo seguimos?",
            "group_size": 3,
        },
        ("PUT", "/v1/encuentros/{encuentro_id}/rounds/{round_id}/groups/{number}/record"): lambda: {
            "text": f"Registro escrito por {caller}."
        },
        ("PUT", "/v1/encuentros/{encuentro_id}/needs-offers"): lambda: {
            "needs": ["difusion"],
            "offers": ["contactos"],
        },
        ("POST", "/v1/encuentros/{encuentro_id}/commitments"): lambda: _commitment(w.owner),
        ("PATCH", "/v1/commitments/{commitment_id}"): lambda: {
            "status": "in_progress",
            "note": f"Avance informado por {caller}.",
        },
        ("POST", "/v1/encuentros/{encuentro_id}/survey-responses"): lambda: {
            "code": w.survey_codes[caller],
            "ratings": {"experiencia_general": 4},
        },
    }
    make = bodies.get((method, route))
    return path, make() if make else None


def test_every_route_has_a_row() -> None:
    assert served_routes("services.events.main") == set(ROWS)


@pytest.mark.parametrize(("method", "route"), list(ROWS))
def test_who_may_call_what(world: World, method: str, route: str) -> None:
    check_row(
        world.http,
        method,
        ROWS[(method, route)],
        world.headers,
        lambda caller: _request(world, method, route, caller),
    )
