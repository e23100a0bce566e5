"""Issuing and checking the tokens, on PyJWT: the :class:`~authkeeper.core.services.TokenIssuer`
the plugin provides (``GET /token``, ``set-auth-jwt``, and other plugins: device tokens).

Claims as Better Auth's plugin issues them: the user's public fields (dates as ISO strings),
the configured ``extra_claims``, the host's and a plugin caller's claims; then, over all of
those, ``role`` (the user's effective roles, comma-separated, as the admin plugin's access
policy sees them) when the admin plugin is on, ``iat``, ``exp`` (``iat`` + ``expires_in``),
``iss`` and ``aud`` (the base origin unless set) and ``sub`` (the user id). Header: ``alg``, ``kid`` and ``typ: "JWT"``.
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import jwt as pyjwt

from ...core import errors as core_errors
from ...core.context import AuthContext
from ...core.models import Session, User
from ...core.services import ACCESS_POLICY, TOKEN_ISSUER, IssuedToken
from ...core.users import hidden_fields
from . import errors
from .keyring import KeyRing
from .settings import ALGORITHMS, JwtSettings

ClaimsHook = Callable[[AuthContext, User, Session], Awaitable[Mapping[str, Any]]]
"""Claims computed per token by the host app (``jwt(claims=...)``)."""
LEEWAY = 30
"""Seconds of clock difference tolerated on ``exp``, ``nbf`` and ``iat``."""
MAX_TOKEN = 16384
"""Longer text is not a token of ours (and is not parsed)."""


class JwtService:
    """Issues and verifies the tokens of one app."""

    def __init__(self, ctx: AuthContext, claims: ClaimsHook | None = None) -> None:
        self.ctx = ctx
        self.keys = KeyRing(ctx)
        self._claims = claims
        # The settings of a context never change: read once, not on every token.
        self.settings: JwtSettings = ctx.settings.section(JwtSettings)
        self._issuer = self.settings.issuer or ctx.settings.base_origin
        self._audience = self.settings.audience or ctx.settings.base_origin
        self._hidden = hidden_fields(ctx.settings.user)

    def issuer(self) -> str:
        return self._issuer

    def audience(self) -> str:
        return self._audience

    def may_hold(self, session: Session) -> bool:
        """Whether ``session`` may be given tokens: not one held by someone acting as the
        user, unless configured."""
        return self.settings.allow_impersonation or not self.ctx.hooks.is_delegated(session)

    async def issue(
        self,
        ctx: AuthContext,
        user: User,
        session: Session,
        *,
        claims: Mapping[str, Any] | None = None,
        expires_in: int | None = None,
    ) -> IssuedToken:
        if not self.may_hold(session):
            raise core_errors.AuthError(errors.IMPERSONATION_TOKEN_REFUSED)
        if not await ctx.hooks.check_user(ctx, user):
            raise core_errors.AuthError(core_errors.UNAUTHORIZED)
        cfg = self.settings
        lifetime = expires_in if expires_in is not None else cfg.expires_in
        if not 0 < lifetime <= max(cfg.max_expires_in, cfg.expires_in):
            # A programming error of the caller: a token outliving its key's publication.
            raise ValueError(f"a token lifetime must be 1 to jwt.max_expires_in ({cfg.max_expires_in}) s")
        now = ctx.now()
        iat = int(now.timestamp())
        payload: dict[str, Any] = user.to_json(self._hidden)
        payload.update(cfg.extra_claims)
        if self._claims is not None:
            payload.update(await self._claims(ctx, user, session))
        if claims:
            payload.update(claims)
        policy = ctx.services.get(ACCESS_POLICY)
        if policy is not None:
            # Last: no configured or computed claim names roles the access policy does not grant.
            payload["role"] = ",".join(policy.roles_of(ctx, user))
        payload.update(iat=iat, exp=iat + lifetime, iss=self.issuer(), aud=self.audience(), sub=user.id)
        record, key = await self.keys.signing_key()
        alg = record.algorithm(cfg.algorithm)
        headers = {"kid": record.id, "typ": "JWT"}
        if alg in ("RS256", "PS256"):
            # An RSA signature takes about a millisecond: off the event loop.
            token = await asyncio.to_thread(pyjwt.encode, payload, key, algorithm=alg, headers=headers)
        else:
            token = pyjwt.encode(payload, key, algorithm=alg, headers=headers)
        expires_at = now.replace(microsecond=0) + timedelta(seconds=lifetime)
        return IssuedToken(token=token, expires_at=expires_at, expires_in=lifetime)

    async def verify(self, ctx: AuthContext, token: str) -> Mapping[str, Any] | None:
        """The claims of a valid token of ours, or None: signed by a published key of this
        server with that key's algorithm (never ``none``, never an HMAC), with our ``iss`` and
        ``aud``, within ``exp`` and ``nbf``. Whatever is wrong, nothing is raised."""
        if not token or len(token) > MAX_TOKEN or token.count(".") != 2:
            return None
        try:
            header = pyjwt.get_unverified_header(token)
        except (pyjwt.PyJWTError, ValueError, TypeError, binascii.Error):
            return None
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not kid or alg not in ALGORITHMS:
            return None
        found = await self.keys.verification_key(kid)
        if found is None:
            return None
        record, public = found
        if record.algorithm(self.settings.algorithm) != alg:
            return None
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token,
                public,
                algorithms=[alg],
                audience=self.audience(),
                issuer=self.issuer(),
                # The times are checked below, against the app's clock.
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except (pyjwt.PyJWTError, ValueError, TypeError):
            return None
        return claims if _timely(claims, ctx.now().timestamp()) else None


def _seconds(value: Any) -> float | None:
    """A NumericDate claim as a number, or None when it is not one (a bool is not)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _timely(claims: Mapping[str, Any], now: float) -> bool:
    """``exp`` in the future, ``iat`` and ``nbf`` (when present) not, each within the leeway."""
    exp, iat, nbf = _seconds(claims.get("exp")), _seconds(claims.get("iat")), _seconds(claims.get("nbf", 0))
    if exp is None or iat is None or nbf is None or not isinstance(claims.get("sub"), str):
        return False
    return exp > now - LEEWAY and iat <= now + LEEWAY and nbf <= now + LEEWAY


def service_of(ctx: AuthContext, for_: str) -> JwtService:
    """The plugin's own :class:`JwtService` of an app (the ``TOKEN_ISSUER`` it provides)."""
    found = ctx.services.require(TOKEN_ISSUER, for_=for_)
    assert isinstance(found, JwtService)
    return found
