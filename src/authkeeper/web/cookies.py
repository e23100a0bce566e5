"""Better Auth's cookie names and attributes (spec §2)."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.settings import Settings


@dataclass(frozen=True, slots=True)
class CookieJar:
    """Names and attribute strings derived from the settings, computed once."""

    session_token: str
    session_data: str
    dont_remember: str
    secure: bool
    domain: str | None

    @classmethod
    def from_settings(cls, settings: Settings) -> CookieJar:
        secure = settings.secure_cookies or settings.is_production
        prefix = ("__Secure-" if secure else "") + settings.cookies.prefix + "."
        return cls(
            session_token=prefix + "session_token",
            session_data=prefix + "session_data",
            dont_remember=prefix + "dont_remember",
            secure=secure,
            domain=settings.cookies.domain,
        )

    def name(self, logical: str) -> str:
        """The wire name of any logical cookie (e.g. ``two_factor``)."""
        base = self.session_token.rsplit(".", 1)[0]
        return f"{base}.{logical}"

    def header(self, name: str, value: str, max_age: int | None) -> str:
        """A Set-Cookie value in better-call's attribute order."""
        parts = [f"{name}={value}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if self.domain:
            parts.append(f"Domain={self.domain}")
        parts.append("Path=/")
        parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        parts.append("SameSite=Lax")
        return "; ".join(parts)

    def delete(self, name: str) -> str:
        return self.header(name, "", 0)
