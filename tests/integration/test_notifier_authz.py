"""Who may call what at the notifier: every route against every kind of caller.

The table is the policy, one row per route; the route list is read from the app, so a new
endpoint without a row fails `test_every_route_has_a_row`. `funder` owns the subscription the
cells act on, `other` is another funder (someone else's subscription is 404 to them: its
existence is not revealed), `org` is an active organisation (subscriptions are for funders and
staff: 403), `staff` is the bootstrap key (reads, changes and deletes any subscription; the
secret, the test ping and a manual retry are the owner's), `badkey` was never issued. Feeds are
public; what was sent is for staff. Cells that delete get a fresh subscription.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.events.metrics import EvidencePublished
from shared.events.topics import Topic
from tests.harness.app import served_routes
from tests.harness.authz import check_row, policy
from tests.harness.kafka import contract_record, produce_raw
from tests.harness.notifier import evidence_event, notifier_service
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, issue_key, register_active, registration, settled_client

pytestmark = pytest.mark.integration

CALLERS = ("anon", "org", "staff", "funder", "other", "badkey")

# fmt: off
MATRIX = """
route                                                         anon org staff funder other badkey
GET    /openapi.json                                          200  200 200   200    200   200
GET    /docs                                                  200  200 200   200    200   200
GET    /docs/oauth2-redirect                                  200  200 200   200    200   200
GET    /redoc                                                 200  200 200   200    200   200
GET    /metrics                                               200  200 200   200    200   200
GET    /healthz                                               200  200 200   200    200   200
GET    /readyz                                                200  200 200   200    200   200
GET    /v1/me                                                 401  200 200   200    200   401
POST   /v1/subscriptions                                      401  403 201   201    201   401
GET    /v1/subscriptions                                      401  403 200   200    200   401
GET    /v1/subscriptions/{subscription_id}                    401  403 200   200    404   401
PATCH  /v1/subscriptions/{subscription_id}                    401  403 200   200    404   401
DELETE /v1/subscriptions/{subscription_id}                    401  403 204   204    404   401
POST   /v1/subscriptions/{subscription_id}/secret             401  403 403   201    404   401
POST   /v1/subscriptions/{subscription_id}/test               401  403 403   200    404   401
GET    /v1/subscriptions/{subscription_id}/deliveries         401  403 200   200    404   401
POST   /v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry 401 403 403 202 404 401
GET    /v1/feeds/evidence.atom                                200  200 200   200    200   200
GET    /v1/feeds/evidence.json                                200  200 200   200    200   200
GET    /v1/notifications                                      401  403 200   403    403   401
"""
# fmt: on

ROWS = policy(MATRIX, CALLERS)

# A receiver nobody listens on: deliveries fail at once and wait ten minutes for their retry.
SUBSCRIPTION = {"themes": ["educacion"], "webhook_url": "http://127.0.0.1:9/webhooks"}


@dataclass
class World:
    http: httpx.Client
    headers: dict[str, dict[str, str]]
    subscription_id: str
    delivery_id: str

    def fresh_subscription(self) -> str:
        r = self.http.post("/v1/subscriptions", json=SUBSCRIPTION, headers=self.headers["funder"])
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def _evidence() -> EvidencePublished:
    return evidence_event(
        evidence_id="prog_authz-m1", programme_id="prog_authz", regions=("CL-RM",)
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    stack = Stack()
    try:
        registry = stack.service("registry")
        notifier = notifier_service(stack, NOTIFIER_WEBHOOK_RETRY_SCHEDULE_SECONDS="[600]")
        with running(registry, notifier), settled_client(stack, registry) as reg:
            _, org_key = register_active(reg, registration())
            _, funder_key = issue_key(stack, "funder", "Fondo de prueba")
            _, other_key = issue_key(stack, "funder", "Otro fondo")
            http = httpx.Client(base_url=notifier.url, timeout=30)
            for key in (org_key, funder_key, other_key):
                _key_works(http, key)
            created = http.post("/v1/subscriptions", json=SUBSCRIPTION, headers=bearer(funder_key))
            assert created.status_code == 201, created.text
            subscription_id = str(created.json()["id"])
            produce_raw(
                stack.topic(Topic.METRICS_EVIDENCE),
                [contract_record(_evidence(), "/articula/metrics")],
            )

            def delivery() -> str:
                items = http.get(
                    f"/v1/subscriptions/{subscription_id}/deliveries", headers=STAFF
                ).json()["items"]
                found = [d for d in items if d["type"] == "evidence.published"]
                assert len(found) == 1, items
                return str(found[0]["id"])

            yield World(
                http=http,
                headers={
                    "anon": {},
                    "org": bearer(org_key),
                    "staff": STAFF,
                    "funder": bearer(funder_key),
                    "other": bearer(other_key),
                    "badkey": bearer("clave-que-nadie-emitio-0123456789"),
                },
                subscription_id=subscription_id,
                delivery_id=eventually(delivery, timeout=60),
            )
    finally:
        stack.close()


def _key_works(http: httpx.Client, key: str) -> None:
    """Keys reach the notifier through the registry's access topic: wait for it."""
    eventually(lambda: http.get("/v1/me", headers=bearer(key)).status_code == 200, timeout=60)


def _request(w: World, method: str, route: str) -> tuple[str, dict[str, Any] | None]:
    subscription_id = w.fresh_subscription() if method == "DELETE" else w.subscription_id
    path = route.replace("{subscription_id}", subscription_id).replace(
        "{delivery_id}", w.delivery_id
    )
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/subscriptions"): SUBSCRIPTION,
        ("PATCH", "/v1/subscriptions/{subscription_id}"): {"themes": ["educacion", "pobreza"]},
    }
    return path, bodies.get((method, route))


def test_every_route_has_a_row() -> None:
    assert served_routes("services.notifier.main") == set(ROWS)


@pytest.mark.parametrize(("method", "route"), list(ROWS))
def test_who_may_call_what(world: World, method: str, route: str) -> None:
    check_row(
        world.http,
        method,
        ROWS[(method, route)],
        world.headers,
        lambda _: _request(world, method, route),
    )
