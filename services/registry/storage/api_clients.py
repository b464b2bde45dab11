"""Staff and funder API clients (created and revoked with the CLI); only key hashes are stored."""

from __future__ import annotations

from pymongo import ASCENDING

from services.registry.domain.api_clients import ApiClient
from shared.auth import hash_secret
from shared.storage.mongo import Document
from shared.storage.repository import DocumentRepository

API_CLIENTS = "api_clients"


class ApiClientRepository(DocumentRepository[ApiClient]):
    collection_name = API_CLIENTS

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("key_hash", ASCENDING)], name="key_hash")

    def to_document(self, entity: ApiClient) -> Document:
        return {**entity.model_dump(mode="python", exclude={"id"}), "_id": entity.id}

    def from_document(self, doc: Document) -> ApiClient:
        return ApiClient.model_validate({**doc, "id": doc["_id"]})

    async def by_key(self, api_key: str) -> ApiClient | None:
        """The client in force that holds `api_key` (a filter: few clients, see the README)."""
        doc = await self.collection.find_one({"key_hash": hash_secret(api_key), "revoked_at": None})
        return None if doc is None else self.entity_of(doc)

    async def all(self) -> list[ApiClient]:
        cursor = self.collection.find({}).sort([("created_at", ASCENDING)])
        return [self.entity_of(doc) async for doc in cursor]
