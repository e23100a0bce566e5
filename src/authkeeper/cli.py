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
from typing import Any

from .config import ConfigError, load_settings
from .core.settings import Settings

BANNER = """\
================================================================
 authkeeper is running in DEVELOPMENT mode
 - a secret was generated and kept in .authkeeper-secret
 - mails are printed here and kept at GET /__mailbox?to=EMAIL
 Set AUTHKEEPER_ENV=production (with AUTHKEEPER_SECRET) for real use.
================================================================"""


class CliError(Exception):
    """A one-line error for the user; exit status 1."""


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError(str(exc)) from None


async def _migrate(settings: Settings) -> list[str]:
    from .storage.migrate import migrate
    from .storage.sql import StorageURLError

    try:
        return await migrate(settings)
    except StorageURLError as exc:
        raise CliError(f"database: {exc}") from None
    except (OSError, Exception) as exc:  # noqa: BLE001 - name the cause in one line
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


def cmd_serve(args: argparse.Namespace) -> None:
    import dataclasses

    import uvicorn

    settings = _settings(args)
    if args.port and "AUTHKEEPER_BASE_URL" not in os.environ and not args.config:
        settings = dataclasses.replace(settings, base_url=f"http://{args.host}:{args.port}")
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
        if subprocess.run(cmd, env=env).returncode != 0:
            raise SystemExit(1)
    _return_freed_memory()
    from .auth import Authkeeper
    from .server import create_server_app

    try:
        auth = Authkeeper(settings)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not settings.is_production:
        print(BANNER, file=sys.stderr)
    print(f"authkeeper: serving {settings.api_url} (database: {settings.database.url.split('@')[-1]})", file=sys.stderr)
    uvicorn.run(
        create_server_app(auth),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
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
        print("migrate: database is up to date")


def _return_freed_memory() -> None:
    """Make glibc serve large blocks (argon2's 19 MiB) with mmap, so they go back to the
    OS after each hash instead of staying in per-thread arenas."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD: fixed at 1 MiB (no dynamic growth)
    except (OSError, AttributeError):
        return


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
        return await auth.cleanup()

    removed = asyncio.run(_with_auth(settings, run))
    print(", ".join(f"{v} expired {k}" for k, v in removed.items()))


def cmd_users_create(args: argparse.Namespace) -> None:
    from .core.errors import AuthError
    from .flows.sign_up import create_user

    settings = _settings(args)
    password = args.password or os.environ.get("AUTHKEEPER_NEW_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
    extra: dict[str, Any] = {}
    if args.role:
        extra["role"] = args.role

    async def run(auth: Any) -> Any:
        return await create_user(
            auth.ctx, name=args.name or args.email.split("@")[0], email=args.email,
            password=password, email_verified=args.verified, extra=extra,
        )

    asyncio.run(_migrate(settings))
    try:
        user = asyncio.run(_with_auth(settings, run))
    except AuthError as exc:
        raise CliError(f"{exc.code}: {exc.message}") from None
    print(f"created user {user.id} <{user.email}>")


def cmd_users_list(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def run(auth: Any) -> Any:
        return await auth.store.list_users(limit=args.limit, offset=args.offset)

    users = asyncio.run(_with_auth(settings, run))
    if args.json:
        print(json.dumps([u.to_json() for u in users], indent=2))
        return
    for u in users:
        role = u.extra.get("role") or ""
        print(f"{u.id}  {u.email:<40} {'verified' if u.email_verified else 'unverified':<10} {role}")


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
