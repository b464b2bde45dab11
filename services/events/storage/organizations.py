"""The events service's view of the registry's organisations (a projection, one document each)."""

from __future__ import annotations

from services.events.domain.organizations import ACTIVE, KnownOrganization
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

KNOWN_ORGANIZATIONS = "organizations"


class KnownOrganizationRepository(DocumentRepository[KnownOrganization]):
    collection_name = KNOWN_ORGANIZATIONS

    def to_document(self, entity: KnownOrganization) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> KnownOrganization:
        return KnownOrganization.model_validate({**doc, "id": doc["_id"]})

    async def active_working_in(self, macrozone: str) -> list[KnownOrganization]:
        """Active organisations whose head office or working regions lie in `macrozone`."""
        found = [self.entity_of(doc) async for doc in self.collection.find({"status": ACTIVE})]
        return [org for org in found if org.works_in(macrozone)]
