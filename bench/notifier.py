"""Notifier benchmark (issue 10, item 7): one evidence item fanned out to 200 webhook
subscriptions, e-mails sent to Mailpit, and event-to-webhook latency at light load.

(1) Webhook fan-out. The notifier's own code in this process (uvloop, its logging at WARNING
as the other benchmarks' services): the outbox writer, unit of work, `Channels` and
`Dispatcher` built as `services.notifier.main` builds them, on a database prefix of this run.
`BENCH_NOTIFIER_SUBSCRIPTIONS` (200) webhook subscriptions created through the application
layer (`subscriptions.create`, as staff), each to its own path of a loopback receiver (a raw
asyncio HTTP server in a process of its own, answering 204 at once,
`bench/notifier_support.py`). Then one `EvidencePublished` item: `webhooks.fan_out` (the
consumer's handler's call) and the dispatcher's passes (`Dispatcher.run_due`, what
`run_forever` runs while work is due) until none is due; deliveries/s over both. Raw, same
run, just before: plain `httpx.AsyncClient` posts of the same signed bodies to the same paths,
as many at once as the dispatcher's `NOTIFIER_DISPATCH_CONCURRENCY` (20). A warm-up item
first (connections up on both sides); `BENCH_NOTIFIER_ROUNDS` (3) rounds, py-spy on the last.

(2) E-mail. `BENCH_NOTIFIER_MAILS` (300) evidence messages planned with `uow.messages.plan`
(as `fan_out` plans an e-mail subscription's) and sent by the same dispatcher to the bench
stack's Mailpit. Raw: `aiosmtplib.send` of the same messages rendered and composed beforehand
(`rendering.render`, `mailer.compose`), 20 at once, a connection per message as the notifier's
mailer; beside it the same over 20 SMTP connections kept open.

(3) Event-to-webhook latency. A real notifier (`python -m services.notifier`) on a topic and
database prefix of this run, one subscription (through its HTTP API, the staff key) to the
receiver; `BENCH_NOTIFIER_LATENCY_EVENTS` (40) `EvidencePublished` records produced onto its
evidence topic as the metrics service's relay sends them (acks=all), one every 200 ms after 5
not counted; latency = the receiver's arrival − the moment the record was handed to the
producer (one clock: the same machine). The delivery's `created_at` (planned by the consumer)
and `delivered_at` (the dispatcher's job started) split it into stages.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import uvloop
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from bench import notifier_support as support
from bench.common import ROOT, Section, percentile, process_pids
from bench.pipeline import LOG_DIR, _environment, stop
from bench.profile import Watch
from bench.registry import free_port
from services.notifier import subscriptions, webhooks
from services.notifier.consumers import subscription as notifier_subscription
from services.notifier.dispatcher import Channels, Dispatcher
from services.notifier.domain.deliveries import delivery_id, webhook_body
from services.notifier.domain.items import evidence_item
from services.notifier.domain.messages import Message, MessageKind, Recipient, message_id
from services.notifier.domain.subscriptions import Subscription, SubscriptionCreate
from services.notifier.mailer import SmtpMailer, compose
from services.notifier.main import JOB_HANDLERS
from services.notifier.rendering import render
from services.notifier.settings import NotifierSettings
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from shared.events.topics import TOPIC_SPECS, Topic, topic_name
from shared.logging import configure_logging
from shared.principals import Principal
from shared.storage.inbox import BATCHES_COLLECTION, INBOX_COLLECTION
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import create_client, service_database
from shared.storage.outbox import OutboxWriter, filters_are_atomic

NOTIFIER = "notifier (this process)"
STAFF = Principal("staff", "bench")
WARM_UP_EVENTS = 5
# The parts of a delivery and of an e-mail in the py-spy profile (including what they call).
_STORE = ("JobQueue.due", "JobQueue.claim", "DocumentRepository.get", "DocumentRepository.save")
FAN_OUT_FOCUS = ("fan_out", *_STORE, "JobQueue.finish", "attempt", "signed_headers")
MAIL_FOCUS = (*_STORE, "JobQueue.finish", "render", "compose", "SmtpMailer.send", "getaddrinfo")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass
class Round:
    """One measured load: ours against raw."""

    count: int
    ours: float  # seconds
    raw: float
    planned: float = 0.0  # of `ours`, the planning (fan_out, messages.plan)
    kept: float = 0.0  # e-mail: the raw sends over connections kept open
    watch: Watch | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.raw / self.ours if self.ours else float("nan")


@dataclass
class Latency:
    seconds: list[float] = field(default_factory=list)
    polled: list[float] = field(default_factory=list)  # handed over → claimed by the consumer
    handled: list[float] = field(default_factory=list)  # claimed → its batch completed
    dispatch: list[float] = field(default_factory=list)  # batch completed → the job started
    post: list[float] = field(default_factory=list)  # the job started → the receiver
    produced: int = 0
    watch: Watch | None = None


# --- (1) and (2): the dispatcher in this process -----------------------------------------------


@dataclass
class InProcess:
    settings: NotifierSettings
    writer: OutboxWriter
    channels: Channels
    dispatcher: Dispatcher
    receiver_pid: int
    receiver_url: str
    pids: dict[str, int]

    def uow(self) -> NotifierUnitOfWork:
        return NotifierUnitOfWork(self.writer)

    async def drain(self) -> None:
        """The dispatcher's passes until nothing is due."""
        while await self.dispatcher.run_due():
            pass


