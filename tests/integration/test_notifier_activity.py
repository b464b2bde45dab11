"""The notifier's own state changes are events too (`articula.notifier.activity.v1`): a
subscription's life and each delivery and message once settled, with ids, filters, statuses
and counts, and never a webhook URL, an e-mail address or a secret."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.events.notifier import (
    DeliverySettled,
    MessageSettled,
    SubscriptionChanged,
    SubscriptionCreated,
    SubscriptionDeleted,
)
from shared.events.topics import Topic
from tests.harness.kafka import topic_records
from tests.harness.notifier import mail_to, notifier_service
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import decoded, registration, settled_client, unique

pytestmark = pytest.mark.integration

URL = "http://127.0.0.1:9/webhooks-secretos?token=abc"
EMAIL = "fondo.actividad@correo.test"


def test_subscriptions_deliveries_and_messages_are_published_without_secrets(
    stack: Stack,
) -> None:
    registry, notifier = stack.service("registry"), notifier_service(stack)
    with running(registry, notifier), settled_client(stack, registry) as reg:
        http = httpx.Client(base_url=notifier.url, timeout=30)
        created = http.post(
            "/v1/subscriptions",
            json={"themes": ["educacion"], "webhook_url": URL, "email": EMAIL},
            headers=STAFF,
        )
        assert created.status_code == 201, created.text
        subscription_id, secret = created.json()["id"], created.json()["secret"]
        assert (
            http.post(f"/v1/subscriptions/{subscription_id}/test", headers=STAFF).status_code == 200
        )
        rotated = http.post(f"/v1/subscriptions/{subscription_id}/secret", headers=STAFF)
        assert rotated.status_code == 201, rotated.text
        patched = http.patch(
            f"/v1/subscriptions/{subscription_id}", json={"status": "disabled"}, headers=STAFF
        )
        assert patched.status_code == 200, patched.text
        assert http.delete(f"/v1/subscriptions/{subscription_id}", headers=STAFF).status_code == 204
        assert http.get(f"/v1/subscriptions/{subscription_id}", headers=STAFF).status_code == 404
        listed = http.get("/v1/subscriptions", headers=STAFF).json()["items"]
        assert subscription_id not in [s["id"] for s in listed]

        # An e-mail settles too: the confirmation of a registration.
        body = registration()
        assert reg.post("/v1/organizations", json=body).status_code == 201
        mail_to(body["contact"]["email"])

        topic = stack.topic(Topic.NOTIFIER_ACTIVITY)

        def published() -> list[Any]:
            events = [e.payload for e in unique(decoded(topic_records(topic)))]
            kinds = {type(e) for e in events}
            assert {
                SubscriptionCreated,
                SubscriptionChanged,
                SubscriptionDeleted,
                DeliverySettled,
                MessageSettled,
            } <= kinds, kinds
            return events

        events = eventually(published, timeout=60)
        mine = [e for e in events if getattr(e, "subscription_id", None) == subscription_id]
        changes = [e.change for e in mine if isinstance(e, SubscriptionChanged)]
        assert changes == ["secret_rotated", "disabled"]
        (ping,) = [e for e in mine if isinstance(e, DeliverySettled)]
        assert ping.type == "ping" and ping.status == "failed"  # nobody listens on port 9
        (deleted,) = [e for e in mine if isinstance(e, SubscriptionDeleted)]
        assert not deleted.webhook and not deleted.email
        (sent,) = [e for e in events if isinstance(e, MessageSettled)]
        assert sent.kind == "confirmation" and sent.status == "sent"

        raw = b"".join(bytes(r.value or b"") for r in topic_records(topic))
        for needle in (URL, "webhooks-secretos", EMAIL, secret, rotated.json()["secret"]):
            assert needle.encode() not in raw
        assert body["contact"]["email"].encode() not in raw
