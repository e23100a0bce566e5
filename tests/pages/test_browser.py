"""The pages in a real browser: Debian's Chromium driven by Playwright against the real
server (uvicorn), mail through a real SMTP server. Every page is checked with axe-core
(no violations) and saved as a screenshot on a desktop and at 320 px wide, under
``tests/pages/artifacts/`` (git-ignored; ``AUTHKEEPER_SCREENSHOTS`` chooses another folder).

One browser for the module, a fresh context (cookie jar) per person."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from authkeeper.core.crypto import totp
from tests.conftest import ROOT, LiveServer, need, start_server, stop_server
from tests.smtp import ReceivedMail, SmtpServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = ROOT / "tests/js/node_modules/axe-core/axe.min.js"
ARTIFACTS = Path(os.environ.get("AUTHKEEPER_SCREENSHOTS") or Path(__file__).parent / "artifacts")
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
PASSWORD = "a fine passphrase"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LOOSE = {"window": 1, "max": 1000}


@dataclass
class Site:
    url: str
    smtp: SmtpServer

    def mail(self, to: str, subject: str, count: int = 1, timeout: float = 10) -> ReceivedMail:
        """The newest mail to ``to`` once ``count`` with this subject have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.smtp.for_address(to, subject)
            if len(found) >= count:
                return found[-1]
            if time.monotonic() > deadline:
                pytest.fail(f"no mail {subject!r} to {to}: {[(m.rcpt_tos, m.subject) for m in self.smtp.messages]}")
            time.sleep(0.05)

    def api_sign_up(self, email: str, name: str) -> None:
        r = httpx.post(
            f"{self.url}/api/auth/sign-up/email",
            json={"email": email, "password": PASSWORD, "name": name},
            headers={"origin": self.url},
        )
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        need("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("playwright is not installed (pip install -e '.[test]')")
    if not AXE.exists():
        need("axe-core is not installed (cd tests/js && npm ci)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    smtp = SmtpServer()
    smtp.start()
    rules = {
        path: LOOSE
        for path in (
            "/sign-in/*",
            "/sign-up/*",
            "/change-password",
            "/change-email",
            "/request-password-reset",
            "/two-factor/*",
        )
    }
    # One bucket stays tight, for the 429 page.
    rules["/send-verification-email"] = {"window": 600, "max": 2}
    server: LiveServer = start_server(
        tmp_path_factory.mktemp("pages"),
        env_extra={
            "AUTHKEEPER_MAIL": json.dumps(
                {"backend": "smtp", "smtp_host": smtp.host, "smtp_port": smtp.port, "outbox": False}
            ),
            "AUTHKEEPER_RATE_LIMIT": json.dumps({"max": 100000, "rules": rules}),
            "AUTHKEEPER_ADMIN": json.dumps({"admin_emails": ["admin@example.com"]}),
        },
    )
    yield Site(server.url, smtp)
    stop_server(server)
    smtp.stop()


def new_context(browser: Any, **kw: Any) -> Any:
    """A person's browser. ``bypass_csp`` lets the test inject axe-core (an inline script
    the pages' CSP would rightly refuse)."""
    return browser.new_context(viewport=DESKTOP, bypass_csp=True, **kw)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}))"""
    )


def look(page: Any, name: str) -> None:
    """axe-core finds nothing, at a desktop width and at 320 px; nothing is wider than a
    320 px screen; a screenshot of each."""
    for size, suffix in ((DESKTOP, ""), (NARROW, "-320")):
        page.set_viewport_size(size)
        violations = axe_violations(page)
        assert violations == [], f"{name}{suffix}: {json.dumps(violations, indent=1)}"
        if size is NARROW:
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= NARROW["width"], f"{name}: {overflow}px wide at 320px"
        page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def path_of(page: Any) -> str:
    url = page.url
    return url[url.index("/", len("http://")) :]


def sign_in(page: Any, site: Site, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{site.url}/sign-in")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("button:has-text('Sign in')")


def sign_up(page: Any, site: Site, email: str, name: str) -> None:
    page.goto(f"{site.url}/sign-up")
    page.fill("#f-name", name)
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("button:has-text('Create account')")
    assert path_of(page).startswith("/account"), page.url


def sign_out(page: Any) -> None:
    page.click("header button:has-text('Sign out')")
    assert path_of(page) == "/sign-in?notice=signed-out"


# -- the tests -----------------------------------------------------------------------------
def test_sign_up_verify_sign_in(browser: Any, site: Site) -> None:
    ctx = new_context(browser)
    page = ctx.new_page()
    page.goto(site.url)
    assert path_of(page) == "/sign-in"
    look(page, "sign-in")
    page.click("text=Create an account")
    assert path_of(page) == "/sign-up"
    look(page, "sign-up")
    page.fill("#f-name", "Ann Example")
    page.fill("#f-email", "ann@example.com")
    page.fill("#f-password", "short")
    page.click("button:has-text('Create account')")
    assert page.text_content("#f-password-error") == "Error: Use at least 8 characters."
    assert page.evaluate("document.activeElement.id") == "f-password"
    assert page.input_value("#f-name") == "Ann Example" and page.input_value("#f-password") == ""
    look(page, "sign-up-error")
    page.fill("#f-password", PASSWORD)
    page.click("button:has-text('Create account')")
    assert path_of(page) == "/account?notice=signed-up-verify"
    assert "Not confirmed" in page.text_content("main")
    look(page, "account")
    link = site.mail("ann@example.com", "Verify your email").link
    assert link and link.startswith(f"{site.url}/api/auth/verify-email?")
    page.goto(link)
    assert path_of(page) == "/verify-email"
    assert "Email address confirmed" in page.text_content("h1")
    look(page, "verify-email")
    page.goto(f"{site.url}/account")
    assert "Confirmed" in page.text_content(".kv")
    page.fill("#f-new_email", "ann@example.com")
    page.click("button:has-text('Send confirmation link')")
    assert page.text_content("#f-new_email-error") == "Error: That is already your email address."
    assert page.evaluate("document.activeElement.id") == "f-new_email"
    look(page, "account-error")
    page.goto(f"{site.url}/verify-email?error=TOKEN_EXPIRED")
    assert "This link has expired" in page.text_content(".lead")
    look(page, "verify-email-expired")
    page.goto(f"{site.url}/sign-out")
    look(page, "sign-out")
    page.goto(f"{site.url}/account")
    sign_out(page)
    look(page, "signed-out")
    sign_in(page, site, "ann@example.com")
    assert path_of(page) == "/account"
    ctx.close()


def test_sessions_revoke_and_change_password(browser: Any, site: Site) -> None:
    laptop = new_context(browser)
    phone = new_context(browser, user_agent=IPHONE)
    lp, pp = laptop.new_page(), phone.new_page()
    sign_up(lp, site, "sam@example.com", "Sam Session")
    sign_in(pp, site, "sam@example.com")
    assert path_of(pp) == "/account"
    lp.goto(f"{site.url}/account/sessions")
    rows = lp.locator("li.session")
    assert rows.count() == 2
    assert "This device" in rows.nth(0).text_content()
    assert "Safari 17 on iOS" in rows.nth(1).text_content() and "IP 127.0.0.1" in rows.nth(1).text_content()
    look(lp, "sessions")
    rows.nth(1).locator("button:has-text('Revoke')").click()
    assert path_of(lp) == "/account/sessions?notice=session-revoked"
    assert lp.locator("li.session").count() == 1
    pp.goto(f"{site.url}/account")
    assert path_of(pp) == "/sign-in?next=%2Faccount"
    # Confirming the password (asked for when a session is old) leads back where it was going.
    lp.goto(f"{site.url}/reauth?next=%2Faccount%2Fsessions")
    look(lp, "reauth")
    lp.fill("#f-password", PASSWORD)
    lp.click("button:has-text('Continue')")
    assert path_of(lp) == "/account/sessions"
    # The password, with "sign out my other devices".
    sign_in(pp, site, "sam@example.com")
    lp.goto(f"{site.url}/account/security")
    look(lp, "security")
    lp.fill("#f-current_password", PASSWORD)
    lp.fill("#f-new_password", "a different passphrase")
    lp.click("button:has-text('Change password')")
    assert "Your password is changed and your other devices are signed out." in lp.text_content(".notice")
    pp.goto(f"{site.url}/account")
    assert path_of(pp).startswith("/sign-in")
    sign_in(pp, site, "sam@example.com", "a different passphrase")
    assert path_of(pp) == "/account"
    laptop.close()
    phone.close()


def test_forgot_and_reset_password_through_the_mail(browser: Any, site: Site) -> None:
    site.api_sign_up("rita@example.com", "Rita Reset")
    ctx = new_context(browser)
    page = ctx.new_page()
    page.goto(f"{site.url}/sign-in")
    page.click("text=Forgot password?")
    look(page, "forgot-password")
    page.fill("#f-email", "rita@example.com")
    page.click("button:has-text('Send reset link')")
    assert "we sent it a link" in page.text_content(".notice")
    link = site.mail("rita@example.com", "Reset your password").link
    assert link
    page.goto(link)
    assert path_of(page).startswith("/reset-password?token=")
    look(page, "reset-password")
    page.fill("#f-password", "my new passphrase")
    page.click("button:has-text('Set new password')")
    assert path_of(page) == "/sign-in?notice=password-reset"
    sign_in(page, site, "rita@example.com", "my new passphrase")
    assert path_of(page) == "/account"
    page.goto(link)
    assert "This link does not work" in page.text_content("h1")
    look(page, "reset-password-used")
    ctx.close()


def _key(page: Any) -> bytes:
    encoded = page.text_content("code.secret-key").replace(" ", "")
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8))


def test_two_factor_setup_and_challenges(browser: Any, site: Site) -> None:
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_up(page, site, "tina@example.com", "Tina Totp")
    page.goto(f"{site.url}/account/security")
    page.fill("#f-tf_password", PASSWORD)
    page.click("button:has-text('Set up authenticator app')")
    assert page.locator("figure.qr svg").count() == 1
    look(page, "two-factor-setup")
    key = _key(page)
    backup = page.locator("ul.codes code").all_text_contents()
    assert len(backup) == 10
    page.fill("#f-code", totp.hotp(key, totp.time_step(time.time())))
    page.click("button:has-text('Turn on two-factor authentication')")
    assert path_of(page) == "/account/security?notice=two-factor-on"
    look(page, "security-two-factor-on")
    page.fill("#f-codes_password", PASSWORD)
    page.click("button:has-text('New backup codes')")
    fresh = page.locator("ul.codes code").all_text_contents()
    assert len(fresh) == 10 and not set(fresh) & set(backup)
    look(page, "backup-codes")
    backup = fresh
    # Next sign-in: the authenticator code.
    sign_out(page)
    sign_in(page, site, "tina@example.com")
    assert path_of(page) == "/two-factor"
    assert page.locator("text=Get a code by email").count() == 0  # no emailed codes enrolled
    look(page, "two-factor")
    # The next step's code (within the allowed drift): each code works once.
    page.fill("#f-code", totp.hotp(key, totp.time_step(time.time()) + 1))
    page.click("button:has-text('Verify')")
    assert path_of(page) == "/account"
    # Then a backup code, trusting this browser.
    sign_out(page)
    sign_in(page, site, "tina@example.com")
    page.click("text=Use a backup code")
    look(page, "two-factor-backup-code")
    page.fill("#f-code", backup[0])
    page.check("#f-trust")
    page.click("button:has-text('Verify')")
    assert path_of(page) == "/account"
    sign_out(page)
    sign_in(page, site, "tina@example.com")
    assert path_of(page) == "/account"  # a trusted device gets no challenge
    # Codes by email, beside the app.
    page.goto(f"{site.url}/account/security")
    page.fill("#f-tf_password", PASSWORD)
    page.click("button:has-text('Also accept codes by email')")
    assert path_of(page) == "/account/security?notice=two-factor-on"
    assert "or one we email you" in page.text_content("main")
    ctx.close()
    # Another browser is not trusted: a code by email.
    other = new_context(browser)
    page = other.new_page()
    sign_in(page, site, "tina@example.com")
    page.click("text=Get a code by email")
    page.click("button:has-text('Email me a code')")
    assert "We sent a code" in page.text_content(".notice")
    look(page, "two-factor-email-code")
    mail = site.mail("tina@example.com", "verification code")
    code = re.search(r"\b(\d{6})\b", mail.text).group(1)  # type: ignore[union-attr]
    page.fill("#f-code", code)
    page.click("button:has-text('Verify')")
    assert path_of(page) == "/account"
    other.close()


def test_admin_search_role_ban_and_impersonation(browser: Any, site: Site) -> None:
    for email, name in (
        ("bob@example.net", "Bob Builder"),
        ("carol@example.net", "Carol Customer"),
        ("dave@example.net", "Dave Developer"),
    ):
        site.api_sign_up(email, name)
    ctx = new_context(browser)
    page = ctx.new_page()
    sign_up(page, site, "admin@example.com", "Ada Admin")
    # admin_emails makes an admin only of a verified address.
    assert page.locator("nav >> text=Admin").count() == 0
    page.goto(site.mail("admin@example.com", "Verify your email").link)
    page.goto(f"{site.url}/account")
    page.click("nav >> text=Admin")
    assert path_of(page) == "/admin"
    look(page, "admin")
    page.fill("#q", "bob")
    page.click("button:has-text('Search')")
    names = page.locator("a.user-cell").all_text_contents()
    assert [n.split(maxsplit=1)[1].strip() for n in names] == ["Bob Builder"]
    page.click("text=Bob Builder")
    assert path_of(page).startswith("/admin/users/")
    bob_page = page.url
    look(page, "admin-user")
    page.select_option("#f-role", "moderator")
    page.click("button:has-text('Change role')")
    assert "The role is changed." in page.text_content(".notice")
    page.fill("#f-ban_reason", "spam links")
    page.select_option("#f-ban_duration", "86400")
    page.click("button:has-text('Ban user')")
    assert "banned" in page.text_content(".notice")
    assert "spam links" in page.text_content(".details")
    look(page, "admin-user-banned")
    bob = new_context(browser).new_page()
    sign_in(bob, site, "bob@example.net")
    assert "banned" in bob.text_content("[role=alert]")
    # Filters find him as a banned moderator.
    page.goto(f"{site.url}/admin?status=banned&role=moderator")
    assert page.locator("a.user-cell").count() == 1
    page.goto(bob_page)
    page.click("button:has-text('Lift the ban')")
    sign_in(bob, site, "bob@example.net")
    assert path_of(bob) == "/account"
    # Act as Carol: a banner on every page until it stops.
    page.goto(f"{site.url}/admin?q=carol")
    page.click("text=Carol Customer")
    page.click("button:has-text('Act as this user')")
    assert path_of(page) == "/account"
    assert "You are acting as Carol Customer" in page.text_content(".impersonation")
    look(page, "impersonating")
    page.goto(f"{site.url}/account/security")
    assert page.locator(".impersonation").count() == 1
    page.click("button:has-text('Stop impersonating')")
    assert "You are back in your own account." in page.text_content(".notice")
    assert page.locator(".impersonation").count() == 0
    ctx.close()
    # A user without admin rights gets the 403 page.
    dave = new_context(browser).new_page()
    sign_in(dave, site, "dave@example.net")
    response = dave.goto(f"{site.url}/admin")
    assert response is not None and response.status == 403
    look(dave, "forbidden")
    dave.context.close()
    bob.context.close()


def test_without_javascript(browser: Any, site: Site) -> None:
    """The same journeys with JavaScript off, under the pages' real CSP."""
    ctx = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = ctx.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    sign_up(page, site, "nojs@example.com", "No Script")
    assert page.text_content("h1") == "Account settings"
    sign_out(page)
    sign_in(page, site, "nojs@example.com", "wrong password")
    assert "do not match" in page.text_content("[role=alert]")
    assert page.input_value("#f-email") == "nojs@example.com" and page.input_value("#f-password") == ""
    page.fill("#f-password", PASSWORD)
    page.click("button:has-text('Sign in')")
    assert path_of(page) == "/account"
    page.goto(f"{site.url}/account/sessions")
    assert page.locator("li.session").count() == 1
    # The stylesheet applies under the CSP: the sign-in button spans the card.
    sign_out(page)
    button = page.locator("button:has-text('Sign in')").bounding_box()
    card = page.locator(".auth-card").bounding_box()
    assert button and card and button["width"] > card["width"] * 0.8
    assert refused == []
    ctx.close()


