"""The IATI export validates against the official IATI 2.03 activity schema (IATI-Schemas,
branch version-2.03, kept unchanged in `data/iati/` with its licence: "IATI Standard
(http://iatistandard.org/)", CC BY 4.0) and says what the programme says: identifiers, sectors,
regions, and per indicator its baseline, target and approved actuals with their dimensions."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from services.metrics.domain.iati import (
    THEME_LABELS,
    THEME_SECTORS,
    Reporter,
    iati_document,
    organisation_type,
)
from services.metrics.domain.programme_forms import (
    IndicatorInput,
    MeasurementInput,
    ProgrammeCreate,
    ReviewInput,
)
from services.metrics.domain.programmes import Programme
from shared.events.registry import Actor, OrganizationSnapshot
from shared.reference.territory import REGION_CODES
from shared.reference.vocabulary import Theme

SCHEMA = Path(__file__).parent / "data" / "iati" / "iati-activities-schema.xsd"
NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
OWNER = Actor(kind="owner", id="org-1")
STAFF = Actor(kind="staff", id="bootstrap")
REPORTER = Reporter(ref="CL-RUT-760864285", name="Fundación Ejemplo", type="60")


@cache
def schema() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(SCHEMA))


def valid(document: bytes) -> ET.Element:
    """The document's root, once the official schema finds nothing wrong with it."""
    errors = [f"{e.path}: {e.reason}" for e in schema().iter_errors(document.decode("utf-8"))]
    assert not errors, "\n".join(errors)
    return ET.fromstring(document)


def programme(
    themes: list[str], regions: list[str], toc: dict[str, Any] | None = None
) -> Programme:
    created, _ = Programme.create(
        ProgrammeCreate.model_validate(
            {
                "name": "Juntos por la Infancia",
                "summary": "Alianzas entre empresas y residencias.",
                "themes": themes,
                "regions": regions,
                "theory_of_change": toc or {"problem": "Residencias sin apoyo sostenido."},
            }
        ),
        programme_id="c0ffee",
        organization_id="org-1",
        actor=OWNER,
        now=NOW,
    )
    return created


def indicator(p: Programme, **fields: Any) -> str:
    body = {
        "name": "NNA en actividades recreativas",
        "level": "output",
        "unit": "personas",
        "direction": "increase",
        "baseline": {"value": 10, "date": "2025-03-01"},
        "target": {"value": 50, "date": "2026-12-31"},
        **fields,
    }
    made, _ = p.define_indicator(IndicatorInput.model_validate(body), actor=OWNER, now=NOW)
    return made.id


def measure(p: Programme, indicator_id: str, review: str | None = "approved", **fields: Any) -> str:
    body = {
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "value": 25,
        "source": "Registro de asistencia",
        "evidence_level": "self_reported",
        **fields,
    }
    made, _ = p.submit_measurement(
        indicator_id, MeasurementInput.model_validate(body), actor=OWNER, now=NOW
    )
    if review is not None:
        p.review(
            made.id,
            ReviewInput(decision=review, reason="Revisado por el equipo"),
            actor=STAFF,
            now=NOW + timedelta(days=1),
        )
    return made.id


