"""Backup codes: Better Auth's stored format, single use (also under concurrency), regeneration."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.crypto import symmetric
from authkeeper.plugins.two_factor.store import plugin_store
from tests.conftest import TestApp

from .helpers import (
    COOKIE_2FA,
    COOKIE_SESSION,
    EMAIL,
    PASSWORD,
    audit_events,
    challenged,
    enroll,
    freeze,
    post,
    set_cookies,
    user_id,
)

pytestmark = pytest.mark.anyio


async def test_stored_encrypted_as_a_json_array(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    record = await plugin_store(app.auth.store).get_two_factor(await user_id(app))
    assert record is not None
    assert enrolled.backup_codes[0] not in record.backup_codes
    opened = symmetric.decrypt(app.ctx.secrets, record.backup_codes)
    assert opened == json.dumps(enrolled.backup_codes, separators=(",", ":"))


async def test_backup_code_at_sign_in_works_once(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    code = enrolled.backup_codes[3]
    client = await challenged(app)
    r = await post(client, app, "/two-factor/verify-backup-code", {"code": "nope0-nope0"})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_BACKUP_CODE")
    r = await post(client, app, "/two-factor/verify-backup-code", {"code": code})
    assert r.status_code == 200, r.text
    assert "Max-Age=0" in set_cookies(r)[COOKIE_2FA]
    assert (await client.get(app.api("/get-session"))).json()["user"]["email"] == EMAIL
    used = [e for e in await audit_events(app, uid) if e.event == "backup-code-used"]
    assert len(used) == 1 and used[0].details == {"remaining": 9}
    assert code not in json.dumps([e.details for e in await audit_events(app, uid)])
    sign_in = next(e for e in await audit_events(app, uid) if e.event == "sign-in")
    assert sign_in.details["second_factor"] == "backup-code"

    again = await challenged(app)
    r = await post(again, app, "/two-factor/verify-backup-code", {"code": code})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_BACKUP_CODE")
    # Typed without the dash: still accepted.
    r = await post(again, app, "/two-factor/verify-backup-code", {"code": enrolled.backup_codes[4].replace("-", "")})
    assert r.status_code == 200, r.text
    await client.aclose()
    await again.aclose()


async def test_one_code_ten_concurrent_requests(db_url: str, make_app: Callable[..., Any]) -> None:
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    code = enrolled.backup_codes[0]
    # Signed in: ten requests with the same code at once.
    results = await asyncio.gather(*[app.post("/two-factor/verify-backup-code", {"code": code}) for _ in range(10)])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [401] * 9, [r.text for r in results]
    # Ten browsers in ten challenges, all with the same code: one session.
    uid = await user_id(app)
    before = len(await app.auth.store.list_sessions(uid, app.ctx.now()))
    clients = [await challenged(app) for _ in range(10)]
    code = enrolled.backup_codes[1]
    results = await asyncio.gather(*[post(c, app, "/two-factor/verify-backup-code", {"code": code}) for c in clients])
    assert sorted(r.status_code for r in results) == [200] + [401] * 9, [r.text for r in results]
    assert len(await app.auth.store.list_sessions(uid, app.ctx.now())) == before + 1
    record = await plugin_store(app.auth.store).get_two_factor(uid)
    assert record is not None
    assert json.loads(symmetric.decrypt(app.ctx.secrets, record.backup_codes)) == enrolled.backup_codes[2:]
    used = [e for e in await audit_events(app, uid) if e.event == "backup-code-used"]
    assert len(used) == 2
    for c in clients:
        await c.aclose()


async def test_different_codes_concurrently_all_succeed(db_url: str, make_app: Callable[..., Any]) -> None:
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    results = await asyncio.gather(
        *[app.post("/two-factor/verify-backup-code", {"code": c}) for c in enrolled.backup_codes[:5]]
    )
    assert [r.status_code for r in results] == [200] * 5, [r.text for r in results]
    record = await plugin_store(app.auth.store).get_two_factor(await user_id(app))
    assert record is not None
    assert json.loads(symmetric.decrypt(app.ctx.secrets, record.backup_codes)) == enrolled.backup_codes[5:]


async def test_regenerating_invalidates_the_old_set(app: TestApp) -> None:
    clock = freeze(app)
    await app.sign_up("bob@example.com", PASSWORD)
    r = await app.post("/two-factor/generate-backup-codes", {"password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (400, "TWO_FACTOR_NOT_ENABLED")
    app.client.cookies.clear()
    enrolled = await enroll(app, clock)
    r = await app.post("/two-factor/generate-backup-codes", {"password": "wrong password!"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_PASSWORD")
    r = await app.post("/two-factor/generate-backup-codes", {"password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] is True and len(body["backupCodes"]) == 10
    assert not set(body["backupCodes"]) & set(enrolled.backup_codes)
    r = await app.post("/two-factor/verify-backup-code", {"code": enrolled.backup_codes[0]})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_BACKUP_CODE")
    r = await app.post("/two-factor/verify-backup-code", {"code": body["backupCodes"][0]})
    assert r.status_code == 200
    assert r.json()["token"] == enrolled.token  # signed in: the session stays


async def test_disable_session_closes_the_challenge_without_a_session(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client = await challenged(app)
    r = await post(
        client,
        app,
        "/two-factor/verify-backup-code",
        {"code": enrolled.backup_codes[0], "disableSession": True, "trustDevice": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["token"] is None and r.json()["user"]["email"] == EMAIL
    cookies = set_cookies(r)
    assert COOKIE_SESSION not in cookies and "better-auth.trust_device" not in cookies
    assert (await client.get(app.api("/get-session"))).json() is None
    await client.aclose()


async def test_backup_code_without_two_factor(app: TestApp) -> None:
    await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/verify-backup-code", {"code": "abcde-fghij"})
    assert (r.status_code, r.json()["code"]) == (400, "BACKUP_CODES_NOT_ENABLED")
