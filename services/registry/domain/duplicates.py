"""Likely duplicates: the same organisation registered twice under different RUTs or spellings.

The RUT is the hard uniqueness rule (a unique index); these are only warnings for staff, who
decide. Two signals, both cheap to index: the name without legal-form words, accents and
punctuation ("Fundación Ejemplo" = "EJEMPLO S.A."), and the website's host without ``www.``.
Social-network and link-page hosts are shared by thousands of organisations, so for them the
first path segment (the page) is part of the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from services.registry.domain.text import normalize_text

if TYPE_CHECKING:
    from services.registry.domain.organization import Organization

__all__ = [
    "DuplicateWarning",
    "find_duplicates",
    "normalized_name",
    "website_domain",
]

_LEGAL_WORDS: Final = frozenset(
    {
        "fundacion",
        "corporacion",
        "asociacion",
        "cooperativa",
        "ong",
        "ongd",
        "spa",
        "sa",
        "ltda",
        "limitada",
        "eirl",
    }
)
_FILLER_WORDS: Final = frozenset({"de", "del", "la", "las", "el", "los", "y"})

_SHARED_HOSTS: Final = frozenset(
    {
        "facebook.com",
        "instagram.com",
        "linkedin.com",
        "twitter.com",
        "x.com",
        "youtube.com",
        "tiktok.com",
        "linktr.ee",
        "sites.google.com",
    }
)


def normalized_name(name: str) -> str:
    """Name for duplicate detection: no accents, punctuation, legal-form or filler words."""
    text = normalize_text(name.replace(".", ""))  # "S.A." → "sa", "S.p.A." → "spa"
    words = [w for w in text.split() if w not in _LEGAL_WORDS and w not in _FILLER_WORDS]
    return " ".join(words) or text


def website_domain(url: str | None) -> str | None:
    """Host without ``www.`` (plus the page, on shared hosts such as facebook.com)."""
    if not url:
        return None
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
        host = (parts.hostname or "").removesuffix(".").lower()
    except ValueError:
        return None
    for prefix in ("www.", "m."):
        host = host.removeprefix(prefix)
    if not host:
        return None
    if host in _SHARED_HOSTS:
        depth = 2 if host == "linkedin.com" else 1  # linkedin.com/company/<page>
        segments = [s for s in parts.path.lower().split("/") if s][:depth]
        return "/".join([host, *segments]) if segments else None
    return host


class DuplicateWarning(BaseModel):
    """For staff: ``organization_id`` looks like the same organisation, and why."""

    organization_id: str
    name: str
    status: str
    reason: Literal["same_name", "same_website_domain"]
    message: str


def find_duplicates(
    organization: Organization, candidates: Iterable[Organization]
) -> list[DuplicateWarning]:
    """Warnings about ``candidates`` that share the normalised name or the website domain."""
    key = normalized_name(organization.name)
    domain = website_domain(organization.website)
    warnings: list[DuplicateWarning] = []
    for other in candidates:
        if other.id == organization.id:
            continue
        if normalized_name(other.name) == key:
            warnings.append(
                DuplicateWarning(
                    organization_id=other.id,
                    name=other.name,
                    status=str(other.status),
                    reason="same_name",
                    message=f"Tiene casi el mismo nombre que «{other.name}» (RUT {other.rut}).",
                )
            )
        if domain is not None and website_domain(other.website) == domain:
            warnings.append(
                DuplicateWarning(
                    organization_id=other.id,
                    name=other.name,
                    status=str(other.status),
                    reason="same_website_domain",
                    message=f"Comparte el sitio web {domain} con «{other.name}» (RUT {other.rut}).",
                )
            )
    return sorted(warnings, key=lambda w: (w.organization_id, w.reason))
