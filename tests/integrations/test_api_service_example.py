"""examples/api_service: a FastAPI service on its own port, protected by an authkeeper server it
shares no database with (the jwt plugin's tokens, checked with ``authkeeper.verifier``). Both
run as real processes on 127.0.0.1, as a user would start them."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, free_port, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "examples/api_service/service.py"
PASSWORD = "a fine passphrase for the api"
MAX_STALE = 3.0
FRONT_END = "http://localhost:5173"  # TRUSTED_ORIGINS of the service


@dataclass
class Service:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, token: str | None = None, **kw: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=10, **kw)  # type: ignore[arg-type]


def _start_service(tmp_path: Path, auth_url: str) -> Service:
    port = free_port()
    log = tmp_path / "service.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_")},
        "AUTH_URL": auth_url,
        "PORT": str(port),
        "JWKS_MAX_STALE": str(MAX_STALE),
        "JWKS_MIN_TTL": "1",
        "TRUSTED_ORIGINS": FRONT_END,
    }
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, str(SERVICE)], cwd=tmp_path, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Service(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the service did not start: {log.read_text()}")


def _sign_in(auth: LiveServer, email: str) -> tuple[str, str, str]:
    """(the session token for a bearer header, a JWT from /token, the session's cookies as a
    browser sends them) for a signed-in user."""
    origin = {"origin": auth.url}
    with httpx.Client(base_url=f"{auth.url}/api/auth", timeout=10) as client:
        r = client.post("/sign-in/email", json={"email": email, "password": PASSWORD}, headers=origin)
        if r.status_code != 200:
            r = client.post(
                "/sign-up/email", json={"email": email, "password": PASSWORD, "name": "Ann"}, headers=origin
            )
        assert r.status_code == 200, r.text
        session_token = r.headers["set-auth-token"]
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
        r = client.get("/token", headers={"authorization": f"Bearer {session_token}"})
        assert r.status_code == 200, r.text
        return session_token, r.json()["token"], cookie


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[LiveServer, Service]]:
    # The admin exists before the server starts, as an operator would make one.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}",
        "AUTHKEEPER_SECRET": "s" * 40,
        "AUTHKEEPER_NEW_PASSWORD": PASSWORD,
    }
    made = subprocess.run(
        [sys.executable, "-m", "authkeeper", "users", "create", "boss@example.com", "--role", "admin", "--verified"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    auth = start_server(
        tmp_path,
        {"AUTHKEEPER_SECRET": "s" * 40, "AUTHKEEPER_JWT__ENABLED": "true", "AUTHKEEPER_JWT__JWKS_MAX_AGE": "1"},
    )
    service = _start_service(tmp_path, auth.url)
    try:
        yield auth, service
    finally:
        service.proc.terminate()
        service.proc.wait(10)
        stop_server(auth)


def _tampered(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


def test_the_service_knows_its_callers_and_outlives_the_auth_server_until_max_stale(
    both: tuple[LiveServer, Service],
) -> None:
    auth, service = both
    ann_session, ann, ann_cookie = _sign_in(auth, "ann@example.com")
    boss_session, boss, _ = _sign_in(auth, "boss@example.com")

    r = service.get("/me", ann)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "ann@example.com" and r.json()["roles"] == ["user"]
    # Signed out (no token), a forged token, a session token where a JWT belongs: 401.
    r = service.get("/me")
    assert (r.status_code, r.json()["code"]) == (401, "MISSING_TOKEN")
    assert r.headers["www-authenticate"].lower().startswith("bearer")
    assert service.get("/me", _tampered(ann)).status_code == 401
    assert service.get("/me", ann_session).status_code == 401
    # The role gate, from the token's role claim; the permission, by the role table.
    assert (service.get("/admin/stats", ann).status_code, service.get("/admin/stats", boss).status_code) == (403, 200)
    assert (service.get("/audit", ann).status_code, service.get("/audit", boss).status_code) == (403, 200)
    assert service.get("/admin/stats", _tampered(ann)).status_code == 401
    # By the browser's cookie, closing the account must come from a trusted origin (CSRF): the
    # auth server's or the service's TRUSTED_ORIGINS; never from another site nor from nowhere.
    for origin in ("https://evil.example", None, "null"):
        headers = {"cookie": ann_cookie, **({"origin": origin} if origin else {})}
        close = httpx.post(service.url + "/account/close", headers=headers, timeout=10)
        assert (close.status_code, close.json()["code"]) == (403, "INVALID_ORIGIN"), (origin, close.text)
    for origin in (auth.url, FRONT_END):
        close = httpx.post(service.url + "/account/close", headers={"cookie": ann_cookie, "origin": origin}, timeout=10)
        assert close.status_code == 200, close.text
        assert close.json()["closing"] == service.get("/me", ann).json()["id"]
    # An admin impersonating ann holds a session of hers, which the service tells apart.
    r = httpx.post(
        f"{auth.url}/api/auth/admin/impersonate-user",
        json={"userId": service.get("/me", ann).json()["id"]},
        headers={"authorization": f"Bearer {boss_session}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    acting = r.json()["session"]["token"]
    close = httpx.post(service.url + "/account/close", headers={"authorization": f"Bearer {acting}"}, timeout=10)
    assert (close.status_code, close.json()["code"]) == (403, "FORBIDDEN"), close.text

    # Introspection sees a sign-out at once, where the token still verifies until it expires.
    close = httpx.post(service.url + "/account/close", headers={"authorization": f"Bearer {ann_session}"}, timeout=10)
    assert close.status_code == 200, close.text
    signed_out = httpx.post(
        f"{auth.url}/api/auth/sign-out", headers={"authorization": f"Bearer {ann_session}"}, timeout=10
    )
    assert signed_out.status_code == 200, signed_out.text
    close = httpx.post(service.url + "/account/close", headers={"authorization": f"Bearer {ann_session}"}, timeout=10)
    assert close.status_code == 401, close.text
    assert service.get("/me", ann).status_code == 200

    # The auth server stops: the cached keys keep verifying until max-stale, then 503. They are
    # fetched afresh just before (past their 1 s lifetime, the next verification refetches), so
    # "max-stale after the stop" does not depend on where the stop falls in that lifetime.
    time.sleep(1.1)
    assert service.get("/me", ann).status_code == 200
    stop_server(auth)
    stopped = time.monotonic()
    assert service.get("/me", ann).status_code == 200
    assert service.get("/admin/stats", boss).status_code == 200
    r = httpx.post(service.url + "/account/close", headers={"authorization": f"Bearer {ann_session}"}, timeout=10)
    assert r.status_code == 503, r.text
    deadline = stopped + 1 + MAX_STALE + 10
    while time.monotonic() < deadline:
        r = service.get("/me", ann)
        if r.status_code != 200:
            break
        time.sleep(0.25)
    assert (r.status_code, r.json()["code"]) == (503, "JWKS_UNAVAILABLE"), r.text
    assert time.monotonic() - stopped >= MAX_STALE, "the keys stopped verifying before max-stale"
