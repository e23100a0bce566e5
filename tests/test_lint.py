"""ruff (lint and format) over src, tests and examples, mypy --strict over src and mypy over the
tests stay clean: the suite fails on a new finding (both are pinned in the
test extra, so their rules do not move under the code)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent


def run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        need(f"{module} is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_finds_nothing() -> None:
    r = run("ruff", "check", "--no-cache", "src", "tests", "examples")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_mypy_strict_finds_nothing(tmp_path: Path) -> None:
    r = run("mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"), "src/authkeeper")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_ruff_format_finds_nothing() -> None:
    r = run("ruff", "format", "--check", "--no-cache", "src", "tests", "examples")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_mypy_finds_nothing_in_the_tests(tmp_path: Path) -> None:
    r = run("mypy", "--cache-dir", str(tmp_path / "mypy"), "tests")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
