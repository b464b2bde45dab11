"""The encuentro lifecycle and the standard agenda."""

from __future__ import annotations

import itertools

import pytest

from services.events.domain.lifecycle import (
    STANDARD_AGENDA,
    TRANSITIONS,
    AgendaKind,
    EncuentroStatus,
    check_transition,
)
from shared.errors import InvalidTransition

S = EncuentroStatus
ALLOWED = {
    (S.DRAFT, S.PUBLISHED),
    (S.PUBLISHED, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.CLOSED),
    (S.CLOSED, S.RESULTS_PUBLISHED),
    (S.DRAFT, S.CANCELLED),
    (S.PUBLISHED, S.CANCELLED),
    (S.IN_PROGRESS, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_only_the_contracts_transitions_are_allowed(current: S, wanted: S) -> None:
    if (current, wanted) in ALLOWED:
        check_transition(current, wanted)
        return
    with pytest.raises(InvalidTransition) as refused:
        check_transition(current, wanted)
    assert refused.value.status == 409
    assert refused.value.extra["current_status"] == current
    assert set(refused.value.extra["allowed"]) == set(TRANSITIONS[current])
    assert str(current) in refused.value.detail or "final" in refused.value.detail


def test_closed_and_later_encuentros_cannot_be_cancelled() -> None:
    for status in (S.CLOSED, S.RESULTS_PUBLISHED, S.CANCELLED):
        with pytest.raises(InvalidTransition):
            check_transition(status, S.CANCELLED)


def test_the_standard_agenda_is_the_mesas_two_and_a_half_hours_in_order() -> None:
    assert [item.kind for item in STANDARD_AGENDA] == list(AgendaKind)
    assert sum(item.minutes for item in STANDARD_AGENDA) == 150
    questions = {item.kind: item.question for item in STANDARD_AGENDA}
    assert questions[AgendaKind.CHECK_IN] == "¿Cómo llegan? ¿Qué esperan?"
    assert questions[AgendaKind.COMPROMISOS] == "¿A qué nos comprometemos como región?"
