"""Who may call a service: one API key everywhere.

The registry issues every key (organisations' keys, the CLI's staff and funder keys) and
publishes, on its access topic, the hashes that open the API for each principal as they are now
(`AccessChanged`). Every other service follows that topic from the beginning into a small
in-memory directory (`LivePrincipals`), so a key works there seconds after it is issued, and a
revoked or rotated key, or a suspended or withdrawn organisation, stops working as fast. The
registry authenticates from its own records instead (the source, read-your-writes).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import structlog
from prometheus_client import Gauge

from shared.auth import hash_secret
from shared.events.catalog import by_type
from shared.events.registry import AccessChanged, Actor
from shared.events.topics import Topic
from shared.kafka.codec import MalformedEvent, from_record
from shared.kafka.follower import TopicFollower
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

PrincipalKind = Literal["anonymous", "organization", "staff", "funder"]
BOOTSTRAP_STAFF_ID = "bootstrap"  # who `ARTICULA_STAFF_KEY` is

PRINCIPALS_KNOWN = Gauge(
    "articula_principals_known", "Principals whose keys this process accepts (access topic)"
)


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def owns(self, organization_id: str) -> bool:
        return self.kind == "organization" and self.id == organization_id

    def actor(self) -> Actor:
        assert self.id is not None and self.kind in ("organization", "staff")
        return Actor(kind="owner" if self.kind == "organization" else "staff", id=self.id)


ANONYMOUS = Principal("anonymous")


class Authenticator(Protocol):
    """How a service finds the principal behind an API key (its bootstrap staff key aside)."""

    async def principal_for(self, api_key: str) -> Principal | None: ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    def readiness(self) -> str | None: ...


class PrincipalDirectory:
    """Key hash → principal, from the access events (pure: each event replaces a principal's
    keys, so applying a replay, or the same event twice, changes nothing)."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Principal] = {}
        self._hashes: dict[str, tuple[str, ...]] = {}

    def apply(self, change: AccessChanged) -> None:
        for key_hash in self._hashes.pop(change.principal_id, ()):
            self._by_hash.pop(key_hash, None)
        if change.active and change.key_hashes:
            principal = Principal(change.kind, change.principal_id)
            self._hashes[change.principal_id] = change.key_hashes
            for key_hash in change.key_hashes:
                self._by_hash[key_hash] = principal

    def find(self, api_key: str) -> Principal | None:
        return self._by_hash.get(hash_secret(api_key))

    def __len__(self) -> int:
        return len(self._hashes)


_ACCESS = by_type([AccessChanged])


class LivePrincipals:
    """The directory, kept current from the access topic; ready once it has read the topic as
    far as it reached at start-up (until then a key could be wrongly refused)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.directory = PrincipalDirectory()
        self.follower = TopicFollower(settings, Topic.REGISTRY_ACCESS, self._apply, name="access")
        self._task: asyncio.Task[None] | None = None

    async def _apply(self, record: Any) -> None:
        try:
            event = from_record(record.key, record.value, record.headers, _ACCESS).payload
        except MalformedEvent as exc:
            log.error("access_record_unreadable", offset=record.offset, error=str(exc)[:300])
            return
        if isinstance(event, AccessChanged):
            self.directory.apply(event)

    async def principal_for(self, api_key: str) -> Principal | None:
        return self.directory.find(api_key)

    def start(self) -> None:
        PRINCIPALS_KNOWN.set_function(lambda: len(self.directory))
        self._task = asyncio.create_task(self.follower.run_forever(), name="access-follow")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def readiness(self) -> str | None:
        return None if self.follower.caught_up.is_set() else "claves de acceso: cargando"