def full_programme() -> Programme:
    p = programme(
        ["pobreza", "cuidados", "salud_mental", "migracion"],
        ["CL-RM", "CL-BI", "CL-MA"],
        {
            "problem": "Residencias sin apoyo sostenido.",
            "outputs": ["Planes de trabajo acordados"],
            "intermediate_results": ["Estándares de cuidado mejorados"],
            "final_results": ["Mejor calidad de vida de los NNA"],
            "assumptions": ["Las empresas mantienen su compromiso"],
            "risks": ["Rotación de equipos"],
        },
    )
    counted = indicator(
        p, disaggregations=["sex", "age_group", "region"], means_of_verification="Listas"
    )
    measure(
        p,
        counted,
        disaggregated=[
            {"sex": "mujer", "value": 12},
            {"sex": "hombre", "value": 13},
            {"sex": "otro", "value": 0},
            {"sex": "prefiere_no_decir", "value": 0},
            {"age_group": "18-29", "value": 4},
            {"region": "CL-BI", "value": 7},
        ],
        evidence_url="https://ejemplo.cl/informes/t1.pdf?v=2",
    )
    measure(p, counted, period_start="2026-04-01", period_end="2026-06-30", value=31)
    measure(p, counted, review=None, period_start="2026-07-01", period_end="2026-09-30", value=40)
    measure(p, counted, review="rejected", value=99)
    rate = indicator(
        p,
        name="Deserción escolar",
        level="outcome",
        unit="%",
        direction="decrease",
        baseline={"value": 12.5, "date": "2024-12-31"},
        target={"value": 7.25, "date": "2027-12-31"},
    )
    measure(p, rate, value=0.0000001, evidence_url="https://ejemplo.cl/evaluacion")
    indicator(
        p,
        name="Hogares que mantienen su vivienda",
        level="impact",
        unit="hogares",
        target={"value": 10, "date": "2028-01-01"},
    )
    return p


def test_a_full_programme_validates_against_the_iati_203_schema() -> None:
    root = valid(iati_document(full_programme(), REPORTER, NOW))
    assert root.tag == "iati-activities" and root.get("version") == "2.03"
    (activity,) = root.findall("iati-activity")
    assert activity.findtext("iati-identifier") == "CL-RUT-760864285-c0ffee"
    reporting = activity.find("reporting-org")
    assert reporting is not None
    assert (reporting.get("ref"), reporting.get("type")) == ("CL-RUT-760864285", "60")
    assert activity.findtext("title/narrative") == "Juntos por la Infancia"
    assert activity.find("activity-status").get("code") == "2"  # type: ignore[union-attr]
    dates = {d.get("type"): d.get("iso-date") for d in activity.findall("activity-date")}
    assert dates == {"1": "2024-12-31", "3": "2028-01-01"}


def test_regions_are_locations_in_chile_the_recipient_country() -> None:
    activity = valid(iati_document(full_programme(), REPORTER, NOW)).find("iati-activity")
    assert activity is not None
    (country,) = activity.findall("recipient-country")
    assert (country.get("code"), country.get("percentage")) == ("CL", "100")
    assert activity.findall("recipient-region") == []
    locations = activity.findall("location")
    assert [loc.get("ref") for loc in locations] == ["CL-RM", "CL-BI", "CL-MA"]
    assert locations[1].findtext("name/narrative") == "Biobío"


def _sectors(activity: ET.Element, vocabulary: str) -> dict[str, Decimal]:
    return {
        s.get("code", ""): Decimal(s.get("percentage", "0"))
        for s in activity.findall("sector")
        if s.get("vocabulary") == vocabulary
    }


def test_themes_are_dac_sectors_and_the_mesas_own_each_adding_up_to_100() -> None:
    activity = valid(iati_document(full_programme(), REPORTER, NOW)).find("iati-activity")
    assert activity is not None
    dac = _sectors(activity, "1")
    # pobreza and cuidados share 16010 (social protection): reported once.
    assert list(dac) == ["16010", "12340", "15190"]
    assert sum(dac.values()) == 100
    own = _sectors(activity, "99")
    assert list(own) == ["pobreza", "salud_mental", "cuidados", "migracion"]
    assert sum(own.values()) == 100


@pytest.mark.parametrize("count", range(1, len(Theme) + 1))
def test_sector_percentages_add_up_to_100_for_any_number_of_themes(count: int) -> None:
    themes = [str(t) for t in Theme][:count]
    activity = valid(iati_document(programme(themes, ["CL-RM"]), REPORTER, NOW)).find(
        "iati-activity"
    )
    assert activity is not None
    assert sum(_sectors(activity, "99").values()) == 100
    assert sum(_sectors(activity, "1").values()) == 100


def test_every_theme_has_a_sector_and_a_label() -> None:
    assert set(THEME_SECTORS) == set(THEME_LABELS) == {str(t) for t in Theme}
    assert all(len(code) == 5 and code.isdigit() for code in THEME_SECTORS.values())


