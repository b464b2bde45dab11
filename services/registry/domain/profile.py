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
  domain checks it against its ``now`` (``check_year_founded``); the document states this
  year as the maximum.
* The OpenAPI schema of every field says what its validation accepts (``shared.fields``):
  lengths count what is sent, patterns say what trimming, control characters, URLs, e-mail
  addresses, phones and RUTs may look like. What JSON Schema cannot say is in the
  descriptions: a RUT's check digit, comunas within the regions (or the head office's), and,
  in a PATCH, the same rules on the merged profile. Codes (regions, comunas) are documented in
  their canonical form; lower case and surrounding spaces are forgiven.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

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

from shared.fields import (
    BLANK_TO_NONE,
    NOT_NULL,
    SPACE,
    json_number,
    or_blank,
    refuse_null,
    text_schema,
    trimmed,
)
from shared.reference.rut import RUT_PATTERN, normalize_rut
from shared.reference.territory import COMUNAS, REGION_CODES, comuna_in_region
from shared.reference.vocabulary import Sector, Theme
from shared.values import (
    WEBSITE_SCHEMA,
    Email,
    MacrozoneId,
    PersonName,
    Reason,
    RegionCode,
    UtcDatetime,
    Website,
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


class Trait(StrEnum):
    CAPITAL_SOCIAL = "capital_social"
    ESPACIOS_COLABORACION = "espacios_colaboracion"
    INTERCAMBIO_EXPERIENCIAS = "intercambio_experiencias"
    PUENTES = "puentes"


# --- single values ----------------------------------------------------------------------------


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


ComunaCode = Annotated[
    str,
    AfterValidator(_comuna),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(COMUNAS),
            "description": "Código CUT de la comuna, en una de las regiones (o la de la sede).",
        }
    ),
]


_NAME = text_schema(2, 200)
_SHORT_NAME = text_schema(1, 80)
_DESCRIPTION = text_schema(1, 2000, multiline=True)

LegalName = Annotated[str, StringConstraints(max_length=200), trimmed(2), WithJsonSchema(_NAME)]
ShortName = Annotated[
    str, StringConstraints(max_length=80), trimmed(1), WithJsonSchema(_SHORT_NAME)
]
Description = Annotated[
    str,
    StringConstraints(max_length=2000),
    trimmed(1, multiline=True),
    WithJsonSchema(_DESCRIPTION),
]
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_BAD_PHONE = "Debe ser un teléfono válido, por ejemplo +56 9 1234 5678."
# Digits with separators (spaces, parentheses, dots, hyphens, slashes) anywhere: "+" and 8 to
# 15 digits (11 if they start with 56), or, without "+", 9 digits, 0 and 9 digits, or 56 and 9.
_SEP = rf"[{SPACE}()./-]"
_DIGIT = rf"[0-9]{_SEP}*"
PHONE_PATTERN: Final = (
    rf"^{_SEP}*(?:\+{_SEP}*(?:[0-46-9]{_SEP}*(?:{_DIGIT}){{7,14}}"
    rf"|5{_SEP}*(?:[0-57-9]{_SEP}*(?:{_DIGIT}){{6,13}}|6{_SEP}*(?:{_DIGIT}){{9}}))"
    rf"|(?:0{_SEP}*|5{_SEP}*6{_SEP}*)?(?:{_DIGIT}){{9}})$"
)


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


_PHONE_SCHEMA: Final = {"type": "string", "maxLength": 30, "pattern": PHONE_PATTERN}
Phone = Annotated[
    str, StringConstraints(max_length=30), AfterValidator(_phone), WithJsonSchema(_PHONE_SCHEMA)
]


def _rut(value: str) -> str:
    return normalize_rut(value)  # InvalidRut is a ValueError with a Spanish message


Rut = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(_rut),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 20,
            "pattern": RUT_PATTERN,
            "description": "RUT con su dígito verificador (módulo 11), con o sin puntos y guion.",
            "examples": ["76.086.428-5"],
        }
    ),
]


def _terms(value: str) -> str:
    if value != CURRENT_TERMS_VERSION:
        raise ValueError(
            f"Debe aceptar la versión vigente de los términos y condiciones "
            f"({CURRENT_TERMS_VERSION})."
        )
    return value


TermsVersion = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(_terms),
    WithJsonSchema({"type": "string", "enum": [CURRENT_TERMS_VERSION]}),
]


# --- lists ------------------------------------------------------------------------------------


