"""``authkeeper``: serve, migrate, cleanup, and manage users from the shell."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from .config import DEV_SECRET_FILE, ConfigError, load_settings
from .core.settings import Settings


def banner(settings: Settings, secret_file: Path = DEV_SECRET_FILE, *, generated: bool = False) -> str:
    """The development-mode banner, saying what this run really does (``generated``: this run
    generated the secret into ``secret_file``)."""
    lines = [" authkeeper is running in DEVELOPMENT mode"]
    try:
        from_file = secret_file.read_text().strip() == settings.secret
    except OSError:
        from_file = False
    if from_file and generated:
        lines.append(f" - the secret was generated into {secret_file} and is kept there")
    elif from_file:
        lines.append(f" - the secret is read from {secret_file}")
    mail = settings.mail
    if mail.backend == "console":
        lines.append(" - mails are printed here")
    elif mail.backend == "smtp":
        lines.append(f" - mails go to SMTP {mail.smtp_host}:{mail.smtp_port}")
    if mail.outbox:
        lines.append(" - mails are kept at GET /__mailbox?to=EMAIL")
    lines.append(" Set AUTHKEEPER_ENV=production (with AUTHKEEPER_SECRET) for real use.")
    rule = "=" * 64
    return "\n".join([rule, *lines, rule])


class CliError(Exception):
    """A one-line error for the user; exit status 1."""


def _settings(args: argparse.Namespace) -> Settings:
    existed = DEV_SECRET_FILE.exists()
    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    args.secret_generated = not existed and DEV_SECRET_FILE.exists()
    return settings


def _base_url_given(args: argparse.Namespace) -> bool:
    """Whether the base URL is set explicitly, in the environment or the settings file."""
    import tomllib

    if os.environ.get("AUTHKEEPER_BASE_URL"):
        return True
    path = args.config or os.environ.get("AUTHKEEPER_CONFIG")
    if not path:
        return False
    with open(path, "rb") as fh:  # already loaded once: it exists and parses
        return "base_url" in tomllib.load(fh)


def _listening_url(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def base_url_warning(settings: Settings, host: str, port: int) -> str | None:
    """A warning when the base URL is a loopback address on a port the server does not listen
    on: browsers then send an origin the server refuses (a public URL behind a proxy is fine)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(settings.base_url)
    name = (parts.hostname or "").lower()
    try:
        loopback = name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    try:
        url_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if not loopback or url_port == port:
        return None
    return (f"warning: base_url {settings.base_url} is on port {url_port} but the server listens on {host}:{port}: "
            f"forms and cookie requests from http://{parts.netloc}:{port} will be refused as cross-origin "
            f"(set AUTHKEEPER_BASE_URL, or leave base_url unset to follow --port)")


