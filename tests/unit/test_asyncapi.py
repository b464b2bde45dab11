"""docs/asyncapi.yaml: current, valid AsyncAPI 3.0, complete, and true to the wire format."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import jsonschema_rs
import pytest
import yaml

from shared.events import asyncapi
from shared.events.asyncapi import (
    DEAD_LETTER_MESSAGE,
    DOCUMENT_PATH,
    ROOT,
    TOMBSTONE_MESSAGE,
    channel_id,
)
from shared.events.base import EventContract
from shared.events.catalog import ALL_CONTRACTS
from shared.events.pings import SystemPingSent
from shared.events.registry import (
    Actor,
    ConfirmationRequested,
    ContactPublished,
    FieldChange,
    OrganizationSnapshot,
    OrganizationUpdated,
)
from shared.events.topics import (
    COMPACTED_TOPICS,
    DEAD_LETTER_TOPICS,
    PRIVATE_TOPICS,
    TOPIC_SPECS,
    Topic,
)
from shared.kafka.clients import topic_configs
from shared.kafka.codec import to_record
from shared.storage.relay import entry_record

SPEC_SCHEMA = Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json"
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


@cache
def document() -> dict[str, Any]:
    """The committed document, parsed (the first test proves it equals the generated one)."""
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema_rs.Draft7Validator(schema, offline=True)
    return [f"{e.instance_path}: {e.message[:300]}" for e in validator.iter_errors(instance)]


def against_document(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema taken from the document, with the document's components so `$ref`s resolve."""
    return {"allOf": [schema], "components": document()["components"]}


def test_committed_document_is_current() -> None:
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == asyncapi.generate(), (
        "docs/asyncapi.yaml is stale: run `make asyncapi`"
    )


def test_check_flag_fails_on_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    assert asyncapi.main(["--check"], document=stale) == 1  # missing
    stale.write_text("asyncapi: 3.0.0\n", encoding="utf-8")
    assert asyncapi.main(["--check"], document=stale) == 1
    assert asyncapi.main([], document=stale) == 0
    assert asyncapi.main(["--check"], document=stale) == 0


def test_document_is_valid_asyncapi_3() -> None:
    spec_schema = json.loads(SPEC_SCHEMA.read_text(encoding="utf-8"))
    assert spec_schema["title"] == "AsyncAPI 3.0.0 schema."
    assert document()["asyncapi"] == "3.0.0"
    assert schema_errors(spec_schema, document()) == []


def test_the_validation_catches_a_broken_document() -> None:
    """The spec schema is not vacuous here: a channel with 0 partitions is refused."""
    spec_schema = json.loads(SPEC_SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(document()))
    broken["channels"]["system"]["bindings"]["kafka"]["partitions"] = 0
    assert schema_errors(spec_schema, broken) != []


def test_every_local_reference_resolves() -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for item in node for r in refs(item)]
        return []

    for ref in set(refs(document())):
        assert ref.startswith("#/"), ref
        target: Any = document()
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"{ref} does not resolve"
            target = target[part]


def test_every_topic_has_a_channel() -> None:
    channels = document()["channels"]
    assert {channel["address"] for channel in channels.values()} == {t.value for t in Topic}
    for topic in Topic:
        assert channels[channel_id(topic)]["address"] == topic.value
        assert channels[channel_id(topic)]["x-record-key"]


def test_every_contract_is_on_its_topics_channel() -> None:
    channels = document()["channels"]
    messages = document()["components"]["messages"]
    for contract in ALL_CONTRACTS:
        channel = channels[channel_id(contract.topic)]
        assert contract.__name__ in channel["messages"], contract
        message = messages[contract.__name__]
        assert message["name"] == contract.ce_type()
        assert message["headers"]["properties"]["ce_type"]["const"] == contract.ce_type()
        assert message["payload"] == {"$ref": f"#/components/schemas/{contract.__name__}"}
    on_channels = {m for c in channels.values() for m in c["messages"]}
    on_channels -= {DEAD_LETTER_MESSAGE, TOMBSTONE_MESSAGE}
    assert on_channels == {c.__name__ for c in ALL_CONTRACTS}


