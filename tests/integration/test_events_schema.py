"""The events service against its own OpenAPI document: schemathesis with every check finds
nothing.

Schemathesis' engine (`openapi_conformance.find_nonconformance`, what `schemathesis run` runs)
sends generated requests to one events service started for the module (with the registry,
whose organisations and keys it learns from Kafka), in all four phases, with every check of the
installed schemathesis. Each run is made anonymously, with the staff key and with an
organisation's key; the coverage phase (the same boundary cases whoever sends them) and the
stateful phase (whose chains start where staff create records) run with the staff key only.
`MAX_EXAMPLES` cases per operation in fuzzing (fewer where most operations stop at 401 or 403),
`STATEFUL_EXAMPLES` scenarios, no shrinking, a fixed seed, so the module stays well under three
minutes on a small machine.

Generated ids would only meet 404s, so requests are pointed at seeded records
(`point_at_records`): encuentros in every state (a draft; published with registrations and a
waiting list; in progress with check-ins and a round; closed with needs and offers; with
results published; cancelled), their registrations, rounds and groups, and commitments; and
codes and registration ids in bodies at seeded participants. Staff status changes go to an
encuentro of their own each (`Target.disposable`), so the seeded ones stay in their states.
The rules the schema cannot state (an encuentro's window, a commitment's organisations and
region, the organisation staff register people for) are taught to the generator by
`events_rules`, which this module tells what the service knows.

The schema is built from the app in a child process (no logging side effects);
``test_the_served_document_is_the_tested_one`` makes sure the running service serves that
same document.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from schemathesis.generation.case import Case

from tests.harness.events import (
    create_encuentro,
    encuentro_body,
    move,
    participant,
    wait_until_known,
)
from tests.harness.processes import ROOT, STAFF, ServiceProcess, Stack, eventually, running
from tests.harness.registry import bearer, register_active, registration, settled_client
from tests.integration import events_rules
from tests.integration.openapi_conformance import PHASES as PHASES_ALL
from tests.integration.openapi_conformance import find_nonconformance, ids_from, pool_index, report

ANONYMOUS, STAFF_LABEL, ORGANIZATION = "anónimo", "equipo", "organización"
# The coverage phase enumerates the same boundary cases whoever sends them; anonymously and with
# an organisation's key most operations stop at 401 or 403, so it runs with the staff key only.
# So does the stateful phase: its chains start where records are created, which is staff's
# (encuentros, status changes, rounds, commitments); anonymously nothing is, and an
# organisation's scenarios spent themselves on 403s without following a link.
PHASES = {
    ANONYMOUS: ("examples", "fuzzing"),
    STAFF_LABEL: PHASES_ALL,
    ORGANIZATION: ("examples", "fuzzing"),
}
# Cases per operation in fuzzing: fewer where most operations answer 401 or 403 at once.
MAX_EXAMPLES = {ANONYMOUS: 6, STAFF_LABEL: 10, ORGANIZATION: 8}
STATEFUL_EXAMPLES = 25  # scenarios of the stateful phase: cheap, and they reach further links
ISSUED_ID = re.compile(r"[0-9a-f]{32}")  # what the service's ids look like (uuid4 hex)
HEAD_OFFICES = ["CL-RM", "CL-BI", "CL-ML", "CL-RM", "CL-NB", "CL-LI"]  # all in centro_sur
SECTORS = ["sociedad_civil", "privado", "publico", "academia"]
STATUS = "/v1/encuentros/{encuentro_id}/status"
CHECKINS = "/v1/encuentros/{encuentro_id}/checkins"
REGISTRATIONS = "/v1/encuentros/{encuentro_id}/registrations"
SPARE_STATES = ("draft", "published", "in_progress", "closed")
_path = ("published", "in_progress", "closed", "results_published")


def openapi_document() -> dict[str, Any]:
    """The events app's OpenAPI document, built in a child process (no logging side effects)."""
    script = (
        "import json\n"
        "from services.events.main import create_app\n"
        "print(json.dumps(create_app().openapi()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return document


DOCUMENT = openapi_document()


# --- the service under test and the records requests are pointed at ------------------------


@dataclass
class Target:
    events: ServiceProcess
    organizations: list[str]  # active, known to the events service; the first has a key here
    key: str  # the first organisation's API key
    encuentros: dict[str, str]  # state → the seeded encuentro in it
    registrations: list[str]
    present: list[str]  # registrations of the encuentro in progress (for check-ins)
    codes: list[str]  # personal codes of checked-in participants
    rounds: list[str]
    commitments: list[str]
    owners: dict[str, str]  # registration id, round id or code → its encuentro
    spare: list[str] = field(default_factory=list)  # for staff's status changes, one each
    _states: Iterator[str] = field(default_factory=lambda: itertools.cycle(SPARE_STATES))

    @property
    def macrozones(self) -> dict[str, str]:
        return {encuentro: "centro_sur" for encuentro in self.encuentros.values()}

    def disposable(self) -> str:
        """An encuentro nothing else is pointed at, for one status change."""
        if self.spare:
            return self.spare.pop()
        with httpx.Client(base_url=self.events.url, timeout=30) as http:
            return seed_in_state(http, next(self._states))

    def header_sets(self) -> dict[str, dict[str, str]]:
        return {ANONYMOUS: {}, STAFF_LABEL: STAFF, ORGANIZATION: bearer(self.key)}


def seed_in_state(http: httpx.Client, state: str, **overrides: Any) -> str:
    encuentro_id = create_encuentro(http, **overrides)
    if state == "draft":
        return encuentro_id
    for step in _path[: _path.index(state) + 1] if state in _path else ("published", state):
        move(http, encuentro_id, step)
    return encuentro_id


def register_people(
    http: httpx.Client, encuentro_id: str, organizations: list[str], count: int
) -> list[dict[str, Any]]:
    """`count` people over the organisations (staff register them); their registrations, as
    staff list them (with their codes)."""
    for n in range(count):
        response = http.post(
            f"/v1/encuentros/{encuentro_id}/registrations",
            json={
                "participant": participant(),
                "organization_id": organizations[n % len(organizations)],
            },
            headers=STAFF,
        )
        assert response.status_code == 201, response.text
    listed = http.get(f"/v1/encuentros/{encuentro_id}/registrations", headers=STAFF)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def under_way(
    http: httpx.Client, encuentro_id: str, people: list[dict[str, Any]], org_key: str
) -> tuple[str, list[dict[str, Any]]]:
    """Check in all but the last, form a round, and state the first organisation's needs and
    offers; the round and those checked in."""
    move(http, encuentro_id, "in_progress")
    present = people[:-1]
    for person in present:
        response = http.post(
            f"/v1/encuentros/{encuentro_id}/checkins",
            json={"registration_id": person["id"]},
            headers=STAFF,
        )
        assert response.status_code == 200, response.text
    formed = http.post(
        f"/v1/encuentros/{encuentro_id}/rounds",
        json={"name": "Intercambio", "question": "¿Cómo colaboramos?", "group_size": 3},
        headers=STAFF,
    )
    assert formed.status_code == 201, formed.text
    assert len(formed.json()["groups"]) >= 2
    stated = http.put(
        f"/v1/encuentros/{encuentro_id}/needs-offers",
        json={"needs": ["difusion"], "offers": ["experiencias"], "needs_detail": "Difundir."},
        headers=bearer(org_key),
    )
    assert stated.status_code == 200, stated.text
    return str(formed.json()["id"]), present


def take_commitment(http: httpx.Client, encuentro_id: str, organizations: list[str]) -> str:
    response = http.post(
        f"/v1/encuentros/{encuentro_id}/commitments",
        json={
            "region": "CL-RM",
            "text": "Mesa regional de articulación cada dos meses.",
            "organization_ids": organizations[:3],
            "responsible_organization_id": organizations[0],
            "due_date": "2027-03-31",
        },
        headers=STAFF,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    stack = Stack()
    try:
        registry, events = stack.service("registry"), stack.service("events")
        with running(registry, events), settled_client(stack, registry) as reg:
            orgs: list[tuple[str, str]] = []
            for i, head in enumerate(HEAD_OFFICES):
                body = registration(head_office_region=head, regions=[head], sector=SECTORS[i % 4])
                orgs.append(register_active(reg, body))
            ids, key = [o for o, _ in orgs], orgs[0][1]
            wait_until_known(stack, ids)
            with httpx.Client(base_url=events.url, timeout=30) as http:
                eventually(lambda: http.get("/v1/me", headers=bearer(key)).status_code == 200)
                target = seed(http, events, ids, key)
            yield target
    finally:
        stack.close()


def seed(http: httpx.Client, events: ServiceProcess, ids: list[str], key: str) -> Target:
    encuentros = {"draft": seed_in_state(http, "draft", title="Encuentro en borrador")}
    registrations: list[str] = []
    codes: list[str] = []
    rounds: list[str] = []
    commitments: list[str] = []
    owners: dict[str, str] = {}

    published = seed_in_state(http, "published", capacity=3)  # 5 people: 2 waiting
    for r in register_people(http, published, ids, 5):
        registrations.append(r["id"])
        owners[r["id"]] = published
    encuentros["published"] = published

    present: list[str] = []
    for state in ("in_progress", "closed", "results_published"):
        encuentro_id = seed_in_state(http, "published", capacity=30)
        people = register_people(http, encuentro_id, ids, 8)
        round_id, checked_in = under_way(http, encuentro_id, people, key)
        registrations += [r["id"] for r in people]
        codes += [r["code"] for r in checked_in]
        rounds.append(round_id)
        owners.update({r["id"]: encuentro_id for r in people})
        owners.update({r["code"]: encuentro_id for r in checked_in})
        owners[round_id] = encuentro_id
        commitments.append(take_commitment(http, encuentro_id, ids))
        if state == "in_progress":
            present = [r["id"] for r in people]
        else:
            move(http, encuentro_id, "closed")
            commitments.append(take_commitment(http, encuentro_id, ids[2:]))
        if state == "results_published":
            move(http, encuentro_id, "results_published")
        encuentros[state] = encuentro_id

    cancelled = seed_in_state(http, "published")
    for r in register_people(http, cancelled, ids, 2):
        registrations.append(r["id"])
        owners[r["id"]] = cancelled
    move(http, cancelled, "cancelled")
    encuentros["cancelled"] = cancelled

    followed = http.patch(
        f"/v1/commitments/{commitments[0]}",
        json={"status": "in_progress", "note": "Primera reunión agendada."},
        headers=bearer(key),
    )
    assert followed.status_code == 200, followed.text

    spare = [seed_in_state(http, state) for state in SPARE_STATES]
    return Target(
        events=events,
        organizations=ids,
        key=key,
        encuentros=encuentros,
        registrations=registrations,
        present=present,
        codes=codes,
        rounds=rounds,
        commitments=commitments,
        owners=owners,
        spare=spare,
    )


def issued(value: str) -> bool:
    """An id the service gave out (a link supplied it) or a group number a link or the
    generator chose among the seeded rounds' (1 or 2): kept as it is."""
    return ISSUED_ID.fullmatch(value) is not None or value in ("1", "2")


def point_at_real_records(target: Target, headers: str) -> Callable[[Case[Any]], None]:
    """Path ids and body codes at seeded records most of the time; the encuentro then at the
    one the registration, round or code belongs to (unless a link gave it); a staff status
    change at an encuentro of its own; a registration mostly at the encuentro open for it."""
    pools = {
        "encuentro_id": list(target.encuentros.values()),
        "registration_id": target.registrations,
        "round_id": target.rounds,
        "number": ["1", "2"],
        "commitment_id": target.commitments,
    }
    point_path = ids_from(pools, issued=issued)

    def point(case: Case[Any]) -> None:
        route = (case.method.upper(), case.operation.path)
        params = case.path_parameters or {}
        generated = params.get("encuentro_id", "")
        chosen = issued(str(generated))  # by a link: kept
        point_path(case)
        belongs = [params.get(name) for name in ("registration_id", "round_id")]
        belongs += point_body(case, target, checkin=route == ("POST", CHECKINS))
        owner = next((target.owners[v] for v in belongs if v in target.owners), None)
        if "encuentro_id" in params and not chosen:
            if route == ("POST", STATUS) and headers == STAFF_LABEL:
                params["encuentro_id"] = target.disposable()
            elif owner is not None:
                params["encuentro_id"] = owner
            elif route == ("POST", REGISTRATIONS) and len(str(generated)) % 3:
                params["encuentro_id"] = target.encuentros["published"]  # open: mostly 201s
        events_rules.repair_for_path(case)

    return point


def point_body(case: Case[Any], target: Target, *, checkin: bool) -> list[str]:
    """Codes and registration ids in bodies at seeded participants most of the time; the
    values it chose."""
    body = case.body
    if not isinstance(body, dict):
        return []
    chosen: list[str] = []
    code = body.get("code")
    if isinstance(code, str) and len(code) <= 20:
        index = pool_index(code, len(target.codes))
        if index is not None:
            body["code"] = target.codes[index]
            chosen.append(target.codes[index])
    registration_id = body.get("registration_id")
    if (
        checkin
        and isinstance(registration_id, str)
        and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", registration_id)
    ):
        index = pool_index(registration_id, len(target.present))
        if index is not None:
            body["registration_id"] = target.present[index]
            chosen.append(target.present[index])
    return chosen


# --- generated requests ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", list(PHASES), ids=list(PHASES))
def test_schemathesis_finds_nothing(target: Target, headers: str) -> None:
    events_rules.teach(
        organizations=target.organizations,
        caller=target.organizations[0] if headers == ORGANIZATION else None,
        macrozones=target.macrozones,
    )
    run = find_nonconformance(
        DOCUMENT,
        target.events.url,
        header_sets={headers: target.header_sets()[headers]},
        point_at_records=point_at_real_records(target, headers),
        max_examples=MAX_EXAMPLES[headers],
        stateful_examples=STATEFUL_EXAMPLES,
        phases=PHASES[headers],
    )
    assert not run.findings, report(run.findings)
    if headers == STAFF_LABEL:  # the stateful phase really chains calls from a new encuentro
        assert "POST /v1/encuentros -> GET /v1/encuentros/{encuentro_id}" in run.links_followed, (
            run.links_followed
        )


def test_the_served_document_is_the_tested_one(target: Target) -> None:
    served = httpx.get(f"{target.events.url}/openapi.json", timeout=15).json()
    assert served == DOCUMENT


# --- what the schema test found or led to, kept as regression tests --------------------------


def test_an_end_before_the_start_is_refused_naming_ends_at(target: Target) -> None:
    # Without the generator's rule, fuzzing met this 422; its field was `body`, not `ends_at`.
    body = encuentro_body(
        starts_at="2026-09-23T10:00:00-03:00", ends_at="2026-09-23T09:00:00-03:00"
    )
    response = httpx.post(f"{target.events.url}/v1/encuentros", json=body, headers=STAFF)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "ends_at", "message": "Debe ser posterior a starts_at."}
    ]


