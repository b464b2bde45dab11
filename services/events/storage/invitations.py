"""Invitations: one document per encuentro and organisation (`<encuentro>:<organisation>`), so
the two ways to invite (publication, a later activation) can never invite twice."""

from __future__ import annotations

from pydantic import BaseModel

from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository
from shared.values import UtcDatetime

INVITATIONS = "invitations"


class Invitation(BaseModel):
    encuentro_id: str
    organization_id: str
    cause: str
    invited_at: UtcDatetime

    @property
    def id(self) -> str:
        return invitation_id(self.encuentro_id, self.organization_id)


def invitation_id(encuentro_id: str, organization_id: str) -> str:
    return f"{encuentro_id}:{organization_id}"


class InvitationRepository(DocumentRepository[Invitation]):
    collection_name = INVITATIONS

    def to_document(self, entity: Invitation) -> Document:
        return {**entity.model_dump(mode="python"), "_id": entity.id}

    def from_document(self, doc: Document) -> Invitation:
        return Invitation.model_validate(doc)


__all__ = ["INVITATIONS", "Invitation", "InvitationRepository", "invitation_id"]