def test_every_message_has_a_sending_operation() -> None:
    sent = {
        (op["channel"]["$ref"], m["$ref"])
        for op in document()["operations"].values()
        if op["action"] == "send"
        for m in op["messages"]
    }
    for cid, channel in document()["channels"].items():
        for mid in channel["messages"]:
            assert (f"#/channels/{cid}", f"#/channels/{cid}/messages/{mid}") in sent
    assert "registry.send.registry_organizations" in document()["operations"]
    for service, topic in DEAD_LETTER_TOPICS.items():
        assert f"{service}.send.{channel_id(topic)}" in document()["operations"]


def test_confirmation_requested_marks_its_personal_data_and_secret() -> None:
    message = document()["components"]["messages"]["ConfirmationRequested"]
    assert message["x-personal-data"] == sorted(ConfirmationRequested.PERSONAL_FIELDS)
    assert message["x-secret"] == sorted(ConfirmationRequested.SECRET_FIELDS)
    assert message["x-private"] is True
    properties = document()["components"]["schemas"]["ConfirmationRequested"]["properties"]
    for field in ConfirmationRequested.PERSONAL_FIELDS:
        assert properties[field]["x-personal-data"] is True
    for field in ConfirmationRequested.SECRET_FIELDS:
        assert properties[field]["x-secret"] is True


def test_contact_published_marks_its_personal_data() -> None:
    message = document()["components"]["messages"]["ContactPublished"]
    assert message["x-personal-data"] == sorted(ContactPublished.PERSONAL_FIELDS)
    assert message["x-private"] is True and message["x-secret"] == []
    channel = document()["channels"][channel_id(Topic.REGISTRY_CONTACTS)]
    assert channel["x-private"] is True and channel["x-compacted"] is True


def test_compacted_topics_carry_tombstones_and_say_how_they_are_compacted() -> None:
    assert {Topic.REGISTRY_CONTACTS} == COMPACTED_TOPICS
    for topic in Topic:
        channel = document()["channels"][channel_id(topic)]
        assert (TOMBSTONE_MESSAGE in channel["messages"]) == (topic in COMPACTED_TOPICS)
        config = channel["bindings"]["kafka"].get("topicConfiguration", {})
        assert (config.get("cleanup.policy") == ["compact"]) == (topic in COMPACTED_TOPICS)
        # The document says what the topic is created with (shared.kafka.clients).
        created = topic_configs(TOPIC_SPECS[topic])
        assert {k: str(v) for k, v in config.items() if k != "cleanup.policy"} == {
            k: v for k, v in created.items() if k != "cleanup.policy"
        }
    created = topic_configs(TOPIC_SPECS[Topic.REGISTRY_CONTACTS])
    assert created["cleanup.policy"] == "compact" and "retention.ms" not in created
    assert int(created["delete.retention.ms"]) >= 24 * 3600 * 1000  # a lagging reader sees it


def test_a_real_tombstone_matches_its_message() -> None:
    """What the outbox relay writes for a tombstone entry is what the document says."""
    entry = {
        "seq": 1,
        "tombstone": True,
        "topic": Topic.REGISTRY_CONTACTS.value,
        "key": "org-1",
        "source": "/articula/registry",
        "time": NOW,
        "correlation_id": "req-1",
    }
    record = entry_record("t1", entry)
    assert record.value is None and record.key == b"org-1"
    message = document()["components"]["messages"][TOMBSTONE_MESSAGE]
    headers = {name: value.decode() for name, value in record.headers}
    assert not any(name.startswith("ce_") for name in headers)
    assert set(headers) <= set(message["headers"]["properties"])
    assert schema_errors(against_document(message["headers"]), headers) == []
    assert schema_errors(against_document(message["payload"]), None) == []
    assert schema_errors(against_document(message["payload"]), {}) != []


