"""Wire differences with Better Auth 1.7.25 that the official client sees (Hardening I):
sign-up's malformed email, and the provider-token endpoints on the credential account, with
1.7's account selector (spec §7.2, §7.16)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import TestApp

pytestmark = pytest.mark.anyio


def error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert (r.status_code, r.json().get("code")) == (status, code), r.text
    body: dict[str, Any] = r.json()
    return body


async def test_sign_up_with_a_malformed_email_is_a_validation_error(app: TestApp) -> None:
    r = await app.post("/sign-up/email", {"email": "not an email", "password": "a fine passphrase", "name": "Ann"})
    assert error(r, 400, "VALIDATION_ERROR")["message"] == "[body.email] Invalid email address"
    assert await app.auth.store.count_users() == 0
    # sign-in keeps INVALID_EMAIL, as Better Auth does
    error(await app.sign_in("not an email"), 400, "INVALID_EMAIL")


async def credential_account(app: TestApp) -> str:
    await app.sign_up()
    accounts = (await app.get("/list-accounts")).json()
    assert [a["providerId"] for a in accounts] == ["credential"]
    return str(accounts[0]["id"])


@pytest.mark.parametrize("path", ["/get-access-token", "/refresh-token"])
async def test_provider_tokens_of_the_credential_account(app: TestApp, path: str) -> None:
    account_id = await credential_account(app)
    body = error(await app.post(path, {"accountId": account_id}), 400, "PROVIDER_NOT_SUPPORTED")
    assert body["message"] == "Provider credential is not supported."
    error(await app.post(path, {"accountId": "no-such-account"}), 400, "ACCOUNT_NOT_FOUND")
    error(await app.post(path, {"useAccountCookie": True}), 400, "ACCOUNT_NOT_FOUND")


async def test_account_info_of_the_credential_account(app: TestApp) -> None:
    account_id = await credential_account(app)
    error(await app.get("/account-info", params={"accountId": account_id}), 400, "PROVIDER_NOT_CONFIGURED")
    error(await app.get("/account-info", params={"accountId": "nope"}), 400, "ACCOUNT_NOT_FOUND")
    error(await app.get("/account-info"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "selection",
    [
        {},
        {"providerId": "credential"},  # the pre-1.7 selector
        {"accountId": "x", "providerId": "credential"},  # strict: no extra keys
        {"accountId": "x", "useAccountCookie": True},  # exactly one of the two
        {"useAccountCookie": False},
        {"accountId": 5},
        {"userId": "someone"},
    ],
)
async def test_the_selector_is_strict(app: TestApp, selection: dict[str, Any]) -> None:
    await credential_account(app)
    error(await app.post("/get-access-token", selection), 400, "VALIDATION_ERROR")


async def test_another_users_account_is_not_found(app: TestApp) -> None:
    bobs = await credential_account(app)
    other = app.new_client()
    r = await other.post(
        app.api("/sign-up/email"),
        headers={"origin": "http://testserver"},
        json={"email": "eve@example.com", "password": "a fine passphrase", "name": "Eve"},
    )
    assert r.status_code == 200
    r = await other.post(
        app.api("/get-access-token"),
        json={"accountId": bobs, "userId": "whoever"},
        headers={"origin": "http://testserver"},
    )
    error(r, 400, "ACCOUNT_NOT_FOUND")
    await other.aclose()
