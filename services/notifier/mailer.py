"""Sending e-mail: the `Mailer` port and its SMTP adapter (aiosmtplib).

`SMTP_URL` says where: `smtp://host:port` (plain, upgraded with STARTTLS when
`NOTIFIER_SMTP_STARTTLS` is on) or `smtps://host:port` (implicit TLS), with credentials as the
URL's user and password. Locally it is Mailpit; in production any provider, one variable away.
"""

from __future__ import annotations

import asyncio
import contextlib
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from services.notifier.rendering import RenderedMail
from services.notifier.settings import NotifierSettings

__all__ = ["Mailer", "PermanentFailure", "SmtpMailer", "compose"]


class PermanentFailure(Exception):
    """The server refused the message for good (a rejected recipient): do not retry."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...


def compose(
    mail: RenderedMail, *, sender: str, to_name: str | None, to_email: str, message_id: str
) -> EmailMessage:
    """The MIME message: text and HTML alternatives, then attachments. The Message-ID is the
    message's own id, so a copy sent twice after a crash is recognisably the same message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((to_name or "", to_email))
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = f"<{message_id}@articula>"
    message["Content-Language"] = "es"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=attachment.params,
        )
    return message


class SmtpMailer:
    """Sends over a few SMTP connections kept open and reused (`NOTIFIER_SMTP_CONNECTIONS`):
    a connection per message costs a handshake (and with a real provider TLS and a login)
    each time. A connection the server closed while idle is replaced once, at once."""

    def __init__(self, settings: NotifierSettings) -> None:
        url = urlsplit(settings.smtp_url.get_secret_value())
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("SMTP_URL must be smtp://host:port or smtps://host:port")
        self.hostname = url.hostname
        self.implicit_tls = url.scheme == "smtps"
        self.port = url.port or (465 if self.implicit_tls else 25)
        self.username = unquote(url.username) if url.username else None
        self.password = unquote(url.password) if url.password else None
        self.start_tls = settings.smtp_starttls
        self.timeout = settings.smtp_timeout_seconds
        self.local_hostname = settings.smtp_local_hostname
        self._slots = asyncio.Semaphore(settings.smtp_connections)
        self._idle: list[aiosmtplib.SMTP] = []

    async def send(self, message: EmailMessage) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                try:
                    await client.send_message(message)
                except aiosmtplib.SMTPServerDisconnected:
                    client = await self._connect()  # it was closed while idle: once more
                    await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise PermanentFailure("recipient refused") from exc
            except BaseException:
                if client is not None:
                    client.close()  # a failed exchange leaves the connection in doubt
                raise
            self._idle.append(client)

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            with contextlib.suppress(Exception):
                await client.quit()

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            start_tls=self.start_tls,
            timeout=self.timeout,
            local_hostname=self.local_hostname,
        )
        await client.connect()  # EHLO, STARTTLS and the login, as configured
        return client
