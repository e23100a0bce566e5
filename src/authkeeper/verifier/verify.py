"""The :class:`Verifier`: a service that shares no database with the auth server checks its
users' JWTs against the server's JWKS, and asks ``get-session`` where a JWT is not enough.

PyJWT does every signature and claim check; this module decides *which* key and algorithm it
may use (the key's own, named by ``kid``, and only if the token claims that same algorithm and
the allow-list has it) and turns every refusal into a :class:`VerifierError` with a stable code.
Anything PyJWT or ``cryptography`` raises on a malformed token is a 401, never a 500.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
import jwt

from . import errors
from .errors import VerifierError
from .introspection import bearer_token, introspect
from .introspection import check_origin as _check_origin
from .jwks import CachePolicy, JWKSCache
from .keys import DEFAULT_ALGORITHMS, check_algorithms
from .principal import Claims, Permissions, Principal, RoleTable, SessionInfo, parse_roles
from .transport import Transport, is_loopback, loggable, origin_of

MAX_TOKEN_LENGTH = 16384
"""A JWT of a user's fields is well under 2 KB; anything longer is refused before any parsing."""

_REQUIRED = ["exp", "iss", "aud", "sub"]
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def session_url_of(jwks_url: str) -> str | None:
    """``…/api/auth/jwks`` → ``…/api/auth/get-session``; ``None`` for another shape."""
    parts = urlsplit(jwks_url)
    if not parts.path.endswith("/jwks"):
        return None
    return parts._replace(path=parts.path.removesuffix("/jwks") + "/get-session", query="", fragment="").geturl()


def _origin_or_none(value: str) -> str | None:
    try:
        return origin_of(value)
    except ValueError:
        return None


def _unencrypted(url: str) -> bool:
    """An ``http://`` URL to another machine: cookies (``__Secure-`` ones too) and session
    tokens sent there travel in clear."""
    return urlsplit(url).scheme == "http" and not is_loopback(url)


def _session_url(jwks_url: str, issuer: str, given: str | None) -> tuple[str | None, str | None]:
    """``(session_url, why there is none)``: the given one, checked (ValueError when unusable),
    or one derived from ``jwks_url`` only where that is safe."""
    if given is not None:
        origin_of(given)  # an absolute http(s) URL, or ValueError
        if _unencrypted(given):
            raise ValueError(
                f"session_url {loggable(given)} is http:// on a host other than this machine: the users' "
                "cookies and session tokens would travel unencrypted; use https (http only for "
                "127.0.0.1, ::1 or localhost)"
            )
        return given, None
    hint = "pass Verifier(..., session_url='https://<auth server>/api/auth/get-session')"
    derived = session_url_of(jwks_url)
    if derived is None:
        return None, f"jwks_url does not end with /jwks, so no get-session URL can be derived from it; {hint}"
    jwks_origin, issuer_origin = origin_of(jwks_url), _origin_or_none(issuer)
    if jwks_origin != issuer_origin:
        # A JWKS on a CDN: its host must not receive the users' cookies and session tokens.
        return None, (
            f"the JWKS is served from {jwks_origin}, not from the issuer's origin ({issuer!r}), so "
            f"get-session is not derived from it (that host would receive the users' cookies); {hint}"
        )
    if _unencrypted(derived):
        return None, (
            f"the derived get-session URL {loggable(derived)} is http:// on a host other than this "
            f"machine: cookies and session tokens would travel unencrypted; serve the auth server over "
            f"https and {hint}"
        )
    return derived, None


def _origins(origins: Sequence[str]) -> frozenset[str]:
    if isinstance(origins, str):
        raise TypeError("trusted_origins must be a list of origins, e.g. ['https://app.example.com']")
    found = set()
    for origin in origins:
        if not isinstance(origin, str):
            raise TypeError("trusted_origins must be a list of origins, e.g. ['https://app.example.com']")
        found.add(origin_of(origin))  # ValueError for anything but an http(s) URL
    return frozenset(found)


