"""The notifier as tests use it: its process settings and Mailpit read synchronously."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, date, datetime
from typing import Any

from shared.events.metrics import EvidencePublished
from tests.harness.mailpit import MailpitClient
from tests.harness.processes import ServiceProcess, Stack

MAILPIT_API_URL = os.environ.get("MAILPIT_API_URL", "http://127.0.0.1:8025")

# Fast schedules: the dispatcher looks often, SMTP failures and webhooks retry in seconds, and
# receivers on 127.0.0.1 are allowed.
FAST_NOTIFIER_ENV = {
    "NOTIFIER_DISPATCH_POLL_SECONDS": "0.2",
    "NOTIFIER_MAIL_RETRY_SCHEDULE_SECONDS": "[0.5, 1, 2]",
    "NOTIFIER_WEBHOOK_RETRY_SCHEDULE_SECONDS": "[0.5, 1, 1]",
    "NOTIFIER_WEBHOOK_TIMEOUT_SECONDS": "1",
    "NOTIFIER_WEBHOOK_ALLOW_PRIVATE": "true",
}


def notifier_service(stack: Stack, **env: str) -> ServiceProcess:
    service = stack.service("notifier")
    service.env = {**service.env, **FAST_NOTIFIER_ENV, **env}
    return service


def new_address(label: str) -> str:
    """An e-mail address no other test uses, so Mailpit's search finds only this test's mail."""
    return f"{label}.{uuid.uuid4().hex[:10]}@correo.test"


def titled(messages: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """The one message whose subject starts with `prefix` (arrival order is not kept to the
    second)."""
    found = [m for m in messages if str(m["Subject"]).startswith(prefix)]
    assert len(found) == 1, [m["Subject"] for m in messages]
    return found[0]


def mail_to(address: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """The full messages (text, HTML, attachments) Mailpit received for `address`, once at
    least `count` arrived."""

    async def read() -> list[dict[str, Any]]:
        async with MailpitClient(MAILPIT_API_URL) as mailpit:
            summaries = await mailpit.wait_for(f'to:"{address}"', count=count, timeout=timeout)
            return [await mailpit.message(s["ID"]) for s in summaries]

    return asyncio.run(read())


def mail_count(address: str) -> int:
    async def read() -> int:
        async with MailpitClient(MAILPIT_API_URL) as mailpit:
            return len(await mailpit.messages(f'to:"{address}"'))

    return asyncio.run(read())


def attachment(message: dict[str, Any], filename: str) -> bytes:
    part = next(a for a in message.get("Attachments") or [] if a["FileName"] == filename)

    async def read() -> bytes:
        async with MailpitClient(MAILPIT_API_URL) as mailpit:
            return await mailpit.attachment(str(message["ID"]), str(part["PartID"]))

    return asyncio.run(read())


def evidence_event(**overrides: Any) -> EvidencePublished:
    """An approved measurement as the metrics service publishes it (education, Biobío)."""
    fields: dict[str, Any] = {
        "evidence_id": "prg_1-m1",
        "programme_id": "prg_1",
        "programme_name": "Escuelas abiertas",
        "organization_id": "org_1",
        "indicator_id": "prg_1-i1",
        "indicator_name": "Estudiantes que completan el taller",
        "level": "output",
        "unit": "personas",
        "direction": "increase",
        "baseline_value": 0,
        "target_value": 100,
        "value": 42,
        "actual": 42,
        "progress_percent": 42,
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 2, 28),
        "source": "Registro de asistencia",
        "evidence_level": "self_reported",
        "themes": ("educacion",),
        "regions": ("CL-BI",),
        "macrozones": ("centro_sur",),
        "published_at": datetime.now(UTC),
    }
    return EvidencePublished(**{**fields, **overrides})
