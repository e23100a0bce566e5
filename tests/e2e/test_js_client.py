"""The official Better Auth client (tests/js/client.test.mjs) against the live server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"
SUITE = JS_DIR / "client.test.mjs"


def _missing(reason: str) -> None:
    """Skip for a developer without Node; under CI=true everything must run, so fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.mark.node
def test_official_client_suite(live_server: Any) -> None:
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed (needed for the Better Auth client suite in tests/js)")
    if not (JS_DIR / "node_modules" / "better-auth").is_dir():
        _missing("tests/js/node_modules is missing: run `npm ci` in tests/js")

    env = {**os.environ, "AUTHKEEPER_URL": live_server.url, "NO_COLOR": "1"}
    env.pop("NODE_OPTIONS", None)
    try:
        proc = subprocess.run(
            [node, "--test", "--test-reporter=spec", SUITE.name],
            cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=180,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"node --test {SUITE.name} timed out after 180 s\n{out}\n--- server log ---\n{live_server.output()[-5000:]}")
    if proc.returncode != 0:
        pytest.fail(
            f"node --test {SUITE.name} failed (exit {proc.returncode}) against {live_server.url}\n"
            f"{proc.stdout}\n{proc.stderr}\n--- server log (tail) ---\n{live_server.output()[-5000:]}",
            pytrace=False,
        )
