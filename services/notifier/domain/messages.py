"""E-mail messages: what is sent to whom, once.

A `Message` is planned when an event asks for it and sent later by the dispatcher. Its id is
derived from the event and the recipient, so planning it again (a redelivered event, a
restart, a replay) finds it already there: each message is sent once in effect.

Who receives it is a reference, never an address in the log: an organisation (its current
contact, read from the contacts projection when the message is sent, so a withdrawn
organisation is never written to), a participant (their registration), or a subscription's
funder. What the message needs that is personal or secret (a participant's name and code, a
confirmation token) travels in `private`, which is erased once the message is sent or given
up; what stays is the kind, the masked recipient, the status and the attempts.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Message",
    "MessageKind",
    "MessageStatus",
    "Recipient",
    "mask_email",
    "message_id",
]


class MessageKind(StrEnum):
    CONFIRMATION = "confirmation"  # the registry's confirmation link
    INVITATION = "invitation"  # to the macrozone's encuentro
    REGISTRATION = "registration"  # a seat or a waiting-list place, with the code and .ics
    PROMOTED = "promoted"  # from the waiting list to a seat
    REMINDER = "reminder"  # the day before
    REGISTRATION_CANCELLED = "registration_cancelled"
    ENCUENTRO_CANCELLED = "encuentro_cancelled"
    RESULTS = "results"  # the agreements
    SURVEY = "survey"  # checked-in participants only
    MATCH = "match"  # a need met by another organisation's offer (both sides)
    EVIDENCE = "evidence"  # an item an e-mail subscription follows
    SUBSCRIPTION_DISABLED = "subscription_disabled"  # webhooks kept failing


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # every attempt failed
    DROPPED = "dropped"  # nobody to send it to any more (withdrawn, erased, unsubscribed)


class Recipient(BaseModel):
    """Who a message is for; exactly one reference is set."""

    model_config = ConfigDict(frozen=True)

    organization_id: str | None = None
    registration_id: str | None = None
    subscription_id: str | None = None

    @property
    def key(self) -> str:
        if self.organization_id:
            return f"organization:{self.organization_id}"
        if self.registration_id:
            return f"registration:{self.registration_id}"
        return f"subscription:{self.subscription_id}"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: MessageKind
    channel: Literal["email"] = "email"
    to: Recipient
    encuentro_id: str | None = None  # rendered with the encuentro as the notifier knows it
    context: dict[str, Any] = Field(default_factory=dict)  # public facts for the template
    # Personal data or secrets the message needs (name, e-mail, code, token): erased once done.
    private: dict[str, Any] | None = Field(default=None, repr=False)
    status: MessageStatus = MessageStatus.PENDING
    recipient_masked: str | None = None  # set when sent: "j***@e***.cl"
    attempts: int = 0
    last_error: str | None = None  # the error's kind, never an address
    created_at: datetime
    sent_at: datetime | None = None
    finished_at: datetime | None = None


def message_id(kind: MessageKind, cause: str, to: Recipient) -> str:
    """The same (kind, cause, recipient) always gives the same id: planning is idempotent."""
    digest = hashlib.sha256(f"{kind}|{cause}|{to.key}".encode()).hexdigest()[:24]
    return f"msg_{digest}"


def mask_email(address: str) -> str:
    """`juana.perez@ejemplo.cl` → `j***@e***.cl`: enough for staff to tell messages apart."""
    local, _, domain = address.partition("@")
    host, _, tld = domain.rpartition(".")
    if not host:
        host, tld = domain, ""
    masked_host = f"{host[:1]}***" if host else "***"
    return f"{local[:1]}***@{masked_host}{'.' + tld if tld else ''}"
