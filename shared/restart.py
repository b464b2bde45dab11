"""Keeping a background loop alive through outages (broker, database), with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def keep_running(
    attempt: Callable[[], Awaitable[None]],
    event: str,
    *,
    once: bool = False,
    first: float = 0.5,
    most: float = 10,
) -> None:
    """Run `attempt` again whenever it fails, waiting longer each time (up to `most` seconds)
    and logging `event`. A clean return starts it again too, unless `once`: then it is done.
    Otherwise it ends only when cancelled."""
    delay = first
    while True:
        try:
            await attempt()
            if once:
                return
            delay = first
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(event, error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)
