"""`python -m services.<name>` entry point: run the app under uvicorn with our logging."""

from __future__ import annotations

import uvicorn

from shared.logging import configure_logging
from shared.settings import ServiceSettings


def serve(app_factory: str, settings: ServiceSettings) -> None:
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,  # shared.logging configures JSON output
        access_log=False,
        timeout_graceful_shutdown=10,
    )
