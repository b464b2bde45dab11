"""Chile's territorial reference data: macrozones, regions and comunas.

Every service validates and groups organisations by territory (head-office region gives the
macrozone that decides which encuentro invites them), so the codes live in one place. Regions
are keyed by their ISO 3166-2:CL code; comunas by their official 5-digit CUT code (SUBDERE,
version updated to 2018, i.e. with Ñuble as region 16). The comuna list is packaged in
``comunas.csv`` next to this module and read once at import; lookups never do I/O.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "COMUNAS",
    "MACROZONES",
    "MACROZONE_IDS",
    "REGIONS",
    "REGION_CODES",
    "Comuna",
    "Macrozone",
    "Region",
    "comuna_in_region",
    "comunas_of",
    "is_comuna",
    "is_region",
    "macrozone_of",
    "region_by_cut",
    "regions_of",
]


@dataclass(frozen=True, slots=True)
class Macrozone:
    """One of the three territorial groups the Mesa used to organise its encuentros."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Region:
    """A region: ISO 3166-2:CL ``code`` (e.g. "CL-RM"), CUT number ``cut`` (e.g. "13")."""

    code: str
    cut: str
    name: str
    macrozone: str


@dataclass(frozen=True, slots=True)
class Comuna:
    """A comuna: 5-digit CUT code, official name and the ISO code of its region."""

    cut: str
    name: str
    region: str


MACROZONE_IDS: tuple[str, ...] = ("norte_centro", "centro_sur", "sur_austral")

MACROZONES: dict[str, Macrozone] = {
    m.id: m
    for m in (
        Macrozone("norte_centro", "Norte y Centro"),
        Macrozone("centro_sur", "Centro Sur y RM"),
        Macrozone("sur_austral", "Sur y Austral"),
    )
}

# Geographic north-to-south order (the Metropolitana lies between Valparaíso and O'Higgins).
_REGION_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("CL-AP", "15", "Arica y Parinacota", "norte_centro"),
    ("CL-TA", "01", "Tarapacá", "norte_centro"),
    ("CL-AN", "02", "Antofagasta", "norte_centro"),
    ("CL-AT", "03", "Atacama", "norte_centro"),
    ("CL-CO", "04", "Coquimbo", "norte_centro"),
    ("CL-VS", "05", "Valparaíso", "norte_centro"),
    ("CL-RM", "13", "Metropolitana de Santiago", "centro_sur"),
    ("CL-LI", "06", "Libertador General Bernardo O'Higgins", "centro_sur"),
    ("CL-ML", "07", "Maule", "centro_sur"),
    ("CL-NB", "16", "Ñuble", "centro_sur"),
    ("CL-BI", "08", "Biobío", "centro_sur"),
    ("CL-AR", "09", "La Araucanía", "sur_austral"),
    ("CL-LR", "14", "Los Ríos", "sur_austral"),
    ("CL-LL", "10", "Los Lagos", "sur_austral"),
    ("CL-AI", "11", "Aysén del General Carlos Ibáñez del Campo", "sur_austral"),
    ("CL-MA", "12", "Magallanes y de la Antártica Chilena", "sur_austral"),
)

REGIONS: dict[str, Region] = {row[0]: Region(*row) for row in _REGION_ROWS}

REGION_CODES: tuple[str, ...] = tuple(row[0] for row in _REGION_ROWS)

_REGION_BY_CUT: dict[str, Region] = {r.cut: r for r in REGIONS.values()}

_EXPECTED_COMUNAS = 346
_CSV_COLUMNS = ["cut", "name", "region_cut", "region_iso"]


def _load_comunas(text: str) -> dict[str, Comuna]:
    """Parse and check the packaged CSV, so a corrupted data file fails loudly at import."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = next(reader, None)
    if header != _CSV_COLUMNS:
        raise RuntimeError(f"comunas.csv: encabezado inesperado {header!r}")
    comunas: dict[str, Comuna] = {}
    for row in reader:
        if len(row) != len(_CSV_COLUMNS):
            raise RuntimeError(f"comunas.csv: fila mal formada {row!r}")
        cut, name, region_cut, region_iso = (field.strip() for field in row)
        region = REGIONS.get(region_iso)
        if len(cut) != 5 or not cut.isdigit():
            raise RuntimeError(f"comunas.csv: código CUT inválido {cut!r}")
        if region is None or region.cut != region_cut or not cut.startswith(region_cut):
            raise RuntimeError(f"comunas.csv: región inconsistente en la comuna {cut}")
        if cut in comunas:
            raise RuntimeError(f"comunas.csv: código CUT duplicado {cut}")
        comunas[cut] = Comuna(cut=cut, name=name, region=region_iso)
    if len(comunas) != _EXPECTED_COMUNAS:
        raise RuntimeError(f"comunas.csv: {len(comunas)} comunas, se esperaban {_EXPECTED_COMUNAS}")
    missing = set(REGIONS) - {c.region for c in comunas.values()}
    if missing:
        raise RuntimeError(f"comunas.csv: regiones sin comunas {sorted(missing)}")
    return comunas


COMUNAS: dict[str, Comuna] = _load_comunas(
    resources.files(__package__ or "shared.reference")
    .joinpath("comunas.csv")
    .read_text(encoding="utf-8")
)

_COMUNAS_BY_REGION: dict[str, tuple[Comuna, ...]] = {
    code: tuple(c for c in COMUNAS.values() if c.region == code) for code in REGION_CODES
}


def is_region(code: str) -> bool:
    """True for an ISO 3166-2:CL region code such as "CL-RM" (exact, upper case)."""
    return code in REGIONS


def is_comuna(cut: str) -> bool:
    """True for an official 5-digit comuna CUT code such as "13101"."""
    return cut in COMUNAS


def comuna_in_region(cut: str, region_code: str) -> bool:
    """True when the comuna exists and belongs to the region; False for unknown codes."""
    comuna = COMUNAS.get(cut)
    return comuna is not None and comuna.region == region_code


def macrozone_of(region_code: str) -> str:
    """Macrozone id of a region; the macrozone decides which encuentro invites an organisation.

    Raises ``ValueError`` (not ``KeyError``) so callers can turn it into a validation error.
    """
    region = REGIONS.get(region_code)
    if region is None:
        raise ValueError(
            f"Región desconocida: {region_code!r}. Se espera un código ISO 3166-2:CL, "
            "por ejemplo 'CL-RM'."
        )
    return region.macrozone


def regions_of(macrozone_id: str) -> tuple[str, ...]:
    """ISO codes of the regions in a macrozone, north to south (e.g. to target invitations)."""
    if macrozone_id not in MACROZONES:
        raise ValueError(
            f"Macrozona desconocida: {macrozone_id!r}. Valores válidos: {', '.join(MACROZONE_IDS)}."
        )
    return tuple(code for code in REGION_CODES if REGIONS[code].macrozone == macrozone_id)


def comunas_of(region_code: str) -> tuple[Comuna, ...]:
    """Comunas of a region ordered by CUT code (e.g. to fill a form's comuna choices)."""
    if region_code not in REGIONS:
        raise ValueError(
            f"Región desconocida: {region_code!r}. Se espera un código ISO 3166-2:CL, "
            "por ejemplo 'CL-RM'."
        )
    return _COMUNAS_BY_REGION[region_code]


def region_by_cut(region_cut: str) -> Region:
    """Region from its CUT number ("13" → Metropolitana), for data keyed by CUT (INE, CASEN)."""
    region = _REGION_BY_CUT.get(region_cut)
    if region is None:
        raise ValueError(f"Número de región CUT desconocido: {region_cut!r} (de '01' a '16').")
    return region
