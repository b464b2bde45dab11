"""FastAPI dependencies of the notifier: the unit of work, its settings, what sends, the time.
Who is calling (`Caller`, `Staff`, ...) is `shared.access`, as in every service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends

from services.notifier.dispatcher import Channels
from services.notifier.settings import NotifierSettings
from services.notifier.storage.unit_of_work import NotifierUnitOfWork
from shared.runtime import Runtime, get_runtime

__all__ = ["ChannelsDep", "Settings", "UoW", "now"]

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_unit_of_work(runtime: RuntimeDep) -> NotifierUnitOfWork:
    return NotifierUnitOfWork(runtime.outbox)


async def get_settings(runtime: RuntimeDep) -> NotifierSettings:
    settings = runtime.settings
    assert isinstance(settings, NotifierSettings)
    return settings


async def get_channels(runtime: RuntimeDep) -> Channels:
    channels = runtime.service
    assert isinstance(channels, Channels)
    return channels


UoW = Annotated[NotifierUnitOfWork, Depends(get_unit_of_work)]
Settings = Annotated[NotifierSettings, Depends(get_settings)]
ChannelsDep = Annotated[Channels, Depends(get_channels)]


def now() -> datetime:
    return datetime.now(UTC)
