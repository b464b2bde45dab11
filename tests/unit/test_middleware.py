"""The HTTP middlewares every service app has (request context, metrics), in-process.

The app is the real one from `create_service_app`, with a few routes of its own; its lifespan
is not run (it would wait for the database), so nothing here needs Kafka or FerretDB.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Annotated, Any

import httpx
import pytest
import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client import REGISTRY
from starlette.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from shared.context import correlation_id
from shared.metrics import HttpMetricsMiddleware
from shared.problems import Problem
from shared.runtime import RequestContextMiddleware, ServiceSpec, create_service_app
from shared.settings import ServiceSettings


async def as_organization() -> str:
    """What `shared.access.get_principal` does for an organisation's key."""
    structlog.contextvars.bind_contextvars(organization_id="org-1")
    return "org-1"


Organization = Annotated[str, Depends(as_organization)]
Logs = list[MutableMapping[str, Any]]


def probe_router() -> APIRouter:
    router = APIRouter()

    @router.get("/probe")
    async def probe() -> dict[str, Any]:
        return {
            "correlation_id": correlation_id(),
            "context": structlog.contextvars.get_contextvars(),
        }

    @router.get("/as-organization")
    async def organization(organization: Organization) -> dict[str, Any]:
        return {"context": structlog.contextvars.get_contextvars()}

    @router.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @router.get("/conflict")
    async def conflict() -> None:
        raise Problem(409, "ya existe")

    @router.get("/boom")
    async def boom(organization: Organization) -> None:
        raise RuntimeError("boom")

    @router.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a,"
            yield b"b"

        return StreamingResponse(chunks(), media_type="text/csv")

    return router


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = ServiceSettings(service_name="middleware-test")
    return create_service_app(ServiceSpec(settings, "test", "test", routers=[probe_router()]))


async def get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    # A 500 is answered by Starlette's ServerErrorMiddleware, which then re-raises: take the
    # answer, as a server does.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers=headers)


@pytest.fixture
def logs() -> Iterator[Logs]:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as entries:
        yield entries


def requests_of(logs: Logs) -> Logs:
    return [entry for entry in logs if entry["event"] == "http_request"]


