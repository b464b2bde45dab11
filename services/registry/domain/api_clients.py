"""Staff and funder API clients: keys issued and revoked with the registry's CLI.

Pure like the rest of the domain: the key is generated here (or passed in by tests), only its
hash is kept, and each change returns the event it causes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.registry.domain.errors import Conflict
from shared.auth import hash_secret, new_api_key
from shared.events.base import EventContract
from shared.events.registry import AccessChanged, ApiClientIssued, ApiClientRevoked

ClientKind = Literal["staff", "funder"]


class ApiClient(BaseModel):
    """Whose key it is (`label`: a team or a fund, never a person's e-mail) and its hash."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: ClientKind
    label: str
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def in_force(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(
        cls, kind: ClientKind, label: str, now: datetime, *, api_key: str | None = None
    ) -> tuple[ApiClient, str, list[EventContract]]:
        """A new client and its key, to show once."""
        key = api_key or new_api_key(kind)
        client = cls(
            id=uuid.uuid4().hex, kind=kind, label=label, key_hash=hash_secret(key), created_at=now
        )
        return client, key, [ApiClientIssued(client_id=client.id, kind=kind), client.access(now)]

    def revoke(self, now: datetime) -> tuple[ApiClient, list[EventContract]]:
        if not self.in_force:
            raise Conflict("Esta clave ya estaba revocada.")
        revoked = self.model_copy(update={"revoked_at": now})
        return revoked, [ApiClientRevoked(client_id=self.id), revoked.access(now)]

    def access(self, now: datetime) -> AccessChanged:
        """What every service must know of this client's key (its hash, while in force)."""
        return AccessChanged(
            principal_id=self.id,
            kind=self.kind,
            key_hashes=(self.key_hash,) if self.in_force else (),
            active=self.in_force,
            changed_at=now,
        )

    def listing(self) -> dict[str, object]:
        """What `keys list` shows: never the hash."""
        return self.model_dump(mode="json", exclude={"key_hash"})
