"""Values more than one service validates: dates, territory codes, names, URLs, e-mails.

Each type validates as its OpenAPI schema says (`shared.fields`), with Spanish messages that
never echo an e-mail address, so a logged validation error holds no personal data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, StringConstraints, WithJsonSchema

from shared.fields import SPACE, text_schema, trimmed
from shared.reference.territory import MACROZONE_IDS, REGION_CODES, is_region

__all__ = [
    "EMAIL_PATTERN",
    "REASON_MAX_LENGTH",
    "REASON_SCHEMA",
    "WEBSITE_PATTERN",
    "WEBSITE_SCHEMA",
    "Email",
    "MacrozoneId",
    "PersonName",
    "Reason",
    "RegionCode",
    "UtcDatetime",
    "Website",
]


def _as_utc(value: datetime) -> datetime:
    """MongoDB returns naive UTC datetimes; the domain compares aware ones only."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _region(value: str) -> str:
    code = value.strip()
    code = code.upper() if code.isascii() else code
    if not is_region(code):
        raise ValueError(
            f"Región desconocida: {value!r}. Use un código ISO 3166-2:CL, por ejemplo 'CL-RM'."
        )
    return code


RegionCode = Annotated[
    str,
    AfterValidator(_region),
    WithJsonSchema({"type": "string", "enum": list(REGION_CODES)}),
]


def _macrozone(value: str) -> str:
    if value not in MACROZONE_IDS:
        raise ValueError(
            f"Macrozona desconocida: {value!r}. Valores válidos: {', '.join(MACROZONE_IDS)}."
        )
    return value


MacrozoneId = Annotated[
    str,
    AfterValidator(_macrozone),
    WithJsonSchema({"type": "string", "enum": list(MACROZONE_IDS)}),
]


_PERSON_NAME = text_schema(2, 120)
REASON_MAX_LENGTH: Final = 500
REASON_SCHEMA: Final = text_schema(3, REASON_MAX_LENGTH, multiline=True)

PersonName = Annotated[
    str, StringConstraints(max_length=120), trimmed(2), WithJsonSchema(_PERSON_NAME)
]
Reason = Annotated[
    str,
    StringConstraints(max_length=REASON_MAX_LENGTH),
    trimmed(3, multiline=True),
    WithJsonSchema(REASON_SCHEMA),
]

# Host names in ASCII (an internationalised one in its xn-- form); the last label starts with a
# letter; an optional port from 1 to 65535.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)+{_TOP_LABEL}"
_PORT = (
    r"0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
WEBSITE_PATTERN: Final = (
    rf"^[{SPACE}]*[Hh][Tt][Tt][Pp][Ss]?://{_HOST}\.?(?::(?:{_PORT})?)?"
    rf"(?:[/?#][^{SPACE}]*)?[{SPACE}]*$"
)
_WEBSITE = re.compile(WEBSITE_PATTERN)
_BAD_URL = (
    "Debe ser una URL válida que comience con http:// o https:// (p. ej. https://ejemplo.cl)."
)


def _website(value: str) -> str:
    """An http(s) URL with a public-looking host name; scheme and host lower-cased."""
    if _WEBSITE.fullmatch(value) is None:
        if "@" in urlsplit(value.strip()).netloc:
            raise ValueError("La URL no debe incluir usuario ni contraseña.")
        raise ValueError(_BAD_URL)
    parts = urlsplit(value.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment)
    )


WEBSITE_SCHEMA: Final = {"type": "string", "maxLength": 300, "pattern": WEBSITE_PATTERN}
Website = Annotated[
    str,
    StringConstraints(max_length=300),
    AfterValidator(_website),
    WithJsonSchema(WEBSITE_SCHEMA),
]

# A dot-atom local part (RFC 5322) and a host name as above; the domain is lower-cased.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_PATTERN: Final = rf"^[{SPACE}]*{_ATOM}(?:\.{_ATOM})*@{_HOST}[{SPACE}]*$"
_EMAIL = re.compile(EMAIL_PATTERN)


def _email(value: str) -> str:
    if _EMAIL.fullmatch(value) is None:
        raise ValueError("Debe ser un correo electrónico válido, por ejemplo nombre@ejemplo.cl.")
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN}),
]
