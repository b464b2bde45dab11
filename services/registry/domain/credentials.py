"""Confirmation tokens and organisation API keys: generated here, stored only as hashes.

Both are long random strings, so SHA-256 (``shared.auth.hash_secret``) is the right hash: a
leaked database yields no usable secret, and a key can still be found by its hash. The
plaintext leaves the registry once: the API key in the response that creates it, the token in
``ConfirmationRequested`` (see ``shared.events.registry``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from shared.auth import hash_secret, new_api_key, same_secret

__all__ = [
    "API_KEY_PREFIX",
    "CONFIRMATION_TOKEN_PREFIX",
    "CONFIRMATION_TTL",
    "hash_secret",
    "new_confirmation_token",
    "new_organization_api_key",
    "secret_matches",
]

CONFIRMATION_TTL: Final = timedelta(hours=72)
CONFIRMATION_TOKEN_PREFIX: Final = "cnf"
API_KEY_PREFIX: Final = "org"


def new_confirmation_token() -> str:
    """A one-time token for the e-mailed link (256 random bits)."""
    return new_api_key(CONFIRMATION_TOKEN_PREFIX)


def new_organization_api_key() -> str:
    """An organisation's API key; the prefix tells what kind of key leaked, if one does."""
    return new_api_key(API_KEY_PREFIX)


def secret_matches(plaintext: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return same_secret(hash_secret(plaintext), stored_hash)
