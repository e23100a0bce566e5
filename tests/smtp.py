"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, collecting every message it receives.

Use the ``smtp`` fixture, point the app at it with ``smtp.mail_settings()``, and wait for a
message with ``await smtp.wait_for(to, subject_contains=...)``. Mail leaves authkeeper in a
background task, so waiting is asynchronous: the sending task runs while the test waits.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest

from authkeeper.core.settings import MailSettings
from tests.conftest import free_port, need

_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message as the SMTP server saw it, parsed with the ``email`` package."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    to: str
    subject: str
    text: str
    html: str
    content_type: str
    raw: bytes

    @property
    def link(self) -> str | None:
        """The first http(s) URL in the plain-text part."""
        found = _LINK.search(self.text)
        return found.group(0) if found else None

    @property
    def links(self) -> list[str]:
        return _LINK.findall(self.text)


def parse_mail(mail_from: str, rcpt_tos: list[str], raw: bytes) -> ReceivedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return ReceivedMail(
        mail_from=mail_from,
        rcpt_tos=tuple(rcpt_tos),
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
        content_type=message.get_content_type(),
        raw=raw,
    )


class _Collector:
    """aiosmtpd handler: keeps each message; runs in the server's own thread."""

    def __init__(self, sink: SmtpServer) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self._sink._add(parse_mail(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"


class SmtpServer:
    """The running server and the messages it has received so far."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._controller: Any = None

    def _add(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def for_address(self, to: str, subject_contains: str | None = None) -> list[ReceivedMail]:
        """Messages whose envelope or To header names ``to`` (case-insensitive)."""
        to = to.strip().lower()
        found = []
        for m in self.messages:
            rcpts = {r.lower() for r in m.rcpt_tos} | {m.to.lower()}
            if to not in rcpts:
                continue
            if subject_contains is not None and subject_contains.lower() not in m.subject.lower():
                continue
            found.append(m)
        return found

    async def wait_for(self, to: str, subject_contains: str | None = None, timeout: float = 5) -> ReceivedMail:
        """The newest message to ``to`` (optionally with a subject containing the text),
        waiting up to ``timeout`` seconds for the first one; fails the test if none arrives."""
        return await self.wait_for_count(to, 1, subject_contains, timeout)

    async def wait_for_count(
        self, to: str, count: int, subject_contains: str | None = None, timeout: float = 5
    ) -> ReceivedMail:
        """Wait until ``count`` matching messages arrived; returns the newest."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.for_address(to, subject_contains)
            if len(found) >= count:
                return found[-1]
            if time.monotonic() > deadline:
                pytest.fail(
                    f"expected {count} mail(s) to {to!r} (subject ~ {subject_contains!r}) within {timeout}s; "
                    f"got {[(m.rcpt_tos, m.subject) for m in self.messages]}"
                )
            await asyncio.sleep(0.02)

    def mail_settings(self, **overrides: Any) -> MailSettings:
        """MailSettings sending through this server (with the dev outbox off)."""
        values: dict[str, Any] = {
            "backend": "smtp",
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_timeout": 5.0,
            "outbox": False,
        }
        values.update(overrides)
        return MailSettings(**values)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        last: Exception | None = None
        for _ in range(5):  # another process may grab the free port first
            port = free_port()
            controller = Controller(_Collector(self), hostname=self.host, port=port)
            try:
                controller.start()
            except Exception as exc:  # noqa: BLE001
                last = exc
                continue
            self.port, self._controller = port, controller
            return
        raise RuntimeError(f"could not start the SMTP server: {last!r}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 for one test."""
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        need("aiosmtpd is not installed (pip install -e '.[test]')")
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


async def settle(app: Any) -> None:
    """Wait until every mail the app has queued has been handed to the SMTP server."""
    await app.auth.ctx.mail.drain()