async def _subscriptions(ctx: InProcess, count: int) -> list[Subscription]:
    made = []
    for number in range(count):
        body = SubscriptionCreate(webhook_url=f"{ctx.receiver_url}/hook/{number}")
        now = datetime.now(UTC)
        made.append(await subscriptions.create(ctx.uow(), body, STAFF, ctx.settings, now))
    return made


async def fan_out_round(ctx: InProcess, subs: list[Subscription], profile: bool) -> Round:
    settings = ctx.settings
    item = evidence_item(support.evidence(0), settings.metrics_public_url)
    now = datetime.now(UTC)
    body = webhook_body(item.webhook_type, item.published_at, item.data)
    signed = [
        (
            s.webhook_url or "",
            body.encode(),
            webhooks.signed_headers(delivery_id(s.id, item.id), body, [s.secret], now),
        )
        for s in subs
    ]
    concurrency = settings.dispatch_concurrency
    async with httpx.AsyncClient() as http:
        raw = await support.raw_posts(signed, concurrency)
        await support.arrivals(http, ctx.receiver_url)
        names = [NOTIFIER] if profile else []
        with Watch(ctx.pids, profile=names).running() as watch:
            started = time.perf_counter()
            await webhooks.fan_out(ctx.uow(), item, settings, datetime.now(UTC))
            planned = time.perf_counter() - started
            await ctx.drain()
            ours = time.perf_counter() - started
        got = await support.arrivals(http, ctx.receiver_url)
    expected = {delivery_id(s.id, item.id) for s in subs}
    delivered = await ctx.writer.db["deliveries"].count_documents(
        {"event_id": item.id, "status": "delivered"}
    )
    note = (
        ""
        if {h for _, h in got} == expected and delivered == len(subs)
        else (f"**only {delivered} of {len(subs)} delivered ({len(got)} arrivals)**")
    )
    return Round(len(subs), ours, raw, planned=planned, watch=watch, note=note)


def _mail_messages(count: int, tag: str) -> list[Message]:
    now = datetime.now(UTC)
    out = []
    for number in range(count):
        to = Recipient(subscription_id=f"sub_bench{tag}{number}")
        out.append(
            Message(
                id=message_id(MessageKind.EVIDENCE, f"bench|{tag}|{number}", to),
                kind=MessageKind.EVIDENCE,
                to=to,
                context={
                    "item": {
                        "title": "Programa del banco de pruebas: Personas atendidas",
                        "summary": "Personas atendidas: 400 personas entre 2026-01-01 y "
                        "2026-03-31 (40% de avance hacia la meta). Fuente: registro.",
                        "url": "http://127.0.0.1:8003/v1/indicators/ind_bench",
                    },
                    "feed_url": "http://127.0.0.1:8004/v1/feeds/evidence.atom",
                },
                private={"email": f"bench-{tag}-{number}@example.com", "name": None},
                created_at=now,
            )
        )
    return out


