"""What reached the local Mailpit, read through its API (https://mailpit.axllent.org/docs/api-v1/).

`make test` starts Mailpit and sets MAILPIT_API_URL (and SMTP_URL, where mail is sent):

    async with MailpitClient() as mail:
        [summary] = await mail.wait_for("to:persona@example.cl")
        message = await mail.message(summary["ID"])
        ics = await mail.attachment(summary["ID"], message["Attachments"][0]["PartID"])

Summaries and messages are Mailpit's JSON as it is (keys ID, Subject, From, To, Text, HTML,
Attachments, …); addresses are {"Name": …, "Address": …}.
"""

from __future__ import annotations

import asyncio
import os
import time
from types import TracebackType
from typing import Any, Self

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8025"

Summary = dict[str, Any]


class MailpitClient:
    """A small async client for Mailpit's API v1 (the local instance asks for no credentials)."""

    def __init__(self, base_url: str | None = None, *, timeout: float = 10.0) -> None:
        url = base_url or os.environ.get("MAILPIT_API_URL") or DEFAULT_API_URL
        self.base_url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, str | int] | None = None) -> httpx.Response:
        response = await self._http.get(path, params=params)
        response.raise_for_status()
        return response

    async def messages(self, query: str | None = None, *, limit: int = 1000) -> list[Summary]:
        """Summaries of the messages (newest first) matching a Mailpit search such as
        `to:persona@example.cl` or `subject:"Invitación"`; every message without a query."""
        if query:
            response = await self._get("/api/v1/search", {"query": query, "limit": limit})
        else:
            response = await self._get("/api/v1/messages", {"limit": limit})
        found: list[Summary] = response.json()["messages"]
        return found

    async def message(self, message_id: str) -> dict[str, Any]:
        """The whole message: headers as fields, Text, HTML, Attachments, Inline."""
        full: dict[str, Any] = (await self._get(f"/api/v1/message/{message_id}")).json()
        return full

    async def attachment(self, message_id: str, part_id: str) -> bytes:
        """The decoded bytes of one part (an attachment's `PartID`)."""
        return (await self._get(f"/api/v1/message/{message_id}/part/{part_id}")).content

    async def delete_all(self) -> None:
        """Empty the mailbox (DELETE /api/v1/messages without IDs deletes every message)."""
        response = await self._http.request("DELETE", "/api/v1/messages")
        response.raise_for_status()

    async def wait_for(
        self,
        query: str | None,
        count: int = 1,
        timeout: float = 20.0,  # noqa: ASYNC109 - on expiry it reports what did arrive
    ) -> list[Summary]:
        """The summaries matching `query` once there are at least `count` of them; on timeout an
        AssertionError that lists what the mailbox holds."""
        deadline = time.monotonic() + timeout
        while True:
            found = await self.messages(query)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        arrived = await self.messages()
        listing = "; ".join(_describe(s) for s in arrived[:20]) or "nothing"
        raise AssertionError(
            f"{len(found)} of {count} message(s) matching {query!r} after {timeout}s at "
            f"{self.base_url}; the mailbox holds {len(arrived)}: {listing}"
        )


def _describe(summary: Summary) -> str:
    to = ", ".join(a.get("Address", "") for a in summary.get("To") or [])
    return f"{summary.get('Subject', '')!r} to {to or '?'}"
