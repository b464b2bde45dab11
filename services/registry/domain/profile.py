"""The articulator profile as organisations send it: identifiers, field types and validation.

Field names and identifier values are the public contract (``/work/shared/contract.md``,
"Registry"). Validators raise ``ValueError`` with a Spanish sentence, which
``shared.problems.errors_from_pydantic`` passes through as ``{field, message}``; messages never
echo e-mails or phone numbers, so a logged error holds no personal data.

Decisions:

* ``head_office_region`` is added to ``regions`` automatically when missing (an organisation
  works where it has its head office; refusing the form for it would only annoy), and
  ``regions`` may therefore be omitted.
* Set-like lists (regions, comunas, roles, themes, traits) refuse duplicates and are stored in
  a canonical order (north to south, CUT code, declaration order), so reordering them is not
  reported as a change.
* ``year_founded`` cannot be in the future, but "now" is not the validator's to read: the
  domain checks it against its ``now`` (``check_year_founded``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final
from urllib.parse import urlsplit, urlunsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from shared.reference.rut import normalize_rut
from shared.reference.territory import (
    COMUNAS,
    MACROZONE_IDS,
    REGION_CODES,
    comuna_in_region,
    is_region,
)

__all__ = [
    "CURRENT_TERMS_VERSION",
    "FIRST_YEAR_FOUNDED",
    "PROFILE_FIELDS",
    "ComunaCode",
    "ConfirmationInput",
    "ConsentInput",
    "ConsentPatch",
    "ContactInput",
    "ContactPatch",
    "LegalForm",
    "MacrozoneId",
    "OrganizationCreate",
    "OrganizationPatch",
    "ProfileFields",
    "ReasonInput",
    "RegionCode",
    "Role",
    "Scope",
    "Sector",
    "Theme",
    "Trait",
    "UtcDatetime",
    "VerificationInput",
    "check_year_founded",
]

CURRENT_TERMS_VERSION: Final = "2026-1"
FIRST_YEAR_FOUNDED: Final = 1800


class Sector(StrEnum):
    SOCIEDAD_CIVIL = "sociedad_civil"
    PRIVADO = "privado"
    PUBLICO = "publico"
    ACADEMIA = "academia"
    ORGANISMO_INTERNACIONAL = "organismo_internacional"


class LegalForm(StrEnum):
    FUNDACION = "fundacion"
    CORPORACION = "corporacion"
    ONG = "ong"
    COOPERATIVA = "cooperativa"
    EMPRESA = "empresa"
    EMPRESA_B = "empresa_b"
    MUNICIPIO = "municipio"
    SERVICIO_PUBLICO = "servicio_publico"
    UNIVERSIDAD = "universidad"
    ORGANISMO_INTERNACIONAL = "organismo_internacional"
    OTRA = "otra"


class Scope(StrEnum):
    COMUNAL = "comunal"
    REGIONAL = "regional"
    NACIONAL = "nacional"
    INTERNACIONAL = "internacional"


class Role(StrEnum):
    PROGRAMAS = "programas"
    CONCURSOS = "concursos"
    ENTRENAMIENTO = "entrenamiento"
    ESTUDIOS = "estudios"
    HERRAMIENTAS = "herramientas"
    FINANCIAMIENTO = "financiamiento"
    CERTIFICACIONES = "certificaciones"
    COMUNIDAD_PREMIOS = "comunidad_premios"
    INCUBACION_ACELERACION = "incubacion_aceleracion"
    COWORKS = "coworks"


class Theme(StrEnum):
    POBREZA = "pobreza"
    SALUD_MENTAL = "salud_mental"
    EDUCACION = "educacion"
    INFANCIA_JUVENTUD = "infancia_juventud"
    EMPLEO_MUJER = "empleo_mujer"
    CUIDADOS = "cuidados"
    VIVIENDA = "vivienda"
    DISCAPACIDAD = "discapacidad"
    PERSONAS_MAYORES = "personas_mayores"
    MEDIO_AMBIENTE = "medio_ambiente"
    DESARROLLO_ECONOMICO_LOCAL = "desarrollo_economico_local"
    PUEBLOS_INDIGENAS = "pueblos_indigenas"
    MIGRACION = "migracion"
    OTRO = "otro"


class Trait(StrEnum):
    CAPITAL_SOCIAL = "capital_social"
    ESPACIOS_COLABORACION = "espacios_colaboracion"
    INTERCAMBIO_EXPERIENCIAS = "intercambio_experiencias"
    PUENTES = "puentes"


# --- single values ----------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    """MongoDB returns naive UTC datetimes; the domain compares aware ones only."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _region(value: str) -> str:
    code = value.strip().upper()
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


