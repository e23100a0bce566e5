"""The standalone server: the API at the base path, health checks, the dev mailbox, and
the server-rendered pages at every other path."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .auth import Authkeeper
from .core import errors
from .http.app import error_response
from .http.security import security_headers
from .pages import PagesApp

def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status_code=status, media_type="application/json")


class ServerApp:
    """ASGI app for ``authkeeper serve``; also handles the lifespan protocol."""

    def __init__(self, auth: Authkeeper) -> None:
        self.auth = auth
        self.base = auth.settings.base_path
        self._headers = security_headers(auth.settings.base_url.startswith("https://"))
        auth.api.strip_prefix = self.base
        self.pages: PagesApp | None = PagesApp(auth) if auth.settings.pages.enabled else None

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
        response.raw_headers.extend(self._headers)
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
            from urllib.parse import parse_qs

            to = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("to", [""])[0]
            mails = [
                {"to": m.to, "subject": m.subject, "text": m.text, "url": m.url, "at": m.at}
                for m in self.auth.outbox.for_address(to)
            ]
            response = _json(mails)
            response.headers["Cache-Control"] = "no-store"
            return response
        if path == "/" and self.pages is None:
            return _json({"name": "authkeeper", "api": self.auth.settings.api_url, "docs": "see README"})
        return None


def create_server_app(auth: Authkeeper) -> ServerApp:
    return ServerApp(auth)
