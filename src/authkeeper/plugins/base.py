"""What a plugin is: one package that declares all of its parts, merged by the composition
root (:class:`authkeeper.Authkeeper`). Nothing in the core, the flows, the pages or another
plugin imports a plugin; they meet through what is declared here.

- **settings**: a section class (``[two_factor]``), declared with
  :func:`authkeeper.core.settings.register_section` and read with ``settings.section(cls)``;
- **endpoints** of the JSON API and hooks **after** an endpoint's answer, **pages** and their **templates**, **rate-limit** defaults;
- **credentials** (a transport and a strategy of its own kind, :mod:`authkeeper.web.credentials`);
- **sign-in stages**, ordered (admin's ban check is 10, two-factor's challenge 50);
- **hooks** (:mod:`authkeeper.core.hooks`): participants in the transactions that end
  sessions and sign out, checks on every resolved session, event subscribers;
- **services** it provides to the others and those it requires (:mod:`authkeeper.core.services`);
- **CLI commands**, **audit events** and its error codes (defined in its own module).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.context import AuthContext
from ..core.hooks import (
    Event,
    SessionCheck,
    SessionsEndingParticipant,
    SigningOutParticipant,
    Subscriber,
    UserCheck,
)
from ..core.models import Session
from ..core.services import ServiceKey
from ..core.settings import RateLimitRule
from ..core.sign_in import SignInStage
from ..storage.schema import PluginSchema

if TYPE_CHECKING:
    from ..commands import CliGroups
    from ..pages.routes import Route, Section
    from ..web.call import Endpoint, ResponseHook
    from ..web.credentials import CredentialBackend

CliCommands = Callable[["CliGroups"], None]
"""Adds the plugin's subcommands to ``authkeeper``'s command groups (``authkeeper.commands``);
each sets ``fn`` (``args -> None``) with ``set_defaults``."""


@dataclass(frozen=True)
class Plugin:
    id: str
    endpoints: tuple[Endpoint, ...] = ()
    credentials: tuple[CredentialBackend, ...] = ()
    """Credentials the plugin adds (``authkeeper.web.credentials``): a transport (a header, a
    cookie) and a strategy of its own kind (``api-key``, ``jwt``). Resolved after the core's,
    and only for endpoints that name the kind in ``Endpoint.credentials``."""
    after: tuple[tuple[str, ResponseHook], ...] = ()
    """(endpoint path, hook): runs after that endpoint (the core's or a plugin's) answered
    successfully, e.g. to add a header (the jwt plugin's ``set-auth-jwt`` on get-session)."""
    pages: tuple[Route, ...] = ()
    """Server-rendered pages (``authkeeper.pages.routes``), served beside the core's."""
    templates: str | None = None
    """The package whose ``templates/`` folder holds the plugin's page templates."""
    page_links: tuple[Callable[[AuthContext, Any], Awaitable[tuple[str, str] | None]], ...] = ()
    """Links the pages' header offers: ``(ctx, page) -> (label, path)`` or None (admin's "Admin"
    for those who may use it)."""
    page_banners: tuple[str, ...] = ()
    """Templates included at the top of every page, above the header, with the page's context
    (admin's "You are acting as …" bar, shown while ``impersonating``)."""
    page_sections: tuple[Section, ...] = ()
    """Parts of the core's pages (``authkeeper.pages.routes.Section``): two-factor's card on the
    account's security page, and its warning above the profile when backup codes run out."""
    page_messages: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """What the pages say for the plugin's error codes: code → (the form field the error belongs
    to, or ``"_form"`` for the whole form; the text, where ``{wait}``, ``{message}``, ``{min}``
    and ``{max}`` are filled in). See ``authkeeper.pages.messages``."""
    page_notices: Mapping[str, str] = field(default_factory=dict)
    """The texts of the plugin's notices: ``page.redirect(url, "role-changed")`` shows the text
    of ``role-changed`` on the page it leads to."""
    sign_in_stages: tuple[tuple[int, SignInStage], ...] = ()
    """(order, stage): lower runs first (admin's ban check is 10, two-factor is 50)."""
    schema: PluginSchema | None = None
    """Its tables, the user and session columns it adds, and its migrations."""
    rate_limits: dict[str, RateLimitRule] = field(default_factory=dict)
    """Default rules for the plugin's paths; the settings' own rules win."""
    on_sessions_ending: tuple[SessionsEndingParticipant, ...] = ()
    """Run in the transaction that ends every session of a user, or all but the caller's."""
    on_signing_out: tuple[SigningOutParticipant, ...] = ()
    """Run in the sign-out transaction (two-factor abandons a pending challenge)."""
    session_checks: tuple[SessionCheck, ...] = ()
    """Run each time a live session is resolved; False ends the session."""
    user_checks: tuple[UserCheck, ...] = ()
    """Run when a credential that is no session (a JWT, an API key) names a user, and before a
    token is issued for one; False refuses (admin: a banned user)."""
    delegated: Callable[[Session], bool] | None = None
    """Tells a session held by someone acting as the user (admin's impersonation)."""
    subscribers: tuple[tuple[type[Event], Subscriber], ...] = ()
    """(event class, subscriber): delivered after the commit."""
    provides: Mapping[ServiceKey[Any], Callable[[AuthContext], Any]] = field(default_factory=dict)
    """Service key → a factory of its implementation, called once by the composition root."""
    requires: tuple[ServiceKey[Any], ...] = ()
    """Services this plugin needs another plugin to provide (checked at construction)."""
    cli: CliCommands | None = None
    audit_events: tuple[str, ...] = ()
    """The audit event names the plugin writes (listed by ``authkeeper audit --help`` and the
    admin page's filter)."""
    init: Callable[[AuthContext], Awaitable[None] | None] | None = None
    """Extra asynchronous setup at start-up."""
