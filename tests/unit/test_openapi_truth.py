"""The documented schema of each request field accepts exactly what its validation accepts.

For every text-like field, strings drawn from its documented pattern (within `maxLength`) are
accepted, and a string is accepted only if the pattern and `maxLength` allow it: checked on
near misses of the pattern (a character added, removed or changed), the strings a validator
gets wrong first. Python's `re` is what schemathesis generates from, `jsonschema_rs` what it
validates with: both must agree with pydantic. Also the shared OpenAPI corrections and the
405 `Allow` header, on a small app.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.registry.domain.calls import CallName, RegistrationCall, RegistrationCallPatch
from services.registry.domain.directory import DirectoryQuery, decode_cursor, encode_cursor
from services.registry.domain.errors import InvalidCursor
from services.registry.domain.profile import (
    ConfirmationInput,
    Description,
    LegalName,
    OrganizationCreate,
    Phone,
    Rut,
    ShortName,
)
from shared.fields import BLANK_PATTERN, WHITESPACE, Timestamp
from shared.openapi import KEY_REQUIRED, conform, install_openapi, link_to, links, merge
from shared.problems import install_problem_handlers, problem_responses
from shared.reference.rut import RUT_PATTERN, check_digit
from shared.values import Email, PersonName, Reason, Website

FIELDS: dict[str, Any] = {
    "legal name": LegalName,
    "short name": ShortName,
    "description": Description,
    "person name": PersonName,
    "reason": Reason,
    "call name": CallName,
    "website": Website,
    "email": Email,
    "phone": Phone,
    "rut": Rut,
    "token": ConfirmationInput.model_fields["token"].annotation,
}
PROBES = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def documented(kind: Any) -> dict[str, Any]:
    if kind is ConfirmationInput.model_fields["token"].annotation:
        schema = ConfirmationInput.model_json_schema()["properties"]["token"]
    else:
        schema = TypeAdapter(kind).json_schema()
    assert schema["type"] == "string" and "pattern" in schema and "maxLength" in schema
    return dict(schema)


def accepts(kind: Any, value: str) -> bool:
    adapter = TypeAdapter(ConfirmationInput if kind is FIELDS["token"] else kind)
    try:
        adapter.validate_python({"token": value} if kind is FIELDS["token"] else value)
    except ValidationError:
        return False
    return True


def allowed(schema: dict[str, Any], value: str) -> bool:
    return len(value) <= schema["maxLength"] and re.fullmatch(schema["pattern"], value) is not None


def with_check_digit(rut: str) -> str:
    """The documented form leaves the check digit out: put the right one."""
    text = rut.rstrip()
    body = text[:-1].strip().rstrip("-").replace(".", "").lstrip("0")
    return text[:-1] + check_digit(body) + rut[len(text) :]


@st.composite
def near_misses(draw: st.DrawFn, pattern: str) -> str:
    value = draw(st.from_regex(pattern, fullmatch=True))
    position = draw(st.integers(0, len(value)))
    char = draw(st.characters(codec="utf-8") | st.sampled_from(WHITESPACE + "+-./@:K0"))
    how = draw(st.sampled_from(["insert", "delete", "replace"]))
    if how == "insert":
        return value[:position] + char + value[position:]
    if how == "delete":
        return value[:position] + value[position + 1 :]
    return value[:position] + char + value[position + 1 :]


@pytest.mark.parametrize("name", list(FIELDS))
def test_what_the_pattern_allows_is_accepted(name: str) -> None:
    kind = FIELDS[name]
    schema = documented(kind)
    validator = jsonschema_rs.validator_for(schema)

    @PROBES
    @given(st.from_regex(schema["pattern"], fullmatch=True))
    def check(value: str) -> None:
        if len(value) > schema["maxLength"]:
            return
        if name == "rut":
            value = with_check_digit(value)
        assert validator.is_valid(value), repr(value)
        assert accepts(kind, value), repr(value)

    check()


@pytest.mark.parametrize("name", list(FIELDS))
def test_only_what_the_pattern_allows_is_accepted(name: str) -> None:
    kind = FIELDS[name]
    schema = documented(kind)
    validator = jsonschema_rs.validator_for(schema)

    @PROBES
    @given(near_misses(schema["pattern"]) | st.text())
    def check(value: str) -> None:
        assert validator.is_valid(value) == allowed(schema, value), repr(value)
        if accepts(kind, value):
            assert allowed(schema, value), repr(value)

    check()


def test_whitespace_is_what_strip_removes() -> None:
    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == WHITESPACE
    spaces = re.compile(f"[{re.escape(WHITESPACE)}]")
    assert all(spaces.fullmatch(c) for c in WHITESPACE)
    assert re.fullmatch(RUT_PATTERN, "\u3000 76.086.428-k\u2028")


def test_blank_optional_texts_mean_not_given() -> None:
    schema = OrganizationCreate.model_json_schema()["properties"]["short_name"]
    assert {"type": "string", "pattern": BLANK_PATTERN} in schema["anyOf"]
    assert {"type": "null"} in schema["anyOf"]
    assert re.fullmatch(BLANK_PATTERN, " \u3000\t")
    body = OrganizationCreate.model_json_schema()["examples"][0]
    assert OrganizationCreate.model_validate({**body, "short_name": " \u3000"}).short_name is None


@pytest.mark.parametrize(
    "value",
    [
        "2026-09-01T09:00:00-03:00",
        "2026-09-01t09:00:00z",
        "2026-09-01T09:00:00.123456789Z",
        "0002-01-01T00:00:00+23:59",
        "9998-12-31T23:59:59-23:59",
    ],
)
def test_timestamps_in_rfc3339_are_accepted(value: str) -> None:
    schema = TypeAdapter(Timestamp).json_schema()
    assert jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value)
    assert TypeAdapter(Timestamp).validate_python(value).tzinfo is not None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-09-01T09:00:00", "Debe incluir la zona horaria"),
        ("2026-09-01 09:00:00Z", "Debe ser una fecha y hora ISO 8601"),
        ("2026-09-01T09:00Z", "Debe ser una fecha y hora ISO 8601"),
        ("0.5", "Debe ser una fecha y hora ISO 8601"),
        (1_700_000_000, "Debe ser una fecha y hora ISO 8601"),
        (datetime(2026, 9, 1), "Debe incluir la zona horaria"),
    ],
)
def test_other_spellings_of_an_instant_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(Timestamp).validate_python(value)


def test_every_cursor_of_the_documented_form_is_a_position() -> None:
    schema = DirectoryQuery.model_json_schema()["properties"]["cursor"]["anyOf"][0]
    assert decode_cursor(encode_cursor("fundacion nandu", "org-001")) == (
        "fundacion nandu",
        "org-001",
    )

    @PROBES
    @given(near_misses(schema["pattern"]) | st.from_regex(schema["pattern"], fullmatch=True))
    def check(value: str) -> None:
        if allowed(schema, value):
            _, organization_id = decode_cursor(value)
            assert organization_id
        else:
            with pytest.raises(InvalidCursor):
                decode_cursor(value)

    check()


def test_renaming_a_call_closed_before_it_opened_is_a_change() -> None:
    opens = datetime(2030, 9, 1, tzinfo=UTC)
    created = datetime(2030, 8, 1, tzinfo=UTC)
    call = RegistrationCall(
        id="c",
        name="Convocatoria",
        opens_at=opens,
        closes_at=opens + timedelta(days=20),
        created_by="s",
        created_at=created,
        updated_at=created,
    )
    closed, _ = call.close("s", created)
    assert closed.opens_at == closed.closes_at
    renamed, events = closed.update(RegistrationCallPatch(name="Otra"), "s", created)
    assert renamed.name == "Otra" and events


# --- the shared OpenAPI corrections and the 405 Allow header ----------------------------------


class Body(BaseModel):
    name: str


def small_app() -> FastAPI:
    app = FastAPI(responses=problem_responses(400, 500))
    install_problem_handlers(app)
    install_openapi(app)

    @app.get("/things/{thing_id}", responses=problem_responses(404))
    async def read(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.patch("/things/{thing_id}", openapi_extra=KEY_REQUIRED)
    async def change(thing_id: str, body: Body) -> dict[str, str]:
        return {"id": thing_id}

    @app.delete("/things/{thing_id}")
    async def remove(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/things")
    async def search(q: str | None = None) -> list[str]:
        return []

    @app.post(
        "/things",
        status_code=201,
        openapi_extra=merge(
            KEY_REQUIRED,
            links(201, ver=link_to("GET", "/things/{thing_id}", thing_id="$response.body#/id")),
        ),
    )
    async def create(body: Body) -> dict[str, str]:
        return {"id": body.name}

    return app


def request(app: FastAPI, method: str, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


def test_a_405_lists_every_method_of_the_path() -> None:
    app = small_app()
    response = request(app, "PUT", "/things/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH, DELETE"  # FastAPI answers no HEAD
    assert response.headers["content-type"].startswith("application/problem+json")
    assert request(app, "OPTIONS", "/things").headers["allow"] == "GET, POST"


def test_the_document_states_errors_keys_and_links() -> None:
    document = small_app().openapi()
    paths = document["paths"]
    read = paths["/things/{thing_id}"]["get"]["responses"]
    assert set(read) == {"200", "404", "500"}  # no 422 (nothing to refuse), no 400 (no body)
    for operation in (paths["/things/{thing_id}"]["patch"], paths["/things"]["get"]):
        problem = operation["responses"]["422"]["content"]
        assert problem == {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}
    assert "400" in paths["/things"]["post"]["responses"]
    assert paths["/things"]["get"]["parameters"][0]["schema"] == {"type": "string", "title": "Q"}
    assert paths["/things"]["post"]["security"] == [{"claveApi": []}]
    assert document["components"]["securitySchemes"]["claveApi"]["scheme"] == "bearer"
    link = paths["/things"]["post"]["responses"]["201"]["links"]["ver"]
    assert link["operationRef"] == "#/paths/~1things~1{thing_id}/get"
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert conform(document) == document  # applying it again changes nothing


PROBLEM_REF = "#/components/schemas/Problema"