def _composed(message: Message, settings: NotifierSettings) -> EmailMessage:
    """The message as `mailing.send_message` renders and composes it."""
    assert message.private is not None
    facts: dict[str, Any] = {**message.context, "name": None, "greeting_name": "equipo"}
    return compose(
        render(message.kind, facts),
        sender=settings.mail_from,
        to_name=None,
        to_email=str(message.private["email"]),
        message_id=message.id,
    )


async def mail_round(ctx: InProcess, count: int, profile: bool) -> Round:
    settings = ctx.settings
    mailer = ctx.channels.mailer
    assert isinstance(mailer, SmtpMailer)
    tag = uuid.uuid4().hex[:6]
    raw_messages = [_composed(m, settings) for m in _mail_messages(count, f"raw{tag}")]
    concurrency = settings.dispatch_concurrency
    raw = await support.raw_mails(raw_messages, mailer.hostname, mailer.port, concurrency)
    kept_messages = [_composed(m, settings) for m in _mail_messages(count, f"kept{tag}")]
    kept = await support.kept_connections(kept_messages, mailer.hostname, mailer.port, concurrency)
    messages = _mail_messages(count, tag)
    with Watch(ctx.pids, profile=[NOTIFIER] if profile else []).running() as watch:
        started = time.perf_counter()
        uow = ctx.uow()
        await uow.messages.plan(messages, uow.jobs)
        planned = time.perf_counter() - started
        await ctx.drain()
        ours = time.perf_counter() - started
    sent = await ctx.writer.db["messages"].count_documents(
        {"_id": {"$in": [m.id for m in messages]}, "status": "sent"}
    )
    note = "" if sent == count else f"**only {sent} of {count} sent**"
    return Round(count, ours, raw, planned=planned, kept=kept, watch=watch, note=note)


async def in_process(prefix: str, receiver: tuple[int, str]) -> tuple[list[Round], list[Round]]:
    settings = NotifierSettings(
        topic_prefix=f"{prefix}.", database_prefix=f"{prefix}_", webhook_allow_private=True
    )
    client = create_client(settings)
    db = service_database(client, settings)
    writer = OutboxWriter(db, settings, DocumentLocks())
    writer.atomic_filters = await filters_are_atomic(client)
    await NotifierUnitOfWork(writer).ensure_indexes()
    http = httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
    )
    channels = Channels(settings=settings, mailer=SmtpMailer(settings), http=http)
    dispatcher = Dispatcher(channels, lambda: NotifierUnitOfWork(writer), JOB_HANDLERS)
    stack = process_pids()
    pids = {NOTIFIER: os.getpid(), "receiver": receiver[0]}
    pids |= {n: p for n, p in stack.items() if n in ("ferretdb", "mailpit")}
    ctx = InProcess(settings, writer, channels, dispatcher, receiver[0], receiver[1], pids)
    rounds = _env_int("BENCH_NOTIFIER_ROUNDS", 3)
    try:
        subs = await _subscriptions(ctx, _env_int("BENCH_NOTIFIER_SUBSCRIPTIONS", 200))
        await fan_out_round(ctx, subs, profile=False)  # warm-up
        fans = [await fan_out_round(ctx, subs, profile=r == rounds - 1) for r in range(rounds)]
        count = _env_int("BENCH_NOTIFIER_MAILS", 300)
        await mail_round(ctx, 20, profile=False)  # warm-up
        mails = [await mail_round(ctx, count, profile=r == rounds - 1) for r in range(rounds)]
        return fans, mails
    finally:
        await http.aclose()
        await client.close()


# --- (3) latency: a real notifier process ------------------------------------------------------


def _metric(url: str, name: str) -> float:
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")
    )


