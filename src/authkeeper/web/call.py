"""What a handler gets (one request's facts: who is asking, by which credential, from which
address) and how an endpoint is declared; the JSON API, the pages and the plugins share both."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from ..core import errors
from ..core.context import AuthContext
from ..core.crypto.signing import mac_b64url
from ..core.models import ClientInfo
from ..core.redirects import location_of
from ..flows.sessions import Resolved
from .body import Body
from .cookies import CookieJar

if TYPE_CHECKING:
    from .credentials import Credential

Auth = Literal["none", "optional", "session", "fresh"]
SESSION = "session"
"""The kind of credential a database session is (:class:`authkeeper.web.credentials.SessionStrategy`)."""


def mounted_path(scope: Scope, strip_prefix: str = "") -> str:
    """The request path below the mount point (``root_path``) and ``strip_prefix``."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if strip_prefix and path.startswith(strip_prefix):
        path = path[len(strip_prefix) :]
    return path or "/"


@dataclass
class Call:
    ctx: AuthContext
    request: Request
    cookies: CookieJar
    client: ClientInfo
    path: str
    """Path relative to the base path, e.g. ``/sign-in/email``."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The parsed body before validation (JSON object or form fields)."""
    body: Any = None
    is_form: bool = False
    credential: Credential | None = None
    """Who is asking, by any credential kind the endpoint accepts (a session, or a plugin's:
    an API key, a JWT); None when nobody is signed in."""
    via: str | None = None
    """The name of the transport that carried :attr:`credential` (``cookie``, ``bearer``)."""
    resolved: Resolved | None = None
    """The database session of a ``session`` credential (None for any other kind)."""
    session_token: str | None = None
    """The session token the client presented (cookie or bearer), valid or not."""
    set_cookies: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    new_session_value: str | None = None
    exposed: tuple[str, ...] = ()
    """Response headers a cross-origin front end may read (``Access-Control-Expose-Headers``):
    ``set-auth-token`` when a session is issued, and what plugins add (``set-auth-jwt``)."""

    def send_header(self, name: str, value: str, *, expose: bool = False) -> None:
        """Add a response header (``expose``: readable by a cross-origin front end too)."""
        self.headers[name] = value
        if expose and name not in self.exposed:
            self.exposed += (name,)

    @property
    def user(self):  # type: ignore[no-untyped-def]
        assert self.credential is not None
        return self.credential.user

    @property
    def session(self):  # type: ignore[no-untyped-def]
        assert self.resolved is not None
        return self.resolved.session

    def query(self, name: str) -> str | None:
        if not self.request.scope.get("query_string"):  # most requests: nothing to parse
            return None
        return self.request.query_params.get(name)

    def query_flag(self, name: str) -> bool:
        """A boolean query value: absent, empty, ``false`` and ``0`` are false."""
        value = self.query(name)
        return value is not None and value.strip().lower() not in ("", "false", "0", "no", "off")

    def presented(self, logical: str) -> str | None:
        """The unsigned value of the signed cookie ``logical`` the client sent (None if absent
        or badly signed)."""
        return self.ctx.signer.unsign(self.request.cookies.get(self.cookies.name(logical)))

    def dont_remember(self) -> bool:
        signed = self.request.cookies.get(self.cookies.dont_remember)
        return self.ctx.signer.unsign(signed) == "true"

    def set_session_cookie(self, token: str, *, remember: bool = True, expires_at: datetime | None = None) -> None:
        """The session cookie (and the bearer header); ``expires_at``, the session's end when it
        is not a new one, keeps the cookie from outliving it (a slide capped by
        ``session.absolute_lifetime``)."""
        value = self.ctx.signer.sign_for_cookie(token)
        max_age = self.ctx.settings.session.expires_in if remember else None
        if max_age is not None and expires_at is not None:
            max_age = max(0, min(max_age, math.ceil((expires_at - self.ctx.now()).total_seconds())))
        self.set_cookies.append(self.cookies.header(self.cookies.session_token, value, max_age))
        if remember:
            if self.request.cookies.get(self.cookies.dont_remember):
                self.set_cookies.append(self.cookies.delete(self.cookies.dont_remember))
        else:
            dont = self.ctx.signer.sign_for_cookie("true")
            self.set_cookies.append(self.cookies.header(self.cookies.dont_remember, dont, None))
        self.new_session_value = self.ctx.signer.sign(token)

    def set_cookie_cache(self, session: Any, user_data: dict[str, Any]) -> None:
        """Better Auth's ``session_data`` cookie (compact strategy, spec §2.4) for front-end
        middleware that reads it. Written only when enabled; authkeeper itself never reads it,
        so a revoked session is never revived by a stale cache."""
        cfg = self.ctx.settings.session
        if not cfg.cookie_cache_enabled:
            return
        max_age = cfg.cookie_cache_max_age
        payload = {
            "session": session.to_json(),
            "user": user_data,
            "updatedAt": int(self.ctx.now().timestamp() * 1000),
            "version": "1",
        }
        expires_at = int(self.ctx.now().timestamp() * 1000) + max_age * 1000
        signed = json.dumps({**payload, "expiresAt": expires_at}, separators=(",", ":"), ensure_ascii=False)
        value = {"session": payload, "expiresAt": expires_at, "signature": mac_b64url(self.ctx.settings.secret, signed)}
        encoded = _b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        remember = not self.dont_remember()
        self.set_cookies.append(self.cookies.header(self.cookies.session_data, encoded, max_age if remember else None))

    def set_signed_cookie(self, logical: str, value: str, max_age: int | None) -> None:
        name = self.cookies.name(logical)
        self.set_cookies.append(self.cookies.header(name, self.ctx.signer.sign_for_cookie(value), max_age))

    def delete_cookie(self, logical: str) -> None:
        self.set_cookies.append(self.cookies.delete(self.cookies.name(logical)))

    def clear_session_cookies(self) -> None:
        for name in (self.cookies.session_token, self.cookies.session_data, self.cookies.dont_remember):
            self.set_cookies.append(self.cookies.delete(name))

    def json(self, data: Any, status: int = 200) -> Response:
        return Response(
            json.dumps(data, separators=(",", ":"), ensure_ascii=False),
            status_code=status,
            media_type="application/json",
        )

    def redirect(self, location: str) -> Response:
        """302 to ``location``, percent-encoded so the header carries only ASCII."""
        return Response(status_code=302, headers={"Location": location_of(location)})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


