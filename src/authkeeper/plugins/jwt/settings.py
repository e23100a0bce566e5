"""The jwt plugin's settings: the ``[jwt]`` section."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...core.settings import register_section

ALGORITHMS = ("EdDSA", "ES256", "ES512", "RS256", "PS256")
"""What a key can be: the algorithms Better Auth's jwt plugin can write, each read and each
selectable here (EdDSA on Ed25519, ES256 on P-256, ES512 on P-521, RS256 and PS256 on RSA)."""
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
"""Claims the plugin sets itself; ``extra_claims`` cannot replace them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class JwtSettings:
    """JSON Web Tokens for other backends, as Better Auth's ``jwt`` plugin: ``GET /token``,
    ``GET /jwks`` and the ``set-auth-jwt`` header on get-session."""

    enabled: bool = False
    """Serve ``/token`` and ``/jwks`` and send ``set-auth-jwt``. Off by default, as in Better
    Auth, where the plugin is opt-in."""
    algorithm: str = "EdDSA"
    """The algorithm of the keys the server makes: EdDSA (Ed25519), ES256, ES512, RS256 or
    PS256. Keys of any of these already in the table keep verifying."""
    issuer: str | None = None
    """The ``iss`` claim; the origin of ``base_url`` by default."""
    audience: str | None = None
    """The ``aud`` claim; the origin of ``base_url`` by default."""
    expires_in: int = 900
    """Seconds from ``iat`` to ``exp`` (Better Auth's 15 minutes)."""
    max_expires_in: int = 86400
    """The longest lifetime a plugin may give a token it asks for (``TokenIssuer.issue``), and
    so how long a retired key stays published (with ``grace_period``)."""
    extra_claims: dict[str, Any] = field(default_factory=dict)
    """Claims added to every token (the user's fields are there already; ``role`` too when the
    admin plugin is on). A library user who needs claims computed per user passes ``claims=``
    to the plugin instead."""
    jwks_path: str = "/jwks"
    """Where the public keys are served, below the base path."""
    jwks_max_age: int = 300
    """``Cache-Control: public, max-age=…`` on the JWKS, so verifiers know how long to keep it
    (Better Auth sends none). A new key is published this long before it signs."""
    rotation_interval: int = 7776000
    """Seconds a key signs before a successor takes over (90 days); 0 keeps one key for ever."""
    grace_period: int = 86400
    """Seconds a retired key stays in the JWKS beyond the lifetime of the last token it signed
    (Better Auth keeps it 30 days; a day outlasts any verifier's cache)."""
    encrypt_private_keys: bool = True
    """Private keys at rest are encrypted with the secret, in Better Auth's format."""
    set_header_on_get_session: bool = True
    """Send a fresh token in the ``set-auth-jwt`` header of every get-session that has a session
    (Better Auth's default; ``disableSettingJwtHeader`` turns it off there)."""
    allow_impersonation: bool = False
    """Issue tokens to a session an admin holds as the user (off: another backend would take the
    admin for the user, with no trace of who acted)."""

    def problems(self) -> list[str]:
        """What is out of range, one line each (``Settings.problems`` prefixes ``jwt.``)."""
        found: list[str] = []
        if self.algorithm not in ALGORITHMS:
            found.append(f"algorithm: must be one of {', '.join(ALGORITHMS)}, not {self.algorithm!r}")
        if self.max_expires_in < self.expires_in:
            found.append(f"max_expires_in: must be at least expires_in ({self.expires_in}), not {self.max_expires_in}")
        for key, value in {"expires_in": self.expires_in, "jwks_max_age": self.jwks_max_age}.items():
            if value <= 0:
                found.append(f"{key}: must be a positive number of seconds, not {value}")
        for key, value in {"rotation_interval": self.rotation_interval, "grace_period": self.grace_period}.items():
            if value < 0:
                found.append(f"{key}: must be 0 or more seconds, not {value}")
        if 0 < self.rotation_interval <= 2 * self.jwks_max_age:
            found.append(
                f"rotation_interval: must be 0 (never) or more than twice jwks_max_age ({2 * self.jwks_max_age} s), "
                f"not {self.rotation_interval}"
            )
        try:
            json.dumps(self.extra_claims, allow_nan=False)
        except (TypeError, ValueError):
            found.append("extra_claims: must hold only strings, numbers, booleans, lists and tables")
        taken = sorted(REGISTERED_CLAIMS & set(self.extra_claims))
        if taken:
            found.append(f"extra_claims: cannot set {', '.join(taken)} (the plugin sets them)")
        if not self.jwks_path.startswith("/") or ".." in self.jwks_path or "{" in self.jwks_path:
            found.append(f"jwks_path: must start with '/' and hold no '..' or '{{', not {self.jwks_path!r}")
        for name, text in {"issuer": self.issuer, "audience": self.audience}.items():
            if text is not None and not text.strip():
                found.append(f"{name}: must not be empty (leave it out for the base URL's origin)")
        return found


register_section("jwt", JwtSettings)
