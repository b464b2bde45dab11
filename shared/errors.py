"""Refusals a domain makes, each with the HTTP status the API answers with.

Domains know nothing about HTTP, but every refusal has one obvious status, so it travels with
the error; every service renders any `DomainError` as problem+json the same way
(`shared.runtime`). Messages are in Spanish because they reach people as they are; `extra`
adds fields to the problem body (a refused transition says the state and what it allows).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "solicitud-invalida"

    def __init__(
        self, detail: str, *, errors: list[dict[str, str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class Forbidden(DomainError):
    """The caller is known but may not do this (their key, or a code that does not qualify)."""

    status = 403
    slug = "prohibido"


class NotFound(DomainError):
    status = 404
    slug = "no-encontrado"


class Conflict(DomainError):
    status = 409
    slug = "conflicto"


class Gone(DomainError):
    status = 410
    slug = "ya-no-disponible"


class InvalidInput(DomainError):
    """A field is wrong in a way only the domain can tell; `errors` names each field."""

    status = 422
    slug = "datos-invalidos"


class Unavailable(DomainError):
    """Not ready to answer yet (a view still loading after a start)."""

    status = 503
    slug = "no-disponible"


class InvalidTransition(Conflict):
    """The action is not allowed from the current state: says which state and what it allows."""

    slug = "transicion-invalida"

    def __init__(self, detail: str, *, current: str, allowed: Iterable[str]) -> None:
        super().__init__(detail, current_status=current, allowed=sorted(allowed))
