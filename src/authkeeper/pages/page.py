"""One page request: the visitor (session, CSRF seed), the posted form, and the answers a
handler gives (a rendered template, a 303 redirect, a form shown again with its errors).

Handlers hold no business rule: they read the form, call a flow, and answer with one of
these. Sessions and cookies go through the web layer's :class:`~authkeeper.web.call.Call`, so a
session made by a page works for the API and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, Response

from ..core import errors
from ..core.context import AuthContext
from ..core.models import Session, User
from ..core.redirects import location_of
from ..web.call import Call
from . import csrf
from .messages import FORM, describe

if TYPE_CHECKING:
    from .app import PagesApp

MAX_FIELD = 4096
"""Longest value any form field may carry (the API's longest, a password)."""


@dataclass(frozen=True, slots=True)
class Form:
    """A form on a page: its id (for form-wide errors) and its inputs, in page order."""

    id: str
    fields: tuple[str, ...]


@dataclass
class Page:
    app: PagesApp
    call: Call
    prefix: str
    """Where the pages are mounted (``root_path``); every URL a page writes starts with it."""
    path: str
    """The request path relative to the mount point."""
    params: dict[str, str] = field(default_factory=dict)
    """Values taken from the path (``/admin/users/{id}`` → ``id``)."""
    form: dict[str, str] = field(default_factory=dict)
    seed: str = ""
    """The visitor's CSRF value (from the cookie, or new)."""
    links: list[tuple[str, str]] = field(default_factory=list)
    """(label, path) of the links the header offers beside "Account" (the plugins'
    ``page_links`` that answered for this visitor)."""

    # -- who is asking -----------------------------------------------------------------
    @property
    def ctx(self) -> AuthContext:
        return self.call.ctx

    @property
    def user(self) -> User | None:
        return self.call.resolved.user if self.call.resolved else None

    @property
    def session(self) -> Session | None:
        return self.call.resolved.session if self.call.resolved else None

    @property
    def me(self) -> User:
        assert self.call.resolved is not None
        return self.call.resolved.user

    @property
    def my_session(self) -> Session:
        assert self.call.resolved is not None
        return self.call.resolved.session

    def query(self, name: str, default: str = "") -> str:
        return self.call.request.query_params.get(name, default)

    async def limit(self, api_path: str) -> None:
        """Count this POST in the rate-limit bucket of the API endpoint doing the same thing
        (``/sign-in/email`` for the sign-in form): TOO_MANY_REQUESTS past the limit.

        Call it inside the ``try`` whose ``except`` answers with :meth:`fail`: the form is then
        shown again with the time to wait (429, ``Retry-After``) and what was typed; outside
        it, the visitor gets the bare "Slow down" page."""
        await self.app.api.hit(self.call, api_path)

    # -- the posted form ---------------------------------------------------------------
    def text(self, name: str, max_length: int = 320, *, strip: bool = True) -> str:
        """A form value (empty when absent), too long refused as the API refuses it."""
        value = self.form.get(name, "")
        if len(value) > max_length:
            raise errors.AuthError(errors.VALIDATION_ERROR, f"[body.{name}] Too long: at most {max_length} characters")
        return value.strip() if strip else value

    def secret(self, name: str) -> str:
        """A password or code exactly as typed (never stripped, never echoed back)."""
        return self.text(name, MAX_FIELD, strip=False)

    def flag(self, name: str) -> bool:
        return self.form.get(name, "").lower() in ("on", "true", "1", "yes")

    # -- URLs --------------------------------------------------------------------------
    def url(self, path: str, **query: str) -> str:
        target = self.prefix + path
        pairs = {k: v for k, v in query.items() if v}
        return f"{target}?{urlencode(pairs)}" if pairs else target

    def here(self) -> str:
        """The URL of this request, as a ``next`` value: the query re-encoded so that only the
        characters the redirect validator accepts remain (``,`` and ``:`` become ``%2C``, ``%3A``)."""
        query = urlencode(self.call.request.query_params.multi_items())
        return self.prefix + self.path + (f"?{query}" if query else "")

    def next_url(self, default: str = "/account") -> str:
        """The ``next`` of the form or query when the API's redirect validator accepts it,
        else the default page (no open redirect)."""
        return self.safe_next() or self.url(default)

    def safe_next(self) -> str:
        """``next`` to carry along in links and hidden fields (empty when unsafe)."""
        value = self.form.get("next") or self.query("next")
        return value if value and self.ctx.origins.is_safe_redirect(value) else ""

    # -- answers -----------------------------------------------------------------------
    def csrf_token(self) -> str:
        session = self.session
        return csrf.token_for(self.ctx.secrets, self.seed, session.id if session else None)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self.app.render(self, template, context)
        return HTMLResponse(html, status_code=status)

    def redirect(self, location: str, notice: str | None = None) -> Response:
        """303 See Other: the Post/Redirect/Get answer to every successful form."""
        if notice:
            assert notice in self.app.notices, notice
            location += ("&" if "?" in location else "?") + urlencode({"notice": notice})
        return Response(status_code=303, headers={"Location": location_of(location)})

    def fail(
        self,
        template: str,
        exc: errors.AuthError,
        form: Form,
        *,
        keep: Iterable[str] = (),
        aliases: dict[str, str] | None = None,
        status: int | None = None,
        **context: Any,
    ) -> Response:
        """The page again with the error next to its field (or above the form), the entered
        values in ``keep`` filled back in (never a password), focus on the field in error.

        A rate limit or lockout (429) is such an error too: the message says how long to wait
        and the response carries ``Retry-After``."""
        if exc.status >= 500 or exc.code == "UNAUTHORIZED":
            raise exc
        found = describe(exc, self.ctx.settings, aliases, self.app.messages)
        target = found.field if found.field in form.fields else FORM
        key = form.id if target == FORM else target
        focus = (
            target
            if target != FORM
            else next((f for f in form.fields if f in keep), form.fields[0] if form.fields else None)
        )
        values = {name: self.form.get(name, "") for name in keep}
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
        response = self.render(
            template,
            # 401 asks for HTTP authentication; a form shown again is a plain 400.
            status=status or (exc.status if 400 <= exc.status < 500 and exc.status != 401 else 400),
            form_errors={key: found.message},
            values=values,
            focus=focus,
            **context,
        )
        response.headers.update(headers)
        return response
