"""Organisations hear through their contact, as the registry's private contacts topic has it
now: the invitation to their macrozone's encuentro and the matches between a need and an
offer (both sides); a withdrawn organisation (a tombstone on that topic) is never written to
again, whatever still asks for it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.events.encuentros import OrganizationInvited
from shared.events.topics import Topic
from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.kafka import contract_record, produce_raw
from tests.harness.notifier import mail_count, mail_to, new_address, notifier_service, titled
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client

pytestmark = pytest.mark.integration


def _organization(reg: httpx.Client, label: str, **profile: Any) -> tuple[str, str, str, str]:
    """(id, key, contact e-mail, name) of an active organisation with a contact of its own."""
    email = new_address(label)
    body = registration(**profile)
    body["contact"] = {**body["contact"], "email": email}
    organization_id, key = register_active(reg, body)
    return organization_id, key, email, str(body["name"])


def test_invitations_and_matches_reach_each_organisation_s_contact(stack: Stack) -> None:
    registry, events, metrics = (stack.service(n) for n in ("registry", "events", "metrics"))
    notifier = notifier_service(stack)
    with running(registry, events, metrics, notifier), settled_client(stack, registry) as reg:
        needing, needing_key, needing_email, needing_name = _organization(
            reg, "necesita", head_office_region="CL-BI", regions=["CL-BI"]
        )
        offering, offering_key, offering_email, offering_name = _organization(
            reg, "ofrece", head_office_region="CL-AR", regions=["CL-AR", "CL-BI"]
        )
        wait_until_known(stack, [needing, offering])
        http = httpx.Client(base_url=events.url, timeout=30)
        centro = create_encuentro(http, macrozone="centro_sur", title="Encuentro Centro Sur")
        sur = create_encuentro(http, macrozone="sur_austral", title="Encuentro Sur Austral")
        for encuentro_id in (centro, sur):
            move(http, encuentro_id, "published")

        # Each is invited to its macrozone's encuentro (and the one working in Biobío to both).
        invitation = titled(mail_to(needing_email, count=2), "Invitación: Encuentro Centro Sur")
        assert f"{needing_name} está invitada" in str(invitation["Text"])
        offered = mail_to(offering_email, count=3)
        titled(offered, "Invitación: Encuentro Sur Austral")
        titled(offered, "Invitación: Encuentro Centro Sur")

        # A need meets an offer: both organisations hear of it, each with the other's name.
        for encuentro_id, key, needs, offers in (
            (centro, needing_key, ["difusion"], []),
            (sur, offering_key, [], ["plataformas"]),
        ):
            r = http.post(
                f"/v1/encuentros/{encuentro_id}/registrations",
                json={"participant": participant()},
                headers=bearer(key),
            )
            assert r.status_code == 201, r.text
            r = http.put(
                f"/v1/encuentros/{encuentro_id}/needs-offers",
                json={"needs": needs, "offers": offers},
                headers=bearer(key),
            )
            assert r.status_code == 200, r.text
        prefix = "Una organización puede ayudar"
        to_needing = titled(mail_to(needing_email, count=3, timeout=90), prefix)
        assert offering_name in str(to_needing["Text"])
        to_offering = titled(mail_to(offering_email, count=4, timeout=90), prefix)
        assert needing_name in str(to_offering["Text"])
        assert "difusión" in str(to_offering["Text"])

    log = notifier.log_path.read_text()
    assert needing_email not in log and offering_email not in log


def test_a_withdrawn_organisation_is_never_written_to_again(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    notifier = notifier_service(stack)
    with running(registry, events, notifier), settled_client(stack, registry) as reg:
        organization_id, key, email, _ = _organization(reg, "retirada")
        wait_until_known(stack, [organization_id])
        http = httpx.Client(base_url=events.url, timeout=30)
        first = create_encuentro(http, title="Primer encuentro")
        move(http, first, "published")
        titled(mail_to(email, count=2), "Invitación: Primer encuentro")

        r = reg.delete(f"/v1/organizations/{organization_id}", headers=bearer(key))
        assert r.status_code in (200, 204), r.text
        wait_until_known(stack, [organization_id], status="withdrawn")
        # Something still asks the notifier to write to it (a late or replayed invitation):
        # the contact is gone, the message is dropped, nothing is sent.
        second = create_encuentro(http, title="Segundo encuentro")
        move(http, second, "published")
        late = OrganizationInvited(
            encuentro_id=second,
            occurred_at=datetime.now(UTC),
            organization_id=organization_id,
            macrozone="centro_sur",
            cause="organization_active",
        )
        produce_raw(
            stack.topic(Topic.EVENTS_ENCUENTROS), [contract_record(late, "/articula/events")]
        )

        def dropped() -> bool:
            items = httpx.get(
                f"{notifier.url}/v1/notifications", params={"limit": 200}, headers=STAFF
            ).json()["items"]
            return any(n["kind"] == "invitation" and n["status"] == "dropped" for n in items)

        eventually(dropped, timeout=60)
        time.sleep(1)
        assert mail_count(email) == 2  # the confirmation and the first invitation, nothing more
        contact = stack.db("notifier")["contacts"].find_one({"_id": organization_id})
        assert contact == {
            "_id": organization_id,
            "organization_id": organization_id,
            "withdrawn": True,
        }
