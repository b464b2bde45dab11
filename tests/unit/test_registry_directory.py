"""Unit tests for the registry's public views, directory query, cursor, CSV and duplicates."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.registry.domain.directory import (
    CSV_COLUMNS,
    DIRECTORY_SORT,
    DirectoryQuery,
    decode_cursor,
    directory_csv,
    directory_filter,
    directory_page,
    encode_cursor,
    iter_csv,
    pending_filter,
)
from services.registry.domain.duplicates import (
    duplicate_candidates_filter,
    find_duplicates,
    normalized_name,
    website_domain,
)
from services.registry.domain.errors import InvalidCursor, NotFound, OrganizationWithdrawn
from services.registry.domain.organization import (
    Organization,
    organization_document,
    organization_from_document,
)
from services.registry.domain.profile import CURRENT_TERMS_VERSION, OrganizationCreate
from services.registry.domain.text import normalize_text
from services.registry.domain.views import (
    PublicProfile,
    owner_view,
    public_profile,
    public_view,
    public_view_or_error,
    staff_view,
)
from shared.events.registry import Actor
from shared.problems import errors_from_pydantic
from shared.reference.rut import format_rut

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
EMAIL = "contacto.privado@ejemplo.cl"
PHONE = "+56912345678"


def make(
    number: int,
    name: str,
    *,
    confirm: bool = True,
    publish: bool = True,
    **overrides: Any,
) -> Organization:
    data: dict[str, Any] = {
        "rut": format_rut(70_000_000 + number),
        "name": name,
        "sector": "sociedad_civil",
        "legal_form": "fundacion",
        "head_office_region": "CL-RM",
        "scope": "regional",
        "roles": ["programas"],
        "themes": ["pobreza"],
        "website": f"https://org{number}.cl",
        "contact": {"name": "Persona Privada", "email": EMAIL, "phone": PHONE},
        "consent": {"publish_profile": publish, "terms_version": CURRENT_TERMS_VERSION},
    }
    data.update(overrides)
    outcome = Organization.register(
        OrganizationCreate.model_validate(data),
        now=NOW,
        organization_id=f"org-{number:03d}",
        token="cnf_t",
    )
    org = outcome.organization
    return org.confirm("cnf_t", NOW, api_key="org_k").organization if confirm else org


# --- a tiny evaluator for the MongoDB operators FerretDB 1.x supports ---------------------------

ALLOWED_OPERATORS = {"$and", "$or", "$gt", "$lt", "$in", "$ne", "$regex"}


def operators(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("$"):
                found.add(key)
            found |= operators(value)
    elif isinstance(node, list):
        for item in node:
            found |= operators(item)
    return found


def lookup(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def matches(doc: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, cond in query.items():
        if key == "$and":
            if not all(matches(doc, sub) for sub in cond):
                return False
            continue
        if key == "$or":
            if not any(matches(doc, sub) for sub in cond):
                return False
            continue
        value = lookup(doc, key)
        values = value if isinstance(value, list) else [value]
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if op == "$gt" and not any(v is not None and v > arg for v in values):
                    return False
                if op == "$ne" and arg in values:
                    return False
                if op == "$regex" and not any(
                    isinstance(v, str) and re.search(arg, v) for v in values
                ):
                    return False
        elif cond not in values:
            return False
    return True


def run(docs: list[dict[str, Any]], query: DirectoryQuery) -> list[Organization]:
    """What the storage layer does: filter, sort by DIRECTORY_SORT, limit + 1."""
    assert [field for field, _ in DIRECTORY_SORT] == ["name_sort", "_id"]
    found = [d for d in docs if matches(d, directory_filter(query))]
    found.sort(key=lambda d: (d["name_sort"], d["_id"]))
    return [organization_from_document(d) for d in found[: query.limit + 1]]


@pytest.fixture
def docs() -> list[dict[str, Any]]:
    orgs = [
        make(1, "Fundación Ñandú", regions=["CL-VS"], themes=["educacion"]),
        make(2, "Corporación Alerce", head_office_region="CL-AR", sector="academia"),
        make(3, "ONG Raíces", roles=["concursos", "programas"], scope="nacional"),
        make(4, "Empresa Ñandú SpA", sector="privado", legal_form="empresa"),
        make(5, "Fundación Pendiente", confirm=False),
        make(6, "Fundación Privada", publish=False),
        make(7, "Fundación Suspendida").suspend("motivo", "staff", NOW).organization,
        make(8, "Fundación Retirada").withdraw(Actor(kind="owner", id="org-008"), NOW).organization,
        make(9, "Alerce", short_name="Red Bosque"),
    ]
    return [organization_document(org) for org in orgs]


# --- directory filter -------------------------------------------------------------------------


def names(rows: list[Organization]) -> list[str]:
    return [org.name for org in rows]


def test_only_active_consenting_organisations_are_listed(docs: list[dict[str, Any]]) -> None:
    assert names(run(docs, DirectoryQuery())) == [
        "Alerce",
        "Corporación Alerce",
        "Empresa Ñandú SpA",
        "Fundación Ñandú",
        "ONG Raíces",
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"macrozone": "sur_austral"}, ["Corporación Alerce"]),
        ({"region": "CL-VS"}, ["Fundación Ñandú"]),
        ({"region": "cl-rm"}, ["Alerce", "Empresa Ñandú SpA", "Fundación Ñandú", "ONG Raíces"]),
        ({"theme": "educacion"}, ["Fundación Ñandú"]),
        ({"role": "concursos"}, ["ONG Raíces"]),
        ({"sector": "privado"}, ["Empresa Ñandú SpA"]),
        ({"scope": "nacional"}, ["ONG Raíces"]),
        ({"q": "nandu"}, ["Empresa Ñandú SpA", "Fundación Ñandú"]),
        ({"q": "ÑANDÚ fundación"}, ["Fundación Ñandú"]),
        ({"q": "bosque"}, ["Alerce"]),  # short name searched too
        ({"q": "raíces", "sector": "privado"}, []),
        ({"q": "(raíces*"}, ["ONG Raíces"]),  # punctuation never reaches the regex
        (
            {"q": "!!!"},
            ["Alerce", "Corporación Alerce", "Empresa Ñandú SpA", "Fundación Ñandú", "ONG Raíces"],
        ),
        (
            {"sector": "sociedad_civil", "region": "CL-RM", "theme": "pobreza"},
            ["Alerce", "ONG Raíces"],
        ),
    ],
)
def test_filters_combine(
    docs: list[dict[str, Any]], params: dict[str, Any], expected: list[str]
) -> None:
    assert names(run(docs, DirectoryQuery.model_validate(params))) == expected


def test_filter_uses_only_ferretdb_operators() -> None:
    query = DirectoryQuery.model_validate(
        {
            "macrozone": "norte_centro",
            "region": "CL-VS",
            "theme": "pobreza",
            "role": "programas",
            "sector": "publico",
            "scope": "comunal",
            "q": "uno dos (tres) [cuatro]",
            "cursor": encode_cursor("m", "org-1"),
        }
    )
    used = operators(directory_filter(query))
    assert used <= ALLOWED_OPERATORS
    assert "$text" not in used and "$where" not in used


def test_search_words_are_escaped_and_normalised() -> None:
    query = DirectoryQuery.model_validate({"q": "Árbol+ (Sur)"})
    clauses = directory_filter(query)["$and"]
    regexes = [c["name_search"]["$regex"] for c in clauses if "name_search" in c]
    assert regexes == ["arbol", "sur"]
    assert normalize_text("  Fundación  Ñandú, S.A. ") == "fundacion nandu s a"


def test_pagination_is_stable_and_complete(docs: list[dict[str, Any]]) -> None:
    # same names: ties broken by id
    docs += [organization_document(make(20 + i, "Alerce")) for i in range(3)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        rows = run(docs, DirectoryQuery(limit=2, cursor=cursor))
        page = directory_page(rows, 2)
        seen += [item.id for item in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    everything = directory_page(run(docs, DirectoryQuery(limit=200)), 200)
    assert everything.next_cursor is None
    assert seen == [item.id for item in everything.items]
    assert len(seen) == len(set(seen)) == 8 and pages == 4
    assert seen[:4] == ["org-009", "org-020", "org-021", "org-022"]


def test_cursor_round_trip_and_opacity() -> None:
    cursor = encode_cursor("fundacion nandu", "org-001")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert decode_cursor(cursor) == ("fundacion nandu", "org-001")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "bm90IGpzb24",  # "not json"
        encode_cursor("a", "b")[:-3],
        "WyJhIl0",  # ["a"]
        "WzEsMl0",  # [1,2]
        "",
    ],
)
def test_invalid_cursor_is_a_spanish_domain_error(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as info:
        directory_filter(DirectoryQuery(cursor=cursor))
    assert info.value.status == 422
    assert info.value.errors == [
        {
            "field": "cursor",
            "message": "El cursor no es válido; use el valor next_cursor de la respuesta anterior.",
        }
    ]


def test_query_validation_messages() -> None:
    with pytest.raises(ValidationError) as info:
        DirectoryQuery.model_validate(
            {"limit": 0, "macrozone": "sur", "theme": "x", "format": "xml", "foo": 1}
        )
    fields = {e["field"]: e["message"] for e in errors_from_pydantic(info.value.errors())}
    assert set(fields) == {"limit", "macrozone", "theme", "format", "foo"}
    assert fields["limit"] == "Debe ser mayor o igual a 1."
    assert fields["macrozone"].startswith("Macrozona desconocida")
    assert DirectoryQuery().limit == 50
    with pytest.raises(ValidationError):
        DirectoryQuery(limit=201)


def test_pending_filter() -> None:
    pending = make(30, "Nueva", confirm=False)
    assert matches(organization_document(pending), pending_filter())
    assert not matches(organization_document(make(31, "Activa")), pending_filter())


# --- views ------------------------------------------------------------------------------------


def test_public_view_has_no_personal_data() -> None:
    org = make(1, "Fundación Ñandú", description="Ayudamos a familias.")
    data = public_profile(org)
    assert set(data) == set(PublicProfile.model_fields)
    assert "contact" not in data and "consent" not in data
    text = json.dumps(data, ensure_ascii=False)
    for private in (EMAIL, PHONE, "Persona Privada", "cnf_t", "org_k", "hash", "audit"):
        assert private not in text
    assert data["macrozone"] == "centro_sur" and data["status"] == "active"
    assert data["description"] == "Ayudamos a familias."


def test_owner_and_staff_views() -> None:
    org = make(1, "Fundación Ñandú").verify("estatutos", "staff", NOW).organization
    owner = owner_view(org)
    assert owner.contact is not None and owner.contact.email == EMAIL
    assert owner.consent is not None and owner.consent.terms_version == CURRENT_TERMS_VERSION
    assert "audit" not in owner.model_dump()
    staff = staff_view(org)
    assert staff.api_keys == 1
    assert [entry.action for entry in staff.audit] == ["registered", "confirmed", "verified"]
    assert "org_k" not in staff.model_dump_json()
    pending = staff_view(make(2, "Pendiente", confirm=False))
    assert pending.confirmation_expires_at is not None
    assert "cnf_t" not in pending.model_dump_json()


def test_public_view_or_error() -> None:
    assert public_view_or_error(make(1, "Activa")).name == "Activa"
    for hidden in (make(2, "Pendiente", confirm=False), make(3, "Privada", publish=False)):
        with pytest.raises(NotFound):
            public_view_or_error(hidden)
    gone = make(4, "Retirada").withdraw(Actor(kind="owner", id="org-004"), NOW).organization
    with pytest.raises(OrganizationWithdrawn) as info:
        public_view_or_error(gone)
    assert info.value.status == 410 and "2026-09-01" in info.value.detail


# --- CSV --------------------------------------------------------------------------------------


def test_csv_columns_lists_and_encoding() -> None:
    orgs = [
        make(1, "Fundación Ñandú", regions=["CL-VS"], themes=["educacion", "pobreza"]),
        make(2, '=HYPERLINK("http://malo")', description='Dice "hola", y\nadiós'),
    ]
    text = directory_csv([public_view(org) for org in orgs])
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in rows] == ["org-001", "org-002"]
    first, second = rows
    assert first["regions"] == "CL-VS;CL-RM" and first["themes"] == "pobreza;educacion"
    assert first["name"] == "Fundación Ñandú" and first["links_with_others"] == ""
    assert first["verified"] == "false" and first["macrozone"] == "centro_sur"
    assert second["name"].startswith("'=HYPERLINK")
    assert second["description"] == 'Dice "hola", y\nadiós'
    assert EMAIL not in text and PHONE not in text
    text.encode("utf-8")  # plain UTF-8, no surrogates


def test_csv_streaming_matches_whole() -> None:
    profiles = [public_view(make(i, f"Org {i}")) for i in range(1, 4)]
    assert "".join(iter_csv(profiles)) == directory_csv(profiles)
    assert len(list(iter_csv(profiles, header=False))) == 3
    assert directory_csv([]) == ",".join(CSV_COLUMNS) + "\r\n"


# --- duplicates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Fundación Ejemplo", "ejemplo"),
        ("EJEMPLO S.A.", "ejemplo"),
        ("Ejemplo SpA", "ejemplo"),
        ("Corporación de Ejemplo Ltda.", "ejemplo"),
        ("ONG  Ejemplo!", "ejemplo"),
        ("Fundación", "fundacion"),
        ("Fundación Las Ñipas", "nipas"),
    ],
)
def test_normalized_name(name: str, key: str) -> None:
    assert normalized_name(name) == key


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.Ejemplo.cl/quienes", "ejemplo.cl"),
        ("http://ejemplo.cl.", "ejemplo.cl"),
        ("https://sub.ejemplo.cl", "sub.ejemplo.cl"),
        ("https://www.facebook.com/FundacionX/about", "facebook.com/fundacionx"),
        ("https://m.facebook.com/fundacionx", "facebook.com/fundacionx"),
        ("https://www.linkedin.com/company/ejemplo/", "linkedin.com/company/ejemplo"),
        ("https://facebook.com", None),
        (None, None),
        ("", None),
    ],
)
def test_website_domain(url: str | None, domain: str | None) -> None:
    assert website_domain(url) == domain


def test_find_duplicates() -> None:
    new = make(1, "Fundación Ejemplo", confirm=False, website="https://www.ejemplo.cl")
    same_name = make(2, "EJEMPLO S.A.", website="https://otro.cl")
    same_site = make(3, "Otra Cosa", website="https://ejemplo.cl/contacto")
    both = make(4, "Corporación Ejemplo", website="http://ejemplo.cl")
    unrelated = make(5, "Nada Que Ver", website="https://nada.cl")
    warnings = find_duplicates(new, [new, same_name, same_site, both, unrelated])
    assert [(w.organization_id, w.reason) for w in warnings] == [
        ("org-002", "same_name"),
        ("org-003", "same_website_domain"),
        ("org-004", "same_name"),
        ("org-004", "same_website_domain"),
    ]
    assert warnings[1].message == (
        f"Comparte el sitio web ejemplo.cl con «Otra Cosa» (RUT {same_site.rut})."
    )
    candidates = duplicate_candidates_filter(new)
    assert operators(candidates) <= ALLOWED_OPERATORS
    hits = {
        org.id
        for org in (new, same_name, same_site, both, unrelated)
        if matches(organization_document(org), candidates)
    }
    assert hits == {"org-002", "org-003", "org-004"}


def test_shared_hosts_do_not_make_everyone_a_duplicate() -> None:
    one = make(1, "Uno", website="https://facebook.com/uno")
    two = make(2, "Dos", website="https://facebook.com/dos")
    assert find_duplicates(one, [two]) == []
