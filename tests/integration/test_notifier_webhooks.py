"""Funders' webhooks on the real broker and database: the notifier runs in this process
(`tests/harness/app.py`), evidence arrives as `EvidencePublished` records on the stack's
evidence topic, and a loopback receiver (a thread) answers as each test scripts it and checks
every signature with the `standardwebhooks` library.

Each test subscribes to its own region and publishes evidence there, so the tests share one
notifier without reaching each other's receivers."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from services.notifier.main import create_app
from services.notifier.settings import NotifierSettings
from shared.auth import hash_secret
from shared.events.registry import AccessChanged
from shared.events.topics import Topic
from shared.kafka.codec import to_record
from shared.reference.territory import REGION_CODES
from tests.harness.app import app_in_process, settings_for
from tests.harness.kafka import produce_raw
from tests.harness.notifier import evidence_event
from tests.harness.processes import STAFF, Stack, eventually
from tests.harness.webhooks import Receiver, start_receiver

pytestmark = pytest.mark.integration


@dataclass
class World:
    stack: Stack
    client: TestClient
    receiver: Receiver
    regions: Iterator[str]

    def subscribe(self, answers: list[Any], **fields: Any) -> tuple[str, str, str, str]:
        """(subscription id, secret, receiver path, region) of a new webhook subscription."""
        region = next(self.regions)
        path = self.receiver.path(answers)
        body = {"regions": [region], "webhook_url": self.receiver.base + path, **fields}
        r = self.client.post("/v1/subscriptions", json=body, headers=STAFF)
        assert r.status_code == 201, r.text
        created = r.json()
        assert set(created) == {"id", "secret"} and created["secret"].startswith("whsec_")
        self.receiver.secrets[path] = [created["secret"]]
        return created["id"], created["secret"], path, region

    def publish(self, region: str) -> str:
        """An `EvidencePublished` in `region`; the evidence id."""
        evidence_id = f"med_{uuid.uuid4().hex[:10]}"
        now = datetime.now(UTC)
        event = evidence_event(evidence_id=evidence_id, regions=(region,), published_at=now)
        record = to_record(
            event,
            ce_type=event.ce_type(),
            source="/articula/metrics",
            event_id=uuid.uuid4().hex,
            key=event.aggregate_id(),
            time=now,
        )
        produce_raw(
            self.stack.topic(Topic.METRICS_EVIDENCE),
            [(event.aggregate_id().encode(), record.value, list(record.headers.items()))],
        )
        return evidence_id

    def deliveries(self, subscription_id: str) -> list[dict[str, Any]]:
        r = self.client.get(f"/v1/subscriptions/{subscription_id}/deliveries", headers=STAFF)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        r = self.client.get(f"/v1/subscriptions/{subscription_id}", headers=STAFF)
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    stack = Stack()
    receiver = start_receiver()
    settings = settings_for(stack, NotifierSettings).model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_retry_schedule_seconds": (0.5, 1, 1),
            "webhook_timeout_seconds": 1,
            "dispatch_poll_seconds": 0.2,
        }
    )
    try:
        with app_in_process(create_app, settings) as client:
            eventually(lambda: client.get("/readyz").status_code == 200)
            yield World(stack, client, receiver, itertools.cycle(REGION_CODES))
    finally:
        receiver.server.shutdown()
        stack.close()


def _settled(world: World, subscription_id: str, count: int = 1) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]]:
        items = world.deliveries(subscription_id)
        if len(items) >= count and all(d["status"] != "pending" for d in items):
            return items
        return []

    return eventually(done, timeout=30)


def test_a_500_then_200_is_delivered_once_with_the_same_webhook_id(world: World) -> None:
    sub_id, _, path, region = world.subscribe([500, 200])
    evidence_id = world.publish(region)
    [delivery] = _settled(world, sub_id)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert delivery["last_status_code"] == 200 and delivery["delivered_at"]
    assert delivery["event_id"] == f"evidence:{evidence_id}"
    assert delivery["type"] == "evidence.published"
    got = world.receiver.at(path)
    assert len(got) == 2
    assert {r.headers["webhook-id"] for r in got} == {delivery["id"]}
    assert got[0].body == got[1].body  # every retry sends identical bytes
    assert all(r.verified_by == [0] for r in got)
    assert got[0].headers["content-type"] == "application/json"
    body = Webhook(world.receiver.secrets[path][0]).verify(got[1].body, got[1].headers)
    assert body["type"] == "evidence.published" and body["data"]["evidence_id"] == evidence_id
    assert set(body) == {"type", "timestamp", "data"}
    time.sleep(1.5)
    assert len(world.receiver.at(path)) == 2  # nothing after the 2xx


def test_a_410_disables_the_subscription_at_once(world: World) -> None:
    sub_id, _, path, region = world.subscribe([410])
    world.publish(region)
    [delivery] = _settled(world, sub_id)
    assert delivery["status"] == "failed" and delivery["last_status_code"] == 410
    assert delivery["attempts"] == 1 and len(world.receiver.at(path)) == 1
    found = world.subscription(sub_id)
    assert found["status"] == "disabled" and "410" in found["disabled_reason"]
    # A disabled subscription receives nothing more.
    world.publish(region)
    time.sleep(1.5)
    assert len(world.receiver.at(path)) == 1


def test_a_slow_receiver_is_retried(world: World) -> None:
    sub_id, _, path, region = world.subscribe([(1.6, 200), 200])
    world.publish(region)
    [delivery] = _settled(world, sub_id)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 2
    assert len({r.headers["webhook-id"] for r in world.receiver.at(path)}) == 1


def test_failures_over_the_whole_schedule_disable_and_tell_the_email(world: World) -> None:
    sub_id, _, path, region = world.subscribe([503], email="fondo@ejemplo.cl")
    world.publish(region)
    [delivery] = _settled(world, sub_id)
    assert delivery["status"] == "failed" and delivery["attempts"] == 4  # 1 + 3 retries
    assert delivery["last_status_code"] == 503
    assert len(world.receiver.at(path)) == 4
    found = world.subscription(sub_id)
    assert found["status"] == "disabled"
    assert "4 intentos" in found["disabled_reason"] and "503" in found["disabled_reason"]
    messages = world.stack.db("notifier").messages
    disabled = eventually(
        lambda: messages.find_one({"kind": "subscription_disabled", "to.subscription_id": sub_id})
    )
    assert disabled["context"]["subscription_id"] == sub_id
    assert disabled["context"]["deliveries_url"].endswith(f"/v1/subscriptions/{sub_id}/deliveries")
    # The e-mail subscription also had the evidence itself planned.
    assert messages.find_one({"kind": "evidence", "to.subscription_id": sub_id})

    # Re-enabled with PATCH, the reason goes; a manual retry delivers again with the same id.
    world.receiver.scripts[path] = [200]
    r = world.client.patch(f"/v1/subscriptions/{sub_id}", json={"status": "active"}, headers=STAFF)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["disabled_reason"] is None
    r = world.client.post(
        f"/v1/subscriptions/{sub_id}/deliveries/{delivery['id']}/retry", headers=STAFF
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    [again] = _settled(world, sub_id)
    assert again["id"] == delivery["id"] and again["status"] == "delivered"
    assert again["attempts"] == 5 and again["last_status_code"] == 200
    last = world.receiver.at(path)[-1]
    assert last.headers["webhook-id"] == delivery["id"] and last.verified_by == [0]


def test_rotation_signs_with_both_secrets_during_the_overlap(world: World) -> None:
    sub_id, old, path, region = world.subscribe([200])
    r = world.client.post(f"/v1/subscriptions/{sub_id}/secret", headers=STAFF)
    assert r.status_code == 201, r.text
    new = r.json()["secret"]
    assert new.startswith("whsec_") and new != old
    world.receiver.secrets[path] = [old, new]
    shown = world.subscription(sub_id)
    assert "secret" not in shown and old not in str(shown) and new not in str(shown)
    assert shown["previous_secret_valid_until"]
    world.publish(region)
    _settled(world, sub_id)
    [got] = world.receiver.at(path)
    assert got.verified_by == [0, 1]  # each secret verifies on its own
    assert len(got.headers["webhook-signature"].split(" ")) == 2


def test_a_test_ping_arrives_signed_and_is_listed(world: World) -> None:
    sub_id, secret, path, _ = world.subscribe([200])
    r = world.client.post(f"/v1/subscriptions/{sub_id}/test", headers=STAFF)
    assert r.status_code == 200, r.text
    ping = r.json()
    assert ping["type"] == "ping" and ping["status"] == "delivered"
    assert ping["last_status_code"] == 200 and ping["attempts"] == 1
    [got] = world.receiver.at(path)
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "ping"
    assert got.headers["webhook-id"] == ping["id"]
    listed = world.deliveries(sub_id)
    assert [d["id"] for d in listed] == [ping["id"]]
    assert set(listed[0]) >= {
        "id",
        "event_id",
        "type",
        "attempts",
        "status",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    }


def test_subscriptions_are_listed_without_secrets_and_deleted(world: World) -> None:
    sub_id, secret, _, _ = world.subscribe([200])
    r = world.client.get("/v1/subscriptions", params={"limit": 1}, headers=STAFF)
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert secret not in r.text
    r = world.client.get("/v1/subscriptions", params={"cursor": page["next_cursor"]}, headers=STAFF)
    assert r.status_code == 200 and page["items"][0]["id"] not in {
        i["id"] for i in r.json()["items"]
    }
    assert world.client.get("/v1/subscriptions").status_code == 401
    bad = {"Authorization": "Bearer clave-que-nadie-emitio-0123456789"}
    assert world.client.get("/v1/subscriptions", headers=bad).status_code == 401
    assert world.client.delete(f"/v1/subscriptions/{sub_id}", headers=STAFF).status_code == 204
    r = world.client.get(f"/v1/subscriptions/{sub_id}", headers=STAFF)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_bad_bodies_name_their_fields_in_spanish(world: World) -> None:
    r = world.client.post(
        "/v1/subscriptions",
        json={"themes": ["astrologia"], "regions": ["CL-XX"], "email": "x@y.cl", "otro": 1},
        headers=STAFF,
    )
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"themes.0", "regions.0", "otro"} <= fields
    r = world.client.post("/v1/subscriptions", json={"regions": ["CL-RM"]}, headers=STAFF)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"webhook_url", "email"}


def test_ssrf_targets_are_refused_when_private_addresses_are_not_allowed() -> None:
    stack = Stack()
    try:
        with app_in_process(create_app, settings_for(stack, NotifierSettings)) as client:
            for url in ("https://127.0.0.1/hook", "http://169.254.169.254/latest/meta-data/"):
                r = client.post("/v1/subscriptions", json={"webhook_url": url}, headers=STAFF)
                assert r.status_code == 422, r.text
                assert r.headers["content-type"] == "application/problem+json"
                [error] = r.json()["errors"]
                assert error["field"] == "webhook_url"
                assert "https" in error["message"] or "públicas" in error["message"]
            ok = client.post("/v1/subscriptions", json={"email": "fondo@ejemplo.cl"}, headers=STAFF)
            assert ok.status_code == 201, ok.text
            r = client.patch(
                f"/v1/subscriptions/{ok.json()['id']}",
                json={"webhook_url": "https://[::ffff:127.0.0.1]/x"},
                headers=STAFF,
            )
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "webhook_url"
    finally:
        stack.close()


def _grant(world: World, kind: str, principal_id: str) -> dict[str, str]:
    """A key for a principal, as the registry announces keys (the access topic)."""
    key = f"clave-{uuid.uuid4().hex}"
    event = AccessChanged(
        principal_id=principal_id,
        kind=kind,
        key_hashes=(hash_secret(key),),
        active=True,
        changed_at=datetime.now(UTC),
    )
    record = to_record(
        event,
        ce_type=event.ce_type(),
        source="/articula/registry",
        event_id=uuid.uuid4().hex,
        key=principal_id,
        time=datetime.now(UTC),
    )
    produce_raw(
        world.stack.topic(Topic.REGISTRY_ACCESS),
        [(principal_id.encode(), record.value, list(record.headers.items()))],
    )
    headers = {"Authorization": f"Bearer {key}"}
    eventually(lambda: world.client.get("/v1/me", headers=headers).status_code == 200)
    return headers


def test_only_the_owner_and_staff_see_a_subscription(world: World) -> None:
    """Someone else's subscription is 404 to a funder (its existence is not revealed); an
    organisation's key is 403 everywhere; staff read and change everyone's, but only the
    owner rotates its secret, tests it and retries its deliveries (403 to other staff)."""
    owner = _grant(world, "funder", f"cli_{uuid.uuid4().hex[:8]}")
    other = _grant(world, "funder", f"cli_{uuid.uuid4().hex[:8]}")
    organization = _grant(world, "organization", f"org_{uuid.uuid4().hex[:8]}")
    path = world.receiver.path([200])
    r = world.client.post(
        "/v1/subscriptions",
        json={"webhook_url": world.receiver.base + path, "regions": [next(world.regions)]},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    sub_id = r.json()["id"]
    world.receiver.secrets[path] = [r.json()["secret"]]
    base = f"/v1/subscriptions/{sub_id}"
    ping = world.client.post(f"{base}/test", headers=owner)
    assert ping.status_code == 200 and ping.json()["status"] == "delivered", ping.text
    routes = [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/secret"),
        ("POST", f"{base}/test"),
        ("GET", f"{base}/deliveries"),
        ("POST", f"{base}/deliveries/{ping.json()['id']}/retry"),
    ]
    owner_only = {f"{base}/secret", f"{base}/test", f"{base}/deliveries/{ping.json()['id']}/retry"}
    for method, url in routes:
        body = {"themes": ["vivienda"]} if method == "PATCH" else None
        for who, headers, expected in (
            ("otro financista", other, 404),
            ("organización", organization, 403),
            ("anónimo", {}, 401),
        ):
            got = world.client.request(method, url, json=body, headers=headers)
            assert got.status_code == expected, (who, method, url, got.text)
        if url in owner_only:
            got = world.client.request(method, url, headers=STAFF)
            assert got.status_code == 403, (method, url, got.text)
    assert world.client.get(base, headers=STAFF).status_code == 200
    assert world.client.get(base, headers=owner).status_code == 200
    mine = world.client.get("/v1/subscriptions", headers=owner).json()["items"]
    assert [s["id"] for s in mine] == [sub_id]
    assert world.client.get("/v1/subscriptions", headers=other).json()["items"] == []
    assert world.client.get("/v1/subscriptions", headers=organization).status_code == 403
    assert (
        world.client.post(
            "/v1/subscriptions", json={"email": "a@b.cl"}, headers=organization
        ).status_code
        == 403
    )
    assert world.client.delete(base, headers=owner).status_code == 204
