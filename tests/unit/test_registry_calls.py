"""Unit tests for registration calls ("convocatorias") and which call a registration carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.registry.domain.calls import (
    RegistrationCall,
    RegistrationCallCreate,
    RegistrationCallPatch,
    assign_call,
    governing_call,
)
from services.registry.domain.errors import Conflict, InvalidInput, RegistrationClosed
from shared.events.registry import (
    Actor,
    RegistrationCallClosed,
    RegistrationCallOpened,
    RegistrationCallUpdated,
)
from shared.events.topics import Topic
from shared.problems import errors_from_pydantic

SEPT_1 = datetime(2021, 9, 1, 4, 0, tzinfo=UTC)  # 00:00 in Chile (UTC-4, winter time)
SEPT_23 = datetime(2021, 9, 23, 3, 0, tzinfo=UTC)  # 00:00 in Chile (UTC-3 since 5 Sept)
CREATED = datetime(2021, 8, 15, tzinfo=UTC)


def call(
    call_id: str,
    opens: datetime,
    closes: datetime,
    *,
    exclusive: bool = False,
    name: str | None = None,
) -> RegistrationCall:
    data = RegistrationCallCreate(
        name=name or f"Convocatoria {call_id}",
        opens_at=opens,
        closes_at=closes,
        exclusive=exclusive,
    )
    created, _ = RegistrationCall.open(data, "staff", CREATED, call_id=call_id)
    return created


def test_create_validation() -> None:
    with pytest.raises(ValidationError) as info:
        RegistrationCallCreate.model_validate(
            {"name": "Sept", "opens_at": "2021-09-01T00:00:00", "closes_at": "2021-08-01T00:00:00Z"}
        )
    fields = {e["field"]: e["message"] for e in errors_from_pydantic(info.value.errors())}
    assert fields == {
        "opens_at": "Debe incluir la zona horaria, por ejemplo 2026-09-01T09:00:00-03:00."
    }
    with pytest.raises(ValidationError) as info:
        RegistrationCallCreate.model_validate(
            {
                "name": "Sept",
                "opens_at": "2021-09-01T00:00:00-03:00",
                "closes_at": "2021-09-01T00:00:00-03:00",
            }
        )
    (error,) = errors_from_pydantic(info.value.errors())
    assert error["message"] == "El cierre debe ser posterior a la apertura."


def test_open_emits_an_event_keyed_by_call() -> None:
    data = RegistrationCallCreate(name="Septiembre 2021", opens_at=SEPT_1, closes_at=SEPT_23)
    created, event = RegistrationCall.open(data, "staff-1", CREATED, call_id="sept")
    assert created.created_by == "staff-1" and not created.exclusive
    assert isinstance(event, RegistrationCallOpened)
    assert event.topic is Topic.REGISTRY_CALLS and event.aggregate_id() == "sept"
    assert event.call.name == "Septiembre 2021" and event.changed_by == Actor(
        kind="staff", id="staff-1"
    )


def test_windows_may_not_overlap() -> None:
    sept = call("sept", SEPT_1, SEPT_23)
    data = RegistrationCallCreate(
        name="Otra", opens_at=SEPT_23 - timedelta(hours=1), closes_at=SEPT_23 + timedelta(days=5)
    )
    with pytest.raises(Conflict) as info:
        RegistrationCall.open(data, "staff", CREATED, [sept])
    assert info.value.status == 409
    assert info.value.detail == (
        "Las fechas se superponen con la convocatoria «Convocatoria sept» "
        "(01-09-2021 00:00 a 23-09-2021 00:00)."
    )
    adjacent = RegistrationCallCreate(
        name="Otra", opens_at=SEPT_23, closes_at=SEPT_23 + timedelta(days=8)
    )
    RegistrationCall.open(adjacent, "staff", CREATED, [sept])  # half-open windows touch


def test_window_is_half_open() -> None:
    sept = call("sept", SEPT_1, SEPT_23)
    assert not sept.is_open(SEPT_1 - timedelta(microseconds=1))
    assert sept.is_open(SEPT_1)
    assert sept.is_open(SEPT_23 - timedelta(microseconds=1))
    assert not sept.is_open(SEPT_23)


# --- which call a registration carries --------------------------------------------------------


def test_no_calls_means_open_registration_without_call() -> None:
    assert assign_call([], SEPT_1) is None


def test_registration_inside_a_window_carries_its_call() -> None:
    calls = [call("sept", SEPT_1, SEPT_23), call("oct", SEPT_23, SEPT_23 + timedelta(days=30))]
    assert assign_call(calls, SEPT_1 + timedelta(days=3)) == "sept"
    assert assign_call(calls, SEPT_23) == "oct"


def test_outside_non_exclusive_windows_registration_has_no_call() -> None:
    calls = [call("sept", SEPT_1, SEPT_23)]
    assert assign_call(calls, SEPT_1 - timedelta(days=1)) is None
    assert assign_call(calls, SEPT_23 + timedelta(days=1)) is None


def test_exclusive_call_refuses_before_it_opens() -> None:
    calls = [call("sept", SEPT_1, SEPT_23, exclusive=True, name="Septiembre")]
    with pytest.raises(RegistrationClosed) as info:
        assign_call(calls, SEPT_1 - timedelta(days=1))
    assert info.value.status == 409
    assert info.value.detail == (
        "Las inscripciones se abrirán con la convocatoria «Septiembre» el 01-09-2021 00:00 "
        "(hora de Chile)."
    )
    assert assign_call(calls, SEPT_1) == "sept"


def test_exclusive_call_refuses_after_it_closes_until_another_call() -> None:
    sept = call("sept", SEPT_1, SEPT_23, exclusive=True, name="Septiembre")
    later = SEPT_23 + timedelta(days=10)
    with pytest.raises(RegistrationClosed) as info:
        assign_call([sept], later)
    assert "cerró el 23-09-2021 00:00" in info.value.detail
    # staff schedule an open (non-exclusive) call: registration reopens without a call meanwhile
    nov = call("nov", later + timedelta(days=20), later + timedelta(days=40))
    assert assign_call([sept, nov], later) is None
    # or staff clear the flag
    cleared, _ = sept.update(RegistrationCallPatch(exclusive=False), "staff", later)
    assert assign_call([cleared], later) is None


def test_the_next_exclusive_call_closes_the_gap_after_an_open_one() -> None:
    sept = call("sept", SEPT_1, SEPT_23)
    nov = call("nov", SEPT_23 + timedelta(days=30), SEPT_23 + timedelta(days=60), exclusive=True)
    with pytest.raises(RegistrationClosed):
        assign_call([sept, nov], SEPT_23 + timedelta(days=1))
    governing = governing_call([sept, nov], SEPT_23 + timedelta(days=1))
    assert governing is not None and governing.id == "nov"


# --- update and close -------------------------------------------------------------------------


def test_update_lists_changes() -> None:
    sept = call("sept", SEPT_1, SEPT_23)
    later = SEPT_23 + timedelta(days=2)
    updated, events = sept.update(
        RegistrationCallPatch(name="Septiembre ampliada", closes_at=later), "staff", CREATED
    )
    assert updated.closes_at == later
    (event,) = events
    assert isinstance(event, RegistrationCallUpdated)
    assert [c.model_dump(mode="json") for c in event.changes] == [
        {"field": "name", "old": "Convocatoria sept", "new": "Septiembre ampliada"},
        {"field": "closes_at", "old": SEPT_23.isoformat(), "new": later.isoformat()},
    ]
    assert sept.update(RegistrationCallPatch(name="Convocatoria sept"), "s", CREATED)[1] == []


def test_update_checks_the_merged_window_and_overlaps() -> None:
    sept = call("sept", SEPT_1, SEPT_23)
    with pytest.raises(InvalidInput) as info:
        sept.update(RegistrationCallPatch(closes_at=SEPT_1), "staff", CREATED)
    assert info.value.errors == [
        {"field": "closes_at", "message": "El cierre debe ser posterior a la apertura."}
    ]
    oct_ = call("oct", SEPT_23, SEPT_23 + timedelta(days=30))
    with pytest.raises(Conflict):
        sept.update(
            RegistrationCallPatch(closes_at=SEPT_23 + timedelta(days=1)), "staff", CREATED, [oct_]
        )
    with pytest.raises(ValidationError):
        RegistrationCallPatch.model_validate({"name": None})


def test_close_ends_the_window_now() -> None:
    sept = call("sept", SEPT_1, SEPT_23, exclusive=True)
    now = SEPT_1 + timedelta(days=5)
    closed, event = sept.close("staff", now)
    assert closed.closes_at == now and closed.closed_early_at == now
    assert isinstance(event, RegistrationCallClosed) and event.call.closes_at == now
    assert not closed.is_open(now)
    with pytest.raises(RegistrationClosed):  # an exclusive call closed early closes the registry
        assign_call([closed], now)
    with pytest.raises(Conflict):
        closed.close("staff", now)


def test_closing_a_future_call_leaves_an_empty_window() -> None:
    sept = call("sept", SEPT_1, SEPT_23)
    now = SEPT_1 - timedelta(days=3)
    closed, _ = sept.close("staff", now)
    assert closed.opens_at == closed.closes_at == now
    assert assign_call([closed], SEPT_1 + timedelta(days=1)) is None


def test_stored_naive_datetimes_are_read_as_utc() -> None:
    stored: dict[str, Any] = call("sept", SEPT_1, SEPT_23).model_dump()
    stored["opens_at"] = SEPT_1.replace(tzinfo=None)
    assert RegistrationCall.model_validate(stored).opens_at == SEPT_1


# --- the registry process's copy of the calls (storage/calls.py) -------------------------------


def test_the_held_calls_are_kept_until_a_change_or_their_age() -> None:
    from services.registry.storage.calls import HeldCalls

    held = HeldCalls(max_age=60)
    assert held.current() is None  # nothing read yet
    read_in = held.generation()
    held.keep([], read_in)
    assert held.current() == []
    held.forget()  # this process changed a call
    assert held.current() is None
    stale = HeldCalls(max_age=-1)
    stale.keep([], stale.generation())
    assert stale.current() is None  # older than max_age: read again


def test_a_read_that_overlapped_a_change_is_not_kept() -> None:
    from services.registry.storage.calls import HeldCalls

    held = HeldCalls(max_age=60)
    read_in = held.generation()  # a read starts...
    held.forget()  # ...a call changes meanwhile...
    held.keep([], read_in)  # ...and the read's older list arrives
    assert held.current() is None
