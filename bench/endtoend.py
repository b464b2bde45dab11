"""Figure 3, end to end: a ping's 202 from the registry until another service's projection
shows it, at half the peak rate the path sustains.

First the peak: a closed loop of ``BENCH_E2E_PEAK_EVENTS`` (2000) pings from 16 concurrent
connections (`bench.loadgen`), over the time from the first request until the events,
metrics and notifier services have all applied the last one (so a backlog growing in any of
them counts).
Then an open loop at half that rate for ``BENCH_E2E_SECONDS`` (45): requests leave on a
fixed schedule whatever the answers (latencies do not slow the load down). For every ping:
202 received (client clock) → `sent_at` (the registry's clock when it built the event, just
before its write) → the record's Kafka timestamp (when the relay sent it) → `received_at` in
the events service's `received_pings` (the handler's clock, just before its insert). One
ping in four is also polled by `_id` every 10 ms in the events service's database until it
is there: "the projection shows it", measured from outside. All clocks are this machine's.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from bench import loadgen
from bench.common import Section, percentile, process_pids, service_metric
from bench.profile import Watch
from shared.kafka.clients import describe_partitions

REGISTRY = f"http://127.0.0.1:{os.environ.get('REGISTRY_PORT', '18001')}"
STAFF = {"Authorization": f"Bearer {os.environ.get('ARTICULA_STAFF_KEY', 'bench-staff-key')}"}
CONSUMERS = ("events", "metrics", "notifier")
TOPIC = "articula.system.v1"
POLL_EVERY = 4  # one ping in four is polled until its projection shows it


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


async def applied(http: httpx.AsyncClient, service: str) -> float:
    return await service_metric(
        http, service, "articula_consumer_messages_processed_total", 'outcome="applied"', TOPIC
    )


async def wait_applied(http: httpx.AsyncClient, before: dict[str, float], count: int) -> None:
    deadline = time.monotonic() + 600
    while min([await applied(http, s) - before[s] for s in CONSUMERS]) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the consumers did not apply every ping within 600 s")
        await asyncio.sleep(0.05)


async def lag(http: httpx.AsyncClient, service: str) -> float:
    return await service_metric(http, service, "articula_consumer_lag")


async def caught_up(limit: float) -> tuple[float, dict[str, float]]:
    """Wait until every consumer has read to the end of its topics (lag 0 twice in a row):
    the benchmarks before this one leave events (organisations) the services work through.
    Returns the seconds waited and the lag found first."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as http:
        first = {s: await lag(http, s) for s in CONSUMERS}
        zero_in_a_row = 0
        while zero_in_a_row < 2 and time.monotonic() - started < limit:
            behind = sum([await lag(http, s) for s in CONSUMERS])
            zero_in_a_row = zero_in_a_row + 1 if behind == 0 else 0
            await asyncio.sleep(0.5)
    return time.monotonic() - started, first


async def applied_now(http: httpx.AsyncClient) -> dict[str, float]:
    return {s: await applied(http, s) for s in CONSUMERS}


async def peak(count: int, concurrency: int) -> tuple[float, float]:
    """Pings per second the whole path sustains (closed loop, `bench.loadgen`), and the
    seconds it took."""
    url = f"{REGISTRY}/v1/system/pings"
    requests = [loadgen.encode_post(url, {"message": f"peak-{i}"}, STAFF) for i in range(count)]
    async with httpx.AsyncClient(timeout=60) as http:
        before = await applied_now(http)
        started = time.perf_counter()
        answers = await loadgen.post_all(url, requests, concurrency)
        if answers.statuses.get(202, 0) != count:
            raise RuntimeError(f"pings refused: {answers.statuses}")
        await wait_applied(http, before, count)
        seconds = time.perf_counter() - started
    return count / seconds, seconds


@dataclass
class Sent:
    ping_id: str
    requested: float  # wall clock, seconds
    answered: float
    shown: float | None = None  # wall clock when a poll first found it (sampled pings)
    received: float | None = None  # the handler's clock (`received_at`), once read back


@dataclass
class OpenLoop:
    rate: float
    seconds: float
    sent: list[Sent] = field(default_factory=list)
    late_starts: int = 0  # requests that left more than 50 ms after their slot
    failures: int = 0


