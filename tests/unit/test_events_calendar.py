"""The encuentros' iCalendar feed, read back with the same library a client-like parser uses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar, Event

from shared.calendar import (
    PRODID,
    CalendarEntry,
    render_calendar,
)

SANTIAGO_ID = "America/Santiago"
CREATED = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
UPDATED = datetime(2026, 8, 20, 15, 30, tzinfo=UTC)


def entry(encuentro_id: str, **changes: Any) -> CalendarEntry:
    """A valid entry; the tests change only what they look at."""
    fields: dict[str, Any] = {
        "encuentro_id": encuentro_id,
        "title": f"Encuentro {encuentro_id}",
        "description": "Conversemos sobre el barrio.",
        "starts_at": datetime(2026, 10, 5, 21, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 10, 5, 23, 0, tzinfo=UTC),
        "cancelled": False,
        "sequence": 0,
        "url": f"https://articula.example/encuentros/{encuentro_id}",
        "location": "Sede vecinal, Valparaíso",
        "online": False,
        "created_at": CREATED,
        "updated_at": UPDATED,
    }
    fields.update(changes)
    return CalendarEntry(**fields)


NORMAL = entry("enc-1", sequence=2)
CANCELLED = entry("enc-2", title="Mesa de trabajo; agua, y ñandúes", cancelled=True, sequence=5)
UTC_START = entry(
    "enc-3",
    starts_at=datetime(2026, 9, 23, 13, 0, tzinfo=UTC),
    ends_at=datetime(2026, 9, 23, 15, 0, tzinfo=UTC),
    location=None,
    online=True,
)
ENTRIES = [NORMAL, CANCELLED, UTC_START]


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def events_of(data: bytes) -> list[Event]:
    return parse(data).events


def test_the_calendar_header() -> None:
    calendar = parse(render_calendar(ENTRIES, name="Encuentros de Articula"))
    assert calendar["PRODID"] == PRODID == "-//Articula//Encuentros//ES"
    assert calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "Encuentros de Articula"
    assert calendar["X-WR-TIMEZONE"] == SANTIAGO_ID


def test_events_in_the_order_given_with_stable_uids() -> None:
    events = events_of(render_calendar(ENTRIES, name="x"))
    assert [str(e["UID"]) for e in events] == ["enc-1@articula", "enc-2@articula", "enc-3@articula"]
    assert [str(e["SUMMARY"]) for e in events] == [e.title for e in ENTRIES]
    assert [e.uid for e in ENTRIES] == ["enc-1@articula", "enc-2@articula", "enc-3@articula"]


def test_sequence_status_and_url() -> None:
    normal, cancelled, utc_start = events_of(render_calendar(ENTRIES, name="x"))
    assert [normal["SEQUENCE"], cancelled["SEQUENCE"], utc_start["SEQUENCE"]] == [2, 5, 0]
    assert normal["STATUS"] == "CONFIRMED"
    assert cancelled["STATUS"] == "CANCELLED"
    assert utc_start["STATUS"] == "CONFIRMED"
    assert str(normal["URL"]) == NORMAL.url
    assert str(cancelled["URL"]) == CANCELLED.url


def test_times_are_santiago_local_and_the_same_instant() -> None:
    data = render_calendar(ENTRIES, name="x")
    for event, given in zip(events_of(data), ENTRIES, strict=True):
        for prop, instant in (("DTSTART", given.starts_at), ("DTEND", given.ends_at)):
            assert event[prop].params["TZID"] == SANTIAGO_ID
            value = event.decoded(prop)
            assert isinstance(value, datetime)
            assert value == instant
    # 13:00Z on 2026-09-23 is 10:00 in Santiago (UTC-3, summer time since early September).
    assert b"DTSTART;TZID=America/Santiago:20260923T100000" in data
    assert b"DTEND;TZID=America/Santiago:20260923T120000" in data
    start = events_of(data)[2].decoded("DTSTART")
    assert (start.hour, start.utcoffset()) == (10, timedelta(hours=-3))


def test_one_vtimezone_for_santiago() -> None:
    calendar = parse(render_calendar(ENTRIES, name="x"))
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == [SANTIAGO_ID]
    assert calendar.get_missing_tzids() == set()


def test_stamps_are_utc_and_come_from_the_entry() -> None:
    data = render_calendar(ENTRIES, name="x")
    event = events_of(data)[0]
    assert event.decoded("DTSTAMP") == UPDATED
    assert event.decoded("LAST-MODIFIED") == UPDATED
    assert event.decoded("CREATED") == CREATED
    assert b"DTSTAMP:20260820T153000Z" in data


def test_location_and_description() -> None:
    normal, _, online = events_of(render_calendar(ENTRIES, name="x"))
    assert str(normal["LOCATION"]) == "Sede vecinal, Valparaíso"
    assert str(online["LOCATION"]) == "En línea"
    assert str(normal["DESCRIPTION"]).startswith("Conversemos sobre el barrio.")
    assert NORMAL.url in str(normal["DESCRIPTION"])
    bare = events_of(render_calendar([entry("enc-4", location=None, description=None)], name="x"))
    assert "LOCATION" not in bare[0]


def test_text_is_escaped_by_the_library() -> None:
    data = render_calendar([CANCELLED], name="Encuentros; 2026, Chile")
    assert "SUMMARY:Mesa de trabajo\\; agua\\, y ñandúes".encode() in data
    calendar = parse(data)
    assert calendar["X-WR-CALNAME"] == "Encuentros; 2026, Chile"
    assert str(calendar.events[0]["SUMMARY"]) == CANCELLED.title


def test_the_same_input_gives_the_same_bytes() -> None:
    assert render_calendar(ENTRIES, name="x") == render_calendar(list(ENTRIES), name="x")


def test_no_entries_is_a_valid_empty_calendar() -> None:
    calendar = parse(render_calendar([], name="Vacío"))
    assert calendar.events == []
    assert calendar["X-WR-CALNAME"] == "Vacío"


def test_a_thousand_entries_render_and_parse() -> None:
    base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    many = [
        entry(
            f"enc-{i}",
            starts_at=base + timedelta(days=i),
            ends_at=base + timedelta(days=i, hours=2),
            cancelled=i % 7 == 0,
            sequence=i % 4,
        )
        for i in range(1000)
    ]
    calendar = parse(render_calendar(many, name="Muchos"))
    events = calendar.events
    assert len(events) == 1000
    assert [str(e["UID"]) for e in events] == [f"enc-{i}@articula" for i in range(1000)]
    assert len(calendar.walk("VTIMEZONE")) == 1
    assert calendar.get_missing_tzids() == set()
    assert events[-1].decoded("DTSTART") == many[-1].starts_at


@pytest.mark.parametrize(
    "changes",
    [
        {"starts_at": datetime(2026, 10, 5, 18, 0)},
        {"updated_at": datetime(2026, 8, 20, 15, 30)},
        {"ends_at": datetime(2026, 10, 5, 21, 0, tzinfo=UTC)},
        {"sequence": -1},
        {"url": "/encuentros/enc-1"},
    ],
)
def test_an_entry_that_would_render_wrong_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(NORMAL, **changes)
