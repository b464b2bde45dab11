"""The organisation aggregate: its lifecycle, and the events each change emits.

Every method is pure: it takes ``now`` (and, for tests, the secrets to use), returns an
``Outcome`` with the new state and the events to write to the outbox in the same document
update, and raises a ``RegistryError`` when the change is refused. The caller persists.

Lifecycle (``TRANSITIONS``): pending --confirm/activate--> active --suspend--> suspended
--reinstate--> active; any of them --withdraw--> withdrawn, which is final. Verification is a
mark, not a status. The contact travels only on the private compacted contacts topic
(``changes.contact_changes``: published on registration and whenever it or the name changes, a
tombstone once erased). Withdrawal erases the contact person, the free-text description and every
credential, reduces consent to the fact that terms were accepted (version and time, no person
attached), and keeps the rest: the organisation's public identity and the fact and time of its
withdrawal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.registry.domain.changes import access_changes, contact_changes, field_changes
from services.registry.domain.credentials import (
    CONFIRMATION_TTL,
    hash_secret,
    new_confirmation_token,
    new_organization_api_key,
    secret_matches,
)
from services.registry.domain.errors import (
    InvalidInput,
    TokenExpired,
    TokenInvalid,
)
from services.registry.domain.lifecycle import (
    REDACTED_FIELDS,
    TRANSITIONS,
    Action,
    OrganizationStatus,
    next_status,
)
from services.registry.domain.profile import (
    PROFILE_FIELDS,
    ContactInput,
    OrganizationCreate,
    OrganizationPatch,
    ProfileFields,
    UtcDatetime,
    check_year_founded,
)
from shared.events.base import Outgoing
from shared.events.registry import (
    Actor,
    ConfirmationRequested,
    OrganizationActivated,
    OrganizationConfirmed,
    OrganizationRegistered,
    OrganizationReinstated,
    OrganizationSnapshot,
    OrganizationSuspended,
    OrganizationUpdated,
    OrganizationVerified,
    OrganizationWithdrawn,
)
from shared.problems import errors_from_pydantic
from shared.reference.territory import macrozone_of

__all__ = [
    "REDACTED_FIELDS",
    "TRANSITIONS",
    "Action",
    "ApiKeyRecord",
    "AuditEntry",
    "Confirmation",
    "ConsentRecord",
    "Organization",
    "OrganizationStatus",
    "Outcome",
    "new_organization_id",
    "next_status",
    "organization_document",
    "organization_from_document",
]


def new_organization_id() -> str:
    return uuid.uuid4().hex


class Confirmation(BaseModel):
    """The pending e-mail confirmation: only the token's hash is kept."""

    model_config = ConfigDict(extra="ignore")

    token_hash: str
    issued_at: UtcDatetime
    expires_at: UtcDatetime


class ApiKeyRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hash: str
    created_at: UtcDatetime


class ConsentRecord(BaseModel):
    """What was consented to and when (law 19.628/21.719): terms version, publication."""

    model_config = ConfigDict(extra="ignore")

    publish_profile: bool
    terms_version: str
    accepted_at: UtcDatetime
    publish_profile_updated_at: UtcDatetime


class AuditEntry(BaseModel):
    """One line of the staff-visible history; holds ids and field names, never values."""

    model_config = ConfigDict(extra="ignore")

    at: UtcDatetime
    action: str
    actor: Actor | None = None
    reason: str | None = None
    fields: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """Result of a change: the new state, the events (and tombstones) to emit, and a secret to
    show once."""

    organization: Organization
    events: tuple[Outgoing, ...] = ()
    api_key: str | None = field(default=None, repr=False)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _clean_reason(reason: str) -> str:
    text = reason.strip()
    if not 3 <= len(text) <= 500:
        raise InvalidInput(
            "Indique el motivo de la decisión.",
            errors=[{"field": "reason", "message": "Debe tener entre 3 y 500 caracteres."}],
        )
    return text


def _staff(staff_id: str) -> Actor:
    return Actor(kind="staff", id=staff_id)


