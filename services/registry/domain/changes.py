"""What an organisation's change tells others: the fields that changed (personal, consent and
free-text values redacted), when its keys or their validity changed the access event, and,
on the private compacted contacts topic, its contact as it is now or a tombstone once it is
erased."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from services.registry.domain.lifecycle import REDACTED_FIELDS, OrganizationStatus
from services.registry.domain.profile import PROFILE_FIELDS
from shared.events.base import Tombstone
from shared.events.registry import AccessChanged, ContactPublished, FieldChange
from shared.events.topics import Topic

if TYPE_CHECKING:
    from services.registry.domain.organization import Organization

__all__ = ["access_changes", "contact_changes", "field_changes"]


def _json_value(value: Any) -> Any:
    """A profile value as it appears in an event (enums as strings, lists as lists)."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, StrEnum):
        return str(value)
    return value


def access_changes(
    before: Organization, after: Organization, now: datetime
) -> tuple[AccessChanged, ...]:
    """The access event, when the keys that open the API for the organisation changed, or
    whether they open it (only an active organisation's keys do)."""

    def access(org: Organization) -> tuple[tuple[str, ...], bool]:
        return tuple(
            record.hash for record in org.api_keys
        ), org.status == OrganizationStatus.ACTIVE

    if access(before) == access(after):
        return ()
    hashes, active = access(after)
    return (
        AccessChanged(
            principal_id=after.id,
            kind="organization",
            key_hashes=hashes,
            active=active,
            changed_at=now,
        ),
    )


def contact_changes(
    before: Organization | None, after: Organization, now: datetime
) -> tuple[ContactPublished | Tombstone, ...]:
    """The contacts topic's record for this change: the contact as it is now when it or the
    organisation's name changed (or the organisation is new, `before` None), a tombstone when
    the contact was erased, nothing otherwise. Derived from the two states, so every change
    that touches the contact (today: registration, a PATCH, withdrawal) says so."""

    def addressed(org: Organization | None) -> tuple[Any, ...] | None:
        if org is None or org.contact is None:
            return None
        contact = org.contact
        return (org.name, contact.name, contact.email, contact.phone)

    old, new = addressed(before), addressed(after)
    if old == new:
        return ()
    if new is None:
        return (Tombstone(Topic.REGISTRY_CONTACTS, after.id),)
    assert after.contact is not None
    return (
        ContactPublished(
            organization_id=after.id,
            organization_name=after.name,
            contact_name=after.contact.name,
            contact_email=after.contact.email,
            contact_phone=after.contact.phone,
            occurred_at=now,
        ),
    )


def field_changes(old: Organization, new: Organization) -> list[FieldChange]:
    """Changed fields in a stable order; personal, consent and free-text values redacted."""
    pairs: list[tuple[str, Any, Any]] = [
        (name, getattr(old, name), getattr(new, name)) for name in PROFILE_FIELDS
    ]
    for sub in ("name", "email", "phone"):
        pairs.append(
            (
                f"contact.{sub}",
                getattr(old.contact, sub, None),
                getattr(new.contact, sub, None),
            )
        )
    for sub in ("publish_profile", "terms_version"):
        pairs.append(
            (
                f"consent.{sub}",
                getattr(old.consent, sub, None),
                getattr(new.consent, sub, None),
            )
        )
    changes: list[FieldChange] = []
    for name, before, after in pairs:
        before, after = _json_value(before), _json_value(after)
        if before == after:
            continue
        if name in REDACTED_FIELDS:
            changes.append(FieldChange(field=name, redacted=True))
        else:
            changes.append(FieldChange(field=name, old=before, new=after))
    return changes
