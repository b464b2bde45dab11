"""What the notifier benchmark (`bench/notifier.py`) runs beside the notifier: a loopback
webhook receiver in a process of its own, the evidence it publishes, and the raw baselines.

The receiver is a raw asyncio HTTP/1.1 server (keep-alive, uvloop): every `POST` is answered
`204` at once and its arrival kept (wall-clock time and `webhook-id`); `GET /arrivals` returns
what arrived since the last `GET` as JSON and forgets it. A process of its own, so that its
work never shares a GIL with the dispatcher it measures.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import uvloop

from bench.common import ROOT
from bench.pipeline import LOG_DIR, stop
from bench.registry import free_port
from shared.events.metrics import EvidencePublished
from shared.kafka.codec import to_record

# (wall-clock seconds, webhook-id) of one POST the receiver answered
Arrival = tuple[float, str]

_ARRIVALS: list[Arrival] = []
_NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


class _Receiver(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: Any = None  # uvloop's transport is not an `asyncio.Transport`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            length, hook = 0, ""
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "webhook-id":
                    hook = value.strip()
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            assert self.transport is not None
            if lines[0].startswith("POST "):
                _ARRIVALS.append((time.time(), hook))
                self.transport.write(_NO_CONTENT)
            else:
                body = json.dumps(_ARRIVALS).encode()
                _ARRIVALS.clear()
                head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                self.transport.write(head + body)


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def receiver_main(port: int) -> None:
    uvloop.run(_serve(port))


@contextmanager
def receiver() -> Iterator[tuple[int, str]]:
    """The receiver in a child process: (pid, base URL), once it answers."""
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / "bench-receiver.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.notifier", "receiver", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/arrivals", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.1)
        yield proc.pid, url
    finally:
        stop(proc)


async def arrivals(http: httpx.AsyncClient, url: str) -> list[Arrival]:
    """What the receiver got since the last call."""
    return [(float(t), str(h)) for t, h in (await http.get(f"{url}/arrivals")).json()]


# --- what is published -------------------------------------------------------------------------


def evidence(number: int) -> EvidencePublished:
    """An evidence item as the metrics service publishes it (national: every region)."""
    return EvidencePublished(
        evidence_id=f"med_bench{uuid.uuid4().hex[:8]}{number}",
        programme_id="prg_bench",
        programme_name="Programa del banco de pruebas",
        organization_id="org_bench",
        indicator_id="ind_bench",
        indicator_name="Personas atendidas",
        level="output",
        unit="personas",
        direction="increase",
        baseline_value=0,
        target_value=1000,
        value=400 + number,
        actual=400 + number,
        progress_percent=40,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 3, 31),
        source="registro",
        evidence_level="administrative",
        themes=("educacion",),
        regions=("CL-RM",),
        macrozones=("centro",),
        published_at=datetime.now(UTC),
    )


SOURCE = "/articula/metrics"


def evidence_record(
    event: EvidencePublished,
) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    """(inbox key, then key, value and headers) as the metrics service's relay sends it; the
    inbox key is the `_id` of the consumer's claim (CloudEvents `source|id`)."""
    key = event.aggregate_id()
    event_id = uuid.uuid4().hex
    record = to_record(
        event,
        ce_type=event.ce_type(),
        source=SOURCE,
        event_id=event_id,
        key=key,
        time=datetime.now(UTC),
    )
    return f"{SOURCE}|{event_id}", key.encode(), record.value, list(record.headers.items())


# --- raw baselines ------------------------------------------------------------------------------


async def raw_posts(
    url_and_bodies: Sequence[tuple[str, bytes, dict[str, str]]], concurrency: int
) -> float:
    """Seconds for plain `httpx.AsyncClient` posts of the signed bodies, `concurrency` at once
    (the client as the notifier builds it)."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=10, follow_redirects=False, trust_env=False) as http:

        async def post(url: str, body: bytes, headers: dict[str, str]) -> None:
            async with limit:
                response = await http.post(url, content=body, headers=headers)
                assert response.status_code == 204, response.status_code

        # Connections up first, as the dispatcher's pool is after its first fan-out.
        await asyncio.gather(*(post(*one) for one in url_and_bodies[:concurrency]))
        started = time.perf_counter()
        await asyncio.gather(*(post(*one) for one in url_and_bodies))
        return time.perf_counter() - started


async def raw_mails(
    messages: Sequence[EmailMessage], hostname: str, port: int, concurrency: int
) -> float:
    """Seconds for `aiosmtplib.send` of each message (a connection per message, as the
    notifier's mailer), `concurrency` at once."""
    limit = asyncio.Semaphore(concurrency)

    async def send(message: EmailMessage) -> None:
        async with limit:
            await aiosmtplib.send(message, hostname=hostname, port=port, timeout=30)

    started = time.perf_counter()
    await asyncio.gather(*(send(m) for m in messages))
    return time.perf_counter() - started


async def kept_connections(
    messages: Sequence[EmailMessage], hostname: str, port: int, concurrency: int
) -> float:
    """Seconds for the same messages over `concurrency` SMTP connections kept open (each sends
    its share one after the other): what a connection per message costs."""
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname=hostname, port=port, timeout=30) as smtp:
            while not queue.empty():
                await smtp.send_message(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started
