"""The notifier's pure parts: message ids, masking, templates of every kind, item filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifier.domain.items import ItemFilter, ItemKind, PublishedItem
from services.notifier.domain.messages import MessageKind, Recipient, mask_email, message_id
from services.notifier.rendering import local_time, render

START = datetime(2026, 12, 15, 13, 0, tzinfo=UTC)  # 10:00 in Santiago (summer time, -03)

ENCUENTRO = {
    "id": "enc_1",
    "title": "Encuentro Centro Sur",
    "starts_at": START,
    "ends_at": START + timedelta(hours=4),
    "venue": "Centro Cultural, Concepción",
    "online_url": None,
    "url": "http://127.0.0.1:8002/v1/encuentros/enc_1",
    "mode": "presencial",
}

FACTS: dict[str, Any] = {
    "greeting_name": "Juana <script>",
    "organization_name": "Fundación Ejemplo",
    "organization_id": "org_1",
    "encuentro": ENCUENTRO,
    "macrozone_name": "Centro Sur y RM",
    "registrations_url": "http://127.0.0.1:8002/v1/encuentros/enc_1/registrations",
    "survey_url": "http://127.0.0.1:8002/v1/encuentros/enc_1/survey-responses",
    "results_url": "http://127.0.0.1:8003/v1/stats/encuentros/enc_1",
    "reason": None,
    "code": "K7QM-2XDA",
    "seat": True,
    "position": None,
    "token": "tok_secret",
    "link": None,
    "confirmation_url": "http://127.0.0.1:8001/v1/organizations/org_1/confirmation",
    "expires_at": START,
    "attended": 40,
    "regions": [
        {"name": "Biobío", "agreements": [{"text": "Mesa regional", "due_date": "2027-03-01"}]}
    ],
    "side": "need",
    "need_category": "difusión",
    "offer_category": "plataformas",
    "other_name": "Corporación Otra",
    "other_url": "http://127.0.0.1:8001/v1/organizations/org_2",
    "matches_url": "http://127.0.0.1:8003/v1/matches",
    "reasons": ["categorías afines: difusión ↔ plataformas"],
    "item": {"title": "Programa: Indicador", "summary": "12 personas", "url": "http://x/1"},
    "feed_url": "http://127.0.0.1:8004/v1/feeds/evidence.atom",
    "subscription_id": "sub_1",
    "subscription_url": "http://127.0.0.1:8004/v1/subscriptions/sub_1",
    "deliveries_url": "http://127.0.0.1:8004/v1/subscriptions/sub_1/deliveries",
}


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_renders_in_spanish_as_text_and_html(kind: MessageKind) -> None:
    mail = render(kind, FACTS)
    assert mail.subject and "\n" not in mail.subject
    assert "Hola, Juana <script>:" in mail.text
    assert "Hola, Juana &lt;script&gt;:" in mail.html  # HTML escapes what people typed
    assert "<script>" not in mail.html
    assert mail.html.startswith("<!DOCTYPE html>")


def test_times_are_written_in_chile() -> None:
    assert local_time(START) == "martes 15 de diciembre de 2026, 10:00 (hora de Chile)"


def test_a_waiting_list_place_says_so() -> None:
    mail = render(MessageKind.REGISTRATION, {**FACTS, "seat": False, "position": 3})
    assert "lista de espera (lugar 3)" in mail.text
    assert mail.subject.startswith("Quedaste en lista de espera")


def test_message_ids_are_stable_per_cause_and_recipient() -> None:
    to = Recipient(organization_id="org_1")
    first = message_id(MessageKind.INVITATION, "invitation|enc_1", to)
    assert first == message_id(MessageKind.INVITATION, "invitation|enc_1", to)
    assert first != message_id(MessageKind.INVITATION, "invitation|enc_2", to)
    assert first != message_id(
        MessageKind.INVITATION, "invitation|enc_1", Recipient(organization_id="org_2")
    )


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("juana.perez@ejemplo.cl", "j***@e***.cl"),
        ("a@b.co.uk", "a***@b***.uk"),
        ("x@localhost", "x***@l***"),
    ],
)
def test_addresses_are_masked(address: str, masked: str) -> None:
    assert mask_email(address) == masked


def _item(**fields: Any) -> PublishedItem:
    defaults: dict[str, Any] = {
        "id": "evidence:m1",
        "kind": ItemKind.EVIDENCE,
        "title": "t",
        "summary": "s",
        "url": "http://x",
        "themes": ("educacion",),
        "regions": ("CL-BI",),
        "macrozones": ("centro_sur",),
        "published_at": START,
        "data": {},
    }
    return PublishedItem(**{**defaults, **fields})


def test_a_filter_matches_when_each_non_empty_list_shares_a_value() -> None:
    item = _item()
    assert ItemFilter().matches(item)
    assert ItemFilter(themes=("educacion", "pobreza"), regions=("CL-BI",)).matches(item)
    assert not ItemFilter(themes=("pobreza",)).matches(item)
    assert not ItemFilter(themes=("educacion",), macrozones=("norte_centro",)).matches(item)
    assert not ItemFilter(kinds=(ItemKind.ENCUENTRO_RESULTS,)).matches(item)
