"""revoke-other-sessions ends the other devices' sessions through the one path that ends
sessions (``sessions.end_all``): their trusted-device records go too, and only the caller's
own trusted device stays trusted (Hardening I, item 8)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TestApp

from .helpers import (
    COOKIE_SESSION,
    COOKIE_TRUST,
    EMAIL,
    PASSWORD,
    Enrolled,
    enroll,
    freeze,
    post,
    set_cookies,
    trusted_browser,
)

pytestmark = pytest.mark.anyio


async def trusted(app: TestApp, enrolled: Enrolled) -> tuple[httpx.AsyncClient, str]:
    """A trusted browser and the id of its trust record."""
    client, raw = await trusted_browser(app, enrolled)
    return client, app.ctx.signer.unsign(raw).split("!")[1]  # type: ignore[union-attr]


async def test_the_other_devices_are_no_longer_trusted_but_the_callers_is(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    mine, my_trust = await trusted(app, enrolled)
    clock.advance(30)
    stolen, stolen_trust = await trusted(app, enrolled)
    r = await post(mine, app, "/revoke-other-sessions")
    assert r.status_code == 200, r.text
    # The other device's session and trust are gone; mine stay.
    assert (await stolen.get(app.api("/get-session"))).json() is None
    assert (await mine.get(app.api("/get-session"))).json() is not None
    assert await app.auth.store.find_verification(stolen_trust, app.ctx.now()) is None
    kept = await app.auth.store.find_verification(my_trust, app.ctx.now())
    assert kept is not None
    # The other device must answer a challenge again, though it still holds its trust cookie.
    r = await post(stolen, app, "/sign-in/email", {"email": EMAIL, "password": PASSWORD})
    assert r.json().get("twoFactorRedirect") is True, r.text
    # Mine signs in without one.
    await post(mine, app, "/sign-out")
    r = await post(mine, app, "/sign-in/email", {"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200 and "twoFactorRedirect" not in r.json(), r.text
    assert COOKIE_SESSION in set_cookies(r)
    for client in (mine, stolen):
        await client.aclose()


async def test_a_trust_cookie_of_another_user_keeps_nothing(app: TestApp) -> None:
    """The kept record must be the caller's own: a cookie naming someone else's record (or a
    forged one) keeps none of the caller's records and touches none of the other user's."""
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    _, ann_trust = await trusted(app, enrolled)
    other = app.new_client()
    r = await post(other, app, "/sign-up/email", {"email": "bob@example.com", "password": PASSWORD, "name": "Bob"})
    assert r.status_code == 200, r.text
    forged = app.ctx.signer.sign_for_cookie(f"mac!{ann_trust}")
    other.cookies.set(COOKIE_TRUST, forged)
    r = await post(other, app, "/revoke-other-sessions")
    assert r.status_code == 200, r.text
    assert await app.auth.store.find_verification(ann_trust, app.ctx.now()) is not None
    await other.aclose()
