"""A readable device and browser from a User-Agent string, for the sessions list.

Deliberately small: the tokens browsers have sent for years, checked in an order that
resolves the usual ambiguities (Edge and Opera also say Chrome, Chrome also says Safari,
iPadOS says Macintosh). Anything unknown reads "Unknown browser".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (name, token pattern with the version as group 1), most specific first.
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
        ("Opera", r"(?:OPR|Opera)/(\d+)"),
        ("Samsung Internet", r"SamsungBrowser/(\d+)"),
        ("Vivaldi", r"Vivaldi/(\d+)"),
        ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
        ("Chrome", r"(?:HeadlessChrome|Chrome|CriOS)/(\d+)"),
        ("Chromium", r"Chromium/(\d+)"),
        ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\w+ )?Safari/"),
        ("curl", r"^curl/"),
        ("Python script", r"^python-|^Python-urllib"),
        ("Node.js script", r"^node\b|^undici|^node-fetch"),
    )
)

_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("iPadOS", r"iPad"),
        ("iOS", r"iPhone|iPod"),
        ("Android", r"Android"),
        ("ChromeOS", r"CrOS"),
        ("Windows", r"Windows"),
        ("macOS", r"Mac OS X|Macintosh"),
        ("Linux", r"Linux|X11"),
    )
)


@dataclass(frozen=True, slots=True)
class Device:
    browser: str
    system: str
    kind: str
    """``desktop``, ``phone``, ``tablet`` or ``other`` (scripts and unknown agents)."""

    @property
    def label(self) -> str:
        """``Firefox 128 on Windows``."""
        if self.system:
            return f"{self.browser} on {self.system}"
        return self.browser


def parse(user_agent: str | None) -> Device:
    ua = (user_agent or "")[:512]
    browser = "Unknown browser"
    for name, pattern in _BROWSERS:
        match = pattern.search(ua)
        if match:
            version = match.group(1) if match.groups() and match.group(1) else None
            browser = f"{name} {version}" if version else name
            break
    system = ""
    for name, pattern in _SYSTEMS:
        if pattern.search(ua):
            system = name
            break
    if system == "iPadOS" or ("Android" in ua and "Mobile" not in ua and system == "Android"):
        kind = "tablet"
    elif system in ("iOS", "Android") or "Mobile" in ua:
        kind = "phone"
    elif system:
        kind = "desktop"
    else:
        kind = "other"
    return Device(browser, system, kind)
