"""The absolute session lifetime (Hardening II, item 11; OWASP ASVS 5 §7.3): the sliding
refresh never extends a session past ``created_at + session.absolute_lifetime``, and a session
past that bound is dead (deleted on sight) however recently it slid."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from authkeeper.core.changes import SessionUpdate
from authkeeper.core.models import iso, parse_iso
from authkeeper.core.settings import SessionSettings
from tests.conftest import TestApp, fast_settings
from tests.flows._helpers import PASSWORD, Browser, Clock, is_deletion, set_cookie

pytestmark = pytest.mark.anyio

COOKIE = "better-auth.session_token"
DAY = 86400


async def clocked_app(make_app: Callable[..., Any], clock: Clock, **overrides: Any) -> TestApp:
    app: TestApp = await make_app(**overrides)
    app.ctx.clock = clock
    return app


def max_age(r: httpx.Response) -> int | None:
    line = set_cookie(r, COOKIE)
    if line is None:
        return None
    found = re.search(r"Max-Age=(\d+)", line)
    assert found, line
    return int(found.group(1))


async def test_a_session_used_every_day_stops_at_30_days(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    t0 = clock.now
    app = await clocked_app(make_app, clock, db_url=db_url)  # 7-day sessions, 30-day cap
    cap = t0 + timedelta(seconds=30 * DAY)
    ann = browser(app)
    await ann.sign_up()
    token = (await ann.sign_in()).json()["token"]
    refreshed = 0
    for day in range(1, 30):
        clock.advance(DAY)
        r = await ann.get("/get-session")
        assert r.status_code == 200 and r.json() is not None, day
        expires = parse_iso(r.json()["session"]["expiresAt"])
        assert expires is not None and expires <= cap, day
        age = max_age(r)
        if age is not None:
            refreshed += 1
            assert clock.now + timedelta(seconds=age) <= cap, (day, age)
        # A bearer use slides the same session, within the same bound.
        r = await browser(app).get("/get-session", headers={"authorization": f"Bearer {token}"})
        age = max_age(r)
        assert age is None or clock.now + timedelta(seconds=age) <= cap, (day, age)
    assert refreshed >= 20  # it did slide, every day until the cap
    found = await app.auth.store.find_session(token)
    assert found is not None and found[0].expires_at == cap
    clock.now = cap  # day 30: the moment it ends, though it was used yesterday
    r = await ann.get("/get-session")
    assert r.status_code == 200 and r.json() is None
    assert is_deletion(set_cookie(r, COOKIE))
    assert await app.auth.store.find_session(token) is None  # deleted on sight


async def test_the_cap_is_exact_and_the_cookie_never_outlives_it(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    t0 = clock.now
    app = await clocked_app(
        make_app, clock, session=SessionSettings(expires_in=1000, update_age=100, absolute_lifetime=1500)
    )
    ann = browser(app)
    await ann.sign_up()
    clock.advance(600)  # refresh due: now + 1000 would be t0 + 1600, past the cap
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + timedelta(seconds=1500))
    assert max_age(r) == 900
    clock.advance(300)  # due again, but it cannot slide further: no write, no cookie
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + timedelta(seconds=1500))
    assert set_cookie(r, COOKIE) is None
    clock.now = t0 + timedelta(seconds=1499)
    assert await ann.session() is not None
    clock.now = t0 + timedelta(seconds=1500)
    assert await ann.session() is None


async def test_a_row_that_outlives_the_cap_is_dead_at_the_cap(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    """A row written before the cap existed (or under a longer one, or by Better Auth) may
    expire after it: the cap still ends it, and get-session never reports more."""
    clock = Clock()
    t0 = clock.now
    app = await clocked_app(
        make_app, clock, session=SessionSettings(expires_in=1000, update_age=100, absolute_lifetime=1500)
    )
    ann = browser(app)
    old = (await ann.sign_up()).json()["token"]
    await app.auth.store.update_session(old, SessionUpdate(expires_at=t0 + timedelta(days=365)))
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + timedelta(seconds=1500))
    clock.advance(1400)
    other = browser(app)
    await other.sign_in()  # a second, younger session of the same user
    clock.now = t0 + timedelta(seconds=1500)
    listed = (await other.get("/list-sessions")).json()
    assert len(listed) == 1 and listed[0]["token"] is not None  # only its own
    r = await ann.get("/get-session")
    assert r.json() is None and is_deletion(set_cookie(r, COOKIE))
    assert await app.auth.store.find_session(old) is None


async def test_absolute_lifetime_zero_means_no_cap(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    app = await clocked_app(
        make_app, clock, session=SessionSettings(expires_in=1000, update_age=100, absolute_lifetime=0)
    )
    ann = browser(app)
    await ann.sign_up()
    for _ in range(100):  # 50,000 s: far past any cap the settings could have
        clock.advance(500)
        assert await ann.session() is not None


async def test_a_rotation_that_needs_the_password_starts_a_new_session(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    """change-password (like two-factor enable and reauthenticate) issues a new session with
    its own creation time: it needs the password, so a stolen cookie alone cannot do it."""
    clock = Clock()
    t0 = clock.now
    app = await clocked_app(
        make_app, clock, session=SessionSettings(expires_in=1000, update_age=100, fresh_age=0, absolute_lifetime=1500)
    )
    ann = browser(app)
    await ann.sign_up()
    clock.advance(700)
    assert await ann.session() is not None  # slides to the cap, t0 + 1500
    clock.advance(700)
    r = await ann.post(
        "/change-password",
        {"currentPassword": PASSWORD, "newPassword": "another fine passphrase", "revokeOtherSessions": True},
    )
    assert r.status_code == 200 and r.json()["token"], r.text
    clock.now = t0 + timedelta(seconds=2000)
    assert await ann.session() is not None


def test_settings_problems_check_absolute_lifetime() -> None:
    def problems(**session: Any) -> list[str]:
        settings = fast_settings("sqlite:///x.db", session=SessionSettings(**session))
        return [p for p in settings.problems() if p.startswith("session.absolute_lifetime")]

    assert problems() == []
    assert problems(absolute_lifetime=0) == []
    assert problems(expires_in=1000, absolute_lifetime=1000) == []
    assert problems(expires_in=1000, absolute_lifetime=999)
    assert problems(absolute_lifetime=-1)
    assert SessionSettings().absolute_lifetime == 2_592_000
