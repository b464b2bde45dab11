"""What funders follow: result evidence, encuentro results and fulfilled commitments.

Each is a `PublishedItem` built from a public event, with a stable id (the same event always
gives the same item), the territory and themes a subscription or a feed filters by, and the
public data a webhook carries. Nothing here is personal: the events it is built from carry
organisation ids and figures only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.events.commitments import CommitmentStatusChanged
from shared.events.encuentros import EncuentroResultsPublished
from shared.events.metrics import EvidencePublished

__all__ = [
    "WEBHOOK_TYPES",
    "ItemFilter",
    "ItemKind",
    "PublishedItem",
    "evidence_item",
    "fulfilled_commitment_item",
    "results_item",
]


class ItemKind(StrEnum):
    EVIDENCE = "evidence"
    ENCUENTRO_RESULTS = "encuentro_results"
    COMMITMENT_FULFILLED = "commitment_fulfilled"


# The `type` of a webhook carrying each kind (contract: Standard Webhooks body).
WEBHOOK_TYPES: dict[ItemKind, str] = {
    ItemKind.EVIDENCE: "evidence.published",
    ItemKind.ENCUENTRO_RESULTS: "encuentro.results_published",
    ItemKind.COMMITMENT_FULFILLED: "commitment.fulfilled",
}


class PublishedItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # "<kind>:<source id>": stable, so feeds and webhooks never show one item twice
    kind: ItemKind
    title: str
    summary: str
    url: str  # the public resource it is about
    themes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    macrozones: tuple[str, ...] = ()
    organization_ids: tuple[str, ...] = ()
    published_at: datetime
    data: dict[str, Any]  # the webhook's `data`: public fields only

    @property
    def webhook_type(self) -> str:
        return WEBHOOK_TYPES[self.kind]


class ItemFilter(BaseModel):
    """What a subscription or a feed request follows; an empty list follows everything.

    The contract's rule: an item matches when each non-empty list shares a value with it."""

    model_config = ConfigDict(frozen=True)

    kinds: tuple[ItemKind, ...] = ()
    themes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    macrozones: tuple[str, ...] = ()
    organization_ids: tuple[str, ...] = ()

    def matches(self, item: PublishedItem) -> bool:
        return (
            _shares(self.kinds, (item.kind,))
            and _shares(self.themes, item.themes)
            and _shares(self.regions, item.regions)
            and _shares(self.macrozones, item.macrozones)
            and _shares(self.organization_ids, item.organization_ids)
        )


def _shares(wanted: Sequence[str], present: Sequence[str]) -> bool:
    return not wanted or any(value in present for value in wanted)


def evidence_item(event: EvidencePublished, metrics_url: str) -> PublishedItem:
    progress = (
        f" ({event.progress_percent}% de avance hacia la meta)"
        if event.progress_percent is not None
        else ""
    )
    return PublishedItem(
        id=f"{ItemKind.EVIDENCE}:{event.evidence_id}",
        kind=ItemKind.EVIDENCE,
        title=f"{event.programme_name}: {event.indicator_name}",
        summary=(
            f"{event.indicator_name}: {_number(event.value)} {event.unit} entre "
            f"{event.period_start.isoformat()} y {event.period_end.isoformat()}{progress}. "
            f"Fuente: {event.source}."
        ),
        url=f"{metrics_url}/v1/indicators/{event.indicator_id}",
        themes=event.themes,
        regions=event.regions,
        macrozones=event.macrozones,
        organization_ids=(event.organization_id,),
        published_at=event.published_at,
        data=event.model_dump(mode="json"),
    )


def results_item(event: EncuentroResultsPublished, events_url: str) -> PublishedItem:
    encuentro = event.encuentro
    agreements = [a.model_dump(mode="json") for a in event.agreements]
    organizations = sorted({o for a in event.agreements for o in a.organization_ids})
    return PublishedItem(
        id=f"{ItemKind.ENCUENTRO_RESULTS}:{event.encuentro_id}",
        kind=ItemKind.ENCUENTRO_RESULTS,
        title=f"Resultados: {encuentro.title}",
        summary=(
            f"{len(event.agreements)} acuerdos por región; {event.attended} participaciones "
            f"de {event.registered} inscritos."
        ),
        url=f"{events_url}/v1/encuentros/{event.encuentro_id}",
        themes=(encuentro.theme,) if encuentro.theme else (),
        regions=encuentro.regions,
        macrozones=(encuentro.macrozone,),
        organization_ids=tuple(organizations),
        published_at=event.occurred_at,
        data={
            "encuentro_id": event.encuentro_id,
            "title": encuentro.title,
            "macrozone": encuentro.macrozone,
            "regions": list(encuentro.regions),
            "theme": encuentro.theme,
            "cycle": encuentro.cycle,
            "starts_at": encuentro.starts_at.isoformat(),
            "registered": event.registered,
            "attended": event.attended,
            "agreements": agreements,
        },
    )


def fulfilled_commitment_item(
    event: CommitmentStatusChanged, events_url: str, theme: str | None
) -> PublishedItem | None:
    """The item of a commitment that has just become fulfilled, else None; `theme` is its
    encuentro's, when the notifier knows it."""
    if event.status != "fulfilled" or event.previous_status == "fulfilled":
        return None
    return PublishedItem(
        id=f"{ItemKind.COMMITMENT_FULFILLED}:{event.commitment_id}",
        kind=ItemKind.COMMITMENT_FULFILLED,
        title=f"Compromiso cumplido en {event.region}",
        summary=event.text,
        url=f"{events_url}/v1/commitments/{event.commitment_id}",
        themes=(theme,) if theme else (),
        regions=(event.region,),
        macrozones=(event.macrozone,),
        organization_ids=event.organization_ids,
        published_at=event.occurred_at,
        data={
            "commitment_id": event.commitment_id,
            "encuentro_id": event.encuentro_id,
            "region": event.region,
            "macrozone": event.macrozone,
            "text": event.text,
            "organization_ids": list(event.organization_ids),
            "responsible_organization_id": event.responsible_organization_id,
            "due_date": event.due_date.isoformat(),
            "status": event.status,
            "note": event.note,
            "fulfilled_at": event.occurred_at.isoformat(),
        },
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