@contextmanager
def notifier_service(prefix: str) -> Iterator[tuple[int, str]]:
    """A real notifier on the prefix: (pid, base URL), once its consumer owns every partition."""
    port = free_port()
    env = {
        **_environment(prefix),
        "NOTIFIER_PORT": str(port),
        "NOTIFIER_HOST": "127.0.0.1",
        "NOTIFIER_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "bench-notifier.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.notifier"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    wanted = sum(TOPIC_SPECS[t].partitions for t in notifier_subscription.topics)
    try:
        deadline = time.monotonic() + 120
        while _metric(url, "articula_consumer_assigned_partitions") < wanted:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"notifier not ready; see {LOG_DIR}/bench-notifier.log")
            time.sleep(0.2)
        yield proc.pid, url
    finally:
        stop(proc)


async def _produce_paced(
    topic: str, subscription_id: str, count: int, every: float, inbox_keys: dict[str, str]
) -> dict[str, float]:
    """`count` evidence records, one every `every` seconds: delivery id → when handed over
    (and into `inbox_keys`, delivery id → the consumer's inbox key)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], acks="all", enable_idempotence=True
    )
    await producer.start()
    sent: dict[str, float] = {}
    try:
        for number in range(count):
            event = support.evidence(number)
            claim, key, value, headers = support.evidence_record(event)
            wid = delivery_id(subscription_id, f"evidence:{event.evidence_id}")
            inbox_keys[wid] = claim
            sent[wid] = time.time()
            await producer.send_and_wait(topic, value, key=key, headers=headers)
            await asyncio.sleep(max(0.0, sent[wid] + every - time.time()))
    finally:
        await producer.stop()
    return sent


async def _collect(url: str, wanted: set[str], seconds: float) -> dict[str, float]:
    got: dict[str, float] = {}
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as http:
        while not wanted <= got.keys() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            got |= {h: t for t, h in await support.arrivals(http, url)}
    return got


def latency(prefix: str, receiver_url: str) -> Latency:
    events = _env_int("BENCH_NOTIFIER_LATENCY_EVENTS", 40)
    topic = topic_name(Topic.METRICS_EVIDENCE, f"{prefix}.")
    key = os.environ.get("ARTICULA_STAFF_KEY", "bench-staff-key")
    result = Latency()
    with notifier_service(prefix) as (pid, url):
        r = httpx.post(
            f"{url}/v1/subscriptions",
            json={"kinds": ["evidence"], "webhook_url": f"{receiver_url}/latency"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        r.raise_for_status()
        sub_id = str(r.json()["id"])
        inbox_keys: dict[str, str] = {}
        warm = uvloop.run(_produce_paced(topic, sub_id, WARM_UP_EVENTS, 0.2, inbox_keys))
        uvloop.run(_collect(receiver_url, set(warm), 30))
        stack = process_pids()
        pids = {"notifier": pid, **{n: p for n, p in stack.items() if n in ("ferretdb", "kafka")}}
        with Watch(pids).running() as watch:
            sent = uvloop.run(_produce_paced(topic, sub_id, events, 0.2, inbox_keys))
            got = uvloop.run(_collect(receiver_url, set(sent), 30))
        result.watch = watch
    result.produced = len(sent)
    settings = NotifierSettings(topic_prefix=f"{prefix}.", database_prefix=f"{prefix}_")
    client: MongoClient[dict[str, Any]] = MongoClient(os.environ["MONGODB_URL"], tz_aware=True)
    with client:
        db = client[settings.database_name]
        rows = {d["_id"]: d for d in db["deliveries"].find({"_id": {"$in": list(sent)}})}
        keys = [inbox_keys[w] for w in sent]
        claims = {d["_id"]: d for d in db[INBOX_COLLECTION].find({"_id": {"$in": keys}})}
        batches = {c["batch"] for c in claims.values()}
        done = {d["_id"]: d for d in db[BATCHES_COLLECTION].find({"_id": {"$in": list(batches)}})}
    for wid, at in sent.items():
        if wid not in got:
            continue
        result.seconds.append(got[wid] - at)
        row, claim = rows.get(wid), claims.get(inbox_keys[wid])
        batch = done.get(claim["batch"]) if claim else None
        if row and row.get("delivered_at") and claim and batch:
            claimed = claim["claimed_at"].timestamp()
            completed = batch["completed_at"].timestamp()
            started = row["delivered_at"].timestamp()
            result.polled.append(claimed - at)
            result.handled.append(completed - claimed)
            result.dispatch.append(started - completed)
            result.post.append(got[wid] - started)
    return result


# --- the report --------------------------------------------------------------------------------


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds else "?"


def _bound(watch: Watch | None, count: int, what: str) -> str:
    """Cores per process, FerretDB commands per item and py-spy's layers of this process."""
    if watch is None:
        return ""
    cores = ", ".join(
        f"{name} {watch.cores(name):.2f} cores ({watch.cpu[name] / count * 1000:.1f} CPU ms "
        f"per {what})"
        for name in sorted(watch.cpu, key=lambda n: -watch.cpu[n])
        if watch.cpu[name] >= 0.05
    )
    commands = sum(watch.commands.values())
    mix = ", ".join(f"{n} {c / count:.1f}" for n, c in watch.commands.most_common(5))
    text = f"{cores}; {commands / count:.1f} FerretDB commands per {what} ({mix})"
    layers = watch.top_layers(NOTIFIER, 4)
    return text + (f"; this process by layer (py-spy): {layers}" if layers else "")


