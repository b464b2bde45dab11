"""Commitments per region taken at encuentros, and their follow-up (``Topic.EVENTS_COMMITMENTS``,
key: commitment id, kept forever). Organisation ids only; the note of a change is written by
staff or the responsible organisation about the commitment, and is public like the history."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from shared.events.base import EventContract
from shared.events.registry import Actor
from shared.events.topics import Topic

__all__ = ["COMMITMENT_EVENTS", "CommitmentEvent", "CommitmentStatusChanged", "CommitmentTaken"]


class CommitmentEvent(EventContract):
    """A commitment as it is after the change (abstract)."""

    topic: ClassVar[Topic] = Topic.EVENTS_COMMITMENTS

    commitment_id: str
    encuentro_id: str
    macrozone: str
    region: str
    text: str
    organization_ids: tuple[str, ...]
    responsible_organization_id: str
    due_date: date
    status: str
    occurred_at: datetime
    changed_by: Actor

    def aggregate_id(self) -> str:
        return self.commitment_id


class CommitmentTaken(CommitmentEvent):
    """Staff recorded a commitment of a region at an encuentro; it starts ``pending``."""

    name: ClassVar[str] = "events.commitment_taken"
    version: ClassVar[int] = 1


class CommitmentStatusChanged(CommitmentEvent):
    """Staff or the responsible organisation moved the commitment on."""

    name: ClassVar[str] = "events.commitment_status_changed"
    version: ClassVar[int] = 1

    previous_status: str
    note: str | None = None


COMMITMENT_EVENTS: tuple[type[CommitmentEvent], ...] = (CommitmentTaken, CommitmentStatusChanged)
