"""An encuentro's lifecycle and its standard agenda (domain.md §4, contract "Events").

draft → published (registration open) → in_progress (check-in open) → closed (survey open) →
results_published; anything before `closed` can be cancelled. A refused transition says the
current state and the states it allows (409, `shared.errors.InvalidTransition`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import InvalidTransition


class EncuentroStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    RESULTS_PUBLISHED = "results_published"
    CANCELLED = "cancelled"


_D, _P, _I, _C, _R, _X = (
    EncuentroStatus.DRAFT,
    EncuentroStatus.PUBLISHED,
    EncuentroStatus.IN_PROGRESS,
    EncuentroStatus.CLOSED,
    EncuentroStatus.RESULTS_PUBLISHED,
    EncuentroStatus.CANCELLED,
)

# status → the statuses it may move to; anything missing is refused.
TRANSITIONS: Final[Mapping[EncuentroStatus, frozenset[EncuentroStatus]]] = {
    _D: frozenset({_P, _X}),
    _P: frozenset({_I, _X}),
    _I: frozenset({_C, _X}),
    _C: frozenset({_R}),
    _R: frozenset(),
    _X: frozenset(),
}

STATUS_LABELS: Final[Mapping[EncuentroStatus, str]] = {
    _D: "borrador",
    _P: "publicado",
    _I: "en curso",
    _C: "cerrado",
    _R: "con resultados publicados",
    _X: "cancelado",
}

# Registration is open while published; people are promoted from the waiting list until then.
REGISTRATION_OPEN: Final = frozenset({_P})


def check_transition(current: EncuentroStatus | str, wanted: EncuentroStatus | str) -> None:
    """Nothing when `current` may move to `wanted`, else the Spanish refusal naming both."""
    current, wanted = EncuentroStatus(current), EncuentroStatus(wanted)
    allowed = TRANSITIONS[current]
    if wanted in allowed:
        return
    if allowed:
        options = ", ".join(f"«{s}»" for s in sorted(allowed))
        hint = f" Desde «{current}» puede pasar a: {options}."
    else:
        hint = " Ese estado es final."
    raise InvalidTransition(
        f"Un encuentro {STATUS_LABELS[current]} no puede pasar a «{wanted}».{hint}",
        current=str(current),
        allowed=[str(s) for s in allowed],
    )


class AgendaKind(StrEnum):
    BIENVENIDA = "bienvenida"
    CHECK_IN = "check_in"
    GRUPOS = "grupos"
    EXPOSICION = "exposicion"
    NECESIDADES_OFERTAS = "necesidades_ofertas"
    COMPROMISOS = "compromisos"
    CHECK_OUT = "check_out"


class AgendaItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True)

    kind: AgendaKind
    title: str = Field(min_length=1, max_length=200)
    minutes: int = Field(ge=1, le=600)
    question: str | None = Field(default=None, max_length=500)


def _item(kind: AgendaKind, title: str, minutes: int, question: str | None = None) -> AgendaItem:
    return AgendaItem(kind=kind, title=title, minutes=minutes, question=question)


# The Mesa's 2.5-hour format (seed 000), used when an encuentro is created without an agenda.
STANDARD_AGENDA: Final[tuple[AgendaItem, ...]] = (
    _item(AgendaKind.BIENVENIDA, "Bienvenida: contexto, objetivo y agenda", 10),
    _item(AgendaKind.CHECK_IN, "Check-in", 15, "¿Cómo llegan? ¿Qué esperan?"),
    _item(
        AgendaKind.GRUPOS,
        "Conversación en grupos",
        45,
        "¿Cómo podemos fortalecer la colaboración entre nuestras organizaciones?",
    ),
    _item(AgendaKind.EXPOSICION, "Exposiciones", 30),
    _item(AgendaKind.NECESIDADES_OFERTAS, "Necesidades y ofertas", 20),
    _item(
        AgendaKind.COMPROMISOS,
        "Compromisos por región",
        20,
        "¿A qué nos comprometemos como región?",
    ),
    _item(AgendaKind.CHECK_OUT, "Check-out", 10, "¿Qué fue lo más significativo?"),
)
