"""How plugins take part in what the core does, in two kinds, both typed.

**Participants** run *inside* the transaction that changes security state, on the store of
that transaction, so what they do commits or rolls back with it: when a user's sessions end,
two-factor forgets their trusted devices in the same commit (and, later, refresh-token families
go with them). A participant that raises aborts the change.

**Events** are delivered *after* the commit, to subscribers that keep caches or send
webhooks: the fact has happened and cannot be undone, so a subscriber that fails is logged and
the others still run. Events are frozen dataclasses; a subscriber names the class it wants.

The composition root (:class:`authkeeper.Authkeeper`) collects both from the plugins into one
:class:`Hooks` on the context; flows call :meth:`Hooks.sessions_ending`,
:meth:`Hooks.signing_out` and :meth:`Hooks.emit`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .models import Session, User

if TYPE_CHECKING:
    from .context import AuthContext
    from .ports import Store

log = logging.getLogger("authkeeper.hooks")

Presented = Callable[[str], "str | None"]
"""Logical cookie name → the unsigned value of that signed cookie on the caller's device (None
when absent or badly signed). How a participant learns what the caller's device holds without
seeing a request."""


# -- participants: in the transaction ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SessionsEnding:
    """Every session of ``user_id`` is ending, or all but ``kept`` (the caller's own, whose
    device presents ``presented``). Participants forget what hangs on those sessions."""

    user_id: str
    kept: Session | None = None
    presented: Presented | None = None


@dataclass(slots=True)
class SigningOut:
    """A caller is signing out (``user_id`` None when their session was already gone).
    Participants may drop what they keep for the device, and name cookies to clear
    (``clear_cookies``, logical names) which the web layer removes from the browser."""

    user_id: str | None
    presented: Presented
    clear_cookies: list[str] = field(default_factory=list)


SessionsEndingParticipant = Callable[["AuthContext", "Store", SessionsEnding], Awaitable[None]]
SigningOutParticipant = Callable[["AuthContext", "Store", SigningOut], Awaitable[None]]
SessionCheck = Callable[["AuthContext", Session, User], Awaitable[bool]]
"""Run each time a live session is resolved (by any credential, in the API, the pages and the
integrations): False ends the session (admin refuses a banned user's)."""
UserCheck = Callable[["AuthContext", User], Awaitable[bool]]
"""Run when a credential that is no session (a JWT, an API key) names a user, and before a
token is issued: False refuses it (admin refuses a banned user)."""


# -- events: after the commit --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event."""

    user_id: str


@dataclass(frozen=True, slots=True)
class SessionIssued(Event):
    session_id: str
    method: str
    """How: ``email`` (password), ``reauthentication``, ``email-verification``, ``two-factor``,
    ``impersonation``, ``sign-up``..."""


@dataclass(frozen=True, slots=True)
class SessionsRevoked(Event):
    scope: str
    """``one``, ``all`` or ``others``."""
    count: int


@dataclass(frozen=True, slots=True)
class SignedOut(Event):
    session_id: str


@dataclass(frozen=True, slots=True)
class UserCreated(Event):
    by: str | None = None
    """The admin (or ``cli``) who created the user; None for a sign-up."""


@dataclass(frozen=True, slots=True)
class UserDeleted(Event):
    by: str | None = None


@dataclass(frozen=True, slots=True)
class PasswordChanged(Event):
    how: str
    """``change`` (by the user), ``reset`` (by link), ``admin`` (set by an admin or the CLI)."""


@dataclass(frozen=True, slots=True)
class EmailChanged(Event):
    old: str
    new: str


E = TypeVar("E", bound=Event)
Subscriber = Callable[["AuthContext", Any], Awaitable[None]]


@dataclass
class Hooks:
    """The participants and subscribers of one app (built by the composition root)."""

    on_sessions_ending: list[SessionsEndingParticipant] = field(default_factory=list)
    on_signing_out: list[SigningOutParticipant] = field(default_factory=list)
    session_checks: list[SessionCheck] = field(default_factory=list)
    user_checks: list[UserCheck] = field(default_factory=list)
    delegated: list[Callable[[Session], bool]] = field(default_factory=list)
    """Tell a session held by someone acting as the user (admin's impersonation): it never
    slides, is not listed among the user's sessions, and may not change their credentials."""
    subscribers: dict[type[Event], list[Subscriber]] = field(default_factory=dict)

    def subscribe(self, kind: type[E], subscriber: Callable[[AuthContext, E], Awaitable[None]]) -> None:
        self.subscribers.setdefault(kind, []).append(subscriber)

    async def sessions_ending(self, ctx: AuthContext, tx: Store, change: SessionsEnding) -> None:
        for participant in self.on_sessions_ending:
            await participant(ctx, tx, change)

    async def signing_out(self, ctx: AuthContext, tx: Store, change: SigningOut) -> None:
        for participant in self.on_signing_out:
            await participant(ctx, tx, change)

    async def check_session(self, ctx: AuthContext, session: Session, user: User) -> bool:
        for check in self.session_checks:
            if not await check(ctx, session, user):
                return False
        return True

    async def check_user(self, ctx: AuthContext, user: User) -> bool:
        for check in self.user_checks:
            if not await check(ctx, user):
                return False
        return True

    def is_delegated(self, session: Session) -> bool:
        for test in self.delegated:  # on every resolved session: a plain loop, no generator
            if test(session):
                return True
        return False

    async def emit(self, ctx: AuthContext, event: Event) -> None:
        """Deliver ``event`` (after its transaction committed) to the subscribers of its class
        and of its base classes. A subscriber's failure is logged, never raised."""
        for kind in type(event).__mro__:
            for subscriber in self.subscribers.get(kind, ()):
                try:
                    await subscriber(ctx, event)
                except Exception:
                    log.exception(
                        "subscriber %s failed on %s",
                        getattr(subscriber, "__qualname__", subscriber),
                        type(event).__name__,
                    )
