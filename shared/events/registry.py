"""Registry events: the articulator organisations' lifecycle and the registration calls.

Two audiences, so two kinds of topic:

* ``Topic.REGISTRY_ORGANIZATIONS`` (key: organisation id) and ``Topic.REGISTRY_CALLS`` (key:
  call id) are kept forever and read by every service; metrics computes the ecosystem's
  statistics from them and the events service invites by territory. Their payloads carry only
  the *public* profile (``OrganizationSnapshot``): never contact data, consent records, tokens,
  API keys, or the free-text ``description`` (the one field where people write names and
  phone numbers). An update lists each changed field with old and new values, except that a
  change to a personal or free-text field (``contact.*``, ``consent.*``, ``description``) says
  only *that* it changed (``redacted: true``, no ``old``/``new``): a forever-retained topic
  cannot honour an erasure request, so it must never receive erasable data.
  Identifiers (sector, roles, themes…) are plain strings here, not enums, so adding a theme
  does not make an old consumer dead-letter every new event.

* ``Topic.REGISTRY_NOTIFICATIONS`` is **private**: only the notifier reads it, and it carries
  one contract, ``ConfirmationRequested``, with what an e-mail needs.

* ``Topic.REGISTRY_CONTACTS`` is **private and compacted** (key: organisation id): each
  organisation's current contact as ``ContactPublished``, published when it registers and
  whenever its contact or name changes, and a tombstone (the key, a null value) when it
  withdraws, which is when the registry erases the contact. After compaction the topic holds
  one record per organisation with a contact, so the notifier can rebuild its address book
  by reading it from the start, and an erased contact leaves the broker.

Decision, confirmation token: the registry stores only the token's SHA-256, so the plaintext
must travel to whoever sends the e-mail. ``ConfirmationRequested`` carries it on the private
topic, whose retention (7 days) outlasts the token (72 h: a notifier outage shorter than that
still delivers) but not by much. The token is single-use (confirming erases its hash) and dies
at expiry, so a copy left in the broker is worthless soon after. Rejected alternatives: the
notifier asking the registry for the link (the registry would have to keep the plaintext);
the notifier minting the token and sending back its hash (a second event before a
registration can be confirmed, and the notifier writing registry state); encrypting the token
for the notifier (key management for what ACLs on one topic already give). The plaintext also
sits in the registration's outbox entry until the relay publishes it and removes the entry.
Fields holding personal data or secrets are listed in ``PERSONAL_FIELDS``/``SECRET_FIELDS``,
marked ``x-personal-data``/``x-secret`` in the JSON schema and hidden from ``repr``; log
``safe_summary()``, never the payload. A dead-lettered copy of such a record keeps the dead-
letter topic's retention, so the notifier should fix, not park, failures on this topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from shared.events.base import EventContract
from shared.events.topics import Topic
from shared.values import REASON_MAX_LENGTH

__all__ = [
    "ORGANIZATION_EVENTS",
    "AccessChanged",
    "Actor",
    "CallChange",
    "CallSnapshot",
    "ConfirmationRequested",
    "ContactPublished",
    "FieldChange",
    "OrganizationActivated",
    "OrganizationConfirmed",
    "OrganizationEvent",
    "OrganizationRegistered",
    "OrganizationReinstated",
    "OrganizationSnapshot",
    "OrganizationSuspended",
    "OrganizationUpdated",
    "OrganizationVerified",
    "OrganizationWithdrawn",
    "RegistrationCallClosed",
    "RegistrationCallOpened",
    "RegistrationCallUpdated",
]

# An actor id is an opaque identifier (organisation id, staff key id), never an e-mail.
ACTOR_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


class Actor(BaseModel):
    """Who caused a change: the organisation itself (``id`` = its id) or a staff member."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["owner", "staff"]
    id: str = Field(pattern=ACTOR_ID_PATTERN)


class FieldChange(BaseModel):
    """One changed field of an update; personal or free-text fields say only that they changed.

    Serialised without ``old``/``new`` when ``redacted``, so the values cannot leak into a topic
    that is kept forever.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str
    old: JsonValue = None
    new: JsonValue = None
    redacted: bool = False

    @model_validator(mode="after")
    def _redacted_has_no_values(self) -> FieldChange:
        if self.redacted and (self.old is not None or self.new is not None):
            raise ValueError("a redacted change must not carry old or new values")
        return self

    @model_serializer(mode="wrap")
    def _omit_redacted_values(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.redacted:
            data.pop("old", None)
            data.pop("new", None)
        return data


class OrganizationSnapshot(BaseModel):
    """The public profile after the change, so consumers keep a read model without a lookup.

    ``listed`` is whether the organisation is in the public directory (active and consented to
    publication): the one consequence of consent other services need, without the record.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    rut: str
    name: str
    short_name: str | None = None
    sector: str
    legal_form: str
    head_office_region: str
    macrozone: str
    regions: tuple[str, ...]
    comunas: tuple[str, ...] = ()
    scope: str
    roles: tuple[str, ...]
    themes: tuple[str, ...]
    links_with_others: bool | None = None
    has_alliances: bool | None = None
    traits: tuple[str, ...] = ()
    website: str | None = None
    year_founded: int | None = None
    status: str  # pending, active, suspended, withdrawn
    verified: bool
    listed: bool
    call_id: str | None = None
    registered_at: datetime


