"""Outgoing mail: a Mailer interface, console and SMTP mailers, and the dev outbox.

Every message has a plain-text and an HTML part. Links are built by the flows from the
configured base URL, never from a request's Host header.
"""

from __future__ import annotations

import asyncio
import html
import logging
import sys
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from .models import iso, utcnow
from .settings import MailSettings

log = logging.getLogger("authkeeper.mail")


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    text: str
    html: str
    url: str | None = None
    at: str = field(default_factory=lambda: iso(utcnow()) or "")


class Mailer(Protocol):
    async def send(self, message: Message) -> None: ...


class ConsoleMailer:
    """Prints each mail (with its link) to stderr: for development."""

    async def send(self, message: Message) -> None:
        print(
            f"\n--- mail to {message.to}: {message.subject}\n{message.text}\n---",
            file=sys.stderr,
            flush=True,
        )


class NullMailer:
    async def send(self, message: Message) -> None:
        return None


class SmtpMailer:
    """Sends through an SMTP server with aiosmtplib."""

    def __init__(self, settings: MailSettings) -> None:
        self._s = settings

    async def send(self, message: Message) -> None:
        import aiosmtplib

        email = EmailMessage()
        email["From"] = self._s.from_address
        email["To"] = message.to
        email["Subject"] = message.subject
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        await aiosmtplib.send(
            email,
            hostname=self._s.smtp_host,
            port=self._s.smtp_port,
            username=self._s.smtp_user,
            password=self._s.smtp_password,
            use_tls=self._s.smtp_security == "tls",
            start_tls=self._s.smtp_security == "starttls",
            timeout=self._s.smtp_timeout,
        )


class Outbox:
    """Development only: the last mails, readable at ``GET /__mailbox?to=EMAIL``."""

    def __init__(self, limit: int = 1000) -> None:
        self._messages: deque[Message] = deque(maxlen=limit)

    def add(self, message: Message) -> None:
        self._messages.append(message)

    def for_address(self, to: str) -> list[Message]:
        to = to.strip().lower()
        return [m for m in self._messages if m.to.lower() == to]

    def all(self) -> list[Message]:
        """Every mail kept, oldest first."""
        return list(self._messages)


class MailService:
    """Delivers messages in the background so a slow SMTP server never delays (or reveals
    anything through) a response; failures are logged without the message body."""

    def __init__(self, mailer: Mailer, outbox: Outbox | None = None) -> None:
        self.mailer = mailer
        self.outbox = outbox
        self._tasks: set[asyncio.Task[None]] = set()

    async def _deliver(self, message: Message) -> None:
        try:
            await self.mailer.send(message)
        except Exception as exc:  # noqa: BLE001 - a mail failure must not break the flow
            log.warning("mail to %s failed: %s", message.to, type(exc).__name__)

    async def _withhold(self, message: Message) -> None:
        return None

    def send(self, message: Message, *, deliver: bool = True) -> None:
        """Queue ``message``; the request goes on at once. ``deliver=False`` queues it the same
        way and then drops it: for the branch of a flow that must not reveal, by its work or
        its timing, that no mail goes out (a reset for an unknown address)."""
        if deliver and self.outbox is not None:
            self.outbox.add(message)
        job = self._deliver(message) if deliver else self._withhold(message)
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for mails in flight (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def build_mailer(settings: MailSettings) -> Mailer:
    if settings.backend == "smtp":
        return SmtpMailer(settings)
    if settings.backend == "none":
        return NullMailer()
    return ConsoleMailer()


_SMALL = "font-size:13px;color:#6b7280"


def _html(app: str, subject: str, *parts: str) -> str:
    """The one HTML layout of every mail: a heading, the given (already escaped) parts, and
    the app's name."""
    return (
        '<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1f2937;'
        'max-width:560px;margin:0 auto;padding:24px">'
        f'<h1 style="font-size:20px">{html.escape(subject)}</h1>{"".join(parts)}'
        f'<p style="{_SMALL}">— {html.escape(app)}</p></body></html>'
    )


def link_message(*, app: str, to: str, subject: str, intro: str, action: str, url: str, outro: str) -> Message:
    """A mail with one call to action, as text and HTML (every value escaped)."""
    text = f"{intro}\n\n{action}:\n{url}\n\n{outro}\n\n— {app}\n"
    e = html.escape
    body = _html(
        app,
        subject,
        f"<p>{e(intro)}</p>",
        f'<p><a href="{e(url, quote=True)}" style="display:inline-block;background:#4338ca;'
        f'color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">{e(action)}</a></p>',
        f'<p style="{_SMALL}">Or paste this link into your browser:<br>{e(url)}</p>',
        f'<p style="{_SMALL}">{e(outro)}</p>',
    )
    return Message(to=to, subject=subject, text=text, html=body, url=url)


def notice_message(*, app: str, to: str, subject: str, text: str) -> Message:
    """A mail with no link (e.g. telling the old address that the email changed)."""
    return Message(
        to=to, subject=subject, text=f"{text}\n\n— {app}\n", html=_html(app, subject, f"<p>{html.escape(text)}</p>")
    )


def code_message(*, app: str, to: str, subject: str, intro: str, code: str, outro: str) -> Message:
    """A mail carrying a one-time code on a line of its own (and no link)."""
    e = html.escape
    text = f"{intro}\n\n    {code}\n\n{outro}\n\n— {app}\n"
    body = _html(
        app,
        subject,
        f"<p>{e(intro)}</p>",
        '<p style="font-size:32px;font-weight:600;letter-spacing:6px;font-family:ui-monospace,monospace">'
        f"{e(code)}</p>",
        f'<p style="{_SMALL}">{e(outro)}</p>',
    )
    return Message(to=to, subject=subject, text=text, html=body)
