"""The standalone server: the API at the base path, health checks, the dev mailbox, and
the server-rendered pages at every other path."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from .auth import Authkeeper
from .core import errors
from .http.app import error_response
from .pages import PagesApp
from .pages.app import page_headers, templates
from .web.security import security_headers


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status_code=status, media_type="application/json")


def _quality(accept: str, media: str) -> float:
    """The q-value ``accept`` gives ``media`` (``type/subtype``): that of its most specific
    matching range (``type/subtype``, then ``type/*``, then ``*/*``), 0 when none matches."""
    kind = media.split("/", 1)[0]
    best, quality = -1, 0.0
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        name = parts[0].lower()
        if name == media:
            rank = 2
        elif name == f"{kind}/*":
            rank = 1
        elif name == "*/*":
            rank = 0
        else:
            continue
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if rank > best:
            best, quality = rank, q
    return quality


def prefers_html(accept: str | None) -> bool:
    """Whether ``Accept`` asks for HTML over JSON (a browser's does); no header, ``*/*``
    or a tie means JSON."""
    if not accept:
        return False
    html = _quality(accept, "text/html")
    return html > 0 and html > _quality(accept, "application/json")


class ServerApp:
    """ASGI app for ``authkeeper serve``; also handles the lifespan protocol."""

    def __init__(self, auth: Authkeeper) -> None:
        self.auth = auth
        self.base = auth.settings.base_path
        self._headers = security_headers(auth.settings.base_url.startswith("https://"))
        auth.api.strip_prefix = self.base
        self.pages: PagesApp | None = PagesApp(auth) if auth.settings.pages.enabled else None
        self._page_headers = page_headers(auth.settings)
        self._env: Environment | None = None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.auth.startup()
                except Exception as exc:  # noqa: BLE001
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.auth.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == self.base or path.startswith(self.base + "/"):
            await self.auth.api(scope, receive, send)
            return
        response = await self._own(scope, path)
        if response is None:
            if self.pages is not None:
                await self.pages(scope, receive, send)
                return
            response = error_response(errors.AuthError(errors.NOT_FOUND))
        html = response.media_type == "text/html"
        response.raw_headers.extend(self._page_headers if html else self._headers)
        await response(scope, receive, send)

    async def _own(self, scope: Scope, path: str) -> Response | None:
        """The server's own answers (health checks, the dev mailbox, and ``/`` when there are
        no pages); None for every other path."""
        if scope["method"] not in ("GET", "HEAD"):
            return None
        if path == "/healthz":
            return _json({"status": "ok"})
        if path == "/readyz":
            try:
                await self.auth.store.ping()
            except Exception:  # noqa: BLE001 - the probe only says whether the database answers
                return _json({"status": "unavailable", "database": False}, 503)
            return _json({"status": "ok", "database": True})
        if path == "/__mailbox" and self.auth.outbox is not None:
            return self._mailbox(scope)
        if path == "/" and self.pages is None:
            return _json({"name": "authkeeper", "api": self.auth.settings.api_url, "docs": "see README"})
        return None

    def _mailbox(self, scope: Scope) -> Response:
        """The dev outbox: JSON (``?to=EMAIL``, oldest first), or for a browser an HTML inbox
        of every address (or ``?to=``), newest first."""
        outbox = self.auth.outbox
        assert outbox is not None
        to = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("to", [""])[0]
        accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"), None)
        if prefers_html(accept):
            found = outbox.for_address(to) if to.strip() else outbox.all()
            mails = [
                {
                    "to": m.to,
                    "subject": m.subject,
                    "text": m.text,
                    "at": m.at,
                    "url": m.url,
                    "link": bool(m.url and m.url.lower().startswith(("http://", "https://"))),
                }
                for m in reversed(found)
            ]
            if self._env is None:
                self._env = self.pages.env if self.pages is not None else templates()
            version = self.pages.version if self.pages is not None else ""
            body = self._env.get_template("mailbox.html").render(
                app_name=self.auth.settings.app_name,
                to=to.strip(),
                mails=mails,
                stylesheet=f"/static/authkeeper.css?v={version}" if version else "",
                icon=f"/static/icon.svg?v={version}",
            )
            response: Response = HTMLResponse(body)
        else:
            response = _json(
                [
                    {"to": m.to, "subject": m.subject, "text": m.text, "url": m.url, "at": m.at}
                    for m in outbox.for_address(to)
                ]
            )
            response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Accept"
        return response


def create_server_app(auth: Authkeeper) -> ServerApp:
    return ServerApp(auth)