async def _migrate(settings: Settings) -> list[str]:
    from .storage.migrate import migrate
    from .storage.sql import StorageURLError

    try:
        return await migrate(settings)
    except StorageURLError as exc:
        raise CliError(f"database: {exc}") from None
    except (OSError, Exception) as exc:  # name the cause in one line
        if isinstance(exc, CliError):
            raise
        raise CliError(f"database: cannot connect or migrate ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with the access log's request targets redacted (a reset link's token
    is in its path, a verification link's in its query)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "authkeeper.core.redaction.AccessLogFilter"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def cmd_serve(args: argparse.Namespace) -> None:
    import dataclasses

    import uvicorn

    settings = _settings(args)
    if not _base_url_given(args):
        settings = dataclasses.replace(settings, base_url=_listening_url(args.host, args.port))
    problems = settings.problems()
    if problems:
        raise CliError(problems[0])
    _check_port(args.host, args.port)
    if not args.no_migrate and settings.database.auto_migrate:
        # In a child process: the migration tooling then takes no memory in the server.
        cmd = [sys.executable, "-m", "authkeeper", "migrate", "--quiet"]
        if args.config:
            cmd += ["--config", args.config]
        env = {**os.environ, "DATABASE_URL": settings.database.url}
        if subprocess.run(cmd, env=env, check=False).returncode != 0:
            raise SystemExit(1)
    if args.no_migrate:
        # Nor in the lifespan: it then only checks that the schema is current.
        settings = dataclasses.replace(settings, database=dataclasses.replace(settings.database, auto_migrate=False))
    from .auth import Authkeeper
    from .server import create_server_app

    try:
        auth = Authkeeper(settings)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not settings.is_production:
        print(banner(settings, generated=args.secret_generated), file=sys.stderr)
    warning = base_url_warning(settings, args.host, args.port)
    if warning:
        print(f"authkeeper: {warning}", file=sys.stderr)
    print(f"authkeeper: serving {settings.api_url} (database: {settings.database.url.split('@')[-1]})", file=sys.stderr)
    uvicorn.run(
        create_server_app(auth),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=_log_config(),
        access_log=args.access_log,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    changes = asyncio.run(_migrate(_settings(args)))
    for change in changes:
        print(f"migrate: {change}", file=sys.stderr if args.quiet else sys.stdout)
    if not args.quiet:
        print(f"migrate: done, {len(changes)} changes" if changes else "migrate: database is up to date")


async def _with_auth(settings: Settings, fn: Any) -> Any:
    from .auth import Authkeeper

    auth = Authkeeper(settings)
    try:
        return await fn(auth)
    finally:
        await auth.shutdown()


def cmd_cleanup(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def run(auth: Any) -> dict[str, int]:
        removed: dict[str, int] = await auth.cleanup()
        return removed

    removed = asyncio.run(_with_auth(settings, run))
    print(cleanup_line(removed))


CLEANED = {
    "sessions": "expired sessions", "verifications": "expired links and codes", "lockouts": "stale lockouts",
    "audit_events": "audit events past retention",
}
"""What each count of :meth:`Authkeeper.cleanup` is, in words."""


def cleanup_line(removed: dict[str, int]) -> str:
    """``removed 0 expired sessions, 2 expired links and codes, …`` (unknown keys spelled out)."""
    parts = [f"{count} {CLEANED.get(key, key.replace('_', ' '))}" for key, count in removed.items()]
    return "removed " + ", ".join(parts)


def cmd_users_create(args: argparse.Namespace) -> None:
    from .plugins.admin import flows

    settings = _settings(args)
    password = args.password or os.environ.get("AUTHKEEPER_NEW_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
    roles = _check_roles(settings, args.role) if args.role else None

    async def run(auth: Any) -> Any:
        # The admin flow, as the CLI operator: the audit row names "cli" as the actor.
        return await flows.create_user(
            auth.ctx, flows.operator(auth.ctx), email=args.email, name=args.name or args.email.split("@")[0],
            password=password, role=roles, data={"emailVerified": bool(args.verified)},
        )

    asyncio.run(_migrate(settings))
    user = _admin_run(settings, run)
    print(f"created user {user.id} <{user.email}>")


def cmd_users_list(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def run(auth: Any) -> Any:
        return await auth.store.list_users(limit=args.limit, offset=args.offset)

    users = asyncio.run(_with_auth(settings, run))
    if args.json:
        print(json.dumps([u.to_json() for u in users], indent=2))
        return
    rows = [("ID", "EMAIL", "NAME", "VERIFIED", "ROLE")]
    rows += [(str(u.id), u.email, u.name or "-", "verified" if u.email_verified else "unverified", u.extra.get("role") or "-")
             for u in users]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=False)) + "  " + r[4])
    if not users:
        print("(no users)", file=sys.stderr)


def _check_roles(settings: Settings, value: str) -> list[str]:
    from .plugins.admin.access import parse_roles

    roles = list(parse_roles(value))
    unknown = [r for r in roles if r not in settings.admin.roles]
    if not roles or unknown:
        defined = ", ".join(sorted(settings.admin.roles))
        raise CliError(f"unknown role {(unknown or [value])[0]!r} (defined roles: {defined})")
    return roles


def _admin_run(settings: Settings, fn: Any) -> Any:
    """Run ``fn(auth)``; domain and database errors become one-line CLI errors."""
    from sqlalchemy.exc import SQLAlchemyError

    from .core.errors import AuthError

    try:
        return asyncio.run(_with_auth(settings, fn))
    except AuthError as exc:
        raise CliError(f"{exc.code}: {exc.message}") from None
    except (SQLAlchemyError, OSError) as exc:
        first = (str(exc).splitlines() or [""])[0][:200]
        raise CliError(f"database: {type(exc).__name__}: {first} (run: authkeeper migrate)") from None


async def _user_by_email(auth: Any, email: str) -> Any:
    from .core.users import normalise_email

    user = await auth.store.find_user_by_email(normalise_email(email))
    if user is None:
        raise CliError(f"no user with email {email!r}")
    return user


def cmd_users_set_role(args: argparse.Namespace) -> None:
    from .plugins.admin import flows

    settings = _settings(args)
    roles = _check_roles(settings, args.role)

    async def run(auth: Any) -> Any:
        user = await _user_by_email(auth, args.email)
        return await flows.set_role(auth.ctx, flows.operator(auth.ctx), user.id, roles)

    user = _admin_run(settings, run)
    print(f"{user.email}: role {user.extra.get('role')}")


def cmd_users_ban(args: argparse.Namespace) -> None:
    from .plugins.admin import bans, flows

    settings = _settings(args)
    if args.expires_in is not None and args.expires_in <= 0:
        raise CliError("--expires-in: must be a positive number of seconds")

    async def run(auth: Any) -> Any:
        user = await _user_by_email(auth, args.email)
        return await bans.ban_user(
            auth.ctx, flows.operator(auth.ctx), user.id, reason=args.reason, expires_in=args.expires_in
        )

    user = _admin_run(settings, run)
    from .core.models import iso

    until = iso(user.extra.get("banExpires"))
    print(f"{user.email}: banned {'until ' + until if until else 'until unbanned'}; sessions revoked")


def cmd_users_unban(args: argparse.Namespace) -> None:
    from .plugins.admin import bans, flows

    settings = _settings(args)

    async def run(auth: Any) -> Any:
        user = await _user_by_email(auth, args.email)
        return await bans.unban_user(auth.ctx, flows.operator(auth.ctx), user.id)

    user = _admin_run(settings, run)
    print(f"{user.email}: unbanned")


def cmd_users_unlock(args: argparse.Namespace) -> None:
    from .plugins.admin import flows

    settings = _settings(args)

    async def run(auth: Any) -> Any:
        user = await _user_by_email(auth, args.email)
        return await flows.unlock_user(auth.ctx, flows.operator(auth.ctx), user.id)

    user = _admin_run(settings, run)
    print(f"{user.email}: unlocked (failed sign-ins and two-factor attempts cleared)")


def cmd_audit(args: argparse.Namespace) -> None:
    from .core.audit import Event
    from .core.models import parse_iso
    from .storage.sql_plugins import AuditQuery

    settings = _settings(args)
    known = {e.value for e in Event}
    events = [name.strip() for raw in args.event or [] for name in raw.split(",") if name.strip()]
    for name in events:
        if name not in known:
            raise CliError(f"--event: unknown event {name!r} (known: {', '.join(sorted(known))})")
    since = None
    if args.since:
        since = parse_iso(args.since)
        if since is None:
            raise CliError(f"--since: not an ISO 8601 date: {args.since!r}")
    if args.limit < 1:
        raise CliError("--limit: must be at least 1")

    async def run(auth: Any) -> Any:
        user_id = None
        if args.user:
            user_id = (await _user_by_email(auth, args.user)).id if "@" in args.user else args.user
        query = AuditQuery(user_id=user_id, events=tuple(events), since=since, limit=args.limit)
        return await auth.store.list_audit(query)

    found, _total = _admin_run(settings, run)
    for event in found:
        print(json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False))


def cmd_audit_prune(args: argparse.Namespace) -> None:
    settings = _settings(args)
    days = settings.audit.retention_days
    if days <= 0:
        print("audit: retention_days is 0 or less: events are kept forever, nothing pruned")
        return

    async def run(auth: Any) -> int:
        return int(await auth.prune_audit())

    removed = _admin_run(settings, run)
    print(f"audit: pruned {removed} events older than {days} days")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="authkeeper", description="Authentication server and user management.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="TOML settings file (environment variables override it)")

    serve = sub.add_parser("serve", help="start the server (migrates the database first)")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(fn=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    common(migrate)
    migrate.add_argument("--quiet", action="store_true", help="print only changes (to stderr)")
    migrate.set_defaults(fn=cmd_migrate)

    cleanup = sub.add_parser("cleanup", help="remove expired sessions and verification rows")
    common(cleanup)
    cleanup.set_defaults(fn=cmd_cleanup)

    users = sub.add_parser("users", help="manage users")
    usub = users.add_subparsers(dest="users_command", required=True)
    create = usub.add_parser("create", help="create a user (password from --password, AUTHKEEPER_NEW_PASSWORD, stdin or a prompt)")
    common(create)
    create.add_argument("email")
    create.add_argument("--name", help="display name (default: the email's local part)")
    create.add_argument("--password", help="the password (visible in the process list: prefer the prompt)")
    create.add_argument("--role", help="role, e.g. admin")
    create.add_argument("--verified", action="store_true", help="mark the email as verified")
    create.set_defaults(fn=cmd_users_create)
    lst = usub.add_parser("list", help="list users")
    common(lst)
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(fn=cmd_users_list)
    set_role = usub.add_parser("set-role", help="set a user's role (several: comma-separated, e.g. admin,moderator)")
    common(set_role)
    set_role.add_argument("email")
    set_role.add_argument("role", help="a role defined in admin.roles (e.g. admin, moderator, user)")
    set_role.set_defaults(fn=cmd_users_set_role)
    ban = usub.add_parser("ban", help="ban a user and end their sessions")
    common(ban)
    ban.add_argument("email")
    ban.add_argument("--reason", help="why (kept for admins; the user is never told)")
    ban.add_argument("--expires-in", type=float, metavar="SECONDS", help="lift the ban after this many seconds (default: never)")
    ban.set_defaults(fn=cmd_users_ban)
    unban = usub.add_parser("unban", help="lift a user's ban")
    common(unban)
    unban.add_argument("email")
    unban.set_defaults(fn=cmd_users_unban)
    unlock = usub.add_parser("unlock", help="clear a user's sign-in lockout (too many wrong passwords or codes)")
    common(unlock)
    unlock.add_argument("email")
    unlock.set_defaults(fn=cmd_users_unlock)

    audit = sub.add_parser("audit", help="print audit events as JSON lines, newest first")
    common(audit)
    audit.add_argument("--user", metavar="EMAIL", help="events of this user (as subject or actor); an email or a user id")
    audit.add_argument("--event", action="append", metavar="E", help="only this event (repeatable, or comma-separated), e.g. user-banned")
    audit.add_argument("--since", metavar="ISO", help="only events at or after this ISO 8601 time")
    audit.add_argument("--limit", type=int, default=100, metavar="N", help="at most N events (default 100)")
    audit.set_defaults(fn=cmd_audit)
    asub = audit.add_subparsers(dest="audit_command")
    prune = asub.add_parser("prune", help="remove events older than audit.retention_days")
    common(prune)
    prune.set_defaults(fn=cmd_audit_prune)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except CliError as exc:
        print(f"authkeeper: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
