from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EventsSettings(ServiceSettings):
    """`EVENTS_PORT`, `EVENTS_HOST`, `EVENTS_PUBLIC_URL`, `EVENTS_RETENTION_DAYS`; connection
    strings are shared (see ServiceSettings)."""

    model_config = SettingsConfigDict(env_prefix="EVENTS_", extra="ignore", populate_by_name=True)

    service_name: str = "events"
    port: int = 8002
    # Where people reach this service: the calendar links each encuentro to it.
    public_url: str = "http://127.0.0.1:8002"
    # Participants' personal data are erased this long after an encuentro's results.
    retention_days: float = 180
    # How often the service looks for encuentros whose participants are due for erasure.
    erasure_scan_seconds: float = 3600
