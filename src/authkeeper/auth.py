"""The entry point for library users: ``Authkeeper(settings)`` builds everything once.

auth = Authkeeper(Settings(secret=..., base_url=...))
app = FastAPI(lifespan=auth.lifespan)
app.mount("/api/auth", auth.api)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
from collections.abc import AsyncIterator
from typing import Any

from .core import audit
from .core.context import AuthContext
from .core.crypto.passwords import PasswordHasher
from .core.crypto.signing import CookieSigner
from .core.mail import MailService, Outbox, build_mailer
from .core.ports import Store
from .core.redirects import OriginPolicy
from .core.services import MissingService
from .core.settings import Settings
from .http.api import core_endpoints
from .http.app import AuthApp
from .http.openapi import openapi_endpoint
from .plugins.base import Plugin
from .storage import open_store
from .storage.schema import PluginSchema, user_fields
from .web.call import ResponseHook
from .web.credentials import CredentialResolver, core_credentials
from .web.ratelimit import Limiter, MemoryLimiter, RedisLimiter

log = logging.getLogger("authkeeper")


def default_plugins(settings: Settings) -> list[Plugin]:
    """The plugins the settings turn on (admin before two-factor: a banned user gets no
    second-factor challenge)."""
    from .plugins.admin import admin
    from .plugins.admin.settings import AdminSettings
    from .plugins.jwt import jwt
    from .plugins.jwt.settings import JwtSettings
    from .plugins.two_factor import two_factor
    from .plugins.two_factor.settings import TwoFactorSettings

    found: list[Plugin] = []
    if settings.section(AdminSettings).enabled:
        found.append(admin())
    if settings.section(TwoFactorSettings).enabled:
        found.append(two_factor())
    if settings.section(JwtSettings).enabled:
        found.append(jwt(settings.section(JwtSettings)))
    return found


def declare_sections() -> None:
    """Declare the settings sections of the plugins authkeeper ships (``[admin]``,
    ``[two_factor]``, ``[jwt]``) by importing their settings modules, so that a file or the
    environment can set them before any plugin is built (``load_settings`` calls this)."""
    from .plugins.admin import settings as _admin  # noqa: F401
    from .plugins.jwt import settings as _jwt  # noqa: F401
    from .plugins.two_factor import settings as _two_factor  # noqa: F401


def known_plugins() -> list[Plugin]:
    """Every plugin authkeeper ships, on or off (the CLI lists their commands either way)."""
    from .plugins.admin import admin
    from .plugins.jwt import jwt
    from .plugins.two_factor import two_factor

    return [admin(), two_factor(), jwt()]


def schemas_of(plugins: list[Plugin]) -> list[PluginSchema]:
    """The database declarations of ``plugins``, in order."""
    return [p.schema for p in plugins if p.schema is not None]


async def migrate(settings: Settings, plugins: list[Plugin] | None = None, *, to: str = "heads") -> list[str]:
    """Bring the database to the schema of the core and of ``plugins`` (by default those the
    settings turn on); returns a line per change. ``authkeeper migrate`` runs this."""
    from .storage.migrate import migrate as run

    return await run(settings, schemas_of(default_plugins(settings) if plugins is None else plugins), to=to)


async def migration_plan(settings: Settings, plugins: list[Plugin] | None = None) -> list[str]:
    """The SQL :func:`migrate` would run, read without writing (``authkeeper migrate --sql``)."""
    from .storage.migrate import plan

    return await plan(settings, schemas_of(default_plugins(settings) if plugins is None else plugins))


class Authkeeper:
    """Settings in, a running auth service out: context, ASGI API, background cleanup.

    Args:
        settings: the one settings object.
        store: a ready store (``MemoryStore()`` in tests), given the plugins' merged schema;
            by default one is built from ``settings.database``.
    """

    def __init__(self, settings: Settings, *, store: Store | None = None, plugins: list[Plugin] | None = None) -> None:
        problems = settings.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.settings = settings
        p = settings.password
        outbox = Outbox() if (not settings.is_production and settings.mail.outbox) else None
        self.plugins = default_plugins(settings) if plugins is None else plugins
        schemas = schemas_of(self.plugins)
        self.ctx = AuthContext(
            settings=settings,
            store=open_store(settings, schemas, store),
            user_fields=user_fields(schemas),
            hasher=PasswordHasher(
                memory_kib=p.argon2_memory_kib,
                time_cost=p.argon2_time_cost,
                parallelism=p.argon2_parallelism,
                workers=p.hash_workers,
            ),
            mail=MailService(build_mailer(settings.mail), outbox),
            signer=CookieSigner((settings.secret, *settings.previous_secrets)),
            origins=OriginPolicy(settings.base_origin, settings.trusted_origins),
        )
        self._compose()
        rules = {}
        for plugin in self.plugins:
            rules.update(plugin.rate_limits)
        rules.update(settings.rate_limit.rules)
        rate_settings = dataclasses.replace(settings.rate_limit, rules=rules)
        limiter: Limiter = (
            RedisLimiter(settings.rate_limit.redis_url)
            if settings.rate_limit.storage == "redis"
            else MemoryLimiter(max_keys=settings.rate_limit.memory_max_keys)
        )
        endpoints = core_endpoints() + [ep for plugin in self.plugins for ep in plugin.endpoints]
        if settings.openapi_enabled:
            endpoints.append(openapi_endpoint(settings, endpoints))
        after: dict[str, list[ResponseHook]] = {}
        for plugin in self.plugins:
            for path, hook in plugin.after:
                after.setdefault(path, []).append(hook)
        self.api = AuthApp(
            self.ctx, endpoints, limiter=limiter, rate_limit=rate_settings, credentials=self.credentials, after=after
        )
        self._cleanup_task: asyncio.Task[None] | None = None
        self._owns_store = store is None

    def _compose(self) -> None:
        """Merge the plugins' parts into the context. Done here, not at start-up: an app
        mounted without the lifespan still forgets trusted devices when sessions are revoked."""
        seen: set[str] = set()
        for plugin in self.plugins:
            if plugin.id in seen:
                raise ValueError(f"plugin {plugin.id!r} is installed twice")
            seen.add(plugin.id)
        stages = sorted((p for plugin in self.plugins for p in plugin.sign_in_stages), key=lambda p: p[0])
        self.ctx.sign_in_stages.extend(stage for _, stage in stages)
        hooks = self.ctx.hooks
        self.ctx.audit_events = tuple(
            dict.fromkeys([*audit.core_events(), *(e for p in self.plugins for e in p.audit_events)])
        )
        for plugin in self.plugins:
            hooks.on_sessions_ending.extend(plugin.on_sessions_ending)
            hooks.on_signing_out.extend(plugin.on_signing_out)
            hooks.session_checks.extend(plugin.session_checks)
            hooks.user_checks.extend(plugin.user_checks)
            if plugin.delegated is not None:
                hooks.delegated.append(plugin.delegated)
            for kind, subscriber in plugin.subscribers:
                hooks.subscribe(kind, subscriber)
            for service, factory in plugin.provides.items():
                self.ctx.services.provide(service, factory(self.ctx), by=plugin.id)
        self.credentials = CredentialResolver(
            self.ctx, [*core_credentials(), *(backend for plugin in self.plugins for backend in plugin.credentials)]
        )
        """The one credential resolver of the API, the pages and the integrations."""
        for plugin in self.plugins:
            for service in plugin.requires:
                if service not in self.ctx.services:
                    raise MissingService(
                        f"plugin {plugin.id!r} needs {service.name}, which no installed plugin provides"
                    )

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def outbox(self) -> Outbox | None:
        return self.ctx.mail.outbox

    async def startup(self) -> None:
        if self._owns_store:
            # Migrate when database.auto_migrate is on (under a lock: workers starting at once
            # migrate once), else fail with "run authkeeper migrate" if the schema is behind. A
            # current schema is recognised without loading Alembic.
            from .storage.migrate import ensure_schema

            for change in await ensure_schema(self.settings, schemas_of(self.plugins)):
                log.info("migrate: %s", change)
        if self.settings.password.reject_common:
            # Load the password corpus off the event loop, before the first sign-up needs it.
            from .core import passwords

            await asyncio.to_thread(passwords.breached_passwords)
        for plugin in self.plugins:
            if plugin.init is not None:
                result = plugin.init(self.ctx)
                if result is not None:
                    await result
        if self.settings.cleanup_interval > 0 and self._cleanup_task is None:
            self._cleanup_task = asyncio.get_running_loop().create_task(self._cleanup_loop())

    async def shutdown(self) -> None:
        if self._cleanup_task is not None:
            self._cleanup_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cleanup_task
            self._cleanup_task = None
        await self.ctx.mail.drain()
        await self.ctx.store.close()
        self.ctx.hasher.close()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        await self.startup()
        try:
            yield
        finally:
            await self.shutdown()

    async def cleanup(self) -> dict[str, int]:
        """Remove expired sessions and verification rows, and audit events past retention, now."""
        removed = await self.ctx.store.cleanup(self.ctx.now())
        removed["audit_events"] = await self.prune_audit()
        return removed

    async def prune_audit(self) -> int:
        """Remove audit events older than ``audit.retention_days`` (0 or less keeps them all)."""
        days = self.settings.audit.retention_days
        if days <= 0:
            return 0
        cutoff = self.ctx.now() - datetime.timedelta(days=days)
        return await self.ctx.store.prune_audit(cutoff)

    async def _cleanup_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cleanup_interval)
            try:
                removed = await self.cleanup()
                log.info("cleanup removed %s", removed)
            except Exception:  # try again next round
                log.exception("cleanup failed")
