"""``authkeeper``: serve, migrate, cleanup, and manage users from the shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from .commands import (
    CliError,
    CliGroups,
    migrate_db,
    run_reporting,
    settings_of,
    user_by_email,
    with_auth,
)
from .config import DEV_SECRET_FILE
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
    return (
        f"warning: base_url {settings.base_url} is on port {url_port} but the server listens on {host}:{port}: "
        f"forms and cookie requests from http://{parts.netloc}:{port} will be refused as cross-origin "
        f"(set AUTHKEEPER_BASE_URL, or leave base_url unset to follow --port)"
    )


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

    settings = settings_of(args)
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
    if args.sql:
        for line in asyncio.run(migrate_db(settings_of(args), sql=True)):
            print(line)
        return
    changes = asyncio.run(migrate_db(settings_of(args)))
    for change in changes:
        print(f"migrate: {change}", file=sys.stderr if args.quiet else sys.stdout)
    if not args.quiet:
        print(f"migrate: done, {len(changes)} changes" if changes else "migrate: database is up to date")


def cmd_cleanup(args: argparse.Namespace) -> None:
    settings = settings_of(args)

    async def run(auth: Any) -> dict[str, int]:
        removed: dict[str, int] = await auth.cleanup()
        return removed

    removed = asyncio.run(with_auth(settings, run))
    print(cleanup_line(removed))


CLEANED = {
    "sessions": "expired sessions",
    "verifications": "expired links and codes",
    "lockouts": "stale lockouts",
    "audit_events": "audit events past retention",
}
"""What each count of :meth:`Authkeeper.cleanup` is, in words."""


def cleanup_line(removed: dict[str, int]) -> str:
    """``removed 0 expired sessions, 2 expired links and codes, …`` (unknown keys spelled out)."""
    parts = [f"{count} {CLEANED.get(key, key.replace('_', ' '))}" for key, count in removed.items()]
    return "removed " + ", ".join(parts)


def cmd_users_list(args: argparse.Namespace) -> None:
    settings = settings_of(args)

    async def run(auth: Any) -> Any:
        return await auth.store.list_users(limit=args.limit, offset=args.offset)

    users = asyncio.run(with_auth(settings, run))
    if args.json:
        print(json.dumps([u.to_json() for u in users], indent=2))
        return
    rows = [("ID", "EMAIL", "NAME", "VERIFIED", "ROLE")]
    rows += [
        (
            str(u.id),
            u.email,
            u.name or "-",
            "verified" if u.email_verified else "unverified",
            u.extra.get("role") or "-",
        )
        for u in users
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=False)) + "  " + r[4])
    if not users:
        print("(no users)", file=sys.stderr)


def cmd_audit(args: argparse.Namespace) -> None:
    from .auth import default_plugins
    from .core.audit import core_events
    from .core.models import parse_iso
    from .core.queries import AuditQuery

    settings = settings_of(args)
    known = {*core_events(), *(e for p in default_plugins(settings) for e in p.audit_events)}
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
            user_id = (await user_by_email(auth, args.user)).id if "@" in args.user else args.user
        query = AuditQuery(user_id=user_id, events=tuple(events), since=since, limit=args.limit)
        return await auth.store.list_audit(query)

    found, _total = run_reporting(settings, run)
    for event in found:
        print(json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False))


def cmd_audit_prune(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    days = settings.audit.retention_days
    if days <= 0:
        print("audit: retention_days is 0 or less: events are kept forever, nothing pruned")
        return

    async def run(auth: Any) -> int:
        return int(await auth.prune_audit())

    removed = run_reporting(settings, run)
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
    migrate.add_argument(
        "--sql",
        action="store_true",
        help="connect read-only and print the SQL the migration would run, changing nothing",
    )
    migrate.set_defaults(fn=cmd_migrate)

    cleanup = sub.add_parser("cleanup", help="remove expired sessions and verification rows")
    common(cleanup)
    cleanup.set_defaults(fn=cmd_cleanup)

    users = sub.add_parser("users", help="manage users")
    usub = users.add_subparsers(dest="users_command", required=True)
    lst = usub.add_parser("list", help="list users")
    common(lst)
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(fn=cmd_users_list)
    # The plugins' commands (admin: users create, set-role, ban, unban, unlock; jwt: keys), on
    # or off: a command of a plugin the settings turn off says so when it runs.
    from .auth import known_plugins

    groups = CliGroups(root=sub, users=usub, common=common)
    for plugin in known_plugins():
        if plugin.cli is not None:
            plugin.cli(groups)

    audit = sub.add_parser("audit", help="print audit events as JSON lines, newest first")
    common(audit)
    audit.add_argument(
        "--user", metavar="EMAIL", help="events of this user (as subject or actor); an email or a user id"
    )
    audit.add_argument(
        "--event",
        action="append",
        metavar="E",
        help="only this event (repeatable, or comma-separated), e.g. user-banned",
    )
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
