"""A flow's result applied to the response, the same way for the JSON API and the pages: a
sign-in that finished (the session cookie) or that a stage interrupted (the stage's cookies,
the session cookie expired), and a sign-out (the session's cookies and those the plugins ask
to clear)."""

from __future__ import annotations

from typing import Any

from ..core.hooks import SigningOut
from ..core.sign_in import Interruption, SignedIn
from ..flows import sessions
from .call import Call


def apply_sign_in(call: Call, result: SignedIn | Interruption, remember: bool) -> dict[str, Any] | None:
    """Cookies for a finished or interrupted sign-in; returns the interruption's body."""
    if isinstance(result, Interruption):
        if result.expire_session:
            call.set_cookies.append(call.cookies.delete(call.cookies.session_token))
            call.set_cookies.append(call.cookies.delete(call.cookies.session_data))
        for logical, (value, max_age) in result.state.items():
            call.set_signed_cookie(logical, value, max_age)
        return result.body
    call.set_session_cookie(result.session.token, remember=remember)
    for logical, (value, max_age) in result.state.items():
        call.set_signed_cookie(logical, value, max_age)
    return None


def apply_sign_out(call: Call, done: SigningOut) -> None:
    """The session's cookies cleared, and the logical cookies the plugins named."""
    call.clear_session_cookies()
    for logical in done.clear_cookies:
        call.delete_cookie(logical)


async def end_session(call: Call) -> None:
    """Sign the caller out (the sign-out flow on the session token they presented, valid or
    not) and apply the result: the JSON endpoint and the sign-out page both."""
    apply_sign_out(call, await sessions.sign_out(call.ctx, call.session_token, call.presented, call.client))
