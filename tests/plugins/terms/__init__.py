"""A plugin that lives outside the package, as a user's own would: the terms of service.

It brings every kind of part a plugin can have, and nothing in ``src/`` knows it:

- a settings section ``[terms]`` (``TermsSettings``: the current version, refused domains);
- a table of its own (``termsAcceptance``) and a user field (``user.termsVersion``, which no
  client may set), with an Alembic branch of its own (``migrations/``);
- an endpoint (``POST /terms/accept``, ``GET /terms/status``);
- a sign-in stage (refuses addresses of the refused domains, before any session);
- a page (``/terms``, with a form) and its template;
- an audit event (``terms-accepted``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.responses import Response

from authkeeper.core import audit, errors
from authkeeper.core.changes import UserUpdate
from authkeeper.core.context import AuthContext
from authkeeper.core.crypto.random import generate_id
from authkeeper.core.settings import register_section
from authkeeper.core.sign_in import Interruption, PendingSignIn
from authkeeper.pages.page import Page
from authkeeper.pages.routes import get, post
from authkeeper.plugins.base import Plugin
from authkeeper.storage.schema import PluginSchema
from authkeeper.web.call import Call, Endpoint

HERE = Path(__file__).parent
TERMS_REFUSED = errors.define("TERMS_REFUSED", 403, "Addresses of this domain may not sign in")
ACCEPTED = "terms-accepted"
"""The plugin's audit event."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TermsSettings:
    version: str = "2026-01"
    """The version of the terms users accept now."""
    refused_domains: tuple[str, ...] = ()
    """Addresses of these domains may not sign in."""

    def problems(self) -> list[str]:
        return [] if self.version.strip() else ["version: must not be empty"]


register_section("terms", TermsSettings)


def tables(md: sa.MetaData) -> None:
    sa.Table(
        "termsAcceptance",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("acceptedAt", sa.DateTime(timezone=True), nullable=False),
    )


SCHEMA = PluginSchema(
    tables=tables,
    user_columns=lambda: (sa.Column("termsVersion", sa.Text),),
    protected_user_fields=frozenset({"termsVersion"}),
    migrations=HERE / "migrations",
    branch="terms",
    head="terms_0001",
)


async def refuse_domains(ctx: AuthContext, pending: PendingSignIn) -> Interruption | None:
    domain = pending.user.email.rpartition("@")[2].lower()
    if domain in ctx.settings.section(TermsSettings).refused_domains:
        raise errors.AuthError(TERMS_REFUSED)
    return None


async def accept(ctx: AuthContext, user_id: str, client: Any) -> str:
    version = ctx.settings.section(TermsSettings).version
    async with ctx.store.transaction() as tx:
        await tx.insert(
            "termsAcceptance", {"id": generate_id(), "userId": user_id, "version": version, "acceptedAt": ctx.now()}
        )
        await tx.update_user(user_id, UserUpdate(fields={"termsVersion": version}, updated_at=ctx.now()))
        await audit.record(tx, ACCEPTED, user_id=user_id, client=client, version=version)  # type: ignore[arg-type]
    return version


async def accepted(ctx: AuthContext, user_id: str) -> list[str]:
    rows = await ctx.store.select("termsAcceptance", {"userId": user_id}, order_by="acceptedAt")
    return [row["version"] for row in rows]


async def accept_endpoint(call: Call) -> Response:
    return call.json({"version": await accept(call.ctx, call.user.id, call.client)})


async def status_endpoint(call: Call) -> Response:
    versions = await accepted(call.ctx, call.user.id)
    current = call.ctx.settings.section(TermsSettings).version
    return call.json({"current": current, "accepted": current in versions, "history": versions})


async def terms_page(page: Page) -> Response:
    current = page.ctx.settings.section(TermsSettings).version
    return page.render("terms/terms.html", current=current, accepted=current in await accepted(page.ctx, page.me.id))


async def terms_post(page: Page) -> Response:
    await accept(page.ctx, page.me.id, page.call.client)
    return page.redirect(page.url("/terms"))


def terms() -> Plugin:
    return Plugin(
        id="terms",
        schema=SCHEMA,
        endpoints=(
            Endpoint("POST", "/terms/accept", accept_endpoint, auth="session"),
            Endpoint("GET", "/terms/status", status_endpoint, auth="session"),
        ),
        sign_in_stages=((5, refuse_domains),),
        pages=(get("/terms", terms_page, "session"), post("/terms", terms_post, "session")),
        templates=__name__,
        audit_events=(ACCEPTED,),
    )
