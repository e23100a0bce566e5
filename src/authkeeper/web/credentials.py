"""Credentials as transports × strategies (the fastapi-users idea), behind one resolver.

A **transport** says where a credential travels: a cookie, or a request header. A **strategy**
says what it is and how it is checked, under a kind name: ``session`` (a database session),
and what plugins add (an API key, a JWT, a refresh token). A :class:`CredentialBackend` pairs
one of each. The core registers two, both of kind ``session``: the ``Authorization: Bearer``
header and the signed session cookie. A plugin adds its own in ``Plugin.credentials``, merged
by the composition root; nothing here changes for it.

One :class:`CredentialResolver` serves the JSON API, the pages and the integrations, with one
precedence rule (Hardening I, item 11):

1. **Header credentials** (transports that are not ``ambient``), in registration order: the
   first that names a live credential of a kind the endpoint accepts wins, and needs no Origin
   (a page cannot attach a header cross-site without a preflight that CORS refuses). Whatever
   else a header carries is ignored.
2. Otherwise the request is judged by its **cookies** (``ambient`` transports, which a browser
   sends by itself), with every cookie check: an unsafe request carrying one must pass the
   origin check of :mod:`authkeeper.web.security`.

Only the backends of the kinds an endpoint accepts (``Endpoint.credentials``, a session by
default) are consulted: an endpoint that does not name a kind never sees a credential of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from starlette.requests import HTTPConnection

from ..core.context import AuthContext
from ..core.models import Session, User
from ..flows import sessions
from .call import SESSION
from .cookies import CookieJar
from .security import check_origin

if TYPE_CHECKING:
    from .call import Call

_BARE_TOKEN = re.compile(r"^[A-Za-z0-9]{32}$")


@dataclass(frozen=True, slots=True)
class Credential:
    """Who is asking, as a strategy established it."""

    kind: str
    """The strategy's kind (``session``, or a plugin's: ``api-key``, ``jwt``)."""
    user: User
    session: Session | None = None
    """The database session, for a ``session`` credential."""
    refreshed: bool = False
    """The session's expiry slid while it was read (its cookie is sent again)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """What else the strategy knows (an API key's permissions, a JWT's claims)."""
    resolved: sessions.Resolved | None = None
    """For a ``session`` credential: the flow's answer, as handlers read it (``call.resolved``)."""


class Transport(Protocol):
    """Where a credential travels."""

    @property
    def name(self) -> str:
        """Names the transport in ``Call.via`` (``cookie``, ``bearer``)."""
        ...

    @property
    def ambient(self) -> bool:
        """Sent by the browser on its own (a cookie): it loses to any header credential, and
        an unsafe request carrying it must pass the origin check."""
        ...

    @property
    def headers(self) -> tuple[str, ...]:
        """The request headers it reads (the API's CORS preflight allows them)."""
        ...

    def read(self, request: HTTPConnection, cookies: CookieJar) -> str | None:
        """The credential's text as sent, or None when the request carries none here."""
        ...


@dataclass(frozen=True, slots=True)
class CookieTransport:
    """A cookie, by its logical name (``session_token``: Better Auth's session cookie)."""

    logical: str = "session_token"
    name: str = "cookie"
    ambient: bool = True
    headers: tuple[str, ...] = ()

    def read(self, request: HTTPConnection, cookies: CookieJar) -> str | None:
        return request.cookies.get(cookies.name(self.logical))


@dataclass(frozen=True, slots=True)
class HeaderTransport:
    """A request header, with an authentication scheme (``Authorization: Bearer …``) or
    without one (``scheme=None``: the whole value, as for ``x-api-key``)."""

    header: str = "authorization"
    scheme: str | None = "bearer"
    name: str = "bearer"
    ambient: bool = False

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.header,)

    def read(self, request: HTTPConnection, cookies: CookieJar) -> str | None:
        value = request.headers.get(self.header)
        if not value:
            return None
        if self.scheme is not None:
            scheme, _, value = value.partition(" ")
            if scheme.lower() != self.scheme:
                return None
        value = value.strip()
        return value or None


class Strategy:
    """What a credential is and how it is checked. Subclasses set ``kind`` and implement
    :meth:`authenticate`; :meth:`decode` and :meth:`respond` are optional."""

    kind: ClassVar[str]

    def decode(self, ctx: AuthContext, text: str) -> str | None:
        """The token in the text a transport read (e.g. the value of a signed cookie), or None
        when it is not one of this kind: then nothing was presented."""
        return text

    async def authenticate(self, ctx: AuthContext, token: str, *, refresh: bool) -> Credential | None:
        """The live credential ``token`` names, or None (the resolver moves on: a header's is
        ignored, a cookie's is answered by :meth:`respond`). May raise AuthError to refuse the
        request outright."""
        raise NotImplementedError

    def respond(self, call: Call, found: Found) -> None:
        """Settle the call with what was found (``found.credential`` None: a cookie named
        nothing live), e.g. the cookies to send again or to clear. The resolver has set
        ``call.credential`` and ``call.via`` already."""


