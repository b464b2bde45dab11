"""Domain errors of the registry, each with the HTTP status the API answers with.

The domain knows nothing about HTTP, but every refusal has one obvious status, so it travels
with the error: the API layer turns any ``RegistryError`` into problem+json with
``Problem(e.status, e.detail, slug=e.slug, errors=e.errors)``. Messages are in Spanish because
they reach the organisations as they are.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyConfirmed",
    "Conflict",
    "Gone",
    "InvalidCursor",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "RegistrationClosed",
    "RegistryError",
    "TokenExpired",
    "TokenInvalid",
    "Unavailable",
    "WithdrawnOrganizationError",
]


class RegistryError(Exception):
    """Base of every refusal the registry's domain makes."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "solicitud-invalida"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(RegistryError):
    status = 404
    slug = "no-encontrado"


class Conflict(RegistryError):
    status = 409
    slug = "conflicto"


class InvalidTransition(Conflict):
    """The action is not allowed from the organisation's current status."""

    slug = "transicion-invalida"


class AlreadyConfirmed(Conflict):
    slug = "ya-confirmada"


class RegistrationClosed(Conflict):
    """An exclusive registration call rules out registering at this moment."""

    slug = "registro-cerrado"


class TokenInvalid(RegistryError):
    """The confirmation token does not match (403: it is a credential, not a malformed field)."""

    status = 403
    slug = "token-invalido"


class Gone(RegistryError):
    status = 410
    slug = "ya-no-disponible"


class TokenExpired(Gone):
    slug = "token-expirado"


class WithdrawnOrganizationError(Gone):
    """The organisation withdrew: its record is kept as a fact but accepts no change."""

    slug = "organizacion-retirada"


class InvalidInput(RegistryError):
    """A field is wrong in a way only the domain can tell; ``errors`` names each field."""

    status = 422
    slug = "datos-invalidos"


class InvalidCursor(InvalidInput):
    pass


class Unavailable(RegistryError):
    """Not ready to answer yet (the catalogue is still loading after a start)."""

    status = 503
    slug = "no-disponible"
