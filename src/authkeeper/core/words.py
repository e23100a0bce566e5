"""Numbers in words for mails and pages: plural-aware, so never "1 minutes" or "0 minutes"."""

from __future__ import annotations

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def plural(count: int, noun: str) -> str:
    """``1 minute``, ``2 minutes``, ``0 seconds``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def duration(seconds: int) -> str:
    """A lifetime as a person says it, to its two largest units: ``30 seconds``, ``1 minute``,
    ``1 minute 30 seconds``, ``1 hour 30 minutes``, ``2 days``. What a third unit would add
    is left out (``1 day 1 hour``, not ``1 day 1 hour 1 minute``)."""
    seconds = max(0, int(seconds))
    parts: list[str] = []
    for noun, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count and len(parts) < 2:
            parts.append(plural(count, noun))
        elif parts:
            break
    return " ".join(parts) or plural(0, "second")
