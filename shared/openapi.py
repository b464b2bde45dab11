"""The OpenAPI document every service serves, corrected where FastAPI's defaults say otherwise.

FastAPI documents a 422 with its own `HTTPValidationError` body as `application/json` on every
operation that has a parameter, whether or not anything can fail validation; the services
answer every error as `application/problem+json` (`shared.problems`). `install_openapi` fixes
the generated document once, for every service:

* every 4xx and 5xx response is documented as problem+json (one `Problema` schema);
* parameters are never null (a query parameter is left out instead): pydantic's `X | None`
  becomes `X`;
* FastAPI's default 422 stays only where a parameter or a body can actually be refused, and
  the app-wide 400 (an unreadable body) only where there is a body to read;
* operations that name the API key (`KEY_REQUIRED`, `KEY_OPTIONAL` in a route's
  `openapi_extra`) get the `claveApi` bearer scheme declared in `components`.

`links(...)` builds OpenAPI links, so clients (and stateful testers) learn that the `id` a
`POST` answers is the `{…_id}` of the operations that follow.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from shared.problems import PROBLEM_JSON, PROBLEM_SCHEMA

API_KEY = "claveApi"
PROBLEM_REF = "#/components/schemas/Problema"
_FASTAPI_VALIDATION_REF = "#/components/schemas/HTTPValidationError"
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# `openapi_extra=` of a route: the API key is needed (401 without it), or changes the answer.
KEY_REQUIRED: dict[str, Any] = {"security": [{API_KEY: []}]}
KEY_OPTIONAL: dict[str, Any] = {"security": [{}, {API_KEY: []}]}

_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "Clave de API en `Authorization: Bearer <clave>`: la de la organización (la entrega "
        "el registro al confirmar o activar), o una del equipo o de un financista."
    ),
}


def link_to(method: str, path: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link object to the operation `method path`, e.g.
    ``link_to("GET", "/v1/calls/{call_id}", call_id="$response.body#/id")``."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "parameters": parameters}


def links(status: int, **named: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra=` fragment attaching named links to the `status` response."""
    return {"responses": {str(status): {"links": named}}}


def merge(*fragments: Mapping[str, Any]) -> dict[str, Any]:
    """Several `openapi_extra` fragments as one (nested dictionaries merged)."""
    merged: dict[str, Any] = {}
    for fragment in fragments:
        _deep_update(merged, fragment)
    return merged


def _deep_update(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def install_openapi(app: FastAPI) -> None:
    """Serve (and cache) the corrected document from `app.openapi()`."""
    generate = app.openapi
    document: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal document
        if document is None:
            document = conform(copy.deepcopy(generate()))
            app.openapi_schema = document
        return document

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented way to customise it


def conform(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the corrections of the module docstring applied."""
    uses_key = False
    for item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            _conform_operation(operation)
            uses_key = uses_key or any(API_KEY in req for req in operation.get("security", ()))
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problema"] = copy.deepcopy(PROBLEM_SCHEMA)
    for name in _FASTAPI_SCHEMAS:  # FastAPI's error schemas, once nothing refers to them
        rest = {key: value for key, value in schemas.items() if key != name}
        if f'"#/components/schemas/{name}"' not in json.dumps([document["paths"], rest]):
            schemas.pop(name, None)
    if uses_key:
        components.setdefault("securitySchemes", {})[API_KEY] = dict(_SECURITY_SCHEME)
    return document


def _conform_operation(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", ()):
        _not_null(parameter.get("schema", {}))
    responses: dict[str, Any] = operation.get("responses", {})
    default_422 = _is_fastapi_validation_error(responses.get("422"))
    if default_422 and not _can_refuse_input(operation):
        del responses["422"]
    if "requestBody" not in operation:
        responses.pop("400", None)
    for status, response in responses.items():
        if _is_error(status):
            if status == "422" and default_422:
                response["description"] = "Datos inválidos (RFC 9457, con la lista `errors`)"
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def _not_null(schema: dict[str, Any]) -> None:
    """A parameter is left out, never null: drop the `null` branch pydantic gives `X | None`."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return
    kept = [branch for branch in branches if branch != {"type": "null"}]
    del schema["anyOf"]
    if len(kept) == 1:
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept
    if schema.get("default", 0) is None:
        del schema["default"]


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5") or status == "default"


def _is_fastapi_validation_error(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == _FASTAPI_VALIDATION_REF)


def _can_refuse_input(operation: dict[str, Any]) -> bool:
    """Whether validation can refuse anything: a body, or a parameter with constraints (a
    path segment of plain text never fails)."""
    if "requestBody" in operation:
        return True
    return any(not _accepts_any_text(p) for p in operation.get("parameters", ()))


def _accepts_any_text(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    constrained = set(schema) - {"type", "title", "description", "examples"}
    return bool(
        parameter.get("in") == "path" and schema.get("type") == "string" and not constrained
    )