class Organization(ProfileFields):
    """An articulator organisation as the registry keeps it (owner and staff see all of it)."""

    model_config = ConfigDict(extra="ignore", use_enum_values=True)

    id: str
    rut: str
    contact: ContactInput | None
    consent: ConsentRecord | None
    status: OrganizationStatus
    verified: bool = False
    call_id: str | None = None
    registered_at: UtcDatetime
    updated_at: UtcDatetime
    confirmed_at: UtcDatetime | None = None
    withdrawn_at: UtcDatetime | None = None
    confirmation: Confirmation | None = None
    api_keys: list[ApiKeyRecord] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)

    # --- derived ------------------------------------------------------------------------------

    @property
    def macrozone(self) -> str:
        return macrozone_of(self.head_office_region)

    @property
    def listed(self) -> bool:
        """In the public directory: active, and consented to publication."""
        return (
            self.status == OrganizationStatus.ACTIVE
            and self.consent is not None
            and self.consent.publish_profile
        )

    def snapshot(self) -> OrganizationSnapshot:
        """The public facts other services receive in every organisation event: the contract's
        own fields, so a field added there is filled here without a second list."""
        return OrganizationSnapshot.model_validate(
            {name: getattr(self, name) for name in OrganizationSnapshot.model_fields}
        )

    def has_api_key(self, api_key: str) -> bool:
        """Whether ``api_key`` is one of this organisation's current keys (constant time)."""
        return any(secret_matches(api_key, record.hash) for record in self.api_keys)

    # --- lifecycle ----------------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        data: OrganizationCreate,
        *,
        now: datetime,
        call_id: str | None = None,
        organization_id: str | None = None,
        token: str | None = None,
    ) -> Outcome:
        """A self-registration: ``pending`` until the contact confirms the e-mailed link."""
        _require_aware(now)
        errors = check_year_founded(data.year_founded, now)
        if errors:
            raise InvalidInput(
                "La solicitud tiene campos inválidos; revise la lista de errores.", errors=errors
            )
        token = token or new_confirmation_token()
        org = cls(
            id=organization_id or new_organization_id(),
            rut=data.rut,
            **{name: getattr(data, name) for name in PROFILE_FIELDS},
            contact=data.contact,
            consent=ConsentRecord(
                publish_profile=data.consent.publish_profile,
                terms_version=data.consent.terms_version,
                accepted_at=now,
                publish_profile_updated_at=now,
            ),
            status=OrganizationStatus.PENDING,
            call_id=call_id,
            registered_at=now,
            updated_at=now,
            confirmation=Confirmation(
                token_hash=hash_secret(token), issued_at=now, expires_at=now + CONFIRMATION_TTL
            ),
            audit=[AuditEntry(at=now, action="registered")],
        )
        events = (
            OrganizationRegistered(
                organization_id=org.id, occurred_at=now, organization=org.snapshot()
            ),
            org._confirmation_requested(token, now, "registration"),
            *contact_changes(None, org, now),
        )
        return Outcome(org, events)

    def renew_confirmation(self, now: datetime, *, token: str | None = None) -> Outcome:
        """A fresh link for a pending registration (the previous token stops working)."""
        _require_aware(now)
        next_status(Action.RENEW_CONFIRMATION, self.status)
        token = token or new_confirmation_token()
        org = self._evolve(
            now,
            AuditEntry(at=now, action="confirmation_renewed"),
            confirmation=Confirmation(
                token_hash=hash_secret(token), issued_at=now, expires_at=now + CONFIRMATION_TTL
            ),
        )
        return Outcome(org, (org._confirmation_requested(token, now, "renewal"),))

    def confirm(self, token: str, now: datetime, *, api_key: str | None = None) -> Outcome:
        """The contact proved the e-mail address: active, and its API key is issued (once)."""
        _require_aware(now)
        status = next_status(Action.CONFIRM, self.status)
        confirmation = self.confirmation
        if confirmation is None or not secret_matches(token, confirmation.token_hash):
            raise TokenInvalid(
                "El código de confirmación no es válido; use el enlace del último correo recibido."
            )
        if now >= confirmation.expires_at:
            raise TokenExpired("El enlace de confirmación venció; solicite uno nuevo.")
        api_key = api_key or new_organization_api_key()
        owner = Actor(kind="owner", id=self.id)
        org = self._evolve(
            now,
            AuditEntry(at=now, action="confirmed", actor=owner),
            status=status,
            confirmed_at=now,
            confirmation=None,
            api_keys=[ApiKeyRecord(hash=hash_secret(api_key), created_at=now)],
        )
        event = OrganizationConfirmed(
            organization_id=org.id, occurred_at=now, organization=org.snapshot(), changed_by=owner
        )
        return Outcome(org, (event, *access_changes(self, org, now)), api_key)

    def activate_by_staff(
        self, reason: str, staff_id: str, now: datetime, *, api_key: str | None = None
    ) -> Outcome:
        """Staff activate a pending registration for the organisation; the key is issued once."""
        _require_aware(now)
        status = next_status(Action.ACTIVATE, self.status)
        reason = _clean_reason(reason)
        staff = _staff(staff_id)
        api_key = api_key or new_organization_api_key()
        org = self._evolve(
            now,
            AuditEntry(at=now, action="activated", actor=staff, reason=reason),
            status=status,
            confirmed_at=now,
            confirmation=None,
            api_keys=[ApiKeyRecord(hash=hash_secret(api_key), created_at=now)],
        )
        event = OrganizationActivated(
            organization_id=org.id,
            occurred_at=now,
            organization=org.snapshot(),
            changed_by=staff,
            reason=reason,
        )
        return Outcome(org, (event, *access_changes(self, org, now)), api_key)

    def rotate_api_key(self, now: datetime, *, api_key: str | None = None) -> Outcome:
        """A new API key replaces every previous one; only the access topic hears of it (as
        hashes), so that the old key stops working at every service."""
        _require_aware(now)
        next_status(Action.ROTATE_API_KEY, self.status)
        api_key = api_key or new_organization_api_key()
        org = self._evolve(
            now,
            AuditEntry(at=now, action="api_key_rotated"),
            api_keys=[ApiKeyRecord(hash=hash_secret(api_key), created_at=now)],
        )
        return Outcome(org, access_changes(self, org, now), api_key)

    def update(self, patch: OrganizationPatch, actor: Actor, now: datetime) -> Outcome:
        """Apply a partial update; the event lists each changed field and who changed it.

        The merged profile is validated again (a comuna must still lie in a listed region).
        Sending the current values changes nothing and emits nothing.
        """
        _require_aware(now)
        next_status(Action.UPDATE, self.status)
        current = self.model_dump(include=set(PROFILE_FIELDS))
        sent = patch.model_dump(include=set(PROFILE_FIELDS), exclude_unset=True)
        try:
            profile = ProfileFields.model_validate({**current, **sent})
        except ValidationError as exc:
            raise InvalidInput(
                "El perfil resultante no es válido; revise la lista de errores.",
                errors=errors_from_pydantic(exc.errors()),
            ) from exc
        errors = check_year_founded(profile.year_founded, now)
        if errors:
            raise InvalidInput(
                "La solicitud tiene campos inválidos; revise la lista de errores.", errors=errors
            )
        changes: dict[str, Any] = {name: getattr(profile, name) for name in PROFILE_FIELDS}
        if patch.contact is not None and self.contact is not None:
            merged = {**self.contact.model_dump(), **patch.contact.model_dump(exclude_unset=True)}
            changes["contact"] = ContactInput.model_validate(merged)
        if patch.consent is not None and self.consent is not None:
            changes["consent"] = self._consent_after(patch, now)
        candidate = self.model_copy(update=changes)
        diff = field_changes(self, candidate)
        if not diff:
            return Outcome(self)
        names = [change.field for change in diff]
        org = self._evolve(
            now, AuditEntry(at=now, action="updated", actor=actor, fields=names), **changes
        )
        event = OrganizationUpdated(
            organization_id=org.id,
            occurred_at=now,
            organization=org.snapshot(),
            changes=tuple(diff),
            changed_by=actor,
        )
        return Outcome(org, (event, *contact_changes(self, org, now)))

    def verify(
        self, reason: str, staff_id: str, now: datetime, *, verified: bool = True
    ) -> Outcome:
        """Staff mark (or unmark) the organisation as verified; repeating it changes nothing."""
        _require_aware(now)
        next_status(Action.VERIFY, self.status)
        reason = _clean_reason(reason)
        if self.verified == verified:
            return Outcome(self)
        staff = _staff(staff_id)
        action = "verified" if verified else "unverified"
        org = self._evolve(
            now, AuditEntry(at=now, action=action, actor=staff, reason=reason), verified=verified
        )
        event = OrganizationVerified(
            organization_id=org.id,
            occurred_at=now,
            organization=org.snapshot(),
            verified=verified,
            changed_by=staff,
            reason=reason,
        )
        return Outcome(org, (event,))

    def suspend(self, reason: str, staff_id: str, now: datetime) -> Outcome:
        """Staff suspend an active organisation; it leaves the directory, its data stay."""
        return self._staff_transition(
            Action.SUSPEND, "suspended", OrganizationSuspended, reason, staff_id, now
        )

    def reinstate(self, reason: str, staff_id: str, now: datetime) -> Outcome:
        """Staff lift a suspension."""
        return self._staff_transition(
            Action.REINSTATE, "reinstated", OrganizationReinstated, reason, staff_id, now
        )

    def _staff_transition(
        self,
        action: Action,
        audit_action: str,
        event_type: type[OrganizationSuspended | OrganizationReinstated],
        reason: str,
        staff_id: str,
        now: datetime,
    ) -> Outcome:
        """A status change staff make with a reason: audited, and one event saying so."""
        _require_aware(now)
        status = next_status(action, self.status)
        reason = _clean_reason(reason)
        staff = _staff(staff_id)
        org = self._evolve(
            now,
            AuditEntry(at=now, action=audit_action, actor=staff, reason=reason),
            status=status,
        )
        event = event_type(
            organization_id=org.id,
            occurred_at=now,
            organization=org.snapshot(),
            changed_by=staff,
            reason=reason,
        )
        return Outcome(org, (event, *access_changes(self, org, now)))

    def withdraw(self, actor: Actor, now: datetime) -> Outcome:
        """The organisation leaves: personal data and credentials erased, the fact kept."""
        _require_aware(now)
        previous = OrganizationStatus(self.status)
        status = next_status(Action.WITHDRAW, previous)
        consent = self.consent
        if consent is not None:
            consent = consent.model_copy(
                update={"publish_profile": False, "publish_profile_updated_at": now}
            )
        org = self._evolve(
            now,
            AuditEntry(at=now, action="withdrawn", actor=actor),
            status=status,
            contact=None,
            description=None,
            consent=consent,
            confirmation=None,
            api_keys=[],
            withdrawn_at=now,
        )
        event = OrganizationWithdrawn(
            organization_id=org.id,
            occurred_at=now,
            organization=org.snapshot(),
            changed_by=actor,
            previous_status=str(previous),
        )
        return Outcome(
            org, (event, *access_changes(self, org, now), *contact_changes(self, org, now))
        )

    # --- helpers ------------------------------------------------------------------------------

    def _evolve(self, now: datetime, entry: AuditEntry, **changes: Any) -> Organization:
        """A copy with ``changes``, ``updated_at`` and one more audit line.

        ``model_copy`` skips validation, so enum members become plain strings here, as
        ``use_enum_values`` makes them everywhere else (documents hold strings only).
        """
        plain = {k: v.value if isinstance(v, StrEnum) else v for k, v in changes.items()}
        return self.model_copy(update={**plain, "updated_at": now, "audit": [*self.audit, entry]})

    def _consent_after(self, patch: OrganizationPatch, now: datetime) -> ConsentRecord:
        assert self.consent is not None and patch.consent is not None
        consent = self.consent
        sent = patch.consent
        update: dict[str, Any] = {}
        if sent.publish_profile is not None and sent.publish_profile != consent.publish_profile:
            update |= {"publish_profile": sent.publish_profile, "publish_profile_updated_at": now}
        if sent.terms_version is not None and sent.terms_version != consent.terms_version:
            update |= {"terms_version": sent.terms_version, "accepted_at": now}
        return consent.model_copy(update=update)

    def _confirmation_requested(
        self, token: str, now: datetime, reason: Literal["registration", "renewal"]
    ) -> ConfirmationRequested:
        assert self.contact is not None and self.confirmation is not None
        return ConfirmationRequested(
            organization_id=self.id,
            organization_name=self.name,
            contact_name=self.contact.name,
            contact_email=self.contact.email,
            token=token,
            expires_at=self.confirmation.expires_at,
            requested_at=now,
            reason=reason,
        )


# --- persistence mapping (pure) -----------------------------------------------------------------


def organization_document(org: Organization) -> dict[str, Any]:
    """The MongoDB document: the aggregate under ``_id`` plus its ``macrozone`` (derived from
    the head office), which the catalogue's load reads with the public fields. Nothing else
    derived is stored: every query is answered by the in-memory catalogue."""
    doc = org.model_dump(mode="python", exclude={"id"})
    doc["_id"] = org.id
    doc["macrozone"] = org.macrozone
    return doc


def organization_from_document(doc: Mapping[str, Any]) -> Organization:
    """The aggregate back from its document; derived fields and outbox entries are ignored."""
    data = {key: value for key, value in doc.items() if key != "_id"}
    data["id"] = doc["_id"]
    return Organization.model_validate(data)
