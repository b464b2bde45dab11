"""Unit tests for the registry's public views, directory query, cursor, CSV and duplicates."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.registry.domain.catalog import (
    DOCUMENT_FIELDS,
    CatalogEntry,
    OrganizationCatalog,
    StaffFilter,
    directory_page,
    entry_from_document,
    entry_of,
    profile_of,
    public_data,
)
from services.registry.domain.directory import (
    CSV_COLUMNS,
    DirectoryQuery,
    decode_cursor,
    directory_csv,
    encode_cursor,
    iter_csv,
)
from services.registry.domain.duplicates import (
    find_duplicates,
    normalized_name,
    website_domain,
)
from services.registry.domain.errors import InvalidCursor, NotFound, WithdrawnOrganizationError
from services.registry.domain.organization import Organization, organization_document
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


def catalog_of(orgs: list[Organization]) -> OrganizationCatalog:
    catalog = OrganizationCatalog()
    for org in orgs:
        catalog.upsert(entry_of(org, 1))
    return catalog


def run(orgs: list[Organization], query: DirectoryQuery) -> list[CatalogEntry]:
    """What the route reads: the first `limit + 1` matches."""
    return list(itertools.islice(catalog_of(orgs).directory(query), query.limit + 1))


@pytest.fixture
def orgs() -> list[Organization]:
    return [
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


# --- directory --------------------------------------------------------------------------------


def names(rows: list[CatalogEntry]) -> list[str]:
    return [profile_of(entry).name for entry in rows]


def test_only_active_consenting_organisations_are_listed(orgs: list[Organization]) -> None:
    assert names(run(orgs, DirectoryQuery())) == [
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
        ({"q": "(raíces*"}, ["ONG Raíces"]),  # punctuation is not part of a word
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
    orgs: list[Organization], params: dict[str, Any], expected: list[str]
) -> None:
    assert names(run(orgs, DirectoryQuery.model_validate(params))) == expected


def test_search_text_is_normalised() -> None:
    assert normalize_text("  Fundación  Ñandú, S.A. ") == "fundacion nandu s a"


def test_pagination_is_stable_and_complete(orgs: list[Organization]) -> None:
    # same names: ties broken by id
    orgs += [make(20 + i, "Alerce") for i in range(3)]
    catalog = catalog_of(orgs)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = directory_page(catalog.directory(DirectoryQuery(limit=2, cursor=cursor)), 2)
        seen += [item.id for item in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    everything = directory_page(catalog.directory(DirectoryQuery(limit=200)), 200)
    assert everything.next_cursor is None
    assert seen == [item.id for item in everything.items]
    assert len(seen) == len(set(seen)) == 8 and pages == 4
    assert seen[:4] == ["org-009", "org-020", "org-021", "org-022"]


def test_newer_versions_win_and_changes_move_entries(orgs: list[Organization]) -> None:
    catalog = catalog_of(orgs)
    renamed = orgs[0].model_copy(update={"name": "Aaa Primera"})
    assert catalog.upsert(entry_of(renamed, 2))
    assert not catalog.upsert(entry_of(orgs[0], 1)), "an older version never comes back"
    first = next(catalog.directory(DirectoryQuery()))
    assert profile_of(first).name == "Aaa Primera"
    suspended = renamed.suspend("motivo", "staff", NOW).organization
    catalog.upsert(entry_of(suspended, 3))
    assert "org-001" not in [e.id for e in catalog.directory(DirectoryQuery())]
    assert len(catalog) == len(orgs)


def test_staff_queue_counts_and_duplicates(orgs: list[Organization]) -> None:
    twin = make(40, "EJEMPLO S.A.", confirm=False, website="https://www.alerce.cl")
    catalog = catalog_of([*orgs, twin, make(41, "Fundación Ejemplo", website="https://alerce.cl")])
    pending = StaffFilter(status="pending")
    assert catalog.staff_ids(pending, 10, 0) == ["org-005", "org-040"]
    assert catalog.staff_ids(pending, 1, 1) == ["org-040"]
    total, counts = catalog.count_by(StaffFilter(), "sector")
    assert total == 11 and counts["privado"] == 1 and counts["academia"] == 1
    total, counts = catalog.count_by(StaffFilter(status="active"), "roles")
    assert counts["concursos"] == 1 and total == sum(1 for o in orgs if o.status == "active") + 1
    entry = catalog.get("org-040")
    assert entry is not None and catalog.duplicate_ids(entry) == ["org-041"]


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
        OrganizationCatalog().directory(DirectoryQuery(cursor=cursor))  # before any row
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
    with pytest.raises(WithdrawnOrganizationError) as info:
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
    catalog = catalog_of([new, same_name, same_site, both, unrelated])
    entry = catalog.get(new.id)
    assert entry is not None
    assert catalog.duplicate_ids(entry) == ["org-002", "org-003", "org-004"]


def test_shared_hosts_do_not_make_everyone_a_duplicate() -> None:
    one = make(1, "Uno", website="https://facebook.com/uno")
    two = make(2, "Dos", website="https://facebook.com/dos")
    assert find_duplicates(one, [two]) == []


def test_a_walk_in_progress_survives_saves(orgs: list[Organization]) -> None:
    """A CSV export streams from a worker thread while saves go on."""
    catalog = catalog_of(orgs)
    walk = catalog.directory(DirectoryQuery())
    assert profile_of(next(walk)).name == "Alerce"
    ong = next(o for o in orgs if o.name == "ONG Raíces")
    catalog.upsert(entry_of(ong.suspend("motivo", "staff", NOW).organization, 2))  # delisted
    catalog.upsert(entry_of(make(50, "Zorro Nuevo"), 1))  # listed after the walk began
    renamed = next(o for o in orgs if o.name == "Empresa Ñandú SpA")
    catalog.upsert(entry_of(renamed.model_copy(update={"name": "Aaa Renombrada"}), 2))
    rest = [profile_of(entry).name for entry in walk]
    assert rest == ["Corporación Alerce", "Fundación Ñandú"]


def test_entries_from_documents_equal_entries_from_the_aggregate(
    orgs: list[Organization],
) -> None:
    """The start-up load reads projected documents; the result must be the same entry."""
    for org in orgs:
        doc = organization_document(org) | {"version": 4}
        projected = {"_id": doc["_id"]} | {k: doc[k] for k in DOCUMENT_FIELDS if k in doc}
        assert entry_from_document(projected) == entry_of(org, 4), org.name


def test_csv_from_the_catalogue_json_equals_csv_from_profiles(orgs: list[Organization]) -> None:
    entries = list(catalog_of(orgs).directory(DirectoryQuery()))
    from_profiles = directory_csv(profile_of(entry) for entry in entries)
    assert "".join(iter_csv(public_data(entry) for entry in entries)) == from_profiles


class _CountingCollection:
    """A fake of the organisations collection that counts reads by `_id`."""

    def __init__(self, doc: dict[str, Any] | None) -> None:
        self.doc = doc
        self.reads = 0

    async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        self.reads += 1
        return self.doc


async def test_the_catalogue_does_not_read_again_what_it_wrote_itself() -> None:
    from types import SimpleNamespace

    from services.registry.storage.catalog import LiveCatalog
    from shared.kafka.codec import to_record
    from shared.settings import ServiceSettings

    org = make(1, "Fundación Propia")
    collection = _CountingCollection(None)
    live = LiveCatalog(collection, ServiceSettings())  # type: ignore[arg-type]
    live.written(org, 3)

    def record(version: int | None) -> Any:
        message = to_record(
            {"organization_id": org.id},
            ce_type="cl.articula.registry.organization_updated.v1",
            source="/articula/registry",
            event_id=f"e{version}",
            key=org.id,
            time=NOW,
            aggregate_version=version,
        )
        key = message.key.encode() if isinstance(message.key, str) else message.key
        return SimpleNamespace(key=key, headers=list(message.headers.items()))

    await live._on_record(record(3))  # its own write: held already
    await live._on_record(record(2))  # older
    assert collection.reads == 0
    await live._on_record(record(4))  # another process's newer write
    await live._on_record(record(None))  # unversioned: read to be sure
    assert collection.reads == 2