def report(fans: list[Round], mails: list[Round], lat: Latency, load: str) -> Section:
    subs = fans[-1].count
    lines = [
        "## 6. Notifier: webhooks fan-out, e-mail, event-to-webhook latency (issue 10)",
        "",
        *[
            line
            for part in (__doc__ or "").split("\n\n")[1:4]
            for line in (part.replace("\n", " "), "")
        ],
        f"Machine load when it started: {load}; when it ended: {_load()}.",
        "",
        "| load | round | ours | raw baseline, same run | ratio | of ours, planning | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, r in enumerate(fans, 1):
        lines.append(
            f"| {subs} webhooks of one item | {number} | {_rate(r.count, r.ours)} "
            f"({r.ours:.2f} s) | httpx, 20 at once: {_rate(r.count, r.raw)} ({r.raw:.2f} s) | "
            f"**{r.ratio:.2f}** | `fan_out` {r.planned * 1000:.0f} ms | "
            f"{r.note}{r.watch.disturbance() if r.watch else ''} |"
        )
    for number, r in enumerate(mails, 1):
        lines.append(
            f"| {r.count} e-mails | {number} | {_rate(r.count, r.ours)} ({r.ours:.2f} s) | "
            f"`aiosmtplib.send`, 20 at once: {_rate(r.count, r.raw)} ({r.raw:.2f} s); 20 "
            f"connections kept open: {_rate(r.count, r.kept)} ({r.kept:.2f} s) | "
            f"**{r.ratio:.2f}** | `messages.plan` {r.planned * 1000:.0f} ms | "
            f"{r.note}{r.watch.disturbance() if r.watch else ''} |"
        )
    fan, mail = fans[-1], mails[-1]  # profiled
    lines += [
        "",
        "**What bounds it** (last round, with py-spy on this process; CPU from psutil, "
        "commands from FerretDB's `/debug/metrics`):",
        "",
        f"- *Fan-out*: {_bound(fan.watch, fan.count, 'delivery')}.",
        f"- *E-mail*: {_bound(mail.watch, mail.count, 'e-mail')}.",
    ]
    if fan.watch:
        lines += fan.watch.profile_lines(NOTIFIER, fan.count, FAN_OUT_FOCUS, what="delivery")
    if mail.watch:
        lines += mail.watch.profile_lines(NOTIFIER, mail.count, MAIL_FOCUS, what="e-mail")
    lines += ["", *READING]
    got = len(lat.seconds)
    lines += [
        "",
        f"Event-to-webhook latency, {lat.produced} evidence records one every 200 ms, "
        f"{got} webhooks received: p50 {percentile(lat.seconds, 50) * 1000:.0f} ms, "
        f"p99 {percentile(lat.seconds, 99) * 1000:.0f} ms, max {max(lat.seconds or [0]) * 1000:.0f}"
        f" ms. By stage (p50 / p99), from the consumer's inbox claim and batch, the delivery's "
        f"`delivered_at` (its job's start): handed to the producer → claimed by the consumer "
        f"(Kafka, the poll) {_pp(lat.polled)}; claimed → batch completed (feed item, "
        f"`fan_out`, inbox) {_pp(lat.handled)}; batch completed → the dispatcher's job started "
        f"{_pp(lat.dispatch)}; job started → at the receiver (claim, two reads, POST) "
        f"{_pp(lat.post)}."
        + (f" Notifier {lat.watch.cores('notifier'):.2f} cores." if lat.watch else "")
        + (lat.watch.disturbance() if lat.watch else ""),
    ]
    mid_fan, mid_mail = _median(fans), _median(mails)
    summary = [
        f"| 11. notifier: one evidence item → {subs} webhook subscriptions (the median round) | "
        f"{_rate(mid_fan.count, mid_fan.ours)} deliveries | httpx posts of the same signed "
        f"bodies, 20 at once: {_rate(mid_fan.count, mid_fan.raw)} | **{mid_fan.ratio:.2f}** "
        f"(median of {len(fans)}; {_spread(fans)}) | none set | each delivery is a job run "
        "as a sequence of FerretDB round trips, 20 at once: the claim (a compare-and-set: read "
        "and update on FerretDB), the delivery and its subscription read by `_id`, the POST, "
        "the save (read and update), the job's delete, plus the due scan per batch of 100; "
        f"{_shares(fan.watch, FAN_OUT_FOCUS[1:])}. {_bound(fan.watch, fan.count, 'delivery')}."
        f"{_disturbed(fan)} |",
        f"| 12. notifier: {mail.count} e-mails to Mailpit (the median round) | "
        f"{_rate(mid_mail.count, mid_mail.ours)} | `aiosmtplib.send`, 20 at once: "
        f"{_rate(mid_mail.count, mid_mail.raw)} (20 kept-open connections "
        f"{_rate(mid_mail.count, mid_mail.kept)}) | **{mid_mail.ratio:.2f}** (median of "
        f"{len(mails)}; {_spread(mails)}) | none set | this process's CPU (the dispatcher "
        "renders, composes and sends in the event loop; a new SMTP connection per message): "
        f"{_shares(mail.watch, MAIL_FOCUS)}; the same round trips per job as a webhook. "
        f"{_bound(mail.watch, mail.count, 'e-mail')}.{_disturbed(mail)} |",
        f"| 13. notifier: evidence event → webhook, one every 200 ms | "
        f"p50 {percentile(lat.seconds, 50) * 1000:.0f} / p99 "
        f"{percentile(lat.seconds, 99) * 1000:.0f} ms ({got} of {lat.produced}) | | | none set | "
        f"stages p50 / p99: Kafka → consumer {_pp(lat.polled)}, handling {_pp(lat.handled)}, "
        f"→ dispatcher's job {_pp(lat.dispatch)}, job → receiver {_pp(lat.post)}. |",
    ]
    return Section(lines, summary)


READING = [
    "*Fan-out.* A delivery is one job, and a job is a sequence of single-document round trips, "
    "one after the other: the claim (`JobQueue.claim`, a compare-and-set that on FerretDB is a "
    "read by `_id` and an update), the delivery read, its subscription read, the POST, the "
    "delivery's save (again a read and an update) and the job's delete: 7 FerretDB commands "
    "per delivery where the raw baseline sends none. 20 jobs run at once, and `run_due` "
    "gathers a batch of 100, so each batch waits for its slowest job before the next `due` "
    "scan. pymongo is about half of this process's samples (`PyMongoProtocol.write` the "
    "busiest function), FerretDB uses more CPU than the notifier, and the POST itself "
    "(`attempt`: URL check, signing, httpx) is under a fifth; with the other stacks' tests "
    "the machine's two cores are all in use, so the figure is the CPU of those round trips. "
    "(py-spy's layer `HTTP server: … anyio` is httpx's transport here: httpcore runs on anyio; "
    "no server runs in this process.) What would raise it (not changed here): carry what an "
    "attempt needs in the job's document (the delivery's body and subscription id), so that "
    "the `due` scan of the small `jobs` collection replaces the delivery read; read the active "
    "subscriptions once per pass (one scan, as `fan_out` does) instead of one per delivery; "
    "claim a pass's jobs with one `update_many` and delete them with one `delete_many` (the "
    "`jobs` collection holds only what is due, so their scans stay cheap); save the settled "
    "deliveries with one `bulk_write` of updates by `_id`; and start a job as soon as a slot "
    "frees rather than per batch of 100: about two commands per delivery instead of seven.",
    "",
    "*E-mail.* This process's CPU bounds it: about 10 ms per e-mail, a core's worth at about "
    "100 a second, and the dispatcher renders, composes and sends in the event loop. "
    "`compose` (the standard library's `email` package building and folding the headers; its "
    "`_header_value_parser` holds the busiest functions) is about a fifth of the samples, "
    "`SmtpMailer.send` about a sixth: a new SMTP connection per message (connect, EHLO, MAIL, "
    "RCPT, DATA, QUIT), and for each connection aiosmtplib runs `socket.getfqdn` in a worker "
    "thread for its EHLO name (the thread hand-offs in the profile); the job's round trips "
    "(claim, the message's read and save, the delete) about a quarter, the templates (`render`) "
    "under a tenth. The raw baselines send messages rendered and composed beforehand. What "
    "would raise it (not changed here): `SmtpMailer` keeping a few connections open and "
    "reusing them (kept-open connections beat `aiosmtplib.send` against this loopback Mailpit "
    "in most rounds, and a real provider with STARTTLS makes a connection far dearer), a "
    "`local_hostname` for EHLO (no `getfqdn` thread per connection), and the round trips of a "
    "job cut as for webhooks.",
    "",
    "*Latency.* At light load the path is short and nothing waits for a poll: the consumer's "
    "`getmany` returns as soon as a record arrives, the handler writes the feed item, scans "
    "the active subscriptions, inserts the delivery and its job and completes the inbox batch, "
    "and the job's insert wakes the dispatcher at once (`WORK_ARRIVED`). The p99 comes from "
    "one of those round trips delayed by the machine's other load.",
]


def _parts() -> list[str]:
    """The three parts of the module's docstring, each on one line."""
    return [part.replace("\n", " ") for part in (__doc__ or "").split("\n\n")[1:4]]


def _shares(watch: Watch | None, functions: tuple[str, ...]) -> str:
    """Each function's share of this process's py-spy samples, what it calls included."""
    stacks = watch.stacks.get(NOTIFIER) if watch else None
    if stacks is None or not stacks.total:
        return "no profile"
    parts = [f"`{f}` {stacks.inclusive(f) / stacks.total:.0%}" for f in functions]
    return "of this process's samples " + ", ".join(parts)


def _median(rounds: list[Round]) -> Round:
    return sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]


def _spread(rounds: list[Round]) -> str:
    ratios = sorted(r.ratio for r in rounds)
    return f"{ratios[0]:.2f}–{ratios[-1]:.2f}"


def _pp(values: list[float]) -> str:
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 99) * 1000:.0f} ms"


def _disturbed(r: Round) -> str:
    return r.watch.disturbance() if r.watch else ""


def main() -> Section:
    load = _load()
    configure_logging("notifier", os.environ.get("BENCH_NOTIFIER_LOG_LEVEL", "WARNING"))
    prefix = f"bench-n-{uuid.uuid4().hex[:6]}"
    with support.receiver() as receiver:
        fans, mails = uvloop.run(in_process(prefix, receiver))
        # A prefix of its own: on part 1's database its fan-out would reach 200 more.
        lat = latency(f"{prefix}-l", receiver[1])
    return report(fans, mails, lat, load)


if __name__ == "__main__":
    if sys.argv[1:2] == ["receiver"]:
        support.receiver_main(int(sys.argv[2]))
    else:
        section = main()
        print("\n".join([*section.summary, "", *section.lines]))