def _get(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` of a case-insensitive mapping (Starlette's, httpx's) or a plain dict."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to choose the key: PyJWT parses it again when it verifies and
    refuses the token if its reading differs (it checks ``alg`` against the one allowed). Read
    here rather than with ``jwt.get_unverified_header``, which decodes and checks all three
    segments character by character and would double PyJWT's parsing cost per token."""
    segment = token.partition(".")[0]
    if not _BASE64URL.fullmatch(segment):
        raise ValueError("not base64url")
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    if not isinstance(header, dict):
        raise TypeError("not a JSON object")
    return header


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Verifier:
    """Verifies the auth server's JWTs.

    Args:
        jwks_url: the auth server's JWKS, e.g. ``https://auth.example.com/api/auth/jwks``.
        issuer: the required ``iss``; default: the origin of ``jwks_url``.
        audience: the required ``aud`` (one of them, for a list); default: the origin of ``jwks_url``.
        algorithms: the allow-list (never ``none`` nor ``HS*``: configuring one fails here).
        leeway: seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
        cache: the JWKS lifetimes and refetch intervals (:class:`CachePolicy`).
        timeout: seconds any request to the auth server may take, all in all.
        client: a shared ``httpx.AsyncClient`` (not closed here); default: one made on first
            use and closed by :meth:`aclose`. Its cookie jar is never sent, but a cookie the
            auth server sets in answer to an introspection lands in it: share a client that
            does not make cookie-bearing requests to the auth server, or leave this ``None``.
        roles: the auth server's role table, for :meth:`has_permission`.
        default_role: the role of a user whose ``role`` is empty (the admin plugin's
            ``default_role``, usually ``"user"``); default: no role.
        session_url: the auth server's ``get-session`` for :meth:`introspect`; default:
            ``jwks_url`` with ``/jwks`` replaced by ``/get-session``, but only when the JWKS is
            served from the issuer's origin (a JWKS on a CDN must not receive the users'
            cookies: give ``session_url`` then). ``http://`` is refused unless the host is this
            machine (``127.0.0.1``, ``::1``, ``localhost``): cookies would travel unencrypted.
            Without one, :meth:`introspect` raises ``RuntimeError`` saying why, and
            ``JWTAuth.current_session`` fails where a route declares it.
        trusted_origins: the origins whose pages may send this service unsafe requests (POST,
            PUT, PATCH, DELETE, ...) that :meth:`introspect_request` introspects *by cookie*,
            e.g. your front end's ``https://app.example.com``; the issuer's origin is always
            trusted. Normalised like the issuer (``HTTPS://App.example.com:443`` is
            ``https://app.example.com``); a value that is not an http(s) origin fails here.
        cookie_prefix: the auth server's cookie prefix: introspection forwards only those
            cookies (``None``: the whole ``Cookie`` header).
        max_token_length: longer tokens are refused unread.
        clock: monotonic seconds for the JWKS cache (tests pass a fake one).
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str | None = None,
        audience: str | Sequence[str] | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = 30.0,
        cache: CachePolicy | None = None,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
        roles: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        default_role: str | None = None,
        session_url: str | None = None,
        cookie_prefix: str | None = "better-auth",
        trusted_origins: Sequence[str] = (),
        max_token_length: int = MAX_TOKEN_LENGTH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        derived = origin_of(jwks_url)
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        if max_token_length <= 0:
            raise ValueError("max_token_length must be positive")
        self.jwks_url = jwks_url
        self.issuer = derived if issuer is None else issuer
        self.audience: str | list[str] = derived if audience is None else _audience(audience)
        if not self.issuer:
            raise ValueError("issuer must not be empty")
        self.algorithms = check_algorithms(algorithms)
        self.leeway = float(leeway)
        self.roles = RoleTable(roles) if roles is not None else None
        self.default_role = default_role
        # The get-session URL, or None and, in no_session_url, why there is none.
        self.session_url, self.no_session_url = _session_url(jwks_url, self.issuer, session_url)
        # The origins an unsafe request introspected by cookie may come from.
        issuer_origin = _origin_or_none(self.issuer)
        self.trusted_origins: frozenset[str] = _origins(trusted_origins) | (
            {issuer_origin} if issuer_origin else frozenset()
        )
        self.cookie_prefix = cookie_prefix
        self.max_token_length = max_token_length
        self._transport = Transport(client, timeout)
        self.jwks = JWKSCache(jwks_url, self._transport, cache or CachePolicy(), clock)

    # -- tokens ------------------------------------------------------------------------------
    async def verify(self, token: str) -> Claims:
        """The claims of a valid token; raises :class:`VerifierError` (401 with a stable code,
        or 503 ``JWKS_UNAVAILABLE`` when no usable key can be had)."""
        if not isinstance(token, str) or not token:
            raise VerifierError(errors.MISSING_TOKEN)
        if len(token) > self.max_token_length:
            raise VerifierError(errors.INVALID_TOKEN, "The token is too long")
        if token.count(".") != 2:
            raise VerifierError(errors.INVALID_TOKEN, "The token is not a JWT")
        try:
            header = _header(token)
        except Exception:  # noqa: BLE001  # any malformed header is the caller's fault
            raise VerifierError(errors.INVALID_TOKEN, "The token is not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        # Checked before any key lookup, so a forged header never costs a JWKS fetch.
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise VerifierError(errors.INVALID_TOKEN, "The token's algorithm is not allowed")
        if not isinstance(kid, str) or not kid:
            raise VerifierError(errors.INVALID_TOKEN, "The token names no key")
        if "crit" in header:
            raise VerifierError(errors.INVALID_TOKEN, "The token has critical header parameters")
        key = await self.jwks.key(kid)
        if key.algorithm != alg:
            raise VerifierError(errors.INVALID_TOKEN, "The token's algorithm is not its key's")
        payload = self._decode(token, key.key, alg)
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise VerifierError(errors.INVALID_TOKEN, "The token names no subject")
        iat = payload.get("iat")
        if iat is not None:
            # Checked here too: PyJWT before 2.10 only checks that iat is a number.
            if not _is_number(iat):
                raise VerifierError(errors.INVALID_TOKEN, "The token's iat is not a number")
            if iat > time.time() + self.leeway:
                raise VerifierError(errors.TOKEN_NOT_YET_VALID, "The token was issued in the future")
        return Claims(sub, parse_roles(payload.get("role"), self.default_role), payload)

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise VerifierError(errors.TOKEN_EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise VerifierError(errors.TOKEN_NOT_YET_VALID) from None
        except jwt.InvalidAudienceError:
            raise VerifierError(errors.INVALID_AUDIENCE) from None
        except jwt.InvalidIssuerError:
            raise VerifierError(errors.INVALID_ISSUER) from None
        except jwt.MissingRequiredClaimError as exc:
            # exc.claim is one of _REQUIRED, never a value from the token.
            raise VerifierError(errors.INVALID_TOKEN, f"The token has no {exc.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise VerifierError(errors.INVALID_TOKEN, "The token's signature is invalid") from None
        except Exception:  # noqa: BLE001  # malformed payload, bad types, odd encodings: all 401
            raise VerifierError(errors.INVALID_TOKEN) from None
        return payload

    async def verify_authorization(self, header: str | None) -> Claims:
        """The claims of the token in an ``Authorization: Bearer <jwt>`` header value
        (401 ``MISSING_TOKEN`` without one)."""
        token = bearer_token(header)
        if token is None:
            raise VerifierError(errors.MISSING_TOKEN)
        return await self.verify(token)

    async def prefetch(self) -> None:
        """Fetch the JWKS now (at start-up, so the first request does not wait for it); raises
        503 ``JWKS_UNAVAILABLE`` when the auth server cannot give it."""
        await self.jwks.refresh()

    # -- introspection -----------------------------------------------------------------------
    async def introspect(self, *, cookie: str | None = None, authorization: str | None = None) -> SessionInfo:
        """The live session behind a caller's ``Authorization: Bearer <session token>`` header
        (then its cookies are not forwarded) or else its ``Cookie`` header, asked of the auth
        server now (nothing cached, the session not refreshed): 401 ``MISSING_TOKEN`` /
        ``INVALID_SESSION``, 503 ``AUTH_SERVER_UNAVAILABLE``.

        This checks no Origin: the auth server does not either (get-session is a GET), so a
        cookie forwarded for an unsafe request is a CSRF hole unless the request's origin was
        checked. Prefer :meth:`introspect_request`, which does it, or call :meth:`check_origin`
        first. ``RuntimeError`` without a ``session_url`` (see the constructor)."""
        if self.session_url is None:
            raise RuntimeError(f"introspection needs session_url: {self.no_session_url}")
        return await introspect(
            self._transport,
            self.session_url,
            cookie=cookie,
            authorization=authorization,
            cookie_prefix=self.cookie_prefix,
            default_role=self.default_role,
        )

    def check_origin(self, method: str, headers: Mapping[str, str]) -> None:
        """CSRF, for a request about to be introspected: an unsafe one (not GET, HEAD nor
        OPTIONS) whose credential would be a forwarded cookie (it carries the auth server's
        cookies and no ``Authorization: Bearer``) must send an ``Origin`` (or, without any
        ``Origin``, a ``Referer``) in :attr:`trusted_origins`; ``Origin: null`` never is.
        Raises 403 ``INVALID_ORIGIN``. A bearer needs no Origin (a page cannot attach one to a
        cross-site request without a CORS preflight). ``headers``: the request's (Starlette's
        or httpx's ``Headers``, or a dict)."""
        _check_origin(
            method,
            origin=_get(headers, "origin"),
            referer=_get(headers, "referer"),
            cookie=_get(headers, "cookie"),
            authorization=_get(headers, "authorization"),
            cookie_prefix=self.cookie_prefix,
            trusted=self.trusted_origins,
        )

    async def introspect_request(self, method: str, headers: Mapping[str, str]) -> SessionInfo:
        """:meth:`check_origin`, then :meth:`introspect` with the request's ``Cookie`` and
        ``Authorization``: the auth server is not asked about a refused request."""
        self.check_origin(method, headers)
        return await self.introspect(cookie=_get(headers, "cookie"), authorization=_get(headers, "authorization"))

    # -- roles -------------------------------------------------------------------------------
    def has_role(self, principal: Principal, *roles: str) -> bool:
        """Whether the caller holds one of ``roles``."""
        if not roles:
            raise ValueError("name at least one role")
        return not set(roles).isdisjoint(principal.roles)

    def has_permission(self, principal: Principal, permissions: Permissions) -> bool:
        """Whether one of the caller's roles allows every action of ``permissions``
        (``{"user": ["ban"]}``), by the role table given as ``roles``."""
        return self.role_table("has_permission").allows(principal.roles, permissions)

    def check_role(self, principal: Principal, *roles: str) -> None:
        """:meth:`has_role`, raising 403 ``FORBIDDEN``."""
        if not self.has_role(principal, *roles):
            raise VerifierError(errors.FORBIDDEN)

    def check_permission(self, principal: Principal, permissions: Permissions) -> None:
        """:meth:`has_permission`, raising 403 ``FORBIDDEN``."""
        if not self.has_permission(principal, permissions):
            raise VerifierError(errors.FORBIDDEN)

    def role_table(self, what: str) -> RoleTable:
        if self.roles is None:
            raise RuntimeError(f"{what} needs the role table: Verifier(..., roles={{...}})")
        return self.roles

    # -- lifecycle ---------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the HTTP client the verifier made (a shared one stays open)."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


def _audience(audience: str | Sequence[str]) -> str | list[str]:
    if isinstance(audience, str):
        if not audience:
            raise ValueError("audience must not be empty")
        return audience
    found = list(audience)
    if not found or not all(isinstance(a, str) and a for a in found):
        raise ValueError("audience must be a non-empty string or list of strings")
    return found
