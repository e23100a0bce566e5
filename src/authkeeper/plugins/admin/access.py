"""Roles and permissions: who may do what to which resource.

A role maps resources (``user``, ``session``, ``audit``) to allowed actions
(``AdminSettings.roles``). ``user.role`` may hold several roles, comma-separated; a request
is granted when *one* of the user's roles allows *every* requested action, as in Better
Auth. Users named in ``admin_emails`` / ``admin_user_ids`` hold the ``admin`` role whatever
their ``role`` column says.

No I/O here: everything works on a :class:`~authkeeper.core.models.User` already loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ...core import errors
from ...core.errors import ErrorCode
from ...core.models import Session, User
from ...core.users import normalise_email
from .constants import ADMIN_ROLES, CLI_ACTOR
from .settings import AdminSettings

Permissions = Mapping[str, Sequence[str]]
"""``{"user": ["ban", "get"], "session": ["list"]}``."""
Grants = dict[str, frozenset[str]]

STATEMENTS: dict[str, tuple[str, ...]] = {
    "user": (
        "create",
        "list",
        "set-role",
        "ban",
        "impersonate",
        "impersonate-admins",
        "delete",
        "set-password",
        "update",
        "get",
    ),
    "session": ("list", "revoke", "delete"),
    "audit": ("list",),
}
"""Every resource and action the admin plugin checks (custom roles may name others; they
are then simply never asked for)."""


def parse_roles(value: object) -> tuple[str, ...]:
    """``"admin, moderator"`` → ``("admin", "moderator")``; anything else → ``()``."""
    if not isinstance(value, str):
        return ()
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


class AccessControl:
    """The role model of one settings object.

    Args:
        settings: ``Settings.admin``.
    """

    def __init__(self, settings: AdminSettings) -> None:
        self.default_role = settings.default_role
        self.roles: dict[str, Grants] = {
            name: {resource: frozenset(actions) for resource, actions in grants.items()}
            for name, grants in settings.roles.items()
        }
        self.admin_emails = frozenset(normalise_email(e) for e in settings.admin_emails)
        self.admin_user_ids = frozenset(settings.admin_user_ids)

    def exists(self, role: str) -> bool:
        return role in self.roles

    def roles_of(self, user: User) -> tuple[str, ...]:
        """The user's effective roles (the default role when the column is empty). An address
        in ``admin_emails`` makes an admin only once it is verified: anyone may sign up with an
        address they do not own."""
        roles = parse_roles(user.extra.get("role")) or (self.default_role,)
        listed = user.email_verified and self.lists_email(user.email)
        if user.id in self.admin_user_ids or listed:
            roles = tuple(dict.fromkeys((*roles, *ADMIN_ROLES)))
        return roles

    def role_allows(self, role: str, permissions: Permissions) -> bool:
        grants = self.roles.get(role)
        if grants is None:
            return False
        return all(set(actions) <= grants.get(resource, frozenset()) for resource, actions in permissions.items())

    def allows(self, roles: Iterable[str], permissions: Permissions) -> bool:
        """Whether one of ``roles`` allows every requested action (nothing requested: no)."""
        if not any(permissions.values()):
            return False
        return any(self.role_allows(role, permissions) for role in roles)

    def grants(self, roles: Iterable[str]) -> Grants:
        """Everything ``roles`` allow together of what the admin plugin checks (for comparing
        ranks, not for granting): a host app's own resources (say ``report: [read]``) add no
        rank, or an admin who also reads reports would outrank every other admin."""
        merged: dict[str, set[str]] = {}
        for role in roles:
            for resource, actions in self.roles.get(role, {}).items():
                known = STATEMENTS.get(resource)
                if known is not None:
                    merged.setdefault(resource, set()).update(a for a in actions if a in known)
        return {resource: frozenset(actions) for resource, actions in merged.items() if actions}

    def covers(self, outer: Iterable[str], inner: Iterable[str]) -> bool:
        """Whether ``outer`` roles allow at least everything ``inner`` roles allow."""
        mine = self.grants(outer)
        return all(actions <= mine.get(resource, frozenset()) for resource, actions in self.grants(inner).items())

    def outranks(self, outer: Iterable[str], inner: Iterable[str]) -> bool:
        """Whether ``outer`` roles allow everything ``inner`` roles allow, and more."""
        outer, inner = tuple(outer), tuple(inner)
        return self.covers(outer, inner) and self.grants(outer) != self.grants(inner)

    def is_root(self, user: User) -> bool:
        """Whether the user is named in ``admin_user_ids``: how a deployment manages its admins.
        They act on anyone, and nobody else acts on them."""
        return user.id in self.admin_user_ids

    def lists_email(self, email: str) -> bool:
        """Whether ``email`` is in ``admin_emails`` (its owner becomes an admin once verified)."""
        return normalise_email(email) in self.admin_emails

    def is_admin(self, roles: Iterable[str]) -> bool:
        return any(role in ADMIN_ROLES for role in roles)


@dataclass(frozen=True)
class Actor:
    """Who performs an admin action: a signed-in user with their roles, or the operator
    at the command line (``system``), who may do everything.

    On another user, an actor may act only when their grants strictly include the target's
    (an admin cannot act on another admin, a moderator on another moderator), and grant only
    roles their own grants cover (an admin can make admins, not a role above admin). The
    operator and the users in ``admin_user_ids`` are exempt; nobody else acts on the latter.
    """

    access: AccessControl
    id: str
    user: User | None = None
    roles: tuple[str, ...] = ()
    session: Session | None = None
    system: bool = False
    details: dict[str, str] = field(default_factory=dict)
    """Extra audit details (``impersonated_by`` when acting through an impersonation)."""
    impersonating: bool = False
    """Acting through an impersonation session: no admin action at all. The impersonator has
    the user's session, not the user's rank (which may be above their own: impersonate-admins),
    and nothing they do may outlive the hour (a password, an email, a new admin)."""

    @classmethod
    def of(cls, access: AccessControl, user: User, session: Session | None = None) -> Actor:
        details = {}
        if session is not None and session.extra.get("impersonatedBy"):
            details["impersonated_by"] = str(session.extra["impersonatedBy"])
        impersonating = session is not None and bool(session.extra.get("impersonatedBy"))
        return cls(access, user.id, user, access.roles_of(user), session, details=details, impersonating=impersonating)

    @classmethod
    def operator(cls, access: AccessControl, name: str = CLI_ACTOR) -> Actor:
        return cls(access, name, system=True, details={"via": name})

    @property
    def is_admin(self) -> bool:
        return self.system or self.access.is_admin(self.roles)

    def can(self, permissions: Permissions) -> bool:
        if self.impersonating:
            return False
        return self.system or self.access.allows(self.roles, permissions)

    def require(self, permissions: Permissions, error: ErrorCode) -> None:
        # The user's own refusal first (what they could not do anyway), then the impersonation.
        if not (self.system or self.access.allows(self.roles, permissions)):
            raise errors.AuthError(error)
        if self.impersonating:
            raise errors.AuthError(errors.NOT_ALLOWED_WHILE_IMPERSONATING)

    @property
    def exempt(self) -> bool:
        """The operator and the users in ``admin_user_ids``: no rank rule binds them."""
        return self.system or (self.user is not None and self.access.is_root(self.user))

    def may_grant(self, roles: Iterable[str]) -> bool:
        return self.exempt or self.access.covers(self.roles, roles)

    def may_manage(self, target: User) -> bool:
        """Whether the actor ranks strictly above ``target`` (or is ``target``, or exempt)."""
        if target.id == self.id or self.exempt:
            return True
        return not self.access.is_root(target) and self.access.outranks(self.roles, self.access.roles_of(target))

    def may_impersonate(self, target: User) -> bool:
        """The rank rule of impersonation (the permissions are checked apart): as
        :meth:`may_manage`, but ``user:impersonate-admins`` also reaches an equal or an admin,
        never a target above the actor nor one in ``admin_user_ids``."""
        if self.may_manage(target):
            return True
        access = self.access
        theirs = access.roles_of(target)
        if not self.can({"user": ["impersonate-admins"]}) or access.is_root(target):
            return False
        if access.outranks(theirs, self.roles):
            return False
        return access.is_admin(theirs) or access.grants(theirs) == access.grants(self.roles)

    def require_manage(self, target: User, error: ErrorCode) -> None:
        if not self.may_manage(target):
            raise errors.AuthError(error)
