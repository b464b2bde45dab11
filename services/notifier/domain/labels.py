"""How people read the identifiers of needs and offers (domain.md §6) in a message."""

from __future__ import annotations

NEED_LABELS: dict[str, str] = {
    "articulacion_redes": "articulación y redes",
    "informacion_contactos_voluntariado": "información, contactos y voluntariado",
    "vinculacion_territorial": "vinculación territorial",
    "fortalecimiento": "fortalecimiento (recursos, fondos, infraestructura, formación)",
    "incidencia_politicas": "incidencia en políticas públicas",
    "difusion": "difusión",
}

OFFER_LABELS: dict[str, str] = {
    "saberes_metodologias": "saberes y metodologías",
    "experiencias": "experiencias",
    "contactos": "contactos",
    "tiempo_voluntariado": "tiempo y voluntariado",
    "redes_espacios": "redes y espacios de articulación",
    "plataformas": "plataformas",
    "aportes_materiales": "aportes materiales y económicos",
}


def need_label(category: str) -> str:
    return NEED_LABELS.get(category, category.replace("_", " "))


def offer_label(category: str) -> str:
    return OFFER_LABELS.get(category, category.replace("_", " "))
