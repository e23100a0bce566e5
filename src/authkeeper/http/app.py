"""The ASGI app of the JSON API: one dispatcher, every rule applied in one order.

Order per request: route lookup → rate limit → body (size, type, JSON) → origin/CSRF →
callback URLs → session → validation → handler. Every error leaves as ``{code, message}``
from :func:`error_response`; nothing else builds an error body.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..core import errors
from ..core.context import AuthContext
from ..core.models import ClientInfo
from ..core.redaction import log_unhandled
from ..core.settings import RateLimitSettings
from ..flows import sessions
from .call import Call, Endpoint
from .client_ip import client_ip, parse_networks
from .cookies import CookieJar
from .ratelimit import Limiter, MemoryLimiter, RuleBook
from .schemas import validate
from .security import (
    check_callbacks,
    check_login_csrf,
    check_origin,
    cors_headers,
    security_headers,
)

log = logging.getLogger("authkeeper.http")

MAX_BODY = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
_RAW_TOKEN = re.compile(r"^[A-Za-z0-9]{32}$")
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


MAX_DEPTH = 32


def check_text(value: Any, where: str = "body", depth: int = 0) -> None:
    """Refuse input no field can hold: U+0000 (PostgreSQL text cannot store it), lone
    surrogates (they have no UTF-8 form) and nesting deeper than any endpoint reads."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.AuthError(errors.VALIDATION_ERROR, f"[{where}] Invalid input: NUL character")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise errors.AuthError(errors.VALIDATION_ERROR, f"[{where}] Invalid input: unpaired surrogate") from None
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise errors.AuthError(errors.BAD_REQUEST, "Request body is nested too deeply")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                check_text(key, where, depth + 1)
            check_text(item, f"{where}.{key}", depth + 1)


