"""The site-wide audit log (``/admin/audit``): the filters of ``GET /admin/audit-events`` as a
GET form."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.responses import Response

from ....core.models import parse_iso
from ....core.queries import AuditQuery
from ....core.users import normalise_email
from ....pages.page import Page
from .. import flows
from .common import actor, page_number, plural, user_names

AUDIT_PAGE_SIZE = 50


def _day(value: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` from the date field (its start, or the next day's for ``end``: the day
    is included), or an ISO 8601 time as the API takes; anything else is no filter."""
    value = value.strip()[:64]
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return parse_iso(value) if "T" in value else None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


async def audit_page(page: Page) -> Response:
    """Every audit event, newest first, filtered by event, user (an email or an id) and days.
    Unknown values are no filter (as on the users table); clients are redacted as the API does."""
    who = actor(page)
    event_names = page.ctx.audit_events
    event = page.query("event") if page.query("event") in event_names else ""
    user = page.query("user").strip()[:320]
    since, until = _day(page.query("since")), _day(page.query("until"), end=True)
    number = page_number(page)
    state = {
        "event": event,
        "user": user,
        "since": page.query("since")[:64] if since else "",
        "until": page.query("until")[:64] if until else "",
    }
    user_id: str | None = user or None
    missing_user = False
    if "@" in user:
        found = await page.ctx.store.find_user_by_email(normalise_email(user))
        user_id = str(found.id) if found else None
        missing_user = found is None
    query = AuditQuery(
        user_id=user_id,
        events=(event,) if event else (),
        since=since,
        until=until,
        limit=AUDIT_PAGE_SIZE,
        offset=(number - 1) * AUDIT_PAGE_SIZE,
    )
    events: list[Any] = []
    total = 0
    if missing_user:
        who.require(*flows.LIST_AUDIT)
    else:
        events, total = await flows.list_audit(page.ctx, who, query)
    names = await user_names(page, {i for e in events for i in (e.user_id, e.actor_id) if i})
    pages = max(1, math.ceil(total / AUDIT_PAGE_SIZE))

    def link(**changes: str) -> str:
        merged = {**state, **changes}
        if merged.get("page") == "1":
            merged.pop("page")
        return page.url("/admin/audit", **merged)

    return page.render(
        "admin/audit.html",
        events=events,
        total=total,
        number=number,
        pages=pages,
        state=state,
        link=link,
        names=names,
        event_names=event_names,
        missing_user=missing_user,
        plural=plural,
        can_audit=True,
        first=(number - 1) * AUDIT_PAGE_SIZE + 1 if events else 0,
        last=(number - 1) * AUDIT_PAGE_SIZE + len(events),
        filtered=any(state.values()),
    )
