"""The registry's use cases: what routes, the CLI and (later) consumers call.

Each one loads what it needs through the unit of work, asks the domain to decide, and saves
the new state with the events the decision produced, in one write. No HTTP here (routes
translate requests and answers) and no rules (the domain holds them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.registry.domain.api_clients import ApiClient, ClientKind
from services.registry.domain.calls import (
    RegistrationCall,
    RegistrationCallCreate,
    RegistrationCallPatch,
    assign_call,
)
from services.registry.domain.errors import NotFound
from services.registry.domain.organization import Organization, Outcome
from services.registry.domain.pings import Ping, send_ping
from services.registry.domain.profile import OrganizationCreate, OrganizationPatch
from services.registry.storage.unit_of_work import RegistryUnitOfWork
from shared.events.registry import Actor
from shared.storage.repository import Versioned

Decision = Callable[[Organization], Outcome]


@dataclass(frozen=True)
class KeyIssued:
    """An organisation and the API key it was just given, to show this once."""

    organization: Organization
    api_key: str


# --- organisations -----------------------------------------------------------------------------


async def load_organization(
    uow: RegistryUnitOfWork, organization_id: str
) -> Versioned[Organization]:
    found = await uow.organizations.get(organization_id)
    if found is None:
        raise NotFound("La organización no existe.")
    return found


async def register(
    uow: RegistryUnitOfWork, data: OrganizationCreate, now: datetime
) -> Organization:
    """Self-registration: pending until the contact confirms; in the call open at `now`."""
    call_id = assign_call(await uow.calls.all(), now)
    outcome = Organization.register(data, now=now, call_id=call_id)
    await uow.organizations.add(outcome.organization, outcome.events)
    return outcome.organization


async def decide(uow: RegistryUnitOfWork, organization_id: str, decision: Decision) -> Outcome:
    """Load an organisation, apply one domain decision, save it with its events."""
    current = await load_organization(uow, organization_id)
    outcome = decision(current.entity)
    await uow.organizations.save(outcome.organization, current.version, outcome.events)
    return outcome


async def issue_key(uow: RegistryUnitOfWork, organization_id: str, decision: Decision) -> KeyIssued:
    """A decision that gives the organisation an API key (confirm, activate, rotate)."""
    outcome = await decide(uow, organization_id, decision)
    assert outcome.api_key is not None
    return KeyIssued(outcome.organization, outcome.api_key)


async def confirm(
    uow: RegistryUnitOfWork, organization_id: str, token: str, now: datetime
) -> KeyIssued:
    return await issue_key(uow, organization_id, lambda org: org.confirm(token, now))


async def activate(
    uow: RegistryUnitOfWork, organization_id: str, reason: str, staff_id: str, now: datetime
) -> KeyIssued:
    return await issue_key(
        uow, organization_id, lambda org: org.activate_by_staff(reason, staff_id, now)
    )


async def rotate_api_key(uow: RegistryUnitOfWork, organization_id: str, now: datetime) -> KeyIssued:
    return await issue_key(uow, organization_id, lambda org: org.rotate_api_key(now))


async def renew_confirmation(
    uow: RegistryUnitOfWork, organization_id: str, now: datetime
) -> Organization:
    outcome = await decide(uow, organization_id, lambda org: org.renew_confirmation(now))
    return outcome.organization


async def update_profile(
    uow: RegistryUnitOfWork,
    organization_id: str,
    patch: OrganizationPatch,
    actor: Actor,
    now: datetime,
) -> Organization:
    outcome = await decide(uow, organization_id, lambda org: org.update(patch, actor, now))
    return outcome.organization


async def withdraw(
    uow: RegistryUnitOfWork, organization_id: str, actor: Actor, now: datetime
) -> Organization:
    outcome = await decide(uow, organization_id, lambda org: org.withdraw(actor, now))
    return outcome.organization


async def verify(
    uow: RegistryUnitOfWork,
    organization_id: str,
    reason: str,
    staff_id: str,
    now: datetime,
    *,
    verified: bool,
) -> Organization:
    outcome = await decide(
        uow, organization_id, lambda org: org.verify(reason, staff_id, now, verified=verified)
    )
    return outcome.organization


async def suspend(
    uow: RegistryUnitOfWork, organization_id: str, reason: str, staff_id: str, now: datetime
) -> Organization:
    outcome = await decide(uow, organization_id, lambda org: org.suspend(reason, staff_id, now))
    return outcome.organization


async def reinstate(
    uow: RegistryUnitOfWork, organization_id: str, reason: str, staff_id: str, now: datetime
) -> Organization:
    outcome = await decide(uow, organization_id, lambda org: org.reinstate(reason, staff_id, now))
    return outcome.organization


# --- registration calls ------------------------------------------------------------------------


async def load_call(uow: RegistryUnitOfWork, call_id: str) -> Versioned[RegistrationCall]:
    found = await uow.calls.get(call_id)
    if found is None:
        raise NotFound("La convocatoria no existe.")
    return found


async def open_call(
    uow: RegistryUnitOfWork, data: RegistrationCallCreate, staff_id: str, now: datetime
) -> RegistrationCall:
    call, event = RegistrationCall.open(data, staff_id, now, await uow.calls.all())
    await uow.calls.add(call, [event])
    return call


async def update_call(
    uow: RegistryUnitOfWork,
    call_id: str,
    patch: RegistrationCallPatch,
    staff_id: str,
    now: datetime,
) -> RegistrationCall:
    current = await load_call(uow, call_id)
    others = [c for c in await uow.calls.all() if c.id != call_id]
    updated, events = current.entity.update(patch, staff_id, now, others)
    if events:
        await uow.calls.save(updated, current.version, events)
    return updated


async def close_call(
    uow: RegistryUnitOfWork, call_id: str, staff_id: str, now: datetime
) -> RegistrationCall:
    current = await load_call(uow, call_id)
    closed, event = current.entity.close(staff_id, now)
    await uow.calls.save(closed, current.version, [event])
    return closed


# --- staff and funder keys (the CLI) -----------------------------------------------------------


async def issue_client_key(
    uow: RegistryUnitOfWork, kind: ClientKind, label: str, now: datetime
) -> tuple[ApiClient, str]:
    """A new staff or funder key, returned once."""
    client, key, events = ApiClient.issue(kind, label, now)
    await uow.api_clients.add(client, events)
    return client, key


async def revoke_client_key(uow: RegistryUnitOfWork, client_id: str, now: datetime) -> bool:
    """Revoke a key still in force; False if there is none with that id.

    The CLI writes next to the running registry, whose relay also updates this document
    (tidying published outbox entries) under a different process's lock. On FerretDB an update
    is a read and a write back, so that tidying could undo the revocation: read it back and
    write again until it holds.
    """
    saved = False
    for _ in range(5):
        current = await uow.api_clients.get(client_id)
        if current is None or not current.entity.in_force:
            return saved and current is not None
        revoked, events = current.entity.revoke(now)
        await uow.api_clients.save(revoked, current.version, events)
        saved = True
        after = await uow.api_clients.get(client_id)
        if after is not None and not after.entity.in_force:
            return True
    raise RuntimeError(f"the revocation of {client_id} did not hold; try again")


# --- the skeleton's ping -----------------------------------------------------------------------


async def ping(uow: RegistryUnitOfWork, message: str, now: datetime) -> Ping:
    """A system event every other service records: the end-to-end check."""
    sent, event = send_ping(message, now)
    await uow.pings.add(sent, [event])
    return sent
