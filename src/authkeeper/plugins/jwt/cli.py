"""The jwt plugin's commands: ``authkeeper keys list|rotate|revoke``."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ...commands import CliError, CliGroups, migrate_db, run_reporting, settings_of
from ...core import audit
from ...core.models import iso
from ...core.settings import Settings
from .events import JwtEvent
from .settings import JwtSettings
from .tokens import JwtService, service_of


def _enabled(args: argparse.Namespace) -> Settings:
    settings = settings_of(args)
    if not settings.section(JwtSettings).enabled:
        raise CliError("the jwt plugin is off (set [jwt] enabled = true, or AUTHKEEPER_JWT__ENABLED=true)")
    asyncio.run(migrate_db(settings))
    return settings


def _service(auth: Any) -> JwtService:
    return service_of(auth.ctx, "authkeeper keys")


def cmd_list(args: argparse.Namespace) -> None:
    settings = _enabled(args)

    async def run(auth: Any) -> list[dict[str, Any]]:
        jwt = _service(auth)
        return jwt.keys.describe(await jwt.keys.rows(fresh=True), auth.ctx.now())

    found = run_reporting(settings, run)
    if args.json:
        for key in found:
            print(json.dumps({k: iso(v) if hasattr(v, "isoformat") else v for k, v in key.items() if v is not None}))
        return
    if not found:
        print("no keys yet (the first token or JWKS request makes one; or run: authkeeper keys rotate)")
    for key in found:
        ends = iso(key["expires_at"]) or "never"
        print(f"{key['id']}  {key['alg'] or '-':6}  {key['state']:8}  made {iso(key['created_at'])}  ends {ends}")


def cmd_rotate(args: argparse.Namespace) -> None:
    settings = _enabled(args)

    async def run(auth: Any) -> tuple[Any, bool, str]:
        keys = _service(auth).keys
        record, made = await keys.rotate(reason="operator", retire_now=args.now)
        states = {k["id"]: k["state"] for k in keys.describe(await keys.rows(fresh=True), auth.ctx.now())}
        return record, made, states.get(record.id, "")

    record, made, state = run_reporting(settings, run)
    max_age = settings.section(JwtSettings).jwks_max_age
    name = f"{record.id} ({record.alg})"
    if not made:
        where = "signs now" if args.now or state == "signing" else f"waits to take over (within {max_age} s)"
        retired = ", and the keys before it sign no more" if args.now else ""
        print(f"key {name}, made by another rotation, {where}{retired}; no other key was made")
    elif args.now:
        print(f"made key {name}; it signs now, and the keys before it sign no more")
    elif state == "signing":
        print(f"made key {name}; no other key signs, so it signs now")
    else:
        print(f"made key {name}; published now, it takes over signing in {max_age} s")


def cmd_revoke(args: argparse.Namespace) -> None:
    settings = _enabled(args)

    async def run(auth: Any) -> bool:
        removed = await _service(auth).keys.remove(args.kid)
        if removed:
            await audit.record(auth.ctx.store, JwtEvent.KEY_REVOKED, user_id=None, actor_id="cli", kid=args.kid)
        return removed

    if not run_reporting(settings, run):
        raise CliError(f"no key {args.kid!r} (see: authkeeper keys list)")
    print(
        f"removed key {args.kid}: the tokens it signed no longer verify here (other services: once their JWKS cache ends)"
    )


def register(groups: CliGroups) -> None:
    keys = groups.root.add_parser("keys", help="the jwt plugin's signing keys")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    lst = sub.add_parser("list", help="list the signing keys and their state")
    groups.common(lst)
    lst.add_argument("--json", action="store_true", help="print JSON lines")
    lst.set_defaults(fn=cmd_list)
    rotate = sub.add_parser("rotate", help="make a new signing key (one, however many run at once)")
    groups.common(rotate)
    rotate.add_argument(
        "--now",
        action="store_true",
        help="sign with it at once and retire the current key (verifiers with a cached JWKS refetch it)",
    )
    rotate.set_defaults(fn=cmd_rotate)
    revoke = sub.add_parser("revoke", help="delete a key: the tokens it signed stop verifying")
    groups.common(revoke)
    revoke.add_argument("kid")
    revoke.set_defaults(fn=cmd_revoke)
