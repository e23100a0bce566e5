"""A signed-in user's own account over HTTP: profile, password, email change (over a real
SMTP server), deletion and linked accounts (spec §7.9–§7.12, §7.15, §7.16)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from authkeeper.core.models import Account
from authkeeper.core.ports import AuditQuery
from authkeeper.core.settings import UserSettings
from tests.conftest import ORIGIN, TestApp
from tests.flows._helpers import (
    PASSWORD,
    Browser,
    Clock,
    error_of,
    is_deletion,
    query_of,
    set_cookie,
)
from tests.smtp import SmtpServer, settle

pytestmark = pytest.mark.anyio

COOKIE = "better-auth.session_token"
NEW_PASSWORD = "a brand new passphrase"
CONFIRM = "Confirm your new email"
CHANGED = "Your email address was changed"


async def mail_app(make_app: Callable[..., Any], smtp: SmtpServer, **overrides: Any) -> TestApp:
    app: TestApp = await make_app(mail=smtp.mail_settings(), **overrides)
    return app


async def me(b: Browser) -> dict[str, Any]:
    session = await b.session()
    assert session is not None
    user: dict[str, Any] = session["user"]
    return user


# -- update-user --------------------------------------------------------------------------
async def test_update_user_changes_name_and_image(app: TestApp, browser: Callable[..., Browser]) -> None:
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/update-user", {"name": "Ann Smith", "image": "https://img.example.com/ann.png"})
    assert r.status_code == 200 and r.json() == {"status": True}
    user = await me(ann)
    assert (user["name"], user["image"]) == ("Ann Smith", "https://img.example.com/ann.png")
    assert user["updatedAt"] >= user["createdAt"]
    r = await ann.post("/update-user", {"image": None})
    assert r.status_code == 200, r.text
    assert (await me(ann))["image"] is None
    assert (await me(ann))["name"] == "Ann Smith"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"role": "admin"}, 400, "FIELD_NOT_ALLOWED"),
        ({"emailVerified": True}, 400, "FIELD_NOT_ALLOWED"),
        ({"banned": False}, 400, "FIELD_NOT_ALLOWED"),
        ({"twoFactorEnabled": True}, 400, "FIELD_NOT_ALLOWED"),
        ({"name": "Ann", "role": "admin"}, 400, "FIELD_NOT_ALLOWED"),
        ({"email": "other@example.com"}, 400, "EMAIL_CAN_NOT_BE_UPDATED"),
        ({"name": "x" * 256}, 400, "VALIDATION_ERROR"),
        ({"name": None}, 400, "VALIDATION_ERROR"),
    ],
)
async def test_update_user_refuses_what_it_may_not_change(
    app: TestApp, browser: Callable[..., Browser], body: dict[str, Any], status: int, code: str
) -> None:
    ann = browser(app)
    await ann.sign_up()
    before = await me(ann)
    error_of(await ann.post("/update-user", body), status, code)
    after = await me(ann)
    assert after == before
    assert after.get("role") == "user" and after["emailVerified"] is False


async def test_update_user_needs_fields_and_a_session(app: TestApp, browser: Callable[..., Browser]) -> None:
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/update-user", {})
    assert r.status_code == 400 and r.json()["message"] == "No fields to update"
    error_of(await browser(app).post("/update-user", {"name": "Mallory"}), 401, "UNAUTHORIZED")
    r = await ann.post("/update-user", {"name": "x" * 255})
    assert r.status_code == 200, r.text


# -- passwords ----------------------------------------------------------------------------
async def test_change_password_keeps_other_sessions_by_default(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone = browser(app), browser(app)
    await laptop.sign_up()
    await phone.sign_in()
    body = {"currentPassword": "not the passphrase", "newPassword": NEW_PASSWORD}
    error_of(await laptop.post("/change-password", body), 400, "INVALID_PASSWORD")
    error_of(
        await laptop.post("/change-password", {"currentPassword": PASSWORD, "newPassword": "short"}),
        400,
        "PASSWORD_TOO_SHORT",
    )
    error_of(
        await laptop.post("/change-password", {"currentPassword": PASSWORD, "newPassword": "ann@example.com"}),
        400,
        "PASSWORD_SAME_AS_EMAIL",
    )
    r = await laptop.post("/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["token"] is None and r.json()["user"]["email"] == "ann@example.com"
    assert set_cookie(r, COOKIE) is None
    assert await laptop.session() is not None and await phone.session() is not None
    fresh = browser(app)
    error_of(
        await fresh.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD}),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
    )
    await fresh.sign_in(password=NEW_PASSWORD)


async def test_change_password_can_revoke_every_other_session(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone = browser(app), browser(app)
    old_token = (await laptop.sign_up()).json()["token"]
    await phone.sign_in()
    r = await laptop.post(
        "/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": True}
    )
    assert r.status_code == 200, r.text
    new_token = r.json()["token"]
    assert isinstance(new_token, str) and len(new_token) == 32 and new_token != old_token
    line = set_cookie(r, COOKIE)
    assert line is not None and line.startswith(f"{COOKIE}={new_token}.")
    assert r.headers["set-auth-token"].startswith(new_token + ".")
    assert await phone.session() is None
    session = await laptop.session()
    assert session is not None and session["session"]["token"] == new_token
    assert await app.auth.store.find_session(old_token) is None
    assert len((await laptop.get("/list-sessions")).json()) == 1


async def test_verify_password(app: TestApp, browser: Callable[..., Browser]) -> None:
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/verify-password", {"password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"status": True}
    error_of(await ann.post("/verify-password", {"password": "not the passphrase"}), 400, "INVALID_PASSWORD")
    error_of(await ann.post("/verify-password", {"password": "x" * 200}), 400, "PASSWORD_TOO_LONG")
    error_of(await browser(app).post("/verify-password", {"password": PASSWORD}), 401, "UNAUTHORIZED")


# -- change-email -------------------------------------------------------------------------
async def test_change_email_takes_effect_only_when_the_new_address_confirms(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url)
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/change-email", {"newEmail": "Ann.New@Example.com", "callbackURL": "/settings"})
    assert r.status_code == 200 and r.json() == {"status": True}

    mail = await smtp.wait_for("ann.new@example.com", CONFIRM)
    assert mail.content_type == "multipart/alternative" and mail.html
    link = mail.link
    assert link is not None and link.startswith(f"{ORIGIN}/api/auth/verify-email?token=")
    assert query_of(link)["callbackURL"] == "/settings"
    await settle(app)
    assert smtp.for_address("ann@example.com", CHANGED) == []  # nothing to tell yet
    # Nothing changes before the link is followed.
    assert (await me(ann))["email"] == "ann@example.com"
    error_of(
        await browser(app).post("/sign-in/email", {"email": "ann.new@example.com", "password": PASSWORD}),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
    )

    r = await browser(app).follow(link)  # whoever opens the mail; no session needed
    assert r.status_code == 302 and r.headers["location"] == "/settings"
    user = await me(ann)
    assert user["email"] == "ann.new@example.com" and user["emailVerified"] is True
    notice = await smtp.wait_for("ann@example.com", CHANGED)
    assert "ann.new@example.com" in notice.text and notice.link is None and notice.html

    # The link is single-use.
    r = await browser(app).follow(link)
    assert r.status_code == 302 and r.headers["location"] == "/settings?error=INVALID_TOKEN"
    r = await browser(app).get("/verify-email", params={"token": query_of(link)["token"]})
    error_of(r, 401, "INVALID_TOKEN")

    await browser(app).sign_in("ann.new@example.com")
    error_of(
        await browser(app).post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD}),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
    )


async def test_the_confirmation_json_answer_without_a_callback(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    ann = browser(app)
    await ann.sign_up()
    assert (await ann.post("/change-email", {"newEmail": "ann.new@example.com"})).status_code == 200
    link = (await smtp.wait_for("ann.new@example.com", CONFIRM)).link
    assert link is not None
    r = await browser(app).get("/verify-email", params={"token": query_of(link)["token"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True and r.json()["user"]["email"] == "ann.new@example.com"


async def test_change_email_to_a_taken_address_looks_like_success_and_sends_nothing(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    ann, bob = browser(app), browser(app)
    await ann.sign_up()
    await bob.sign_up("bob@example.com", name="Bob")
    await settle(app)
    bob_mails = len(smtp.for_address("bob@example.com"))
    taken = await ann.post("/change-email", {"newEmail": "bob@example.com"})
    free = await ann.post("/change-email", {"newEmail": "ann.other@example.com"})
    assert taken.status_code == free.status_code == 200
    assert taken.json() == free.json() == {"status": True}
    await settle(app)
    assert len(smtp.for_address("bob@example.com")) == bob_mails
    assert len(smtp.for_address("ann.other@example.com", CONFIRM)) == 1
    assert (await me(ann))["email"] == "ann@example.com"
    assert (await me(bob))["email"] == "bob@example.com"


async def test_an_address_taken_before_the_click_is_not_stolen(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url)
    ann, bob = browser(app), browser(app)
    await ann.sign_up()
    assert (await ann.post("/change-email", {"newEmail": "shared@example.com"})).status_code == 200
    link = (await smtp.wait_for("shared@example.com", CONFIRM)).link
    assert link is not None
    await bob.sign_up("shared@example.com", name="Bob")
    r = await browser(app).follow(link)
    assert r.status_code == 302
    assert r.headers["location"] == "/?error=USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
    assert (await me(ann))["email"] == "ann@example.com"
    assert (await me(bob))["email"] == "shared@example.com"


async def test_change_email_refusals(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/change-email", {"newEmail": " ANN@example.com"})
    assert r.status_code == 400 and r.json()["message"] == "Email is the same"
    error_of(await ann.post("/change-email", {"newEmail": "not an email"}), 400, "INVALID_EMAIL")
    error_of(
        await ann.post("/change-email", {"newEmail": "x@example.com", "callbackURL": "https://evil.example/"}),
        403,
        "INVALID_CALLBACK_URL",
    )
    error_of(await browser(app).post("/change-email", {"newEmail": "x@example.com"}), 401, "UNAUTHORIZED")
    await settle(app)
    assert smtp.for_address("x@example.com") == []
    disabled = await mail_app(make_app, smtp, user=UserSettings(change_email_enabled=False))
    b = browser(disabled)
    await b.sign_up("carol@example.com", name="Carol")
    error_of(await b.post("/change-email", {"newEmail": "carol.new@example.com"}), 400, "CHANGE_EMAIL_DISABLED")


async def test_change_email_with_a_stale_session_needs_the_password(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    """A stolen old cookie alone cannot move the account to the thief's address: past
    ``session.fresh_age`` the current password must come along (and counts in the lockout)."""
    clock = Clock()
    app = await make_app(db_url=db_url)
    app.ctx.clock = clock
    ann, bob = browser(app), browser(app)
    await ann.sign_up()
    await bob.sign_up("bob@example.com", name="Bob")
    clock.advance(86400 + 1)

    def confirmations(to: str) -> list[Any]:
        return [m for m in app.mails(to) if CONFIRM in m.subject]

    # The cookie alone: refused, for a free and a taken address alike (no enumeration).
    error_of(await ann.post("/change-email", {"newEmail": "thief@example.com"}), 403, "SESSION_NOT_FRESH")
    error_of(await ann.post("/change-email", {"newEmail": "bob@example.com"}), 403, "SESSION_NOT_FRESH")
    # A wrong password: refused, audited and counted with sign-in's failures.
    error_of(
        await ann.post("/change-email", {"newEmail": "thief@example.com", "password": "not the passphrase"}),
        400,
        "INVALID_PASSWORD",
    )
    error_of(
        await ann.post("/change-email", {"newEmail": "bob@example.com", "password": "not the passphrase"}),
        400,
        "INVALID_PASSWORD",
    )
    await settle(app)
    assert confirmations("thief@example.com") == [] and confirmations("bob@example.com") == []
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    failed, _ = await app.auth.store.list_audit(AuditQuery(events=("password-check-failed",)))
    assert [(r.user_id, r.details["endpoint"]) for r in failed] == [(user.id, "change-email")] * 2
    for _ in range(3):
        error_of(
            await browser(app).post("/sign-in/email", {"email": "ann@example.com", "password": "wrong"}),
            401,
            "INVALID_EMAIL_OR_PASSWORD",
        )
    error_of(
        await ann.post("/change-email", {"newEmail": "ann.new@example.com", "password": PASSWORD}),
        429,
        "ACCOUNT_LOCKED",
    )
    clock.advance(901)  # the lock lifts
    # The right password stands in for freshness: the mail goes.
    r = await ann.post("/change-email", {"newEmail": "ann.new@example.com", "password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"status": True}
    r = await ann.post("/change-email", {"newEmail": "bob@example.com", "password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"status": True}  # taken: the same answer, no mail
    await settle(app)
    assert len(confirmations("ann.new@example.com")) == 1 and confirmations("bob@example.com") == []
    assert confirmations("thief@example.com") == []
    # A fresh session needs no password, as before; a wrong one given is still refused.
    await ann.sign_in()
    r = await ann.post("/change-email", {"newEmail": "ann.other@example.com"})
    assert r.status_code == 200 and r.json() == {"status": True}
    error_of(
        await ann.post("/change-email", {"newEmail": "ann.third@example.com", "password": "not the passphrase"}),
        400,
        "INVALID_PASSWORD",
    )
    await settle(app)
    assert len(confirmations("ann.other@example.com")) == 1 and confirmations("ann.third@example.com") == []
    assert (await me(ann))["email"] == "ann@example.com"


# -- delete-user --------------------------------------------------------------------------
async def test_delete_user_with_the_password(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone = browser(app), browser(app)
    await laptop.sign_up()
    await phone.sign_in()
    error_of(await laptop.post("/delete-user", {"password": "not the passphrase"}), 400, "INVALID_PASSWORD")
    assert await app.auth.store.count_users() == 1
    r = await laptop.post("/delete-user", {"password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"success": True, "message": "User deleted"}
    assert is_deletion(set_cookie(r, COOKIE))
    assert await app.auth.store.count_users() == 0
    assert await laptop.session() is None and await phone.session() is None
    error_of(
        await browser(app).post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD}),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
    )


async def test_delete_user_without_a_password_needs_a_fresh_session(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    app = await make_app()
    app.ctx.clock = clock
    ann, bob = browser(app), browser(app)
    await ann.sign_up()
    await bob.sign_up("bob@example.com", name="Bob")
    clock.advance(86400 + 1)
    r = await ann.post("/delete-user", {})
    body = error_of(r, 400, "SESSION_EXPIRED")
    assert body["message"] == "Session expired. Re-authenticate to perform this action."
    assert await app.auth.store.count_users() == 2
    r = await ann.post("/delete-user", {"password": PASSWORD})  # the password stands in for freshness
    assert r.status_code == 200, r.text
    await bob.sign_in("bob@example.com")  # a new, fresh session
    r = await bob.post("/delete-user", {})
    assert r.status_code == 200 and r.json()["message"] == "User deleted"
    assert await app.auth.store.count_users() == 0


async def test_delete_user_confirmed_by_a_mailed_link(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url, user=UserSettings(delete_confirm_by_email=True))
    ann, bob = browser(app), browser(app)
    await ann.sign_up()
    await bob.sign_up("bob@example.com", name="Bob")
    error_of(await ann.post("/delete-user", {"password": "not the passphrase"}), 400, "INVALID_PASSWORD")
    r = await ann.post("/delete-user", {"password": PASSWORD, "callbackURL": "/goodbye"})
    assert r.status_code == 200 and r.json() == {"success": True, "message": "Verification email sent"}
    assert await app.auth.store.count_users() == 2
    mail = await smtp.wait_for("ann@example.com", "Confirm account deletion")
    assert mail.html and mail.link is not None
    link = mail.link
    assert (
        link.startswith(f"{ORIGIN}/api/auth/delete-user/callback?token=")
        and query_of(link)["callbackURL"] == "/goodbye"
    )

    error_of(await browser(app).follow(link), 404, "FAILED_TO_GET_USER_INFO")  # needs the user's session
    error_of(await bob.follow(link), 404, "INVALID_TOKEN")  # another user's session
    assert await app.auth.store.count_users() == 2 and await bob.session() is not None

    r = await ann.follow(link)
    assert r.status_code == 302 and r.headers["location"] == "/goodbye"
    assert is_deletion(set_cookie(r, COOKIE))
    assert await app.auth.store.find_user_by_email("ann@example.com") is None
    assert await app.auth.store.find_user_by_email("bob@example.com") is not None


async def test_a_delete_link_works_once(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, user=UserSettings(delete_confirm_by_email=True))
    ann = browser(app)
    await ann.sign_up()
    assert (await ann.post("/delete-user", {})).json()["message"] == "Verification email sent"
    link = (await smtp.wait_for("ann@example.com", "Confirm account deletion")).link
    assert link is not None
    token = query_of(link)["token"]
    r = await ann.post("/delete-user", {"token": token})
    assert r.status_code == 200 and r.json() == {"success": True, "message": "User deleted"}
    # Same address, new account: the old link deletes nothing.
    again = browser(app)
    await again.sign_up()
    error_of(await again.follow(link), 404, "INVALID_TOKEN")
    error_of(await again.post("/delete-user", {"token": token}), 400, "INVALID_TOKEN")
    assert await app.auth.store.count_users() == 1


async def test_delete_user_can_be_turned_off(make_app: Callable[..., Any], browser: Callable[..., Browser]) -> None:
    app = await make_app(user=UserSettings(delete_user_enabled=False))
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/delete-user", {"password": PASSWORD})
    assert r.status_code == 404
    assert await app.auth.store.count_users() == 1


# -- accounts -----------------------------------------------------------------------------
async def test_list_accounts_shows_the_credential_account_without_secrets(
    app: TestApp, browser: Callable[..., Browser]
) -> None:
    ann = browser(app)
    user_id = (await ann.sign_up()).json()["user"]["id"]
    r = await ann.get("/list-accounts")
    assert r.status_code == 200, r.text
    (account,) = r.json()
    assert set(account) == {"id", "providerId", "accountId", "userId", "createdAt", "updatedAt", "scopes"}
    assert account["providerId"] == "credential"
    assert account["accountId"] == account["userId"] == user_id
    assert account["scopes"] == []
    assert "password" not in r.text and "argon2" not in r.text
    error_of(await browser(app).get("/list-accounts"), 401, "UNAUTHORIZED")


async def test_unlink_account_never_removes_the_last_one(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    ann, bob = browser(app), browser(app)
    user_id = (await ann.sign_up()).json()["user"]["id"]
    await bob.sign_up("bob@example.com", name="Bob")
    (credential,) = (await ann.get("/list-accounts")).json()
    error_of(await ann.post("/unlink-account", {"accountId": credential["id"]}), 400, "FAILED_TO_UNLINK_LAST_ACCOUNT")
    error_of(await ann.post("/unlink-account", {"accountId": "no-such-account"}), 400, "ACCOUNT_NOT_FOUND")
    bobs = (await bob.get("/list-accounts")).json()[0]["id"]
    error_of(await ann.post("/unlink-account", {"accountId": bobs}), 400, "ACCOUNT_NOT_FOUND")

    # A linked provider account (as social sign-in would add one).
    now = datetime.now(UTC)
    await app.auth.store.create_account(
        Account(
            id="githubaccountrow0000000000000001",
            account_id="gh-4242",
            provider_id="github",
            user_id=user_id,
            created_at=now,
            updated_at=now,
            scope="read:user,user:email",
        )
    )
    listed = (await ann.get("/list-accounts")).json()
    assert sorted(a["providerId"] for a in listed) == ["credential", "github"]
    github = next(a for a in listed if a["providerId"] == "github")
    assert github["scopes"] == ["read:user", "user:email"] and github["accountId"] == "gh-4242"
    r = await ann.post("/unlink-account", {"accountId": github["id"]})
    assert r.status_code == 200 and r.json() == {"status": True}
    assert [a["providerId"] for a in (await ann.get("/list-accounts")).json()] == ["credential"]
    error_of(await ann.post("/unlink-account", {"accountId": credential["id"]}), 400, "FAILED_TO_UNLINK_LAST_ACCOUNT")
    assert len((await bob.get("/list-accounts")).json()) == 1


async def test_unlink_account_needs_a_fresh_session(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    app = await make_app()
    app.ctx.clock = clock
    ann = browser(app)
    await ann.sign_up()
    (credential,) = (await ann.get("/list-accounts")).json()
    clock.advance(86400)
    error_of(await ann.post("/unlink-account", {"accountId": credential["id"]}), 403, "SESSION_NOT_FRESH")
