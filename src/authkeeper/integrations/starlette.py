"""Session lookup for host apps (FastAPI or plain Starlette), shared by the dependencies.

The same resolver and the same origin check as the API and the pages
(:class:`authkeeper.web.credentials.CredentialResolver`): a header credential (a bearer
token) that names a live session wins and needs no Origin; any other is ignored and the
request is judged by its signed session cookie, and an unsafe request that presents one must
come from a trusted origin (:func:`authkeeper.web.security.check_origin`, the API's rule).
"""

from __future__ import annotations

from starlette.requests import Request

from ..auth import Authkeeper
from ..core.models import Session, User
from ..web.call import SESSION

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def authenticate(auth: Authkeeper, request: Request) -> tuple[User, Session] | None:
    """The caller's user and session, or None. Raises AuthError on an unsafe request that
    relies on the cookie and does not come from a trusted origin (CSRF)."""
    # No sliding refresh here: the host app's response does not carry our cookie; the
    # client's regular get-session calls slide the expiry.
    found = await auth.credentials.authenticate(request, (SESSION,), unsafe=request.method not in SAFE_METHODS)
    if found is None or found.session is None:
        return None
    return found.user, found.session
