"""One webhook to one subscription: its body, fixed once, and how its attempts went.

The id is Standard Webhooks' `webhook-id`: derived from the subscription and the item, so
planning an item again (a redelivered event, a replay) finds the delivery already there, and
the same on every retry, so the receiver can drop what it already processed. The body is
stored as the exact text that is signed and sent, so every retry sends identical bytes; only
`webhook-timestamp` (and so the signature) is the attempt's own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.values import UtcDatetime

__all__ = [
    "PING",
    "Delivery",
    "DeliveryStatus",
    "delivery_id",
    "retry_due",
    "signature_header",
    "webhook_body",
]

PING = "ping"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # "msg_…", the `webhook-id`
    subscription_id: str
    event_id: str  # the item's id ("evidence:…"), or the ping's
    type: str  # "evidence.published", …, "ping"
    payload: str  # the body, exactly as signed and sent
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    # Attempts before the current run of the schedule (a manual retry starts a new run).
    run_started_after: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: UtcDatetime | None = None
    delivered_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @property
    def run_attempts(self) -> int:
        return self.attempts - self.run_started_after


def delivery_id(subscription_id: str, event_id: str) -> str:
    """The same (subscription, item) always gives the same id: planning is idempotent."""
    digest = hashlib.sha256(f"webhook|{subscription_id}|{event_id}".encode()).hexdigest()[:24]
    return f"msg_{digest}"


def webhook_body(webhook_type: str, timestamp: datetime, data: dict[str, Any]) -> str:
    """Standard Webhooks' body: `{type, timestamp, data}`, compact JSON."""
    body = {"type": webhook_type, "timestamp": timestamp.isoformat(), "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def signature_header(signatures: Sequence[str]) -> str:
    """`webhook-signature`: every `v1,…` signature, space-separated (one per valid secret)."""
    return " ".join(signatures)


def retry_due(schedule: Sequence[float], run_attempts: int) -> float | None:
    """Seconds to wait after the run's `run_attempts`-th failed attempt, or None when the
    schedule is exhausted (attempt n waits `schedule[n-1]`; len(schedule) retries in all)."""
    if run_attempts < 1 or run_attempts > len(schedule):
        return None
    return float(schedule[run_attempts - 1])