_UNIQUE: Final[dict[str, Any]] = {"uniqueItems": True}


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
    Field(max_length=len(REGION_CODES), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(REGION_CODES)),
]
Comunas = Annotated[
    list[ComunaCode],
    Field(max_length=len(COMUNAS), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(sorted(COMUNAS))),
]
Roles = Annotated[
    list[Role],
    Field(min_length=1, max_length=len(Role), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(Role))),
]
Themes = Annotated[
    list[Theme],
    Field(min_length=1, max_length=len(Theme), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(Theme))),
]
Traits = Annotated[
    list[Trait],
    Field(max_length=len(Trait), json_schema_extra=_UNIQUE),
    AfterValidator(_unique_in_order(list(Trait))),
]
OptionalText = BLANK_TO_NONE


def _until_this_year(schema: dict[str, Any]) -> None:
    schema["maximum"] = datetime.now(UTC).year


YearFounded = Annotated[
    int,
    Field(ge=FIRST_YEAR_FOUNDED, json_schema_extra=_until_this_year),
    BeforeValidator(json_number),
]


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
    phone: Annotated[Phone | None, OptionalText, or_blank(_PHONE_SCHEMA)] = None


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
    short_name: Annotated[ShortName | None, OptionalText, or_blank(_SHORT_NAME)] = None
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
    website: Annotated[Website | None, OptionalText, or_blank(WEBSITE_SCHEMA)] = None
    description: Annotated[Description | None, OptionalText, or_blank(_DESCRIPTION)] = None
    year_founded: YearFounded | None = None

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

    name: Annotated[PersonName | None, NOT_NULL] = None
    email: Annotated[Email | None, NOT_NULL] = None
    phone: Annotated[Phone | None, OptionalText, or_blank(_PHONE_SCHEMA)] = None

    @field_validator("name", "email", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ConsentPatch(BaseModel):
    """Change of consent: stop or resume publication, or accept a newer terms version."""

    model_config = _INPUT

    publish_profile: Annotated[StrictBool | None, NOT_NULL] = None
    terms_version: Annotated[TermsVersion | None, NOT_NULL] = None

    @field_validator("publish_profile", "terms_version", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


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

    ``null`` clears an optional field and is refused for a required one (whose schema is not
    nullable: leave it out to keep it). The RUT identifies the
    organisation and cannot change; sending it gets a field error that says so. Cross-field
    rules (comunas within regions) are checked again by the domain on the merged profile.
    """

    model_config = _INPUT

    rut: SkipJsonSchema[Any] = Field(default=None, exclude=True)
    name: Annotated[LegalName | None, NOT_NULL] = None
    short_name: Annotated[ShortName | None, OptionalText, or_blank(_SHORT_NAME)] = None
    sector: Annotated[Sector | None, NOT_NULL] = None
    legal_form: Annotated[LegalForm | None, NOT_NULL] = None
    head_office_region: Annotated[RegionCode | None, NOT_NULL] = None
    regions: Annotated[Regions | None, NOT_NULL] = None
    comunas: Annotated[Comunas | None, NOT_NULL] = None
    scope: Annotated[Scope | None, NOT_NULL] = None
    roles: Annotated[Roles | None, NOT_NULL] = None
    themes: Annotated[Themes | None, NOT_NULL] = None
    links_with_others: StrictBool | None = None
    has_alliances: StrictBool | None = None
    traits: Annotated[Traits | None, NOT_NULL] = None
    website: Annotated[Website | None, OptionalText, or_blank(WEBSITE_SCHEMA)] = None
    description: Annotated[Description | None, OptionalText, or_blank(_DESCRIPTION)] = None
    year_founded: YearFounded | None = None
    contact: Annotated[ContactPatch | None, NOT_NULL] = None
    consent: Annotated[ConsentPatch | None, NOT_NULL] = None

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
        return refuse_null(value)


class ConfirmationInput(BaseModel):
    """Body of ``POST /v1/organizations/{id}/confirmation``."""

    model_config = _INPUT

    token: Annotated[
        str,
        StringConstraints(max_length=200),
        trimmed(1, controls=True),
        WithJsonSchema(text_schema(1, 200, controls=True)),
    ]


class ReasonInput(BaseModel):
    """Body of a staff decision (activation, suspension, reinstatement): why, for the record."""

    model_config = _INPUT

    reason: Reason


class VerificationInput(BaseModel):
    """Body of a staff verification; ``verified: false`` removes the mark."""

    model_config = _INPUT

    verified: StrictBool = True
    reason: Reason
