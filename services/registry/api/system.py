from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.registry.domain.system import send_ping
from services.registry.storage.pings import PINGS, PingRepository
from shared.auth import bearer_token, forbidden, same_secret, unauthorized
from shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/v1/system", tags=["sistema"])


class PingRequest(BaseModel):
    message: str = Field(default="ping", min_length=1, max_length=200)


class PingAccepted(BaseModel):
    ping_id: str


def require_staff(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> None:
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    staff_key = runtime.settings.staff_key
    if staff_key is None or not same_secret(token, staff_key.get_secret_value()):
        raise forbidden()


@router.post(
    "/pings",
    status_code=202,
    summary="Envía un evento de sistema que los otros tres servicios registran",
    dependencies=[Depends(require_staff)],
)
async def post_ping(
    body: PingRequest, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> PingAccepted:
    ping, event = send_ping(body.message)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await PingRepository(runtime.db, runtime.settings).add(ping, event, request_id)
    runtime.relay.notify(PINGS, ping.id)
    return PingAccepted(ping_id=ping.id)