def mounted_path(scope: Scope, strip_prefix: str = "") -> str:
    """The request path below the mount point (``root_path``) and ``strip_prefix``."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    if strip_prefix and path.startswith(strip_prefix):
        path = path[len(strip_prefix):]
    return path or "/"


def content_type(request: Request) -> str:
    """The media type of the body, lower-cased, without parameters (empty when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_bytes(request: Request, limit: int) -> bytes:
    """The whole body; PAYLOAD_TOO_LARGE past ``limit`` bytes, declared or sent."""
    length = request.headers.get("content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise errors.AuthError(errors.PAYLOAD_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.AuthError(errors.PAYLOAD_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(raw: bytes) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body, checked as JSON input is."""
    try:
        # errors="strict": "%FF" must be refused, not turned into U+FFFD (two different
        # byte strings would become the same password).
        data = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise errors.AuthError(errors.BAD_REQUEST, "Invalid UTF-8 in request body") from None
    check_text(data)
    return data


def error_response(exc: errors.AuthError) -> Response:
    """The one place an AuthError becomes HTTP."""
    headers = dict(exc.headers)
    if exc.status == 429 and "Retry-After" in headers:
        headers.setdefault("X-Retry-After", headers["Retry-After"])
    return Response(
        json.dumps(exc.body(), separators=(",", ":")),
        status_code=exc.status,
        headers=headers,
        media_type="application/json",
    )


class AuthApp:
    """Serves the endpoints relative to wherever it is mounted (``root_path`` aware)."""

    def __init__(
        self,
        ctx: AuthContext,
        endpoints: Iterable[Endpoint],
        *,
        limiter: Limiter | None = None,
        strip_prefix: str = "",
        rate_limit: RateLimitSettings | None = None,
    ) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.cookies = CookieJar.from_settings(s)
        self.routes: dict[str, dict[str, Endpoint]] = {}
        self.param_routes: list[tuple[str, dict[str, Endpoint]]] = []
        for ep in endpoints:
            if "{" in ep.path:
                prefix = ep.path[: ep.path.index("{")]
                table = next((t for p, t in self.param_routes if p == prefix), None)
                if table is None:
                    table = {}
                    self.param_routes.append((prefix, table))
                table[ep.method] = ep
            else:
                self.routes.setdefault(ep.path, {})[ep.method] = ep
        self.limiter: Limiter = (
            limiter if limiter is not None else MemoryLimiter(max_keys=s.rate_limit.memory_max_keys)
        )
        self.rules = RuleBook(rate_limit or s.rate_limit)
        self.proxies = parse_networks(s.trusted_proxies)
        self.proxy_headers = s.proxy_headers
        self.strip_prefix = strip_prefix
        self._base_headers = security_headers(s.base_url.startswith("https://")) + _NO_STORE

    # -- helpers (the pages use them too) ----------------------------------------------
    def relative_path(self, scope: Scope) -> str:
        return mounted_path(scope, self.strip_prefix)

    def new_call(self, request: Request, path: str) -> Call:
        """The facts of one request: who is asking, from which address, for which path."""
        headers = request.headers
        peer = request.scope["client"][0] if request.scope.get("client") else None
        # Every line of the first proxy header present, in order: a proxy appends its own line
        # (or entry), and the client's own lines come first. Read only with trusted proxies.
        forwarded: list[str] = []
        if self.proxies:
            forwarded = next((lines for name in self.proxy_headers if (lines := headers.getlist(name))), [])
        return Call(
            ctx=self.ctx,
            request=request,
            cookies=self.cookies,
            client=ClientInfo(ip=client_ip(peer, forwarded, self.proxies),
                              user_agent=headers.get("user-agent", "")[:512]),
            path=path,
        )

    async def hit(self, call: Call, path: str) -> None:
        """Count the request in the rate-limit bucket of the route serving ``path`` (named by
        its pattern, ``/reset-password/{token}``, so a parameter's values share one bucket):
        TOO_MANY_REQUESTS past the limit."""
        if not self.ctx.settings.rate_limit.enabled:
            return
        route = self.route_of(path) or path
        wait = await self.limiter.hit(f"{call.client.ip}|{route}", self.rules.rule_for(route))
        if wait:
            raise errors.AuthError(
                errors.TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)}, extra={"retryAfter": wait}
            )

    def _table(self, path: str) -> dict[str, Endpoint] | None:
        """The endpoints serving ``path``, by method; None when no route does."""
        table = self.routes.get(path)
        if table is None:
            for prefix, candidates in self.param_routes:
                rest = path[len(prefix):]
                if path.startswith(prefix) and rest and "/" not in rest:
                    return candidates
        return table

    def find(self, path: str, method: str) -> Endpoint | None:
        table = self._table(path)
        return table.get(method) if table else None

    def route_of(self, path: str) -> str | None:
        """The pattern of the route serving ``path`` (``/reset-password/{token}`` for
        ``/reset-password/abc``, a pattern for itself); None when no route serves it."""
        table = self._table(path)
        return next(iter(table.values())).path if table else None

    def bearer_token(self, request: Request) -> str | None:
        """The session token an ``Authorization: Bearer`` header names (signed, or the raw
        32-character token), or None. Whether it names a live session is for :meth:`bearer`."""
        auth = request.headers.get("authorization")
        if not auth:
            return None
        scheme, _, value = auth.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return None
        if "." in value or "%" in value:
            return self.ctx.signer.unsign(value)
        return value if _RAW_TOKEN.match(value) else None

    async def bearer(self, request: Request, *, refresh: bool) -> tuple[str, sessions.Resolved] | None:
        """The live session of the request's bearer token, or None. A bearer that is not a valid
        session credential is ignored, as Better Auth ignores it: the request is then judged as
        a cookie request, with every cookie check (the API, the pages and the integrations)."""
        token = self.bearer_token(request)
        if token is None:
            return None
        resolved = await sessions.resolve(self.ctx, token, refresh=refresh)
        return (token, resolved) if resolved is not None else None

    def cookie_token(self, request: Request) -> str | None:
        """The token of the signed session cookie (None when absent or badly signed)."""
        return self.ctx.signer.unsign(request.cookies.get(self.cookies.session_token))

    async def resolve(self, call: Call, token: str | None, *, refresh: bool) -> None:
        """Put the session of ``token`` in ``call.resolved``: the cookies of a dead session
        are cleared, the cookie of a session whose expiry slid is sent again."""
        call.session_token = token
        if not token:
            return
        call.resolved = await sessions.resolve(self.ctx, token, refresh=refresh)
        if call.resolved is None:
            call.clear_session_cookies()
        elif call.resolved.refreshed:
            call.set_session_cookie(token, expires_at=call.resolved.session.expires_at)

    async def read_body(self, call: Call, ep: Endpoint) -> None:
        request = call.request
        raw = await read_bytes(request, MAX_BODY)
        if not raw.strip():
            call.raw = {}
            return
        ctype = content_type(request)
        allowed = "application/json" + (f", {FORM_TYPE}" if ep.form else "")
        if ctype == "application/json":
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                raise errors.AuthError(errors.BAD_REQUEST) from None
            if not isinstance(data, dict):
                raise errors.AuthError(errors.VALIDATION_ERROR, "[body] Invalid input: expected object")
            check_text(data)
            call.raw = data
        elif ctype == FORM_TYPE and ep.form:
            call.raw = parse_form(raw)
            call.is_form = True
        elif not ctype:
            raise errors.AuthError(
                errors.UNSUPPORTED_MEDIA_TYPE, f"Content-Type is required. Allowed types: {allowed}"
            )
        else:
            raise errors.AuthError(
                errors.UNSUPPORTED_MEDIA_TYPE,
                f'Content-Type "{ctype[:100]}" is not allowed. Allowed types: {allowed}',
            )

    # -- the pipeline ------------------------------------------------------------------
    async def run(self, call: Call, ep: Endpoint) -> Response:
        await self.hit(call, ep.path)
        refresh = not call.dont_remember() and not call.query_flag("disableRefresh")
        # A valid bearer wins and needs no Origin (a page cannot attach one cross-site without a
        # preflight that CORS refuses); anything else is a cookie request.
        bearer = await self.bearer(call.request, refresh=refresh) if ep.auth != "none" else None
        if ep.method == "POST":
            await self.read_body(call, ep)
            if bearer is None and "cookie" in call.request.headers:
                check_origin(call, self.ctx.origins)
            elif bearer is None and ep.login_csrf:
                check_login_csrf(call, self.ctx.origins)
        check_callbacks(call, self.ctx.origins)
        if ep.auth != "none":
            if bearer is not None:
                call.session_token, call.resolved = bearer
                if call.resolved.refreshed:
                    call.set_session_cookie(call.session_token, expires_at=call.resolved.session.expires_at)
            else:
                await self.resolve(call, self.cookie_token(call.request), refresh=refresh)
            if ep.auth in ("session", "fresh") and call.resolved is None:
                raise errors.AuthError(errors.UNAUTHORIZED)
            if ep.auth == "fresh":
                assert call.resolved is not None
                sessions.require_fresh(self.ctx, call.resolved.session)
        if ep.body is not None:
            call.body = validate(ep.body, call.raw, form=call.is_form)
        return await ep.handler(call)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = self.relative_path(scope)
        method = scope["method"]
        origin = request.headers.get("origin")
        cors = origin is not None and origin != "null" and self.ctx.origins.is_trusted_origin(origin)
        call = self.new_call(request, path)
        extra: list[tuple[bytes, bytes]] = []
        try:
            if method == "OPTIONS":
                response = Response(status_code=204)
                if cors and origin:
                    extra += cors_headers(origin, preflight=True)
            else:
                ep = self.find(path, "GET" if method == "HEAD" else method)
                if ep is None:
                    raise errors.AuthError(errors.NOT_FOUND)
                if "\x00" in path or b"%00" in scope.get("query_string", b""):
                    raise errors.AuthError(errors.VALIDATION_ERROR, "[query] Invalid input: NUL character")
                response = await self.run(call, ep)
        except errors.AuthError as exc:
            response = error_response(exc)
        except Exception:  # noqa: BLE001 - the client gets a clean 500, the log the details
            log_unhandled(log, self.ctx.settings.is_production, method, path)
            response = error_response(errors.AuthError(errors.INTERNAL_SERVER_ERROR))
        if cors and origin and method != "OPTIONS":
            extra += cors_headers(origin, preflight=False)
        for cookie in call.set_cookies:
            extra.append((b"set-cookie", cookie.encode("latin-1")))
        if call.new_session_value:
            extra.append((b"set-auth-token", call.new_session_value.encode("latin-1")))
            extra.append((b"access-control-expose-headers", b"set-auth-token"))
        response.raw_headers.extend(self._base_headers)
        response.raw_headers.extend(extra)
        await response(scope, receive, send)

