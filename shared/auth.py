"""API keys: `Authorization: Bearer <key>`, stored only as SHA-256 hashes.

Keys are long random tokens (not passwords), so a fast hash is right: it lets us look a key
up by its hash, and a leaked database does not leak usable keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from shared.problems import Problem


def new_api_key(prefix: str) -> str:
    """`<prefix>_<43 url-safe chars>`; the prefix says what kind of key leaked, if one does."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized() -> Problem:
    return Problem(
        401,
        "Falta la clave de API o no es válida; envíe 'Authorization: Bearer <clave>'.",
        slug="no-autenticado",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(detail: str = "Su clave de API no permite esta operación.") -> Problem:
    return Problem(403, detail, slug="acceso-denegado")
