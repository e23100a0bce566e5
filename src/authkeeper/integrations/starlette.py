"""Session lookup for host apps (FastAPI or plain Starlette), shared by the dependencies.

The same rules as the API: a bearer token that names a live session, else the signed session
cookie; for unsafe methods authenticated by cookie, the request must come from a trusted origin.
"""

from __future__ import annotations

from starlette.requests import Request

from ..auth import Authkeeper
from ..core import errors
from ..core.models import Session, User
from ..core.redirects import origin_of
from ..flows import sessions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def authenticate(auth: Authkeeper, request: Request) -> tuple[User, Session] | None:
    """The caller's user and session, or None. Raises AuthError on a cross-origin unsafe
    request that relies on the cookie (CSRF).

    As in the API: a bearer that names a live session wins and needs no Origin; any other
    bearer is ignored and the request is judged by its cookie, with the cookie's checks.
    """
    api = auth.api
    # No sliding refresh here: the host app's response does not carry our cookie; the
    # client's regular get-session calls slide the expiry.
    bearer = await api.bearer(request, refresh=False)
    if bearer is not None:
        return bearer[1].user, bearer[1].session
    token = api.cookie_token(request)
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            referer = request.headers.get("referer")
            origin = origin_of(referer) if referer else None
        if not origin:
            raise errors.AuthError(errors.MISSING_OR_NULL_ORIGIN)
        if not auth.ctx.origins.is_trusted_origin(origin):
            raise errors.AuthError(errors.INVALID_ORIGIN)
    resolved = await sessions.resolve(auth.ctx, token, refresh=False)
    if resolved is None:
        return None
    return resolved.user, resolved.session
