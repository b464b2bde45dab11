"""A lean HTTP/1.1 load generator: keep-alive connections, requests encoded before the clock
starts, responses read by Content-Length; a closed loop (`post_all`) or an open one on a
fixed schedule (`post_on_schedule`). On this 2-core machine httpx needed about 3.6 ms of
CPU per request, more than the bare FastAPI app it measured (1.3 ms), so a baseline driven by
it measured the client; this one needs a small fraction of that.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Responses:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)  # of the 2xx answers, in no order


def encode_post(url: str, body: object, headers: dict[str, str] | None = None) -> bytes:
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length) if length else b""


async def post_all(url: str, requests: list[bytes], concurrency: int) -> Responses:
    """Send every pre-encoded request over `concurrency` keep-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = Responses()
    pending = iter(requests)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in pending:
                started = time.perf_counter()
                writer.write(request)
                status, body = await _read_response(reader)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    result.bodies.append(body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class Answer:
    index: int
    slot: float  # wall clock the request was due
    requested: float  # wall clock it left
    answered: float
    status: int  # 0: the connection failed
    body: bytes


async def post_on_schedule(
    url: str,
    requests: list[bytes],
    rate: float,
    on_answer: Callable[[Answer], Coroutine[Any, Any, None]] | None = None,
) -> list[Answer]:
    """An open loop: request `i` leaves at `start + i / rate` whatever the earlier answers, on
    an idle keep-alive connection or a new one; `on_answer` runs for each answer as it comes
    (a task of its own, so it cannot hold the schedule up)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    answers: list[Answer] = []
    followers: list[asyncio.Task[None]] = []

    async def exchange(request: bytes, reused: bool) -> tuple[int, bytes]:
        connection = idle.pop() if reused else await asyncio.open_connection(host, port)
        reader, writer = connection
        try:
            writer.write(request)
            status, body = await _read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            raise
        idle.append(connection)
        return status, body

    async def one(index: int, request: bytes, slot: float) -> None:
        requested = time.time()
        try:
            try:
                status, body = await exchange(request, reused=bool(idle))
            except (ConnectionError, asyncio.IncompleteReadError):
                status, body = await exchange(request, reused=False)  # the server closed it
        except (OSError, asyncio.IncompleteReadError):
            status, body = 0, b""
        answer = Answer(index, slot, requested, time.time(), status, body)
        answers.append(answer)
        if on_answer is not None:
            followers.append(asyncio.create_task(on_answer(answer)))

    start = time.time() + 0.1
    tasks = []
    for index, request in enumerate(requests):
        slot = start + index / rate
        await asyncio.sleep(max(0.0, slot - time.time()))
        tasks.append(asyncio.create_task(one(index, request, slot)))
    await asyncio.gather(*tasks)
    await asyncio.gather(*followers)
    for _, writer in idle:
        writer.close()
    return answers
