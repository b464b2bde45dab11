"""One encuentro from publication to published agreements, through HTTP and Kafka, with the
registry running: 30 organisations, invitations, 100 registrations with a waiting list,
cancellations and promotions, check-in, two rounds, needs and offers, commitments in two regions
with a follow-up, the survey, results; and no participant in anything public."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from icalendar import Calendar

from shared.events.encuentros import (
    EncuentroResultsPublished,
    OrganizationInvited,
    ParticipantEnrolled,
    ParticipantRegistered,
    RegistrationPromoted,
)
from shared.events.topics import TOPIC_SPECS, Topic
from tests.harness.events import create_encuentro, move, participant, wait_until_known
from tests.harness.kafka import topic_records
from tests.harness.processes import STAFF, Stack, eventually, running
from tests.harness.registry import bearer, decoded, register_active, registration, settled_client

HEAD_OFFICES = ["CL-RM", "CL-BI", "CL-ML", "CL-VS", "CL-AR"]  # VS and AR lie outside centro_sur
SECTORS = ["sociedad_civil", "privado", "publico", "academia"]


def events_of(stack: Stack, topic: Topic, contract: type[Any]) -> list[Any]:
    return [
        e.payload
        for e in decoded(topic_records(stack.topic(topic)))
        if isinstance(e.payload, contract)
    ]


def test_an_encuentro_from_publication_to_published_agreements(stack: Stack) -> None:
    registry, events = stack.service("registry"), stack.service("events")
    with running(registry, events), settled_client(stack, registry) as reg:
        http = httpx.Client(base_url=events.url, timeout=30)
        orgs: list[tuple[str, str, str]] = []  # (id, key, head office)
        for i in range(30):
            head = HEAD_OFFICES[i % len(HEAD_OFFICES)]
            body = registration(
                head_office_region=head, regions=[head], sector=SECTORS[i % len(SECTORS)]
            )
            organization_id, key = register_active(reg, body)
            orgs.append((organization_id, key, head))
        wait_until_known(stack, [o for o, _, _ in orgs])
        # One key everywhere: the registry's key works here.
        me = http.get("/v1/me", headers=bearer(orgs[0][1]))
        assert me.json() == {"kind": "organization", "id": orgs[0][0]}

        encuentro_id = create_encuentro(http, capacity=80)
        assert http.get(f"/v1/encuentros/{encuentro_id}").status_code == 404  # a draft
        move(http, encuentro_id, "published")
        in_zone = {o for o, _, head in orgs if head not in ("CL-VS", "CL-AR")}

        def invited() -> set[str]:
            found = events_of(stack, Topic.EVENTS_ENCUENTROS, OrganizationInvited)
            return {e.organization_id for e in found if e.encuentro_id == encuentro_id}

        def stored() -> int:
            return int(stack.db("events").invitations.count_documents({}))

        # The invitations fan out from the service's own event: wait until they are written,
        # then until they are on the topic (reading a topic is the slower check).
        eventually(lambda: stored() == len(in_zone), timeout=120)
        eventually(lambda: invited() == in_zone, timeout=120)

        # 100 registrations over the 30 organisations: 80 seats, 20 waiting.
        people: list[dict[str, Any]] = []
        answers = []
        for n in range(100):
            organization_id, key, _ = orgs[n % 30]
            person = participant()
            people.append(person)
            r = http.post(
                f"/v1/encuentros/{encuentro_id}/registrations",
                json={"participant": person},
                headers=bearer(key),
            )
            assert r.status_code == 201, r.text
            assert "code" not in r.json(), "the code travels only by e-mail (and to staff)"
            answers.append(r.json())
        statuses = Counter(a["status"] for a in answers)
        assert statuses == {"registered": 80, "waitlisted": 20}
        assert [a["position"] for a in answers if a["status"] == "waitlisted"] == list(range(1, 21))
        again = http.post(
            f"/v1/encuentros/{encuentro_id}/registrations",
            json={"participant": {**people[0], "email": people[0]["email"].upper()}},
            headers=bearer(orgs[0][1]),
        )
        assert again.status_code == 409, again.text

        # Five cancellations promote the first five waiting, in order.
        for a in answers[:5]:
            owner_key = orgs[answers.index(a) % 30][1]
            d = http.delete(
                f"/v1/encuentros/{encuentro_id}/registrations/{a['id']}",
                headers=bearer(owner_key),
            )
            assert d.status_code == 200, d.text
        other = http.delete(
            f"/v1/encuentros/{encuentro_id}/registrations/{answers[6]['id']}",
            headers=bearer(orgs[7][1]),
        )
        assert other.status_code == 403, "another organisation cannot cancel"
        waiting_ids = [a["id"] for a in answers if a["status"] == "waitlisted"]
        encuentro = http.get(f"/v1/encuentros/{encuentro_id}").json()
        assert encuentro["counts"] == {"registered": 80, "waitlisted": 15, "attended": 0}
        assert encuentro["online_url"] is None, "the link is for registered organisations"
        assert http.get(f"/v1/encuentros/{encuentro_id}", headers=bearer(orgs[1][1])).json()[
            "online_url"
        ]

        def promoted() -> list[str]:
            found = events_of(stack, Topic.EVENTS_ENCUENTROS, RegistrationPromoted)
            return [e.registration_id for e in found if e.encuentro_id == encuentro_id]

        eventually(lambda: promoted() == waiting_ids[:5], timeout=30)

        # Check-in by code (staff see the codes) and by id.
        listed = http.get(
            f"/v1/encuentros/{encuentro_id}/registrations", params={"limit": 500}, headers=STAFF
        ).json()["items"]
        seated = [r for r in listed if r["status"] == "registered"]
        assert len(seated) == 80
        move(http, encuentro_id, "in_progress")
        for r in seated[:60]:
            body = {"code": r["code"]} if len(r) % 2 else {"registration_id": r["id"]}
            c = http.post(f"/v1/encuentros/{encuentro_id}/checkins", json=body, headers=STAFF)
            assert c.status_code == 200, c.text
        twice = http.post(
            f"/v1/encuentros/{encuentro_id}/checkins",
            json={"code": seated[0]["code"].lower()},
            headers=STAFF,
        )
        assert twice.status_code == 200 and twice.json()["attended"], "idempotent"

        # Two rounds of groups of about four.
        for name in ("Intercambio de experiencias", "Inteligencia colectiva"):
            formed = http.post(
                f"/v1/encuentros/{encuentro_id}/rounds",
                json={"name": name, "question": "¿Cómo colaboramos?", "group_size": 4},
                headers=STAFF,
            )
            assert formed.status_code == 201, formed.text
            groups = formed.json()["groups"]
            members = [m["registration_id"] for g in groups for m in g["members"]]
            assert len(members) == 60 and len(set(members)) == 60
            assert all(3 <= len(g["members"]) <= 5 for g in groups)
        round_id, group = formed.json()["id"], groups[0]
        member = next(r for r in seated if r["id"] == group["members"][0]["registration_id"])
        record = http.put(
            f"/v1/encuentros/{encuentro_id}/rounds/{round_id}/groups/{group['number']}/record",
            json={"text": "Acordamos compartir contactos.", "code": member["code"]},
        )
        assert record.status_code == 200, record.text

        # Needs and offers of ten organisations.
        for _, key, _ in orgs[:10]:
            put = http.put(
                f"/v1/encuentros/{encuentro_id}/needs-offers",
                json={
                    "needs": ["difusion", "fortalecimiento"],
                    "needs_detail": "Difundir nuestro programa.",
                    "offers": ["experiencias"],
                    "offers_detail": None,
                },
                headers=bearer(key),
            )
            assert put.status_code == 200, put.text
        assert http.get(f"/v1/encuentros/{encuentro_id}/needs-offers").status_code == 409

        # Commitments in two regions, one followed up by its responsible organisation.
        rm = [o for o, _, head in orgs if head == "CL-RM"]
        bi = [o for o, _, head in orgs if head == "CL-BI"]
        taken = []
        for region, members_ in (("CL-RM", rm[:3]), ("CL-BI", bi[:2])):
            c = http.post(
                f"/v1/encuentros/{encuentro_id}/commitments",
                json={
                    "region": region,
                    "text": "Mesa regional de articulación cada dos meses.",
                    "organization_ids": members_,
                    "responsible_organization_id": members_[0],
                    "due_date": "2027-03-31",
                },
                headers=STAFF,
            )
            assert c.status_code == 201, c.text
            taken.append(c.json())
        outside = http.post(
            f"/v1/encuentros/{encuentro_id}/commitments",
            json={
                "region": "CL-AR",
                "text": "Fuera de la macrozona.",
                "organization_ids": rm[:1],
                "responsible_organization_id": rm[0],
                "due_date": "2027-03-31",
            },
            headers=STAFF,
        )
        assert outside.status_code == 422
        responsible_key = next(k for o, k, _ in orgs if o == rm[0])
        follow = http.patch(
            f"/v1/commitments/{taken[0]['id']}",
            json={"status": "in_progress", "note": "Primera reunión agendada."},
            headers=bearer(responsible_key),
        )
        assert follow.status_code == 200, follow.text
        assert [h["status"] for h in follow.json()["history"]] == ["pending", "in_progress"]

        # Closed: the survey opens for those who checked in, once each.
        move(http, encuentro_id, "closed")
        ratings = {"experiencia_general": 5, "temas": 4, "facilitacion": 5, "conexion": 4}
        for r in seated[:10]:
            s = http.post(
                f"/v1/encuentros/{encuentro_id}/survey-responses",
                json={"code": r["code"], "ratings": ratings, "comments": "Muy útil."},
            )
            assert s.status_code == 201, s.text
        second = http.post(
            f"/v1/encuentros/{encuentro_id}/survey-responses",
            json={"code": seated[0]["code"], "ratings": ratings},
        )
        assert second.status_code == 409
        absent = http.post(
            f"/v1/encuentros/{encuentro_id}/survey-responses",
            json={"code": seated[70]["code"], "ratings": ratings},
        )
        assert absent.status_code == 403
        needs = http.get(f"/v1/encuentros/{encuentro_id}/needs-offers").json()["items"]
        assert len(needs) == 10 and all(n["organization_name"] for n in needs)

        # Results: the agreements by region on the public topic.
        move(http, encuentro_id, "results_published")

        def results() -> list[EncuentroResultsPublished]:
            found = events_of(stack, Topic.EVENTS_ENCUENTROS, EncuentroResultsPublished)
            return [e for e in found if e.encuentro_id == encuentro_id]

        published = eventually(results, timeout=30)[0]
        assert {a.region for a in published.agreements} == {"CL-RM", "CL-BI"}
        assert published.registered == 80 and published.attended == 60

        # The calendar.
        ics = http.get("/v1/calendar.ics", params={"macrozone": "centro_sur"})
        assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(ics.content)
        uids = [str(e["UID"]) for e in calendar.walk("VEVENT")]
        assert f"{encuentro_id}@articula" in uids

        # Nobody's name, e-mail or code in any public answer or public topic.
        enrolled = events_of(stack, Topic.EVENTS_PARTICIPANTS, ParticipantEnrolled)
        assert len({e.registration_id for e in enrolled}) == 100
        public_text = " ".join(
            [
                http.get(f"/v1/encuentros/{encuentro_id}").text,
                http.get("/v1/encuentros").text,
                http.get(f"/v1/encuentros/{encuentro_id}/needs-offers").text,
                http.get("/v1/commitments").text,
                ics.text,
            ]
        )
        public_topics = [t for t, spec in TOPIC_SPECS.items() if not spec.private]
        for topic in public_topics:
            if topic.value.startswith("articula.events."):
                public_text += " ".join(
                    (r.value or b"").decode() for r in topic_records(stack.topic(topic))
                )
        codes = [r["code"] for r in listed]
        for needle in [p["name"] for p in people] + [p["email"] for p in people] + codes:
            assert needle not in public_text, "a participant showed up in public"
        registered = events_of(stack, Topic.EVENTS_ENCUENTROS, ParticipantRegistered)
        assert len({e.registration_id for e in registered}) == 100
        log = events.tail(100000)
        for needle in [p["email"] for p in people] + codes:
            assert needle not in log, "a participant showed up in the log"
