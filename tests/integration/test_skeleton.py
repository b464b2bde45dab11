"""Every service answers the contract's operational endpoints, and one event crosses all four."""

from __future__ import annotations

from functools import partial

import httpx

from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import send_ping

SERVICES = ("registry", "events", "metrics", "notifier")
CONSUMERS = ("events", "metrics", "notifier")


def test_operational_endpoints_and_one_event_through_all_four(stack: Stack) -> None:
    procs = {name: stack.service(name) for name in SERVICES}
    with running(*procs.values()):
        for proc in procs.values():
            assert httpx.get(f"{proc.url}/healthz").json() == {"status": "ok"}
            assert httpx.get(f"{proc.url}/readyz").status_code == 200
            assert "articula_http_requests_total" in httpx.get(f"{proc.url}/metrics").text
            assert httpx.get(f"{proc.url}/openapi.json").json()["openapi"].startswith("3.")

        ping_id = send_ping(procs["registry"], "hola ecosistema")

        for name in CONSUMERS:
            doc = eventually(partial(stack.db(name).received_pings.find_one, {"_id": ping_id}))
            assert doc["message"] == "hola ecosistema"
            assert doc["times_applied"] == 1


def test_errors_are_problem_json_in_spanish(stack: Stack) -> None:
    registry = stack.service("registry")
    with running(registry), registry.client() as http:
        unauthenticated = http.post("/v1/system/pings", json={"message": "x"})
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"

        invalid = http.post("/v1/system/pings", json={"message": ""}, headers=STAFF)
        assert invalid.status_code == 422
        body = invalid.json()
        assert body["status"] == 422
        assert body["errors"] == [
            {"field": "message", "message": "Debe tener al menos 1 carácter."}
        ]

        missing = http.get("/v1/no-existe")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "El recurso solicitado no existe."
