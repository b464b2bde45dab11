"""A programme as an IATI 2.03 activity (`GET /v1/programmes/{id}/iati.xml`), for funders'
systems that read the International Aid Transparency Initiative standard.

One `iati-activities` document with one `iati-activity`, built with the standard library's
ElementTree and checked in the tests against the official 2.03 schema (IATI-Schemas,
`tests/unit/data/iati/`). Choices the standard leaves to the publisher:

* **Organisation**: the programme's organisation reports it (`reporting-org`) and implements it
  (`participating-org` role 4). Its identifier is its RUT in org-id.guide's `CL-RUT` list
  (`CL-RUT-760864285`: digits and check digit, no punctuation); the activity's identifier is
  that plus the programme id. Its type (OrganisationType) follows its legal form, then sector.
* **Status and dates**: a programme that reports results is in implementation (status 2). It
  has no dates of its own, so the planned start (type 1) is its earliest baseline date (or the
  day it was registered, without indicators) and the planned end (type 3) its latest target.
* **Territory**: Chilean regions are not IATI regions (IATI's Region vocabulary holds the OECD
  DAC's supranational regions, "South America" at best) and no IATI geographic vocabulary has
  ISO 3166-2 codes. So the recipient is the country (`recipient-country` CL, 100%), and each of
  the programme's regions is a `location` whose `ref` is its ISO 3166-2:CL code, with its
  name, class "administrative region", designation ADM1, inside CL (`administrative`, ISO
  country vocabulary A4). Funders match on `location/@ref`; nothing is invented.
* **Sectors**: every theme twice: as the OECD DAC CRS purpose code closest to it (vocabulary
  1, `THEME_SECTORS`; themes sharing a code report it once) and as itself in the Mesa's own
  vocabulary (99, "reporting organisation", `THEMES_VOCABULARY`). Each vocabulary's
  percentages add up to 100, split evenly, as IATI's rules ask.
* **Results**: one `result` per indicator level (output 1, outcome 2, impact 3), titled after
  the theory of change's step and described by it; each indicator with `measure` 2 when its
  unit is a percentage, else 1 (a count), `ascending` from its direction, its means of
  verification, its baseline, one period from the baseline to the target date carrying the
  target, and one period per approved measurement carrying the actual: the total, then one
  `actual` per disaggregated value with its `dimension` (`sex`, `age_group`, `region`), the
  source and evidence level as a comment and the evidence link as a document (category A08,
  "results, outcomes and outputs"). Submitted and rejected measurements are not published.

Texts are Spanish (`xml:lang="es"` on the activity). Nothing about a person is in it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Final

from services.metrics.domain.programmes import Indicator, Measurement, Programme
from shared.events.registry import OrganizationSnapshot
from shared.reference.territory import REGIONS

__all__ = [
    "IATI_VERSION",
    "THEMES_VOCABULARY",
    "THEME_LABELS",
    "THEME_SECTORS",
    "Reporter",
    "iati_document",
    "organisation_type",
]

IATI_VERSION: Final = "2.03"
XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
THEMES_VOCABULARY: Final = "https://articula.cl/vocabularios/temas"

# Theme → (label, OECD DAC CRS 5-digit purpose code). The closest purpose code, not an exact
# one: the DAC classifies aid by sector, the Mesa its programmes by the problem they face.
THEME_SECTORS: Final[dict[str, str]] = {
    "pobreza": "16010",  # Social protection
    "salud_mental": "12340",  # Promotion of mental health and well-being
    "educacion": "11110",  # Education policy and administrative management (level unspecified)
    "infancia_juventud": "16015",  # Social services (incl. youth development, women+children)
    "empleo_mujer": "16020",  # Employment creation (incl. vulnerable groups)
    "cuidados": "16010",  # Social protection (care services)
    "vivienda": "16040",  # Low-cost housing
    "discapacidad": "16010",  # Social protection (disability)
    "personas_mayores": "16010",  # Social protection (old age)
    "medio_ambiente": "41010",  # Environmental policy and administrative management
    "desarrollo_economico_local": "25030",  # Business development services
    "pueblos_indigenas": "15160",  # Human rights (programmes for indigenous peoples)
    "migracion": "15190",  # Facilitation of orderly, safe, regular migration and mobility
    "otro": "99810",  # Sectors not specified
}
THEME_LABELS: Final[dict[str, str]] = {
    "pobreza": "Pobreza",
    "salud_mental": "Salud mental",
    "educacion": "Educación",
    "infancia_juventud": "Infancia y juventud",
    "empleo_mujer": "Empleo y mujer",
    "cuidados": "Cuidados",
    "vivienda": "Vivienda",
    "discapacidad": "Discapacidad",
    "personas_mayores": "Personas mayores",
    "medio_ambiente": "Medio ambiente",
    "desarrollo_economico_local": "Desarrollo económico local",
    "pueblos_indigenas": "Pueblos indígenas",
    "migracion": "Migración",
    "otro": "Otro",
}

# OrganisationType: by legal form, else by sector, else 90 (other).
_TYPE_BY_LEGAL_FORM: Final = {
    "fundacion": "60",  # Foundation
    "corporacion": "22",  # National NGO
    "ong": "22",
    "cooperativa": "70",  # Private sector
    "empresa": "70",
    "empresa_b": "70",
    "municipio": "11",  # Local government
    "servicio_publico": "10",  # Government
    "universidad": "80",  # Academic, training and research
    "organismo_internacional": "40",  # Multilateral
}
_TYPE_BY_SECTOR: Final = {
    "sociedad_civil": "22",
    "privado": "70",
    "publico": "10",
    "academia": "80",
    "organismo_internacional": "40",
}
_RESULT_TYPE: Final = {"output": "1", "outcome": "2", "impact": "3"}
_RESULT_TITLE: Final = {
    "output": "Productos",
    "outcome": "Resultados intermedios",
    "impact": "Resultados finales (impacto)",
}
_EVIDENCE_LEVEL: Final = {
    "self_reported": "autorreportado",
    "third_party_verified": "verificado por un tercero",
    "externally_evaluated": "evaluado externamente",
}
_PERCENT_UNITS: Final = frozenset({"%", "porcentaje", "por ciento", "percent", "percentage"})


def organisation_type(legal_form: str, sector: str) -> str:
    return _TYPE_BY_LEGAL_FORM.get(legal_form) or _TYPE_BY_SECTOR.get(sector, "90")


@dataclass(frozen=True)
class Reporter:
    """The reporting organisation: `ref` (org-id.guide), its name and OrganisationType."""

    ref: str
    name: str
    type: str

    @classmethod
    def of(cls, organization: OrganizationSnapshot) -> Reporter:
        digits = organization.rut.replace(".", "").replace("-", "").upper()
        return cls(
            ref=f"CL-RUT-{digits}",
            name=organization.name,
            type=organisation_type(organization.legal_form, organization.sector),
        )


def _value(number: float) -> str:
    """A decimal as IATI's values are written: no exponent, no trailing zeros."""
    text = format(Decimal(repr(number)).normalize(), "f")
    return text[:-2] if text.endswith(".0") else text


