"""The ASGI app of the server-rendered pages: routing, the visitor's session and CSRF
value, the origin and CSRF check on every POST, error pages, headers, the stylesheet.

The installed plugins (``auth.plugins``) add their own after the core's: routes, templates
(looked up after the core's), header links, banners, sections of the account pages, and the
texts of their error codes and notices. The pages import no plugin.

Order per request: visitor (session, CSRF cookie) → route → POST: form, origin, CSRF →
access (session, freshness) → handler. Errors a handler does not turn into a form error
become a styled page here (403, 404, 429 with when to retry, 500); nothing else builds one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from ..core import errors
from ..core.redaction import log_unhandled
from ..flows import sessions
from ..web.body import FORM_TYPE, content_type, parse_form, read_bytes
from ..web.call import SESSION, mounted_path
from ..web.security import check_origin, security_headers
from . import account, csrf, filters, public
from .messages import MESSAGES, NOTICES, describe, retry_after, wait_words
from .page import Page
from .routes import Route, Section

if TYPE_CHECKING:
    from ..auth import Authkeeper
    from ..core.settings import Settings

log = logging.getLogger("authkeeper.pages")

MAX_FORM = 64 * 1024
"""Largest form body accepted (the biggest form holds a few short fields)."""
CSRF_MAX_AGE = 400 * 86400
"""The CSRF cookie lives as long as browsers let a cookie live (400 days)."""

_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
_STATIC = {"/static/authkeeper.css": "text/css; charset=utf-8", "/static/icon.svg": "image/svg+xml"}


def form_action(trusted: tuple[str, ...]) -> str:
    """``form-action`` for the CSP: this origin and the trusted ones (a form's redirect may
    go to a trusted ``next``); left out when a trusted pattern has no CSP spelling."""
    sources = ["'self'"]
    for item in trusted:
        item = item.strip().rstrip("/")
        if not item:
            continue
        if any(ch in item for ch in "?;, '\"\n"):
            return ""
        sources.append(item)
    return "; form-action " + " ".join(sources)


def page_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The security headers of every page (and of the dev mailbox's HTML inbox): the
    pages' CSP (no script at all), no caching."""
    csp = (_CSP + form_action(settings.trusted_origins)).encode()
    # Pages send "same-origin": under "no-referrer" a browser posts forms with "Origin: null",
    # and only fetch metadata (which older browsers lack) would then say where they came from.
    # Links carrying tokens still send nothing to other sites.
    page_values = {b"content-security-policy": csp, b"referrer-policy": b"same-origin"}
    headers = [(k, page_values.get(k, v)) for k, v in security_headers(settings.base_url.startswith("https://"))]
    return headers + [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def templates(packages: Iterable[str] = ()) -> Environment:
    """The pages' templates (autoescaped): the core's, then those in the ``templates/`` folder
    of each package named (the installed plugins'), in order."""
    loaders: list[BaseLoader] = [PackageLoader("authkeeper.pages", "templates")]
    loaders += [PackageLoader(package, "templates") for package in packages]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,  # every template, whatever its name: user data is never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters.FILTERS)
    return env


class PagesApp:
    """The pages as an ASGI app, mountable anywhere (``root_path`` aware).

    Args:
        auth: the :class:`~authkeeper.Authkeeper` whose flows, sessions, cookies and rate
            limits the pages share with its JSON API.

    ``authkeeper serve`` mounts it at ``/``; in your own Starlette app::

        app.mount("/api/auth", auth.api)
        app.mount("/", PagesApp(auth))
    """

    def __init__(self, auth: Authkeeper) -> None:
        self.auth = auth
        self.ctx = auth.ctx
        self.api = auth.api
        installed = auth.plugins
        self.env = templates(p.templates for p in installed if p.templates)
        self.routes: list[Route] = [*public.ROUTES, *account.ROUTES, *(r for p in installed for r in p.pages)]
        self.page_links = [link for p in installed for link in p.page_links]
        self.banners = [banner for p in installed for banner in p.page_banners]
        """Templates included at the top of every page (admin's "you are acting as" bar)."""
        self.sections: list[Section] = [section for p in installed for section in p.page_sections]
        self.messages = {**MESSAGES, **{code: text for p in installed for code, text in p.page_messages.items()}}
        """Error code → (field, text): the core's and the plugins' (see :func:`.messages.describe`)."""
        self.notices = {**NOTICES, **{key: text for p in installed for key, text in p.page_notices.items()}}
        """``?notice=`` key → text: the core's and the plugins'."""
        self.headers = page_headers(auth.settings)
        files = resources.files("authkeeper.pages").joinpath("static")
        self.static = {path: files.joinpath(path.rsplit("/", 1)[1]).read_bytes() for path in _STATIC}
        self.version = hashlib.sha256(b"".join(self.static.values())).hexdigest()[:12]
        """Added to the stylesheet's URL, so a new release is never served an old copy."""

    # -- rendering ---------------------------------------------------------------------
    def render(self, page: Page, template: str, context: dict[str, Any]) -> str:
        user = page.user
        session = page.session
        notice = self.notices.get(page.query("notice"))
        base: dict[str, Any] = {
            "app_name": self.ctx.settings.app_name,
            "url": page.url,
            "static": lambda name: f"{page.prefix}/static/{name}?v={self.version}",
            "csrf_field": csrf.FIELD,
            "csrf_token": page.csrf_token(),
            "me": user,
            "impersonating": bool(session and sessions.is_delegated(self.ctx, session)),
            "links": page.links,
            "banners": self.banners,
            "notice": notice,
            "path": page.path,
            "min_password": self.ctx.settings.password.min_length,
            "form_errors": {},
            "values": {},
            "focus": None,
        }
        base.update(context)
        return self.env.get_template(template).render(base)

    async def header_links(self, page: Page) -> list[tuple[str, str]]:
        """The plugins' header links for this visitor (none without a session)."""
        if page.call.resolved is None:
            return []
        found = [await link(self.ctx, page) for link in self.page_links]
        return [item for item in found if item is not None]

    async def section_context(self, page: Page, where: str) -> dict[str, Any]:
        """What the plugins add to the core page ``where``: ``sections`` (their templates, in
        order), ``section_forms`` (their forms' ids) and the values those templates read."""
        found = [section for section in self.sections if section.where == where]
        context: dict[str, Any] = {
            "sections": [s.template for s in found],
            "section_forms": [form for s in found for form in s.forms],
        }
        for section in found:
            if section.context is not None:
                context.update(await section.context(page))
        return context

    def error_page(self, page: Page, status: int, *, title: str, message: str, **extra: Any) -> Response:
        return page.render("error.html", status=status, status_code=status, title=title, message=message, **extra)

    # -- the pipeline ------------------------------------------------------------------
    def find(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its path values, and whether the path exists for another method."""
        other = False
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == method:
                return route, params, True
            other = True
        return None, {}, other

    async def read_form(self, page: Page) -> None:
        """The posted form, read as the API reads one (a smaller size limit; only forms)."""
        request = page.call.request
        raw = await read_bytes(request, MAX_FORM)
        if raw.strip() and content_type(request) != FORM_TYPE:
            raise errors.AuthError(errors.UNSUPPORTED_MEDIA_TYPE)
        page.form = parse_form(raw)

    async def handle(self, page: Page, method: str) -> Response:
        route, params, exists = self.find(method, page.path)
        # The session cookie only: a browser sends no bearer token. Resolved for every page,
        # so that even a 404 knows who is asking (and offers the account, not the sign-in).
        call = page.call
        credentials = self.auth.credentials
        credentials.settle(
            call, await credentials.from_cookies(call.request, (SESSION,), refresh=not call.dont_remember())
        )
        page.links = await self.header_links(page)
        if route is None:
            if exists:
                return self.error_page(
                    page, 405, title="Not allowed", message="This address does not take that kind of request."
                )
            return self.error_page(
                page,
                404,
                title="Page not found",
                message="We could not find that page. Check the address, or go back to the start.",
            )
        page.params = params
        if method == "POST":
            await self.read_form(page)
            try:
                check_origin(self.ctx, call.request.headers)
            except errors.AuthError:
                return self.forbidden(page, "This form was sent from another site, so we did not act on it.")
            session = page.session
            if not csrf.check(self.ctx.secrets, page.seed, session.id if session else None, page.form.get(csrf.FIELD)):
                return self.forbidden(
                    page,
                    "This form has expired or was not sent from this site. Go back, reload the page and try again.",
                )
        if route.access != "public" and page.user is None:
            return page.redirect(page.url("/sign-in", next=page.here() if method == "GET" else ""))
        if route.access == "fresh":
            assert page.session is not None
            if not sessions.is_fresh(self.ctx, page.session):
                return page.redirect(page.url("/reauth", next=page.here() if method == "GET" else page.url("/account")))
        return await route.handler(page)

    def forbidden(self, page: Page, message: str) -> Response:
        return self.error_page(page, 403, title="Not allowed", message=message)

    def from_error(self, page: Page, exc: errors.AuthError) -> Response:
        """An error no handler turned into a form error, as a page."""
        if exc.code == "UNAUTHORIZED":
            return page.redirect(page.url("/sign-in", next=page.here() if page.call.request.method == "GET" else ""))
        if exc.status == 429:
            wait = retry_after(exc)
            response = self.error_page(
                page,
                429,
                title="Slow down",
                message="There were too many attempts from your network in a short time.",
                retry=f"Try again in {wait_words(wait)}." if wait else "Wait a few minutes, then try again.",
            )
            if wait:
                response.headers["Retry-After"] = str(wait)
            return response
        if exc.status == 403:
            return self.forbidden(page, "You do not have access to this page.")
        if exc.status == 404:
            return self.error_page(page, 404, title="Page not found", message="We could not find that page.")
        if exc.status >= 500:
            return self.server_error(page)
        return self.error_page(
            page,
            exc.status,
            title="Something is not right",
            message=describe(exc, self.ctx.settings, messages=self.messages).message,
        )

    def server_error(self, page: Page) -> Response:
        try:
            return self.error_page(
                page,
                500,
                title="Something went wrong",
                message="The problem is on our side, not yours. Try again in a moment.",
            )
        except Exception:  # the page itself failed (a template, the session): plain words
            log.exception("the error page failed")
            return HTMLResponse(
                "<!doctype html><html lang=en><meta charset=utf-8><title>Something went wrong</title>"
                "<h1>Something went wrong</h1><p>The problem is on our side, not yours. Try again in a moment.</p>",
                status_code=500,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        root: str = scope.get("root_path", "")
        path = mounted_path(scope)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        if method == "GET" and path in self.static:
            await self.static_file(path)(scope, receive, send)
            return
        jar = self.api.cookies
        call = self.api.new_call(request, path)
        seed = request.cookies.get(jar.name(csrf.COOKIE))
        page = Page(self, call, root.rstrip("/"), path, seed=seed if csrf.valid_seed(seed) else "")
        new_seed = not page.seed
        if new_seed:
            page.seed = csrf.new_seed()
        try:
            try:
                if "\x00" in path or b"%00" in scope.get("query_string", b""):
                    raise errors.AuthError(errors.NOT_FOUND)
                response = await self.handle(page, method)
            except errors.AuthError as exc:
                response = self.from_error(page, exc)
        except Exception:  # noqa: BLE001 - the visitor gets a clean page, the log the details
            log_unhandled(log, self.ctx.settings.is_production, method, path)
            call.set_cookies.clear()
            response = self.server_error(page)
        if new_seed:
            call.set_cookies.append(jar.header(jar.name(csrf.COOKIE), page.seed, CSRF_MAX_AGE))
        response.raw_headers.extend(self.headers)
        for cookie in call.set_cookies:
            response.raw_headers.append((b"set-cookie", cookie.encode("latin-1")))
        await response(scope, receive, send)

    def static_file(self, path: str) -> Response:
        return Response(
            self.static[path],
            media_type=_STATIC[path],
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )
