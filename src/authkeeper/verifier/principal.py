"""Who a verified request is (:class:`Claims` from a JWT, :class:`SessionInfo` from an
introspection) and what their roles allow (:class:`RoleTable`).

The role model is the auth server's admin plugin's: a role maps resources to allowed actions,
``role`` holds several roles comma-separated, and a check passes when *one* of the caller's
roles allows *every* requested action. It is repeated here rather than imported because a
verifying service has no authkeeper server installed, only this package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Permissions = Mapping[str, Sequence[str]]
"""``{"user": ["ban", "list"], "audit": ["list"]}``."""


def parse_roles(value: object, default: str | None = None) -> tuple[str, ...]:
    """``"admin, moderator"`` → ``("admin", "moderator")``; an absent or empty value holds
    ``default`` (the auth server's default role) when one is given, else no role."""
    roles: tuple[str, ...] = ()
    if isinstance(value, str):
        roles = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    if not roles and default:
        roles = (default,)
    return roles


class Principal(Protocol):
    """Anything the role checks accept: :class:`Claims` and :class:`SessionInfo`."""

    @property
    def sub(self) -> str: ...

    @property
    def roles(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims of a verified JWT.

    Attributes:
        sub: the user id (always a non-empty string once verified).
        roles: the user's roles, parsed from the comma-separated ``role`` claim.
        claims: every claim as the token carries it (``email``, ``name``, ``exp``, ...).
    """

    sub: str
    roles: tuple[str, ...]
    claims: Mapping[str, Any] = field(repr=False)

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.claims.get(name, default)

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None

    @property
    def expires_at(self) -> int:
        """``exp``, in seconds since the epoch (required, so always there)."""
        return int(self.claims["exp"])


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What the auth server's ``get-session`` answered for a live session.

    Attributes:
        session: the session object (``id``, ``userId``, ``expiresAt``, ``impersonatedBy``, ...).
        user: the user object (``id``, ``email``, ``role``, ...).
        roles: the user's roles, parsed from ``user.role``.

    An admin impersonating a user holds a session *of that user*: ``sub`` and ``roles`` are the
    user's, and only :attr:`impersonated_by` tells. A route doing what the user alone should do
    (closing the account, changing a payout address) refuses such a session or records who
    really acted.
    """

    session: Mapping[str, Any] = field(repr=False)
    user: Mapping[str, Any] = field(repr=False)
    roles: tuple[str, ...]

    @property
    def sub(self) -> str:
        """The user id, named as in a JWT so the role checks take either."""
        return str(self.user.get("id", ""))

    @property
    def impersonated_by(self) -> str | None:
        """The id of the admin impersonating the user through this session (the session's
        ``impersonatedBy``), or ``None`` for the user's own session."""
        value = self.session.get("impersonatedBy")
        return value if isinstance(value, str) and value else None


def _actions(resource: str, actions: object) -> frozenset[str]:
    # A bare string would be read as its letters: "list" would grant "l", "i", "s" and "t".
    if isinstance(actions, str) or not isinstance(actions, Iterable):
        raise TypeError(f"the actions of {resource!r} must be a list of strings")
    found = frozenset(actions)
    if not all(isinstance(a, str) for a in found):
        raise TypeError(f"the actions of {resource!r} must be a list of strings")
    return found


def normalise_permissions(permissions: Permissions) -> dict[str, frozenset[str]]:
    """Checks the shape once, so a typo in a route's permissions fails at declaration."""
    if not isinstance(permissions, Mapping):
        raise TypeError("permissions must be a mapping of resource to actions")
    return {str(resource): _actions(str(resource), actions) for resource, actions in permissions.items()}


class RoleTable:
    """The auth server's role table, ``role → resource → allowed actions``.

    Args:
        roles: ``{"admin": {"user": ["list", "ban"], "audit": ["list"]}, "user": {}}``.
    """

    def __init__(self, roles: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        if not isinstance(roles, Mapping):
            raise TypeError("roles must be a mapping of role name to {resource: [actions]}")
        self.roles: dict[str, dict[str, frozenset[str]]] = {
            str(name): normalise_permissions(grants) for name, grants in roles.items()
        }

    def role_allows(self, role: str, permissions: Mapping[str, frozenset[str]]) -> bool:
        grants = self.roles.get(role)
        if grants is None:
            return False
        return all(actions <= grants.get(resource, frozenset()) for resource, actions in permissions.items())

    def allows(self, roles: Iterable[str], permissions: Permissions) -> bool:
        """Whether one of ``roles`` allows every requested action. Asking for nothing is
        refused, as on the auth server: an empty check is a bug, not a grant."""
        wanted = normalise_permissions(permissions)
        if not any(wanted.values()):
            return False
        return any(self.role_allows(role, wanted) for role in roles)
