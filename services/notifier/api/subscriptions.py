"""Funders' subscriptions: what they follow, where it goes, and how deliveries went.

Who: funders and staff create subscriptions and own what they create; staff see and change
everyone's. Someone else's subscription answers 404 (its existence is not revealed); what only
the owner does (rotating the secret, testing, retrying) answers 403 to staff who are not the
owner. The secret appears only in the 201 answers that create it; the URL is shown to whoever
may see the subscription.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.notifier import subscriptions
from services.notifier.api.deps import ChannelsDep, Settings, UoW, now
from services.notifier.domain.deliveries import Delivery, DeliveryStatus
from services.notifier.domain.items import ItemKind
from services.notifier.domain.subscriptions import (
    Subscription,
    SubscriptionCreate,
    SubscriptionPatch,
    SubscriptionStatus,
)
from shared.access import Caller
from shared.cursors import NumberedCursor, decode_instant, encode_instant
from shared.openapi import KEY_REQUIRED, link_to, links, merge
from shared.pagination import Page
from shared.problems import problem_responses

router = APIRouter(prefix="/v1", tags=["suscripciones"])

_ID = "$response.body#/id"
_AFTER_CREATING = links(
    201,
    suscripcion=link_to("GET", "/v1/subscriptions/{subscription_id}", subscription_id=_ID),
    prueba=link_to("POST", "/v1/subscriptions/{subscription_id}/test", subscription_id=_ID),
    entregas=link_to("GET", "/v1/subscriptions/{subscription_id}/deliveries", subscription_id=_ID),
)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=200)
    cursor: NumberedCursor | None = None


class CreatedSubscription(BaseModel):
    id: str
    secret: str = Field(
        description="whsec_…: firma los webhooks. Se muestra solo esta vez; guárdelo."
    )


class RotatedSecret(BaseModel):
    secret: str = Field(
        description="El secreto nuevo (whsec_…), mostrado solo esta vez; el anterior sigue "
        "firmando a su lado durante el traslape (NOTIFIER_SECRET_OVERLAP_HOURS)."
    )
    previous_valid_until: datetime


class SubscriptionView(BaseModel):
    id: str
    owner_kind: str
    owner_id: str
    themes: list[str]
    regions: list[str]
    macrozones: list[str]
    kinds: list[ItemKind]
    webhook_url: str | None
    email: str | None
    status: SubscriptionStatus
    disabled_reason: str | None
    previous_secret_valid_until: datetime | None = Field(
        description="Mientras dure, cada webhook lleva también la firma del secreto anterior."
    )
    created_at: datetime
    updated_at: datetime


class DeliveryView(BaseModel):
    id: str = Field(description="El webhook-id, el mismo en cada reintento.")
    event_id: str
    type: str
    attempts: int
    status: DeliveryStatus
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def subscription_view(s: Subscription, at: datetime) -> SubscriptionView:
    overlap = s.previous_secret_expires_at
    return SubscriptionView(
        id=s.id,
        owner_kind=s.owner_kind,
        owner_id=s.owner_id,
        themes=list(s.themes),
        regions=list(s.regions),
        macrozones=list(s.macrozones),
        kinds=list(s.kinds),
        webhook_url=s.webhook_url,
        email=s.email,
        status=s.status,
        disabled_reason=s.disabled_reason,
        previous_secret_valid_until=overlap if overlap is not None and overlap > at else None,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def delivery_view(d: Delivery) -> DeliveryView:
    return DeliveryView(
        id=d.id,
        event_id=d.event_id,
        type=d.type,
        attempts=d.attempts,
        status=d.status,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


def _before(query: ListQuery) -> tuple[datetime, str] | None:
    return decode_instant(query.cursor) if query.cursor is not None else None


def _past_the_end(query: ListQuery) -> bool:
    return query.cursor is not None and decode_instant(query.cursor) is None


@router.post(
    "/subscriptions",
    status_code=201,
    summary="Un financista (o el equipo) se suscribe: filtros y webhook firmado o correo",
    description="Cada lista vacía sigue todo. `webhook_url` debe ser https y su servidor "
    "resolver solo a direcciones públicas. El secreto (`whsec_…`) firma los webhooks "
    "(Standard Webhooks) y se muestra solo en esta respuesta.",
    responses=problem_responses(401, 403, 422),
    openapi_extra=merge(KEY_REQUIRED, _AFTER_CREATING),
)
async def create_subscription(
    body: SubscriptionCreate, uow: UoW, caller: Caller, settings: Settings
) -> CreatedSubscription:
    subscription = await subscriptions.create(uow, body, caller, settings, now())
    return CreatedSubscription(id=subscription.id, secret=subscription.secret)


@router.get(
    "/subscriptions",
    summary="Las suscripciones propias (el equipo ve todas), las más nuevas primero",
    responses=problem_responses(401, 403, 422),
    openapi_extra=KEY_REQUIRED,
)
async def list_subscriptions(
    query: Annotated[ListQuery, Query()], uow: UoW, caller: Caller
) -> Page[SubscriptionView]:
    subscriptions.subscriber(caller)
    if _past_the_end(query):
        return Page[SubscriptionView](items=[], next_cursor=None)
    rows = await subscriptions.list_own(uow, caller, _before(query), query.limit + 1)
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit and page:
        next_cursor = encode_instant(page[-1].created_at, page[-1].id)
    at = now()
    return Page[SubscriptionView](
        items=[subscription_view(s, at) for s in page], next_cursor=next_cursor
    )


@router.get(
    "/subscriptions/{subscription_id}",
    summary="Una suscripción (sin su secreto)",
    responses=problem_responses(401, 403, 404),
    openapi_extra=KEY_REQUIRED,
)
async def get_subscription(subscription_id: str, uow: UoW, caller: Caller) -> SubscriptionView:
    found = await subscriptions.load(uow, subscription_id, caller)
    return subscription_view(found.entity, now())


@router.patch(
    "/subscriptions/{subscription_id}",
    summary="Cambiar filtros, webhook_url o email; `status: active` la reactiva",
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra=KEY_REQUIRED,
)
async def patch_subscription(
    subscription_id: str, body: SubscriptionPatch, uow: UoW, caller: Caller, settings: Settings
) -> SubscriptionView:
    changed = await subscriptions.patch(uow, subscription_id, body, caller, settings, now())
    return subscription_view(changed, now())


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Borrar una suscripción; sus entregas pendientes ya no se intentan",
    responses=problem_responses(401, 403, 404),
    openapi_extra=KEY_REQUIRED,
)
async def delete_subscription(subscription_id: str, uow: UoW, caller: Caller) -> Response:
    await subscriptions.delete(uow, subscription_id, caller, now())
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/secret",
    status_code=201,
    summary="Rotar el secreto: el anterior sigue firmando a su lado durante el traslape",
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra=KEY_REQUIRED,
)
async def rotate_secret(
    subscription_id: str, uow: UoW, caller: Caller, settings: Settings
) -> RotatedSecret:
    rotated = await subscriptions.rotate_secret(uow, subscription_id, caller, settings, now())
    until = rotated.previous_secret_expires_at
    assert until is not None
    return RotatedSecret(secret=rotated.secret, previous_valid_until=until)


@router.post(
    "/subscriptions/{subscription_id}/test",
    summary="Enviar un `ping` firmado ahora mismo; responde cómo resultó",
    description="Un solo intento, sin reintentos; un fallo no desactiva la suscripción. "
    "Queda en la lista de entregas con `type: ping`.",
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra=KEY_REQUIRED,
)
async def test_subscription(
    subscription_id: str, uow: UoW, caller: Caller, channels: ChannelsDep
) -> DeliveryView:
    delivery = await subscriptions.ping(uow, channels, subscription_id, caller, now())
    return delivery_view(delivery)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    summary="Las entregas de la suscripción, las más nuevas primero, con intentos y códigos",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=KEY_REQUIRED,
)
async def list_deliveries(
    subscription_id: str, query: Annotated[ListQuery, Query()], uow: UoW, caller: Caller
) -> Page[DeliveryView]:
    if _past_the_end(query):
        await subscriptions.load(uow, subscription_id, caller)
        return Page[DeliveryView](items=[], next_cursor=None)
    rows = await subscriptions.deliveries(
        uow, subscription_id, caller, _before(query), query.limit + 1
    )
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit and page:
        next_cursor = encode_instant(page[-1].created_at, page[-1].id)
    return Page[DeliveryView](items=[delivery_view(d) for d in page], next_cursor=next_cursor)


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    summary="Entregar de nuevo ahora, con el mismo webhook-id y el mismo cuerpo",
    description="La entrega vuelve a `pending`, vence de inmediato y tiene por delante todo el "
    "calendario de reintentos; su resultado se ve en la lista de entregas.",
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra=KEY_REQUIRED,
)
async def retry_delivery(
    subscription_id: str, delivery_id: str, uow: UoW, caller: Caller
) -> DeliveryView:
    delivery = await subscriptions.retry(uow, subscription_id, delivery_id, caller, now())
    return delivery_view(delivery)
