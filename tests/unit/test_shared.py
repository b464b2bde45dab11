"""Pure parts of the shared package: codec, redaction, problem details, outbox helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.events.catalog import by_type
from shared.events.pings import SystemPingSent
from shared.events.topics import TOPIC_SPECS, Topic, topic_name
from shared.kafka.codec import MalformedEvent, from_record, to_record
from shared.logging import REDACTED, redact
from shared.problems import errors_from_pydantic
from shared.settings import ServiceSettings
from shared.storage.outbox import STAMP, new_document_with_outbox, outbox_entries, with_outbox

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
PING = SystemPingSent(ping_id="p1", message="hola", sent_at=NOW)
PINGS = by_type([SystemPingSent])


def record_of(event: SystemPingSent) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    msg = to_record(
        event,
        ce_type=event.ce_type(),
        source="/articula/test",
        event_id="e1",
        key=event.aggregate_id(),
        time=NOW,
        correlation_id="req-1",
    )
    key = msg.key.encode() if isinstance(msg.key, str) else msg.key
    return key, msg.value, list(msg.headers.items())


def test_cloudevents_binary_mode_round_trip() -> None:
    key, value, headers = record_of(PING)
    names = dict(headers)
    assert key == b"p1"
    assert names["ce_specversion"] == b"1.0"
    assert names["ce_type"] == b"cl.articula.system.ping_sent.v1"
    assert names["content-type"] == b"application/json"
    envelope = from_record(key, value, headers, PINGS)
    assert envelope.payload == PING
    assert envelope.dedup_key == "/articula/test|e1"
    assert envelope.correlation_id == "req-1"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k, v, h: (k, v, []),  # no CloudEvents headers
        lambda k, v, h: (k, b"{broken", h),  # not JSON
        lambda k, v, h: (k, json.dumps({"ping_id": 1}).encode(), h),  # wrong shape
        lambda k, v, h: (k, b"[1, 2]", h),  # not an object
    ],
)
def test_malformed_records_are_rejected_as_such(mutate: object) -> None:
    key, value, headers = mutate(*record_of(PING))  # type: ignore[operator]
    with pytest.raises(MalformedEvent):
        from_record(key, value, headers, PINGS)


def test_unknown_event_types_decode_without_payload() -> None:
    key, value, headers = record_of(PING)
    headers = [(k, b"cl.articula.other.thing.v9" if k == "ce_type" else v) for k, v in headers]
    assert from_record(key, value, headers, PINGS).payload is None
    assert from_record(*record_of(PING), {}).payload is None  # not subscribed: not decoded


def test_redaction_masks_personal_fields_at_any_depth_and_patterns_in_text() -> None:
    event: dict[str, Any] = {
        "event": "registered",
        "organization": {"name": "Fundación Ejemplo", "contact": {"email": "ana@ejemplo.cl"}},
        "note": "escribir a ana@ejemplo.cl o al +56 9 1234 5678",
        "items": [{"phone": "+56 2 2345 6789"}],
        "count": 3,
    }
    out = redact(event)
    assert out["organization"] == {"name": "Fundación Ejemplo", "contact": REDACTED}
    assert "ana@ejemplo.cl" not in out["note"] and "1234" not in out["note"]
    assert out["items"] == [{"phone": REDACTED}]
    assert out["count"] == 3
    assert event["organization"]["contact"] == {"email": "ana@ejemplo.cl"}  # not mutated


def test_redaction_keeps_ids_and_paths() -> None:
    text = "GET /v1/organizations/1ac14c9640ff44c989cbf788bc0f4d0c 2026-11-21T18:15:37"
    assert redact(text) == text


class _Form(BaseModel):
    name: str = Field(min_length=2, max_length=5)
    kind: int
    tags: list[str] = Field(min_length=1)


def test_validation_errors_name_each_field_in_spanish() -> None:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate({"name": "x", "kind": "a", "tags": []})
    assert errors_from_pydantic(caught.value.errors()) == [
        {"field": "name", "message": "Debe tener al menos 2 caracteres."},
        {"field": "kind", "message": "Debe ser un número entero."},
        {"field": "tags", "message": "Debe tener al menos 1 elemento(s)."},
    ]


def test_outbox_entries_ride_in_the_same_update_as_the_state() -> None:
    settings = ServiceSettings(service_name="registry", topic_prefix="t1.")
    entries = outbox_entries([PING], settings, correlation_id="req-1")
    ((event_id, entry),) = entries.items()
    assert entry["topic"] == "t1.articula.system.v1"
    assert entry["key"] == "p1"
    assert entry["source"] == "/articula/registry"

    update = with_outbox({"$set": {"name": "x"}, "$inc": {"version": 1}}, entries, "s1")
    assert update["$set"]["name"] == "x"
    assert update["$set"][f"outbox.{event_id}"] == entry
    assert update["$set"][STAMP] == "s1"  # the marker's stamp, in the same write
    assert update["$inc"] == {"version": 1}

    doc = new_document_with_outbox({"_id": "p1"}, entries, "s2")
    assert doc["outbox"] == entries and doc[STAMP] == "s2"


def test_every_topic_has_a_spec_and_prefixes_apply() -> None:
    assert set(TOPIC_SPECS) == set(Topic)
    assert topic_name(Topic.SYSTEM, "t9.") == "t9.articula.system.v1"
