"""Encuentros in iCalendar (RFC 5545): the events service's feed and the notifier's `.ics`
attachments, so both give one encuentro the same UID and the same text.

Pure domain code: entries in, `text/calendar` bytes out, made with the `icalendar` library.
Times are given in America/Santiago with one VTIMEZONE for the whole feed; the output depends
only on the input (DTSTAMP is the entry's `updated_at`), so the same encuentros give the same
bytes and clients and caches see no spurious change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.enums import STATUS

TIMEZONE_ID: Final = "America/Santiago"
SANTIAGO: Final = ZoneInfo(TIMEZONE_ID)
PRODID: Final = "-//Articula//Encuentros//ES"
MEDIA_TYPE: Final = "text/calendar; charset=utf-8"
UID_DOMAIN: Final = "articula"
ONLINE_LOCATION: Final = "En línea"
LAST_TRANSITION_YEAR: Final = 9000  # VTIMEZONE rules are written up to this year at most


@dataclass(frozen=True)
class CalendarEntry:
    """One encuentro as a calendar shows it: nothing personal."""

    encuentro_id: str
    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    sequence: int
    url: str
    location: str | None
    online: bool
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        """Refuse what would silently render wrong: naive times, an end before the start."""
        for field in ("starts_at", "ends_at", "created_at", "updated_at"):
            value: datetime = getattr(self, field)
            if value.utcoffset() is None:
                raise ValueError(f"{field} must be timezone-aware, got {value!r}")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"ends_at {self.ends_at} is not after starts_at {self.starts_at}")
        if self.sequence < 0:
            raise ValueError(f"sequence must be >= 0, got {self.sequence}")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be absolute http(s), got {self.url!r}")

    @property
    def uid(self) -> str:
        """Stable across renders and edits, so a client updates its copy instead of adding one."""
        return f"{self.encuentro_id}@{UID_DOMAIN}"


def render_calendar(entries: Sequence[CalendarEntry], *, name: str) -> bytes:
    """The feed named `name` with `entries` in the order given, as `Calendar.to_ical()` bytes.

    Serve it as `MEDIA_TYPE`. An empty sequence gives a valid calendar with no events.
    """
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("X-WR-CALNAME", name)
    calendar.add("X-WR-TIMEZONE", TIMEZONE_ID)
    for entry in entries:
        calendar.add_component(_event(entry))
    if entries:
        # One VTIMEZONE for all events, covering just the years they span (the library's
        # default range stops at 2038, and a narrower one keeps the feed small).
        first = min(entry.starts_at.astimezone(SANTIAGO) for entry in entries)
        last = max(entry.ends_at.astimezone(SANTIAGO) for entry in entries)
        # The library searches transitions in steps of years past `last_date`, overflowing near
        # the end of the calendar; the zone's last rule holds from there on in any client.
        until = date(min(last.year + 1, LAST_TRANSITION_YEAR), 1, 1)
        start = date(min(first.year, LAST_TRANSITION_YEAR - 1), 1, 1)
        calendar.add_missing_timezones(first_date=start, last_date=until)
    ical: bytes = calendar.to_ical()  # untyped in icalendar
    return ical


def _event(entry: CalendarEntry) -> Event:
    """The VEVENT of one entry; UTC for the stamps as RFC 5545 wants, Santiago for the times."""
    return Event.new(
        uid=entry.uid,
        summary=entry.title,
        description=_description(entry),
        start=entry.starts_at.astimezone(SANTIAGO),
        end=entry.ends_at.astimezone(SANTIAGO),
        stamp=entry.updated_at.astimezone(UTC),
        created=entry.created_at.astimezone(UTC),
        last_modified=entry.updated_at.astimezone(UTC),
        sequence=entry.sequence,
        status=STATUS.CANCELLED if entry.cancelled else STATUS.CONFIRMED,
        url=entry.url,
        location=entry.location or (ONLINE_LOCATION if entry.online else None),
    )


def _description(entry: CalendarEntry) -> str:
    """The text shown with the event; it repeats the URL because many clients hide `URL`."""
    lines = [entry.description.strip()] if entry.description and entry.description.strip() else []
    if entry.online and entry.location:
        lines.append("También se puede participar en línea.")
    lines.append(f"Más información: {entry.url}")
    return "\n\n".join(lines)