def counted(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("articula_http_requests_total", labels) or 0.0


def timed(method: str, route: str) -> float:
    labels = {"method": method, "route": route}
    return REGISTRY.get_sample_value("articula_http_request_duration_seconds_count", labels) or 0.0


async def test_a_given_request_id_is_answered_and_bound_for_the_endpoint(app: FastAPI) -> None:
    response = await get(app, "/probe", {"X-Request-ID": "req-abc"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-abc"
    assert response.json() == {"correlation_id": "req-abc", "context": {"request_id": "req-abc"}}


async def test_without_one_a_fresh_request_id_is_made_each_time(app: FastAPI) -> None:
    first, second = await get(app, "/probe"), await get(app, "/probe")
    for response in (first, second):
        request_id = response.headers["x-request-id"]
        assert re.fullmatch("[0-9a-f]{32}", request_id)
        assert response.json()["context"] == {"request_id": request_id}
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_one_log_line_per_request_with_its_fields(app: FastAPI, logs: Logs) -> None:
    await get(app, "/items/7?x=1", {"X-Request-ID": "req-log"})
    await get(app, "/conflict", {"X-Request-ID": "req-409"})
    await get(app, "/nowhere", {"X-Request-ID": "req-404"})
    assert requests_of(logs) == [
        {
            "event": "http_request",
            "log_level": "info",
            "request_id": request_id,
            "method": "GET",
            "path": path,
            "status": status,
        }
        for request_id, path, status in [
            ("req-log", "/items/7", 200),
            ("req-409", "/conflict", 409),
            ("req-404", "/nowhere", 404),
        ]
    ]


async def test_what_the_endpoint_binds_stays_out_of_the_request_line(
    app: FastAPI, logs: Logs
) -> None:
    response = await get(app, "/as-organization", {"X-Request-ID": "req-org"})
    assert response.json()["context"] == {"request_id": "req-org", "organization_id": "org-1"}
    [line] = requests_of(logs)
    assert "organization_id" not in line
    # ... nor in the next request's context.
    assert (await get(app, "/probe")).json()["context"].keys() == {"request_id"}


async def test_probes_and_metrics_are_not_logged_but_carry_the_id(app: FastAPI, logs: Logs) -> None:
    for path in ("/healthz", "/metrics"):
        response = await get(app, path, {"X-Request-ID": "req-probe"})
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "req-probe"
    assert requests_of(logs) == []


async def test_requests_are_counted_by_method_route_template_and_status(app: FastAPI) -> None:
    before = {
        "item": counted("GET", "/items/{item_id}", 200),
        "conflict": counted("GET", "/conflict", 409),
        "unmatched": counted("GET", "unmatched", 404),
        "timed": timed("GET", "/items/{item_id}"),
    }
    await get(app, "/items/1")
    await get(app, "/items/2")
    await get(app, "/conflict")
    await get(app, "/not/a/route")
    assert counted("GET", "/items/{item_id}", 200) == before["item"] + 2
    assert counted("GET", "/conflict", 409) == before["conflict"] + 1
    assert counted("GET", "unmatched", 404) == before["unmatched"] + 1
    assert timed("GET", "/items/{item_id}") == before["timed"] + 2
    assert counted("GET", "/items/1", 200) == 0  # never the raw path
    metrics = (await get(app, "/metrics")).text
    assert 'articula_http_requests_total{method="GET",route="/items/{item_id}",status="200"}' in (
        metrics
    )


async def test_an_unhandled_error_is_a_500_counted_and_logged(app: FastAPI, logs: Logs) -> None:
    before = counted("GET", "/boom", 500), timed("GET", "/boom")
    response = await get(app, "/boom", {"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert (counted("GET", "/boom", 500), timed("GET", "/boom")) == (before[0] + 1, before[1] + 1)
    [error] = [entry for entry in logs if entry["event"] == "unhandled_error"]
    # Logged by the problem handler outside the middlewares, with the request id but not what
    # the endpoint bound; the request line is not written, as the response comes from outside.
    assert error["request_id"] == "req-boom"
    assert error["path"] == "/boom"
    assert "organization_id" not in error
    assert requests_of(logs) == []
    assert "x-request-id" not in response.headers


async def test_a_streamed_response_gets_the_id_and_is_counted(app: FastAPI, logs: Logs) -> None:
    before = counted("GET", "/stream", 200)
    response = await get(app, "/stream", {"X-Request-ID": "req-stream"})
    assert response.text == "a,b"
    assert response.headers["x-request-id"] == "req-stream"
    assert counted("GET", "/stream", 200) == before + 1
    assert [line["status"] for line in requests_of(logs)] == [200]


async def test_the_endpoint_runs_in_the_servers_task() -> None:
    """No middleware hands the request to a task of its own (as `BaseHTTPMiddleware` did):
    what the middlewares bind is the endpoint's context, not a copy."""
    seen: dict[str, asyncio.Task[Any] | None] = {}
    router = APIRouter()

    @router.get("/task")
    async def task() -> None:
        seen["endpoint"] = asyncio.current_task()

    inner = create_service_app(ServiceSpec(ServiceSettings(), "test", "test", routers=[router]))

    async def server(scope: Scope, receive: Receive, send: Send) -> None:
        seen["server"] = asyncio.current_task()
        await inner(scope, receive, send)

    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/task")).status_code == 200
    assert seen["endpoint"] is seen["server"] is not None


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
async def test_other_scopes_reach_the_app_as_they_came(kind: str) -> None:
    calls: list[tuple[Scope, Receive, Send]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": f"{kind}.connect"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": kind, "asgi": {"version": "3.0"}, "path": "/ws", "headers": []}
    copy = dict(scope)
    for middleware in (HttpMetricsMiddleware(inner), RequestContextMiddleware(inner)):
        await middleware(scope, receive, send)
    assert calls == [(scope, receive, send)] * 2
    assert scope == copy
