"""The ASGI app of the JSON API: one dispatcher, every rule applied in one order.

Order per request: route lookup → rate limit → body (size, type, JSON) → origin/CSRF →
callback URLs → credential → validation → handler. Every error leaves as ``{code, message}``
from :func:`error_response`; nothing else builds an error body.

The credential is the one resolver's (:mod:`authkeeper.web.credentials`), of the kinds the
endpoint accepts: a live header credential (a bearer) is looked up before the body, since it
lifts the origin check; without one, the cookie's is read after the callback URLs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..core import errors
from ..core.context import AuthContext
from ..core.redaction import log_unhandled
from ..core.settings import RateLimitSettings
from ..flows import sessions
from ..web.body import read_object, validate
from ..web.call import Call, Endpoint, ResponseHook, mounted_path
from ..web.client_ip import client_info, parse_networks
from ..web.cookies import CookieJar
from ..web.credentials import CredentialResolver
from ..web.ratelimit import Limiter, MemoryLimiter, RuleBook
from ..web.security import check_login_csrf, check_origin, security_headers
from .security import check_callbacks, cors_headers

log = logging.getLogger("authkeeper.http")

MAX_BODY = 1024 * 1024
"""Largest body the API reads."""
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def wire_message(exc: errors.AuthError) -> str:
    """Better Auth's message: ``[body.field] detail`` when the error is about an input."""
    if exc.field is None:
        return exc.message
    where = f"{exc.source}.{exc.field}" if exc.field else exc.source
    return f"[{where}] {exc.message}"


def error_response(exc: errors.AuthError) -> Response:
    """The one place an AuthError becomes HTTP."""
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 429:
            headers["X-Retry-After"] = str(exc.retry_after)
    body = {"message": wire_message(exc), "code": exc.code, **exc.data}
    return Response(
        json.dumps(body, separators=(",", ":")),
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
        credentials: CredentialResolver | None = None,
        after: Mapping[str, Sequence[ResponseHook]] | None = None,
    ) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.cookies = CookieJar.from_settings(s)
        self.credentials = credentials if credentials is not None else CredentialResolver(ctx)
        """The one credential resolver (the core's session by bearer and cookie, and the
        plugins' credentials), shared with the pages and the integrations."""
        self._allow_headers = ", ".join(("content-type", *self.credentials.headers)).encode("latin-1")
        self.routes: dict[str, dict[str, Endpoint]] = {}
        self.param_routes: list[tuple[str, dict[str, Endpoint]]] = []
        for ep in endpoints:
            if "{" in ep.path:
                prefix = ep.path[: ep.path.index("{")]
                table = next((t for p, t in self.param_routes if p == prefix), None)
                if table is None:
                    table = {}
                    self.param_routes.append((prefix, table))
            else:
                table = self.routes.setdefault(ep.path, {})
            if ep.method in table:
                # Two endpoints on one route (a plugin's path setting naming a core route): the
                # later would silently replace the earlier.
                raise ValueError(f"two endpoints serve {ep.method} {ep.path}")
            table[ep.method] = ep
        self.limiter: Limiter = limiter if limiter is not None else MemoryLimiter(max_keys=s.rate_limit.memory_max_keys)
        self.rules = RuleBook(rate_limit or s.rate_limit)
        self.proxies = parse_networks(s.trusted_proxies)
        self.proxy_headers = s.proxy_headers
        self.strip_prefix = strip_prefix
        self._base_headers = security_headers(s.base_url.startswith("https://"))
        self.after: dict[str, tuple[ResponseHook, ...]] = {path: tuple(hooks) for path, hooks in (after or {}).items()}
        """Path → the plugins' hooks that run after its handler answered successfully."""

    # -- helpers (the pages use them too) ----------------------------------------------
    def relative_path(self, scope: Scope) -> str:
        return mounted_path(scope, self.strip_prefix)

    def new_call(self, request: Request, path: str) -> Call:
        """The facts of one request: who is asking, from which address, for which path."""
        return Call(
            ctx=self.ctx,
            request=request,
            cookies=self.cookies,
            client=client_info(request, self.proxies, self.proxy_headers),
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
            raise errors.AuthError(errors.TOO_MANY_REQUESTS, retry_after=wait, data={"retryAfter": wait})

    def _table(self, path: str) -> dict[str, Endpoint] | None:
        """The endpoints serving ``path``, by method; None when no route does."""
        table = self.routes.get(path)
        if table is None:
            for prefix, candidates in self.param_routes:
                rest = path[len(prefix) :]
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

    async def read_body(self, call: Call, ep: Endpoint) -> None:
        call.raw, call.is_form = await read_object(call.request, limit=MAX_BODY, form=ep.form)

    # -- the pipeline ------------------------------------------------------------------
    async def run(self, call: Call, ep: Endpoint) -> Response:
        await self.hit(call, ep.path)
        refresh = not call.dont_remember() and not call.query_flag("disableRefresh")
        credentials = self.credentials
        # A live header credential (a bearer) wins and needs no Origin (a page cannot attach one
        # cross-site without a preflight that CORS refuses); anything else is a cookie request.
        header = (
            await credentials.from_headers(call.request, ep.credentials, refresh=refresh)
            if ep.auth != "none" and credentials.carries_header(call.request)
            else None
        )
        if ep.method == "POST":
            await self.read_body(call, ep)
            if header is None and "cookie" in call.request.headers:
                check_origin(self.ctx, call.request.headers)
            elif header is None and ep.login_csrf:
                check_login_csrf(self.ctx, call.request.headers)
        check_callbacks(call, self.ctx.origins)
        if ep.auth != "none":
            if header is not None:
                credentials.settle(call, (header,))
            else:
                credentials.settle(call, await credentials.from_cookies(call.request, ep.credentials, refresh=refresh))
            if ep.auth in ("session", "fresh") and call.credential is None:
                raise errors.AuthError(errors.UNAUTHORIZED)
            if ep.auth == "fresh":
                if call.resolved is None:  # another kind of credential: only a session is fresh
                    raise errors.AuthError(errors.SESSION_NOT_FRESH)
                sessions.require_fresh(self.ctx, call.resolved.session)
        if ep.body is not None:
            call.body = validate(ep.body, call.raw, form=call.is_form)
        response = await ep.handler(call)
        if response.status_code < 400:
            for hook in self.after.get(ep.path, ()):
                await hook(call, response)
        return response

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
        ep: Endpoint | None = None
        try:
            if method == "OPTIONS":
                response = Response(status_code=204)
                if cors and origin:
                    extra += cors_headers(origin, preflight=True, allow_headers=self._allow_headers)
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
        exposed = call.exposed
        if call.new_session_value:
            extra.append((b"set-auth-token", call.new_session_value.encode("latin-1")))
            exposed = ("set-auth-token", *(h for h in exposed if h != "set-auth-token"))
        if call.headers:
            extra.extend(
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in call.headers.items()
            )
        if exposed:
            extra.append((b"access-control-expose-headers", ", ".join(exposed).encode("latin-1")))
        response.raw_headers.extend(self._base_headers)
        if ep is not None and ep.cache is not None and response.status_code == 200:
            response.raw_headers.append((b"cache-control", ep.cache.encode("latin-1")))
            if not cors:  # a shared cache must not give a CORS request an answer without ACAO
                response.raw_headers.append((b"vary", b"Origin"))
        else:
            response.raw_headers.extend(_NO_STORE)
        response.raw_headers.extend(extra)
        await response(scope, receive, send)
