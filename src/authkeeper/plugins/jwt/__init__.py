"""JSON Web Tokens for other backends, wire-compatible with Better Auth's ``jwt`` plugin.

``GET /token`` gives the signed-in caller a short-lived JWT; ``GET /jwks`` publishes the keys
that verify it (with a ``Cache-Control`` verifiers can honour); every get-session that has a
session carries a fresh token in ``set-auth-jwt``. Keys live in Better Auth's ``jwks`` table,
their private halves encrypted with the secret as Better Auth encrypts them, and rotate on a
schedule (:mod:`.keyring`). Other services verify the tokens with ``authkeeper_verifier``,
sharing no database. The plugin provides :data:`~authkeeper.core.services.TOKEN_ISSUER`.
"""

from __future__ import annotations

from ...core.context import AuthContext
from ...core.services import TOKEN_ISSUER
from ..base import Plugin
from . import cli, credential, endpoints, schema
from .events import JwtEvent
from .settings import JwtSettings
from .tokens import ClaimsHook, JwtService

__all__ = ["ClaimsHook", "JwtService", "JwtSettings", "jwt"]

PLUGIN_ID = "jwt"


def jwt(settings: JwtSettings | None = None, *, claims: ClaimsHook | None = None) -> Plugin:
    """The plugin. Its options are the ``[jwt]`` section (``Settings(jwt=...)``), read through
    the context at request time; ``settings``, when given, must be that section (its
    ``jwks_path`` and ``jwks_max_age`` shape the routes): ``jwt(settings.section(JwtSettings))``.
    ``claims(ctx, user, session)`` adds claims computed per token."""
    shape = settings if settings is not None else JwtSettings()
    if settings is not None and not settings.enabled:
        return Plugin(id=PLUGIN_ID)

    def check(ctx: AuthContext) -> None:
        live = ctx.settings.section(JwtSettings)
        if (live.jwks_path, live.jwks_max_age) != (shape.jwks_path, shape.jwks_max_age):
            raise ValueError(
                "jwt: the plugin was built for another [jwt] section than the app's settings; "
                "build it with jwt(settings.section(JwtSettings))"
            )

    return Plugin(
        id=PLUGIN_ID,
        schema=schema.SCHEMA,
        endpoints=tuple(endpoints.endpoints(shape)),
        after=(("/get-session", endpoints.set_jwt_header),),
        credentials=(credential.backend(),),
        provides={TOKEN_ISSUER: lambda ctx: JwtService(ctx, claims)},
        audit_events=tuple(e.value for e in JwtEvent),
        cli=cli.register,
        init=check,
    )
