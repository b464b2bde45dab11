"""Funders' webhooks without the broker: the SSRF rule, signatures, rotation, the retry
schedule and which subscriptions an item reaches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.domain.deliveries import delivery_id, retry_due, webhook_body
from services.notifier.domain.items import ItemKind, PublishedItem
from services.notifier.domain.subscriptions import (
    Subscription,
    SubscriptionCreate,
    SubscriptionPatch,
    SubscriptionStatus,
)
from services.notifier.domain.webhook_urls import (
    WebhookTarget,
    address_refusal,
    addresses_refusal,
    target_of,
)
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import new_secret
from services.notifier.webhooks import check_webhook_url, signed_headers
from shared.errors import Conflict, InvalidInput

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "10.0.0.5",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.10",
        "169.254.169.254",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "100.64.0.1",
        "fc00::1",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None
    assert addresses_refusal([address], allow_private=False) is not None
    assert addresses_refusal([address], allow_private=True) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None
    assert addresses_refusal([address], allow_private=False) is None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    assert addresses_refusal(["8.8.8.8", "10.0.0.1"], allow_private=False) is not None
    assert addresses_refusal([], allow_private=False) is not None  # did not resolve


def test_urls_must_be_https_without_credentials_unless_private_is_allowed() -> None:
    assert target_of("https://ejemplo.cl/hook?x=1", allow_private=False) == WebhookTarget(
        "ejemplo.cl", 443
    )
    assert target_of("https://[::1]:8443/h", allow_private=False) == WebhookTarget("::1", 8443)
    assert isinstance(target_of("http://ejemplo.cl/hook", allow_private=False), str)
    assert isinstance(target_of("https://u:p@ejemplo.cl/", allow_private=False), str)
    assert isinstance(target_of("ftp://ejemplo.cl/", allow_private=True), str)
    assert isinstance(target_of("https://ejemplo.cl:99999/", allow_private=False), str)
    assert target_of("http://127.0.0.1:9/h", allow_private=True) == WebhookTarget("127.0.0.1", 9)


async def test_check_resolves_and_refuses_loopback_and_metadata() -> None:
    strict = NotifierSettings(webhook_allow_private=False)
    for url in (
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
    ):
        assert await check_webhook_url(url, strict) is not None, url
    assert await check_webhook_url("https://93.184.216.34/hook", strict) is None
    relaxed = NotifierSettings(webhook_allow_private=True)
    assert await check_webhook_url("http://127.0.0.1:8080/hook", relaxed) is None


def test_secrets_are_standard_webhooks_secrets() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    Webhook(secret)  # decodes
    assert secret != new_secret()


def test_signature_verifies_with_the_standard_library() -> None:
    secret = new_secret()
    body = webhook_body("evidence.published", NOW, {"evidence_id": "m1", "valor": "ñandú"})
    headers = signed_headers("msg_abc", body, [secret], datetime.now(UTC))
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body.encode(), headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body.encode(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("m1", "m2").encode(), headers)


def _subscription(**fields: object) -> Subscription:
    body = SubscriptionCreate.model_validate({"webhook_url": "https://ejemplo.cl/hook", **fields})
    return Subscription.create("sub_1", "funder", "cli_1", body, new_secret(), NOW)


def test_during_rotation_both_secrets_sign_and_each_verifies() -> None:
    old = _subscription()
    rotated = old.rotated(new_secret(), NOW, timedelta(hours=24))
    during = NOW + timedelta(hours=1)
    secrets = rotated.signing_secrets(during)
    assert secrets == [rotated.secret, old.secret]
    body = webhook_body("ping", NOW, {})
    headers = signed_headers("msg_x", body, secrets, datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old.secret).verify(body, headers)
    Webhook(rotated.secret).verify(body, headers)
    assert rotated.signing_secrets(NOW + timedelta(hours=25)) == [rotated.secret]


def test_retry_schedule_attempt_n_waits_schedule_n_minus_1() -> None:
    schedule = (5, 300, 1800)
    assert [retry_due(schedule, n) for n in (1, 2, 3, 4)] == [5, 300, 1800, None]
    assert retry_due((0.5, 1, 1), 1) == 0.5


def test_delivery_ids_are_stable_per_subscription_and_item() -> None:
    assert delivery_id("sub_1", "evidence:m1") == delivery_id("sub_1", "evidence:m1")
    assert delivery_id("sub_1", "evidence:m1") != delivery_id("sub_2", "evidence:m1")
    assert delivery_id("sub_1", "evidence:m1").startswith("msg_")


def _item(**fields: object) -> PublishedItem:
    base: dict[str, object] = {
        "id": "evidence:m1",
        "kind": ItemKind.EVIDENCE,
        "title": "t",
        "summary": "s",
        "url": "https://x.cl",
        "themes": ("educacion",),
        "regions": ("CL-RM",),
        "macrozones": ("centro",),
        "published_at": NOW,
        "data": {},
    }
    return PublishedItem.model_validate({**base, **fields})


def test_filters_match_by_each_non_empty_list() -> None:
    item = _item()
    assert _subscription().filter.matches(item)
    assert _subscription(themes=["educacion"], regions=["CL-RM"]).filter.matches(item)
    assert not _subscription(themes=["vivienda"]).filter.matches(item)
    assert not _subscription(kinds=["encuentro_results"]).filter.matches(item)
    assert _subscription(kinds=["evidence"], themes=["vivienda", "educacion"]).filter.matches(item)


def test_inputs_use_the_shared_vocabularies_and_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError) as bad:
        SubscriptionCreate.model_validate(
            {"themes": ["astrologia"], "regions": ["CL-XX"], "email": "a@b.cl", "color": 1}
        )
    fields = {str(e["loc"][0]) for e in bad.value.errors()}
    assert fields == {"themes", "regions", "color"}
    ok = SubscriptionCreate.model_validate({"regions": ["cl-rm"], "email": "a@b.cl"})
    assert ok.regions == ["CL-RM"]


def test_a_subscription_needs_a_webhook_or_an_email() -> None:
    with pytest.raises(InvalidInput) as refused:
        Subscription.create("sub_1", "funder", "c", SubscriptionCreate(), new_secret(), NOW)
    assert {e["field"] for e in refused.value.errors or []} == {"webhook_url", "email"}
    subscription = _subscription()
    # A body valid on its own that would leave this subscription with nothing: a conflict.
    with pytest.raises(Conflict):
        subscription.patched(SubscriptionPatch.model_validate({"webhook_url": None}), NOW)


def test_patching_status_active_re_enables_and_clears_the_reason() -> None:
    disabled = _subscription().disabled("el receptor respondió 410 (Gone)", NOW)
    assert disabled.status is SubscriptionStatus.DISABLED
    again = disabled.patched(SubscriptionPatch.model_validate({"status": "active"}), NOW)
    assert again.status is SubscriptionStatus.ACTIVE and again.disabled_reason is None
    narrowed = again.patched(SubscriptionPatch.model_validate({"themes": ["vivienda"]}), NOW)
    assert narrowed.themes == ("vivienda",) and narrowed.webhook_url == again.webhook_url
