"""Domain errors of the registry, each with the HTTP status the API answers with.

The shared bases (``shared.errors``) carry the HTTP status and slug; every service renders
them as problem+json the same way. Messages are in Spanish because they reach the
organisations as they are.
"""

from __future__ import annotations

from shared.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unavailable,
)
from shared.pagination import InvalidCursor

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


# The registry's refusals are the shared ones plus its own; `RegistryError` names the base.
RegistryError = DomainError


class AlreadyConfirmed(Conflict):
    slug = "ya-confirmada"


class RegistrationClosed(Conflict):
    """An exclusive registration call rules out registering at this moment."""

    slug = "registro-cerrado"


class TokenInvalid(DomainError):
    """The confirmation token does not match (403: it is a credential, not a malformed field)."""

    status = 403
    slug = "token-invalido"


class TokenExpired(Gone):
    slug = "token-expirado"


class WithdrawnOrganizationError(Gone):
    """The organisation withdrew: its record is kept as a fact but accepts no change."""

    slug = "organizacion-retirada"
