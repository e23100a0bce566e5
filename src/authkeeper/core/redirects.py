"""Which URLs we may redirect to or put in a mail: the base URL's origin and trusted origins.

Relative paths are allowed only in a narrow, unambiguous form (spec §6.2), so ``//evil``,
``/\\evil``, ``https:evil``, userinfo tricks and encoded slashes are all refused. That form is
ASCII, as in Better Auth (JavaScript's ``\\w``): ``/一`` is refused, not sent in a header that
cannot carry it. An absolute URL on a trusted origin may hold any text; :func:`location_of`
makes it fit a ``Location`` header (IDNA host, percent-encoded UTF-8 elsewhere).
"""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import quote, urlsplit, urlunsplit

# A path that starts with one slash followed by a safe character; no backslashes,
# no encoded slashes or backslashes, no fragment, a plain query.
_RELATIVE = re.compile(r"^/(?!/|\\|%2f|%5c)[\w\-.+/@]*(\?[\w\-.+/=&%@]*)?$", re.IGNORECASE | re.ASCII)
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_LABEL = re.compile(r"[^./:*?\[\]]+")


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
    host = _ascii_host(parts.hostname.lower())
    if host is None:
        return None
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme.lower() == "https" else 80
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme.lower()}://{host}{suffix}"


def _ascii_host(host: str) -> str | None:
    """The host as a browser sends it (IDNA, as the WHATWG URL parser does), or None when it
    has no such form."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


# What stays as it is in a Location: unreserved and reserved characters, and ``%`` (a URL that
# is already percent-encoded is not encoded twice). Everything else (non-ASCII text as UTF-8,
# spaces, quotes, ``<>\\^`{|}``, controls) is percent-encoded.
_LOCATION_SAFE = "!#$%&'()*+,/:;=?@[]~"


def location_of(url: str) -> str:
    """``url`` in a form a ``Location`` header can carry (printable ASCII), meaning the same.

    For a URL :meth:`OriginPolicy.is_safe_redirect` accepted (or one built by the server): a
    non-ASCII host goes to IDNA, the path, query and fragment are percent-encoded as UTF-8."""
    if url.isascii() and url.isprintable() and not any(ch in url for ch in ' "<>\\^`{|}'):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            host, port = parts.hostname or "", parts.port
        except ValueError:
            host, port = netloc, None
        host = _ascii_host(host.lower()) or quote(host, safe="")
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{port}" if port is not None else "")
    path, query, fragment = (quote(p, safe=_LOCATION_SAFE) for p in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


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
                # Hosts are matched in IDNA (see origin_of): so are a pattern's labels.
                self._patterns.append(_LABEL.sub(lambda m: _ascii_host(m.group(0)) or m.group(0), item.lower()))
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