def test_private_topics_are_marked_and_personal_data_travels_only_on_them() -> None:
    channels = document()["channels"]
    assert channels[channel_id(Topic.REGISTRY_NOTIFICATIONS)]["x-private"] is True
    assert {t for t in Topic if channels[channel_id(t)]["x-private"]} == PRIVATE_TOPICS
    messages = document()["components"]["messages"]
    for channel in channels.values():
        for mid in channel["messages"]:
            message = messages[mid]
            if message.get("x-personal-data") or message.get("x-secret"):
                assert channel["x-private"] is True, f"{mid} carries personal data or secrets"


def test_nested_personal_data_is_found() -> None:
    from pydantic import BaseModel, Field

    class Contact(BaseModel):
        email: str = Field(json_schema_extra={"x-personal-data": True})

    class Invited(EventContract):
        """Someone was invited."""

        name: ClassVar[str] = "registry.test_invited"
        version: ClassVar[int] = 1
        topic: ClassVar[Topic] = Topic.REGISTRY_NOTIFICATIONS

        guests: tuple[Contact, ...]
        host: Contact | None = None

    doc = asyncapi.build_document(version="0", contracts=[Invited])
    message = doc["components"]["messages"]["Invited"]
    assert message["x-personal-data"] == ["guests[].email", "host.email"]


def test_a_contract_of_an_unknown_area_has_no_publisher() -> None:
    class Billed(EventContract):
        """Someone paid."""

        name: ClassVar[str] = "billing.paid"
        version: ClassVar[int] = 1
        topic: ClassVar[Topic] = Topic.SYSTEM

    with pytest.raises(ValueError, match="PUBLISHERS"):
        asyncapi.build_document(version="0", contracts=[Billed])


def _snapshot() -> OrganizationSnapshot:
    return OrganizationSnapshot(
        rut="76.123.456-7",
        name="Fundación Ejemplo",
        sector="civil_society",
        legal_form="foundation",
        head_office_region="CL-RM",
        macrozone="centro",
        regions=("CL-RM",),
        scope="regional",
        roles=("articulator",),
        themes=("education",),
        status="active",
        verified=False,
        listed=True,
        registered_at=NOW,
    )


SAMPLES: list[EventContract] = [
    SystemPingSent(ping_id="p1", message="hola", sent_at=NOW),
    OrganizationUpdated(
        organization_id="org-1",
        occurred_at=NOW,
        organization=_snapshot(),
        changes=(
            FieldChange(field="name", old="Ejemplo", new="Fundación Ejemplo"),
            FieldChange(field="contact.email", redacted=True),  # serialised without old/new
        ),
        changed_by=Actor(kind="owner", id="org-1"),
    ),
    ConfirmationRequested(
        organization_id="org-1",
        organization_name="Fundación Ejemplo",
        contact_name="Ana",
        contact_email="ana@example.org",
        token="t0k3n",
        expires_at=NOW,
        requested_at=NOW,
    ),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_a_real_record_matches_its_message(event: EventContract) -> None:
    """What the codec writes is what the document says: headers, value and key."""
    record = to_record(
        event,
        ce_type=event.ce_type(),
        source="/articula/registry",
        event_id="e1",
        key=event.aggregate_id(),
        time=NOW,
        correlation_id="req-1",
    )
    message = document()["components"]["messages"][type(event).__name__]
    headers = {name: value.decode() for name, value in record.headers.items()}
    assert set(headers) <= set(message["headers"]["properties"])
    assert schema_errors(against_document(message["headers"]), headers) == []
    assert schema_errors(against_document(message["payload"]), json.loads(record.value)) == []
    key_schema = message["bindings"]["kafka"]["key"]
    assert schema_errors(against_document(key_schema), record.key) == []
    assert headers["ce_subject"] == record.key == event.aggregate_id()


def test_dead_letter_headers_are_the_ones_the_consumer_writes() -> None:
    written = {
        name
        for path in (ROOT / "shared" / "kafka").glob("*.py")
        for name in re.findall(r"\"(dlq_[a-z_]+)\"", path.read_text(encoding="utf-8"))
    }
    headers = document()["components"]["messages"][DEAD_LETTER_MESSAGE]["headers"]
    assert set(headers["properties"]) == written
    for topic in DEAD_LETTER_TOPICS.values():
        assert list(document()["channels"][channel_id(topic)]["messages"]) == [DEAD_LETTER_MESSAGE]
