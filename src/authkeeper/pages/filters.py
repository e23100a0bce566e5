"""Template filters: dates for people, devices from user agents, initials for avatars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..core.models import iso, parse_iso
from . import useragent


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return parse_iso(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def when(value: datetime | str | None, now: datetime | None = None) -> str:
    """``just now``, ``5 minutes ago``, ``in 3 days``."""
    moment = _aware(value)
    if moment is None:
        return "never"
    delta = ((now or datetime.now(UTC)) - moment).total_seconds()
    future = delta < 0
    seconds = abs(delta)
    if seconds < 60:
        return "just now" if not future else "in a moment"
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = round(seconds / size)
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if future else f"{words} ago"
    return "just now"  # pragma: no cover - 60 s and above end in the loop


def date(value: datetime | str | None) -> str:
    """``3 Mar 2025, 14:05 UTC``."""
    moment = _aware(value)
    if moment is None:
        return "—"
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def isodate(value: datetime | str | None) -> str:
    moment = _aware(value)
    return iso(moment) or ""


def initials(name: str | None, email: str = "") -> str:
    words = [w for w in (name or "").split() if w[:1].isalnum()]
    if words:
        return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()
    return (email[:1] or "?").upper()


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "date": date,
    "isodate": isodate,
    "device": useragent.parse,
    "initials": initials,
}
