"""The skeleton's end-to-end check: staff send a ping every other service records."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.registry import application
from services.registry.api.deps import Staff, UoW, now
from shared.openapi import KEY_REQUIRED
from shared.problems import problem_responses

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
async def post_ping(body: PingRequest, uow: UoW, _staff: Staff) -> PingAccepted:
    sent = await application.ping(uow, body.message, now())
    return PingAccepted(ping_id=sent.id)
