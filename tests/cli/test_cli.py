"""The CLI as a user runs it: real processes, one-line errors, non-zero exits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from authkeeper.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "src/authkeeper/authkeeper.example.toml"


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "authkeeper", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        check=False,
    )


def test_help_everywhere(tmp_path: Path) -> None:
    for args in ([], ["serve"], ["migrate"], ["cleanup"], ["users"], ["users", "create"], ["users", "list"]):
        r = run([*args, "--help"], tmp_path)
        assert r.returncode == 0 and "usage:" in r.stdout, (args, r.stderr)


def test_migrate_create_and_list_users(tmp_path: Path) -> None:
    first = run(["migrate"], tmp_path)
    assert first.returncode == 0, first.stderr
    for table in ("user", "session", "account", "verification", "twoFactor", "auditEvent", "lockout"):
        assert f"migrate: created table {table}\n" in first.stdout, first.stdout
    again = run(["migrate"], tmp_path)
    assert again.stdout == "migrate: database is up to date\n", again.stdout
    r = run(
        ["users", "create", "root@example.com", "--role", "admin", "--verified"], tmp_path, stdin="a fine passphrase\n"
    )
    assert r.returncode == 0, r.stderr
    r = run(["users", "list"], tmp_path)
    assert "root@example.com" in r.stdout and "admin" in r.stdout and "verified" in r.stdout
    r = run(["users", "create", "root@example.com"], tmp_path, stdin="a fine passphrase\n")
    assert r.returncode == 1 and "USER_ALREADY_EXISTS" in r.stderr
    r = run(["users", "create", "weak@example.com"], tmp_path, stdin="password\n")
    assert r.returncode == 1 and "PASSWORD_TOO" in r.stderr
    assert run(["cleanup"], tmp_path).returncode == 0


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    r = run(["migrate"], tmp_path, {"DATABASE_URL": "mysql://nope"})
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "database" in r.stderr
    r = run(["migrate"], tmp_path, {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0


def test_production_refuses_without_secret_or_https(tmp_path: Path) -> None:
    r = run(["serve"], tmp_path, {"AUTHKEEPER_ENV": "production"})
    assert r.returncode == 1 and "secret" in r.stderr and r.stderr.strip().count("\n") == 0
    r = run(
        ["serve"],
        tmp_path,
        {
            "AUTHKEEPER_ENV": "production",
            "AUTHKEEPER_SECRET": "x" * 40,
            "AUTHKEEPER_BASE_URL": "http://auth.example.com",
        },
    )
    assert r.returncode == 1 and "https" in r.stderr


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        r = run(["serve", "--port", str(port)], tmp_path)
    assert r.returncode == 1 and "cannot listen" in r.stderr and r.stderr.strip().count("\n") == 0


def test_invalid_settings_name_the_key(tmp_path: Path) -> None:
    r = run(["migrate"], tmp_path, {"AUTHKEEPER_RATE_LIMIT__MAX": "lots"})
    assert r.returncode == 1 and "rate_limit.max" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[session]\nexpires_inn = 3\n")
    r = run(["migrate", "--config", str(bad)], tmp_path)
    assert r.returncode == 1 and "session.expires_inn" in r.stderr


def test_example_file_loads_and_env_overrides(tmp_path: Path) -> None:
    s = load_settings(EXAMPLE, {"AUTHKEEPER_SECRET": "s" * 32}, secret_file=tmp_path / "secret")
    assert s.rate_limit.rules["/sign-in/*"].max == 3
    s = load_settings(
        EXAMPLE,
        {
            "AUTHKEEPER_SECRET": "s" * 32,
            "DATABASE_URL": "postgresql://x@127.0.0.1/db",
            "AUTHKEEPER_RATE_LIMIT": '{"rules": {"/sign-in/*": {"window": 5, "max": 9}}}',
            "AUTHKEEPER_LOCKOUT__MAX_FAILURES": "7",
            "AUTHKEEPER_TRUSTED_ORIGINS": "https://a.example.com,https://b.example.com",
        },
        secret_file=tmp_path / "secret",
    )
    assert s.database.url.startswith("postgresql://")
    rule = s.rate_limit.rules["/sign-in/*"]
    assert (rule.window, rule.max) == (5, 9)
    assert s.rate_limit.rules["/change-email"].max == 3  # the file's other rules stay
    assert s.lockout.max_failures == 7
    assert s.trusted_origins == ("https://a.example.com", "https://b.example.com")
    with pytest.raises(ConfigError, match="AUTHKEEPER_NOPE"):
        load_settings(None, {"AUTHKEEPER_NOPE": "1"})


def test_dev_secret_is_generated_once(tmp_path: Path) -> None:
    path = tmp_path / ".authkeeper-secret"
    first = load_settings(None, {}, secret_file=path).secret
    assert len(first) >= 32 and oct(path.stat().st_mode)[-3:] == "600"
    assert load_settings(None, {}, secret_file=path).secret == first


def test_the_development_banner_says_what_this_run_does(tmp_path: Path) -> None:
    from authkeeper.cli import banner
    from authkeeper.core.settings import MailSettings, Settings

    generated = load_settings(None, {}, secret_file=tmp_path / ".authkeeper-secret")
    text = banner(generated, tmp_path / ".authkeeper-secret", generated=True)
    assert "generated into" in text and "mails are printed here" in text and "/__mailbox" in text
    given = Settings(
        secret="s" * 40, mail=MailSettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=2525, outbox=False)
    )
    text = banner(given, tmp_path / ".authkeeper-secret")
    assert "generated" not in text and "printed" not in text and "/__mailbox" not in text
    assert "SMTP 127.0.0.1:2525" in text


def test_the_new_password_variable_is_no_setting() -> None:
    """``users create`` reads AUTHKEEPER_NEW_PASSWORD (see ``commands.read_password``); the
    settings loader must not refuse it as an unknown setting."""
    from authkeeper.config import env_overrides

    assert env_overrides({"AUTHKEEPER_NEW_PASSWORD": "a fine passphrase"}) == {}
