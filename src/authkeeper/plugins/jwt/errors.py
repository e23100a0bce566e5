"""The jwt plugin's error codes (authkeeper's own: Better Auth's plugin has none of these)."""

from __future__ import annotations

from ...core.errors import define

IMPERSONATION_TOKEN_REFUSED = define(
    "IMPERSONATION_TOKEN_REFUSED", 403, "Tokens are not issued to a session held by someone acting as the user"
)
"""A session an admin holds as the user (``jwt.allow_impersonation`` is off)."""
