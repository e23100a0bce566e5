"""Two-factor authentication, wire-compatible with Better Auth's ``twoFactor`` plugin.

TOTP authenticator apps (RFC 6238), emailed one-time codes, single-use backup codes and
trusted devices. Signing in as a user with two-factor on yields a challenge (the signed
``two_factor`` cookie) instead of a session; ``/two-factor/verify-*`` completes it.
"""

from __future__ import annotations

from ...core.settings import RateLimitRule
from ..base import Plugin
from . import challenge, endpoints, schema
from .constants import PLUGIN_ID, SIGN_IN_STAGE_ORDER
from .events import TwoFactorEvent
from .qr import qr_svg
from .settings import TwoFactorSettings

__all__ = ["TwoFactorSettings", "qr_svg", "two_factor"]


def two_factor(settings: TwoFactorSettings | None = None) -> Plugin:
    """The plugin. Its options are the ``[two_factor]`` section (``Settings(two_factor=...)``),
    read through the context at request time, so there is one source of truth; ``settings``,
    when given, is only checked for ``enabled``."""
    if settings is not None and not settings.enabled:
        return Plugin(id=PLUGIN_ID)
    from . import pages  # here: importing the package does not load the pages layer

    return Plugin(
        id=PLUGIN_ID,
        audit_events=tuple(e.value for e in TwoFactorEvent),
        schema=schema.SCHEMA,
        endpoints=endpoints.endpoints(),
        pages=pages.ROUTES,
        templates=__name__,
        page_sections=pages.SECTIONS,
        page_messages=pages.MESSAGES,
        page_notices=pages.NOTICES,
        sign_in_stages=((SIGN_IN_STAGE_ORDER, challenge.sign_in_stage),),
        # Better Auth's default for its two-factor paths: 3 requests per 10 s per client.
        rate_limits={"/two-factor/*": RateLimitRule(window=10, max=3)},
        on_sessions_ending=(challenge.forget_user,),
        on_signing_out=(challenge.forget_challenge,),
    )
