"""Admin: roles and permissions, user management, bans, impersonation and the audit-log
API, wire-compatible with Better Auth's ``admin`` plugin (spec §8.2).

Roles come from ``Settings.admin.roles`` (see :mod:`.access`); a banned user is refused at
sign-in by a stage of order 10, before two-factor's challenge.
"""

from __future__ import annotations

from ...core.services import ACCESS_POLICY
from ..base import Plugin
from . import bans, cli, endpoints, schema
from .access import AccessControl, Actor, parse_roles
from .bans import ensure_not_banned
from .constants import BAN_STAGE_ORDER, PLUGIN_ID
from .events import AdminEvent
from .flows import RolePolicy, access_control, has_permission
from .session_check import check_session, check_user, end_impersonations, is_impersonation
from .settings import AdminSettings

__all__ = [
    "AccessControl",
    "Actor",
    "AdminSettings",
    "access_control",
    "admin",
    "ensure_not_banned",
    "has_permission",
    "parse_roles",
]


def admin(settings: AdminSettings | None = None) -> Plugin:
    """The plugin. Its options are the ``[admin]`` section (``Settings(admin=...)``), read
    through the context at request time, so there is one source of truth; ``settings``, when
    given, is only checked for ``enabled``."""
    if settings is not None and not settings.enabled:
        return Plugin(id=PLUGIN_ID)
    from . import pages  # here: importing the package does not load the pages layer

    return Plugin(
        id=PLUGIN_ID,
        audit_events=tuple(e.value for e in AdminEvent),
        schema=schema.SCHEMA,
        endpoints=endpoints.endpoints(),
        pages=pages.ROUTES,
        templates=__name__,
        page_links=(pages.admin_link,),
        page_banners=pages.BANNERS,
        page_messages=pages.MESSAGES,
        page_notices=pages.NOTICES,
        sign_in_stages=((BAN_STAGE_ORDER, bans.ban_stage),),
        session_checks=(check_session,),
        user_checks=(check_user,),
        on_sessions_ending=(end_impersonations,),
        delegated=is_impersonation,
        cli=cli.commands,
        provides={ACCESS_POLICY: lambda _ctx: RolePolicy()},
    )
