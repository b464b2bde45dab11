"""Registration calls ("convocatorias"): windows that group registrations.

A call's window is half-open, ``[opens_at, closes_at)``. Windows of different calls may not
overlap, so a registration belongs to at most one call and "who registered in the September
call" is a query on ``call_id``.

Decision, exclusive calls. Outside every window the registry follows the call nearest in
time: the next call to open, or, when none is scheduled, the last one to have closed. If that
call is exclusive, registration is refused; otherwise (or when there are no calls at all) it is
accepted without a ``call_id``. So an exclusive call closes the registry from the moment staff
schedule it until it opens, and again from when it closes until staff schedule a non-exclusive
call or clear the flag. Staff turn "registration only through calls" on and off with the flag,
not with a separate setting.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.registry.domain.errors import Conflict, InvalidInput, RegistrationClosed
from services.registry.domain.profile import UtcDatetime
from shared.events.registry import (
    Actor,
    CallChange,
    CallSnapshot,
    RegistrationCallClosed,
    RegistrationCallOpened,
    RegistrationCallUpdated,
)
from shared.fields import NOT_NULL, Timestamp, refuse_null, text_schema, trimmed

__all__ = [
    "RegistrationCall",
    "RegistrationCallCreate",
    "RegistrationCallPatch",
    "assign_call",
    "governing_call",
]


def _chile_zone() -> ZoneInfo:
    """Read once at import, like the comuna list; UTC if the system lacks the tz database."""
    try:
        return ZoneInfo("America/Santiago")
    except ZoneInfoNotFoundError:  # pragma: no cover - depends on the system's tzdata
        return ZoneInfo("UTC")


_CHILE: Final = _chile_zone()


# RFC 3339 with its offset ("Debe incluir la zona horaria…" without one).
AwareDatetime = Timestamp
CallName = Annotated[
    str, StringConstraints(max_length=200), trimmed(3), WithJsonSchema(text_schema(3, 200))
]
_WINDOW_ERROR = "El cierre debe ser posterior a la apertura."


def _local(moment: datetime) -> str:
    return moment.astimezone(_CHILE).strftime("%d-%m-%Y %H:%M")


class RegistrationCallCreate(BaseModel):
    """Body of the staff request that schedules a call; `closes_at` after `opens_at`."""

    model_config = ConfigDict(extra="forbid")

    name: CallName
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    exclusive: StrictBool = False

    @model_validator(mode="after")
    def _closes_after_opening(self) -> RegistrationCallCreate:
        if self.closes_at <= self.opens_at:
            raise ValueError(_WINDOW_ERROR)
        return self


class RegistrationCallPatch(BaseModel):
    """Partial change of a call (the window is checked again on the merged call); a field left
    out keeps its value, null is refused."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[CallName | None, NOT_NULL] = None
    opens_at: Annotated[AwareDatetime | None, NOT_NULL] = None
    closes_at: Annotated[AwareDatetime | None, NOT_NULL] = None
    exclusive: Annotated[StrictBool | None, NOT_NULL] = None

    @field_validator("name", "opens_at", "closes_at", "exclusive", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class RegistrationCall(BaseModel):
    """A scheduled call as the registry keeps it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    opens_at: UtcDatetime
    closes_at: UtcDatetime
    exclusive: bool = False
    created_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    closed_early_at: UtcDatetime | None = None

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def snapshot(self) -> CallSnapshot:
        return CallSnapshot(
            id=self.id,
            name=self.name,
            opens_at=self.opens_at,
            closes_at=self.closes_at,
            exclusive=self.exclusive,
        )

    def overlaps(self, other: RegistrationCall) -> bool:
        return self.id != other.id and (
            self.opens_at < other.closes_at and other.opens_at < self.closes_at
        )

    @classmethod
    def open(
        cls,
        data: RegistrationCallCreate,
        staff_id: str,
        now: datetime,
        existing: Iterable[RegistrationCall] = (),
        *,
        call_id: str | None = None,
    ) -> tuple[RegistrationCall, RegistrationCallOpened]:
        """Schedule a call; refused if its window overlaps another call's."""
        call = cls(
            id=call_id or uuid.uuid4().hex,
            name=data.name,
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            exclusive=data.exclusive,
            created_by=staff_id,
            created_at=now,
            updated_at=now,
        )
        call._check_no_overlap(existing)
        event = RegistrationCallOpened(
            call_id=call.id,
            occurred_at=now,
            call=call.snapshot(),
            changed_by=Actor(kind="staff", id=staff_id),
        )
        return call, event

    def update(
        self,
        patch: RegistrationCallPatch,
        staff_id: str,
        now: datetime,
        existing: Iterable[RegistrationCall] = (),
    ) -> tuple[RegistrationCall, list[RegistrationCallUpdated]]:
        """Rename, move the window or toggle exclusivity; nothing changed, no event.

        The merged window must close after it opens when the change moves it; a call closed
        before it opened has an empty window, and renaming it is still a valid change.
        """
        sent = patch.model_dump(exclude_unset=True)
        new = self.model_copy(update={**sent, "updated_at": now})
        moved = "opens_at" in sent or "closes_at" in sent
        if moved and new.closes_at <= new.opens_at:
            raise InvalidInput(
                _WINDOW_ERROR, errors=[{"field": "closes_at", "message": _WINDOW_ERROR}]
            )
        changes = [
            CallChange(field=name, old=_json(getattr(self, name)), new=_json(getattr(new, name)))
            for name in ("name", "opens_at", "closes_at", "exclusive")
            if getattr(self, name) != getattr(new, name)
        ]
        if not changes:
            return self, []
        new._check_no_overlap(existing)
        event = RegistrationCallUpdated(
            call_id=new.id,
            occurred_at=now,
            call=new.snapshot(),
            changed_by=Actor(kind="staff", id=staff_id),
            changes=tuple(changes),
        )
        return new, [event]

    def close(
        self, staff_id: str, now: datetime
    ) -> tuple[RegistrationCall, RegistrationCallClosed]:
        """End the window now (a call not yet open gets an empty window and never opens)."""
        if self.closes_at <= now:
            raise Conflict(f"La convocatoria «{self.name}» ya cerró el {_local(self.closes_at)}.")
        new = self.model_copy(
            update={
                "opens_at": min(self.opens_at, now),
                "closes_at": now,
                "closed_early_at": now,
                "updated_at": now,
            }
        )
        event = RegistrationCallClosed(
            call_id=new.id,
            occurred_at=now,
            call=new.snapshot(),
            changed_by=Actor(kind="staff", id=staff_id),
        )
        return new, event

    def _check_no_overlap(self, existing: Iterable[RegistrationCall]) -> None:
        for other in existing:
            if self.overlaps(other):
                raise Conflict(
                    f"Las fechas se superponen con la convocatoria «{other.name}» "
                    f"({_local(other.opens_at)} a {_local(other.closes_at)})."
                )


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def governing_call(calls: Iterable[RegistrationCall], now: datetime) -> RegistrationCall | None:
    """The call that decides about a registration at ``now`` (see the module docstring)."""
    calls = list(calls)
    open_now = [c for c in calls if c.is_open(now)]
    if open_now:
        return max(open_now, key=lambda c: (c.opens_at, c.id))
    upcoming = [c for c in calls if c.opens_at > now]
    if upcoming:
        return min(upcoming, key=lambda c: (c.opens_at, c.id))
    ended = [c for c in calls if c.closes_at <= now]
    if ended:
        return max(ended, key=lambda c: (c.closes_at, c.id))
    return None


def assign_call(calls: Iterable[RegistrationCall], now: datetime) -> str | None:
    """The ``call_id`` a registration at ``now`` carries, or ``RegistrationClosed``."""
    call = governing_call(calls, now)
    if call is None:
        return None
    if call.is_open(now):
        return call.id
    if not call.exclusive:
        return None
    if call.opens_at > now:
        raise RegistrationClosed(
            f"Las inscripciones se abrirán con la convocatoria «{call.name}» el "
            f"{_local(call.opens_at)} (hora de Chile)."
        )
    raise RegistrationClosed(
        f"La convocatoria «{call.name}» cerró el {_local(call.closes_at)} (hora de Chile); "
        "las inscripciones están cerradas hasta la próxima convocatoria."
    )
