"""The principals directory every service keeps from the registry's access topic."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.auth import hash_secret
from shared.events.registry import AccessChanged
from shared.principals import Principal, PrincipalDirectory

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def access(
    principal: str, *keys: str, active: bool = True, kind: str = "organization"
) -> AccessChanged:
    return AccessChanged.model_validate(
        {
            "principal_id": principal,
            "kind": kind,
            "key_hashes": [hash_secret(k) for k in keys],
            "active": active,
            "changed_at": NOW,
        }
    )


def test_a_key_opens_the_api_once_granted_and_stops_when_rotated_or_suspended() -> None:
    directory = PrincipalDirectory()
    assert directory.find("org_a") is None
    directory.apply(access("org-1", "org_a"))
    assert directory.find("org_a") == Principal("organization", "org-1")
    directory.apply(access("org-1", "org_b"))  # rotated
    assert directory.find("org_a") is None
    assert directory.find("org_b") == Principal("organization", "org-1")
    directory.apply(access("org-1", "org_b", active=False))  # suspended: the key is kept
    assert directory.find("org_b") is None
    directory.apply(access("org-1", "org_b"))  # reinstated
    assert directory.find("org_b") == Principal("organization", "org-1")
    directory.apply(access("org-1", active=False))  # withdrawn: no keys at all
    assert directory.find("org_b") is None and len(directory) == 0


def test_replaying_the_topic_gives_the_same_directory() -> None:
    events = [
        access("org-1", "org_a"),
        access("c-1", "staff_x", kind="staff"),
        access("org-1", "org_b"),
        access("c-2", "funder_y", kind="funder"),
        access("c-2", active=False, kind="funder"),
    ]
    once, twice = PrincipalDirectory(), PrincipalDirectory()
    for event in events:
        once.apply(event)
    for event in events + events:
        twice.apply(event)
    for key in ("org_a", "org_b", "staff_x", "funder_y"):
        assert once.find(key) == twice.find(key)
    assert once.find("staff_x") == Principal("staff", "c-1")
    assert once.find("funder_y") is None
