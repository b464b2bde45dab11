from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# Standard Webhooks' suggested schedule, stretched to about three days: 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 14 h, 20 h, 24 h after the first attempt (76 h in all).
WEBHOOK_SCHEDULE_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
# SMTP failures: a relay that is down for a few hours still gets every message out.
MAIL_SCHEDULE_SECONDS = (10, 60, 300, 1800, 3600, 3 * 3600, 6 * 3600)


class NotifierSettings(ServiceSettings):
    """`NOTIFIER_*` settings; `SMTP_URL` and the connection strings are shared names.

    `SMTP_URL` is `smtp://[user:password@]host:port` (`smtps://` for implicit TLS); a real
    provider is that one variable plus `NOTIFIER_SMTP_STARTTLS=true`."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    service_name: str = "notifier"
    port: int = 8004
    public_url: str = "http://127.0.0.1:8004"  # feeds link to themselves with it

    smtp_url: SecretStr = Field(
        default=SecretStr("smtp://127.0.0.1:1025"), validation_alias=AliasChoices("SMTP_URL")
    )
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30
    smtp_connections: int = Field(default=4, ge=1)  # kept open and reused
    # The name the notifier gives in EHLO (without it aiosmtplib looks up this host's FQDN in
    # a worker thread for every connection).
    smtp_local_hostname: str = "articula.local"
    mail_from: str = "Articula <no-responder@articula.cl>"
    mail_retry_schedule_seconds: tuple[float, ...] = MAIL_SCHEDULE_SECONDS

    # Where the links in messages point (each service's public address).
    registry_public_url: str = "http://127.0.0.1:8001"
    events_public_url: str = "http://127.0.0.1:8002"
    metrics_public_url: str = "http://127.0.0.1:8003"
    # A web page that confirms a registration, if the deployment has one, e.g.
    # "https://articula.cl/confirmar?organizacion={organization_id}&token={token}"; without it
    # the message gives the token and the registry API call.
    confirmation_link: str | None = None

    # An event older than this plans no message (a replay after the database was lost must
    # not write about the past); a notifier down for less than this still sends everything.
    max_message_age_hours: float = 72
    # Reminders go this long before an encuentro starts ("the day before").
    reminder_lead_hours: float = 24

    webhook_retry_schedule_seconds: tuple[float, ...] = WEBHOOK_SCHEDULE_SECONDS
    webhook_timeout_seconds: float = 10
    # Webhook URLs must be https and resolve to public addresses; local runs and tests, whose
    # receivers listen on 127.0.0.1, allow http and loopback/private addresses with this.
    webhook_allow_private: bool = False
    # A rotated secret keeps signing beside the new one this long.
    secret_overlap_hours: float = 24

    # The dispatcher looks for due work at least this often (new work wakes it at once).
    dispatch_poll_seconds: float = 1.0
    dispatch_concurrency: int = Field(default=20, ge=1)
    # A claimed job is another process's again if not finished within this (a crash).
    dispatch_lease_seconds: float = 120
