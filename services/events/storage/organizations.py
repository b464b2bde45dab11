"""The events service's view of the registry's organisations (a projection, one document each)."""

from __future__ import annotations

from services.events.domain.organizations import KnownOrganization
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

KNOWN_ORGANIZATIONS = "organizations"


class KnownOrganizationRepository(DocumentRepository[KnownOrganization]):
    collection_name = KNOWN_ORGANIZATIONS

    def to_document(self, entity: KnownOrganization) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> KnownOrganization:
        return KnownOrganization.model_validate({**doc, "id": doc["_id"]})
