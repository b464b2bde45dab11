"""Unit tests for the registry's pure domain: profile validation, lifecycle and its events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.registry.domain.catalog import entry_of
from services.registry.domain.credentials import CONFIRMATION_TTL, hash_secret
from services.registry.domain.errors import (
    AlreadyConfirmed,
    Gone,
    InvalidInput,
    InvalidTransition,
    RegistryError,
    TokenExpired,
    TokenInvalid,
    WithdrawnOrganizationError,
)
from services.registry.domain.organization import (
    TRANSITIONS,
    Action,
    Organization,
    OrganizationStatus,
    Outcome,
    next_status,
    organization_document,
    organization_from_document,
)
from services.registry.domain.profile import (
    CURRENT_TERMS_VERSION,
    PROFILE_FIELDS,
    OrganizationCreate,
    OrganizationPatch,
)
from shared.events.base import EventContract, Outgoing, Tombstone
from shared.events.catalog import ALL_CONTRACTS, by_type
from shared.events.registry import (
    AccessChanged,
    Actor,
    ConfirmationRequested,
    ContactPublished,
    FieldChange,
    OrganizationActivated,
    OrganizationConfirmed,
    OrganizationRegistered,
    OrganizationReinstated,
    OrganizationSuspended,
    OrganizationUpdated,
    OrganizationVerified,
)
from shared.events.registry import (
    OrganizationWithdrawn as WithdrawnEvent,
)
from shared.events.topics import PRIVATE_TOPICS, TOPIC_SPECS, Topic
from shared.problems import errors_from_pydantic

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
TOKEN = "cnf_test-token"
API_KEY = "org_test-key"
OWNER_EMAIL = "maria.perez@ejemplo.cl"
OWNER_NAME = "María Pérez Soto"
OWNER_PHONE = "+56912345678"
STAFF = "staff-ops"


def payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rut": "76.086.428-5",
        "name": "Fundación Ejemplo",
        "sector": "sociedad_civil",
        "legal_form": "fundacion",
        "head_office_region": "CL-RM",
        "regions": ["CL-RM", "CL-VS"],
        "scope": "regional",
        "roles": ["programas", "herramientas"],
        "themes": ["pobreza", "educacion"],
        "links_with_others": True,
        "has_alliances": True,
        "traits": ["puentes"],
        "website": "https://ejemplo.cl",
        "description": "Acompañamos a familias; escriba a Juan al +56 9 8765 4321.",
        "contact": {"name": OWNER_NAME, "email": OWNER_EMAIL, "phone": "+56 9 1234 5678"},
        "consent": {"publish_profile": True, "terms_version": CURRENT_TERMS_VERSION},
    }
    data.update(overrides)
    return data


def field_errors(model: type[Any], data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return {e["field"]: e["message"] for e in errors_from_pydantic(info.value.errors())}


def registered(**overrides: Any) -> Outcome:
    return Organization.register(
        OrganizationCreate.model_validate(payload(**overrides)),
        now=NOW,
        call_id="call-1",
        organization_id="org-1",
        token=TOKEN,
    )


def active(**overrides: Any) -> Organization:
    org = registered(**overrides).organization
    return org.confirm(TOKEN, NOW + timedelta(hours=1), api_key=API_KEY).organization


def owner() -> Actor:
    return Actor(kind="owner", id="org-1")


def serialized(event: EventContract) -> str:
    return json.dumps(event.model_dump(mode="json"), ensure_ascii=False)


# --- profile: accepted input ------------------------------------------------------------------


def test_contract_example_is_accepted_and_normalised() -> None:
    data = OrganizationCreate.model_validate(
        payload(
            rut="760864285",
            name="  Fundación Ejemplo  ",
            regions=["cl-vs"],
            website="HTTPS://Ejemplo.CL/Quienes?x=1",
            contact={"name": "Ana", "email": "Ana@Ejemplo.CL", "phone": "9 1234 5678"},
        )
    )
    assert data.rut == "76.086.428-5"
    assert data.name == "Fundación Ejemplo"
    assert data.regions == ["CL-VS", "CL-RM"]  # head office added, north-to-south order
    assert data.website == "https://ejemplo.cl/Quienes?x=1"
    assert data.contact.email == "Ana@ejemplo.cl"
    assert data.contact.phone == "+56912345678"


def test_head_office_region_is_added_when_regions_are_omitted() -> None:
    body = payload()
    del body["regions"]
    assert OrganizationCreate.model_validate(body).regions == ["CL-RM"]


def test_lists_are_stored_in_reference_order() -> None:
    data = OrganizationCreate.model_validate(
        payload(
            regions=["CL-MA", "CL-AP", "CL-RM"],
            roles=["coworks", "programas"],
            themes=["otro", "pobreza"],
            traits=["puentes", "capital_social"],
            comunas=["13101", "12101"],
        )
    )
    assert data.regions == ["CL-AP", "CL-RM", "CL-MA"]
    assert data.roles == ["programas", "coworks"]
    assert data.themes == ["pobreza", "otro"]
    assert data.traits == ["capital_social", "puentes"]
    assert data.comunas == ["12101", "13101"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+56 9 1234 5678", "+56912345678"),
        ("(+56) 9-1234-5678", "+56912345678"),
        ("912345678", "+56912345678"),
        ("09 1234 5678", "+56912345678"),
        ("56 2 2123 4567", "+56221234567"),
        ("+1 202 555 0101", "+12025550101"),
        ("", None),
    ],
)
def test_phone_is_loosely_validated(typed: str, stored: str | None) -> None:
    contact = {"name": "Ana", "email": "ana@ejemplo.cl", "phone": typed}
    assert OrganizationCreate.model_validate(payload(contact=contact)).contact.phone == stored


def test_optional_fields_may_be_null_or_blank() -> None:
    data = OrganizationCreate.model_validate(
        payload(
            website=None,
            description="   ",
            short_name="",
            links_with_others=None,
            has_alliances=None,
            traits=[],
            year_founded=None,
        )
    )
    assert (data.website, data.description, data.short_name) == (None, None, None)
    assert data.links_with_others is None and data.has_alliances is None


# --- profile: errors, in Spanish, naming each field -------------------------------------------


def test_every_bad_field_is_named_with_a_spanish_message() -> None:
    errors = field_errors(
        OrganizationCreate,
        payload(
            rut="76.086.428-4",
            name="X",
            sector="ong",
            legal_form="sociedad",
            head_office_region="CL-XX",
            regions=["CL-RM", "RM"],
            scope="mundial",
            roles=[],
            themes=["pobreza", "pobreza"],
            traits=["otro"],
            website="ftp://ejemplo.cl",
            year_founded=1700,
            contact={"name": "Ana", "email": "no-es-correo", "phone": "12"},
            consent={"publish_profile": "sí", "terms_version": "2025-1"},
            color="azul",
        ),
    )
    assert set(errors) == {
        "rut",
        "name",
        "sector",
        "legal_form",
        "head_office_region",
        "regions.1",
        "scope",
        "roles",
        "themes",
        "traits.0",
        "website",
        "year_founded",
        "contact.email",
        "contact.phone",
        "consent.publish_profile",
        "consent.terms_version",
        "color",
    }
    assert errors["rut"] == "El RUT '76.086.428-4' no es válido: dígito verificador incorrecto"
    assert errors["regions.1"].startswith("Región desconocida: 'RM'.")
    assert errors["themes"] == "No repita valores; aparece más de una vez: pobreza."
    assert errors["roles"] == "Debe tener al menos 1 elemento(s)."
    assert errors["website"].startswith("Debe ser una URL válida")
    assert errors["contact.email"] == (
        "Debe ser un correo electrónico válido, por ejemplo nombre@ejemplo.cl."
    )
    assert errors["consent.terms_version"] == (
        "Debe aceptar la versión vigente de los términos y condiciones (2026-1)."
    )
    assert errors["color"] == "Este campo no existe en el formulario."
    assert errors["sector"].startswith("Valor no permitido")


def test_error_messages_never_echo_contact_data() -> None:
    errors = field_errors(
        OrganizationCreate,
        payload(contact={"name": "Ana", "email": "ana@@secreto.cl", "phone": "+56 7 77"}),
    )
    assert set(errors) == {"contact.email", "contact.phone"}
    assert "secreto" not in json.dumps(errors)
    assert "77" not in json.dumps(errors)


def test_missing_required_fields() -> None:
    errors = field_errors(OrganizationCreate, {})
    for name in ("rut", "name", "sector", "legal_form", "head_office_region", "scope"):
        assert errors[name] == "Este campo es obligatorio."
    for name in ("roles", "themes", "contact", "consent"):
        assert name in errors
    assert "regions" not in errors  # derived from the head office when omitted


def test_comuna_outside_the_listed_regions_is_an_error() -> None:
    errors = field_errors(
        OrganizationCreate, payload(regions=["CL-RM"], comunas=["13101", "09101", "99999"])
    )
    assert errors == {
        "comunas.1": (
            "La comuna 09101 (Temuco) pertenece a la región CL-AR, que no está entre las "
            "regiones indicadas (CL-RM)."
        ),
        "comunas.2": (
            "Comuna desconocida: '99999'. Use el código CUT de 5 dígitos, por ejemplo "
            "'13101' (Santiago)."
        ),
    }


def test_comuna_of_the_head_office_region_is_valid_even_if_not_listed() -> None:
    data = OrganizationCreate.model_validate(payload(regions=["CL-VS"], comunas=["13101"]))
    assert data.comunas == ["13101"]


@pytest.mark.parametrize(
    "url",
    [
        "ejemplo.cl",
        "https://",
        "https://localhost",
        "https://192.168.0.1",
        "https://user:pw@ejemplo.cl",
        "https://ejem plo.cl",
        "javascript:alert(1)",
        "https://ejemplo.cl:99999",
    ],
)
def test_bad_websites(url: str) -> None:
    assert "website" in field_errors(OrganizationCreate, payload(website=url))


def test_lengths_are_bounded() -> None:
    errors = field_errors(
        OrganizationCreate,
        payload(name="a" * 201, description="d" * 2001, short_name="s" * 81),
    )
    assert errors["name"] == "Debe tener como máximo 200 caracteres."
    assert errors["description"] == "Debe tener como máximo 2000 caracteres."
    assert "short_name" in errors


def test_control_characters_are_refused_in_names_but_newlines_allowed_in_description() -> None:
    assert "name" in field_errors(OrganizationCreate, payload(name="Fundación\nEjemplo"))
    data = OrganizationCreate.model_validate(payload(description="Línea 1\nLínea 2"))
    assert data.description == "Línea 1\nLínea 2"


def test_consent_must_be_explicit() -> None:
    errors = field_errors(OrganizationCreate, payload(consent={"terms_version": "2026-1"}))
    assert errors == {"consent.publish_profile": "Este campo es obligatorio."}


def test_patch_refuses_rut_nulls_and_unknown_fields() -> None:
    errors = field_errors(
        OrganizationPatch,
        {"rut": "76.086.428-5", "name": None, "roles": None, "status": "active"},
    )
    assert errors["rut"].startswith("El RUT no se puede modificar.")
    assert errors["name"] == "Este campo no puede quedar vacío (null)."
    assert errors["roles"] == "Este campo no puede quedar vacío (null)."
    assert errors["status"] == "Este campo no existe en el formulario."
    assert "rut" not in OrganizationPatch.model_json_schema()["properties"]


def test_patch_validates_like_the_create_form() -> None:
    errors = field_errors(
        OrganizationPatch,
        {
            "regions": ["CL-RM", "CL-ZZ"],
            "contact": {"email": "x"},
            "consent": {"terms_version": "1"},
        },
    )
    assert set(errors) == {"regions.1", "contact.email", "consent.terms_version"}


def test_openapi_schema_lists_the_identifiers() -> None:
    schema = OrganizationCreate.model_json_schema()
    defs = schema["$defs"]
    assert defs["Sector"]["enum"] == [
        "sociedad_civil",
        "privado",
        "publico",
        "academia",
        "organismo_internacional",
    ]
    assert "programas" in defs["Role"]["enum"] and "coworks" in defs["Role"]["enum"]
    assert len(defs["Theme"]["enum"]) == 14
    assert schema["properties"]["head_office_region"]["enum"][0] == "CL-AP"
    assert len(schema["properties"]["regions"]["items"]["enum"]) == 16


# --- registration -----------------------------------------------------------------------------


def test_register_creates_a_pending_organisation_with_hashed_token() -> None:
    outcome = registered()
    org = outcome.organization
    assert org.status == OrganizationStatus.PENDING
    assert org.id == "org-1" and org.call_id == "call-1" and org.registered_at == NOW
    assert org.macrozone == "centro_sur"
    assert not org.verified and not org.listed
    assert org.confirmation is not None
    assert org.confirmation.token_hash == hash_secret(TOKEN)
    assert org.confirmation.expires_at == NOW + CONFIRMATION_TTL
    assert TOKEN not in json.dumps(organization_document(org), default=str)
    assert org.consent is not None and org.consent.accepted_at == NOW
    assert outcome.api_key is None


def test_register_emits_registered_and_a_private_confirmation_request() -> None:
    registered_event, request, contact = registered().events
    assert isinstance(registered_event, OrganizationRegistered)
    assert registered_event.aggregate_id() == "org-1"
    assert registered_event.topic is Topic.REGISTRY_ORGANIZATIONS
    snapshot = registered_event.organization
    assert snapshot.status == "pending" and snapshot.call_id == "call-1"
    assert snapshot.macrozone == "centro_sur" and snapshot.sector == "sociedad_civil"
    assert snapshot.regions == ("CL-VS", "CL-RM")
    assert isinstance(request, ConfirmationRequested)
    assert request.topic is Topic.REGISTRY_NOTIFICATIONS
    assert request.topic in PRIVATE_TOPICS
    assert request.aggregate_id() == "org-1"
    assert (request.contact_email, request.contact_name, request.token) == (
        OWNER_EMAIL,
        OWNER_NAME,
        TOKEN,
    )
    assert request.expires_at == NOW + CONFIRMATION_TTL
    assert request.reason == "registration"
    assert_contact(contact, "Fundación Ejemplo", OWNER_NAME, OWNER_EMAIL)


def assert_contact(event: Outgoing, organization: str, name: str, email: str) -> None:
    """The contacts topic's record: the organisation's contact as it is now, on the private
    compacted topic, keyed by the organisation."""
    assert isinstance(event, ContactPublished)
    assert event.topic is Topic.REGISTRY_CONTACTS and event.topic in PRIVATE_TOPICS
    assert TOPIC_SPECS[event.topic].compacted
    assert event.aggregate_id() == "org-1" and event.organization_name == organization
    assert (event.contact_name, event.contact_email) == (name, email)


def test_contact_published_hides_personal_data_from_logs() -> None:
    contact = registered().events[2]
    assert isinstance(contact, ContactPublished) and contact.contact_phone is not None
    for hidden in (OWNER_EMAIL, OWNER_NAME, contact.contact_phone):
        assert hidden not in repr(contact)
        assert hidden not in json.dumps(contact.safe_summary(), ensure_ascii=False)
    assert contact.safe_summary()["organization_id"] == "org-1"
    schema = ContactPublished.model_json_schema()["properties"]
    for field in ("contact_name", "contact_email", "contact_phone"):
        assert schema[field]["x-personal-data"] is True
    assert {"contact_name", "contact_email", "contact_phone"} == ContactPublished.PERSONAL_FIELDS


def test_register_generates_distinct_tokens_when_none_given() -> None:
    data = OrganizationCreate.model_validate(payload())
    first = Organization.register(data, now=NOW).events[1]
    second = Organization.register(data, now=NOW).events[1]
    assert isinstance(first, ConfirmationRequested) and isinstance(second, ConfirmationRequested)
    assert first.token != second.token and first.token.startswith("cnf_")


def test_register_refuses_a_future_foundation_year() -> None:
    with pytest.raises(InvalidInput) as info:
        registered(year_founded=2027)
    assert info.value.status == 422
    assert info.value.errors == [
        {"field": "year_founded", "message": "El año de fundación no puede ser posterior a 2026."}
    ]
    assert registered(year_founded=2026).organization.year_founded == 2026


def test_register_requires_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Organization.register(
            OrganizationCreate.model_validate(payload()), now=datetime(2026, 1, 1)
        )


# --- confirmation -----------------------------------------------------------------------------


def test_confirm_activates_and_returns_the_api_key_once() -> None:
    pending = registered().organization
    outcome = pending.confirm(TOKEN, NOW + timedelta(hours=71), api_key=API_KEY)
    org = outcome.organization
    assert org.status == OrganizationStatus.ACTIVE and org.listed
    assert org.confirmation is None
    assert outcome.api_key == API_KEY and "org_test-key" not in repr(outcome)
    assert [k.hash for k in org.api_keys] == [hash_secret(API_KEY)]
    assert org.has_api_key(API_KEY) and not org.has_api_key("org_other")
    assert API_KEY not in json.dumps(organization_document(org), default=str)
    event, access = outcome.events
    assert_access(access, outcome.organization)
    assert isinstance(event, OrganizationConfirmed)
    assert event.changed_by == Actor(kind="owner", id="org-1")
    assert event.organization.status == "active" and event.organization.listed


def test_confirm_generates_an_api_key_when_none_given() -> None:
    outcome = registered().organization.confirm(TOKEN, NOW)
    assert outcome.api_key is not None and outcome.api_key.startswith("org_")
    assert outcome.organization.has_api_key(outcome.api_key)


def test_confirm_with_a_wrong_token() -> None:
    with pytest.raises(TokenInvalid) as info:
        registered().organization.confirm("cnf_wrong", NOW)
    assert info.value.status == 403
    assert "no es válido" in info.value.detail


def test_confirm_after_expiry() -> None:
    with pytest.raises(TokenExpired) as info:
        registered().organization.confirm(TOKEN, NOW + CONFIRMATION_TTL)
    assert info.value.status == 410 and "venció" in info.value.detail


def test_wrong_token_is_reported_before_expiry() -> None:
    with pytest.raises(TokenInvalid):
        registered().organization.confirm("cnf_wrong", NOW + timedelta(days=30))


def test_confirm_twice() -> None:
    with pytest.raises(AlreadyConfirmed) as info:
        active().confirm(TOKEN, NOW)
    assert info.value.status == 409 and info.value.detail == (
        "La organización ya está confirmada y activa."
    )


def test_renewed_confirmation_replaces_the_token() -> None:
    pending = registered().organization
    outcome = pending.renew_confirmation(NOW + timedelta(days=5), token="cnf_new")
    (request,) = outcome.events
    assert isinstance(request, ConfirmationRequested) and request.reason == "renewal"
    assert request.expires_at == NOW + timedelta(days=5) + CONFIRMATION_TTL
    with pytest.raises(TokenInvalid):
        outcome.organization.confirm(TOKEN, NOW + timedelta(days=5))
    assert outcome.organization.confirm("cnf_new", NOW + timedelta(days=5)).organization.listed


def test_renew_only_while_pending() -> None:
    with pytest.raises(InvalidTransition):
        active().renew_confirmation(NOW)


# --- staff actions ----------------------------------------------------------------------------


def test_staff_activation_with_reason() -> None:
    outcome = registered().organization.activate_by_staff(
        "  Confirmó por teléfono  ", STAFF, NOW, api_key=API_KEY
    )
    org = outcome.organization
    assert org.status == OrganizationStatus.ACTIVE and org.confirmation is None
    assert outcome.api_key == API_KEY
    event, access = outcome.events
    assert_access(access, outcome.organization)
    assert isinstance(event, OrganizationActivated)
    assert event.reason == "Confirmó por teléfono"
    assert event.changed_by == Actor(kind="staff", id=STAFF)
    assert org.audit[-1].action == "activated" and org.audit[-1].reason == event.reason
    with pytest.raises(AlreadyConfirmed):  # the e-mailed link no longer works
        org.confirm(TOKEN, NOW)


def test_staff_decisions_need_a_reason() -> None:
    with pytest.raises(InvalidInput) as info:
        registered().organization.activate_by_staff(" ", STAFF, NOW)
    assert info.value.errors == [
        {"field": "reason", "message": "Debe tener entre 3 y 500 caracteres."}
    ]


def test_verify_and_unverify() -> None:
    org = active()
    outcome = org.verify("Revisamos sus estatutos", STAFF, NOW)
    assert outcome.organization.verified
    (event,) = outcome.events
    assert isinstance(event, OrganizationVerified) and event.verified
    assert event.organization.verified
    assert outcome.organization.verify("de nuevo", STAFF, NOW).events == ()  # idempotent
    undone = outcome.organization.verify("Error nuestro", STAFF, NOW, verified=False)
    assert not undone.organization.verified
    assert isinstance(undone.events[0], OrganizationVerified) and not undone.events[0].verified


def test_suspend_and_reinstate() -> None:
    suspended = active().suspend("Datos falsos", STAFF, NOW)
    org = suspended.organization
    assert org.status == OrganizationStatus.SUSPENDED and not org.listed
    assert org.has_api_key(API_KEY)  # the API layer refuses suspended owners; keys survive
    event, access = suspended.events
    assert_access(access, suspended.organization)
    assert isinstance(event, OrganizationSuspended) and event.reason == "Datos falsos"
    assert not event.organization.listed
    back = org.reinstate("Aclarado", STAFF, NOW)
    assert back.organization.status == OrganizationStatus.ACTIVE and back.organization.listed
    assert isinstance(back.events[0], OrganizationReinstated)


def test_invalid_transitions_have_spanish_messages() -> None:
    pending = registered().organization
    with pytest.raises(InvalidTransition) as info:
        pending.suspend("motivo", STAFF, NOW)
    assert info.value.status == 409
    assert info.value.detail == "No se puede suspender una organización pendiente."
    with pytest.raises(InvalidTransition):
        active().reinstate("motivo", STAFF, NOW)
    with pytest.raises(InvalidTransition):
        active().activate_by_staff("motivo", STAFF, NOW)
    with pytest.raises(InvalidTransition):
        pending.rotate_api_key(NOW)


def test_transition_table_is_explicit_and_withdrawn_is_final() -> None:
    for action in Action:
        assert OrganizationStatus.WITHDRAWN not in TRANSITIONS[action]
        for status in OrganizationStatus:
            if status in TRANSITIONS[action]:
                assert next_status(action, status) is TRANSITIONS[action][status]
            else:
                with pytest.raises(RegistryError):
                    next_status(action, status)
    with pytest.raises(Gone):
        next_status(Action.UPDATE, "withdrawn")


def test_rotate_api_key_replaces_the_old_one() -> None:
    outcome = active().rotate_api_key(NOW, api_key="org_new")
    (access,) = outcome.events
    assert outcome.api_key == "org_new" and isinstance(access, AccessChanged)
    assert access.key_hashes == (hash_secret("org_new"),) and access.active
    assert outcome.organization.has_api_key("org_new")
    assert not outcome.organization.has_api_key(API_KEY)


# --- updates ----------------------------------------------------------------------------------


def test_update_lists_changes_with_old_new_and_provenance() -> None:
    org = active()
    patch = OrganizationPatch.model_validate(
        {"name": "Fundación Ejemplo Sur", "themes": ["vivienda", "pobreza"], "year_founded": 1990}
    )
    outcome = org.update(patch, owner(), NOW)
    new = outcome.organization
    assert new.name == "Fundación Ejemplo Sur" and new.themes == ["pobreza", "vivienda"]
    assert new.updated_at == NOW and new.rut == org.rut
    event, contact = outcome.events  # a new name: the contacts topic hears it too
    assert_contact(contact, "Fundación Ejemplo Sur", OWNER_NAME, OWNER_EMAIL)
    assert isinstance(event, OrganizationUpdated)
    assert event.changed_by == owner()
    assert [c.model_dump() for c in event.changes] == [
        {
            "field": "name",
            "old": "Fundación Ejemplo",
            "new": "Fundación Ejemplo Sur",
            "redacted": False,
        },
        {
            "field": "themes",
            "old": ["pobreza", "educacion"],
            "new": ["pobreza", "vivienda"],
            "redacted": False,
        },
        {"field": "year_founded", "old": None, "new": 1990, "redacted": False},
    ]
    assert new.audit[-1].fields == ["name", "themes", "year_founded"]


def test_update_redacts_personal_consent_and_free_text_fields() -> None:
    org = active()
    patch = OrganizationPatch.model_validate(
        {
            "contact": {"email": "nuevo.correo@ejemplo.cl", "phone": None},
            "consent": {"publish_profile": False},
            "description": "Otra descripción con datos de Pedro.",
        }
    )
    outcome = org.update(patch, Actor(kind="staff", id=STAFF), NOW)
    new = outcome.organization
    assert new.contact is not None
    assert new.contact.email == "nuevo.correo@ejemplo.cl" and new.contact.name == OWNER_NAME
    assert new.contact.phone is None
    assert new.consent is not None and not new.consent.publish_profile
    assert new.consent.publish_profile_updated_at == NOW and not new.listed
    event, contact = outcome.events
    assert_contact(contact, "Fundación Ejemplo", OWNER_NAME, "nuevo.correo@ejemplo.cl")
    assert isinstance(contact, ContactPublished) and contact.contact_phone is None
    assert isinstance(event, OrganizationUpdated)
    data = event.model_dump(mode="json")
    assert data["changes"] == [
        {"field": "description", "redacted": True},
        {"field": "contact.email", "redacted": True},
        {"field": "contact.phone", "redacted": True},
        {"field": "consent.publish_profile", "redacted": True},
    ]
    text = serialized(event)
    for secret in ("nuevo.correo", OWNER_EMAIL, OWNER_PHONE, "Pedro", "Juan"):
        assert secret not in text
    assert data["organization"]["listed"] is False
    assert OrganizationUpdated.model_validate(data) == event  # round trip through the broker


def test_redacted_change_cannot_carry_values() -> None:
    with pytest.raises(ValidationError):
        FieldChange(field="contact.email", old="a@b.cl", new="c@d.cl", redacted=True)


def test_update_with_the_same_values_changes_nothing() -> None:
    org = active()
    patch = OrganizationPatch.model_validate(
        {"name": org.name, "regions": ["CL-VS", "CL-RM"], "themes": ["educacion", "pobreza"]}
    )
    outcome = org.update(patch, owner(), NOW)
    assert outcome.events == () and outcome.organization is org
    assert org.update(OrganizationPatch(), owner(), NOW).events == ()


def test_update_revalidates_the_merged_profile() -> None:
    org = active(comunas=["05101"])  # Valparaíso, in CL-VS
    with pytest.raises(InvalidInput) as info:
        org.update(OrganizationPatch.model_validate({"regions": ["CL-RM"]}), owner(), NOW)
    assert info.value.status == 422
    assert info.value.errors is not None
    assert info.value.errors[0]["field"] == "comunas.0"
    assert "Valparaíso" in info.value.errors[0]["message"]
    with pytest.raises(InvalidInput):
        org.update(OrganizationPatch.model_validate({"year_founded": 2030}), owner(), NOW)


def test_update_moving_the_head_office_keeps_it_among_the_regions() -> None:
    org = active()
    patch = OrganizationPatch.model_validate({"head_office_region": "CL-AR"})
    new = org.update(patch, owner(), NOW).organization
    assert new.regions == ["CL-VS", "CL-RM", "CL-AR"] and new.macrozone == "sur_austral"


def test_accepting_new_terms_records_when() -> None:
    org = active()
    later = NOW + timedelta(days=10)
    patch = OrganizationPatch.model_validate({"consent": {"terms_version": CURRENT_TERMS_VERSION}})
    assert org.update(patch, owner(), later).events == ()  # same version: nothing to record
    assert org.consent is not None and org.consent.accepted_at == NOW


def test_update_refused_when_withdrawn() -> None:
    gone = active().withdraw(owner(), NOW).organization
    with pytest.raises(WithdrawnOrganizationError) as info:
        gone.update(OrganizationPatch.model_validate({"name": "Otra"}), owner(), NOW)
    assert info.value.status == 410


# --- withdrawal -------------------------------------------------------------------------------


def test_withdraw_erases_personal_data_and_keeps_the_fact() -> None:
    org = active()
    later = NOW + timedelta(days=30)
    outcome = org.withdraw(owner(), later)
    gone = outcome.organization
    assert gone.status == OrganizationStatus.WITHDRAWN and gone.withdrawn_at == later
    assert gone.contact is None and gone.description is None
    assert gone.api_keys == [] and gone.confirmation is None
    assert gone.consent is not None
    assert gone.consent.terms_version == CURRENT_TERMS_VERSION and gone.consent.accepted_at == NOW
    assert not gone.consent.publish_profile and not gone.listed
    assert gone.name == org.name and gone.rut == org.rut
    document = json.dumps(organization_document(gone), default=str, ensure_ascii=False)
    for personal in (OWNER_EMAIL, OWNER_NAME, OWNER_PHONE, "Juan"):
        assert personal not in document
    event, access, tombstone = outcome.events
    assert_access(access, outcome.organization)
    assert tombstone == Tombstone(Topic.REGISTRY_CONTACTS, "org-1")  # the contact is erased
    assert isinstance(event, WithdrawnEvent)
    assert event.previous_status == "active" and event.changed_by == owner()
    assert event.organization.status == "withdrawn"
    with pytest.raises(WithdrawnOrganizationError):
        gone.withdraw(owner(), later)


def test_pending_and_suspended_organisations_can_withdraw() -> None:
    assert registered().organization.withdraw(Actor(kind="staff", id=STAFF), NOW).events
    suspended = active().suspend("motivo", STAFF, NOW).organization
    event, access, tombstone = suspended.withdraw(owner(), NOW).events
    assert isinstance(access, AccessChanged) and access.key_hashes == () and not access.active
    assert tombstone == Tombstone(Topic.REGISTRY_CONTACTS, "org-1")
    assert isinstance(event, WithdrawnEvent) and event.previous_status == "suspended"


# --- events: no personal data outside ConfirmationRequested -----------------------------------


def test_changes_that_leave_name_and_contact_alone_say_nothing_on_the_contacts_topic() -> None:
    org = active()
    patch = OrganizationPatch.model_validate({"themes": ["vivienda"], "description": "Otra."})
    (event,) = org.update(patch, owner(), NOW).events
    assert isinstance(event, OrganizationUpdated)
    for outcome in (org.verify("estatutos", STAFF, NOW), org.suspend("motivo", STAFF, NOW)):
        assert not [e for e in outcome.events if e.topic is Topic.REGISTRY_CONTACTS]


def _every_event() -> list[Outgoing]:
    events: list[Outgoing] = []
    first = registered()
    events += first.events
    pending = first.organization
    events += pending.renew_confirmation(NOW, token=TOKEN).events
    confirmed = pending.confirm(TOKEN, NOW, api_key=API_KEY)
    events += confirmed.events
    events += pending.activate_by_staff("Confirmó por teléfono", STAFF, NOW).events
    org = confirmed.organization
    updated = org.update(
        OrganizationPatch.model_validate(
            {
                "name": "Fundación Ejemplo Norte",
                "contact": {"name": "Pedro Soto", "email": "pedro@ejemplo.cl", "phone": None},
                "consent": {"publish_profile": False},
                "description": "Contacto: pedro@ejemplo.cl",
            }
        ),
        owner(),
        NOW,
    )
    events += updated.events
    org = updated.organization
    verified = org.verify("estatutos", STAFF, NOW)
    events += verified.events
    suspended = verified.organization.suspend("motivo", STAFF, NOW)
    events += suspended.events
    reinstated = suspended.organization.reinstate("motivo", STAFF, NOW)
    events += reinstated.events
    events += reinstated.organization.withdraw(owner(), NOW).events
    return events


def assert_access(access: Outgoing, org: Organization) -> None:
    """The access event says which key hashes open the API for `org`, and whether they do."""
    assert isinstance(access, AccessChanged) and access.topic is Topic.REGISTRY_ACCESS
    assert access.principal_id == org.id and access.kind == "organization"
    assert access.key_hashes == tuple(record.hash for record in org.api_keys)
    assert access.active == (org.status == OrganizationStatus.ACTIVE)


def test_no_event_but_confirmation_requested_carries_contact_data_or_secrets() -> None:
    events = _every_event()
    kinds = {type(e) for e in events}
    assert kinds >= {
        OrganizationRegistered,
        ConfirmationRequested,
        OrganizationConfirmed,
        OrganizationActivated,
        OrganizationUpdated,
        OrganizationVerified,
        OrganizationSuspended,
        OrganizationReinstated,
        WithdrawnEvent,
    }
    secrets = [OWNER_EMAIL, OWNER_PHONE, "9 1234 5678", "pedro@ejemplo.cl", "Pedro", TOKEN]
    secrets += [API_KEY, hash_secret(TOKEN), hash_secret(API_KEY), "Juan", "8765"]
    tombstones = [e for e in events if isinstance(e, Tombstone)]
    assert tombstones == [Tombstone(Topic.REGISTRY_CONTACTS, "org-1")]  # carries only the id
    private = [e for e in events if isinstance(e, ConfirmationRequested | ContactPublished)]
    assert {e.topic for e in private} <= PRIVATE_TOPICS
    for event in events:
        if isinstance(event, ConfirmationRequested | ContactPublished | Tombstone):
            continue
        text = serialized(event)
        # The access topic carries API keys' hashes, on purpose and nothing else (the key never).
        allowed = {hash_secret(API_KEY)} if isinstance(event, AccessChanged) else set()
        for secret in secrets:
            assert secret not in text or secret in allowed, (type(event).__name__, secret)
        assert OWNER_NAME not in text, type(event).__name__
        assert event.topic is not Topic.REGISTRY_NOTIFICATIONS
        assert event.aggregate_id() == "org-1"


def test_every_event_round_trips_through_the_catalogue() -> None:
    catalogue = by_type(ALL_CONTRACTS)
    for event in _every_event():
        if isinstance(event, Tombstone):
            continue  # no event: nothing to decode
        contract = catalogue.get(event.ce_type())
        assert contract is type(event)
        assert contract.model_validate(event.model_dump(mode="json")) == event
        assert event.ce_type().startswith("cl.articula.registry.") and event.ce_type()[-3:] == ".v1"


def test_confirmation_request_hides_personal_data_and_token_from_logs() -> None:
    request = registered().events[1]
    assert isinstance(request, ConfirmationRequested)
    for hidden in (OWNER_EMAIL, OWNER_NAME, TOKEN):
        assert hidden not in repr(request)
        assert hidden not in json.dumps(request.safe_summary(), ensure_ascii=False)
    assert request.safe_summary()["organization_id"] == "org-1"
    schema = ConfirmationRequested.model_json_schema()["properties"]
    assert schema["contact_email"]["x-personal-data"] is True
    assert schema["contact_name"]["x-personal-data"] is True
    assert schema["token"]["x-secret"] is True


def test_private_topic_is_short_lived_and_outlives_the_token() -> None:
    spec = TOPIC_SPECS[Topic.REGISTRY_NOTIFICATIONS]
    assert spec.retention_ms is not None
    retention = timedelta(milliseconds=spec.retention_ms)  # configuration, not a measurement
    assert CONFIRMATION_TTL < retention <= timedelta(days=7)
    assert "private" in Topic.REGISTRY_NOTIFICATIONS.value
    assert {
        Topic.REGISTRY_NOTIFICATIONS,
        Topic.REGISTRY_CONTACTS,
        Topic.EVENTS_PARTICIPANTS,
    } == PRIVATE_TOPICS


def test_actor_ids_cannot_be_emails() -> None:
    with pytest.raises(ValidationError):
        Actor(kind="staff", id="ana@mesa.cl")


# --- persistence mapping ----------------------------------------------------------------------


def test_document_round_trip_with_derived_fields() -> None:
    org = active(short_name="Ejemplo", comunas=["13101"])
    doc = organization_document(org)
    assert doc["_id"] == "org-1" and "id" not in doc
    assert doc["macrozone"] == "centro_sur"
    # What queries use is derived in the catalogue, not stored (it was write-only there).
    entry = entry_of(org, 1)
    assert entry.listed is True and entry.macrozone == "centro_sur"
    assert entry.sort_key == ("fundacion ejemplo", "org-1")
    assert entry.name_search == "fundacion ejemplo ejemplo"
    assert entry.name_key == "ejemplo" and entry.website_domain == "ejemplo.cl"
    assert not {"listed", "name_sort", "name_search", "name_key", "website_domain"} & set(doc)
    assert doc["status"] == "active" and type(doc["status"]) is str
    assert all(type(theme) is str for theme in doc["themes"])
    stored = {**doc, "outbox": {}, "outbox_stamp": "s", "version": 3}
    # MongoDB gives back naive UTC datetimes
    stored["registered_at"] = NOW.replace(tzinfo=None)
    back = organization_from_document(stored)
    assert back == org
    assert set(PROFILE_FIELDS) <= set(doc)
