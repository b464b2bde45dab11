"""The local mail server: a message sent over SMTP is there to read through Mailpit's API."""

from __future__ import annotations

import os
import uuid
from email.message import EmailMessage
from urllib.parse import urlsplit

import aiosmtplib
import pytest

from tests.harness.mailpit import MailpitClient

pytestmark = pytest.mark.integration

SMTP_URL = os.environ.get("SMTP_URL", "smtp://127.0.0.1:1025")

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Articula//tests//ES\r\nBEGIN:VEVENT\r\n"
    b"UID:encuentro-prueba@articula.cl\r\nDTSTAMP:20260315T120000Z\r\n"
    b"DTSTART:20260402T130000Z\r\nDTEND:20260402T170000Z\r\n"
    b"SUMMARY:Encuentro Macrozona Sur\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def test_a_message_with_text_html_and_an_ics_attachment_can_be_read_back() -> None:
    recipient = f"persona-{uuid.uuid4().hex[:12]}@example.cl"
    subject = "Invitación: Encuentro Macrozona Sur"
    message = EmailMessage()
    message["From"] = "Articula <no-responder@articula.cl>"
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content("Hola: te esperamos el 2 de abril en Temuco.\n")
    message.add_alternative(
        "<p>Hola: te esperamos el <b>2 de abril</b> en Temuco.</p>", subtype="html"
    )
    message.add_attachment(ICS, maintype="text", subtype="calendar", filename="encuentro.ics")

    smtp = urlsplit(SMTP_URL)
    # Any user and password are accepted, in plain text (no TLS): the local server's settings.
    await aiosmtplib.send(
        message,
        hostname=smtp.hostname or "127.0.0.1",
        port=smtp.port or 25,
        username="articula",
        password="local",
        start_tls=False,
        timeout=10,
    )

    async with MailpitClient() as mail:
        [summary] = await mail.wait_for(f"to:{recipient}")
        assert summary["Subject"] == subject
        full = await mail.message(summary["ID"])

        assert [a["Address"] for a in full["To"]] == [recipient]
        assert full["From"]["Address"] == "no-responder@articula.cl"
        assert full["Subject"] == subject
        assert "te esperamos el 2 de abril en Temuco" in full["Text"]
        assert "<b>2 de abril</b>" in full["HTML"]
        [attachment] = full["Attachments"]
        assert attachment["FileName"] == "encuentro.ics"
        assert attachment["ContentType"].startswith("text/calendar")
        assert await mail.attachment(summary["ID"], attachment["PartID"]) == ICS
