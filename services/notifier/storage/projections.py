"""What the notifier keeps of other services' events to write its messages: organisations'
contacts, encuentros, and participants. Each is the latest state per id, written with upserts
that give the same result however often an event is applied."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.encuentros import Agreement, EncuentroSnapshot
from shared.storage.outbox import OutboxWriter

CONTACTS = "contacts"
ENCUENTROS = "encuentros"
PARTICIPANTS = "participants"
INDEXES: dict[str, list[list[tuple[str, int]]]] = {PARTICIPANTS: [[("encuentro_id", 1)]]}


class Contact(BaseModel):
    """An organisation's current contact, or only the fact that it withdrew."""

    model_config = ConfigDict(frozen=True)

    organization_id: str
    organization_name: str | None = None
    name: str | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    withdrawn: bool = False


class KnownEncuentro(BaseModel):
    model_config = ConfigDict(frozen=True)

    encuentro_id: str
    snapshot: EncuentroSnapshot
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    agreements: tuple[Agreement, ...] | None = None  # once the results are published
    reason: str | None = None  # why it was cancelled, if it was
    attended: int | None = None  # participations, once the results are published


class Participant(BaseModel):
    """A registration as the notifier needs it. The flags only ever turn on, so events from
    the private and the public topic give the same state in any order."""

    model_config = ConfigDict(frozen=True)

    registration_id: str
    encuentro_id: str
    organization_id: str | None = None
    name: str | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    code: str | None = Field(default=None, repr=False)
    enrolled_as: str | None = None  # "registered" or "waitlisted"
    position: int | None = None
    promoted: bool = False
    cancelled: bool = False

    @property
    def has_seat(self) -> bool:
        return not self.cancelled and (self.promoted or self.enrolled_as == "registered")


class Projections:
    def __init__(self, writer: OutboxWriter) -> None:
        self.db = writer.db

    # --- contacts ------------------------------------------------------------------------------

    async def keep_contact(self, contact: Contact) -> None:
        """The latest contact; nothing more once the organisation withdrew."""
        current = await self.contact(contact.organization_id)
        if current is not None and current.withdrawn:
            return
        await self.db[CONTACTS].update_one(
            {"_id": contact.organization_id},
            {"$set": contact.model_dump(exclude={"organization_id"})},
            upsert=True,
        )

    async def forget_contact(self, organization_id: str) -> None:
        """Erase the contact and remember the withdrawal, so no message waits for a contact."""
        await self.db[CONTACTS].replace_one(
            {"_id": organization_id},
            {"organization_id": organization_id, "withdrawn": True},
            upsert=True,
        )

    async def contact(self, organization_id: str) -> Contact | None:
        doc = await self.db[CONTACTS].find_one({"_id": organization_id})
        return Contact.model_validate({**doc, "organization_id": doc["_id"]}) if doc else None

    # --- encuentros ----------------------------------------------------------------------------

    async def keep_encuentro(self, encuentro: KnownEncuentro) -> None:
        """Keep the newest snapshot (by `sequence`); the agreements once known stay."""
        current = await self.encuentro(encuentro.encuentro_id)
        if current is not None and current.snapshot.sequence > encuentro.snapshot.sequence:
            return
        fields = encuentro.model_dump(mode="python", exclude={"encuentro_id", "agreements"})
        if encuentro.agreements is not None:
            fields["agreements"] = [a.model_dump(mode="python") for a in encuentro.agreements]
        for agreement in fields.get("agreements", ()):
            agreement["due_date"] = agreement["due_date"].isoformat()
        await self.db[ENCUENTROS].update_one(
            {"_id": encuentro.encuentro_id}, {"$set": fields}, upsert=True
        )

    async def encuentro(self, encuentro_id: str) -> KnownEncuentro | None:
        doc = await self.db[ENCUENTROS].find_one({"_id": encuentro_id})
        if doc is None:
            return None
        return KnownEncuentro.model_validate({**doc, "encuentro_id": doc["_id"]})

    # --- participants --------------------------------------------------------------------------

    async def keep_participant(self, registration_id: str, **fields: Any) -> None:
        """Set the given fields of a participant (created on first sight), unless erased."""
        if await self.is_erased(registration_id):
            return
        await self.db[PARTICIPANTS].update_one(
            {"_id": registration_id}, {"$set": fields}, upsert=True
        )

    async def participant(self, registration_id: str) -> Participant | None:
        doc = await self.db[PARTICIPANTS].find_one({"_id": registration_id})
        if doc is None or "encuentro_id" not in doc:
            return None
        return Participant.model_validate({**doc, "registration_id": doc["_id"]})

    async def participants_of(self, encuentro_id: str) -> list[Participant]:
        cursor = self.db[PARTICIPANTS].find({"encuentro_id": encuentro_id})
        return [
            Participant.model_validate({**doc, "registration_id": doc["_id"]})
            async for doc in cursor
        ]

    async def forget_participant(self, registration_id: str) -> None:
        """Erasure: nothing personal stays; the fact stays so a late event adds nothing back."""
        await self.db[PARTICIPANTS].replace_one(
            {"_id": registration_id}, {"erased": True}, upsert=True
        )

    async def is_erased(self, registration_id: str) -> bool:
        doc = await self.db[PARTICIPANTS].find_one({"_id": registration_id})
        return bool(doc and doc.get("erased"))
