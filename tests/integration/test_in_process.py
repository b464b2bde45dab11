"""Services run inside the test process (tests/harness/app.py) on the real broker and database:
the harness the next services' tests start from."""

from __future__ import annotations

from services.events.main import create_app as events_app
from services.events.settings import EventsSettings
from services.registry.main import create_app as registry_app
from services.registry.settings import RegistrySettings
from tests.harness.app import app_in_process, settings_for
from tests.harness.processes import STAFF, Stack, eventually
from tests.harness.registry import registration


def test_a_ping_crosses_two_services_run_in_process(stack: Stack) -> None:
    with (
        app_in_process(registry_app, settings_for(stack, RegistrySettings)) as registry,
        app_in_process(events_app, settings_for(stack, EventsSettings)) as events,
    ):
        eventually(lambda: registry.get("/readyz").status_code == 200)
        eventually(lambda: events.get("/readyz").status_code == 200)
        sent = registry.post("/v1/system/pings", json={"message": "en proceso"}, headers=STAFF)
        assert sent.status_code == 202, sent.text
        ping_id = sent.json()["ping_id"]
        doc = eventually(lambda: stack.db("events").received_pings.find_one({"_id": ping_id}))
        assert doc["message"] == "en proceso" and doc["times_applied"] == 1

        created = registry.post("/v1/organizations", json=registration())
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/v1/organizations/{created.json()['id']}"