def _percentages(count: int) -> list[str]:
    """`count` shares of 100 to two decimals, adding up to exactly 100 (the rest on the first)."""
    share = (Decimal(100) / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    first = Decimal(100) - share * (count - 1)
    return [_value(float(first)), *(_value(float(share)) for _ in range(count - 1))]


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attributes.items()})


def _narrative(parent: ET.Element, tag: str | None, text: str, **attributes: str) -> ET.Element:
    """`<tag><narrative>text</narrative></tag>`, or the narrative alone in `parent`."""
    holder = _sub(parent, tag, **attributes) if tag is not None else parent
    ET.SubElement(holder, "narrative").text = text
    return holder


def _lines(*parts: tuple[str, Sequence[str]]) -> str:
    return "\n".join(f"{title}: {'; '.join(items)}" for title, items in parts if items)


def iati_document(programme: Programme, reporter: Reporter, generated_at: datetime) -> bytes:
    """The `iati-activities` document of one programme, UTF-8 with its XML declaration."""
    root = ET.Element(
        "iati-activities",
        {"version": IATI_VERSION, "generated-datetime": generated_at.isoformat()},
    )
    activity = _sub(
        root,
        "iati-activity",
        last_updated_datetime=programme.updated_at.isoformat(),
        hierarchy="1",
    )
    activity.set(XML_LANG, "es")
    _sub(activity, "iati-identifier").text = f"{reporter.ref}-{programme.id}"
    _narrative(activity, "reporting-org", reporter.name, ref=reporter.ref, type=reporter.type)
    _narrative(activity, "title", programme.name)
    _narrative(activity, "description", programme.summary, type="1")
    theory = programme.theory_of_change
    objectives = _lines(
        ("Problema", [theory.problem]),
        ("Resultados finales", theory.final_results),
        ("Resultados intermedios", theory.intermediate_results),
        ("Supuestos", theory.assumptions),
        ("Riesgos", theory.risks),
    )
    _narrative(activity, "description", objectives, type="2")
    _narrative(
        activity, "participating-org", reporter.name, ref=reporter.ref, type=reporter.type, role="4"
    )
    _sub(activity, "activity-status", code="2")
    indicators = programme.indicators
    start = min((i.baseline.date for i in indicators), default=programme.created_at.date())
    _sub(activity, "activity-date", type="1", iso_date=start.isoformat())
    if indicators:
        end = max(i.target.date for i in indicators)
        _sub(activity, "activity-date", type="3", iso_date=end.isoformat())
    _sub(activity, "recipient-country", code="CL", percentage="100")
    for code in programme.regions:
        _location(activity, code)
    _sectors(activity, programme.themes)
    for level in ("output", "outcome", "impact"):
        of_level = [i for i in indicators if i.level == level]
        if of_level:
            _result(activity, programme, level, of_level)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _location(activity: ET.Element, code: str) -> None:
    location = _sub(activity, "location", ref=code)
    _sub(location, "location-reach", code="1")
    _narrative(location, "name", REGIONS[code].name)
    _sub(location, "administrative", vocabulary="A4", level="0", code="CL")
    _sub(location, "location-class", code="1")
    _sub(location, "feature-designation", code="ADM1")


