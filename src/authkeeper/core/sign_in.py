"""What travels through the sign-in pipeline: the pending sign-in a stage sees, and the two
ways it ends (a session, or an interruption such as a second-factor challenge)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .hooks import Presented
from .models import ClientInfo, Session, User

if TYPE_CHECKING:
    from .context import AuthContext


def _nothing(_logical: str) -> str | None:
    return None


@dataclass(slots=True)
class PendingSignIn:
    """A user whose password checked out but who holds no session yet."""

    user: User
    client: ClientInfo
    remember: bool = True
    method: str = "email"
    presented: Presented = _nothing
    """What the caller's device holds (a stage reads two-factor's trusted-device cookie so),
    by logical cookie name; never the request itself."""
    state: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Signed cookies a stage wants set if the sign-in completes (e.g. a rotated trust-device cookie)."""
    interactive: bool = True
    """False when nobody is there to answer a challenge (a sign-in by link): a stage that would
    challenge only stops the sign-in, and writes nothing."""


@dataclass(slots=True)
class Interruption:
    """A stage stopped the sign-in: ``body`` answers the request, ``state`` (logical cookie
    name → (value to sign, max age)) travels with the client until the stage resumes."""

    body: dict[str, Any]
    state: dict[str, tuple[str, int]] = field(default_factory=dict)
    expire_session: bool = True
    page: str | None = None
    """Where the pages send the visitor to go on (two-factor's challenge page, ``/two-factor``);
    None: back to the sign-in form."""


@dataclass(slots=True)
class SignedIn:
    user: User
    session: Session
    state: dict[str, tuple[str, int]] = field(default_factory=dict)


SignInStage = Callable[["AuthContext", PendingSignIn], Awaitable[Interruption | None]]
"""Runs after the password is checked, in order; any may interrupt (two-factor) or raise
(admin's ban)."""
