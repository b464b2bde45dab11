"""The registry's public contract, end to end, through the HTTP API of a real registry process.

A test whose outcome depends on what is stored starts its own registry on an isolated database
and topic prefix (``Stack``), so the directory's contents and the registration calls in force
are exactly what the test created; the validation tests share one registry per module. The
confirmation token is read from the private Kafka topic, as the notifier would. Contact data
use distinctive ASCII strings so that a leak into any public output (directory JSON, CSV,
public profile, organisation events) shows up as a plain substring of the raw bytes.

The clients wait for the outbox relay after each write (``settled_client``), so that this
process's own writes to the database never race the relay; whether the registry itself loses
a write when a client does not wait is ``test_writes_racing_the_relay_are_not_lost``'s to say.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.registry.domain.directory import CSV_COLUMNS
from services.registry.domain.profile import CURRENT_TERMS_VERSION
from services.registry.domain.text import normalize_text
from shared.events.registry import (
    OrganizationActivated,
    OrganizationReinstated,
    OrganizationUpdated,
    OrganizationWithdrawn,
)
from shared.events.topics import Topic
from tests.harness.kafka import topic_records
from tests.harness.processes import STAFF, ServiceProcess, Stack, eventually, infra, running
from tests.harness.registry import (
    activate,
    bearer,
    confirmation_token,
    decoded,
    new_contact,
    organization_events,
    register,
    register_active,
    registration,
    settled_client,
    unique,
)

PROBLEM_JSON = "application/problem+json"


def field_errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def problem_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
    return str(response.json()["type"]).rsplit("/", 1)[-1]


def names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


@pytest.fixture
def registry(stack: Stack) -> Iterator[ServiceProcess]:
    proc = stack.service("registry")
    with running(proc):
        yield proc


@pytest.fixture
def http(stack: Stack, registry: ServiceProcess) -> Iterator[httpx.Client]:
    with settled_client(stack, registry) as client:
        yield client


@pytest.fixture(scope="module")
def shared_http() -> Iterator[httpx.Client]:
    """One registry for the tests whose outcome cannot depend on what other tests wrote."""
    stack = Stack()
    try:
        proc = stack.service("registry")
        with running(proc), settled_client(stack, proc) as client:
            yield client
    finally:
        stack.close()


# --- found by this suite: FerretDB loses concurrent updates (shared/storage/locks.py) ---


def test_writes_racing_the_relay_are_not_lost(registry: ServiceProcess) -> None:
    """A client may activate (or patch, suspend…) right after the previous write returned."""
    with registry.client() as http:
        created = [register_active(http, registration()) for _ in range(30)]
        lost = [
            org_id
            for org_id, key in created
            if http.get(f"/v1/organizations/{org_id}", headers=bearer(key)).status_code != 200
        ]
    assert lost == [], f"{len(lost)} of {len(created)} activations were lost"


# --- registration and confirmation -------------------------------------------------------------


def test_registration_confirmation_issues_the_api_key_once(
    stack: Stack, http: httpx.Client
) -> None:
    response = http.post("/v1/organizations", json=registration("Fundación Confirmada"))
    assert response.status_code == 201, response.text
    org_id = response.json()["id"]
    assert response.json() == {"id": org_id, "status": "pending"}
    assert response.headers["location"] == f"/v1/organizations/{org_id}"
    assert http.get(f"/v1/organizations/{org_id}").status_code == 404  # pending: not public

    token = confirmation_token(stack, org_id)
    url = f"/v1/organizations/{org_id}/confirmation"
    assert "token" in field_errors(http.post(url, json={"token": ""}))
    assert "token" in field_errors(http.post(url, json={}))
    wrong = http.post(url, json={"token": token[:-4] + "AAAA"})
    assert (wrong.status_code, problem_type(wrong)) == (403, "token-invalido")
    unknown = http.post("/v1/organizations/no-existe/confirmation", json={"token": token})
    assert unknown.status_code == 404

    confirmed = http.post(url, json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    key = confirmed.json()["api_key"]
    assert confirmed.json() == {"id": org_id, "status": "active", "api_key": key}

    again = http.post(url, json={"token": token})
    assert (again.status_code, problem_type(again)) == (409, "ya-confirmada")
    assert "api_key" not in again.text and key not in again.text

    owner = http.get(f"/v1/organizations/{org_id}", headers=bearer(key))
    assert owner.status_code == 200
    assert owner.json()["contact"]["email"].startswith("ximena.")
    public = http.get(f"/v1/organizations/{org_id}")
    assert public.status_code == 200
    assert public.json()["status"] == "active"
    assert "contact" not in public.json() and "consent" not in public.json()


def test_superseded_and_expired_tokens_are_refused(stack: Stack, http: httpx.Client) -> None:
    org_id = register(http, registration())
    first = confirmation_token(stack, org_id)
    renewed = http.post(f"/v1/organizations/{org_id}/confirmation-request")
    assert renewed.status_code == 202, renewed.text
    second = confirmation_token(stack, org_id, count=2)
    assert second != first

    url = f"/v1/organizations/{org_id}/confirmation"
    old = http.post(url, json={"token": first})
    assert (old.status_code, problem_type(old)) == (403, "token-invalido")

    # Age the pending confirmation past its 72 h lifetime instead of waiting for it.
    past = datetime.now(UTC) - timedelta(minutes=1)
    stack.db("registry").organizations.update_one(
        {"_id": org_id}, {"$set": {"confirmation.expires_at": past}}
    )
    expired = http.post(url, json={"token": second})
    assert (expired.status_code, problem_type(expired)) == (410, "token-expirado")

    assert http.post(f"/v1/organizations/{org_id}/confirmation-request").status_code == 202
    third = confirmation_token(stack, org_id, count=3)
    assert http.post(url, json={"token": third}).status_code == 200


def test_same_rut_with_or_without_dots_is_a_conflict(shared_http: httpx.Client) -> None:
    http = shared_http
    register(http, registration(rut="76086428-5"))
    for rut in ("76.086.428-5", "76086428-5", "760864285", " 76.086.428-5 "):
        response = http.post("/v1/organizations", json=registration(rut=rut))
        assert response.status_code == 409, (rut, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert [e["field"] for e in response.json()["errors"]] == ["rut"]
        assert "76.086.428-5" in response.json()["detail"]


INVALID_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    ({"rut": "76.086.428-4"}, "rut", "dígito verificador"),
    ({"rut": "no-es-un-rut"}, "rut", "formato inválido"),
    ({"head_office_region": "CL-XX"}, "head_office_region", "Región desconocida"),
    ({"regions": ["CL-RM", "XX"]}, "regions.1", "Región desconocida"),
    ({"comunas": ["08101"]}, "comunas.0", "pertenece a la región CL-BI"),
    ({"contact": {"name": "Ana Pérez", "email": "no-es-correo"}}, "contact.email", "correo"),
    ({"website": "ftp://ejemplo.cl"}, "website", "URL válida"),
    ({"website": "https://localhost"}, "website", "URL válida"),
    ({"roles": []}, "roles", "al menos 1"),
    ({"themes": ["pobreza", "pobreza"]}, "themes", "No repita valores"),
    ({"sector": "gobierno"}, "sector", "valores válidos"),
    ({"consent": {"publish_profile": "sí", "terms_version": CURRENT_TERMS_VERSION}},
     "consent.publish_profile", "verdadero o falso"),
    ({"consent": {"publish_profile": True, "terms_version": "2020-1"}},
     "consent.terms_version", "versión vigente"),
    ({"year_founded": 2999}, "year_founded", "posterior"),
    ({"color": "rojo"}, "color", "no existe"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "field", "message"), INVALID_FIELDS)
def test_invalid_registration_names_the_field_in_spanish(
    shared_http: httpx.Client, change: dict[str, Any], field: str, message: str
) -> None:
    errors = field_errors(shared_http.post("/v1/organizations", json=registration(**change)))
    assert field in errors, errors
    assert message in errors[field], errors[field]


def test_every_bad_field_is_reported_at_once(shared_http: httpx.Client) -> None:
    body = registration(
        rut="76.086.428-4",
        head_office_region="CL-XX",
        website="no es una url",
        roles=[],
        contact={"name": "Ana", "email": "ana@"},
    )
    del body["consent"]
    response = shared_http.post("/v1/organizations", json=body)
    errors = field_errors(response)
    assert set(errors) >= {
        "rut",
        "head_office_region",
        "website",
        "roles",
        "contact.email",
        "consent",
    }, errors
    assert errors["consent"] == "Este campo es obligatorio."
    english = ("Field required", "Input should", "value is not", "Value error")
    assert not any(word in response.text for word in english), response.text


# --- the public directory ----------------------------------------------------------------------

# key: (name, overrides); every one is activated except where noted.
DIRECTORY: dict[str, tuple[str, dict[str, Any]]] = {
    "A": ("Fundación Ñandú Austral", {"head_office_region": "CL-MA", "regions": ["CL-MA"]}),
    "B": ("Fundación Educar Norte", {
        "head_office_region": "CL-AN", "regions": ["CL-AN", "CL-CO"], "scope": "nacional",
        "roles": ["estudios"], "themes": ["educacion"],
    }),
    "C": ("Corporación Puentes del Valle", {
        "sector": "privado", "legal_form": "corporacion", "regions": ["CL-RM", "CL-VS"],
        "roles": ["programas", "financiamiento"], "themes": ["pobreza", "vivienda"],
    }),
    "D": ("Empresa Ejemplo SpA", {
        "sector": "privado", "legal_form": "empresa", "head_office_region": "CL-BI",
        "regions": ["CL-BI"], "scope": "comunal", "roles": ["herramientas"],
        "themes": ["medio_ambiente"],
    }),
    "E": ("Universidad del Sur", {
        "sector": "academia", "legal_form": "universidad", "head_office_region": "CL-AR",
        "regions": ["CL-AR", "CL-LR"], "roles": ["entrenamiento", "estudios"],
        "themes": ["pobreza", "educacion"],
    }),
    "F": ("ONG Migrantes Unidos", {
        "legal_form": "ong", "head_office_region": "CL-TA", "regions": ["CL-TA"],
        "scope": "internacional", "roles": ["comunidad_premios"], "themes": ["migracion"],
    }),
    # Never listed: still pending, did not consent to publication, suspended.
    "pending": ("Fundación Pendiente", {}),
    "private": ("Fundación Reservada", {
        "consent": {"publish_profile": False, "terms_version": CURRENT_TERMS_VERSION},
    }),
    "suspended": ("Fundación Suspendida", {"themes": ["pobreza"]}),
}  # fmt: skip
LISTED = "ABCDEF"

FILTERS: list[tuple[dict[str, str], str]] = [
    ({}, LISTED),
    ({"macrozone": "norte_centro"}, "BF"),
    ({"macrozone": "centro_sur"}, "CD"),
    ({"macrozone": "sur_austral"}, "AE"),
    ({"region": "CL-CO"}, "B"),
    ({"region": "CL-VS"}, "C"),  # works there, head office elsewhere
    ({"region": "cl-lr"}, "E"),
    ({"theme": "pobreza"}, "ACE"),
    ({"theme": "educacion"}, "BE"),
    ({"role": "estudios"}, "BE"),
    ({"role": "programas"}, "AC"),
    ({"sector": "privado"}, "CD"),
    ({"sector": "academia"}, "E"),
    ({"scope": "regional"}, "ACE"),
    ({"scope": "internacional"}, "F"),
    ({"q": "fundacion"}, "AB"),
    ({"q": "FUNDACIÓN"}, "AB"),
    ({"q": "nandu"}, "A"),
    ({"q": "valle puentes"}, "C"),
    ({"q": "ximena"}, ""),  # contact names are not searchable
    ({"macrozone": "sur_austral", "theme": "pobreza"}, "AE"),
    ({"macrozone": "sur_austral", "theme": "pobreza", "role": "estudios"}, "E"),
    ({"sector": "sociedad_civil", "scope": "regional"}, "A"),
    ({"theme": "educacion", "q": "fundacion"}, "B"),
    ({"region": "CL-RM", "sector": "academia"}, ""),
]


@pytest.fixture
def directory(http: httpx.Client) -> dict[str, str]:
    """The DIRECTORY organisations, registered and brought to their state; key → name."""
    ids: dict[str, str] = {}
    for key, (name, overrides) in DIRECTORY.items():
        ids[key] = register(http, registration(name, **overrides))
        if key != "pending":
            activate(http, ids[key])
    suspended = http.post(
        f"/v1/organizations/{ids['suspended']}/suspension",
        json={"reason": "Denuncia en revisión"},
        headers=STAFF,
    )
    assert suspended.status_code == 200, suspended.text
    return {key: DIRECTORY[key][0] for key in ids}


def expected(keys: str, directory: dict[str, str]) -> list[str]:
    """Names in directory order: normalised name (accents and case ignored)."""
    return sorted((directory[k] for k in keys), key=normalize_text)


def test_directory_filters_alone_and_combined(
    http: httpx.Client, directory: dict[str, str]
) -> None:
    """One registry for every case (seeding is the slow part); the diff shows each failing case."""
    got: dict[str, list[str]] = {}
    for params, _ in FILTERS:
        page = http.get("/v1/organizations", params=params)
        assert page.status_code == 200, page.text
        assert page.json()["next_cursor"] is None
        got[str(params)] = names(page.json())
    assert got == {str(params): expected(keys, directory) for params, keys in FILTERS}


def test_directory_pages_are_stable_and_csv_uses_the_same_filters(
    http: httpx.Client, directory: dict[str, str]
) -> None:
    def walk(params: dict[str, Any], on_page: Callable[[int], None] = lambda _: None) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        for number in itertools.count():
            query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = http.get("/v1/organizations", params=query).json()
            assert len(page["items"]) <= 2
            seen += names(page)
            on_page(number)
            cursor = page["next_cursor"]
            if cursor is None:
                return seen
            assert number < 10, "pagination does not end"
        raise AssertionError("unreachable")

    everyone = expected(LISTED, directory)
    assert walk({}) == everyone  # 3 pages of 2, no repeats, nothing skipped
    assert walk({}) == everyone  # and the same again
    assert walk({"theme": "pobreza"}) == expected("ACE", directory)

    # An organisation listed mid-walk before the cursor does not shift the following pages.
    def add_one_that_sorts_first(number: int) -> None:
        if number == 0:
            register_active(http, registration("AAA Primera en el Orden", themes=["otro"]))

    assert walk({}, add_one_that_sorts_first) == everyone

    for bad in ("no-es-un-cursor", "Zm9v", "W10", "WyJhIiwxXQ", "x" * 601):
        response = http.get("/v1/organizations", params={"cursor": bad})
        assert "cursor" in field_errors(response), bad
    for params in ({"limit": 0}, {"limit": 201}, {"macrozone": "norte"}, {"format": "xml"}):
        assert field_errors(http.get("/v1/organizations", params=params)), params

    csv_response = http.get("/v1/organizations", params={"format": "csv", "theme": "pobreza"})
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row[CSV_COLUMNS.index("name")] for row in rows[1:]] == expected("ACE", directory)
    everything = list(csv.DictReader(io.StringIO(http.get("/v1/organizations?format=csv").text)))
    assert len(everything) == len(LISTED) + 1  # plus "AAA Primera en el Orden"
    empty = http.get("/v1/organizations", params={"format": "csv", "q": "no hay tal"})
    assert list(csv.reader(io.StringIO(empty.text))) == [list(CSV_COLUMNS)]


# --- owner changes and withdrawal ------------------------------------------------------------


def test_owner_patch_is_published_with_provenance_and_redacted_contact(
    stack: Stack, http: httpx.Client
) -> None:
    contact = new_contact()
    org_id, key = register_active(http, registration("Fundación Original", contact=contact.body()))
    url = f"/v1/organizations/{org_id}"
    new_contact_data = new_contact()

    patch = {
        "name": "Fundación Renombrada",
        "themes": ["pobreza", "vivienda"],
        "contact": {"email": new_contact_data.email, "phone": new_contact_data.phone_typed},
    }
    changed = http.patch(url, json=patch, headers=bearer(key))
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Fundación Renombrada"
    assert changed.json()["contact"]["email"] == new_contact_data.email
    assert changed.json()["contact"]["name"] == contact.name  # untouched sub-field kept
    public = http.get(url).json()
    assert (public["name"], public["themes"]) == ("Fundación Renombrada", ["pobreza", "vivienda"])
    assert names(http.get("/v1/organizations", params={"q": "renombrada"}).json()) == [
        "Fundación Renombrada"
    ]

    # Sending the current values again changes nothing and publishes nothing.
    before = http.get(url, headers=bearer(key)).json()
    same = http.patch(url, json={"name": "Fundación Renombrada"}, headers=bearer(key))
    assert same.status_code == 200, same.text
    assert http.get(url, headers=bearer(key)).json() == before
    by_staff = http.patch(url, json={"scope": "nacional"}, headers=STAFF)
    assert by_staff.status_code == 200, by_staff.text

    updates = organization_events(stack, org_id, OrganizationUpdated, count=2)
    assert len(updates) == 2
    first, second = (e.data for e in updates)
    changes = {c["field"]: c for c in first["changes"]}
    assert changes["name"] == {
        "field": "name",
        "old": "Fundación Original",
        "new": "Fundación Renombrada",
        "redacted": False,
    }
    assert changes["themes"]["old"] == ["pobreza"]
    assert changes["themes"]["new"] == ["pobreza", "vivienda"]
    assert changes["contact.email"] == {"field": "contact.email", "redacted": True}
    assert changes["contact.phone"] == {"field": "contact.phone", "redacted": True}
    assert set(changes) == {"name", "themes", "contact.email", "contact.phone"}
    assert first["changed_by"] == {"kind": "owner", "id": org_id}
    assert second["changes"] == [
        {"field": "scope", "old": "regional", "new": "nacional", "redacted": False}
    ]
    assert second["changed_by"] == {"kind": "staff", "id": "bootstrap"}
    raw = b"".join(
        bytes(r.value) for r in topic_records(stack.topic(Topic.REGISTRY_ORGANIZATIONS)) if r.value
    )
    for needle in contact.needles + new_contact_data.needles:
        assert needle.encode() not in raw, needle

    refused = http.patch(url, json={"rut": "76.086.428-5"}, headers=bearer(key))
    assert "RUT no se puede modificar" in field_errors(refused)["rut"]
    merged = http.patch(url, json={"comunas": ["08101"]}, headers=bearer(key))
    assert "pertenece a la región CL-BI" in field_errors(merged)["comunas.0"]
    nulled = http.patch(url, json={"roles": None}, headers=bearer(key))
    assert "no puede quedar vacío" in field_errors(nulled)["roles"]


def test_owner_withdrawal_erases_contact_and_keeps_the_fact(
    stack: Stack, http: httpx.Client
) -> None:
    org_id, key = register_active(http, registration("Fundación que se Retira"))
    url = f"/v1/organizations/{org_id}"

    withdrawn = http.delete(url, headers=bearer(key))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json() == {"id": org_id, "status": "withdrawn", "verified": False}

    gone = http.get(url)
    assert (gone.status_code, problem_type(gone)) == (410, "organizacion-retirada")
    staff_view = http.get(url, headers=STAFF).json()
    assert staff_view["status"] == "withdrawn"
    assert staff_view["contact"] is None
    assert staff_view["description"] is None
    assert staff_view["api_keys"] == 0
    assert staff_view["withdrawn_at"] is not None
    assert staff_view["consent"]["publish_profile"] is False
    assert staff_view["rut"] and staff_view["name"] == "Fundación que se Retira"
    doc = stack.db("registry").organizations.find_one({"_id": org_id})
    assert doc["contact"] is None and doc["api_key_hashes"] == []

    assert http.get(url, headers=bearer(key)).status_code == 401  # the key died with it
    assert http.get("/v1/organizations", params={"q": "retira"}).json()["items"] == []
    again = http.patch(url, json={"name": "Otra"}, headers=STAFF)
    assert (again.status_code, problem_type(again)) == (410, "organizacion-retirada")

    (event,) = organization_events(stack, org_id, OrganizationWithdrawn)
    assert event.data["previous_status"] == "active"
    assert event.data["changed_by"] == {"kind": "owner", "id": org_id}
    assert event.data["organization"]["listed"] is False


# --- staff decisions -----------------------------------------------------------------------------


def test_staff_activation_verification_and_suspension(stack: Stack, http: httpx.Client) -> None:
    org_id = register(http, registration("Fundación Revisada"))
    url = f"/v1/organizations/{org_id}"
    assert "reason" in field_errors(http.post(f"{url}/activation", json={}, headers=STAFF))
    assert "reason" in field_errors(
        http.post(f"{url}/activation", json={"reason": "no"}, headers=STAFF)
    )
    early = http.post(f"{url}/suspension", json={"reason": "Prueba"}, headers=STAFF)
    assert (early.status_code, problem_type(early)) == (409, "transicion-invalida")

    key = activate(http, org_id, reason="Confirmó por teléfono")
    assert http.get(url, headers=bearer(key)).status_code == 200
    again = http.post(f"{url}/activation", json={"reason": "Otra vez"}, headers=STAFF)
    assert again.status_code == 409
    audit = http.get(url, headers=STAFF).json()["audit"]
    assert audit[-1]["action"] == "activated"
    assert audit[-1]["reason"] == "Confirmó por teléfono"
    (activated,) = organization_events(stack, org_id, OrganizationActivated)
    assert activated.data["reason"] == "Confirmó por teléfono"
    assert activated.data["changed_by"] == {"kind": "staff", "id": "bootstrap"}

    verified = http.post(
        f"{url}/verification", json={"verified": True, "reason": "RUT revisado"}, headers=STAFF
    )
    assert verified.json() == {"id": org_id, "status": "active", "verified": True}
    assert http.get(url).json()["verified"] is True
    assert [o["verified"] for o in http.get("/v1/organizations").json()["items"]] == [True]

    suspended = http.post(f"{url}/suspension", json={"reason": "Denuncia"}, headers=STAFF)
    assert suspended.json() == {"id": org_id, "status": "suspended", "verified": True}
    assert http.get("/v1/organizations").json()["items"] == []
    assert "Revisada" not in http.get("/v1/organizations?format=csv").text
    assert http.get(url).status_code == 404
    assert http.get(url, headers=bearer(key)).json()["status"] == "suspended"
    assert http.get(url, headers=STAFF).json()["status"] == "suspended"

    back = http.post(f"{url}/reinstatement", json={"reason": "Aclarado"}, headers=STAFF)
    assert back.json()["status"] == "active"
    assert names(http.get("/v1/organizations").json()) == ["Fundación Revisada"]
    organization_events(stack, org_id, OrganizationReinstated)
    history = [
        e.type
        for e in unique(decoded(topic_records(stack.topic(Topic.REGISTRY_ORGANIZATIONS))))
        if e.subject == org_id
    ]
    assert history == [
        f"cl.articula.registry.organization_{name}.v1"
        for name in ("registered", "activated", "verified", "suspended", "reinstated")
    ]


def test_staff_see_pending_registrations_with_duplicate_warnings(http: httpx.Client) -> None:
    first = register(http, registration("Fundación Ejemplo", website="https://ejemplo.cl"))
    same_name = register(http, registration("Fundacion Ejemplo SpA", website="https://otro.cl"))
    same_site = register(
        http, registration("Otra Organización", website="https://www.ejemplo.cl/contacto")
    )
    unrelated = register(http, registration("Sin Relación", website="https://distinto.cl"))
    activated = register(http, registration("Ejemplo", website="https://tercero.cl"))
    activate(http, activated)

    response = http.get("/v1/staff/organizations", params={"status": "pending"}, headers=STAFF)
    assert response.status_code == 200, response.text
    records = {r["organization"]["id"]: r for r in response.json()["items"]}
    assert set(records) == {first, same_name, same_site, unrelated}

    def warnings(org_id: str) -> set[tuple[str, str]]:
        return {(w["organization_id"], w["reason"]) for w in records[org_id]["duplicates"]}

    assert warnings(first) == {
        (same_name, "same_name"),
        (same_site, "same_website_domain"),
        (activated, "same_name"),
    }
    assert warnings(same_name) == {(first, "same_name"), (activated, "same_name")}
    assert warnings(same_site) == {(first, "same_website_domain")}
    assert warnings(unrelated) == set()
    assert all(r["organization"]["contact"] for r in records.values())  # staff see contacts

    everyone = http.get("/v1/staff/organizations", headers=STAFF).json()["items"]
    active = next(r for r in everyone if r["organization"]["id"] == activated)
    assert active["duplicates"] == []  # warnings are for the pending queue only


# --- registration calls and counts -----------------------------------------------------------


def test_registration_calls_group_registrations_and_staff_count_them(http: httpx.Client) -> None:
    now = datetime.now(UTC)
    opened = http.post(
        "/v1/calls",
        json={
            "name": "Convocatoria de prueba",
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(hours=1)).isoformat(),
        },
        headers=STAFF,
    )
    assert opened.status_code == 201, opened.text
    call_id = opened.json()["id"]
    assert [c["id"] for c in http.get("/v1/calls").json()] == [call_id]

    window_start = datetime.now(UTC)
    in_call = [
        register(http, registration(sector="sociedad_civil")),
        register(http, registration(sector="sociedad_civil")),
        register(http, registration(sector="privado", legal_form="empresa")),
    ]
    window_end = datetime.now(UTC)
    for org_id in in_call:
        assert http.get(f"/v1/organizations/{org_id}", headers=STAFF).json()["call_id"] == call_id
    activate(http, in_call[0])
    assert http.get(f"/v1/organizations/{in_call[0]}").json()["call_id"] == call_id

    closed = http.post(f"/v1/calls/{call_id}/closure", headers=STAFF)
    assert closed.status_code == 200, closed.text
    after = register(http, registration(sector="publico", legal_form="municipio"))
    assert http.get(f"/v1/organizations/{after}", headers=STAFF).json()["call_id"] is None

    future = http.post(
        "/v1/calls",
        json={
            "name": "Convocatoria exclusiva",
            "opens_at": (now + timedelta(days=10)).isoformat(),
            "closes_at": (now + timedelta(days=20)).isoformat(),
            "exclusive": True,
        },
        headers=STAFF,
    )
    assert future.status_code == 201, future.text
    refused = http.post("/v1/organizations", json=registration())
    assert (refused.status_code, problem_type(refused)) == (409, "registro-cerrado")
    assert "Convocatoria exclusiva" in refused.json()["detail"]

    summary = http.get(
        "/v1/staff/registrations/summary",
        params={
            "by": "sector",
            "registered_from": window_start.isoformat(),
            "registered_to": window_end.isoformat(),
        },
        headers=STAFF,
    )
    assert summary.status_code == 200, summary.text
    assert summary.json()["total"] == 3
    assert summary.json()["counts"] == {"privado": 1, "sociedad_civil": 2}
    by_call = http.get(
        "/v1/staff/registrations/summary", params={"by": "call_id"}, headers=STAFF
    ).json()
    assert by_call["counts"] == {call_id: 3, "sin_respuesta": 1}
    in_the_call = http.get(
        "/v1/staff/registrations/summary",
        params={"by": "status", "call_id": call_id},
        headers=STAFF,
    ).json()
    assert (in_the_call["total"], in_the_call["counts"]) == (3, {"active": 1, "pending": 2})
    naive = http.get(
        "/v1/staff/registrations/summary",
        params={"registered_from": "2026-09-01T00:00:00"},
        headers=STAFF,
    )
    assert "registered_from" in field_errors(naive)


# --- personal data never reaches a public output ---------------------------------------------


def test_no_public_output_contains_contact_data(stack: Stack, http: httpx.Client) -> None:
    contacts = [new_contact() for _ in range(3)]
    confirmed = register(http, registration("Fundación Pública Uno", contact=contacts[0].body()))
    token = confirmation_token(stack, confirmed)
    key = http.post(f"/v1/organizations/{confirmed}/confirmation", json={"token": token}).json()[
        "api_key"
    ]
    activated, _ = register_active(
        http, registration("Fundación Pública Dos", contact=contacts[1].body())
    )
    withdrawn, withdrawn_key = register_active(
        http, registration("Fundación Pública Tres", contact=contacts[2].body())
    )
    replacement = new_contact()
    patched = http.patch(
        f"/v1/organizations/{confirmed}",
        json={"contact": replacement.body(), "description": "Nueva descripción"},
        headers=bearer(key),
    )
    assert patched.status_code == 200, patched.text
    for path, body in (("verification", {"verified": True, "reason": "Revisado"}),
                       ("suspension", {"reason": "Revisión"}),
                       ("reinstatement", {"reason": "Revisado"})):  # fmt: skip
        response = http.post(f"/v1/organizations/{activated}/{path}", json=body, headers=STAFF)
        assert response.status_code == 200, response.text
    assert http.delete(f"/v1/organizations/{withdrawn}", headers=bearer(withdrawn_key)).is_success

    public: list[bytes] = []
    for params in ({}, {"format": "csv"}, {"q": "publica"}, {"limit": 1}, {"theme": "pobreza"}):
        public.append(http.get("/v1/organizations", params=params).content)
    for org_id in (confirmed, activated, withdrawn):
        public.append(http.get(f"/v1/organizations/{org_id}").content)
    organization_events(stack, withdrawn, OrganizationWithdrawn)
    for record in topic_records(stack.topic(Topic.REGISTRY_ORGANIZATIONS)):
        public += [record.key or b"", record.value or b""]
        public += [value for _, value in record.headers]
    text = b"\n".join(public).decode("utf-8", errors="replace").casefold()
    assert "fundación pública uno" in text  # the outputs were really collected
    for contact in [*contacts, replacement]:
        for needle in contact.needles:
            assert needle.casefold() not in text, needle
    assert token.casefold() not in text and key.casefold() not in text

    # The needles are real: the private topic (for the notifier) does hold the e-mail.
    private = b"".join(
        r.value or b"" for r in topic_records(stack.topic(Topic.REGISTRY_NOTIFICATIONS))
    )
    assert contacts[0].email.encode() in private


# --- the catalogue (services/registry/storage/catalog.py) ---------------------------------------


def test_restarted_registry_reloads_its_catalogue(
    stack: Stack, registry: ServiceProcess, http: httpx.Client
) -> None:
    org_id, key = register_active(http, registration("Fundación Memoria Larga"))
    registry.stop()
    registry.start().wait_ready()  # ready only once the catalogue is loaded
    assert registry.metric("articula_registry_catalogue_loaded") == 1
    assert registry.metric("articula_registry_catalogue_entries") >= 1
    with httpx.Client(base_url=registry.url, timeout=15) as fresh:
        page = fresh.get("/v1/organizations", params={"q": "memoria larga"})
        assert [item["id"] for item in page.json()["items"]] == [org_id]
        owner = fresh.get(f"/v1/organizations/{org_id}", headers={"Authorization": f"Bearer {key}"})
        assert owner.status_code == 200 and "contact" in owner.json()


def test_a_second_instance_follows_the_first_ones_changes(
    stack: Stack, registry: ServiceProcess, http: httpx.Client
) -> None:
    """Several registry instances (on MongoDB): each keeps its catalogue from the topic."""
    follower = stack.service("registry", label="registry-follower")
    with running(follower), httpx.Client(base_url=follower.url, timeout=15) as other:
        org_id, _ = register_active(http, registration("Fundación Segunda Vista"))

        def listed_by_follower() -> list[str]:
            page = other.get("/v1/organizations", params={"q": "segunda vista"}).json()
            return [item["id"] for item in page["items"]]

        assert eventually(listed_by_follower, timeout=30) == [org_id]
        suspended = http.post(
            f"/v1/organizations/{org_id}/suspension", json={"reason": "Revisión"}, headers=STAFF
        )
        assert suspended.status_code == 200
        eventually(lambda: listed_by_follower() == [], timeout=30)


def test_the_follower_catches_up_after_a_broker_restart(
    stack: Stack, registry: ServiceProcess, http: httpx.Client
) -> None:
    """Changes made while Kafka is down reach the second instance once it is back."""
    follower = stack.service("registry", label="registry-follower")
    with running(follower), httpx.Client(base_url=follower.url, timeout=15) as other:
        infra("kafka", "stop")
        try:
            # The write path does not need Kafka: state and events land in the database.
            response = httpx.post(
                f"{registry.url}/v1/organizations",
                json=registration("Fundación Corte De Luz"),
                timeout=15,
            )
            assert response.status_code == 201, response.text
            org_id = str(response.json()["id"])
        finally:
            infra("kafka", "start")
        activate(http, org_id)

        def listed_by_follower() -> list[str]:
            page = other.get("/v1/organizations", params={"q": "corte de luz"}).json()
            return [item["id"] for item in page["items"]]

        assert eventually(listed_by_follower, timeout=120) == [org_id]


def test_both_instances_keep_their_catalogues_through_a_database_restart(
    stack: Stack, registry: ServiceProcess, http: httpx.Client
) -> None:
    follower = stack.service("registry", label="registry-follower")
    with running(follower), httpx.Client(base_url=follower.url, timeout=15) as other:
        infra("ferretdb", "restart")
        registry.wait_ready()
        org_id, _ = register_active(http, registration("Fundación Reinicio Base"))

        def listed_by(client: httpx.Client) -> list[str]:
            page = client.get("/v1/organizations", params={"q": "reinicio base"}).json()
            return [item["id"] for item in page["items"]]

        assert listed_by(http) == [org_id]
        assert eventually(lambda: listed_by(other), timeout=60) == [org_id]
