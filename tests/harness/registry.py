"""The registry as tests use it: valid registrations, activation, keys, its events.

Contact data use distinctive ASCII strings so that a leak into any public output (directory
JSON, CSV, public profile, organisation events) shows up as a plain substring of raw bytes.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import httpx

from services.registry.domain.profile import CURRENT_TERMS_VERSION
from shared.events.base import EventContract
from shared.events.catalog import ALL_CONTRACTS, by_type
from shared.events.registry import ConfirmationRequested
from shared.events.topics import Topic
from shared.kafka.codec import EventEnvelope, from_record
from shared.reference.rut import format_rut
from tests.harness.kafka import topic_records
from tests.harness.processes import ROOT, STAFF, ServiceProcess, Stack, eventually

_numbers = itertools.count(random.randrange(10_000_000, 60_000_000, 1000))
_phones = itertools.count(random.randrange(10_000_000, 80_000_000, 1000))


@dataclass(frozen=True)
class Contact:
    """A contact person whose every field is a needle to look for in public outputs."""

    name: str
    email: str
    phone_typed: str
    phone_digits: str  # as stored: +56 9 XXXX XXXX → 569XXXXXXXX

    @property
    def needles(self) -> list[str]:
        return [self.name, self.email, self.phone_digits, self.phone_digits[2:]]

    def body(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "phone": self.phone_typed}


def new_contact() -> Contact:
    n, p = next(_numbers), next(_phones)
    digits = f"{p:08d}"
    return Contact(
        name=f"Ximena Privada Q{n}",
        email=f"ximena.q{n}@correo-personal.cl",
        phone_typed=f"+56 9 {digits[:4]} {digits[4:]}",
        phone_digits=f"569{digits}",
    )


def registration(name: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid registration body with a RUT and contact no other call of this process uses."""
    n = next(_numbers)
    body: dict[str, Any] = {
        "rut": format_rut(n),
        "name": name or f"Organización Número {n}",
        "sector": "sociedad_civil",
        "legal_form": "fundacion",
        "head_office_region": "CL-RM",
        "regions": ["CL-RM"],
        "scope": "regional",
        "roles": ["programas"],
        "themes": ["pobreza"],
        "links_with_others": True,
        "has_alliances": True,
        "traits": ["puentes"],
        "website": f"https://org{n}.ejemplo.cl",
        "description": "Acompañamos a familias en situación de pobreza.",
        "contact": new_contact().body(),
        "consent": {"publish_profile": True, "terms_version": CURRENT_TERMS_VERSION},
    }
    body.update(overrides)
    return body


def register(http: httpx.Client, body: dict[str, Any]) -> str:
    response = http.post("/v1/organizations", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def activate(
    http: httpx.Client, organization_id: str, reason: str = "Verificado por el equipo"
) -> str:
    """Staff activation; returns the organisation's API key (shown this once)."""
    response = http.post(
        f"/v1/organizations/{organization_id}/activation", json={"reason": reason}, headers=STAFF
    )
    assert response.status_code == 200, response.text
    return str(response.json()["api_key"])


def register_active(http: httpx.Client, body: dict[str, Any]) -> tuple[str, str]:
    """(id, api key) of a registration activated by staff."""
    organization_id = register(http, body)
    return organization_id, activate(http, organization_id)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def decoded(records: list[Any]) -> list[EventEnvelope]:
    return [from_record(r.key, r.value, r.headers, by_type(ALL_CONTRACTS)) for r in records]


def unique(events: list[EventEnvelope]) -> list[EventEnvelope]:
    """Delivery is at least once: drop republished copies by CloudEvents id, as consumers do."""
    seen: set[str] = set()
    kept: list[EventEnvelope] = []
    for event in events:
        if event.dedup_key not in seen:
            seen.add(event.dedup_key)
            kept.append(event)
    return kept


def organization_events(
    stack: Stack, organization_id: str, contract: type[EventContract], count: int = 1
) -> list[EventEnvelope]:
    """The organisation's events of one contract on the public topic, once `count` arrived."""

    def found() -> list[EventEnvelope]:
        events = [
            e
            for e in unique(decoded(topic_records(stack.topic(Topic.REGISTRY_ORGANIZATIONS))))
            if e.subject == organization_id and isinstance(e.payload, contract)
        ]
        assert len(events) >= count, f"{len(events)} {contract.__name__} events so far"
        return events

    return eventually(found, timeout=30)


def confirmation_token(stack: Stack, organization_id: str, count: int = 1) -> str:
    """The newest token e-mailed for the organisation, read from the private topic."""

    def found() -> str:
        requests = [
            e.payload
            for e in decoded(topic_records(stack.topic(Topic.REGISTRY_NOTIFICATIONS)))
            if isinstance(e.payload, ConfirmationRequested)
            and e.payload.organization_id == organization_id
        ]
        assert len(requests) >= count, f"{len(requests)} confirmation requests so far"
        return max(requests, key=lambda r: r.requested_at).token

    return eventually(found, timeout=30)


def settled_client(stack: Stack, registry: ServiceProcess) -> httpx.Client:
    """A client that, after every successful write, waits until the relay has published it.

    FerretDB 1.x (SQLite) applies an update as a read and a separate write, so two concurrent
    updates of one document can lose one of them. The registry serialises its own writes per
    document (``shared.storage.locks``), but only inside its process: a test that writes to the
    database itself (aging a token) would race the relay's removal of published outbox entries.
    Waiting also means every event of a step is on Kafka before the next step starts.
    """
    db = stack.db("registry")

    def wait_for_relay(response: httpx.Response) -> None:
        request = response.request
        if request.method in ("GET", "HEAD") or not response.is_success:
            return
        parts = request.url.path.strip("/").split("/")  # v1 / organizations|calls / <id> …
        if len(parts) >= 3:
            collection, doc_id = parts[1], parts[2]
        else:
            response.read()
            collection, doc_id = parts[1], response.json().get("id")
        if collection not in ("organizations", "calls") or not doc_id:
            return

        def drained() -> bool:
            doc = db[collection].find_one({"_id": doc_id})
            return doc is None or not doc.get("outbox")

        eventually(drained, timeout=30, interval=0.05)

    return httpx.Client(
        base_url=registry.url, timeout=15, event_hooks={"response": [wait_for_relay]}
    )


def send_ping(registry: ServiceProcess, message: str = "ping") -> str:
    response = httpx.post(
        f"{registry.url}/v1/system/pings", json={"message": message}, headers=STAFF, timeout=15
    )
    assert response.status_code == 202, response.text
    return str(response.json()["ping_id"])


def registry_cli(stack: Stack, *command: str) -> str:
    """Run `python -m services.registry <command>` against the stack; its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "services.registry", *command],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def issue_key(stack: Stack, kind: str, label: str) -> tuple[str, str]:
    """(client id, key) of a staff or funder key made with the registry's CLI."""
    issued = json.loads(registry_cli(stack, "keys", "create", "--kind", kind, "--label", label))
    return str(issued["client_id"]), str(issued["api_key"])
