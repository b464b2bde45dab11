"""A funder's subscription: what it follows (an `ItemFilter`) and where it goes (a signed
webhook, an e-mail, or both).

Pure: ids, secrets and `now` are passed in (the application layer draws them with `secrets`).
A webhook secret is `whsec_` and the base64 of 24 random bytes, as Standard Webhooks writes
them; a rotation keeps the previous secret valid for an overlap, and while it lasts every
webhook carries one signature per valid secret, so the receiver can switch at its own pace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from services.notifier.domain.items import ItemFilter, ItemKind
from shared.errors import Conflict, InvalidInput, InvalidTransition
from shared.reference.territory import MACROZONE_IDS, REGION_CODES
from shared.reference.vocabulary import Theme
from shared.values import Email, MacrozoneId, Reason, RegionCode, UtcDatetime

__all__ = [
    "Subscription",
    "SubscriptionCreate",
    "SubscriptionPatch",
    "SubscriptionStatus",
]

WEBHOOK_URL_MAX_LENGTH: Final = 2000


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # webhooks kept failing, a 410, or the funder paused it


def _unique_in_order(order: Sequence[str]) -> Callable[[list[Any]], list[Any]]:
    """Refuse duplicates, then sort into the vocabulary's order (one canonical form)."""
    rank = {value: index for index, value in enumerate(order)}

    def check(values: list[Any]) -> list[Any]:
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"No repita valores; aparece más de una vez: {', '.join(repeated)}.")
        return sorted(values, key=lambda v: (rank.get(str(v), len(rank)), str(v)))

    return check


_UNIQUE: Final[dict[str, Any]] = {"uniqueItems": True}
Themes = Annotated[
    list[Theme],
    Field(max_length=len(Theme), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(Theme))),
]
Regions = Annotated[
    list[RegionCode],
    Field(max_length=len(REGION_CODES), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(REGION_CODES)),
]
Macrozones = Annotated[
    list[MacrozoneId],
    Field(max_length=len(MACROZONE_IDS), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(MACROZONE_IDS)),
]
Kinds = Annotated[
    list[ItemKind],
    Field(max_length=len(ItemKind), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(ItemKind))),
]
# The URL's shape and its addresses are the SSRF rule's (`domain.webhook_urls`), which needs the
# settings and a DNS answer: checked by the use case, still reported as `webhook_url`.
# The document states the production rule (https); `NOTIFIER_WEBHOOK_ALLOW_PRIVATE` also
# accepts http for local receivers.
WEBHOOK_URL_PATTERN: Final = r"^https://[A-Za-z0-9._~%-]+(?::[1-9][0-9]{0,3})?(?:[/?#][!-~]*)?$"
WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=8, max_length=WEBHOOK_URL_MAX_LENGTH),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 8,
            "maxLength": WEBHOOK_URL_MAX_LENGTH,
            "pattern": WEBHOOK_URL_PATTERN,
            "description": "https, y su servidor debe resolver solo a direcciones públicas "
            "(si no, 422 que nombra webhook_url).",
        }
    ),
]

_INPUT = ConfigDict(extra="forbid", use_enum_values=True)
_EMPTY_LISTS = "Una lista vacía sigue todo."


class SubscriptionCreate(BaseModel):
    """Body of `POST /v1/subscriptions`: what to follow (each empty list follows everything)
    and where to send it; at least one of `webhook_url` and `email` (the schema says so)."""

    model_config = ConfigDict(
        extra="forbid",
        use_enum_values=True,
        json_schema_extra={
            "anyOf": [
                {"required": ["webhook_url"], "properties": {"webhook_url": {"type": "string"}}},
                {"required": ["email"], "properties": {"email": {"type": "string"}}},
            ]
        },
    )

    themes: Themes = Field(default_factory=list, description=_EMPTY_LISTS)
    regions: Regions = Field(default_factory=list, description=_EMPTY_LISTS)
    macrozones: Macrozones = Field(default_factory=list, description=_EMPTY_LISTS)
    kinds: Kinds = Field(default_factory=list, description=_EMPTY_LISTS)
    webhook_url: WebhookUrl | None = Field(
        default=None, description="https, con un servidor de direcciones públicas."
    )
    email: Email | None = None


