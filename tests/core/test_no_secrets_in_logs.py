"""In production nothing logs a link, code or token (Hardening II, item 4): the console mail
backend is refused, request targets are redacted in error and access logs, and an unhandled
error's message (which may quote a link) is withheld."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authkeeper import Authkeeper, Settings
from authkeeper.core.redaction import REDACTED, AccessLogFilter, redact_target
from authkeeper.core.settings import MailSettings
from authkeeper.flows import reset_password
from tests.conftest import TestApp

pytestmark = pytest.mark.anyio

TOKEN = "Zx9QvR2mLkP4tW7yB1nC5dF8"


def test_production_refuses_the_console_mail_backend() -> None:
    settings = Settings(mode="production", secret="s" * 40, base_url="https://auth.example.com")
    problems = settings.problems()
    assert any(p.startswith("mail.backend:") for p in problems), problems
    with pytest.raises(ValueError, match="mail.backend"):
        Authkeeper(settings)
    ok = Settings(
        mode="production", secret="s" * 40, base_url="https://auth.example.com", mail=MailSettings(backend="smtp")
    )
    assert ok.problems() == []
    # Development keeps printing mail: that is what the console backend is for.
    assert Settings(secret="s" * 40).problems() == []


def test_the_cli_names_the_setting_in_one_line(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_") and k != "DATABASE_URL"}
    env = {
        **base,
        "AUTHKEEPER_ENV": "production",
        "AUTHKEEPER_SECRET": "x" * 40,
        "AUTHKEEPER_BASE_URL": "https://auth.example.com",
    }
    r = subprocess.run(
        [sys.executable, "-m", "authkeeper", "serve", "--no-migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "mail.backend" in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            f"/api/auth/reset-password/{TOKEN}?callbackURL=/reset",
            f"/api/auth/reset-password/{REDACTED}?callbackURL={REDACTED}",
        ),
        (
            f"/api/auth/verify-email?token={TOKEN}&callbackURL=/",
            f"/api/auth/verify-email?token={REDACTED}&callbackURL={REDACTED}",
        ),
        ("/api/auth/get-session", "/api/auth/get-session"),
        ("/account/sessions/revoke-others", "/account/sessions/revoke-others"),
        (f"https://app.example.com/r/{TOKEN}", f"https://app.example.com/r/{REDACTED}"),
    ],
)
def test_targets_are_redacted(target: str, expected: str) -> None:
    assert redact_target(target) == expected


def test_the_access_log_filter_redacts_uvicorns_lines() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/auth/reset-password/{TOKEN}?callbackURL=/x", "1.1", 302),
        None,
    )
    assert AccessLogFilter().filter(record)
    assert TOKEN not in record.getMessage() and "/api/auth/reset-password/" in record.getMessage()


@pytest.mark.parametrize("mode", ["production", "development"])
async def test_an_unhandled_error_logs_no_token(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    app: TestApp = await make_app()
    if mode == "production":
        import dataclasses

        app.auth.ctx.settings = dataclasses.replace(app.auth.ctx.settings, mode="production")

    async def broken(ctx: Any, token: str) -> bool:
        raise RuntimeError(f"lookup failed for https://auth.example.com/reset?token={token}")

    monkeypatch.setattr(reset_password, "token_is_valid", broken)
    with caplog.at_level(logging.ERROR):
        r = await app.get(f"/reset-password/{TOKEN}", params={"callbackURL": "/reset"})
    assert r.status_code == 500 and r.json()["code"] == "INTERNAL_SERVER_ERROR"
    logged = "\n".join(caplog.text.splitlines())
    assert "unhandled error on GET" in logged
    # The target is redacted in every mode; the message (quoting the token) only in production.
    assert f"/reset-password/{REDACTED}" in logged
    if mode == "production":
        assert TOKEN not in logged and "RuntimeError" in logged
