"""The context every flow receives: settings and the services built from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .crypto.passwords import PasswordHasher
from .crypto.signing import CookieSigner
from .hooks import Hooks
from .mail import MailService
from .models import utcnow
from .ports import Store
from .redirects import OriginPolicy
from .services import Services
from .settings import Settings
from .sign_in import SignInStage
from .users import PluginFields


@dataclass
class AuthContext:
    """Built once per app by :class:`authkeeper.Authkeeper`; flows never read globals."""

    settings: Settings
    store: Store
    hasher: PasswordHasher
    mail: MailService
    signer: CookieSigner
    origins: OriginPolicy
    sign_in_stages: list[SignInStage] = field(default_factory=list)
    """Run in order after the password is checked; any may interrupt (e.g. two-factor)."""
    clock: Callable[[], datetime] = utcnow
    hooks: Hooks = field(default_factory=Hooks)
    """The plugins' participants, session checks and event subscribers (:mod:`.hooks`)."""
    services: Services = field(default_factory=Services)
    audit_events: tuple[str, ...] = ()
    """Every audit event name the installed parts write (the core's and the plugins')."""
    """What plugins provide each other (:mod:`.services`)."""
    user_fields: PluginFields = field(default_factory=PluginFields)
    """The installed plugins' user fields: a new user's values, those no client sets."""

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.settings.secret, *self.settings.previous_secrets)

    def now(self) -> datetime:
        return self.clock()
