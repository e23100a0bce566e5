"""Every check of a signed-in user's password (verify-password, change-password, delete-user,
change-email, two-factor settings, the pages doing the same) counts in the account lockout of
sign-in (``flows/sign_in.py``): guessing there locks sign-in too, a locked account answers 429
even to the right password, and each wrong try is audited as ``password-check-failed``."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from authkeeper.core.models import AuditEvent
from authkeeper.core.ports import AuditQuery
from authkeeper.core.settings import LockoutSettings
from tests.conftest import ORIGIN, TestApp
from tests.http._assertions import assert_error
from tests.http.test_rate_limit_and_lockout import CREDENTIALS, WRONG, assert_locked

pytestmark = pytest.mark.anyio

PASSWORD = CREDENTIALS["password"]
WRONG_PASSWORD = WRONG["password"]
NEW_PASSWORD = "a brand new passphrase"

# endpoint → (body with the wrong password, body with the right one)
GUARDED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "/verify-password": ({"password": WRONG_PASSWORD}, {"password": PASSWORD}),
    "/change-password": (
        {"currentPassword": WRONG_PASSWORD, "newPassword": NEW_PASSWORD},
        {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    ),
    "/delete-user": ({"password": WRONG_PASSWORD}, {"password": PASSWORD}),
    "/two-factor/enable": ({"password": WRONG_PASSWORD}, {"password": PASSWORD}),
}


async def audit_rows(app: TestApp, event: str) -> list[AuditEvent]:
    rows, _ = await app.auth.store.list_audit(AuditQuery(events=(event,), limit=500))  # type: ignore[attr-defined]
    return list(rows)


async def sign_in_with(app: TestApp, password: str) -> httpx.Response:
    client = app.new_client()
    try:
        return await client.post(
            app.api("/sign-in/email"), json={**CREDENTIALS, "password": password}, headers={"origin": ORIGIN}
        )
    finally:
        await client.aclose()


async def user_id(app: TestApp) -> str:
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    return user.id


@pytest.mark.parametrize("path", list(GUARDED))
async def test_guessing_a_signed_in_password_locks_the_account(db_url: str, make_app, path: str) -> None:  # type: ignore[no-untyped-def]
    """A stolen session cookie is no password oracle: 30 guesses, then the right password
    answers 429 as sign-in does, and sign-in is locked too."""
    app = await make_app(db_url=db_url, lockout=LockoutSettings())
    await app.sign_up()  # app.client holds the session
    uid = await user_id(app)
    wrong, right = GUARDED[path]
    codes = [(await app.post(path, wrong)).json()["code"] for _ in range(30)]
    assert codes == ["INVALID_PASSWORD"] * 5 + ["ACCOUNT_LOCKED"] * 25, codes
    assert_locked(await app.post(path, right))
    assert_locked(await sign_in_with(app, PASSWORD))
    # Nothing was done with the right password while locked.
    assert await app.auth.store.count_users() == 1
    user = await app.auth.store.find_user_by_id(uid)
    assert user is not None and not user.extra.get("twoFactorEnabled")
    account = await app.auth.store.find_account(uid, "credential")
    assert account is not None and await app.ctx.hasher.verify(account.password, PASSWORD)
    # The audit log: each failure with the endpoint it was tried on, never the password.
    endpoint = path.strip("/").replace("/", "-")
    failed = await audit_rows(app, "password-check-failed")
    assert len(failed) == 31
    assert {r.user_id for r in failed} == {uid}
    assert {r.details["endpoint"] for r in failed} == {endpoint}
    reasons = [r.details["reason_code"] for r in failed]
    assert reasons.count("INVALID_PASSWORD") == 5 and reasons.count("ACCOUNT_LOCKED") == 26
    assert all(PASSWORD not in str(r.details) and WRONG_PASSWORD not in str(r.details) for r in failed)
    (locked,) = await audit_rows(app, "account-locked")
    assert locked.user_id == uid and locked.details["email"] == "ann@example.com"
    assert 1 <= locked.details["retry_after"] <= 900


async def test_a_lock_from_sign_in_holds_for_a_signed_in_password_check(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(db_url=db_url)
    await app.sign_up()
    for _ in range(5):
        assert_error(await sign_in_with(app, WRONG_PASSWORD), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert_locked(await app.post("/verify-password", {"password": PASSWORD}))
    assert_locked(await app.post("/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}))


async def test_sign_in_and_password_checks_share_one_count(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(db_url=db_url)
    await app.sign_up()
    for _ in range(4):
        assert_error(await app.post("/verify-password", {"password": WRONG_PASSWORD}), 400, "INVALID_PASSWORD")
    assert (await app.post("/verify-password", {"password": PASSWORD})).status_code == 200  # clears the count
    for _ in range(4):
        assert_error(await sign_in_with(app, WRONG_PASSWORD), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert (await sign_in_with(app, PASSWORD)).status_code == 200  # 4 + 4 wrong would have locked
    for _ in range(3):
        assert_error(await sign_in_with(app, WRONG_PASSWORD), 401, "INVALID_EMAIL_OR_PASSWORD")
    for _ in range(2):
        assert_error(await app.post("/verify-password", {"password": WRONG_PASSWORD}), 400, "INVALID_PASSWORD")
    assert_locked(await sign_in_with(app, PASSWORD))


async def test_concurrent_wrong_passwords_never_exceed_max_failures_checks(
    db_url: str,
    make_app,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    app = await make_app(db_url=db_url)
    await app.sign_up()
    hasher = app.auth.ctx.hasher
    real_verify = hasher.verify
    checks = 0

    async def counting_verify(stored: str, password: str) -> bool:
        nonlocal checks
        checks += 1
        return await real_verify(stored, password)

    monkeypatch.setattr(hasher, "verify", counting_verify)
    results = await asyncio.gather(*[app.post("/verify-password", {"password": WRONG_PASSWORD}) for _ in range(20)])
    codes = sorted(r.json()["code"] for r in results)
    assert codes.count("INVALID_PASSWORD") == 5, codes
    assert codes.count("ACCOUNT_LOCKED") == 15, codes
    assert checks <= app.auth.settings.lockout.max_failures
    assert_locked(await app.post("/verify-password", {"password": PASSWORD}))


async def test_with_lockout_off_wrong_passwords_are_still_audited(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(lockout=dataclasses.replace(LockoutSettings(), enabled=False))
    await app.sign_up()
    for _ in range(8):
        assert_error(await app.post("/verify-password", {"password": WRONG_PASSWORD}), 400, "INVALID_PASSWORD")
    assert (await app.post("/verify-password", {"password": PASSWORD})).status_code == 200
    assert len(await audit_rows(app, "password-check-failed")) == 8
    assert await audit_rows(app, "account-locked") == []
