"""An API service that knows who calls it, and shares no database with the auth server.

The auth server runs with the jwt plugin on; this service only fetches its public keys (the
JWKS) and checks each caller's token offline, with ``authkeeper.verifier`` (it needs PyJWT,
cryptography and httpx: ``pip install 'authkeeper[verifier]' fastapi uvicorn``). From the
repository's root:

    AUTHKEEPER_JWT__ENABLED=true ./dev serve                          # the auth server, :8000
    AUTH_URL=http://127.0.0.1:8000 .venv/bin/python examples/api_service/service.py   # :8002

A front end signs in against the auth server, takes a token from ``authClient.token()`` (or the
``set-auth-jwt`` header of get-session), and calls this service with ``Authorization: Bearer
<token>``:

- ``GET /me``: the caller's claims (401 without a valid token);
- ``GET /admin/stats``: admins only (403 for others), from the token's ``role`` claim;
- ``GET /audit``: whoever's role allows ``audit: list``, by the same role table as the server's;
- ``POST /account/close``: asks the auth server (introspection) instead of trusting the token,
  so a session signed out a second ago is refused now, not when its token expires. It takes
  the session token as ``Authorization: Bearer <session token>``, or the browser's auth
  cookie; by cookie, the request must come from a trusted origin (the auth server's, or one of
  ``TRUSTED_ORIGINS``), else 403 ``INVALID_ORIGIN``: a cross-site form cannot close the account.
  An impersonation session (an admin acting as the user) may not close it.

When the auth server cannot be reached, the keys already fetched keep verifying for
``JWKS_MAX_STALE`` seconds (default an hour); after that the service answers 503, never 500.
``PORT`` (default 8002), ``AUTH_URL``, ``TRUSTED_ORIGINS`` (the front ends that call this service
with the user's cookie, comma-separated, e.g. ``https://app.example.com``), ``JWKS_MAX_STALE``
and ``JWKS_MIN_TTL`` (the least time keys are kept, default 30 s) tune it. Introspection needs
the auth server over https, or on this machine (``127.0.0.1``, ``localhost``).
"""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI

from authkeeper.verifier import CachePolicy, Claims, SessionInfo, Verifier, VerifierError
from authkeeper.verifier.errors import FORBIDDEN
from authkeeper.verifier.fastapi import JWTAuth

AUTH_URL = os.environ.get("AUTH_URL", "http://127.0.0.1:8000").rstrip("/")
PORT = int(os.environ.get("PORT", "8002"))
TRUSTED_ORIGINS = [origin.strip() for origin in os.environ.get("TRUSTED_ORIGINS", "").split(",") if origin.strip()]
ROLES = {
    # The auth server's default role table (admin.roles): the same format, so a role means the
    # same thing on both sides.
    "admin": {"user": ["list", "get", "ban"], "session": ["list", "revoke"], "audit": ["list"]},
    "moderator": {"user": ["list", "ban", "get"], "session": ["list", "revoke"], "audit": ["list"]},
    "user": {},
}

verifier = Verifier(
    f"{AUTH_URL}/api/auth/jwks",  # issuer and audience: the auth server's origin
    roles=ROLES,
    default_role="user",
    trusted_origins=TRUSTED_ORIGINS,  # may POST here with the user's cookie (besides the auth server)
    cache=CachePolicy(
        max_stale=float(os.environ.get("JWKS_MAX_STALE", "3600")),
        min_ttl=float(os.environ.get("JWKS_MIN_TTL", "30")),
    ),
)
auth = JWTAuth(verifier)
app = FastAPI(title="Reports API", lifespan=auth.lifespan)
auth.install(app)  # refusals answer {code, message} with their status


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/me")
async def me(claims: Claims = Depends(auth.current_claims)) -> dict[str, object]:
    return {"id": claims.sub, "email": claims.email, "roles": list(claims.roles)}


@app.get("/admin/stats", dependencies=[Depends(auth.require_role("admin"))])
async def stats() -> dict[str, object]:
    return {"reports": 3}


may_read_audit = auth.require_permission({"audit": ["list"]})


@app.get("/audit")
async def audit(claims: Claims = Depends(may_read_audit)) -> dict[str, object]:
    return {"auditor": claims.sub, "events": []}


@app.post("/account/close")
async def close(session: SessionInfo = Depends(auth.current_session)) -> dict[str, object]:
    if session.impersonated_by is not None:
        raise VerifierError(FORBIDDEN, "Only the user can close their account")
    return {"closing": session.sub}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=PORT)
