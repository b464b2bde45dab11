"""Unit tests for shared.reference: territory reference data and RUT handling."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.reference import rut, territory
from shared.reference.rut import InvalidRut, check_digit, format_rut, is_valid_rut, normalize_rut
from shared.reference.territory import (
    COMUNAS,
    MACROZONE_IDS,
    MACROZONES,
    REGION_CODES,
    REGIONS,
    comuna_in_region,
    comunas_of,
    is_comuna,
    is_region,
    macrozone_of,
    region_by_cut,
    regions_of,
)

# --- territory: macrozones and regions -------------------------------------------------------


def test_macrozones() -> None:
    assert MACROZONE_IDS == ("norte_centro", "centro_sur", "sur_austral")
    assert set(MACROZONES) == set(MACROZONE_IDS)
    assert {m.id: m.name for m in MACROZONES.values()} == {
        "norte_centro": "Norte y Centro",
        "centro_sur": "Centro Sur y RM",
        "sur_austral": "Sur y Austral",
    }


def test_sixteen_regions_in_north_to_south_order() -> None:
    assert REGION_CODES == (
        "CL-AP", "CL-TA", "CL-AN", "CL-AT", "CL-CO", "CL-VS", "CL-RM", "CL-LI",
        "CL-ML", "CL-NB", "CL-BI", "CL-AR", "CL-LR", "CL-LL", "CL-AI", "CL-MA",
    )  # fmt: skip
    assert len(REGIONS) == 16
    assert set(REGIONS) == set(REGION_CODES)
    assert all(code == region.code for code, region in REGIONS.items())


def test_region_cut_numbers_are_01_to_16() -> None:
    assert sorted(r.cut for r in REGIONS.values()) == [f"{n:02d}" for n in range(1, 17)]
    assert REGIONS["CL-AP"].cut == "15"
    assert REGIONS["CL-NB"].cut == "16"
    assert REGIONS["CL-RM"].cut == "13"
    assert REGIONS["CL-LR"].cut == "14"
    assert REGIONS["CL-TA"].cut == "01"
    assert REGIONS["CL-MA"].cut == "12"


def test_region_names() -> None:
    assert REGIONS["CL-NB"].name == "Ñuble"
    assert REGIONS["CL-BI"].name == "Biobío"
    assert REGIONS["CL-LI"].name == "Libertador General Bernardo O'Higgins"
    assert REGIONS["CL-AI"].name == "Aysén del General Carlos Ibáñez del Campo"
    assert REGIONS["CL-RM"].name == "Metropolitana de Santiago"


@pytest.mark.parametrize(
    ("region", "macrozone"),
    [
        ("CL-AP", "norte_centro"),
        ("CL-TA", "norte_centro"),
        ("CL-AN", "norte_centro"),
        ("CL-AT", "norte_centro"),
        ("CL-CO", "norte_centro"),
        ("CL-VS", "norte_centro"),
        ("CL-LI", "centro_sur"),
        ("CL-ML", "centro_sur"),
        ("CL-NB", "centro_sur"),
        ("CL-BI", "centro_sur"),
        ("CL-RM", "centro_sur"),
        ("CL-AR", "sur_austral"),
        ("CL-LR", "sur_austral"),
        ("CL-LL", "sur_austral"),
        ("CL-AI", "sur_austral"),
        ("CL-MA", "sur_austral"),
    ],
)
def test_macrozone_of_every_region(region: str, macrozone: str) -> None:
    assert macrozone_of(region) == macrozone
    assert REGIONS[region].macrozone == macrozone


@pytest.mark.parametrize("code", ["CL-XX", "cl-rm", "RM", "13", "", " CL-RM"])
def test_macrozone_of_unknown_region_raises_value_error(code: str) -> None:
    with pytest.raises(ValueError, match="Región desconocida"):
        macrozone_of(code)


def test_regions_of_macrozone() -> None:
    assert regions_of("norte_centro") == ("CL-AP", "CL-TA", "CL-AN", "CL-AT", "CL-CO", "CL-VS")
    assert regions_of("centro_sur") == ("CL-RM", "CL-LI", "CL-ML", "CL-NB", "CL-BI")
    assert regions_of("sur_austral") == ("CL-AR", "CL-LR", "CL-LL", "CL-AI", "CL-MA")
    with pytest.raises(ValueError, match="Macrozona desconocida"):
        regions_of("centro")


def test_region_by_cut() -> None:
    assert region_by_cut("16").code == "CL-NB"
    assert region_by_cut("13").code == "CL-RM"
    with pytest.raises(ValueError):
        region_by_cut("17")


def test_is_region() -> None:
    assert all(is_region(code) for code in REGION_CODES)
    assert not is_region("CL-XX")
    assert not is_region("cl-rm")
    assert not is_region("13")


# --- territory: comunas ------------------------------------------------------------------------


def test_346_comunas_with_unique_well_formed_codes() -> None:
    assert len(COMUNAS) == 346
    for cut, comuna in COMUNAS.items():
        assert cut == comuna.cut
        assert len(cut) == 5 and cut.isdigit()
        assert comuna.name and comuna.name == comuna.name.strip()


def test_every_comuna_belongs_to_an_existing_region_matching_its_code() -> None:
    for comuna in COMUNAS.values():
        assert comuna.region in REGIONS
        assert comuna.cut[:2] == REGIONS[comuna.region].cut


def test_comunas_per_region() -> None:
    counts = Counter(c.region for c in COMUNAS.values())
    assert set(counts) == set(REGIONS)
    assert counts == {
        "CL-AP": 4, "CL-TA": 7, "CL-AN": 9, "CL-AT": 9, "CL-CO": 15, "CL-VS": 38,
        "CL-RM": 52, "CL-LI": 33, "CL-ML": 30, "CL-NB": 21, "CL-BI": 33, "CL-AR": 32,
        "CL-LR": 12, "CL-LL": 30, "CL-AI": 10, "CL-MA": 11,
    }  # fmt: skip


def test_comuna_names_are_unique_within_a_region() -> None:
    pairs = [(c.region, c.name) for c in COMUNAS.values()]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(
    ("cut", "name", "region"),
    [
        ("13101", "Santiago", "CL-RM"),
        ("13120", "Ñuñoa", "CL-RM"),
        ("13201", "Puente Alto", "CL-RM"),
        ("16101", "Chillán", "CL-NB"),
        ("16103", "Chillán Viejo", "CL-NB"),
        ("16303", "Ñiquén", "CL-NB"),
        ("15101", "Arica", "CL-AP"),
        ("01107", "Alto Hospicio", "CL-TA"),
        ("05101", "Valparaíso", "CL-VS"),
        ("05201", "Isla de Pascua", "CL-VS"),
        ("06101", "Rancagua", "CL-LI"),
        ("08101", "Concepción", "CL-BI"),
        ("08301", "Los Ángeles", "CL-BI"),
        ("08314", "Alto Biobío", "CL-BI"),
        ("09101", "Temuco", "CL-AR"),
        ("14101", "Valdivia", "CL-LR"),
        ("10101", "Puerto Montt", "CL-LL"),
        ("11101", "Coyhaique", "CL-AI"),
        ("11302", "O'Higgins", "CL-AI"),
        ("12101", "Punta Arenas", "CL-MA"),
        ("12202", "Antártica", "CL-MA"),
    ],
)
def test_known_comunas(cut: str, name: str, region: str) -> None:
    assert is_comuna(cut)
    assert COMUNAS[cut].name == name
    assert COMUNAS[cut].region == region
    assert comuna_in_region(cut, region)


def test_nuble_comunas_carry_16_codes_not_old_biobio_codes() -> None:
    assert all(c.cut.startswith("16") for c in comunas_of("CL-NB"))
    assert not is_comuna("08401")  # Chillán's code before Ñuble was created in 2018


def test_is_comuna_rejects_unknown_or_malformed_codes() -> None:
    for cut in ["", "13", "1310", "131010", "13133", "00000", "99999", "13101 ", "Santiago"]:
        assert not is_comuna(cut)


def test_comuna_in_region() -> None:
    assert comuna_in_region("16101", "CL-NB")
    assert not comuna_in_region("16101", "CL-BI")
    assert not comuna_in_region("13101", "CL-VS")
    assert not comuna_in_region("99999", "CL-RM")
    assert not comuna_in_region("13101", "CL-XX")


def test_comunas_of_region() -> None:
    rm = comunas_of("CL-RM")
    assert len(rm) == 52
    assert [c.cut for c in rm] == sorted(c.cut for c in rm)
    assert len(comunas_of("CL-NB")) == 21
    with pytest.raises(ValueError, match="Región desconocida"):
        comunas_of("CL-XX")


def test_loader_rejects_a_corrupted_file() -> None:
    good = "cut,name,region_cut,region_iso\n13101,Santiago,13,CL-RM\n"
    with pytest.raises(RuntimeError, match="346"):
        territory._load_comunas(good)
    with pytest.raises(RuntimeError, match="región inconsistente"):
        territory._load_comunas("cut,name,region_cut,region_iso\n13101,Santiago,05,CL-VS\n")
    with pytest.raises(RuntimeError, match="duplicado"):
        territory._load_comunas(good + "13101,Santiago,13,CL-RM\n")


# --- RUT -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        (76086428, "5"),
        ("76086428", "5"),
        (12345678, "5"),
        (11111111, "1"),
        (22222222, "2"),
        (60803000, "K"),  # Servicio de Impuestos Internos
        (76000006, "K"),
        (6, "K"),
        (76000000, "0"),
        (76000014, "0"),
        (1, "9"),
        (99999999, "9"),
    ],
)
def test_check_digit(body: int | str, digit: str) -> None:
    assert check_digit(body) == digit


@pytest.mark.parametrize("body", [0, -1, 100_000_000, "", "12.345.678", "12a", "١٢٣", True])
def test_check_digit_rejects_bad_bodies(body: int | str) -> None:
    with pytest.raises(InvalidRut):
        check_digit(body)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("76.086.428-5", "76.086.428-5"),
        ("76086428-5", "76.086.428-5"),
        ("760864285", "76.086.428-5"),
        ("76.086.4285", "76.086.428-5"),
        ("  76.086.428-5\t", "76.086.428-5"),
        ("60.803.000-K", "60.803.000-K"),
        ("60.803.000-k", "60.803.000-K"),
        ("60803000k", "60.803.000-K"),
        ("76.000.000-0", "76.000.000-0"),
        ("7.654.321-6", "7.654.321-6"),
        ("7654321-6", "7.654.321-6"),
        ("6-K", "6-K"),
        ("6k", "6-K"),
        ("1-9", "1-9"),
        ("99999999-9", "99.999.999-9"),
        ("076086428-5", "76.086.428-5"),
    ],
)
def test_normalize_rut(raw: str, canonical: str) -> None:
    assert normalize_rut(raw) == canonical
    assert is_valid_rut(raw)
    assert normalize_rut(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    "raw",
    ["76.086.428-4", "76086428-K", "60.803.000-0", "76.000.000-K", "6-0", "12.345.678-9"],
)
def test_wrong_check_digit(raw: str) -> None:
    with pytest.raises(InvalidRut, match="dígito verificador incorrecto"):
        normalize_rut(raw)
    assert not is_valid_rut(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "-5",
        "5",
        "0-0",
        "00.000.000-0",
        "76.086.428-",
        "76.086.428-X",
        "76,086,428-5",
        "7.6086.428-5",
        "76.0864.28-5",
        "76 086 428-5",
        "76.086.428--5",
        "123.456.789-2",
        "123456789-2",
        "RUT 76.086.428-5",
        "76.086.428-5 K",
        "١٢٣٤٥٦٧٨-5",
    ],
)
def test_malformed_rut(raw: str) -> None:
    with pytest.raises(InvalidRut, match="formato inválido"):
        normalize_rut(raw)
    assert not is_valid_rut(raw)


def test_invalid_rut_is_a_value_error() -> None:
    assert issubclass(InvalidRut, ValueError)
    with pytest.raises(ValueError, match="no es válido"):
        normalize_rut("76.086.428-4")


def test_format_rut() -> None:
    assert format_rut(76086428) == "76.086.428-5"
    assert format_rut("6") == "6-K"
    assert format_rut(1_000_000) == "1.000.000-9"


def test_canonical_form_round_trips_for_many_bodies() -> None:
    for body in [*range(1, 2000), *range(76_000_000, 76_002_000), 99_999_999]:
        canonical = format_rut(body)
        assert normalize_rut(canonical) == canonical
        assert normalize_rut(canonical.replace(".", "").replace("-", "").lower()) == canonical
        assert rut.check_digit(body) == canonical[-1]
