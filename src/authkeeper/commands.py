"""What a plugin's CLI commands are built with: the groups they join, loading the settings,
running a flow on a short-lived app, and one-line errors. ``authkeeper.cli`` assembles the
core's commands and the plugins' (``Plugin.cli``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .config import DEV_SECRET_FILE, ConfigError, load_settings
from .core.settings import Settings

if TYPE_CHECKING:
    from .auth import Authkeeper
    from .core.models import User

T = TypeVar("T")


class CliError(Exception):
    """A one-line error for the user; exit status 1."""


@dataclass(frozen=True)
class CliGroups:
    """Where commands go: ``root`` (``authkeeper X``), ``users`` (``authkeeper users X``) and
    ``audit`` (``authkeeper audit X``). ``common(parser)`` adds the options every command takes
    (``--config``); each command sets ``fn`` (``args -> None``) with ``set_defaults``."""

    root: argparse._SubParsersAction[argparse.ArgumentParser]
    users: argparse._SubParsersAction[argparse.ArgumentParser]
    common: Callable[[argparse.ArgumentParser], None]


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings from ``--config`` and the environment (a ConfigError as a CliError)."""
    existed = DEV_SECRET_FILE.exists()
    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    args.secret_generated = not existed and DEV_SECRET_FILE.exists()
    return settings


async def with_auth(settings: Settings, fn: Callable[[Authkeeper], Awaitable[T]]) -> T:
    """``fn(auth)`` on an app built for this one command (no server, no background tasks)."""
    from .auth import Authkeeper

    auth = Authkeeper(settings)
    try:
        return await fn(auth)
    finally:
        await auth.shutdown()


def run_reporting(settings: Settings, fn: Callable[[Authkeeper], Awaitable[T]]) -> T:
    """Run ``fn(auth)``; domain and database errors become one-line CLI errors."""
    from sqlalchemy.exc import SQLAlchemyError

    from .core.errors import AuthError

    try:
        return asyncio.run(with_auth(settings, fn))
    except AuthError as exc:
        raise CliError(f"{exc.code}: {exc.message}") from None
    except (SQLAlchemyError, OSError) as exc:
        first = (str(exc).splitlines() or [""])[0][:200]
        raise CliError(f"database: {type(exc).__name__}: {first} (run: authkeeper migrate)") from None


async def user_by_email(auth: Authkeeper, email: str) -> User:
    from .core.users import normalise_email

    user = await auth.store.find_user_by_email(normalise_email(email))
    if user is None:
        raise CliError(f"no user with email {email!r}")
    return user


async def migrate_db(settings: Settings, *, sql: bool = False) -> list[str]:
    """Migrate (or, with ``sql``, plan); what goes wrong in one line."""
    from .auth import migrate, migration_plan
    from .storage.sql import StorageURLError

    try:
        return await (migration_plan(settings) if sql else migrate(settings))
    except StorageURLError as exc:
        raise CliError(f"database: {exc}") from None
    except (OSError, Exception) as exc:  # name the cause in one line
        if isinstance(exc, CliError):
            raise
        raise CliError(
            f"database: cannot connect or migrate ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        ) from None


def read_password(given: str | None) -> str:
    """The password from the option, ``AUTHKEEPER_NEW_PASSWORD``, stdin, or a prompt."""
    import getpass
    import os
    import sys

    password = given or os.environ.get("AUTHKEEPER_NEW_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password: ")