def test_results_carry_baselines_targets_and_only_approved_actuals() -> None:
    activity = valid(iati_document(full_programme(), REPORTER, NOW)).find("iati-activity")
    assert activity is not None
    results = activity.findall("result")
    assert [r.get("type") for r in results] == ["1", "2", "3"]
    assert results[0].findtext("description/narrative") == "Planes de trabajo acordados"
    (counted,) = results[0].findall("indicator")
    assert (counted.get("measure"), counted.get("ascending")) == ("1", "true")
    baseline = counted.find("baseline")
    assert baseline is not None
    assert (baseline.get("year"), baseline.get("value")) == ("2025", "10")
    periods = counted.findall("period")
    # The target's period, then the two approved measurements (not the submitted nor the
    # rejected one).
    assert [p.find("period-end").get("iso-date") for p in periods] == [  # type: ignore[union-attr]
        "2026-12-31",
        "2026-03-31",
        "2026-06-30",
    ]
    assert periods[0].find("target").get("value") == "50"  # type: ignore[union-attr]
    actuals = periods[1].findall("actual")
    cells = [
        (a.get("value"), [(d.get("name"), d.get("value")) for d in a.findall("dimension")])
        for a in actuals
    ]
    assert cells == [
        ("25", []),
        ("12", [("sex", "mujer")]),
        ("13", [("sex", "hombre")]),
        ("0", [("sex", "otro")]),
        ("0", [("sex", "prefiere_no_decir")]),
        ("4", [("age_group", "18-29")]),
        ("7", [("region", "CL-BI")]),
    ]
    link = actuals[0].find("document-link")
    assert link is not None and link.get("format") == "application/pdf"
    values = {a.get("value") for p in periods for a in p.findall("actual")}
    assert "40" not in values and "99" not in values
    (rate,) = results[1].findall("indicator")
    assert (rate.get("measure"), rate.get("ascending")) == ("2", "false")
    assert rate.find("baseline").get("value") == "12.5"  # type: ignore[union-attr]
    assert rate.find("period/target").get("value") == "7.25"  # type: ignore[union-attr]
    # Written as a decimal, never with an exponent.
    assert rate.findall("period")[1].find("actual").get("value") == "0.0000001"  # type: ignore[union-attr]
    (untouched,) = results[2].findall("indicator")
    assert len(untouched.findall("period")) == 1


def test_a_programme_without_indicators_is_still_a_valid_activity() -> None:
    root = valid(iati_document(programme(["otro"], list(REGION_CODES)), REPORTER, NOW))
    activity = root.find("iati-activity")
    assert activity is not None
    assert activity.findall("result") == []
    dates = {d.get("type"): d.get("iso-date") for d in activity.findall("activity-date")}
    assert dates == {"1": "2026-05-04"}
    assert len(activity.findall("location")) == 16


def test_the_schema_refuses_what_iati_forbids() -> None:
    """The validator is not a rubber stamp: an activity without its identifier fails."""
    root = ET.fromstring(iati_document(programme(["pobreza"], ["CL-RM"]), REPORTER, NOW))
    activity = root.find("iati-activity")
    assert activity is not None
    activity.remove(activity.find("iati-identifier"))  # type: ignore[arg-type]
    assert not schema().is_valid(ET.tostring(root, encoding="unicode"))


def test_the_reporter_is_the_organisation_by_its_rut() -> None:
    snapshot = OrganizationSnapshot(
        rut="76.086.428-K",
        name="Corporación Ejemplo",
        sector="sociedad_civil",
        legal_form="corporacion",
        head_office_region="CL-RM",
        macrozone="centro_sur",
        regions=("CL-RM",),
        scope="regional",
        roles=("programas",),
        themes=("pobreza",),
        status="active",
        verified=False,
        listed=True,
        registered_at=NOW,
    )
    assert Reporter.of(snapshot) == Reporter(
        ref="CL-RUT-76086428K", name="Corporación Ejemplo", type="22"
    )
    assert organisation_type("fundacion", "sociedad_civil") == "60"
    assert organisation_type("municipio", "publico") == "11"
    assert organisation_type("otra", "academia") == "80"
    assert organisation_type("otra", "desconocido") == "90"
