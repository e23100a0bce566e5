"""A stand-in auth server for the verifier tests: a real HTTP server on 127.0.0.1 (a thread)
serving a JWKS of keys made here and a scripted ``get-session``, told to change its
Cache-Control, answer 500, hang, answer garbage or go down; and signing helpers."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

ALGORITHMS = ("EdDSA", "ES256", "ES512", "RS256", "PS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS assembled by hand, for tokens PyJWT refuses to make."""
    return ".".join(b64(json.dumps(part).encode()) for part in (header, payload)) + "." + b64(signature)


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    @property
    def public(self) -> Any:
        return self.private.public_key()

    def jwk(self, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = get_default_algorithms()[self.alg].to_jwk(self.public, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.alg, **extra}

    def public_pem(self) -> bytes:
        return bytes(
            self.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def sign(self, claims: dict[str, Any], *, typ: bool = True, **header: Any) -> str:
        headers: dict[str, Any] = {"kid": self.kid, **header}
        if not typ:
            headers["typ"] = None  # PyJWT then leaves it out, as Better Auth does
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def _private(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def signing_key(alg: str, n: int = 1) -> SigningKey:
    """One key per (algorithm, n) for the whole run: RSA keys take a moment to make."""
    return SigningKey(f"{alg.lower()}-{n}-{secrets.token_hex(4)}", alg, _private(alg))


def all_keys() -> list[SigningKey]:
    return [signing_key(alg) for alg in ALGORITHMS] + [signing_key("EdDSA", 2)]


class FakeClock:
    """Monotonic seconds the test moves by hand (the JWKS cache's lifetimes)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SessionCall:
    cookie: str | None
    authorization: str | None
    query: dict[str, list[str]]


@dataclass
class StubAuthServer:
    """``mode``: ``ok``, ``500``, ``hang``, ``garbage`` (not JSON), ``empty`` (no keys),
    ``huge`` (2 MB), ``redirect``."""

    keys: list[SigningKey]
    cache_control: str | None = "public, max-age=300"
    age: str | None = None
    mode: str = "ok"
    keep_alive: bool = False
    delay: float = 0.0
    session_answer: Callable[[SessionCall], tuple[int, Any]] | None = None
    set_cookie: str | None = None
    jwks_requests: int = 0
    session_calls: list[SessionCall] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> StubAuthServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 closes every connection, so "stopped" means refused at once; HTTP/1.1
            # keeps them open, as a real server does (clients then pool connections).
            protocol_version = "HTTP/1.1" if self.keep_alive else "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/api/auth/jwks":
                    with stub.lock:
                        stub.jwks_requests += 1
                    stub._jwks(self)
                elif url.path == "/api/auth/get-session":
                    call = SessionCall(
                        self.headers.get("cookie"), self.headers.get("authorization"), parse_qs(url.query)
                    )
                    with stub.lock:
                        stub.session_calls.append(call)
                    stub._session(self, call)
                else:
                    self.send_error(404)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.origin}/api/auth/jwks"

    def stop(self) -> None:
        """Down: the port refuses connections from now on."""
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "sub": "user-1",
            "iss": self.origin,
            "aud": self.origin,
            "iat": now,
            "exp": now + 900,
            "id": "user-1",
            "name": "Ann",
            "email": "ann@example.com",
            "emailVerified": True,
            "role": "admin",
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    def _failing(self, handler: BaseHTTPRequestHandler) -> bool:
        if self.delay:
            time.sleep(self.delay)
        if self.mode == "hang":
            self.released.wait(10)
            handler.close_connection = True
            return True
        if self.mode == "500":
            _reply(handler, 500, b'{"message":"boom"}')
            return True
        return False

    def _jwks(self, handler: BaseHTTPRequestHandler) -> None:
        if self._failing(handler):
            return
        if self.mode == "redirect":
            _reply(handler, 302, b"", {"Location": "http://127.0.0.1:1/jwks"})
            return
        body = {"keys": [key.jwk() for key in self.keys]}
        data = {
            "garbage": b"<html>not json</html>",
            "empty": b'{"keys": []}',
            "huge": b'{"keys": [], "pad": "' + b"x" * 2_000_000 + b'"}',
        }.get(self.mode, json.dumps(body).encode())
        headers = {"Cache-Control": self.cache_control} if self.cache_control is not None else {}
        if self.age is not None:
            headers["Age"] = self.age
        _reply(handler, 200, data, headers)

    def _session(self, handler: BaseHTTPRequestHandler, call: SessionCall) -> None:
        if self._failing(handler):
            return
        status, body = self.session_answer(call) if self.session_answer else (200, None)
        headers = {"Set-Cookie": self.set_cookie} if self.set_cookie else {}
        _reply(handler, status, json.dumps(body).encode(), headers)


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass
