"""RFC 9457 problem details for every error a service returns.

Validation messages are in Spanish because the people reading them are Chilean organisations;
each bad field is named in `errors: [{field, message}]`.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://articula.cl/problemas/"

_TITLES = {
    400: "Solicitud inválida",
    401: "Se requiere autenticación",
    403: "Acceso denegado",
    404: "No encontrado",
    405: "Método no permitido",
    409: "Conflicto",
    410: "Ya no está disponible",
    415: "Tipo de contenido no soportado",
    422: "Datos inválidos",
    429: "Demasiadas solicitudes",
    500: "Error interno",
    503: "Servicio no disponible",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or _TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug if self.slug else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def validation_problem(errors: list[dict[str, str]], detail: str | None = None) -> Problem:
    return Problem(
        422,
        detail or "La solicitud tiene campos inválidos; revise la lista de errores.",
        slug="datos-invalidos",
        errors=errors,
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _characters(count: Any) -> str:
    return f"{count} carácter" if count == 1 else f"{count} caracteres"


def spanish_message(error: Any) -> str:
    """Translate one pydantic error into a sentence a person can act on."""
    kind: str = error.get("type", "")
    ctx: dict[str, Any] = error.get("ctx") or {}
    if kind == "missing":
        return "Este campo es obligatorio."
    if kind == "extra_forbidden":
        return "Este campo no existe en el formulario."
    if kind in ("string_too_short",):
        return f"Debe tener al menos {_characters(ctx.get('min_length'))}."
    if kind in ("string_too_long",):
        return f"Debe tener como máximo {_characters(ctx.get('max_length'))}."
    if kind == "too_short":
        return f"Debe tener al menos {ctx.get('min_length')} elemento(s)."
    if kind == "too_long":
        return f"Debe tener como máximo {ctx.get('max_length')} elementos."
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", " o ")
        return f"Valor no permitido; los valores válidos son: {expected}."
    if kind in ("string_type", "string_sub_type"):
        return "Debe ser un texto."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "Debe ser un número entero."
    if kind in ("float_type", "float_parsing"):
        return "Debe ser un número."
    if kind in ("bool_type", "bool_parsing"):
        return "Debe ser verdadero o falso (true/false)."
    if kind in ("list_type", "set_type", "tuple_type"):
        return "Debe ser una lista."
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "Debe ser un objeto."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Debe ser mayor o igual a {ctx.get('ge', ctx.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return f"Debe ser menor o igual a {ctx.get('le', ctx.get('lt'))}."
    if kind.startswith("url"):
        return "Debe ser una URL válida que comience con http:// o https://."
    if kind in ("datetime_parsing", "datetime_type", "datetime_from_date_parsing"):
        return "Debe ser una fecha y hora ISO 8601 (p. ej. 2026-09-01T09:00:00-03:00)."
    if kind in ("date_parsing", "date_type", "date_from_datetime_parsing"):
        return "Debe ser una fecha ISO 8601 (AAAA-MM-DD)."
    if kind in ("json_invalid", "json_type"):
        return "El cuerpo no es JSON válido."
    if kind in ("uuid_parsing", "uuid_type"):
        return "Debe ser un identificador válido."
    if kind in ("value_error", "assertion_error"):
        # Our validators raise ValueError with a Spanish message already.
        message = str(ctx.get("error", error.get("msg", "")))
        return message.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return "El formato no es válido."
    return "Valor inválido."


def errors_from_pydantic(raw_errors: Any) -> list[dict[str, str]]:
    return [{"field": _field(e.get("loc", ())), "message": spanish_message(e)} for e in raw_errors]


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """`Allow` for a 405: the methods of every route on the request's path.

    Starlette's own 405 lists the methods of the first route that matched the path only, and
    FastAPI makes one route per method, so `GET, PATCH, DELETE` on one path came out as `GET`.
    """
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    order = {method: index for index, method in enumerate(_METHOD_ORDER)}
    return ", ".join(sorted(methods, key=lambda m: (order.get(m, len(order)), m)))


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            validation_problem(errors_from_pydantic(exc.errors())), request.url.path
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 400:
            detail = "No se pudo leer el cuerpo de la solicitud: envíe JSON en UTF-8."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "El recurso solicitado no existe."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            detail = "Este método no está permitido en este recurso."
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        problem = Problem(exc.status_code, detail, headers=headers)
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        problem = Problem(500, "Ocurrió un error inesperado; el equipo fue notificado.")
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


# The body of every error response, in OpenAPI (JSON Schema); `shared.openapi` refers to it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

# OpenAPI description of an error response, for `responses={404: PROBLEM_RESPONSE, …}`.
PROBLEM_RESPONSE: dict[str, Any] = {
    "description": "Error (RFC 9457)",
    "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as problem+json."""
    return {status: PROBLEM_RESPONSE for status in statuses}
