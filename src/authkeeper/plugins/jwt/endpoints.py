"""The jwt plugin's endpoints (spec §8.3): ``GET /token``, ``GET /jwks``, and the ``set-auth-jwt``
header after get-session."""

from __future__ import annotations

import logging

from starlette.responses import Response

from ...core import errors as core_errors
from ...core.redaction import log_unhandled
from ...web.call import Call, Endpoint
from .settings import JwtSettings
from .tokens import JwtService, service_of

log = logging.getLogger("authkeeper.jwt")


def service(call: Call) -> JwtService:
    return service_of(call.ctx, "the jwt plugin's endpoints")


async def get_token(call: Call) -> Response:
    """A token for the caller's session (401 without one, 403 for an impersonation)."""
    assert call.resolved is not None
    issued = await service(call).issue(call.ctx, call.resolved.user, call.resolved.session)
    return call.json({"token": issued.token})


async def get_jwks(call: Call) -> Response:
    """The public keys: every key that signs, will sign, or signed a token still alive. The
    first request of a new deployment makes the first key, as in Better Auth."""
    jwt = service(call)
    rows = await jwt.keys.rows()
    if not rows:
        await jwt.keys.signing_key()
        rows = await jwt.keys.rows()
    return call.json({"keys": jwt.keys.jwks(rows, call.ctx.now())})


async def set_jwt_header(call: Call, response: Response) -> None:
    """After get-session: a fresh token in ``set-auth-jwt`` (readable cross-origin), when there
    is a session that may hold one."""
    if call.resolved is None or not call.ctx.settings.section(JwtSettings).set_header_on_get_session:
        return
    jwt = service(call)
    if not jwt.may_hold(call.resolved.session):
        return
    try:
        issued = await jwt.issue(call.ctx, call.resolved.user, call.resolved.session)
    except core_errors.AuthError:
        return
    except Exception:  # noqa: BLE001 - the session is answered without a token, never a 500
        log_unhandled(log, call.ctx.settings.is_production, "GET", "/get-session (set-auth-jwt)")
        return
    call.send_header("set-auth-jwt", issued.token, expose=True)


def endpoints(settings: JwtSettings) -> list[Endpoint]:
    cache = f"public, max-age={settings.jwks_max_age}"
    return [
        Endpoint("GET", "/token", get_token, auth="session", statuses=(403,)),
        Endpoint("GET", settings.jwks_path, get_jwks, cache=cache),
    ]
