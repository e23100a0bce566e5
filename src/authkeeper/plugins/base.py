"""What a plugin is: endpoints, sign-in stages, rate-limit rules, extra setup. Declarative,
so the two-factor plugin adds its stage without the sign-in flow knowing it exists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..core.context import AuthContext, SignInStage
from ..core.models import Session, User
from ..core.settings import RateLimitRule
from ..flows.sessions import Presented
from ..http.call import Call, Endpoint
from ..storage.base import Store


@dataclass(frozen=True)
class Plugin:
    id: str
    endpoints: tuple[Endpoint, ...] = ()
    sign_in_stages: tuple[tuple[int, SignInStage], ...] = ()
    """(order, stage): lower runs first (admin's ban check is 10, two-factor is 50)."""
    rate_limits: dict[str, RateLimitRule] = field(default_factory=dict)
    """Default rules for the plugin's paths; the settings' own rules win."""
    on_sessions_revoked: Callable[[AuthContext, Store, str, Presented | None], Awaitable[None]] | None = None
    """Run in the transaction that ends every session of a user, or all but the caller's
    (``store`` is that transaction; the caller's presented cookies when their device is kept)."""
    session_check: Callable[[AuthContext, Session, User], Awaitable[bool]] | None = None
    """Run each time a live session is resolved, by cookie or bearer, in the API, the pages and
    the integrations; False ends the session (``flows.sessions.SESSION_CHECKS``)."""
    on_sign_out: Callable[[Call], Awaitable[None]] | None = None
    """Run on sign-out, after the session is gone."""
    init: Callable[[AuthContext], Awaitable[None] | None] | None = None
    """Extra asynchronous setup at start-up."""
