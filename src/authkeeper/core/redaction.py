"""Keeping links, codes and tokens out of logs.

A request target can carry a secret (``/reset-password/<token>``, ``/verify-email?token=…``),
and so can an exception's message (a redirect URL with its token). What reaches a log goes
through here: query values are withheld (their names kept), and any path segment that looks
like a token is replaced. In production an unhandled error is logged with its type and stack,
never its message.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from urllib.parse import urlsplit

REDACTED = "[redacted]"
_TOKENISH = re.compile(r"^[A-Za-z0-9_.~%+=-]{16,}$")


def redact_target(target: str) -> str:
    """``/api/auth/reset-password/AbC…?callbackURL=/x`` → ``/api/auth/reset-password/[redacted]?callbackURL=[redacted]``."""
    parts = urlsplit(target)
    segments = [REDACTED if _TOKENISH.match(s) else s for s in parts.path.split("/")]
    path = "/".join(segments)
    if parts.query:
        names = [pair.split("=", 1)[0] for pair in parts.query.split("&") if pair]
        path += "?" + "&".join(f"{n[:64]}={REDACTED}" for n in names)
    prefix = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return prefix + path


def log_unhandled(log: logging.Logger, production: bool, method: str, target: str) -> None:
    """Log the exception being handled, with the request target redacted; in production
    without the exception's message (which may quote a link or token)."""
    where = redact_target(target)
    if not production:
        log.exception("unhandled error on %s %s", method, where)
        return
    exc = sys.exc_info()[1]
    stack = "".join(traceback.format_tb(exc.__traceback__)) if exc is not None else ""
    log.error(
        "unhandled error on %s %s: %s (message withheld in production)\n%s",
        method,
        where,
        type(exc).__name__ if exc is not None else "?",
        stack.rstrip(),
    )


class AccessLogFilter(logging.Filter):
    """For the server's access log: the request target of each line redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True
