"""Vocabularies several services share: an organisation's sector and the ecosystem's themes
(domain.md §3). Identifiers are the public contract; labels are for people."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    SOCIEDAD_CIVIL = "sociedad_civil"
    PRIVADO = "privado"
    PUBLICO = "publico"
    ACADEMIA = "academia"
    ORGANISMO_INTERNACIONAL = "organismo_internacional"


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
