"""The HTTP side of the verifier: one client, one bounded GET.

The client is the caller's (shared, never closed here) or one the verifier makes on first use
and closes in ``aclose()``. Pooled connections belong to the event loop that opened them, so the
own client is remade when it is used from another loop (a test client starts a loop per test;
a verifier made at import time outlives them).

Every request is built outside the client (``httpx.Request`` + ``client.send``): the client's
cookie jar is then never added to it, so a cookie one caller's introspection brought back can
never ride along on another caller's request. The own client's jar also refuses to store any.
Each request is bounded in time as a whole (not only per read, which a server trickling bytes
would stretch) and in size.
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

MAX_RESPONSE_BYTES = 1024 * 1024
"""A JWKS or a session answer is a few KB; more is a misconfiguration or an attack."""


class Unavailable(Exception):
    """The auth server could not give an answer (connection, timeout, size). The message names
    the kind of failure for the log, never a header value."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes


def origin_of(url: str) -> str:
    """``https://auth.example.com/api/auth/jwks`` → ``https://auth.example.com`` (the auth
    server's default ``iss`` and ``aud``: its base origin); ``ValueError`` for anything but an
    absolute http(s) URL. Scheme and host are lowercased, a default port is dropped, so two
    spellings of one origin compare equal."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = parts.port
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loggable(url: str) -> str:
    """``url`` without user info, query or fragment: what a log line may show of it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _refusing_jar() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


@functools.cache
def _tls() -> Any:
    """httpx's default TLS context, made once: loading the CA bundle is most of the cost of a
    new client, and the own client is remade for every new event loop."""
    make = getattr(httpx, "create_ssl_context", None)  # public since httpx 0.28
    return make() if make is not None else True


class Transport:
    """Args:
    client: a shared client (kept open), or ``None`` to make one on first use.
    timeout: seconds a whole request may take, connection included.
    """

    def __init__(self, client: httpx.AsyncClient | None, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self._shared = client
        self._own: httpx.AsyncClient | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> httpx.AsyncClient:
        if self._shared is not None:
            return self._shared
        loop = asyncio.get_running_loop()
        if self._own is None or self._own_loop is not loop:
            # A client of a finished loop cannot be closed from this one; its sockets go with it.
            self._own = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                cookies=_refusing_jar(),
                verify=_tls(),
                headers={"User-Agent": "authkeeper-verifier"},
            )
            self._own_loop = loop
        return self._own

    async def get(self, url: str, headers: Mapping[str, str], params: Mapping[str, str] | None = None) -> Answer:
        """GET ``url``, following no redirect (a redirect is an answer like any other: the
        caller refuses it, so a compromised redirect cannot send a caller's cookie elsewhere)."""
        client = self.client()
        try:
            request = httpx.Request(
                "GET",
                url,
                headers=dict(headers),
                params=params,
                extensions={"timeout": httpx.Timeout(self.timeout).as_dict()},
            )
            async with asyncio.timeout(self.timeout):
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    body = await _read(response)
                finally:
                    await response.aclose()
        except Unavailable:
            raise
        except TimeoutError:
            raise Unavailable(f"no answer within {self.timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001  # whatever the transport raises is "unreachable"
            raise Unavailable(type(exc).__name__) from None
        return Answer(response.status_code, response.headers, body)

    async def aclose(self) -> None:
        own, loop = self._own, self._own_loop
        self._own = self._own_loop = None
        if own is None:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is current:
            await own.aclose()


async def _read(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise Unavailable("answer too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise Unavailable("answer too large")
        chunks.append(chunk)
    return b"".join(chunks)
