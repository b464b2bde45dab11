"""One API key everywhere: keys the registry issues open the other services within seconds,
and stop opening them as fast when rotated, revoked, suspended or withdrawn (the principals
projection of the registry's access topic, `shared.principals`)."""

from __future__ import annotations

import httpx

from tests.harness.processes import STAFF, ServiceProcess, Stack, eventually, running
from tests.harness.registry import (
    bearer,
    issue_key,
    register_active,
    registration,
    registry_cli,
    settled_client,
)

OTHERS = ("events", "metrics", "notifier")


def me(service: ServiceProcess, key: str | None) -> httpx.Response:
    headers = bearer(key) if key else {}
    return httpx.get(f"{service.url}/v1/me", headers=headers, timeout=10)


def opens(services: list[ServiceProcess], key: str) -> bool:
    return all(me(s, key).status_code == 200 for s in services)


def closed(services: list[ServiceProcess], key: str) -> bool:
    return all(me(s, key).status_code == 401 for s in services)


def test_one_key_opens_every_service_and_closes_everywhere(stack: Stack) -> None:
    registry = stack.service("registry")
    others = [stack.service(name) for name in OTHERS]
    with running(registry, *others), settled_client(stack, registry) as http:
        org_id, key = register_active(http, registration())
        eventually(lambda: opens(others, key), timeout=30)
        assert me(others[0], key).json() == {"kind": "organization", "id": org_id}
        assert me(registry, key).json() == {"kind": "organization", "id": org_id}

        rotated = http.post(f"/v1/organizations/{org_id}/api-key", headers=bearer(key))
        assert rotated.status_code == 200, rotated.text
        new_key = rotated.json()["api_key"]
        eventually(lambda: opens(others, new_key) and closed(others, key), timeout=30)

        reason = {"reason": "Revisión del equipo"}
        suspended = http.post(f"/v1/organizations/{org_id}/suspension", json=reason, headers=STAFF)
        assert suspended.status_code == 200, suspended.text
        eventually(lambda: closed(others, new_key), timeout=30)
        http.post(
            f"/v1/organizations/{org_id}/reinstatement", json=reason, headers=STAFF
        ).raise_for_status()
        eventually(lambda: opens(others, new_key), timeout=30)
        http.delete(f"/v1/organizations/{org_id}", headers=bearer(new_key)).raise_for_status()
        eventually(lambda: closed(others, new_key), timeout=30)

        client_id, staff_key = issue_key(stack, "staff", "Equipo de prueba")
        eventually(lambda: opens(others, staff_key), timeout=30)
        assert me(others[1], staff_key).json() == {"kind": "staff", "id": client_id}
        registry_cli(stack, "keys", "revoke", client_id)
        eventually(lambda: closed(others, staff_key), timeout=30)

        for service in others:
            assert me(service, STAFF["Authorization"].removeprefix("Bearer ")).json()["kind"] == (
                "staff"
            )
            assert me(service, None).status_code == 401
            unknown = me(service, "org_" + "x" * 43)
            assert unknown.status_code == 401
            assert unknown.headers["content-type"] == "application/problem+json"


def test_a_restarted_service_knows_every_key_before_it_is_ready(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry), settled_client(stack, registry) as http:
        keys = [register_active(http, registration())[1] for _ in range(3)]
        with running(events):  # ready only once it has read the access topic to its end
            assert opens([events], keys[0]) and opens([events], keys[2])
        events.stop()
        with running(events):
            assert all(opens([events], key) for key in keys)
