"""What was sent, for staff: every e-mail with its kind, status and attempts; recipients
masked, contents never shown (they hold codes and tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.notifier.api.deps import UoW
from services.notifier.domain.messages import Message, MessageKind, MessageStatus
from shared.access import Staff
from shared.cursors import NumberedCursor, decode_instant, encode_instant
from shared.openapi import KEY_REQUIRED
from shared.pagination import Page
from shared.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["notificaciones"])


class NotificationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200)
    cursor: NumberedCursor | None = None


class NotificationView(BaseModel):
    id: str
    kind: MessageKind
    channel: Literal["email"]
    status: MessageStatus
    recipient: str | None = Field(
        description="El destinatario enmascarado (j***@e***.cl), una vez enviado."
    )
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


def notification_view(message: Message) -> NotificationView:
    return NotificationView(
        id=message.id,
        kind=message.kind,
        channel=message.channel,
        status=message.status,
        recipient=message.recipient_masked,
        created_at=message.created_at,
        sent_at=message.sent_at,
        attempts=message.attempts,
        last_error=message.last_error,
    )


@router.get(
    "/notifications",
    summary="Lo enviado: cada correo con su tipo, estado e intentos (destinatarios enmascarados)",
    responses=problem_responses(401, 403, 422),
    openapi_extra=KEY_REQUIRED,
)
async def list_notifications(
    query: Annotated[NotificationQuery, Query()], uow: UoW, staff: Staff
) -> Page[NotificationView]:
    before = decode_instant(query.cursor) if query.cursor is not None else None
    rows = await uow.messages.page(before, query.limit + 1)
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit and page:
        next_cursor = encode_instant(page[-1].created_at, page[-1].id)
    return Page[NotificationView](
        items=[notification_view(m) for m in page], next_cursor=next_cursor
    )
