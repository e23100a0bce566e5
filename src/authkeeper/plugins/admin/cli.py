"""The admin plugin's commands: ``authkeeper users create|set-role|ban|unban|unlock``, run as
the command-line operator (the audit log names ``cli`` as the actor)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ...commands import (
    CliError,
    CliGroups,
    migrate_db,
    read_password,
    run_reporting,
    settings_of,
    user_by_email,
)
from ...core.models import iso
from ...core.settings import Settings
from . import bans, flows
from .access import parse_roles
from .settings import AdminSettings


def check_roles(settings: Settings, value: str) -> list[str]:
    roles = list(parse_roles(value))
    defined = settings.section(AdminSettings).roles
    unknown = [r for r in roles if r not in defined]
    if not roles or unknown:
        raise CliError(f"unknown role {(unknown or [value])[0]!r} (defined roles: {', '.join(sorted(defined))})")
    return roles


def cmd_create(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    password = read_password(args.password)
    roles = check_roles(settings, args.role) if args.role else None

    async def run(auth: Any) -> Any:
        return await flows.create_user(
            auth.ctx,
            flows.operator(auth.ctx),
            email=args.email,
            name=args.name or args.email.split("@")[0],
            password=password,
            role=roles,
            data={"emailVerified": bool(args.verified)},
        )

    asyncio.run(migrate_db(settings))
    user = run_reporting(settings, run)
    print(f"created user {user.id} <{user.email}>")


def cmd_set_role(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    roles = check_roles(settings, args.role)

    async def run(auth: Any) -> Any:
        user = await user_by_email(auth, args.email)
        return await flows.set_role(auth.ctx, flows.operator(auth.ctx), user.id, roles)

    user = run_reporting(settings, run)
    print(f"{user.email}: role {user.extra.get('role')}")


def cmd_ban(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    if args.expires_in is not None and args.expires_in <= 0:
        raise CliError("--expires-in: must be a positive number of seconds")

    async def run(auth: Any) -> Any:
        user = await user_by_email(auth, args.email)
        return await bans.ban_user(
            auth.ctx, flows.operator(auth.ctx), user.id, reason=args.reason, expires_in=args.expires_in
        )

    user = run_reporting(settings, run)
    until = iso(user.extra.get("banExpires"))
    print(f"{user.email}: banned {'until ' + until if until else 'until unbanned'}; sessions revoked")


def cmd_unban(args: argparse.Namespace) -> None:
    settings = settings_of(args)

    async def run(auth: Any) -> Any:
        user = await user_by_email(auth, args.email)
        return await bans.unban_user(auth.ctx, flows.operator(auth.ctx), user.id)

    user = run_reporting(settings, run)
    print(f"{user.email}: unbanned")


def cmd_unlock(args: argparse.Namespace) -> None:
    settings = settings_of(args)

    async def run(auth: Any) -> Any:
        user = await user_by_email(auth, args.email)
        return await flows.unlock_user(auth.ctx, flows.operator(auth.ctx), user.id)

    user = run_reporting(settings, run)
    print(f"{user.email}: unlocked (failed sign-ins and two-factor attempts cleared)")


def commands(groups: CliGroups) -> None:
    """``Plugin.cli``: the ``users`` commands that need roles and bans."""
    usub, common = groups.users, groups.common
    create = usub.add_parser(
        "create", help="create a user (password from --password, AUTHKEEPER_NEW_PASSWORD, stdin or a prompt)"
    )
    common(create)
    create.add_argument("email")
    create.add_argument("--name", help="display name (default: the email's local part)")
    create.add_argument("--password", help="the password (visible in the process list: prefer the prompt)")
    create.add_argument("--role", help="role, e.g. admin")
    create.add_argument("--verified", action="store_true", help="mark the email as verified")
    create.set_defaults(fn=cmd_create)
    set_role = usub.add_parser("set-role", help="set a user's role (several: comma-separated, e.g. admin,moderator)")
    common(set_role)
    set_role.add_argument("email")
    set_role.add_argument("role", help="a role defined in admin.roles (e.g. admin, moderator, user)")
    set_role.set_defaults(fn=cmd_set_role)
    ban = usub.add_parser("ban", help="ban a user and end their sessions")
    common(ban)
    ban.add_argument("email")
    ban.add_argument("--reason", help="why (kept for admins; the user is never told)")
    ban.add_argument(
        "--expires-in", type=float, metavar="SECONDS", help="lift the ban after this many seconds (default: never)"
    )
    ban.set_defaults(fn=cmd_ban)
    unban = usub.add_parser("unban", help="lift a user's ban")
    common(unban)
    unban.add_argument("email")
    unban.set_defaults(fn=cmd_unban)
    unlock = usub.add_parser("unlock", help="clear a user's sign-in lockout (too many wrong passwords or codes)")
    common(unlock)
    unlock.add_argument("email")
    unlock.set_defaults(fn=cmd_unlock)