@pytest.mark.parametrize("path", ["/v1/encuentros", "/v1/commitments"])
def test_any_cursor_of_the_documented_pattern_is_a_position(target: Target, path: str) -> None:
    # The coverage phase sent `cursor=-00` (the shared pattern) and got 422.
    documented = DOCUMENT["paths"][path]["get"]["parameters"]
    pattern = next(p for p in documented if p["name"] == "cursor")["schema"]["pattern"]
    for cursor in ("30-00", "3" * 1000 + "-61", "30303030-" + "f" * 32):
        assert re.fullmatch(pattern, cursor)
        response = httpx.get(target.events.url + path, params={"cursor": cursor}, timeout=15)
        assert response.status_code == 200, response.text
    assert httpx.get(target.events.url + path, params={"cursor": "-00"}).status_code == 422


# --- a gap found by reading: the time zone's transitions past the last year there is ------------


def test_an_encuentro_in_the_last_year_there_is_renders_in_the_calendar(target: Target) -> None:
    # Last in the module: once published it is in every calendar (it used to make them 500).
    with httpx.Client(base_url=target.events.url, timeout=30) as http:
        late = create_encuentro(
            http,
            starts_at="9998-12-31T20:00:00-14:00",
            ends_at="9998-12-31T23:00:00-14:00",
        )
        move(http, late, "published")
        response = http.get(f"/v1/encuentros/{late}/calendar.ics")
    assert response.status_code == 200, response.text
