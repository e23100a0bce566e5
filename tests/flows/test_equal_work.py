"""Endpoints that must not reveal whether an address has an account do the same work either
way (Hardening II, item 5): the same store calls in the same order, and a mail queued the same
way (then dropped when nobody should get it). Checked structurally under a frozen clock; the
measured timings live in bench/, not in a timed test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from authkeeper.core.settings import RateLimitSettings
from tests.conftest import TestApp
from tests.flows._helpers import PASSWORD, Browser, Clock

pytestmark = pytest.mark.anyio


class Recording:
    """A store that records the name of every call (inside transactions too)."""

    def __init__(self, inner: Any, calls: list[str]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name == "transaction":

            @contextlib.asynccontextmanager
            async def tx() -> AsyncIterator[Recording]:
                self._calls.append("transaction")
                async with attr() as inner_tx:
                    yield Recording(inner_tx, self._calls)

            return tx
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(name)
            return attr(*args, **kwargs)

        return call


async def recorded(app: TestApp, action: Callable[[], Any]) -> tuple[list[str], int, int]:
    """The store calls ``action`` makes, the mail tasks it queued and the mails delivered."""
    calls: list[str] = []
    store = app.auth.ctx.store
    mail = app.auth.ctx.mail
    queued: list[bool] = []
    original = mail.send

    def send(message: Any, *, deliver: bool = True) -> None:
        queued.append(deliver)
        original(message, deliver=deliver)

    app.auth.ctx.store = Recording(store, calls)  # type: ignore[assignment]
    mail.send = send  # type: ignore[method-assign]
    try:
        r = await action()
        assert r.status_code == 200, r.text
    finally:
        app.auth.ctx.store = store
        mail.send = original  # type: ignore[method-assign]
    return calls, len(queued), sum(queued)


async def quiet_app(make_app: Callable[..., Any]) -> TestApp:
    app: TestApp = await make_app(rate_limit=RateLimitSettings(enabled=False))
    app.ctx.clock = Clock()
    return app


async def test_request_password_reset_does_the_same_work_for_unknown_addresses(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    await browser(app).sign_up()
    b = browser(app)

    def ask(email: str) -> Any:
        return lambda: b.post("/request-password-reset", {"email": email, "redirectTo": "/reset"})

    known, known_queued, known_sent = await recorded(app, ask("ann@example.com"))
    unknown, unknown_queued, unknown_sent = await recorded(app, ask("nobody@example.com"))
    assert known == unknown, (known, unknown)
    assert "create_verification" in known
    assert (known_queued, unknown_queued) == (1, 1)
    assert (known_sent, unknown_sent) == (1, 0)
    assert [m.subject for m in app.mails("nobody@example.com")] == []


async def test_change_email_to_a_taken_address_does_the_same_work(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    await browser(app).sign_up("bob@example.com")
    ann = browser(app)
    await ann.sign_up()

    def change(email: str) -> Any:
        return lambda: ann.post("/change-email", {"newEmail": email, "password": PASSWORD})

    free, free_queued, free_sent = await recorded(app, change("new@example.com"))
    taken, taken_queued, taken_sent = await recorded(app, change("bob@example.com"))
    assert free == taken, (free, taken)
    assert "create_verification" in free
    assert (free_queued, taken_queued) == (1, 1)
    assert (free_sent, taken_sent) == (1, 0)
    assert not any("Confirm your new email" in m.subject for m in app.mails("bob@example.com"))


async def test_a_decoy_reset_token_resets_nothing(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    """The row an unknown address gets points at no user: even if its token leaked, it resets nothing."""
    app = await quiet_app(make_app)
    r = await browser(app).post("/request-password-reset", {"email": "nobody@example.com"})
    assert r.status_code == 200
    import sqlalchemy as sa

    engine = sa.create_engine(str(app.auth.settings.database.url))
    with engine.connect() as conn:
        identifiers = [row[0] for row in conn.execute(sa.text("select identifier from verification"))]
    engine.dispose()
    assert len(identifiers) == 1 and identifiers[0].startswith("reset-password:")
    token = identifiers[0].removeprefix("reset-password:")
    r = await browser(app).post("/reset-password", {"token": token, "newPassword": "another fine passphrase"})
    assert r.status_code >= 400 and r.status_code < 500, r.text
    assert await app.ctx.store.count_users() == 0
