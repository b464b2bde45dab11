"""The events service's view of the registry's organisations: built from the organisations
topic from its beginning on first run, kept current, nothing personal in it."""

from __future__ import annotations

from typing import Any

from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import (
    activate,
    bearer,
    new_contact,
    register,
    registration,
    settled_client,
)


def view(stack: Stack) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc for doc in stack.db("events").organizations.find({})}


def test_the_events_service_sees_every_organisation_as_the_registry_publishes_it(
    stack: Stack,
) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    contact = new_contact()
    with running(registry), settled_client(stack, registry) as http:
        pending = register(http, registration(contact=contact.body()))
        active = register(
            http, registration(head_office_region="CL-BI", regions=["CL-BI", "CL-AR"])
        )
        key = activate(http, active)
        leaving = register(http, registration())
        activate(http, leaving)
        http.delete(f"/v1/organizations/{leaving}", headers=STAFF).raise_for_status()

        with running(events):  # started after all that: it reads the topic from the start
            eventually(lambda: len(view(stack)) == 3, timeout=60)
            seen = view(stack)
            assert seen[pending]["status"] == "pending"
            assert seen[active]["status"] == "active"
            assert seen[active]["macrozone"] == "centro_sur"
            assert seen[active]["regions"] == ["CL-BI", "CL-AR"]
            assert seen[leaving]["status"] == "withdrawn"
            for needle in contact.needles:
                assert needle not in str(seen), "no contact data in the events service"

            patched = http.patch(
                f"/v1/organizations/{active}", json={"name": "Nuevo Nombre"}, headers=bearer(key)
            )
            assert patched.status_code == 200, patched.text
            eventually(lambda: view(stack)[active]["name"] == "Nuevo Nombre", timeout=30)
            version = view(stack)[active]["version"]

        events.stop()
        with running(events):  # a restart resumes where it stopped: nothing applied twice
            http.post(
                f"/v1/organizations/{active}/suspension", json={"reason": "Revisión"}, headers=STAFF
            ).raise_for_status()
            eventually(lambda: view(stack)[active]["status"] == "suspended", timeout=30)
            assert view(stack)[active]["version"] == version + 1
