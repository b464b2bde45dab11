"""Messages from templates: Spanish, HTML and plain text, one pair of Jinja2 templates per kind
(`templates/<kind>.txt.j2` and `.html.j2`, both extending a common layout).

Rendering is pure: a kind and its facts in, a `RenderedMail` out. The facts are gathered by the
mailing use case (`services.notifier.mailing`) when the message is sent, so a message written
an hour after an encuentro moved shows the new time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier.domain.messages import MessageKind

__all__ = ["Attachment", "RenderedMail", "local_time", "render"]

TEMPLATES = Path(__file__).parent / "templates"
SANTIAGO = ZoneInfo("America/Santiago")

SUBJECTS: dict[MessageKind, str] = {
    MessageKind.CONFIRMATION: "Confirma el registro de {{ organization_name }} en Articula",
    MessageKind.INVITATION: "Invitación: {{ encuentro.title }}",
    MessageKind.REGISTRATION: (
        "{% if seat %}Inscripción confirmada{% else %}Quedaste en lista de espera{% endif %}: "
        "{{ encuentro.title }}"
    ),
    MessageKind.PROMOTED: "Tienes un cupo en {{ encuentro.title }}",
    MessageKind.REMINDER: "Mañana: {{ encuentro.title }}",
    MessageKind.REGISTRATION_CANCELLED: "Tu inscripción fue cancelada: {{ encuentro.title }}",
    MessageKind.ENCUENTRO_CANCELLED: "Encuentro cancelado: {{ encuentro.title }}",
    MessageKind.RESULTS: "Acuerdos y resultados: {{ encuentro.title }}",
    MessageKind.SURVEY: "¿Cómo te fue en {{ encuentro.title }}? Responde la encuesta",
    MessageKind.MATCH: "Una organización puede ayudar con lo que necesitan",
    MessageKind.EVIDENCE: "Nueva evidencia de resultados: {{ item.title }}",
    MessageKind.SUBSCRIPTION_DISABLED: "Suscripción desactivada: los webhooks fallaron",
}

_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def local_time(moment: datetime) -> str:
    """`martes 15 de diciembre de 2026, 10:00 (hora de Chile)`."""
    local = moment.astimezone(SANTIAGO)
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} de {_MONTHS[local.month - 1]} de "
        f"{local.year}, {local:%H:%M} (hora de Chile)"
    )


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,  # a missing fact fails the render, not the reader
        autoescape=select_autoescape(["html.j2"]) if autoescape else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["local_time"] = local_time
    return env


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def render(
    kind: MessageKind, facts: dict[str, Any], attachments: tuple[Attachment, ...] = ()
) -> RenderedMail:
    subject = _TEXT.from_string(SUBJECTS[kind]).render(**facts)
    return RenderedMail(
        subject=" ".join(subject.split()),
        text=_TEXT.get_template(f"{kind}.txt.j2").render(**facts),
        html=_HTML.get_template(f"{kind}.html.j2").render(**facts),
        attachments=attachments,
    )
