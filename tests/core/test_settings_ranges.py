"""Durations and counts out of range are refused with one line naming the setting (issue 10,
item 13)."""

from __future__ import annotations

import pytest

from authkeeper.config import load_settings
from authkeeper.core.settings import Settings

CASES = [
    # a duration in seconds that must be positive
    ("AUTHKEEPER_SESSION__EXPIRES_IN", "-5", "session.expires_in"),
    ("AUTHKEEPER_SESSION__EXPIRES_IN", "0", "session.expires_in"),
    ("AUTHKEEPER_SESSION__DONT_REMEMBER_EXPIRES_IN", "0", "session.dont_remember_expires_in"),
    ("AUTHKEEPER_EMAIL_PASSWORD__RESET_TOKEN_EXPIRES_IN", "0", "email_password.reset_token_expires_in"),
    ("AUTHKEEPER_TWO_FACTOR__CHALLENGE_EXPIRES_IN", "-1", "two_factor.challenge_expires_in"),
    ("AUTHKEEPER_ADMIN__IMPERSONATION_SESSION_DURATION", "0", "admin.impersonation_session_duration"),
    # a duration that may be 0 (off) but not negative
    ("AUTHKEEPER_SESSION__UPDATE_AGE", "-1", "session.update_age"),
    ("AUTHKEEPER_SESSION__FRESH_AGE", "-1", "session.fresh_age"),
    ("AUTHKEEPER_CLEANUP_INTERVAL", "-60", "cleanup_interval"),
    # a count that must be at least 1
    ("AUTHKEEPER_LOCKOUT__MAX_FAILURES", "0", "lockout.max_failures"),
    ("AUTHKEEPER_TWO_FACTOR__BACKUP_CODE_COUNT", "0", "two_factor.backup_code_count"),
    ("AUTHKEEPER_DATABASE__POOL_SIZE", "0", "database.pool_size"),
    # rate limit windows and counts, the default and each rule
    ("AUTHKEEPER_RATE_LIMIT__WINDOW", "0", "rate_limit.window"),
    ("AUTHKEEPER_RATE_LIMIT__MAX", "-3", "rate_limit.max"),
    ("AUTHKEEPER_LOCKOUT__WINDOW", "0", "lockout.window"),
    (
        "AUTHKEEPER_RATE_LIMIT",
        '{"rules": {"/sign-in/*": {"window": 0, "max": 3}}}',
        "rate_limit.rules./sign-in/*.window",
    ),
    ("AUTHKEEPER_RATE_LIMIT", '{"rules": {"/sign-in/*": {"window": 10, "max": 0}}}', "rate_limit.rules./sign-in/*.max"),
    # one of a few values
    ("AUTHKEEPER_TWO_FACTOR__DIGITS", "7", "two_factor.digits"),
    ("AUTHKEEPER_MAIL__SMTP_PORT", "70000", "mail.smtp_port"),
]


@pytest.mark.parametrize(("name", "value", "key"), CASES, ids=[f"{c[2]}={c[1]}" for c in CASES])
def test_an_out_of_range_setting_is_one_line_naming_it(tmp_path, name: str, value: str, key: str) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(None, {name: value, "AUTHKEEPER_SECRET": "s" * 40}, secret_file=tmp_path / "s")
    problems = settings.problems()
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{key}: ") and "\n" not in problems[0], problems


def test_the_defaults_and_zero_where_it_means_off_are_fine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert Settings(secret="s" * 40).problems() == []
    env = {
        "AUTHKEEPER_SECRET": "s" * 40,
        "AUTHKEEPER_SESSION__FRESH_AGE": "0",
        "AUTHKEEPER_SESSION__UPDATE_AGE": "0",
        "AUTHKEEPER_SESSION__ABSOLUTE_LIFETIME": "0",
        "AUTHKEEPER_CLEANUP_INTERVAL": "0",
        "AUTHKEEPER_AUDIT__RETENTION_DAYS": "0",
        "AUTHKEEPER_TWO_FACTOR__DIGITS": "8",
    }
    assert load_settings(None, env, secret_file=tmp_path / "s").problems() == []


def test_serve_refuses_a_negative_lifetime(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.cli.test_cli import run

    r = run(["serve"], tmp_path, {"AUTHKEEPER_SESSION__EXPIRES_IN": "-5"})
    assert r.returncode == 1 and "session.expires_in" in r.stderr and r.stderr.strip().count("\n") == 0
