"""The README's Python snippets and every file in examples/ run as written, with only the
database URL substituted (issue 10, items 3 and 4); the lifespan migrates (or says to)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import runpy
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from authkeeper import Authkeeper, migrate
from authkeeper.core.settings import DatabaseSettings
from tests.conftest import fast_settings

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "__init__.py")
SIGN_UP = {"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"}


def readme_python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.DOTALL | re.MULTILINE)


@contextlib.asynccontextmanager
async def _sign_up_in(app: Any, origin: str) -> AsyncIterator[httpx.AsyncClient]:
    """Sign up through APP (started with its lifespan, as uvicorn does)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=origin) as client:
        r = await client.post("/api/auth/sign-up/email", json=SIGN_UP, headers={"origin": origin})
        assert r.status_code == 200, r.text
        yield client


def test_the_readme_has_python_snippets() -> None:
    assert readme_python_blocks()


@pytest.mark.parametrize("index", range(len(readme_python_blocks())))
async def test_a_readme_snippet_runs_as_written(
    index: int, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = readme_python_blocks()[index]
    urls = re.findall(r'url="((?:postgresql|sqlite)[^"]*)"', code)
    assert urls, "the snippet names a database URL"
    for url in urls:
        code = code.replace(url, db_url)
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(code, f"README.md python block {index}", "exec"), namespace)  # noqa: S102 - the README's own code
    app, auth = namespace["app"], namespace["auth"]
    origin = auth.settings.base_origin
    async with app.router.lifespan_context(app), _sign_up_in(app, origin) as client:
        r = await client.get("/notes")
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
async def test_an_example_runs_as_written(
    path: Path, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("AUTHKEEPER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", db_url)
    namespace = runpy.run_path(str(path), run_name="example")
    app, auth = namespace["app"], namespace["auth"]
    async with app.router.lifespan_context(app), _sign_up_in(app, auth.settings.base_origin) as client:
        assert (await client.get("/public")).status_code == 200


async def test_the_fastapi_example_runs_next_to_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its port is not ./dev serve's, its base URL follows the port, and the verification link
    lands on a real page."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("AUTHKEEPER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ex.db'}")
    path = ROOT / "examples/fastapi_app.py"
    default = runpy.run_path(str(path), run_name="example")
    assert default["auth"].settings.base_url != "http://127.0.0.1:8000"
    assert default["auth"].settings.base_url == f"http://127.0.0.1:{default['PORT']}"
    monkeypatch.setenv("PORT", "8765")
    namespace = runpy.run_path(str(path), run_name="example")
    app, auth = namespace["app"], namespace["auth"]
    assert namespace["PORT"] == 8765 and auth.settings.base_url == "http://127.0.0.1:8765"
    origin = "http://127.0.0.1:8765"
    async with app.router.lifespan_context(app), _sign_up_in(app, origin) as client:
        r = await client.post(
            "/api/auth/sign-in/email",
            json={"email": SIGN_UP["email"], "password": SIGN_UP["password"]},
            headers={"origin": origin},
        )
        assert r.status_code == 200, r.text
        for _ in range(50):
            mails = auth.outbox.for_address(SIGN_UP["email"])
            if mails:
                break
            await asyncio.sleep(0.05)
        link = re.search(r"https?://\S+verify-email\S+", mails[0].text)
        assert link, mails[0].text
        r = await client.get(link.group(0).replace(origin, ""), follow_redirects=True)
        assert r.status_code == 200, (r.url, r.text)
    # AUTHKEEPER_BASE_URL still wins.
    monkeypatch.setenv("AUTHKEEPER_BASE_URL", "https://notes.example.com")
    assert runpy.run_path(str(path), run_name="example")["auth"].settings.base_url == "https://notes.example.com"


# -- the lifespan migrates --------------------------------------------------------------------
async def test_the_lifespan_migrates_when_auto_migrate_is_on(db_url: str) -> None:
    auth = Authkeeper(fast_settings(db_url))
    async with auth.lifespan():
        assert await auth.store.find_user_by_email("ann@example.com") is None


async def test_several_workers_starting_at_once_migrate_once(db_url: str) -> None:
    settings = fast_settings(db_url)
    results = await asyncio.gather(*(migrate(settings) for _ in range(4)))
    created = [r for r in results if "created table user" in r]
    assert len(created) == 1, results
    workers = [Authkeeper(settings) for _ in range(3)]
    await asyncio.gather(*(w.startup() for w in workers))
    for w in workers:
        await w.shutdown()


async def test_without_auto_migrate_a_missing_schema_stops_start_up(db_url: str) -> None:
    settings = fast_settings(db_url, database=DatabaseSettings(url=db_url, auto_migrate=False))
    auth = Authkeeper(settings)
    with pytest.raises(RuntimeError) as info:
        await auth.startup()
    assert "run authkeeper migrate" in str(info.value) and "\n" not in str(info.value)
    await auth.shutdown()
    await migrate(settings)
    auth = Authkeeper(settings)
    await auth.startup()
    await auth.shutdown()


def test_the_schema_check_knows_the_latest_revision() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from authkeeper.auth import default_plugins, schemas_of
    from authkeeper.core.settings import Settings
    from authkeeper.storage import migrate as module

    schemas = schemas_of(default_plugins(Settings()))
    cfg: Config = module._alembic_config(None, schemas)
    assert set(ScriptDirectory.from_config(cfg).get_heads()) == module.heads(schemas)


def test_the_server_process_does_not_load_alembic_at_start(tmp_path: Path) -> None:
    """serve migrates in a child process; the server's own lifespan only checks the revision."""
    import subprocess

    code = (
        "import asyncio, sys\n"
        "from authkeeper import Authkeeper\n"
        "from authkeeper.storage.migrate import migrate\n"
        "from tests.conftest import fast_settings\n"
        f"s = fast_settings('sqlite:///{tmp_path / 'a.db'}')\n"
        "import subprocess\n"
        "async def main():\n"
        "    a = Authkeeper(s)\n"
        "    await a.startup(); await a.shutdown()\n"
        "    print('alembic' in sys.modules)\n"
        f"subprocess.run([sys.executable, '-m', 'authkeeper', 'migrate', '--quiet'], env={{'DATABASE_URL': 'sqlite:///{tmp_path / 'a.db'}', 'AUTHKEEPER_SECRET': 'x' * 40, 'PATH': ''}}, check=True, cwd={str(tmp_path)!r})\n"
        "asyncio.run(main())\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False", r.stdout
