"""What the current request or event is, for whatever it writes or logs.

The HTTP middleware binds the request id and the consumer binds the id of the event it
handles, in structlog's context variables; the outbox reads the correlation id from here, so
no route or handler passes it by hand.
"""

from __future__ import annotations

import structlog

CORRELATION_KEY = "correlation_id"


def correlation_id() -> str | None:
    """The id that ties an event to what caused it: the HTTP request id, or the correlation id
    of the event being handled."""
    context = structlog.contextvars.get_contextvars()
    value = context.get(CORRELATION_KEY) or context.get("request_id")
    return str(value) if value else None