@dataclass(frozen=True)
class SessionStrategy(Strategy):
    """A database session, named by its signed token (or, with ``bare``, by the bare 32-character
    token too, as a bearer header may carry it)."""

    kind: ClassVar[str] = SESSION
    bare: bool = False

    def decode(self, ctx: AuthContext, text: str) -> str | None:
        if "." in text or "%" in text:
            return ctx.signer.unsign(text)
        return text if self.bare and _BARE_TOKEN.match(text) else None

    async def authenticate(self, ctx: AuthContext, token: str, *, refresh: bool) -> Credential | None:
        resolved = await sessions.resolve(ctx, token, refresh=refresh)
        if resolved is None:
            return None
        return Credential(SESSION, resolved.user, resolved.session, resolved.refreshed, resolved=resolved)

    def respond(self, call: Call, found: Found) -> None:
        """The cookies of a dead session are cleared; the cookie of a session whose expiry
        slid is sent again."""
        call.session_token = found.token
        credential = found.credential
        if credential is None:
            call.clear_session_cookies()
            return
        assert credential.session is not None
        call.resolved = credential.resolved or sessions.Resolved(
            credential.session, credential.user, credential.refreshed
        )
        if credential.refreshed:
            call.set_session_cookie(found.token, expires_at=credential.session.expires_at)


@dataclass(frozen=True, slots=True)
class CredentialBackend:
    """A transport and a strategy: one way a credential reaches the server."""

    transport: Transport
    strategy: Strategy

    @property
    def kind(self) -> str:
        return self.strategy.kind


@dataclass(slots=True)
class Found:
    """A credential a transport presented: its token, and what the strategy made of it."""

    backend: CredentialBackend
    token: str
    credential: Credential | None


def core_credentials() -> tuple[CredentialBackend, ...]:
    """The core's: a session by bearer header (signed or bare token), by signed cookie."""
    return (
        CredentialBackend(HeaderTransport(), SessionStrategy(bare=True)),
        CredentialBackend(CookieTransport(), SessionStrategy()),
    )


class CredentialResolver:
    """The one resolver (see the module's docstring for the precedence rule)."""

    def __init__(self, ctx: AuthContext, backends: Iterable[CredentialBackend] | None = None) -> None:
        self.ctx = ctx
        self.cookies = CookieJar.from_settings(ctx.settings)
        self.backends = tuple(core_credentials() if backends is None else backends)
        self._by_kinds: dict[tuple[str, ...], tuple[tuple[CredentialBackend, ...], tuple[CredentialBackend, ...]]] = {}
        self._header_names = frozenset(h.encode("latin-1") for h in self.headers)

    @property
    def headers(self) -> tuple[str, ...]:
        """The request headers the transports read, lower-cased, in order, once each."""
        names = (h.lower() for b in self.backends for h in b.transport.headers)
        return tuple(dict.fromkeys(names))

    def carries_header(self, request: HTTPConnection) -> bool:
        """Whether the request has a header some transport reads (most requests of a browser
        have none: their header backends need not be asked)."""
        names = self._header_names
        for name, _ in request.scope["headers"]:  # on every request: a plain loop
            if name in names:
                return True
        return False

    def backends_for(self, kinds: Sequence[str]) -> tuple[tuple[CredentialBackend, ...], tuple[CredentialBackend, ...]]:
        """The header backends and the cookie (ambient) backends of ``kinds``, in order."""
        key = tuple(kinds)
        split = self._by_kinds.get(key)
        if split is None:
            chosen = [b for b in self.backends if b.kind in key]
            split = (
                tuple(b for b in chosen if not b.transport.ambient),
                tuple(b for b in chosen if b.transport.ambient),
            )
            self._by_kinds[key] = split
        return split

    def _token(self, backend: CredentialBackend, request: HTTPConnection) -> str | None:
        text = backend.transport.read(request, self.cookies)
        return backend.strategy.decode(self.ctx, text) if text is not None else None

    async def from_headers(self, request: HTTPConnection, kinds: Sequence[str], *, refresh: bool) -> Found | None:
        """The first live header credential of ``kinds``; None when there is none (whatever
        the headers carry that is no live credential is ignored)."""
        if not self.carries_header(request):
            return None
        for backend in self.backends_for(kinds)[0]:
            token = self._token(backend, request)
            if token is None:
                continue
            credential = await backend.strategy.authenticate(self.ctx, token, refresh=refresh)
            if credential is not None:
                return Found(backend, token, credential)
        return None

    async def from_cookies(self, request: HTTPConnection, kinds: Sequence[str], *, refresh: bool) -> list[Found]:
        """What the cookies of ``kinds`` present, in order, up to the first live one (the
        credential); the others named nothing live. Empty when no cookie presents a token."""
        found: list[Found] = []
        for backend in self.backends_for(kinds)[1]:
            token = self._token(backend, request)
            if token is None:
                continue
            credential = await backend.strategy.authenticate(self.ctx, token, refresh=refresh)
            found.append(Found(backend, token, credential))
            if credential is not None:
                break
        return found

    def settle(self, call: Call, found: Iterable[Found]) -> None:
        """Put the live credential among ``found`` on ``call`` and let each strategy respond."""
        for item in found:
            if item.credential is not None:
                call.credential = item.credential
                call.via = item.backend.transport.name
            item.backend.strategy.respond(call, item)

    async def authenticate(
        self, request: HTTPConnection, kinds: Sequence[str] = (SESSION,), *, unsafe: bool, refresh: bool = False
    ) -> Credential | None:
        """The caller's credential for a host app's own route (FastAPI or Starlette), or None;
        nothing is written back. A header credential wins; else, for an ``unsafe`` request
        whose cookie presents a token, the origin check (raises AuthError) comes first."""
        found = await self.from_headers(request, kinds, refresh=refresh)
        if found is not None:
            return found.credential
        presented = [(b, token) for b in self.backends_for(kinds)[1] if (token := self._token(b, request)) is not None]
        if presented and unsafe:
            check_origin(self.ctx, request.headers)
        for backend, token in presented:
            credential = await backend.strategy.authenticate(self.ctx, token, refresh=refresh)
            if credential is not None:
                return credential
        return None
