"""Issue 2 benchmark: the project's delivery machinery against raw aiokafka, same run.

Baseline: one idempotent acks=all aiokafka producer sends N CloudEvents-sized records and
one consumer group reads them (commit per batch): the ceiling of this machine.
Project: N pings through the real path: HTTP POST to the registry (state + outbox in one
MongoDB write), the outbox relay, Kafka, and three consuming services (inbox lookup, handler
with its idempotency marker, inbox record, commit). Throughput is N over the time from the
first send until the last event took effect in all three; latency per event is the time
from the state write to the effect.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from bench.common import (
    MemorySampler,
    mib,
    percentile,
    process_pids,
    rss_bytes,
    service_metric,
    summary_ms,
)

KAFKA = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
MONGODB_URL = os.environ["MONGODB_URL"]
STAFF = {"Authorization": f"Bearer {os.environ['ARTICULA_STAFF_KEY']}"}
REGISTRY = f"http://127.0.0.1:{os.environ['REGISTRY_PORT']}"
CONSUMERS = ("events", "metrics", "notifier")


@dataclass
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds


async def raw_baseline(count: int, concurrency: int) -> Result:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, acks="all")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        group_id=f"{topic}.g",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    headers = [(f"ce_{k}", b"x" * 24) for k in ("id", "source", "type", "time", "subject")]
    latencies: list[float] = []

    async def consume() -> float:
        while len(latencies) < count:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                latencies.extend(now - json.loads(r.value)["t"] for r in records)
            if batches:
                await consumer.commit()
        return time.perf_counter()

    # Let the group settle before timing, as the services' consumers are settled.
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    reader = asyncio.create_task(consume())
    start = time.perf_counter()
    semaphore = asyncio.Semaphore(concurrency)

    async def send(i: int) -> None:
        async with semaphore:
            body = json.dumps(
                {
                    "t": time.perf_counter(),
                    "ping_id": uuid.uuid4().hex,
                    "message": f"n{i}",
                    "pad": "x" * 120,
                }
            ).encode()
            await producer.send_and_wait(topic, body, key=str(i).encode(), headers=headers)

    await asyncio.gather(*(send(i) for i in range(count)))
    end = await reader
    await producer.stop()
    await consumer.stop()
    return Result("raw aiokafka produce→consume", count, end - start, latencies)


async def raw_database(count: int, concurrency: int) -> Result:
    """The other ceiling: single-document inserts into the same FerretDB, same concurrency."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGODB_URL)
    collection = mongo["bench_raw"][f"c{uuid.uuid4().hex[:8]}"]
    semaphore = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def write(i: int) -> None:
        async with semaphore:
            begin = time.perf_counter()
            await collection.insert_one(
                {"_id": uuid.uuid4().hex, "message": f"n{i}", "pad": "x" * 120}
            )
            latencies.append(time.perf_counter() - begin)

    start = time.perf_counter()
    await asyncio.gather(*(write(i) for i in range(count)))
    seconds = time.perf_counter() - start
    await mongo.drop_database("bench_raw")
    await mongo.close()
    return Result("raw FerretDB insert_one", count, seconds, latencies)


async def applied_total(http: httpx.AsyncClient, service: str) -> float:
    """Events a consuming service applied, from its /metrics (no load on the database)."""
    return await service_metric(
        http, service, "articula_consumer_messages_processed_total", 'outcome="applied"'
    )


async def through_services(count: int, concurrency: int) -> Result:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGODB_URL, tz_aware=True)
    semaphore = asyncio.Semaphore(concurrency)
    ping_ids: list[str] = []
    async with httpx.AsyncClient(base_url=REGISTRY, headers=STAFF, timeout=30) as http:
        before = {s: await applied_total(http, s) for s in CONSUMERS}

        async def send(i: int) -> None:
            async with semaphore:
                r = await http.post("/v1/system/pings", json={"message": f"bench-{i}"})
                r.raise_for_status()
                ping_ids.append(r.json()["ping_id"])

        start = time.perf_counter()
        await asyncio.gather(*(send(i) for i in range(count)))
        while True:
            done = [await applied_total(http, s) - before[s] for s in CONSUMERS]
            if min(done) >= count:
                break
            await asyncio.sleep(0.05)
        end = time.perf_counter()
    latencies: list[float] = []
    for s in CONSUMERS:
        collection = mongo[f"articula_{s}"].received_pings
        for ping_id in ping_ids:  # by _id: the lookup FerretDB pushes down
            doc = await collection.find_one({"_id": ping_id})
            if doc is not None:
                latencies.append((doc["received_at"] - doc["sent_at"]).total_seconds())
    await mongo.close()
    return Result("HTTP → outbox → relay → Kafka → 3 services", count, end - start, latencies)


def main() -> list[str]:
    count = int(os.environ.get("BENCH_EVENTS", "1000"))
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "16"))
    pids = process_pids()
    at_rest = {name: rss_bytes(pid) for name, pid in pids.items()}
    asyncio.run(raw_baseline(200, concurrency))  # warm-up: JIT, connections, group coordinator
    asyncio.run(through_services(200, concurrency))
    sampler = MemorySampler(pids)
    with sampler.sampling():
        raw = asyncio.run(raw_baseline(count, concurrency))
        raw_db = asyncio.run(raw_database(count, concurrency))
        ours = asyncio.run(through_services(count, concurrency))
    lines = [
        "## Delivery machinery vs raw Kafka (issue 2)",
        "",
        f"{count} events, {concurrency} concurrent senders, after a warm-up of 200.",
        "",
        "| path | events/s | latency | ratio to raw |",
        "|---|---|---|---|",
        f"| {raw.name} | {raw.rate:.0f} | {summary_ms(raw.latencies)} | 1.00 |",
        f"| {raw_db.name} (not an event path: the database's own ceiling) | {raw_db.rate:.0f} | "
        f"{summary_ms(raw_db.latencies)} | {raw_db.rate / raw.rate:.2f} |",
        f"| {ours.name} | {ours.rate:.0f} | {summary_ms(ours.latencies)} | "
        f"{ours.rate / raw.rate:.2f} (throughput), "
        f"{percentile(ours.latencies, 50) / percentile(raw.latencies, 50):.1f}× p50 latency; "
        f"{ours.rate / raw_db.rate:.2f} of raw FerretDB inserts |",
        "",
        "The project's path does per event: one HTTP request, an outbox marker upsert and one "
        "insert of the state with its outbox entry, the relay's lookup, publish, removal and "
        "marker deletion, then in each of three services an inbox claim (insert), the "
        "handler's idempotent insert and the inbox completion: about 14 single-document "
        "database operations per event, against one Kafka send and "
        "one fetch for the raw path. On FerretDB (SQLite) each costs ~1.5 ms of its CPU, on two "
        "cores shared with Kafka and five Python processes, so the database, not Kafka or the "
        "Python services, bounds the rate; on MongoDB the same operations cost a fraction.",
        "",
        "### Resident memory",
        "",
        "| process | at rest | peak under the load above |",
        "|---|---|---|",
    ]
    for name in pids:
        lines.append(f"| {name} | {mib(at_rest[name])} | {mib(sampler.peak.get(name, 0))} |")
    total_rest = sum(at_rest.values())
    total_peak = sum(sampler.peak.values())
    lines += [
        f"| **total** | **{mib(total_rest)}** | **{mib(total_peak)}** |",
        "",
        f"Budget for a small 4 GB server: under 3 GiB in total; peak is {mib(total_peak)} "
        f"({'within' if total_peak < 3 * 2**30 else 'OVER'} budget).",
    ]
    return lines
