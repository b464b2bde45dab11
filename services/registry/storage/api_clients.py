"""Staff and funder API keys (created and revoked with the CLI); only hashes are stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.auth import hash_secret, new_api_key
from shared.events.registry import ApiClientIssued, ApiClientRevoked
from shared.storage.mongo import Document
from shared.storage.outbox import STAMP, OutboxWriter

API_CLIENTS = "api_clients"
ClientKind = Literal["staff", "funder"]


@dataclass(frozen=True)
class ApiClient:
    id: str
    kind: ClientKind
    label: str


class ApiClientRepository:
    def __init__(self, db: AsyncDatabase[Document], outbox: OutboxWriter) -> None:
        self.collection = db[API_CLIENTS]
        self.outbox = outbox

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("key_hash", ASCENDING)], name="key_hash")

    async def issue(self, kind: ClientKind, label: str) -> tuple[ApiClient, str]:
        """A new key, returned once; `label` says whose it is (a team, not a person's e-mail)."""
        client = ApiClient(id=uuid.uuid4().hex, kind=kind, label=label)
        key = new_api_key(kind)
        now = datetime.now(UTC)
        doc = {
            "_id": client.id,
            "kind": kind,
            "label": label,
            "key_hash": hash_secret(key),
            "created_at": now,
            "revoked_at": None,
        }
        await self.outbox.insert(
            API_CLIENTS, doc, [ApiClientIssued(client_id=client.id, kind=kind)]
        )
        return client, key

    async def revoke(self, client_id: str) -> bool:
        """Revoke a key still in force; False if there is none with that id.

        The CLI writes next to the running registry, whose relay also updates this document
        (removing published outbox entries) and holds a different process's lock. On FerretDB
        an update is a read and a write back, so that removal could undo the revocation: read
        it back and write again until it holds.
        """
        revoked = False
        for _ in range(5):
            revoked = (
                await self.outbox.update(
                    API_CLIENTS,
                    client_id,
                    {"$set": {"revoked_at": datetime.now(UTC)}},
                    [ApiClientRevoked(client_id=client_id)],
                    expect={"revoked_at": None},
                )
                or revoked
            )
            doc = await self.collection.find_one({"_id": client_id})
            if doc is None or doc.get("revoked_at") is not None:
                return revoked and doc is not None
        raise RuntimeError(f"the revocation of {client_id} did not hold; try again")

    async def by_key(self, api_key: str) -> ApiClient | None:
        doc = await self.collection.find_one({"key_hash": hash_secret(api_key), "revoked_at": None})
        if doc is None:
            return None
        return ApiClient(id=doc["_id"], kind=doc["kind"], label=doc["label"])

    async def list(self) -> list[Document]:
        return [
            {k: v for k, v in doc.items() if k not in ("key_hash", "outbox", STAMP)}
            async for doc in self.collection.find({}).sort([("created_at", ASCENDING)])
        ]
