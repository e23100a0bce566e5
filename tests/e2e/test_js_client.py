"""The official Better Auth client against a live server: tests/js/client.test.mjs (core
endpoints), tests/js/plugins.test.mjs (twoFactorClient and adminClient) and tests/js/jwt.test.mjs
(jwtClient, the tokens verified with jose)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.conftest import LiveServer, start_server, stop_server

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SUITE = JS_DIR / "client.test.mjs"
PLUGINS_SUITE = JS_DIR / "plugins.test.mjs"
JWT_SUITE = JS_DIR / "jwt.test.mjs"
ADMIN_EMAIL = "suite-admin@example.com"
"""Listed in the plugin suite's server's ``admin_emails``; the suite signs it up itself."""


def _missing(reason: str) -> NoReturn:
    """Skip for a developer without Node; under CI=true everything must run, so fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def _tail(text: str, limit: int = 30_000) -> str:
    """The end of node's report (the spec reporter repeats every failure there)."""
    if len(text) <= limit:
        return text
    return f"[… {len(text) - limit} characters cut …]\n" + text[-limit:]


def _server_log(server: Any) -> str:
    output = getattr(server, "output", None)
    if not callable(output):
        return ""
    return "\n--- server log (tail) ---\n" + str(output())[-5000:]


def _node() -> str:
    """node, with the npm packages of tests/js installed (else skip, or fail under CI)."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed (needed for the Better Auth client suites in tests/js)")
    if not (JS_DIR / "node_modules" / "better-auth").is_dir():
        _missing("tests/js/node_modules is missing: run `npm ci` in tests/js")
    return node


def _run_suite(node: str, suite: Path, server: LiveServer, env_extra: dict[str, str] | None = None) -> None:
    env = {**os.environ, "AUTHKEEPER_URL": server.url, "NO_COLOR": "1", **(env_extra or {})}
    for var in ("NODE_OPTIONS", "FORCE_COLOR", "BETTER_AUTH_REFERENCE"):
        env.pop(var, None)
    try:
        proc = subprocess.run(
            [node, "--test", "--test-reporter=spec", suite.name],
            cwd=JS_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"node --test {suite.name} timed out after 300 s\n{_tail(out)}{_server_log(server)}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"node --test {suite.name} failed (exit {proc.returncode}) against {server.url}\n"
            f"{_tail(proc.stdout)}\n{_tail(proc.stderr, 5_000)}{_server_log(server)}",
            pytrace=False,
        )


@pytest.mark.node
def test_official_client_suite(tmp_path: Path, db_url: str) -> None:
    """client.test.mjs against a server on SQLite, and on PostgreSQL."""
    node = _node()
    # Only now start the server: no server is started just to be skipped.
    server = start_server(tmp_path, env_extra={"DATABASE_URL": db_url})
    try:
        _run_suite(node, SUITE, server)
    finally:
        stop_server(server)


@pytest.mark.node
def test_official_client_plugins_suite(tmp_path: Path, db_url: str) -> None:
    """twoFactorClient and adminClient against a server whose admin is ``ADMIN_EMAIL``, on
    SQLite and on PostgreSQL."""
    node = _node()
    server = start_server(
        tmp_path,
        env_extra={"DATABASE_URL": db_url, "AUTHKEEPER_ADMIN": json.dumps({"admin_emails": [ADMIN_EMAIL]})},
    )
    try:
        _run_suite(
            node,
            PLUGINS_SUITE,
            server,
            {
                "AUTHKEEPER_ADMIN_EMAIL": ADMIN_EMAIL,
                "AUTHKEEPER_ADMIN_PASSWORD": f"Suite-admin-{secrets.token_hex(8)}-Lighthouse",
            },
        )
    finally:
        stop_server(server)


@pytest.mark.node
def test_official_jwt_client_suite(tmp_path: Path, db_url: str) -> None:
    """jwtClient and the jwt plugin (``/token``, ``/jwks``, ``set-auth-jwt``), the tokens
    verified by jose alone, against a server with the plugin on, on SQLite and on PostgreSQL."""
    node = _node()
    server = start_server(tmp_path, env_extra={"DATABASE_URL": db_url, "AUTHKEEPER_JWT__ENABLED": "true"})
    try:
        _run_suite(node, JWT_SUITE, server)
    finally:
        stop_server(server)
