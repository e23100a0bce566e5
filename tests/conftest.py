"""Shared fixtures: in-process apps on SQLite (and PostgreSQL), a live server, SMTP."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from authkeeper import Authkeeper, Settings, migrate
from authkeeper.core.settings import (
    DatabaseSettings,
    MailSettings,
    PasswordSettings,
    RateLimitSettings,
)
from authkeeper.server import create_server_app

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("AUTHKEEPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
ORIGIN = "http://testserver"


def need(reason: str) -> NoReturn:
    """Skip for a user without the tool; fail under CI=true, where everything must run."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fast_settings(db_url: str, **overrides: Any) -> Settings:
    """Settings for in-process tests: cheap hashing, loose rate limits, a fixed secret."""
    base = Settings(
        secret=SECRET,
        base_url=ORIGIN,
        cleanup_interval=0,
        database=DatabaseSettings(url=db_url),
        password=PasswordSettings(argon2_memory_kib=1024, argon2_time_cost=1, hash_workers=2),
        rate_limit=RateLimitSettings(enabled=False),
        mail=MailSettings(backend="none"),
    )
    return dataclasses.replace(base, **overrides)


# -- databases ----------------------------------------------------------------------------
def _pg_admin(sql: str) -> None:
    """Run one admin statement on PostgreSQL (in a thread: fixtures may run inside a loop)."""
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type stubs

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001
            error.append(exc)

    import threading

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if error:
        raise error[0]


def create_pg_database() -> str:
    name = "ak_test_" + secrets.token_hex(6)
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        need(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    _pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'auth.db'}"
        return
    url = create_pg_database()
    yield url
    drop_pg_database(url)


# -- in-process apps ----------------------------------------------------------------------
class TestApp:
    __test__ = False
    """An Authkeeper instance and an httpx client talking to it in-process."""

    def __init__(self, auth: Authkeeper, client: httpx.AsyncClient) -> None:
        self.auth = auth
        self.client = client

    @property
    def ctx(self):  # type: ignore[no-untyped-def]
        return self.auth.ctx

    def api(self, path: str) -> str:
        return self.auth.settings.base_path + path

    async def post(self, path: str, json_body: Any = None, **kw: Any) -> httpx.Response:
        headers = {"origin": ORIGIN, **kw.pop("headers", {})}
        return await self.client.post(
            self.api(path), json=json_body if json_body is not None else {}, headers=headers, **kw
        )

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(self.api(path), **kw)

    async def sign_up(
        self, email: str = "ann@example.com", password: str = "a fine passphrase", name: str = "Ann", **extra: Any
    ) -> httpx.Response:
        r = await self.post("/sign-up/email", {"email": email, "password": password, "name": name, **extra})
        assert r.status_code == 200, r.text
        return r

    async def sign_in(
        self, email: str = "ann@example.com", password: str = "a fine passphrase", **extra: Any
    ) -> httpx.Response:
        return await self.post("/sign-in/email", {"email": email, "password": password, **extra})

    def mails(self, to: str) -> list[Any]:
        assert self.auth.outbox is not None
        return self.auth.outbox.for_address(to)

    def new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_server_app(self.auth)), base_url=ORIGIN)


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await make_app(**settings_overrides)`` → TestApp on a fresh SQLite file (or ``db_url=``);
    ``plugins=[...]`` adds plugins to the default ones."""
    made: list[TestApp] = []

    async def factory(db_url: str | None = None, **overrides: Any) -> TestApp:
        url = db_url or f"sqlite:///{tmp_path / f'auth{len(made)}.db'}"
        mail = overrides.pop("mail", MailSettings(backend="none", outbox=True))
        extra_plugins = overrides.pop("plugins", [])
        settings = fast_settings(url, mail=mail, **overrides)
        from authkeeper.auth import default_plugins

        plugins = [*default_plugins(settings), *extra_plugins]
        await migrate(settings, plugins)
        auth = Authkeeper(settings, plugins=plugins)
        await auth.startup()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_server_app(auth)), base_url=ORIGIN)
        app = TestApp(auth, client)
        made.append(app)
        return app

    yield factory
    for app in made:
        await app.client.aclose()
        await app.auth.shutdown()


@pytest.fixture
async def app(make_app: Callable[..., Any]) -> TestApp:
    return await make_app()


# -- a real server ------------------------------------------------------------------------
class LiveServer:
    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def loose_rate_limits() -> str:
    """``AUTHKEEPER_RATE_LIMIT`` letting a suite of quick requests from one address through:
    configured rules lie over the built-in ones, so every built-in and plugin rule is named."""
    from authkeeper.auth import default_plugins

    paths = set(RateLimitSettings().rules)
    for plugin in default_plugins(Settings()):
        paths.update(plugin.rate_limits)
    loose = {"window": 10, "max": 100_000}
    return json.dumps({"max": 100_000, "rules": {path: loose for path in sorted(paths)}})


def start_server(tmp: Path, env_extra: dict[str, str] | None = None, args: list[str] | None = None) -> LiveServer:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_")},
        "DATABASE_URL": f"sqlite:///{tmp / 'live.db'}",
        "AUTHKEEPER_SECRET": SECRET,
        "AUTHKEEPER_BASE_URL": url,
        "AUTHKEEPER_RATE_LIMIT": loose_rate_limits(),
        "AUTHKEEPER_LOCKOUT": json.dumps({"max_failures": 50}),
        "AUTHKEEPER_CLEANUP_INTERVAL": "0",
        **(env_extra or {}),
    }
    log = tmp / f"server-{port}.log"
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "authkeeper", "serve", "--port", str(port), *(args or [])],
        cwd=tmp,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    wait_ready(proc, url, log)
    return LiveServer(url, proc, log)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until ``url``/readyz answers 200; RuntimeError (with the server's log) if it exits or
    does not answer within 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server (uvicorn) in development mode on a temporary SQLite file."""
    server = start_server(tmp_path_factory.mktemp("live"))
    yield server
    stop_server(server)


def node_available() -> bool:
    return shutil.which("node") is not None and (ROOT / "tests/js/node_modules/better-auth").exists()
