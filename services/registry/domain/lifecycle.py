"""An organisation's lifecycle: which action is allowed from which status, and where it leads.

pending --confirm/activate--> active --suspend--> suspended --reinstate--> active; any of them
--withdraw--> withdrawn, which is final. A refused action says the current status and the
actions it allows (409, `shared.errors.InvalidTransition`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from services.registry.domain.errors import (
    AlreadyConfirmed,
    InvalidTransition,
    WithdrawnOrganizationError,
)

__all__ = ["REDACTED_FIELDS", "TRANSITIONS", "Action", "OrganizationStatus", "next_status"]


class OrganizationStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    CONFIRM = "confirm"
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    WITHDRAW = "withdraw"
    UPDATE = "update"
    VERIFY = "verify"
    RENEW_CONFIRMATION = "renew_confirmation"
    ROTATE_API_KEY = "rotate_api_key"


_P, _A, _S, _W = (
    OrganizationStatus.PENDING,
    OrganizationStatus.ACTIVE,
    OrganizationStatus.SUSPENDED,
    OrganizationStatus.WITHDRAWN,
)

# action → {status it is allowed from: status it leads to}; anything missing is refused.
TRANSITIONS: Final[Mapping[Action, Mapping[OrganizationStatus, OrganizationStatus]]] = {
    Action.CONFIRM: {_P: _A},
    Action.ACTIVATE: {_P: _A},
    Action.SUSPEND: {_A: _S},
    Action.REINSTATE: {_S: _A},
    Action.WITHDRAW: {_P: _W, _A: _W, _S: _W},
    Action.UPDATE: {_P: _P, _A: _A, _S: _S},
    Action.VERIFY: {_P: _P, _A: _A, _S: _S},
    Action.RENEW_CONFIRMATION: {_P: _P},
    Action.ROTATE_API_KEY: {_A: _A},
}

_STATUS_LABELS: Final = {_P: "pendiente", _A: "activa", _S: "suspendida", _W: "retirada"}
_ACTION_LABELS: Final = {
    Action.CONFIRM: "confirmar",
    Action.ACTIVATE: "activar",
    Action.SUSPEND: "suspender",
    Action.REINSTATE: "reactivar",
    Action.WITHDRAW: "retirar",
    Action.UPDATE: "modificar",
    Action.VERIFY: "verificar",
    Action.RENEW_CONFIRMATION: "reenviar la confirmación de",
    Action.ROTATE_API_KEY: "renovar la clave de API de",
}

# Fields whose values never go into an event: personal data, consent, free text.
REDACTED_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "description",
        "contact.name",
        "contact.email",
        "contact.phone",
        "consent.publish_profile",
        "consent.terms_version",
    }
)


def next_status(action: Action, current: OrganizationStatus | str) -> OrganizationStatus:
    """The status ``action`` leads to from ``current``, or the Spanish refusal."""
    status = OrganizationStatus(current)
    allowed = TRANSITIONS[action]
    if status in allowed:
        return allowed[status]
    if status is _W:
        raise WithdrawnOrganizationError(
            "La organización se retiró del registro; su ficha ya no admite cambios."
        )
    if action is Action.CONFIRM and status is _A:
        raise AlreadyConfirmed("La organización ya está confirmada y activa.")
    raise InvalidTransition(
        f"No se puede {_ACTION_LABELS[action]} una organización {_STATUS_LABELS[status]}.",
        current=str(status),
        allowed=[str(a) for a in Action if status in TRANSITIONS[a]],
    )