class OrganizationEvent(EventContract):
    """Common shape of the public organisation events (abstract: it has no ``name``): each
    carries the organisation's public snapshot as it is after the change."""

    topic: ClassVar[Topic] = Topic.REGISTRY_ORGANIZATIONS

    organization_id: str
    occurred_at: datetime
    organization: OrganizationSnapshot

    def aggregate_id(self) -> str:
        return self.organization_id


class OrganizationRegistered(OrganizationEvent):
    """An organisation registered itself; it stays ``pending`` until its contact confirms."""

    name: ClassVar[str] = "registry.organization_registered"
    version: ClassVar[int] = 1


class OrganizationConfirmed(OrganizationEvent):
    """The contact confirmed the e-mail; the organisation is now ``active``."""

    name: ClassVar[str] = "registry.organization_confirmed"
    version: ClassVar[int] = 1

    changed_by: Actor


class OrganizationActivated(OrganizationEvent):
    """Staff activated a pending registration on the organisation's behalf."""

    name: ClassVar[str] = "registry.organization_activated"
    version: ClassVar[int] = 1

    changed_by: Actor
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class OrganizationUpdated(OrganizationEvent):
    """The owner or staff changed the profile; ``changes`` is the provenance of each field."""

    name: ClassVar[str] = "registry.organization_updated"
    version: ClassVar[int] = 1

    changes: tuple[FieldChange, ...] = Field(min_length=1)
    changed_by: Actor


class OrganizationVerified(OrganizationEvent):
    """Staff marked the organisation verified (``verified: false``: the mark was removed)."""

    name: ClassVar[str] = "registry.organization_verified"
    version: ClassVar[int] = 1

    verified: bool
    changed_by: Actor
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class OrganizationSuspended(OrganizationEvent):
    """Staff suspended an active organisation; it leaves the directory."""

    name: ClassVar[str] = "registry.organization_suspended"
    version: ClassVar[int] = 1

    changed_by: Actor
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class OrganizationReinstated(OrganizationEvent):
    """Staff lifted a suspension; the organisation is ``active`` again."""

    name: ClassVar[str] = "registry.organization_reinstated"
    version: ClassVar[int] = 1

    changed_by: Actor
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class OrganizationWithdrawn(OrganizationEvent):
    """The organisation left the registry; its personal data were erased, the fact is kept.

    Consumers holding anything personal about this organisation must erase it too.
    """

    name: ClassVar[str] = "registry.organization_withdrawn"
    version: ClassVar[int] = 1

    changed_by: Actor
    previous_status: str  # pending, active or suspended


# Every concrete organisation event, for consumers that keep a view of organisations.
ORGANIZATION_EVENTS: tuple[type[OrganizationEvent], ...] = (
    OrganizationRegistered,
    OrganizationConfirmed,
    OrganizationActivated,
    OrganizationUpdated,
    OrganizationVerified,
    OrganizationSuspended,
    OrganizationReinstated,
    OrganizationWithdrawn,
)


class ConfirmationRequested(EventContract):
    """PRIVATE (``Topic.REGISTRY_NOTIFICATIONS``): e-mail the confirmation link to the contact.

    Carries personal data (``contact_name``, ``contact_email``) and a one-time secret
    (``token``, plaintext; the registry keeps only its hash). The link is the notifier's to
    build, e.g. ``<public url>/confirmar?organizacion=<organization_id>&token=<token>``, and
    the confirmation itself is ``POST /v1/organizations/{id}/confirmation`` with ``{token}``.
    """

    name: ClassVar[str] = "registry.confirmation_requested"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.REGISTRY_NOTIFICATIONS

    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset({"contact_name", "contact_email"})
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"token"})

    organization_id: str
    organization_name: str
    contact_name: str = Field(repr=False, json_schema_extra={"x-personal-data": True})
    contact_email: str = Field(repr=False, json_schema_extra={"x-personal-data": True})
    token: str = Field(repr=False, json_schema_extra={"x-secret": True})
    expires_at: datetime
    requested_at: datetime
    reason: Literal["registration", "renewal"] = "registration"

    def aggregate_id(self) -> str:
        return self.organization_id

    def safe_summary(self) -> dict[str, Any]:
        """What may be logged: everything except personal data and the secret."""
        hidden = self.PERSONAL_FIELDS | self.SECRET_FIELDS
        return self.model_dump(mode="json", exclude=set(hidden))


