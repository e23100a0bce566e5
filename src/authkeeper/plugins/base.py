"""What a plugin is: endpoints, sign-in stages, rate-limit rules, extra setup. Declarative,
so the two-factor plugin adds its stage without the sign-in flow knowing it exists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..core.context import AuthContext, SignInStage
from ..core.settings import RateLimitRule
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
    on_sessions_revoked: Callable[[Store, str], Awaitable[None]] | None = None
    """Run in the transaction that ends every session of a user (``store``, user id)."""
    on_sign_out: Callable[[Call], Awaitable[None]] | None = None
    """Run on sign-out, after the session is gone."""
    init: Callable[[AuthContext], Awaitable[None] | None] | None = None
    """Extra asynchronous setup at start-up."""
