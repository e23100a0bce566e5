"""Which URLs we may redirect to or put in a mail: the base URL's origin and trusted origins.

Relative paths are allowed only in a narrow, unambiguous form (spec §6.2), so ``//evil``,
``/\\evil``, ``https:evil``, userinfo tricks and encoded slashes are all refused.
"""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import urlsplit

# A path that starts with one slash followed by a safe character; no backslashes,
# no encoded slashes or backslashes, no fragment, a plain query.
_RELATIVE = re.compile(r"^/(?!/|\\|%2f|%5c)[\w\-.+/@]*(\?[\w\-.+/=&%@]*)?$", re.IGNORECASE)
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, or None for anything but a plain http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or "\\" in url:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme.lower() == "https" else 80
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme.lower()}://{host}{suffix}"


class OriginPolicy:
    """Trusted origins: the base URL's origin plus configured ones (``*`` globs allowed)."""

    def __init__(self, base_origin: str, trusted: tuple[str, ...]) -> None:
        self._exact: set[str] = {base_origin}
        self._patterns: list[str] = []
        for item in trusted:
            item = item.strip().rstrip("/")
            if not item:
                continue
            if "*" in item or "?" in item:
                self._patterns.append(item.lower())
            else:
                origin = origin_of(item)
                if origin:
                    self._exact.add(origin)

    def is_trusted_origin(self, origin: str | None) -> bool:
        if not origin or origin == "null":
            return False
        normal = origin_of(origin)
        if normal is None:
            return False
        if normal in self._exact:
            return True
        host = urlsplit(normal).hostname or ""
        for pattern in self._patterns:
            subject = normal if "://" in pattern else host
            if fnmatch.fnmatchcase(subject, pattern):
                return True
        return False

    def is_safe_redirect(self, url: str) -> bool:
        """True for a relative path in the safe form or an absolute URL on a trusted origin."""
        if not isinstance(url, str) or not url or len(url) > 2048:
            return False
        if any(ch in url for ch in "\r\n\t\x00") or url != url.strip():
            return False
        if url.startswith("/"):
            return bool(_RELATIVE.match(url))
        if _ENCODED_SEPARATOR.search(url.split("?", 1)[0].split("://", 1)[-1].split("/", 1)[0]):
            return False
        return self.is_trusted_origin(origin_of(url) or "")
