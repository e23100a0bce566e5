"""A JWT of this server as a credential (kind ``jwt``), for the endpoints and host-app routes
that declare they accept one (``Endpoint.credentials``, or the integrations' ``kinds``).

A JWT is not a session: it travels in ``Authorization: Bearer``, where the core's session
strategy finds no session in it (it carries no signed session token) and every session
endpoint ignores it. Here it is verified against this server's published keys, and its
subject must still be a user the plugins' user checks pass (admin: not banned); the
credential carries the token's claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...core.context import AuthContext
from ...core.services import TOKEN_ISSUER
from ...web.credentials import Credential, CredentialBackend, HeaderTransport, Strategy

KIND = "jwt"


@dataclass(frozen=True)
class JwtStrategy(Strategy):
    kind: ClassVar[str] = KIND

    def decode(self, ctx: AuthContext, text: str) -> str | None:
        return text if text.count(".") == 2 else None

    async def authenticate(self, ctx: AuthContext, token: str, *, refresh: bool) -> Credential | None:
        issuer = ctx.services.get(TOKEN_ISSUER)
        if issuer is None:
            return None
        claims = await issuer.verify(ctx, token)
        if claims is None:
            return None
        user = await ctx.store.find_user_by_id(str(claims["sub"]))
        if user is None or not await ctx.hooks.check_user(ctx, user):
            return None
        return Credential(KIND, user, details=dict(claims))


def backend() -> CredentialBackend:
    return CredentialBackend(HeaderTransport(name="jwt"), JwtStrategy())