Handler = Callable[[Call], Awaitable[Response]]
ResponseHook = Callable[[Call, Response], Awaitable[None]]
"""Runs after an endpoint's handler answered successfully (``Plugin.after``), e.g. to add a
header with :meth:`Call.send_header`: the jwt plugin's ``set-auth-jwt`` on get-session."""


@dataclass(frozen=True)
class Endpoint:
    """One route of the API: declared once, served by the router."""

    method: str
    path: str
    handler: Handler
    body: type[Body] | None = None
    auth: Auth = "none"
    credentials: tuple[str, ...] = (SESSION,)
    """The credential kinds the endpoint accepts (when ``auth`` is not ``none``): a session by
    default. A kind it does not name never reaches it, whatever transport carries it; ``fresh``
    also needs the credential to be a fresh session."""
    form: bool = False
    """Also accept ``application/x-www-form-urlencoded`` (sign-in and sign-up)."""
    login_csrf: bool = False
    """Apply the form CSRF rule (cross-site navigations cannot sign anyone in)."""
    query: tuple[str, ...] = ()
    """The query parameters the handler reads (documented in ``/openapi.json``)."""
    statuses: tuple[int, ...] = ()
    """Statuses the handler answers besides those the pipeline gives every endpoint of its kind
    (see :func:`authkeeper.http.openapi.statuses`); a success status here replaces 200."""
    body_doc: type[Body] | None = None
    """The body a handler validates itself (the admin endpoints check the permission first):
    documented like ``body``, not validated by the router."""
    cache: str | None = None
    """The ``Cache-Control`` of a successful answer (a JWKS: ``public, max-age=300``); every
    other answer of the API is ``no-store``."""


def require(call: Call) -> None:
    if call.credential is None:
        raise errors.AuthError(errors.UNAUTHORIZED)