def _comuna(value: str, info: ValidationInfo) -> str:
    """A CUT code that, when the regions are known, lies in one of them (head office included)."""
    cut = value.strip()
    comuna = COMUNAS.get(cut)
    if comuna is None:
        raise ValueError(
            f"Comuna desconocida: {value!r}. Use el código CUT de 5 dígitos, "
            "por ejemplo '13101' (Santiago)."
        )
    head = info.data.get("head_office_region")
    regions = info.data.get("regions")
    if head is None or regions is None:
        return cut  # a region failed or is not part of this (partial) input: checked later
    allowed = {head, *regions}
    if not any(comuna_in_region(cut, region) for region in allowed):
        raise ValueError(
            f"La comuna {cut} ({comuna.name}) pertenece a la región {comuna.region}, que no "
            f"está entre las regiones indicadas ({', '.join(sorted(allowed))})."
        )
    return cut


ComunaCode = Annotated[str, AfterValidator(_comuna)]


def _single_line(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("No debe contener saltos de línea ni caracteres de control.")
    return value


def _multi_line(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise ValueError("No debe contener caracteres de control.")
    return value


def _blank_to_none(value: Any) -> Any:
    """An optional text sent empty means "not given", not a too-short value."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _bounded(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


LegalName = Annotated[str, _bounded(2, 200), AfterValidator(_single_line)]
ShortName = Annotated[str, _bounded(1, 80), AfterValidator(_single_line)]
Description = Annotated[str, _bounded(1, 2000), AfterValidator(_multi_line)]
PersonName = Annotated[str, _bounded(2, 120), AfterValidator(_single_line)]
Reason = Annotated[str, _bounded(3, 500), AfterValidator(_multi_line)]

_HOST_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")
_BAD_URL = (
    "Debe ser una URL válida que comience con http:// o https:// (p. ej. https://ejemplo.cl)."
)


def _website(value: str) -> str:
    """An http(s) URL with a public-looking host name; scheme and host lower-cased."""
    if any(c.isspace() for c in value):
        raise ValueError(_BAD_URL)
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise ValueError(_BAD_URL) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValueError(_BAD_URL)
    if parts.username is not None or parts.password is not None:
        raise ValueError("La URL no debe incluir usuario ni contraseña.")
    labels = parts.hostname.removesuffix(".").split(".")
    if len(labels) < 2 or labels[-1].isdigit() or not all(_HOST_LABEL.match(x) for x in labels):
        raise ValueError(_BAD_URL)
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment)
    )


Website = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=300),
    AfterValidator(_website),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 300}),
]


def _email(value: str) -> str:
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(
            "Debe ser un correo electrónico válido, por ejemplo nombre@ejemplo.cl."
        ) from exc
    return str(result.normalized)


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]

_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_BAD_PHONE = "Debe ser un teléfono válido, por ejemplo +56 9 1234 5678."


def _phone(value: str) -> str:
    """Loose check, stored as +<digits>: Chilean numbers may be typed without +56."""
    compact = _PHONE_SEPARATORS.sub("", value)
    international = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        raise ValueError(_BAD_PHONE)
    if not international:
        if len(digits) == 10 and digits.startswith("0"):  # old trunk prefix: 09 1234 5678
            digits = digits[1:]
        if len(digits) == 9:
            digits = "56" + digits
        elif not (len(digits) == 11 and digits.startswith("56")):
            raise ValueError("Incluya el código de país, por ejemplo +56 9 1234 5678.")
    if digits.startswith("56") and len(digits) != 11:
        raise ValueError("Un teléfono chileno tiene 9 dígitos después de +56 (+56 9 1234 5678).")
    return "+" + digits


Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=30),
    AfterValidator(_phone),
]


def _rut(value: str) -> str:
    return normalize_rut(value)  # InvalidRut is a ValueError with a Spanish message


Rut = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(_rut),
    WithJsonSchema({"type": "string", "examples": ["76.086.428-5"], "maxLength": 20}),
]


def _terms(value: str) -> str:
    if value != CURRENT_TERMS_VERSION:
        raise ValueError(
            f"Debe aceptar la versión vigente de los términos y condiciones "
            f"({CURRENT_TERMS_VERSION})."
        )
    return value


TermsVersion = Annotated[str, StringConstraints(max_length=20), AfterValidator(_terms)]


# --- lists ------------------------------------------------------------------------------------


def _unique_in_order(order: Sequence[str]) -> Callable[[list[Any]], list[Any]]:
    """Refuse duplicates, then sort into the reference order (a canonical form for diffs)."""
    rank = {value: index for index, value in enumerate(order)}

    def check(values: list[Any]) -> list[Any]:
        seen: set[Any] = set()
        repeated: list[str] = []
        for value in values:
            if value in seen and str(value) not in repeated:
                repeated.append(str(value))
            seen.add(value)
        if repeated:
            raise ValueError(f"No repita valores; aparece más de una vez: {', '.join(repeated)}.")
        return sorted(values, key=lambda v: (rank.get(v, len(rank)), str(v)))

    return check


Regions = Annotated[
    list[RegionCode],
    Field(max_length=len(REGION_CODES)),
    AfterValidator(_unique_in_order(REGION_CODES)),
]
Comunas = Annotated[
    list[ComunaCode],
    Field(max_length=len(COMUNAS)),
    AfterValidator(_unique_in_order(sorted(COMUNAS))),
]
Roles = Annotated[
    list[Role],
    Field(min_length=1, max_length=len(Role)),
    AfterValidator(_unique_in_order(list(Role))),
]
Themes = Annotated[
    list[Theme],
    Field(min_length=1, max_length=len(Theme)),
    AfterValidator(_unique_in_order(list(Theme))),
]
Traits = Annotated[
    list[Trait],
    Field(max_length=len(Trait)),
    AfterValidator(_unique_in_order(list(Trait))),
]
OptionalText = BeforeValidator(_blank_to_none)


def check_year_founded(year: int | None, now: datetime) -> list[dict[str, str]]:
    """Errors (``[{field, message}]``) for a foundation year after ``now``'s year."""
    if year is not None and year > now.year:
        return [
            {
                "field": "year_founded",
                "message": f"El año de fundación no puede ser posterior a {now.year}.",
            }
        ]
    return []


# --- models -----------------------------------------------------------------------------------

_INPUT = ConfigDict(extra="forbid", use_enum_values=True)

_EXAMPLE: dict[str, Any] = {
    "rut": "76.086.428-5",
    "name": "Fundación Ejemplo",
    "sector": "sociedad_civil",
    "legal_form": "fundacion",
    "head_office_region": "CL-RM",
    "regions": ["CL-RM", "CL-VS"],
    "scope": "regional",
    "roles": ["programas", "herramientas"],
    "themes": ["pobreza", "educacion"],
    "links_with_others": True,
    "has_alliances": True,
    "traits": ["puentes"],
    "website": "https://ejemplo.cl",
    "description": "Acompañamos a familias en situación de pobreza.",
    "contact": {"name": "María Pérez", "email": "maria@ejemplo.cl", "phone": "+56 9 1234 5678"},
    "consent": {"publish_profile": True, "terms_version": CURRENT_TERMS_VERSION},
}


class ContactInput(BaseModel):
    """Contact person: personal data, shown only to the owner and staff, erased on withdrawal."""

    model_config = _INPUT

    name: PersonName
    email: Email
    phone: Annotated[Phone | None, OptionalText] = None


class ConsentInput(BaseModel):
    """Consent given with the registration; ``publish_profile`` must be an explicit boolean."""

    model_config = _INPUT

    publish_profile: StrictBool
    terms_version: TermsVersion


class ProfileFields(BaseModel):
    """The organisation's own description, shared by the registration form and the aggregate.

    The comuna check reads the regions validated before it, so field order matters here.
    """

    model_config = _INPUT

    name: LegalName
    short_name: Annotated[ShortName | None, OptionalText] = None
    sector: Sector
    legal_form: LegalForm
    head_office_region: RegionCode
    regions: Regions = Field(default_factory=list)
    comunas: Comunas = Field(default_factory=list)
    scope: Scope
    roles: Roles
    themes: Themes
    links_with_others: StrictBool | None = None
    has_alliances: StrictBool | None = None
    traits: Traits = Field(default_factory=list)
    website: Annotated[Website | None, OptionalText] = None
    description: Annotated[Description | None, OptionalText] = None
    year_founded: Annotated[int, Field(ge=FIRST_YEAR_FOUNDED)] | None = None

    @model_validator(mode="after")
    def _head_office_is_a_region(self) -> ProfileFields:
        if self.head_office_region not in self.regions:
            self.regions = _unique_in_order(REGION_CODES)([*self.regions, self.head_office_region])
        return self


PROFILE_FIELDS: Final[tuple[str, ...]] = tuple(ProfileFields.model_fields)


class OrganizationCreate(ProfileFields):
    """Body of ``POST /v1/organizations`` (self-registration)."""

    model_config = ConfigDict(
        extra="forbid", use_enum_values=True, json_schema_extra={"examples": [_EXAMPLE]}
    )

    rut: Rut
    contact: ContactInput
    consent: ConsentInput


class ContactPatch(BaseModel):
    """Partial change of the contact person; ``phone: null`` removes the phone."""

    model_config = _INPUT

    name: PersonName | None = None
    email: Email | None = None
    phone: Annotated[Phone | None, OptionalText] = None

    @field_validator("name", "email", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("Este campo no puede quedar vacío (null).")
        return value


class ConsentPatch(BaseModel):
    """Change of consent: stop or resume publication, or accept a newer terms version."""

    model_config = _INPUT

    publish_profile: StrictBool | None = None
    terms_version: TermsVersion | None = None

    @field_validator("publish_profile", "terms_version", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("Este campo no puede quedar vacío (null).")
        return value


_REQUIRED_IN_PROFILE = (
    "name",
    "sector",
    "legal_form",
    "head_office_region",
    "regions",
    "comunas",
    "scope",
    "roles",
    "themes",
    "traits",
    "contact",
    "consent",
)


class OrganizationPatch(BaseModel):
    """Body of ``PATCH /v1/organizations/{id}``: only the fields sent change.

    ``null`` clears an optional field and is refused for a required one. The RUT identifies the
    organisation and cannot change; sending it gets a field error that says so. Cross-field
    rules (comunas within regions) are checked again by the domain on the merged profile.
    """

    model_config = _INPUT

    rut: SkipJsonSchema[Any] = Field(default=None, exclude=True)
    name: LegalName | None = None
    short_name: Annotated[ShortName | None, OptionalText] = None
    sector: Sector | None = None
    legal_form: LegalForm | None = None
    head_office_region: RegionCode | None = None
    regions: Regions | None = None
    comunas: Comunas | None = None
    scope: Scope | None = None
    roles: Roles | None = None
    themes: Themes | None = None
    links_with_others: StrictBool | None = None
    has_alliances: StrictBool | None = None
    traits: Traits | None = None
    website: Annotated[Website | None, OptionalText] = None
    description: Annotated[Description | None, OptionalText] = None
    year_founded: Annotated[int, Field(ge=FIRST_YEAR_FOUNDED)] | None = None
    contact: ContactPatch | None = None
    consent: ConsentPatch | None = None

    @field_validator("rut", mode="before")
    @classmethod
    def _rut_is_immutable(cls, value: Any) -> Any:
        raise ValueError(
            "El RUT no se puede modificar. Si la organización tiene otro RUT, regístrela "
            "nuevamente o escriba al equipo de la Mesa."
        )

    @field_validator(*_REQUIRED_IN_PROFILE, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("Este campo no puede quedar vacío (null).")
        return value


class ConfirmationInput(BaseModel):
    """Body of ``POST /v1/organizations/{id}/confirmation``."""

    model_config = _INPUT

    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ReasonInput(BaseModel):
    """Body of a staff decision (activation, suspension, reinstatement): why, for the record."""

    model_config = _INPUT

    reason: Reason


class VerificationInput(BaseModel):
    """Body of a staff verification; ``verified: false`` removes the mark."""

    model_config = _INPUT

    verified: StrictBool = True
    reason: Reason
