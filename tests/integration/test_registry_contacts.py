"""The registry's contacts topic, end to end: a real registry, its HTTP API and the broker.

Each organisation's contact goes to the private compacted topic (key: organisation id) when it
registers and whenever its contact or name changes, and a tombstone (the key, a null value)
goes there when it withdraws. Read as the notifier will: from the start, every partition,
without a consumer group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.registry import ContactPublished
from shared.events.topics import Topic
from shared.kafka.codec import TOMBSTONE_ID, TOMBSTONE_SOURCE, from_record, headers_dict
from tests.harness.kafka import topic_records
from tests.harness.processes import KAFKA, STAFF, ServiceProcess, Stack, eventually, running
from tests.harness.registry import (
    bearer,
    new_contact,
    register,
    register_active,
    registration,
    settled_client,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(stack: Stack) -> Iterator[ServiceProcess]:
    proc = stack.service("registry")
    with running(proc):
        yield proc


@pytest.fixture
def http(stack: Stack, registry: ServiceProcess) -> Iterator[httpx.Client]:
    with settled_client(stack, registry) as client:
        yield client


def contact_records(stack: Stack, organization_id: str, count: int) -> list[Any]:
    """The organisation's records on the contacts topic, in order, once `count` are there."""

    def found() -> list[Any]:
        records = [
            r
            for r in topic_records(stack.topic(Topic.REGISTRY_CONTACTS))
            if r.key == organization_id.encode()
        ]
        assert len(records) >= count, f"{len(records)} contact records so far"
        return records

    return eventually(found, timeout=30)


def published(record: Any) -> ContactPublished:
    assert record.value is not None, "a tombstone, not a contact"
    payload = from_record(
        record.key, record.value, record.headers, {ContactPublished.ce_type(): ContactPublished}
    ).payload
    assert isinstance(payload, ContactPublished)
    return payload


def topic_config(topic: str) -> dict[str, str]:
    async def describe() -> dict[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            (response,) = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic)]
            )
            ((_, _, _, name, entries),) = response.resources
            assert name == topic
            return {entry[0]: entry[1] for entry in entries}
        finally:
            await admin.close()

    return asyncio.run(describe())


def test_contacts_are_published_changed_and_removed_with_a_tombstone(
    stack: Stack, http: httpx.Client
) -> None:
    contact = new_contact()
    org_id, key = register_active(
        http, registration("Fundación Contactable", contact=contact.body())
    )

    (first,) = contact_records(stack, org_id, 1)  # the activation says nothing here
    registered = published(first)
    assert (registered.contact_name, registered.contact_email) == (contact.name, contact.email)
    assert registered.contact_phone is not None
    assert contact.phone_digits[3:] in registered.contact_phone
    assert registered.organization_name == "Fundación Contactable"
    assert registered.organization_id == org_id

    url = f"/v1/organizations/{org_id}"
    untouched = http.patch(url, json={"themes": ["pobreza", "vivienda"]}, headers=bearer(key))
    assert untouched.status_code == 200, untouched.text
    replacement = new_contact()
    changed = http.patch(url, json={"contact": replacement.body()}, headers=bearer(key))
    assert changed.status_code == 200, changed.text
    renamed = http.patch(url, json={"name": "Fundación Renombrada"}, headers=STAFF)
    assert renamed.status_code == 200, renamed.text

    _, second, third = contact_records(stack, org_id, 3)  # none for the themes
    assert published(second).contact_email == replacement.email
    assert published(second).organization_name == "Fundación Contactable"
    assert published(third).contact_email == replacement.email
    assert published(third).organization_name == "Fundación Renombrada"

    withdrawn = http.delete(url, headers=bearer(key))
    assert withdrawn.status_code == 200, withdrawn.text
    records = contact_records(stack, org_id, 4)
    assert len(records) == 4
    tombstone = records[-1]
    assert tombstone.value is None and tombstone.key == org_id.encode()
    headers = headers_dict(tombstone.headers)
    assert headers[TOMBSTONE_SOURCE] == b"/articula/registry" and headers[TOMBSTONE_ID]
    assert not [name for name in headers if name.startswith("ce_")]

    # Another organisation's contact is untouched by this one's tombstone.
    other = register(http, registration("Fundación Vecina"))
    assert published(contact_records(stack, other, 1)[0]).organization_id == other

    # Never on a public topic: the contacts travel on the private one only.
    public = b"".join(
        (r.value or b"") + b"".join(v for _, v in r.headers)
        for r in topic_records(stack.topic(Topic.REGISTRY_ORGANIZATIONS))
    )
    for needle in contact.needles + replacement.needles:
        assert needle.encode() not in public, needle


def test_the_contacts_topic_is_compacted(stack: Stack, http: httpx.Client) -> None:
    org_id = register(http, registration())
    contact_records(stack, org_id, 1)  # the topic exists: the registry created it
    config = topic_config(stack.topic(Topic.REGISTRY_CONTACTS))
    assert config["cleanup.policy"] == "compact"
    day = str(24 * 3600 * 1000)
    assert config["delete.retention.ms"] == day and config["min.compaction.lag.ms"] == day
    assert config["max.compaction.lag.ms"] == str(7 * 24 * 3600 * 1000)
    assert config["segment.ms"] == day
    assert topic_config(stack.topic(Topic.REGISTRY_ORGANIZATIONS))["cleanup.policy"] == "delete"
