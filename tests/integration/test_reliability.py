"""Delivery that loses nothing and applies nothing twice, proven by really killing things.

Each test isolates its topics and databases (see harness.Stack) and uses the real broker and
database that `make test` started. `times_applied` counts how often a consumer's handler took
effect for one event; the inbox must keep it at exactly 1.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from services.registry.domain.pings import send_ping as make_ping
from shared import faults
from shared.events.topics import Topic
from shared.kafka.codec import to_record
from shared.settings import ServiceSettings
from shared.storage.outbox import new_document_with_outbox, outbox_entries
from tests.harness.kafka import produce_raw, read_topic
from tests.harness.processes import STAFF, Stack, eventually, infra, running
from tests.harness.registry import send_ping

CONSUMERS = ("events", "metrics", "notifier")


def applied_once(stack: Stack, service: str, ping_ids: list[str]) -> bool:
    docs = list(stack.db(service).received_pings.find({"_id": {"$in": ping_ids}}))
    assert all(d["times_applied"] == 1 for d in docs), [d for d in docs if d["times_applied"] != 1]
    return len(docs) == len(ping_ids)


def test_consumer_killed_after_handling_before_commit_applies_nothing_twice(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry):
        events.start(fault_point=faults.AFTER_HANDLE)
        ping_id = send_ping(registry)
        assert events.wait_exit(60) == -9, "the consumer should have been SIGKILLed"
        # Handled and recorded, but the offset was never committed.
        assert stack.db("events").received_pings.find_one({"_id": ping_id})["times_applied"] == 1

        events.start().wait_ready()
        eventually(
            lambda: (
                events.metric("articula_consumer_messages_processed_total", outcome="duplicate")
                >= 1
            )
        )
        assert applied_once(stack, "events", [ping_id])


def test_service_killed_between_state_write_and_publish_still_delivers(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(events):
        registry.start(fault_point=faults.AFTER_STATE_WRITE).wait_ready()
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"{registry.url}/v1/system/pings", json={"message": "x"}, headers=STAFF)
        assert registry.wait_exit(30) == -9
        marker = stack.db("registry").outbox_markers.find_one({"collection": "pings"})
        assert marker is not None, "a marker says where the unpublished events are"
        pending = stack.db("registry").pings.find_one({"_id": marker["doc_id"]})
        assert pending is not None and pending["outbox"], (
            "the state and its event were written together"
        )

        registry.start().wait_ready()
        eventually(lambda: applied_once(stack, "events", [pending["_id"]]))
        eventually(
            lambda: (
                not stack.db("registry").pings.find_one({"_id": pending["_id"]})["outbox"]
                and stack.db("registry").outbox_markers.find_one({"_id": marker["_id"]}) is None
            )
        )


def test_relay_killed_after_publish_before_marking_sent_is_applied_once(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(events):
        registry.start(fault_point=faults.AFTER_PUBLISH).wait_ready()
        ping_id = send_ping(registry)
        assert registry.wait_exit(30) == -9
        registry.start().wait_ready()  # republishes the entry it never marked as sent

        eventually(
            lambda: (
                events.metric("articula_consumer_messages_processed_total", outcome="duplicate")
                >= 1
            )
        )
        assert applied_once(stack, "events", [ping_id])
        assert len(read_topic(stack.topic(Topic.SYSTEM), expected=2)) == 2


def test_markers_of_writes_that_never_landed_neither_linger_nor_hide_events(stack: Stack) -> None:
    """A refused insert or compare-and-set leaves its marker (its error may hide a write that
    landed); the marker pass publishes whatever is pending and drops such markers when stale."""
    registry, events = stack.service("registry"), stack.service("events")
    db = stack.db("registry")
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    # 1. a marker whose document never appeared
    db.outbox_markers.insert_one(
        {
            "_id": "pings:never",
            "collection": "pings",
            "doc_id": "never",
            "stamp": "s0",
            "at": long_ago,
        }
    )
    # 2. a write that landed (stamp s1) and whose marker a refused write then renewed (s2)
    ping, event = make_ping("landed", datetime.now(UTC))
    settings = ServiceSettings(service_name="registry", topic_prefix=stack.topic_prefix)
    doc = {"_id": ping.id, "message": ping.message, "sent_at": ping.sent_at}
    db.pings.insert_one(new_document_with_outbox(doc, outbox_entries([event], settings), "s1"))
    db.outbox_markers.insert_one(
        {
            "_id": f"pings:{ping.id}",
            "collection": "pings",
            "doc_id": ping.id,
            "stamp": "s2",
            "at": long_ago,
        }
    )
    with running(registry, events):
        eventually(lambda: applied_once(stack, "events", [ping.id]))
        eventually(lambda: db.outbox_markers.count_documents({}) == 0)
        assert not db.pings.find_one({"_id": ping.id})["outbox"]


def _send_continuously(registry_url: str, count: int, sent: list[str], pause: float) -> None:
    """Keep sending pings through an outage; a refused request is retried, never dropped."""
    with httpx.Client(base_url=registry_url, timeout=10, headers=STAFF) as http:
        for i in range(count):
            while True:
                try:
                    response = http.post("/v1/system/pings", json={"message": f"n{i}"})
                    if response.status_code == 202:
                        sent.append(response.json()["ping_id"])
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            time.sleep(pause)


def test_broker_restarted_mid_stream_loses_nothing_and_duplicates_nothing(stack: Stack) -> None:
    procs = [stack.service("registry")] + [stack.service(name) for name in CONSUMERS]
    with running(*procs):
        sent: list[str] = []
        sender = threading.Thread(target=_send_continuously, args=(procs[0].url, 60, sent, 0.1))
        sender.start()
        eventually(lambda: len(sent) >= 15)
        infra("kafka", "stop")
        time.sleep(2)  # requests keep landing in the outbox while the broker is down
        infra("kafka", "start")
        sender.join(180)
        assert len(sent) == 60
        for name in CONSUMERS:
            eventually(partial(applied_once, stack, name, sent), timeout=120)
        for proc in procs:
            eventually(proc.is_ready)


def test_database_restarted_while_services_run_recovers_without_manual_steps(stack: Stack) -> None:
    procs = [stack.service("registry")] + [stack.service(name) for name in CONSUMERS]
    with running(*procs):
        sent: list[str] = []
        sender = threading.Thread(target=_send_continuously, args=(procs[0].url, 40, sent, 0.1))
        sender.start()
        eventually(lambda: len(sent) >= 10)
        infra("ferretdb", "restart")
        sender.join(180)
        assert len(sent) == 40
        for name in CONSUMERS:
            eventually(partial(applied_once, stack, name, sent), timeout=120)
        for proc in procs:
            eventually(proc.is_ready)


def test_malformed_messages_go_to_dead_letter_topic_and_consumer_goes_on(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events):
        first = send_ping(registry)  # also makes sure the topics exist
        eventually(lambda: applied_once(stack, "events", [first]))
        system = stack.topic(Topic.SYSTEM)
        ce = [
            ("ce_specversion", b"1.0"),
            ("ce_id", b"bad-1"),
            ("ce_source", b"/test"),
            ("content-type", b"application/json"),
        ]
        produce_raw(
            system,
            [
                (b"k1", b"not a cloudevent", []),
                (b"k2", b"{not json", [*ce, ("ce_type", b"cl.articula.system.ping_sent.v1")]),
                (
                    b"k3",
                    json.dumps({"ping_id": 7}).encode(),
                    [*ce, ("ce_type", b"cl.articula.system.ping_sent.v1")],
                ),
            ],
        )
        after = send_ping(registry)
        eventually(lambda: applied_once(stack, "events", [first, after]))

        dead = read_topic(stack.topic(Topic.DLQ_EVENTS), expected=3)
        assert len(dead) == 3
        for record in dead:
            headers = dict(record.headers)
            assert headers["dlq_original_topic"].decode() == system
            assert int(headers["dlq_original_partition"]) >= 0
            assert int(headers["dlq_original_offset"]) >= 0
            assert headers["dlq_error"]
        assert sorted(r.key for r in dead) == [b"k1", b"k2", b"k3"]
        assert events.metric("articula_consumer_messages_dead_lettered_total") == 3


def test_two_instances_of_one_group_share_partitions_and_apply_once(stack: Stack) -> None:
    registry = stack.service("registry")
    first, second = stack.service("events", "events-a"), stack.service("events", "events-b")
    with running(registry, first, second):
        # Ready is not yet in the group: wait until the rebalance gave each instance partitions.
        eventually(
            lambda: all(
                p.metric("articula_consumer_assigned_partitions") > 0 for p in (first, second)
            )
        )
        sent = [send_ping(registry, f"n{i}") for i in range(30)]
        eventually(lambda: applied_once(stack, "events", sent))
        applied = [
            p.metric("articula_consumer_messages_processed_total", outcome="applied")
            for p in (first, second)
        ]
        assert sum(applied) == 30
        assert all(n > 0 for n in applied), f"both instances should own partitions: {applied}"

        # One instance dies mid-stream: the survivor takes its partitions, nothing twice.
        more: list[str] = []
        sender = threading.Thread(target=_send_continuously, args=(registry.url, 30, more, 0.05))
        sender.start()
        eventually(lambda: len(more) >= 10)
        first.kill()
        sender.join(120)
        eventually(lambda: applied_once(stack, "events", sent + more), timeout=120)


def test_consumer_killed_between_batch_claim_and_completion_applies_nothing_twice(
    stack: Stack,
) -> None:
    """The batch's events were claimed and handled, the batch never marked complete: after the
    restart the inbox hands them back, and the projection's recorded positions keep the
    second handling from changing anything."""
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry):
        events.start(fault_point=faults.BEFORE_BATCH_COMPLETE)
        ping_id = send_ping(registry)
        assert events.wait_exit(60) == -9, "the consumer should have been SIGKILLed"
        assert stack.db("events").received_pings.find_one({"_id": ping_id})["times_applied"] == 1
        assert stack.db("events").inbox_batches.count_documents({}) == 0

        events.start().wait_ready()
        eventually(
            lambda: (
                events.metric("articula_consumer_messages_processed_total", outcome="applied") >= 1
            )
        )
        assert applied_once(stack, "events", [ping_id])
        eventually(lambda: stack.db("events").inbox_batches.count_documents({}) >= 1)


def test_a_poison_record_in_the_middle_of_a_batch_goes_alone_to_the_dead_letters(
    stack: Stack,
) -> None:
    """Records written while the consumer is down arrive in one poll; the broken one in the
    middle is dead-lettered by itself and every other one is applied once."""
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events):
        first = send_ping(registry)  # the topics exist, the group has its offsets
        eventually(lambda: applied_once(stack, "events", [first]))
    events.stop()
    system = stack.topic(Topic.SYSTEM)
    records = []
    for n in range(9):
        _, event = make_ping(f"lote {n}", datetime.now(UTC))
        message = to_record(
            event,
            ce_type=event.ce_type(),
            source="/articula/registry",
            event_id=f"lote-{n}",
            key="one-partition",
            time=datetime.now(UTC),
        )
        value = b"{not json" if n == 4 else message.value
        records.append((b"one-partition", value, list(message.headers.items())))
    produce_raw(system, records)
    ids = [json.loads(v)["ping_id"] for _, v, _ in records if not v.startswith(b"{not")]
    with running(events):
        eventually(lambda: applied_once(stack, "events", [first, *ids]))
        dead = read_topic(stack.topic(Topic.DLQ_EVENTS), expected=1)
        assert len(dead) == 1 and dead[0].value == b"{not json"
        assert events.metric("articula_consumer_messages_dead_lettered_total") == 1
        batches = events.metric("articula_consumer_batch_records_count")
        assert batches <= 3, f"the nine records should arrive in few polls, not {batches}"
