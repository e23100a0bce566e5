"""A plugin that lives outside the package and brings pages only: a page with a form (its
error code and notice have page texts), a header link, a banner, and a card on the account's
security page, with templates of its own (``templates/greeter/``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authkeeper.core import errors
from authkeeper.core.context import AuthContext
from authkeeper.pages.page import Form, Page
from authkeeper.pages.routes import Section, get, post
from authkeeper.plugins.base import Plugin

GREETER_REFUSES = errors.define("GREETER_REFUSES", 400, "The greeter refuses")
GREET = Form("greet", ("name",))


async def greet_page(page: Page) -> Response:
    return page.render("greeter/greet.html")


async def greet(page: Page) -> Response:
    try:
        if page.text("name", 64) == "nobody":
            raise errors.AuthError(GREETER_REFUSES)
    except errors.AuthError as exc:
        return page.fail("greeter/greet.html", exc, GREET, keep=("name",))
    return page.redirect(page.url("/greet"), "greeted")


async def link(ctx: AuthContext, page: Any) -> tuple[str, str] | None:
    return ("Greet", "/greet") if page.me.name != "Shy" else None


async def card(page: Page) -> dict[str, Any]:
    return {"greeter_name": page.me.name}


def greeter() -> Plugin:
    return Plugin(
        id="greeter",
        pages=(get("/greet", greet_page, "session"), post("/greet", greet, "session")),
        templates=__name__,
        page_links=(link,),
        page_banners=("greeter/_banner.html",),
        page_sections=(Section("account/security", "greeter/_card.html", card, forms=("greet-card",)),),
        page_messages={"GREETER_REFUSES": ("name", "The greeter does not greet nobody.")},
        page_notices={"greeted": "Hello from the greeter."},
    )