class SubscriptionPatch(BaseModel):
    """Body of `PATCH /v1/subscriptions/{id}`: the fields given change (null empties
    `webhook_url` or `email`, as long as one remains); `status: active` re-enables a disabled
    subscription, `disabled` pauses it."""

    model_config = _INPUT

    themes: Themes | None = None
    regions: Regions | None = None
    macrozones: Macrozones | None = None
    kinds: Kinds | None = None
    webhook_url: WebhookUrl | None = None
    email: Email | None = None
    status: SubscriptionStatus | None = None


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # "sub_…"
    owner_kind: str  # "funder" or "staff"
    owner_id: str  # the principal's id
    themes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    macrozones: tuple[str, ...] = ()
    kinds: tuple[ItemKind, ...] = ()
    webhook_url: str | None = None
    email: str | None = Field(default=None, repr=False)
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    disabled_reason: Reason | None = None
    secret: str = Field(repr=False)  # "whsec_…"
    previous_secret: str | None = Field(default=None, repr=False)
    previous_secret_expires_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None  # deleted: kept as the fact, without its channels

    @property
    def filter(self) -> ItemFilter:
        return ItemFilter(
            kinds=self.kinds, themes=self.themes, regions=self.regions, macrozones=self.macrozones
        )

    @property
    def active(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE

    def owned_by(self, kind: str, principal_id: str | None) -> bool:
        return self.owner_kind == kind and self.owner_id == principal_id

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a webhook is signed with now: the current one, and the previous one
        while its overlap lasts."""
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            secrets.append(self.previous_secret)
        return secrets

    @classmethod
    def create(
        cls,
        subscription_id: str,
        owner_kind: str,
        owner_id: str,
        body: SubscriptionCreate,
        secret: str,
        now: datetime,
    ) -> Subscription:
        _needs_a_channel(body.webhook_url, body.email)
        return cls(
            id=subscription_id,
            owner_kind=owner_kind,
            owner_id=owner_id,
            themes=tuple(body.themes),
            regions=tuple(body.regions),
            macrozones=tuple(body.macrozones),
            kinds=tuple(ItemKind(k) for k in body.kinds),
            webhook_url=body.webhook_url,
            email=body.email,
            secret=secret,
            created_at=now,
            updated_at=now,
        )

    def patched(self, body: SubscriptionPatch, now: datetime) -> Subscription:
        given = body.model_fields_set
        changes: dict[str, Any] = {
            field: tuple(getattr(body, field))
            for field in ("themes", "regions", "macrozones", "kinds")
            if field in given and getattr(body, field) is not None
        }
        if "kinds" in changes:
            changes["kinds"] = tuple(ItemKind(k) for k in changes["kinds"])
        for field in ("webhook_url", "email"):
            if field in given:
                changes[field] = getattr(body, field)
        if "status" in given and body.status is not None:
            changes["status"] = SubscriptionStatus(body.status)
            if body.status == SubscriptionStatus.ACTIVE:
                changes["disabled_reason"] = None  # re-enabled: the old reason is history
            elif self.active:
                changes["disabled_reason"] = "Pausada por su titular."
        if not (changes.get("webhook_url", self.webhook_url) or changes.get("email", self.email)):
            # Valid on its own, not for this subscription (its other channel is empty): 409.
            raise Conflict(
                "La suscripción quedaría sin webhook_url ni email: indique al menos uno.",
                errors=[{"field": "webhook_url", "message": _NO_CHANNEL}],
            )
        return self.model_copy(update={**changes, "updated_at": now})

    def disabled(self, reason: str, now: datetime) -> Subscription:
        return self.model_copy(
            update={
                "status": SubscriptionStatus.DISABLED,
                "disabled_reason": reason[:500],
                "updated_at": now,
            }
        )

    def deleted(self, now: datetime) -> Subscription:
        """What stays of a deleted subscription: its id, owner and filters, disabled, without
        its webhook URL, e-mail address or secrets (404 to everyone from now on)."""
        return self.model_copy(
            update={
                "status": SubscriptionStatus.DISABLED,
                "disabled_reason": "Eliminada.",
                "webhook_url": None,
                "email": None,
                "secret": "",
                "previous_secret": None,
                "previous_secret_expires_at": None,
                "updated_at": now,
                "deleted_at": now,
            }
        )

    def rotated(self, secret: str, now: datetime, overlap: timedelta) -> Subscription:
        """A new secret; the current one keeps signing beside it for `overlap`."""
        return self.model_copy(
            update={
                "secret": secret,
                "previous_secret": self.secret,
                "previous_secret_expires_at": now + overlap,
                "updated_at": now,
            }
        )

    def require_webhook(self) -> str:
        if not self.webhook_url:
            raise InvalidTransition(
                "La suscripción no tiene webhook_url; agréguelo con PATCH antes de probarlo.",
                current="sin_webhook",
                allowed=["con_webhook"],
            )
        return self.webhook_url

    def require_active(self) -> None:
        if not self.active:
            raise InvalidTransition(
                'La suscripción está desactivada; reactívela con PATCH {"status": "active"}.',
                current=self.status,
                allowed=[SubscriptionStatus.ACTIVE],
            )


_NO_CHANNEL = "Indique webhook_url, email o ambos: la suscripción necesita a dónde enviar."


def _needs_a_channel(webhook_url: str | None, email: str | None) -> None:
    if webhook_url or email:
        return
    message = _NO_CHANNEL
    raise InvalidInput(
        message,
        errors=[
            {"field": "webhook_url", "message": message},
            {"field": "email", "message": message},
        ],
    )
