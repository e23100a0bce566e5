"""The official Better Auth client (tests/js/client.test.mjs) against the live server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SUITE = JS_DIR / "client.test.mjs"


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


@pytest.mark.node
def test_official_client_suite(request: pytest.FixtureRequest) -> None:
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed (needed for the Better Auth client suite in tests/js)")
    if not (JS_DIR / "node_modules" / "better-auth").is_dir():
        _missing("tests/js/node_modules is missing: run `npm ci` in tests/js")
    # Only now start (or reuse) the live server: no server is started just to be skipped.
    live_server = request.getfixturevalue("live_server")

    env = {**os.environ, "AUTHKEEPER_URL": live_server.url, "NO_COLOR": "1"}
    for var in ("NODE_OPTIONS", "FORCE_COLOR"):
        env.pop(var, None)
    try:
        proc = subprocess.run(
            [node, "--test", "--test-reporter=spec", SUITE.name],
            cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=180,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"node --test {SUITE.name} timed out after 180 s\n{_tail(out)}{_server_log(live_server)}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"node --test {SUITE.name} failed (exit {proc.returncode}) against {live_server.url}\n"
            f"{_tail(proc.stdout)}\n{_tail(proc.stderr, 5_000)}{_server_log(live_server)}",
            pytrace=False,
        )