def _sectors(activity: ET.Element, themes: Sequence[str]) -> None:
    codes = list(dict.fromkeys(THEME_SECTORS[t] for t in themes))
    for code, share in zip(codes, _percentages(len(codes)), strict=True):
        _sub(activity, "sector", vocabulary="1", code=code, percentage=share)
    for theme, share in zip(themes, _percentages(len(themes)), strict=True):
        _narrative(
            activity,
            "sector",
            THEME_LABELS[theme],
            vocabulary="99",
            vocabulary_uri=THEMES_VOCABULARY,
            code=theme,
            percentage=share,
        )


def _result(
    activity: ET.Element, programme: Programme, level: str, indicators: list[Indicator]
) -> None:
    result = _sub(activity, "result", type=_RESULT_TYPE[level])
    _narrative(result, "title", _RESULT_TITLE[level])
    theory = programme.theory_of_change
    steps = {
        "output": theory.outputs,
        "outcome": theory.intermediate_results,
        "impact": theory.final_results,
    }[level]
    if steps:
        _narrative(result, "description", "\n".join(steps))
    for indicator in indicators:
        _indicator(result, programme, indicator)


def _indicator(result: ET.Element, programme: Programme, indicator: Indicator) -> None:
    percent = indicator.unit.strip().casefold() in _PERCENT_UNITS
    element = _sub(
        result,
        "indicator",
        measure="2" if percent else "1",
        ascending="true" if indicator.direction == "increase" else "false",
    )
    _narrative(element, "title", f"{indicator.name} ({indicator.unit})")
    if indicator.means_of_verification:
        _narrative(
            element, "description", f"Medios de verificación: {indicator.means_of_verification}"
        )
    baseline = indicator.baseline
    _sub(
        element,
        "baseline",
        year=str(baseline.date.year),
        iso_date=baseline.date.isoformat(),
        value=_value(baseline.value),
    )
    target_period = _sub(element, "period")
    _sub(target_period, "period-start", iso_date=baseline.date.isoformat())
    _sub(target_period, "period-end", iso_date=indicator.target.date.isoformat())
    _sub(target_period, "target", value=_value(indicator.target.value))
    for measurement in programme.measurements_of(indicator.id):
        if measurement.status == "approved":
            _period(element, measurement)


def _period(indicator: ET.Element, measurement: Measurement) -> None:
    period = _sub(indicator, "period")
    _sub(period, "period-start", iso_date=measurement.period_start.isoformat())
    _sub(period, "period-end", iso_date=measurement.period_end.isoformat())
    actual = _sub(period, "actual", value=_value(measurement.value))
    level = _EVIDENCE_LEVEL.get(measurement.evidence_level, measurement.evidence_level)
    _narrative(actual, "comment", f"Fuente: {measurement.source}. Nivel de evidencia: {level}.")
    if measurement.evidence_url:
        link = _sub(
            actual,
            "document-link",
            url=measurement.evidence_url,
            format=_format_of(measurement.evidence_url),
        )
        _narrative(link, "title", "Evidencia de la medición")
        _sub(link, "category", code="A08")
        _sub(link, "document-date", iso_date=measurement.period_end.isoformat())
    for cell in measurement.disaggregated:
        part = _sub(period, "actual", value=_value(cell.value))
        _sub(part, "dimension", name=cell.dimension, value=cell.key)


def _format_of(url: str) -> str:
    """The IANA media type of the evidence document, from its extension (web page otherwise)."""
    path = url.split("?", 1)[0].split("#", 1)[0].casefold()
    for extension, media_type in (
        (".pdf", "application/pdf"),
        (".csv", "text/csv"),
        (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ):
        if path.endswith(extension):
            return media_type
    return "text/html"
