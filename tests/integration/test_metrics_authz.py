"""Who may call what at the metrics service: every route against every kind of caller.

The table is the policy, one row per route; the route list is read from the app, so a new
endpoint without a row fails `test_every_route_has_a_row`. Keys are the registry's: `owner` owns
the programme the cells act on, `other` is another active organisation, `funder` and `staff`
come from the registry's CLI and the bootstrap key, `badkey` was never issued. Statistics,
matches, programmes and evidence are public; only the programme's organisation writes to it,
and only staff review; a route open to anyone ignores the Authorization header (as the
registry's do), one that looks at the caller refuses a key nobody was issued. Cells that
create get fresh records; reviews get a fresh measurement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness.app import served_routes
from tests.harness.authz import check_row, policy
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, issue_key, register_active, registration, settled_client
from tests.integration.test_metrics_programmes import (
    INDICATOR,
    MEASUREMENT,
    PROGRAMME,
    _key_works,
)

CALLERS = ("anon", "owner", "other", "staff", "funder", "badkey")

# fmt: off
MATRIX = """
route                                                     anon owner other staff funder badkey
GET    /openapi.json                                      200  200   200   200   200    200
GET    /docs                                              200  200   200   200   200    200
GET    /docs/oauth2-redirect                              200  200   200   200   200    200
GET    /redoc                                             200  200   200   200   200    200
GET    /metrics                                           200  200   200   200   200    200
GET    /healthz                                           200  200   200   200   200    200
GET    /readyz                                            200  200   200   200   200    200
GET    /v1/me                                             401  200   200   200   200    401
GET    /v1/stats/registry                                 200  200   200   200   200    200
GET    /v1/stats/encuentros/{encuentro_id}                404  404   404   404   404    404
GET    /v1/stats/cycles/{cycle}                           404  404   404   404   404    404
GET    /v1/stats/commitments                              200  200   200   200   200    200
GET    /v1/matches                                        200  200   200   200   200    200
POST   /v1/programmes                                     401  201   201   403   403    401
GET    /v1/programmes                                     200  200   200   200   200    200
GET    /v1/programmes/{programme_id}                      200  200   200   200   200    200
POST   /v1/programmes/{programme_id}/indicators           401  201   403   403   403    401
GET    /v1/indicators/{indicator_id}                      200  200   200   200   200    401
POST   /v1/indicators/{indicator_id}/measurements         401  201   403   403   403    401
POST   /v1/measurements/{measurement_id}/review           401  403   403   200   403    401
PUT    /v1/programmes/{programme_id}/work-plan            401  200   403   403   403    401
GET    /v1/programmes/{programme_id}/work-plan            200  200   200   200   200    200
GET    /v1/programmes/{programme_id}/iati.xml             200  200   200   200   200    200
GET    /v1/evidence                                       200  200   200   200   200    200
"""
# fmt: on


ROWS = policy(MATRIX, CALLERS)


@dataclass
class World:
    http: httpx.Client
    headers: dict[str, dict[str, str]]
    programme_id: str
    indicator_id: str

    def measurement(self) -> str:
        r = self.http.post(
            f"/v1/indicators/{self.indicator_id}/measurements",
            json=MEASUREMENT,
            headers=self.headers["owner"],
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    stack = Stack()
    try:
        registry, metrics = stack.service("registry"), stack.service("metrics")
        with running(registry, metrics), settled_client(stack, registry) as reg:
            _, owner_key = register_active(reg, registration())
            _, other_key = register_active(reg, registration())
            _, funder_key = issue_key(stack, "funder", "Fondo de prueba")
            http = httpx.Client(base_url=metrics.url, timeout=30)
            for key in (owner_key, other_key, funder_key):
                _key_works(http, key)

            def created() -> str | None:
                r = http.post("/v1/programmes", json=PROGRAMME, headers=bearer(owner_key))
                return str(r.json()["id"]) if r.status_code == 201 else None

            # The metrics service must have heard of the organisation from the registry too.
            programme_id = eventually(created, timeout=60)
            indicator = http.post(
                f"/v1/programmes/{programme_id}/indicators",
                json=INDICATOR,
                headers=bearer(owner_key),
            )
            assert indicator.status_code == 201, indicator.text
            yield World(
                http=http,
                headers={
                    "anon": {},
                    "owner": bearer(owner_key),
                    "other": bearer(other_key),
                    "staff": STAFF,
                    "funder": bearer(funder_key),
                    "badkey": bearer("clave-que-nadie-emitio-0123456789"),
                },
                programme_id=str(programme_id),
                indicator_id=indicator.json()["id"],
            )
    finally:
        stack.close()


def _request(w: World, method: str, route: str) -> tuple[str, dict[str, Any] | None]:
    path = (
        route.replace("{encuentro_id}", "desconocido")
        .replace("{cycle}", "desconocido")
        .replace("{programme_id}", w.programme_id)
        .replace("{indicator_id}", w.indicator_id)
    )
    if "{measurement_id}" in path:
        path = path.replace("{measurement_id}", w.measurement())
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/programmes"): PROGRAMME,
        ("POST", "/v1/programmes/{programme_id}/indicators"): INDICATOR,
        ("POST", "/v1/indicators/{indicator_id}/measurements"): MEASUREMENT,
        ("POST", "/v1/measurements/{measurement_id}/review"): {
            "decision": "approved",
            "reason": "Verificado con la residencia.",
        },
        ("PUT", "/v1/programmes/{programme_id}/work-plan"): {
            "areas": [
                {
                    "area": "Gestión",
                    "needs_identified": 4,
                    "activities": [{"name": "Diagnóstico", "status": "done"}],
                }
            ]
        },
    }
    return path, bodies.get((method, route))


def test_every_route_has_a_row() -> None:
    assert served_routes("services.metrics.main") == set(ROWS)


@pytest.mark.parametrize(("method", "route"), list(ROWS))
def test_who_may_call_what(world: World, method: str, route: str) -> None:
    check_row(
        world.http,
        method,
        ROWS[(method, route)],
        world.headers,
        lambda _: _request(world, method, route),
    )
