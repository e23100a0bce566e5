"""Services: what plugins need of each other, declared here and provided by one plugin.

A plugin never imports another. When the FastAPI integration needs to know whether a user may
do something, it asks for the :data:`ACCESS_POLICY` service, which the admin plugin provides;
a plugin that needs one declares it (``Plugin.requires``), and the composition root refuses to
start, with one line naming the service, when no plugin provides it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from .models import Session, User

if TYPE_CHECKING:
    from .context import AuthContext

T = TypeVar("T")


class AccessPolicy(Protocol):
    """Roles and permissions (the admin plugin provides it). Read at each call, so a change
    of settings takes effect at once."""

    def roles_of(self, ctx: AuthContext, user: User) -> tuple[str, ...]:
        """The user's roles (the configured admins count as ``admin``)."""
        ...

    def has_permission(self, ctx: AuthContext, user: User, permissions: Mapping[str, Sequence[str]]) -> bool:
        """Whether one of the user's roles allows every action of ``permissions``
        (resource → actions)."""
        ...


class SocialProviders(Protocol):
    """The configured social sign-in providers (the social plugin provides it)."""

    def provider(self, provider_id: str) -> Any | None:
        """The provider of that id (``google``, ``github``...), or None."""
        ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed access token and when it ends."""

    token: str
    expires_at: datetime
    expires_in: int
    """Seconds from issue to ``expires_at``."""


class TokenIssuer(Protocol):
    """Signed, self-contained access tokens for other backends (the jwt plugin provides it: JWTs
    verifiable with its JWKS). Refused (AuthError) for a session that may not hold one."""

    async def issue(
        self,
        ctx: AuthContext,
        user: User,
        session: Session,
        *,
        claims: Mapping[str, Any] | None = None,
        expires_in: int | None = None,
    ) -> IssuedToken:
        """A token for ``user`` signed in by ``session``, with ``claims`` added and a lifetime of
        ``expires_in`` seconds (the configured one by default)."""
        ...

    async def verify(self, ctx: AuthContext, token: str) -> Mapping[str, Any] | None:
        """The claims of a token this server issued and still vouches for, or None."""
        ...


class MissingService(LookupError):
    """A plugin needs a service that no plugin provides."""


@dataclass(frozen=True, eq=False)
class ServiceKey(Generic[T]):
    """Names one kind of service and its type (a Protocol), so lookups are typed."""

    name: str

    def __repr__(self) -> str:
        return f"ServiceKey({self.name})"


ACCESS_POLICY: ServiceKey[AccessPolicy] = ServiceKey("AccessPolicy")
SOCIAL_PROVIDERS: ServiceKey[SocialProviders] = ServiceKey("SocialProviders")
TOKEN_ISSUER: ServiceKey[TokenIssuer] = ServiceKey("TokenIssuer")


class Services:
    """Service key → the one implementation, and the plugin that gave it."""

    def __init__(self) -> None:
        self._found: dict[ServiceKey[Any], tuple[Any, str]] = {}

    def provide(self, key: ServiceKey[T], implementation: T, *, by: str) -> None:
        known = self._found.get(key)
        if known is not None:
            raise ValueError(f"{key.name} is provided twice (by {known[1]} and {by})")
        self._found[key] = (implementation, by)

    def get(self, key: ServiceKey[T]) -> T | None:
        found = self._found.get(key)
        return cast(T, found[0]) if found is not None else None

    def require(self, key: ServiceKey[T], *, for_: str = "") -> T:
        found = self.get(key)
        if found is None:
            needed = f" ({for_} needs it)" if for_ else ""
            raise MissingService(f"no installed plugin provides {key.name}{needed}")
        return found

    def __contains__(self, key: ServiceKey[Any]) -> bool:
        return key in self._found
