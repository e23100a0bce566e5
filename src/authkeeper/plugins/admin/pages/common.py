"""What the admin pages share: who is asking (as an :class:`~..access.Actor`), the page
number of a listing, users' names by id."""

from __future__ import annotations

from ....core.queries import UserQuery
from ....pages.page import Page
from .. import flows
from ..access import Actor

PAGE_SIZE = 25
"""Rows of the users table."""
"""The audit event names (the filter of the audit pages)."""


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 event``, ``2 events`` (``many`` for an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def page_number(page: Page) -> int:
    raw = page.query("page")
    number = int(raw) if raw.isascii() and raw.isdigit() else 1
    return max(1, min(number, 100_000))


def actor(page: Page) -> Actor:
    """The visitor, as the admin flows see them (roles, permissions, rank)."""
    return flows.actor_for(page.ctx, page.me, page.my_session)


async def user_names(page: Page, user_ids: set[str]) -> dict[str, str]:
    """The users' names (else emails) by id, in one query; users no longer there are left out."""
    if not user_ids:
        return {}
    query = UserQuery(filters=(("id", "in", tuple(user_ids)),), limit=len(user_ids))
    found, _ = await page.ctx.store.search_users(query)
    return {str(u.id): u.name or u.email for u in found}
