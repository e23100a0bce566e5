"""How page handlers are declared: method, path (``{name}`` matches one segment), handler,
and what the visitor needs (nothing, a session, a fresh session); and the sections a plugin
adds to a core page (:class:`Section`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.responses import Response

if TYPE_CHECKING:
    from .page import Page

Handler = Callable[["Page"], Awaitable[Response]]
Access = Literal["public", "session", "fresh"]
"""``session``: a visitor without one goes to ``/sign-in?next=…``; ``fresh``: a session
older than ``session.fresh_age`` goes to ``/reauth?next=…`` first."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    access: Access = "public"
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[A-Za-z0-9_-]{1,128})", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def get(path: str, handler: Handler, access: Access = "public") -> Route:
    return Route("GET", path, handler, access)


def post(path: str, handler: Handler, access: Access = "public") -> Route:
    return Route("POST", path, handler, access)


SectionContext = Callable[["Page"], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Section:
    """A part a plugin adds to one of the core's pages: ``template`` is included at the place
    named ``where``, with the page's context and the values ``context`` returns (merged into it,
    so name them after the plugin). Places: ``account/profile`` (above the profile) and
    ``account/security`` (between the password and the deletion)."""

    where: str
    template: str
    context: SectionContext | None = None
    forms: tuple[str, ...] = ()
    """The ids of the section's forms: while impersonating, the page shows no form but still
    the answer to one that was posted (a forged post gets its error)."""
