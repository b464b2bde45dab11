"""CloudEvents 1.0 in Kafka binary content mode (`ce_*` headers, record key = aggregate id).

Uses the CloudEvents SDK's Kafka binding; this module only maps our contracts onto it and
turns every way a record can be broken into one `MalformedEvent` error for the dead-letter path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from shared.events.base import EventContract

JSON = JSONFormat()
CORRELATION_EXT = "correlationid"
# The version of the aggregate's document the event was written with: a reader holding that
# version already (the writer's own catalogue, say) need not read the document again.
VERSION_EXT = "aggregateversion"


# A tombstone (a null value on a compacted topic) is no event and carries no `ce_*` headers,
# which would make CloudEvents-aware tools take it for a broken event. It carries these
# instead: `source` + `id` identify it in consumers' inboxes as they identify an event (a
# relay that publishes it twice is recognised), `time` is when it was written and
# `correlationid` the request that caused it. All are optional for a reader: a tombstone
# written by a tool without them is still a tombstone (its identity is then its position).
TOMBSTONE_ID = "tombstone_id"
TOMBSTONE_SOURCE = "tombstone_source"
TOMBSTONE_TIME = "tombstone_time"
TOMBSTONE_CORRELATION = "tombstone_correlationid"


class MalformedEvent(Exception):
    """The record is not a valid CloudEvent of a known contract: dead-letter it, never retry."""


@dataclass(frozen=True)
class EventEnvelope:
    """A decoded event: CloudEvents attributes plus the validated contract payload."""

    id: str
    source: str
    type: str
    subject: str | None
    time: datetime | None
    correlation_id: str | None
    payload: EventContract | None  # None: a type this service does not know (skipped)
    data: dict[str, Any]

    @property
    def dedup_key(self) -> str:
        """CloudEvents identity: `source` + `id` is unique per event (spec §3.1.1)."""
        return f"{self.source}|{self.id}"


def new_event_id() -> str:
    return uuid.uuid4().hex


def to_record(
    payload: EventContract | dict[str, Any],
    *,
    ce_type: str,
    source: str,
    event_id: str,
    key: str,
    time: datetime,
    correlation_id: str | None = None,
    aggregate_version: int | None = None,
) -> KafkaMessage:
    data = payload.model_dump(mode="json") if isinstance(payload, EventContract) else payload
    attributes: dict[str, Any] = {
        "id": event_id,
        "source": source,
        "type": ce_type,
        "specversion": "1.0",
        "time": time,
        "subject": key,
        "datacontenttype": "application/json",
        "partitionkey": key,
    }
    if correlation_id:
        attributes[CORRELATION_EXT] = correlation_id
    if aggregate_version is not None:
        attributes[VERSION_EXT] = str(aggregate_version)
    return to_binary(CloudEvent(attributes=attributes, data=data), JSON)


@dataclass(frozen=True)
class TombstoneHeaders:
    """What a tombstone's headers say about it (each None when absent)."""

    id: str | None
    source: str | None
    correlation_id: str | None


def tombstone_headers(
    *, tombstone_id: str, source: str, time: datetime, correlation_id: str | None = None
) -> dict[str, bytes]:
    headers = {
        TOMBSTONE_ID: tombstone_id.encode(),
        TOMBSTONE_SOURCE: source.encode(),
        # A naive time is UTC (what a database without tz_aware gives back).
        TOMBSTONE_TIME: (time.replace(tzinfo=UTC) if time.tzinfo is None else time)
        .astimezone(UTC)
        .isoformat()
        .encode(),
    }
    if correlation_id:
        headers[TOMBSTONE_CORRELATION] = correlation_id.encode()
    return headers


def read_tombstone_headers(headers: Any) -> TombstoneHeaders:
    hdrs = headers_dict(headers)

    def text(name: str) -> str | None:
        raw = hdrs.get(name)
        return raw.decode(errors="replace") if raw else None

    return TombstoneHeaders(
        id=text(TOMBSTONE_ID),
        source=text(TOMBSTONE_SOURCE),
        correlation_id=text(TOMBSTONE_CORRELATION),
    )


def headers_dict(headers: Any) -> dict[str, bytes]:
    return {k: v for k, v in (headers or ()) if isinstance(v, bytes)}


def from_record(
    key: bytes | None,
    value: bytes | None,
    headers: Any,
    contracts: Mapping[str, type[EventContract]],
) -> EventEnvelope:
    """Decode a record; its data is validated only when its type is one of `contracts` (the
    ones the caller subscribes to), otherwise `payload` is None."""
    hdrs = headers_dict(headers)
    if hdrs.get("ce_specversion") != b"1.0":
        raise MalformedEvent("not a CloudEvents 1.0 binary-mode record (ce_specversion)")
    try:
        event = from_binary(KafkaMessage(headers=hdrs, key=key, value=value or b""), JSON)
    except Exception as exc:  # the SDK raises several types for bad attributes or data
        raise MalformedEvent(f"invalid CloudEvent: {exc}") from exc
    attributes = event.get_attributes()
    data = event.get_data()
    if not isinstance(data, dict):
        raise MalformedEvent("event data is not a JSON object")
    ce_type = str(attributes["type"])
    contract = contracts.get(ce_type)
    payload: EventContract | None = None
    if contract is not None:
        try:
            payload = contract.model_validate(data)
        except ValidationError as exc:
            raise MalformedEvent(f"data does not match {ce_type}: {exc.errors()}") from exc
    time = attributes.get("time")
    return EventEnvelope(
        id=str(attributes["id"]),
        source=str(attributes["source"]),
        type=ce_type,
        subject=attributes.get("subject"),
        time=time if isinstance(time, datetime) else None,
        correlation_id=attributes.get(CORRELATION_EXT),
        payload=payload,
        data=data,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


def aggregate_version(headers: Any) -> int | None:
    """The `aggregateversion` a record carries, without decoding it (None if absent)."""
    raw = headers_dict(headers).get(f"ce_{VERSION_EXT}")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
