"""Rotating the server secret: with the old one in ``previous_secrets``, enrolled users keep
their authenticator apps and backup codes; without it, their sessions and codes are gone."""

from __future__ import annotations

import pytest

from tests.conftest import SECRET
from tests.plugins.two_factor.helpers import (
    EMAIL,
    challenged,
    code_now,
    enroll,
    freeze,
    post,
)

pytestmark = pytest.mark.anyio

NEW_SECRET = "a-brand-new-server-secret-of-enough-length-0123456789"


async def test_two_factor_survives_a_secret_rotation(make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    before = await make_app(db_url=url)
    clock = freeze(before)
    enrolled = await enroll(before, clock)

    after = await make_app(db_url=url, secret=NEW_SECRET, previous_secrets=(SECRET,))
    after.auth.ctx.clock = clock
    client = await challenged(after)
    r = await post(client, after, "/two-factor/verify-totp", {"code": code_now(after, enrolled.key)})
    assert r.status_code == 200, r.text
    assert (await client.get(after.api("/get-session"))).json()["user"]["email"] == EMAIL

    client = await challenged(after)
    r = await post(client, after, "/two-factor/verify-backup-code", {"code": enrolled.backup_codes[0]})
    assert r.status_code == 200, r.text
    # And a fresh code after the backup code still opens with the rotated secrets.
    clock.advance(30)
    client = await challenged(after)
    r = await post(client, after, "/two-factor/verify-totp", {"code": code_now(after, enrolled.key)})
    assert r.status_code == 200, r.text


async def test_without_the_previous_secret_the_factor_cannot_be_read(make_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'rotation.db'}"
    before = await make_app(db_url=url)
    clock = freeze(before)
    enrolled = await enroll(before, clock)

    after = await make_app(db_url=url, secret=NEW_SECRET)
    after.auth.ctx.clock = clock
    client = await challenged(after)
    r = await post(client, after, "/two-factor/verify-totp", {"code": code_now(after, enrolled.key)})
    # A server fault, said plainly and with a stable code (and one log line), not a traceback.
    assert r.status_code == 500
    assert r.json()["code"] == "TWO_FACTOR_SECRET_UNREADABLE"
    assert (await client.get(after.api("/get-session"))).json() is None
