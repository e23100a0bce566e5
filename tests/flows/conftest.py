"""Fixtures for the flow tests: the real SMTP server of ``tests/smtp.py`` and browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.conftest import TestApp
from tests.flows._helpers import Browser
from tests.smtp import smtp  # noqa: F401 - made available to every module here


@pytest.fixture
async def browser() -> AsyncIterator[Callable[..., Browser]]:
    """``browser(app)`` → a new :class:`Browser` (own cookie jar), closed after the test."""
    made: list[Browser] = []

    def open_browser(app: TestApp, **kw: Any) -> Browser:
        b = Browser(app, **kw)
        made.append(b)
        return b

    yield open_browser
    for b in made:
        await b.aclose()
