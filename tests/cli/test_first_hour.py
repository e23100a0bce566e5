"""Issue 10 ("the first hour"): `serve --config --port`, `./dev` as the README tells it, the
secret message, what `./dev serve` installs, and the README's CLI block as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from authkeeper.cli import base_url_warning
from authkeeper.core.settings import Settings
from tests.conftest import free_port, loose_rate_limits, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_") and k != "DATABASE_URL"}
    return {**base, **extra}


def _serve(cwd: Path, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """`authkeeper serve ARGS` in CWD; returns once /readyz answers on the --port given."""
    port = args[args.index("--port") + 1]
    log = cwd / f"serve-{port}-{time.monotonic_ns()}.log"
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "authkeeper", "serve", *args], cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT
    )
    wait_ready(proc, f"http://127.0.0.1:{port}", log)
    return proc, log


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- item 2: --config with --port -------------------------------------------------------------
def test_serve_with_config_and_port_follows_the_port(tmp_path: Path) -> None:
    config = tmp_path / "authkeeper.toml"
    config.write_text(f'app_name = "Notes"\n[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n')
    port = free_port()
    env = _clean_env(AUTHKEEPER_RATE_LIMIT=loose_rate_limits())
    proc, log = _serve(tmp_path, ["--config", str(config), "--port", str(port)], env)
    try:
        origin = f"http://127.0.0.1:{port}"
        r = httpx.post(
            f"{origin}/api/auth/sign-up/email",
            headers={"origin": origin},
            json={"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"},
        )
        assert r.status_code == 200, r.text
        mails = httpx.get(f"{origin}/__mailbox", params={"to": "ann@example.com"}).json()
        assert mails and f"{origin}/api/auth/verify-email" in str(mails), mails
        # A page form, sent from the page the server served.
        page = httpx.get(f"{origin}/sign-up")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:2000]
        r = httpx.post(
            f"{origin}/sign-up",
            headers={"origin": origin},
            cookies=page.cookies,
            data={
                "csrf_token": token.group(1),
                "email": "bob@example.com",
                "password": "a fine passphrase",
                "name": "Bob",
            },
        )
        assert r.status_code in (200, 303), r.text
    finally:
        _stop(proc)
    out = log.read_text()
    assert f"serving http://127.0.0.1:{port}/api/auth" in out, out
    # No AUTHKEEPER_SECRET: this run generated the secret, and says so once.
    assert "the secret was generated" in out, out
    assert "warning" not in out.lower(), out

    # The second start reads the kept secret and does not claim to have generated it.
    port = free_port()
    proc, log = _serve(tmp_path, ["--config", str(config), "--port", str(port)], env)
    _stop(proc)
    assert "the secret was generated" not in log.read_text(), log.read_text()


def test_a_loopback_base_url_on_another_port_is_warned_about(tmp_path: Path) -> None:
    port = free_port()
    env = _clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
        AUTHKEEPER_SECRET="s" * 40,
        AUTHKEEPER_BASE_URL="http://127.0.0.1:8000",
    )
    proc, log = _serve(tmp_path, ["--port", str(port)], env)
    _stop(proc)
    out = log.read_text()
    line = next((x for x in out.splitlines() if "warning" in x.lower()), "")
    assert "http://127.0.0.1:8000" in line and str(port) in line, out


def test_which_base_urls_are_warned_about() -> None:
    def warn(url: str, port: int = 9000) -> str | None:
        return base_url_warning(Settings(secret="s" * 40, base_url=url), "127.0.0.1", port)

    assert warn("http://127.0.0.1:8000") is not None
    assert warn("http://localhost:8000") is not None
    assert warn("http://[::1]:8000") is not None
    assert warn("http://127.0.0.1") is not None  # port 80
    assert warn("http://127.0.0.1:9000") is None
    assert warn("http://localhost:80", 80) is None
    # A public URL behind a proxy is normal.
    assert warn("https://auth.example.com") is None
    assert warn("http://auth.example.com:8080") is None


# -- item 5 and 6: ./dev ------------------------------------------------------------------------
FAKE_PYTHON = """#!/bin/sh
echo "python $*" >> "$(dirname "$0")/../../calls.log"
"""
FAKE_AUTHKEEPER = """#!/bin/sh
echo "authkeeper $*" >> "$(dirname "$0")/../../calls.log"
"""


def _fake_checkout(tmp: Path) -> Path:
    """A copy of ./dev and pyproject.toml with a .venv whose python and authkeeper only log."""
    shutil.copy(ROOT / "dev", tmp / "dev")
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    (tmp / "tests/js/node_modules").mkdir(parents=True)
    bin_dir = tmp / ".venv/bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("python", FAKE_PYTHON), ("authkeeper", FAKE_AUTHKEEPER)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return tmp / "calls.log"


def _dev(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(tmp / "dev"), *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**_clean_env(), "PYTHON": sys.executable},
    )


def test_dev_installs_what_each_command_needs_once(tmp_path: Path) -> None:
    calls = _fake_checkout(tmp_path)

    def installs() -> list[str]:
        lines = calls.read_text().splitlines() if calls.exists() else []
        calls.unlink(missing_ok=True)
        return [x for x in lines if " install " in x and "--upgrade pip" not in x]

    r = _dev(tmp_path, "serve", "--port", "9000")
    assert r.returncode == 0, r.stderr
    assert installs() == ["python -m pip install --quiet -e ."]
    _dev(tmp_path, "serve")
    _dev(tmp_path, "users", "list")
    assert installs() == []
    _dev(tmp_path, "test", "-k", "x")
    assert installs() == ["python -m pip install --quiet -e .[test]"]
    _dev(tmp_path, "test")
    _dev(tmp_path, "serve")
    assert installs() == []  # the test install covers serving
    (tmp_path / "pyproject.toml").write_text((tmp_path / "pyproject.toml").read_text() + "\n# changed\n")
    _dev(tmp_path, "serve")
    assert installs() == ["python -m pip install --quiet -e ."]


def test_dev_passes_any_authkeeper_command_through(tmp_path: Path) -> None:
    calls = _fake_checkout(tmp_path)
    for args in (["serve", "--port", "9000"], ["users", "list", "--json"], ["migrate"], ["audit", "prune"]):
        calls.unlink(missing_ok=True)
        r = _dev(tmp_path, *args)
        assert r.returncode == 0, (args, r.stderr)
        assert calls.read_text().splitlines()[-1] == "authkeeper " + " ".join(args)
    calls.unlink(missing_ok=True)
    r = _dev(tmp_path, "test", "-k", "sessions")
    assert calls.read_text().splitlines()[-1] == "python -m pytest -k sessions"
    r = _dev(tmp_path)
    assert r.returncode == 2 and "usage" in r.stderr


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    return section.split("```", 2)[1].split("\n", 1)[1]


def test_the_readme_cli_block_runs_through_dev(tmp_path: Path) -> None:
    """Each line of the README's CLI block, through ./dev: its help names every option the
    line shows, and the lines that need no argument run on a temporary database."""
    total = subprocess.run(
        ["cksum", "pyproject.toml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    stamps = [ROOT / f".venv/.installed-{kind}{total}" for kind in ("", "serve-", "test-")]
    if not (ROOT / ".venv/bin/authkeeper").exists() or not any(p.exists() for p in stamps):
        pytest.skip("./dev is not set up for this pyproject.toml (run ./dev test once): not installing from a test")
    env = _clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", AUTHKEEPER_SECRET="s" * 40)
    lines = [x.split("#", 1)[0].strip() for x in _readme_block("CLI").splitlines()]
    lines = [x for x in lines if x]
    assert len(lines) >= 8 and all(x.startswith("authkeeper ") for x in lines), lines

    def dev(words: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / "dev"), *words],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
            check=False,
        )

    for line in lines:
        words = line.split()[1:]
        cut = next((i for i, w in enumerate(words) if not re.fullmatch(r"[a-z][a-z-]*", w)), len(words))
        command = words[:cut]
        r = dev([*command, "--help"])
        assert r.returncode == 0 and "usage:" in r.stdout, (line, r.stderr)
        for option in re.findall(r"--[a-z-]+", line):
            assert option in r.stdout, (line, option)
        if cut == len(words) and command != ["serve"]:
            r = dev(command)
            assert r.returncode == 0, (line, r.stderr)
    r = dev(
        ["users", "create", "ann@example.com", "--name", "Ann", "--role", "admin", "--verified"], "a fine passphrase\n"
    )
    assert r.returncode == 0, r.stderr
    for words in (
        ["users", "set-role", "ann@example.com", "user"],
        ["users", "ban", "ann@example.com", "--reason", "x"],
        ["users", "unban", "ann@example.com"],
        ["audit", "--user", "ann@example.com", "--limit", "5"],
    ):
        r = dev(words)
        assert r.returncode == 0, (words, r.stderr)
    assert "ann@example.com" in dev(["users", "list"]).stdout
