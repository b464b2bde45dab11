from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EventsSettings(ServiceSettings):
    """`EVENTS_PORT`, `EVENTS_HOST`; connection strings are shared (see ServiceSettings)."""

    model_config = SettingsConfigDict(env_prefix="EVENTS_", extra="ignore", populate_by_name=True)

    service_name: str = "events"
    port: int = 8002
