from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.registry.api.deps import Staff
from services.registry.domain.system import send_ping
from services.registry.storage.pings import PingRepository
from shared.openapi import KEY_REQUIRED
from shared.problems import problem_responses
from shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/v1/system", tags=["sistema"])


class PingRequest(BaseModel):
    message: str = Field(default="ping", min_length=1, max_length=200)


class PingAccepted(BaseModel):
    ping_id: str


@router.post(
    "/pings",
    status_code=202,
    summary="Envía un evento de sistema que los otros tres servicios registran",
    responses=problem_responses(401, 403, 422),
    openapi_extra=KEY_REQUIRED,
)
async def post_ping(
    body: PingRequest, runtime: Annotated[Runtime, Depends(get_runtime)], _staff: Staff
) -> PingAccepted:
    ping, event = send_ping(body.message)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await PingRepository(runtime.outbox).add(ping, event, request_id)
    return PingAccepted(ping_id=ping.id)