class ContactPublished(EventContract):
    """PRIVATE (``Topic.REGISTRY_CONTACTS``, compacted): the organisation's contact, as it is now.

    A state, not a delta: each record replaces the previous one of its organisation, and after
    compaction only the latest is left. Published when the organisation registers and when a
    change touches its contact or its name (what a notification is addressed with); a
    tombstone for the organisation id follows its withdrawal. ``contact_name``,
    ``contact_email`` and ``contact_phone`` are personal data: log ``safe_summary()``.
    """

    name: ClassVar[str] = "registry.contact_published"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.REGISTRY_CONTACTS

    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"contact_name", "contact_email", "contact_phone"}
    )

    organization_id: str
    organization_name: str
    contact_name: str = Field(repr=False, json_schema_extra={"x-personal-data": True})
    contact_email: str = Field(repr=False, json_schema_extra={"x-personal-data": True})
    contact_phone: str | None = Field(
        default=None, repr=False, json_schema_extra={"x-personal-data": True}
    )
    occurred_at: datetime

    def aggregate_id(self) -> str:
        return self.organization_id

    def safe_summary(self) -> dict[str, Any]:
        """What may be logged: everything except personal data."""
        return self.model_dump(mode="json", exclude=set(self.PERSONAL_FIELDS))


class CallSnapshot(BaseModel):
    """A registration call ("convocatoria") as other services see it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    name: str
    opens_at: datetime
    closes_at: datetime
    exclusive: bool


class CallChange(BaseModel):
    """One changed field of a call, with old and new values (calls hold no personal data)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str
    old: JsonValue = None
    new: JsonValue = None


class _CallEvent(EventContract):
    """Common shape of the call events (abstract: it has no ``name``)."""

    topic: ClassVar[Topic] = Topic.REGISTRY_CALLS

    call_id: str
    occurred_at: datetime
    call: CallSnapshot
    changed_by: Actor

    def aggregate_id(self) -> str:
        return self.call_id


class RegistrationCallOpened(_CallEvent):
    """Staff scheduled a call; registrations inside its window carry its ``call_id``."""

    name: ClassVar[str] = "registry.call_opened"
    version: ClassVar[int] = 1


class RegistrationCallUpdated(_CallEvent):
    """Staff changed a call's name, window or exclusivity."""

    name: ClassVar[str] = "registry.call_updated"
    version: ClassVar[int] = 1

    changes: tuple[CallChange, ...] = Field(min_length=1)


class RegistrationCallClosed(_CallEvent):
    """Staff ended a call's window early (``call.closes_at`` is the moment it closed)."""

    name: ClassVar[str] = "registry.call_closed"
    version: ClassVar[int] = 1


class ApiClientIssued(EventContract):
    """A staff or funder API key was issued with the registry's CLI (the key never travels)."""

    name: ClassVar[str] = "registry.api_client_issued"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.REGISTRY_ACCESS

    client_id: str
    kind: Literal["staff", "funder"]

    def aggregate_id(self) -> str:
        return self.client_id


class ApiClientRevoked(EventContract):
    """A staff or funder API key was revoked."""

    name: ClassVar[str] = "registry.api_client_revoked"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.REGISTRY_ACCESS

    client_id: str

    def aggregate_id(self) -> str:
        return self.client_id


# A SHA-256 in hex: what the registry keeps of an API key, and all that ever travels of it.
KEY_HASH_PATTERN = r"^[0-9a-f]{64}$"


class AccessChanged(EventContract):
    """The API keys that open every service for one principal, as they are now.

    A state, not a delta: each event replaces what the previous one said for this principal,
    so a service that reads the access topic from the start (or from any event on) knows who
    may call it, and a replay is harmless. Emitted when keys are issued, rotated or revoked,
    and when an organisation is suspended, reinstated or withdraws (`active`). Keys travel only
    as SHA-256 hashes of random 256-bit tokens: a hash opens nothing by itself.
    """

    name: ClassVar[str] = "registry.access_changed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.REGISTRY_ACCESS

    principal_id: str = Field(pattern=ACTOR_ID_PATTERN)
    kind: Literal["organization", "staff", "funder"]
    key_hashes: tuple[Annotated[str, Field(pattern=KEY_HASH_PATTERN)], ...]
    active: bool
    changed_at: datetime

    def aggregate_id(self) -> str:
        return self.principal_id