async def open_loop(rate: float, seconds: float, mongodb_url: str) -> OpenLoop:
    """Pings on a fixed schedule (`bench.loadgen`: pre-encoded requests, so this client's CPU
    stays small beside the system's; httpx here took 6 ms of CPU per ping, the second-largest
    share of the machine), one in `POLL_EVERY` polled until the projection shows it."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    pings = mongo["articula_events"]["received_pings"]
    result = OpenLoop(rate, seconds)
    url = f"{REGISTRY}/v1/system/pings"
    async with httpx.AsyncClient(base_url=REGISTRY, headers=STAFF, timeout=60) as http:
        before = await applied_now(http)

    async def follow(answer: loadgen.Answer) -> None:
        if answer.requested - answer.slot > 0.05:
            result.late_starts += 1
        if answer.status != 202:
            result.failures += 1  # counted, not retried: the schedule goes on
            return
        sent = Sent(json.loads(answer.body)["ping_id"], answer.requested, answer.answered)
        result.sent.append(sent)
        if answer.index % POLL_EVERY == 0:
            for _ in range(3000):  # 30 s at most
                if await pings.find_one({"_id": sent.ping_id}) is not None:
                    sent.shown = time.time()
                    break
                await asyncio.sleep(0.01)

    requests = [
        loadgen.encode_post(url, {"message": f"open-{i}"}, STAFF)
        for i in range(int(rate * seconds))
    ]
    await loadgen.post_on_schedule(url, requests, rate, follow)
    async with httpx.AsyncClient(base_url=REGISTRY, headers=STAFF, timeout=60) as http:
        await wait_applied(http, before, len(result.sent))
    await mongo.close()
    return result


async def stages(
    sent: list[Sent], mongodb_url: str, offsets: dict[TopicPartition, int]
) -> dict[str, list[float]]:
    """Per ping, the gaps between the clocks listed in the module docstring (seconds)."""
    kafka_time: dict[str, float] = {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        ends = await consumer.end_offsets(list(offsets))
        deadline = time.monotonic() + 60
        while any([await consumer.position(tp) < ends[tp] for tp in offsets]):
            if time.monotonic() > deadline:
                break
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    data = json.loads(record.value)
                    kafka_time[data["ping_id"]] = record.timestamp / 1000
    finally:
        await consumer.stop()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    gaps: dict[str, list[float]] = {
        "202 → received (handler)": [],
        "202 → shown (polled)": [],
        "request → 202": [],
        "write → on Kafka (relay)": [],
        "on Kafka → handler (consumer)": [],
        "metrics: 202 → received": [],
        "notifier: 202 → received": [],
    }
    for s in sent:
        doc = await mongo["articula_events"]["received_pings"].find_one({"_id": s.ping_id})
        gaps["request → 202"].append(s.answered - s.requested)
        if s.shown is not None:
            gaps["202 → shown (polled)"].append(s.shown - s.answered)
        if doc is None:
            continue
        received = _epoch(doc["received_at"])
        gaps["202 → received (handler)"].append(received - s.answered)
        s.received = received
        on_kafka = kafka_time.get(s.ping_id)
        if on_kafka is not None:
            gaps["write → on Kafka (relay)"].append(on_kafka - _epoch(doc["sent_at"]))
            gaps["on Kafka → handler (consumer)"].append(received - on_kafka)
    for service in ("metrics", "notifier"):
        collection = mongo[f"articula_{service}"]["received_pings"]
        for s in random.sample(sent, min(len(sent), 200)):
            doc = await collection.find_one({"_id": s.ping_id})
            if doc is not None:
                gaps[f"{service}: 202 → received"].append(_epoch(doc["received_at"]) - s.answered)
    await mongo.close()
    return gaps


def slow_bursts(sent: list[Sent], threshold: float) -> str:
    """When the pings slower than `threshold` (202 → handler) were sent, as runs of seconds
    since the first request: spread out means a steady cost, a few bursts mean stalls."""
    if not sent:
        return "none"
    start = min(s.requested for s in sent)
    slow = sorted(
        s.requested - start
        for s in sent
        if s.received is not None and s.received - s.answered > threshold
    )
    runs: list[list[float]] = []
    for moment in slow:
        if runs and moment - runs[-1][-1] <= 1.0:
            runs[-1].append(moment)
        else:
            runs.append([moment])
    return ", ".join(f"{r[0]:.1f}–{r[-1]:.1f} s ({len(r)})" for r in runs) or "none"


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


async def end_offsets() -> dict[TopicPartition, int]:
    tps = await describe_partitions(os.environ["KAFKA_BOOTSTRAP_SERVERS"], TOPIC)
    consumer = AIOKafkaConsumer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


def ms(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct) * 1000:.0f}" if values else "–"


def main() -> Section:
    peak_count = _env_int("BENCH_E2E_PEAK_EVENTS", 2000)
    seconds = _env_int("BENCH_E2E_SECONDS", 45)
    concurrency = _env_int("BENCH_CONCURRENCY", 16)
    mongodb_url = os.environ["MONGODB_URL"]
    stack = process_pids()
    services = ["registry", *CONSUMERS]
    pids = {n: stack[n] for n in [*services, "ferretdb", "kafka"] if n in stack}
    pids["load generator"] = os.getpid()
    waited, backlog = asyncio.run(caught_up(300))
    asyncio.run(peak(100, concurrency))  # warm-up
    peak_watch = Watch(pids, services, ferretdb_seconds=8)
    with peak_watch.running():
        rate, peak_seconds = asyncio.run(peak(peak_count, concurrency))
    half = rate / 2
    offsets = asyncio.run(end_offsets())
    load_watch = Watch(pids, ["registry", "events"], ferretdb_seconds=min(seconds, 20))
    with load_watch.running():
        loop = asyncio.run(open_loop(half, seconds, mongodb_url))
    gaps = asyncio.run(stages(loop.sent, mongodb_url, offsets))
    main_gap = gaps["202 → received (handler)"]
    bursts = slow_bursts(loop.sent, percentile(main_gap, 99)) if main_gap else "none"
    shown = gaps["202 → shown (polled)"]
    sent = len(loop.sent)
    behind = ", ".join(f"{s} {n:.0f}" for s, n in backlog.items() if n)
    lines = [
        "## 3. End to end: a ping's 202 until another service's projection shows it",
        "",
        (
            f"Before the load, the consumers were behind by {behind} records (events of the "
            f"benchmarks before this one); waited {waited:.0f} s for them to catch up."
            if behind
            else "Before the load, every consumer was at the end of its topics."
        ),
        "",
        f"Peak the path sustains: **{rate:.1f} pings/s** ({peak_count} pings, {concurrency} "
        f"connections, {peak_seconds:.1f} s from the first request until events, "
        "metrics and notifier had all applied the last one). Then an open loop at half of it, "
        f"**{half:.1f} pings/s** for {seconds} s ({sent} accepted, {loop.failures} refused or "
        "failed, "
        f"{loop.late_starts} requests left more than 50 ms late), latencies in ms:",
        "",
        "| from → to | p50 | p99 | max | n |",
        "|---|---|---|---|---|",
    ]
    for name, values in gaps.items():
        if values:
            lines.append(
                f"| {name} | {ms(values, 50)} | {ms(values, 99)} | "
                f"{max(values) * 1000:.0f} | {len(values)} |"
            )
    verdict = "met" if main_gap and percentile(main_gap, 99) < 0.25 else "not met"
    lines += [
        "",
        f"Goal p99 < 250 ms from the 202 to the events service's projection: **{verdict}** "
        f"(handler's clock p99 {ms(main_gap, 99)} ms; polled from outside, one in "
        f"{POLL_EVERY}, p99 {ms(shown, 99)} ms). A negative gap means the event reached the "
        "consumer before the 202 reached the client. `write → on Kafka` runs from the registry's "
        "clock before its write (marker upsert and insert) to the Kafka record's timestamp "
        "(the relay's send); `on Kafka → handler` from there to the handler (fetch, decode, "
        "inbox claim).",
        "",
        f"When the slowest 1% (202 → handler above {ms(main_gap, 99)} ms) were sent, in "
        f"seconds from the first request (pings): {bursts}",
        "",
        "**What bounds the peak** (closed loop; CPU from psutil, ms per ping):",
        "",
        *peak_watch.cpu_lines(peak_count, "ping"),
        "",
        peak_watch.commands_line(peak_count, "ping"),
        "",
    ]
    for service in services:
        lines += peak_watch.profile_lines(
            service,
            peak_count,
            ["OutboxWriter.insert", "OutboxRelay._run_once", "OutboxRelay.tidy"]
            if service == "registry"
            else ["BatchProcessor.process", "ReliableConsumer._update_lag"],
            "ping",
        )
    lines += [
        *peak_watch.ferretdb_lines(),
        "",
        f"**At half the peak** ({seconds} s; CPU from psutil, ms per ping):",
        "",
        *load_watch.cpu_lines(sent, "ping"),
        "",
        load_watch.commands_line(sent, "ping"),
        "",
        *load_watch.profile_lines(
            "registry",
            sent,
            ["post_ping", "OutboxRelay._run_once", "OutboxRelay.tidy", "_clear_markers"],
            "ping",
        ),
        *load_watch.profile_lines(
            "events", sent, ["BatchProcessor.process", "ReliableConsumer._update_lag"], "ping"
        ),
        *load_watch.ferretdb_lines(),
    ]
    busiest = max(
        (n for n in peak_watch.cpu if n in services or n == "ferretdb"),
        key=peak_watch.cores,
        default="ferretdb",
    )
    where = (
        peak_watch.ferretdb_top(2) if busiest == "ferretdb" else peak_watch.top_layers(busiest, 3)
    )
    machine = sum(peak_watch.cpu.values()) / peak_watch.seconds
    summary = [
        f"| 3. end to end: a ping's 202 → the events service's projection, open loop at half "
        f"the peak ({half:.1f}/s; peak {rate:.1f}/s) | p50 {ms(main_gap, 50)} / p99 "
        f"{ms(main_gap, 99)} ms (polled from outside: p99 {ms(shown, 99)} ms) | | | p99 < 250 ms: "
        f"**{verdict}** | p99 by stage: request → 202 {ms(gaps['request → 202'], 99)} ms, write → "
        f"on Kafka {ms(gaps['write → on Kafka (relay)'], 99)} ms, on Kafka → handler "
        f"{ms(gaps['on Kafka → handler (consumer)'], 99)} ms. The peak: {busiest} the busiest "
        f"({peak_watch.cores(busiest):.2f} cores: {where}); FerretDB "
        f"{sum(peak_watch.commands.values()) / peak_count:.1f} commands per ping; the machine "
        f"{machine:.2f} of 2 cores busy."
        f"{peak_watch.disturbance()}{load_watch.disturbance()} |"
    ]
    return Section(lines, summary)


if __name__ == "__main__":
    print("\n".join(main().lines))
