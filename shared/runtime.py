"""What a running service holds: settings, database, outbox relay and consumer.

`create_service_app` builds the FastAPI app of any of the four services from a `ServiceSpec`,
so they start, stop, measure and report health the same way. Building an app has no side
effects (logging is configured by `shared.serve`), so tests can run one in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaClient
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from starlette.datastructures import URL, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import DomainError
from shared.kafka.consumer import ReliableConsumer
from shared.kafka.handlers import Subscription
from shared.metrics import install_http_metrics
from shared.openapi import install_openapi
from shared.principals import Authenticator, LivePrincipals
from shared.problems import Problem, install_problem_handlers, problem_response, problem_responses
from shared.settings import ServiceSettings
from shared.storage.inbox import Inbox
from shared.storage.locks import DocumentLocks
from shared.storage.mongo import Document, create_client, ping, service_database
from shared.storage.outbox import OutboxWriter, filters_are_atomic
from shared.storage.relay import OutboxRelay
from shared.storage.repository import ConcurrentModification, Position, UnitOfWork

log = structlog.get_logger(__name__)


@dataclass
class ServiceSpec:
    """Everything that makes one service different from another."""

    settings: ServiceSettings
    title: str
    description: str
    routers: Sequence[APIRouter] = ()
    outbox_collections: Sequence[str] = ()
    subscription: Subscription[Any] | None = None
    # The unit of work handlers receive (the service's own subclass, with its repositories).
    unit_of_work: Callable[[Runtime, Position | None], UnitOfWork] = field(
        default=lambda runtime, applying: plain_unit_of_work(runtime, applying)
    )
    # Who is behind an API key: by default the registry's access topic (`shared.principals`).
    authenticator: Callable[[Runtime], Authenticator] = field(
        default=lambda runtime: LivePrincipals(runtime.settings)
    )
    # Indexes and the service's own resources, once the database answers; what it returns is
    # kept as `runtime.service` for the routes' dependencies.
    on_startup: Callable[[Runtime], Awaitable[object]] | None = None
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)


class Runtime:
    """Per-process resources, reachable from routes via `request.app.state.runtime`."""

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.settings = spec.settings
        self.client: AsyncMongoClient[Document] = create_client(spec.settings)
        self.db: AsyncDatabase[Document] = service_database(self.client, spec.settings)
        self.locks = DocumentLocks()  # shared by the API's writes and the relay's
        self.relay = OutboxRelay(spec.settings, self.db, spec.outbox_collections, self.locks)
        # Every repository writes through this; `atomic_filters` is settled once the database
        # answers (MongoDB or FerretDB).
        self.outbox = OutboxWriter(self.db, spec.settings, self.locks, relay=self.relay)
        self.consumer: ReliableConsumer | None = None
        self._kafka_probe: AIOKafkaClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.service: object | None = None  # what `spec.on_startup` built
        self.authenticator = spec.authenticator(self)
        # Service-specific: "not ready yet" reasons for /readyz, and clean-ups for stop().
        self.readiness_checks: list[Callable[[], str | None]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        await self._wait_for_database()
        self.outbox.atomic_filters = await filters_are_atomic(self.client)
        if self.spec.on_startup:
            self.service = await self.spec.on_startup(self)
        self.authenticator.start()
        self.readiness_checks.append(self.authenticator.readiness)
        self.on_stop.append(self.authenticator.stop)
        if self.spec.outbox_collections:
            self._tasks.append(asyncio.create_task(self.relay.run_forever(), name="outbox-relay"))
        if self.spec.subscription:
            self.consumer = ReliableConsumer(
                self.settings,
                self.spec.subscription,
                Inbox(self.db),
                lambda applying: self.spec.unit_of_work(self, applying),
            )
            self._tasks.append(asyncio.create_task(self.consumer.run_forever(), name="consumer"))

    async def stop(self) -> None:
        for stop in self.on_stop:
            with contextlib.suppress(Exception):
                await stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._kafka_probe is not None:
            await self._kafka_probe.close()
        await self.client.close()

    async def _wait_for_database(self) -> None:
        """Block start-up until the database answers: indexes (uniqueness) come first."""
        delay = 0.5
        while True:
            try:
                await ping(self.client)
                return
            except Exception as exc:
                log.warning("database_unavailable_at_startup", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def check_database(self) -> str | None:
        try:
            await asyncio.wait_for(ping(self.client), 2)
            return None
        except Exception as exc:
            return f"base de datos: {type(exc).__name__}"

    async def check_kafka(self) -> str | None:
        try:
            if self._kafka_probe is None:
                self._kafka_probe = AIOKafkaClient(
                    bootstrap_servers=self.settings.kafka_bootstrap_servers,
                    client_id=f"articula-{self.settings.service_name}-readyz",
                    request_timeout_ms=2000,
                )
                await asyncio.wait_for(self._kafka_probe.bootstrap(), 3)
            await asyncio.wait_for(self._kafka_probe.fetch_all_metadata(), 3)
            return None
        except Exception as exc:
            if self._kafka_probe is not None:
                with contextlib.suppress(Exception):
                    await self._kafka_probe.close()
                self._kafka_probe = None
            return f"kafka: {type(exc).__name__}"


def plain_unit_of_work(runtime: Runtime, applying: Position | None) -> UnitOfWork:
    """The unit of work of a service that has no repositories of its own yet."""
    return UnitOfWork(runtime.outbox, applying=applying)


async def get_runtime(request: Request) -> Runtime:
    """The process's runtime (an `async` dependency: FastAPI runs plain ones in a worker thread,
    which cost the write path a fifth of its CPU in hand-offs, measured by `make bench`)."""
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(spec)
        app.state.runtime = runtime
        await runtime.start()
        log.info("service_started", host=settings.host, port=settings.port)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service_stopped")

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_tags=spec.openapi_tags or None,
        # Any route can answer 400 (unreadable body) and 500, always as problem+json.
        responses=problem_responses(400, 500),
    )
    install_problem_handlers(app)
    install_openapi(app)

    async def on_concurrent_modification(request: Request, exc: Exception) -> JSONResponse:
        problem = Problem(
            409,
            "El registro cambió mientras se procesaba su solicitud; vuelva a intentarlo.",
            slug="modificacion-concurrente",
        )
        return problem_response(problem, request.url.path)

    app.add_exception_handler(ConcurrentModification, on_concurrent_modification)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        problem = Problem(exc.status, exc.detail, slug=exc.slug, errors=exc.errors, **exc.extra)
        return problem_response(problem, request.url.path)

    app.add_exception_handler(DomainError, on_domain_error)
    # The last added runs first: the request id is bound before anything is measured.
    install_http_metrics(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(_health_router())
    for router in spec.routers:
        app.include_router(router)
    return app


_NOT_LOGGED = ("/metrics", "/healthz", "/readyz")


class RequestContextMiddleware:
    """Binds the request id (`X-Request-ID`, or a new one) in structlog's context variables,
    answers it in the `X-Request-ID` header, and logs one `http_request` line per request.

    Pure ASGI (no `BaseHTTPMiddleware`, which ran every request in a task of its own with
    memory streams): the endpoint runs in this very task and context, so it sees the id. What
    the endpoint binds (an organisation's id) is dropped again before the line is logged or an
    error goes up to Starlette's last-resort handler, as when it ran in a task of its own. An
    exception before the response starts goes up without the header or the line (the 500 is
    logged as `unhandled_error` by the problem handler, with the id).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=request_id)
            if status is not None:
                path = URL(scope=scope).path
                if path not in _NOT_LOGGED:
                    log.info("http_request", method=scope["method"], path=path, status=status)


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (ASGI gives the names in lower case)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _health_router() -> APIRouter:
    router = APIRouter(tags=["salud"])

    @router.get("/healthz", summary="El proceso está vivo")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Kafka y la base de datos responden",
        responses={
            503: {"description": "Kafka o la base de datos no responden, o el servicio aún carga"}
        },
    )
    async def readyz(request: Request) -> JSONResponse:
        runtime = await get_runtime(request)
        problems = [
            p for p in await asyncio.gather(runtime.check_database(), runtime.check_kafka()) if p
        ]
        problems += [p for check in runtime.readiness_checks if (p := check())]
        if problems:
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "Servicio no disponible",
                    "status": 503,
                    "detail": "Aún no está listo: " + ", ".join(problems),
                },
                status_code=503,
                media_type="application/problem+json",
            )
        return JSONResponse({"status": "ready"})

    return router