def test_error_pages(browser: Any, site: Site) -> None:
    ctx = new_context(browser)
    page = ctx.new_page()
    response = page.goto(f"{site.url}/no/such/page")
    assert response is not None and response.status == 404
    assert page.text_content("h1") == "Page not found"
    look(page, "not-found")
    page.goto(f"{site.url}/verify-email/resend")
    look(page, "verify-resend")
    for _ in range(3):
        page.goto(f"{site.url}/verify-email/resend")
        page.fill("#f-email", "nobody@example.com")
        page.click("button:has-text('Send link')")
    # The form again, with the address kept and the time to wait.
    assert page.input_value("#f-email") == "nobody@example.com"
    assert re.search(r"Try again in (9|10) minutes\.", page.text_content("#resend-error") or "")
    look(page, "too-many-requests")
    ctx.close()


LONG_ISSUER = "Northwind Traders Customer Accounts (Staging)"
LONG_EMAIL = "alexandra.konstantinopoulou-vanderberg+security@accounts.northwind-traders.example.co.uk"


def _decoded_qr(page: Any) -> list[str]:
    """The QR codes a scanner finds in a screenshot of what the browser shows."""
    import io

    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    shot = image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
    return [code.text for code in zxingcpp.read_barcodes(shot, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_two_factor_qr_code_scans_at_every_width(browser: Any, tmp_path: Path) -> None:
    """The QR code of the longest realistic issuer and address, decoded from a screenshot at
    320 px and on a desktop, is the otpauth URI the page offers to type by hand."""
    smtp = SmtpServer()
    smtp.start()
    server = start_server(
        tmp_path,
        env_extra={
            "AUTHKEEPER_MAIL": json.dumps(
                {"backend": "smtp", "smtp_host": smtp.host, "smtp_port": smtp.port, "outbox": False}
            ),
            "AUTHKEEPER_TWO_FACTOR__ISSUER": LONG_ISSUER,
        },
    )
    try:
        site = Site(server.url, smtp)
        ctx = new_context(browser)
        page = ctx.new_page()
        sign_up(page, site, LONG_EMAIL, "Alexandra Konstantinopoulou-Vanderberg")
        page.goto(f"{site.url}/account/security")
        page.fill("#f-tf_password", PASSWORD)
        page.click("button:has-text('Set up authenticator app')")
        uri = page.get_attribute("input[name=totp_uri]", "value")
        assert uri and uri.startswith("otpauth://totp/") and "Northwind" in uri and "konstantinopoulou" in uri
        for size, suffix in ((NARROW, "-320"), (DESKTOP, "")):
            page.set_viewport_size(size)
            svg = page.locator("figure.qr svg").bounding_box()
            assert svg and svg["width"] >= 150, svg
            assert _decoded_qr(page) == [uri], suffix
            page.screenshot(path=str(ARTIFACTS / f"two-factor-setup-long{suffix}.png"), full_page=True)
        assert page.locator("figure.qr svg").get_attribute("viewBox"), "without a viewBox CSS sizing clips the code"
        ctx.close()
    finally:
        stop_server(server)
        smtp.stop()


# -- the first hour: the admin audit view and unlocking (items 9, 10) ------------------------
PHONE = {"width": 390, "height": 844}
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68"
)


def admin_signed_in(browser: Any, site: Site, **kw: Any) -> Any:
    """A page signed in as admin@example.com (an admin through ``admin_emails``), made if needed."""
    ctx = browser.new_context(viewport=DESKTOP, bypass_csp=True, **kw) if kw else new_context(browser)
    page = ctx.new_page()
    sign_in(page, site, "admin@example.com")
    if path_of(page) != "/account":
        sign_up(page, site, "admin@example.com", "Ada Admin")
        page.goto(site.mail("admin@example.com", "Verify your email").link)
    return page


def one_line(page: Any, selector: str) -> bool:
    """The text of the first element matching ``selector`` is laid out on one line."""
    return bool(
        page.evaluate(
            """(selector) => {
        const el = document.querySelector(selector);
        const text = [...el.childNodes].find(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
        const range = document.createRange();
        range.selectNodeContents(text);
        return range.getClientRects().length === 1;
    }""",
            selector,
        )
    )


def test_admin_audit_view_tabs_and_unlock(browser: Any, site: Site) -> None:
    site.api_sign_up("erin@example.net", "Erin Example")
    for _ in range(3):
        r = httpx.post(
            f"{site.url}/api/auth/sign-in/email",
            json={"email": "erin@example.net", "password": PASSWORD},
            headers={"origin": site.url, "user-agent": DESKTOP_UA},
        )
        assert r.status_code == 200, r.text
    for _ in range(60):  # wrong passwords until the email is locked (this server allows 50)
        r = httpx.post(
            f"{site.url}/api/auth/sign-in/email",
            json={"email": "erin@example.net", "password": "wrong one"},
            headers={"origin": site.url, "user-agent": IPHONE},
        )
        if r.json().get("code") == "ACCOUNT_LOCKED":
            break
    assert r.json().get("code") == "ACCOUNT_LOCKED", r.text
    erin = new_context(browser).new_page()
    sign_in(erin, site, "erin@example.net")
    assert path_of(erin) == "/sign-in" and erin.locator("[role=alert]").count() == 1

    page = admin_signed_in(browser, site)
    page.goto(f"{site.url}/admin?q=erin")
    page.click("text=Erin Example")
    erin_page = page.url
    assert "Locked" in page.text_content(".details")
    # Under 2,500 px tall on a phone, the long sections behind tabs.
    page.set_viewport_size(PHONE)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=str(ARTIFACTS / "admin-user-390.png"), full_page=True)
    assert height < 2500, f"the user page is {height}px tall at 390px"
    page.set_viewport_size(DESKTOP)
    page.click(".admin-tabs >> text=Audit")
    assert "tab=audit" in page.url
    look(page, "admin-user-audit")
    for size in (DESKTOP, NARROW):
        page.set_viewport_size(size)
        assert page.evaluate("getComputedStyle(document.querySelector('td.ip')).whiteSpace") == "nowrap"
        assert one_line(page, "td.ip"), f"an IP address wraps at {size['width']}px"
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.set_viewport_size(DESKTOP)
    page.click(".admin-tabs >> text=Sessions")
    assert page.locator("li.session").count() == 4  # the sign-up's and three sign-ins
    look(page, "admin-user-sessions")
    page.goto(erin_page)
    page.click("button:has-text('Unlock sign-in')")
    assert "unlocked" in page.text_content(".notice")
    assert "Not locked" in page.text_content(".details")
    sign_in(erin, site, "erin@example.net")
    assert path_of(erin) == "/account"
    erin.context.close()

    # The site-wide log, from the admin navigation; its filters are a GET form.
    page.click(".admin-nav >> text=Audit log")
    assert path_of(page) == "/admin/audit"
    look(page, "admin-audit")
    page.set_viewport_size(NARROW)
    assert one_line(page, "td.ip")
    page.set_viewport_size(DESKTOP)
    page.select_option("#event", "account-unlocked")
    page.fill("#user", "erin@example.net")
    page.click("button:has-text('Filter')")
    assert "event=account-unlocked" in page.url
    assert page.locator("tbody .event").all_text_contents() == ["account-unlocked"]
    page.select_option("#event", "sign-in-failed")
    page.click("button:has-text('Filter')")
    assert set(page.locator("tbody .event").all_text_contents()) == {"sign-in-failed"}
    assert page.locator("tbody tr").count() >= 7
    page.fill("#since", "2999-01-01")
    page.click("button:has-text('Filter')")
    assert page.locator("tbody tr").count() == 0 and "No events match" in page.text_content(".table-card")
    page.context.close()


def test_admin_audit_filters_without_javascript(browser: Any, site: Site) -> None:
    page = admin_signed_in(browser, site, java_script_enabled=False)
    page.goto(f"{site.url}/admin/audit")
    page.select_option("#event", "sign-in")
    page.click("button:has-text('Filter')")
    assert "event=sign-in" in page.url
    shown = page.locator("tbody .event").all_text_contents()
    assert shown and set(shown) == {"sign-in"}
    page.context.close()
