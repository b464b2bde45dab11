"""Notifier app factory (`uvicorn --factory services.notifier.main:create_app`)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from fastapi import FastAPI

from services.notifier import mailing, webhooks
from services.notifier.api import feeds, notifications
from services.notifier.api import subscriptions as subscription_routes
from services.notifier.application import REMINDER_JOB
from services.notifier.consumers import subscription
from services.notifier.dispatcher import Channels, Dispatcher, JobHandler
from services.notifier.mailer import SmtpMailer
from services.notifier.reminders import expand_reminder
from services.notifier.settings import NotifierSettings
from services.notifier.storage.deliveries import DELIVERIES
from services.notifier.storage.messages import MAIL_JOB, MESSAGES
from services.notifier.storage.subscriptions import SUBSCRIPTIONS
from services.notifier.storage.unit_of_work import NotifierUnitOfWork, notifier_unit_of_work
from shared import access
from shared.runtime import Runtime, ServiceSpec, create_service_app

# What each kind of job on the schedule is.
JOB_HANDLERS: dict[str, JobHandler] = {
    MAIL_JOB: mailing.send_message,
    REMINDER_JOB: expand_reminder,
    webhooks.WEBHOOK_JOB: webhooks.deliver,
}


async def _on_startup(runtime: Runtime) -> Channels:
    settings = runtime.settings
    assert isinstance(settings, NotifierSettings)
    await NotifierUnitOfWork(runtime.outbox).ensure_indexes()
    channels = Channels(
        settings=settings,
        mailer=SmtpMailer(settings),
        # Redirects are not followed: a webhook's URL is checked, where it redirects is not.
        http=httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False, trust_env=False
        ),
    )
    dispatcher = Dispatcher(channels, lambda: NotifierUnitOfWork(runtime.outbox), JOB_HANDLERS)
    task = asyncio.create_task(dispatcher.run_forever(), name="dispatcher")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await channels.http.aclose()
        await channels.mailer.close()

    runtime.on_stop.append(stop)
    return channels


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        subscription=subscription,
        routers=[
            subscription_routes.router,
            feeds.router,
            notifications.router,
            access.router,
        ],
        # Its own events (`shared.events.notifier`) go out with these documents' writes.
        outbox_collections=[SUBSCRIPTIONS, DELIVERIES, MESSAGES],
        unit_of_work=notifier_unit_of_work,
        on_startup=_on_startup,
        settings=settings or NotifierSettings(),
        title="Articula · Notificaciones",
        description="Correo, webhooks firmados y feeds; suscripciones de financistas.",
    )
    return create_service_app(spec)
