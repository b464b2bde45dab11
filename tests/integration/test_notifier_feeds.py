"""The notifier's feeds on the real broker and database: contract events produced on the
evidence, encuentros and commitments topics come out as Atom and JSON Feed entries, newest
first, filtered, paged by `next` links, with stable ids, once each, and nothing personal."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.notifier.main import create_app
from services.notifier.settings import NotifierSettings
from shared.events.base import EventContract
from shared.events.commitments import CommitmentStatusChanged
from shared.events.encuentros import Agreement, EncuentroResultsPublished, EncuentroSnapshot
from shared.events.registry import Actor
from shared.events.topics import Topic
from shared.kafka.clients import ensure_topics
from tests.harness.app import app_in_process, settings_for
from tests.harness.kafka import contract_record, produce_raw
from tests.harness.notifier import evidence_event
from tests.harness.processes import Stack, eventually

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
STAFF_ACTOR = Actor(kind="staff", id="staff:feeds")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
TOPICS = [Topic.METRICS_EVIDENCE, Topic.EVENTS_ENCUENTROS, Topic.EVENTS_COMMITMENTS]

EVIDENCE = evidence_event(
    evidence_id="mea_feed_1",
    programme_id="prg_feed",
    organization_id="org_feed_1",
    indicator_id="ind_feed",
    published_at=NOW - timedelta(hours=3),
)
RESULTS = EncuentroResultsPublished(
    encuentro_id="enc_feed_1",
    occurred_at=NOW - timedelta(hours=2),
    encuentro=EncuentroSnapshot(
        title="Encuentro Norte Centro",
        macrozone="norte_centro",
        regions=("CL-AN", "CL-AT", "CL-CO"),
        theme="pobreza",
        mode="presencial",
        starts_at=NOW - timedelta(days=7),
        ends_at=NOW - timedelta(days=7) + timedelta(hours=4),
        venue="Centro Cultural, Antofagasta",
        capacity=80,
        status="closed",
        sequence=4,
    ),
    changed_by=STAFF_ACTOR,
    agreements=(
        Agreement(
            commitment_id="com_feed_a",
            region="CL-AN",
            text="Mesa regional de pobreza",
            organization_ids=("org_feed_1", "org_feed_2"),
            responsible_organization_id="org_feed_1",
            due_date=date(2026, 9, 1),
            status="pending",
        ),
    ),
    registered=60,
    attended=41,
)
FULFILLED = CommitmentStatusChanged(
    commitment_id="com_feed_b",
    encuentro_id="enc_feed_unknown",  # an encuentro the notifier has not seen: no theme
    macrozone="sur_austral",
    region="CL-MA",
    text="Catastro regional de cuidadoras",
    organization_ids=("org_feed_3",),
    responsible_organization_id="org_feed_3",
    due_date=date(2026, 6, 30),
    status="fulfilled",
    previous_status="in_progress",
    note="Publicado en el sitio de la mesa",
    occurred_at=NOW - timedelta(hours=1),
    changed_by=STAFF_ACTOR,
)
NEWEST_FIRST = [
    "tag:articula.cl,2025:commitment_fulfilled:com_feed_b",
    "tag:articula.cl,2025:encuentro_results:enc_feed_1",
    "tag:articula.cl,2025:evidence:mea_feed_1",
]
PUBLIC_URL = "https://notificaciones.articula.test"
ATOM = "/v1/feeds/evidence.atom"
JSON = "/v1/feeds/evidence.json"


def record(
    event: EventContract, source: str, event_id: str
) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    return contract_record(event, source, event_id)


@pytest.fixture
def notifier(stack: Stack) -> Iterator[TestClient]:
    settings = settings_for(stack, NotifierSettings).model_copy(
        # Nothing here sends mail; a port nobody listens on keeps it away from others' Mailpit.
        update={"public_url": PUBLIC_URL, "smtp_url": SecretStr("smtp://127.0.0.1:9")}
    )
    # The topics exist before the consumer subscribes (the broker does not auto-create).
    asyncio.run(ensure_topics(settings, TOPICS))
    with app_in_process(create_app, settings) as client:
        eventually(lambda: client.get("/readyz").status_code == 200)
        yield client


def atom(client: TestClient, path: str = ATOM, **params: str) -> Any:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    document = feedparser.parse(answer.content)
    assert not document.bozo, document.get("bozo_exception")
    return document


def json_feed(client: TestClient, path: str = JSON, **params: str) -> dict[str, Any]:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/feed+json")
    body: dict[str, Any] = answer.json()
    assert body["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(body["title"], str) and isinstance(body["items"], list)
    for item in body["items"]:
        assert isinstance(item["id"], str) and isinstance(item["content_text"], str)
    return body


def ids(document: Any) -> list[str]:
    return [entry.id for entry in document.entries]


def processed(client: TestClient, topic: str) -> float:
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("articula_consumer_messages_processed_total{") and (
            f'topic="{topic}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def local(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/v1/feeds/"), url
    return url.removeprefix(PUBLIC_URL)


def test_published_items_come_out_in_both_feeds(stack: Stack, notifier: TestClient) -> None:
    evidence_topic = stack.topic(Topic.METRICS_EVIDENCE)
    first = record(EVIDENCE, "/articula/metrics", "ev-feed-1")
    # The same record twice, and the same evidence published again under another event id.
    again = record(EVIDENCE, "/articula/metrics", "ev-feed-1-replayed")
    produce_raw(evidence_topic, [first, first, again])
    produce_raw(
        stack.topic(Topic.EVENTS_ENCUENTROS), [record(RESULTS, "/articula/events", "res-feed")]
    )
    produce_raw(
        stack.topic(Topic.EVENTS_COMMITMENTS),
        [record(FULFILLED, "/articula/events", "com-feed")],
    )

    eventually(lambda: ids(atom(notifier)) == NEWEST_FIRST, timeout=90)
    eventually(lambda: processed(notifier, evidence_topic) >= 3, timeout=60)

    # Three entries, newest first, in both feeds; the evidence once.
    document = atom(notifier)
    assert ids(document) == NEWEST_FIRST
    assert "next" not in {link.rel for link in document.feed.links}
    assert {link.rel: link.href for link in document.feed.links}["self"] == PUBLIC_URL + ATOM
    feed = json_feed(notifier)
    assert [item["id"] for item in feed["items"]] == NEWEST_FIRST
    assert "next_url" not in feed and feed["feed_url"] == PUBLIC_URL + JSON
    published = [datetime.fromisoformat(item["date_published"]) for item in feed["items"]]
    assert published == [FULFILLED.occurred_at, RESULTS.occurred_at, EVIDENCE.published_at]
    commitment, results, evidence = feed["items"]
    assert evidence["_articula"]["kind"] == "evidence"
    assert evidence["_articula"]["data"]["evidence_id"] == "mea_feed_1"
    assert evidence["url"] == "http://127.0.0.1:8003/v1/indicators/ind_feed"
    assert results["_articula"]["macrozones"] == ["norte_centro"]
    assert results["_articula"]["data"]["attended"] == 41
    assert commitment["_articula"]["data"]["status"] == "fulfilled"
    assert commitment["_articula"]["themes"] == []

    # Filters: one value each; an item matches when it has every one asked for.
    for params, expected in [
        ({"theme": "educacion"}, [NEWEST_FIRST[2]]),
        ({"theme": "pobreza"}, [NEWEST_FIRST[1]]),
        ({"region": "CL-MA"}, [NEWEST_FIRST[0]]),
        ({"region": "CL-AT"}, [NEWEST_FIRST[1]]),
        ({"macrozone": "centro_sur"}, [NEWEST_FIRST[2]]),
        ({"kind": "commitment_fulfilled"}, [NEWEST_FIRST[0]]),
        ({"kind": "encuentro_results", "region": "CL-AN"}, [NEWEST_FIRST[1]]),
        ({"kind": "evidence", "region": "CL-AN"}, []),
        ({"theme": "vivienda"}, []),
    ]:
        assert ids(atom(notifier, **params)) == expected, params
        assert [i["id"] for i in json_feed(notifier, **params)["items"]] == expected, params

    # Pages of one, following `next` to the end: every entry once, in order.
    for path, reader in ((ATOM, _atom_page), (JSON, _json_page)):
        seen: list[str] = []
        url: str | None = f"{path}?limit=1"
        while url is not None:
            page_ids, url = reader(notifier, url)
            assert len(page_ids) == 1
            seen.extend(page_ids)
            assert len(seen) <= len(NEWEST_FIRST), seen
        assert seen == NEWEST_FIRST, path
    filtered, next_url = _atom_page(notifier, f"{ATOM}?macrozone=norte_centro&limit=1")
    assert filtered == [NEWEST_FIRST[1]] and next_url is None

    # Ids and bodies unchanged on re-fetch; nothing personal anywhere.
    assert ids(atom(notifier)) == NEWEST_FIRST
    for path in (ATOM, JSON):
        body = notifier.get(path).text
        assert notifier.get(path).text == body
        assert EMAIL.search(body) is None, body
        assert "<email>" not in body
    author = atom(notifier).feed.author_detail
    assert author == {"name": "Articula"}
    assert json_feed(notifier)["authors"] == [{"name": "Articula"}]


def test_the_feeds_refuse_unknown_filters_and_parameters(notifier: TestClient) -> None:
    for path in (ATOM, JSON):
        for params in (
            {"theme": "astrologia"},
            {"region": "CL-XX"},
            {"macrozone": "centro"},
            {"kind": "ping"},
            {"limit": "0"},
            {"limit": "201"},
            {"cursor": "abc"},
            {"organization_id": "org_1"},
        ):
            answer = notifier.get(path, params=params)
            assert answer.status_code == 422, (path, params, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        empty = notifier.get(path, params={"theme": "vivienda", "limit": "200"})
        assert empty.status_code == 200
    document = notifier.get("/openapi.json").json()
    for path, media_type in ((ATOM, "application/atom+xml"), (JSON, "application/feed+json")):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(content) == [media_type]


def _atom_page(client: TestClient, url: str) -> tuple[list[str], str | None]:
    path, _, query = url.partition("?")
    answer = client.get(path + (f"?{query}" if query else ""))
    assert answer.status_code == 200, answer.text
    document = feedparser.parse(answer.content)
    links = {link.rel: link.href for link in document.feed.links}
    return ids(document), local(links["next"]) if "next" in links else None


def _json_page(client: TestClient, url: str) -> tuple[list[str], str | None]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    next_url = body.get("next_url")
    return [item["id"] for item in body["items"]], local(next_url) if next_url else None
