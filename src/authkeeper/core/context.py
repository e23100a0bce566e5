"""The context every flow receives: settings and the services built from them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .crypto.passwords import PasswordHasher
from .crypto.signing import CookieSigner
from .mail import MailService
from .models import utcnow
from .redirects import OriginPolicy
from .settings import Settings

if TYPE_CHECKING:
    from ..flows.sign_in import Interruption, PendingSignIn
    from ..storage.base import Store

SignInStage = Callable[["AuthContext", "PendingSignIn"], Awaitable["Interruption | None"]]


@dataclass
class AuthContext:
    """Built once per app by :func:`authkeeper.build_context`; flows never read globals."""

    settings: Settings
    store: Store
    hasher: PasswordHasher
    mail: MailService
    signer: CookieSigner
    origins: OriginPolicy
    sign_in_stages: list[SignInStage] = field(default_factory=list)
    """Run in order after the password is checked; any may interrupt (e.g. two-factor)."""
    clock: Callable[[], datetime] = utcnow
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.settings.secret, *self.settings.previous_secrets)

    def now(self) -> datetime:
        return self.clock()
