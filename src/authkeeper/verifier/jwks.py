"""The JWKS cache: fresh enough to follow a key rotation, sparing enough that no flood of
requests, forged or real, turns into a flood on the auth server.

- The lifetime is the answer's ``Cache-Control: max-age`` (less its ``Age``), ``no-store`` and
  ``no-cache`` counting as the floor, clamped to [floor, ceiling]: a server saying ``max-age=0``
  would otherwise be asked on every request, and one saying a year would pin a retired key.
- Single flight: every caller that finds the cache cold or expired awaits the one fetch under
  way (shielded, so a caller that gives up does not cancel it for the others).
- A ``kid`` the cache does not know triggers a refetch (how a rotation is picked up before the
  old set expires), at most once per ``refetch_interval``: forged kids cost nothing after the
  first. Scheduled fetches do not count, so a new key is found at once after one.
- When a fetch fails (unreachable, timeout, 5xx, not a JWKS), the keys already held keep
  verifying until ``max_stale`` past their expiry; meanwhile a retry runs at most once per
  ``retry_interval`` and in the background, so no caller waits on a server that is known down.
  Past ``max_stale``, or with no keys ever fetched, callers get 503 ``JWKS_UNAVAILABLE``.

Times come from ``clock`` (monotonic); a fetch is bounded by the transport's timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import errors
from .errors import VerifierError
from .keys import JWKSError, VerifyingKey, parse_jwks
from .transport import Transport, Unavailable, loggable

log = logging.getLogger("authkeeper.verifier")

_MAX_AGE = re.compile(r'^max-age\s*=\s*"?([0-9]+)"?$')


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """How long fetched keys are trusted, in seconds."""

    default_ttl: float = 300.0
    """Lifetime of an answer without ``max-age``."""
    min_ttl: float = 30.0
    """Floor of any lifetime (``max-age=0``, ``no-store`` and ``no-cache`` included)."""
    max_ttl: float = 86400.0
    """Ceiling of any lifetime."""
    max_stale: float = 3600.0
    """How long past their expiry held keys keep verifying while the auth server cannot answer."""
    refetch_interval: float = 30.0
    """Least time between two fetches caused by unknown kids."""
    retry_interval: float = 5.0
    """Least time between two attempts after a failed fetch."""

    def __post_init__(self) -> None:
        if not 0 < self.min_ttl <= self.max_ttl:
            raise ValueError("need 0 < min_ttl <= max_ttl")
        if self.default_ttl <= 0 or self.max_stale < 0 or self.refetch_interval < 0 or self.retry_interval < 0:
            raise ValueError("default_ttl must be positive; max_stale and the intervals not negative")

    def lifetime(self, headers: Mapping[str, str]) -> float:
        """The lifetime an answer's ``Cache-Control`` (and ``Age``) grants, clamped."""
        ttl = self.default_ttl
        directives = [d.strip().lower() for d in headers.get("cache-control", "").split(",")]
        if "no-store" in directives or "no-cache" in directives:
            ttl = 0.0
        else:
            for directive in directives:
                if match := _MAX_AGE.match(directive):
                    age = headers.get("age", "").strip()
                    # isdigit() alone takes "²" (latin-1 0xB2), which float() refuses.
                    ttl = float(match.group(1)) - (float(age) if age.isascii() and age.isdigit() else 0.0)
                    break
        return min(max(ttl, self.min_ttl), self.max_ttl)


@dataclass(frozen=True, slots=True)
class KeySet:
    keys: Mapping[str, VerifyingKey]
    fetched_at: float
    expires_at: float

    @property
    def ttl(self) -> float:
        return self.expires_at - self.fetched_at


def _retrieve(task: asyncio.Task[KeySet]) -> None:
    # Read the outcome of a flight nobody awaited (all callers gave up) so asyncio does not log it.
    if not task.cancelled():
        task.exception()


class JWKSCache:
    """Args:
    url: the auth server's JWKS (``.../api/auth/jwks``).
    transport: the HTTP side (client, timeout).
    policy: lifetimes and intervals.
    clock: monotonic seconds (a test passes a fake one to step through lifetimes).
    """

    def __init__(
        self, url: str, transport: Transport, policy: CachePolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url = url
        self.policy = policy
        self._transport = transport
        self._clock = clock
        self._keyset: KeySet | None = None
        self._flight: asyncio.Task[KeySet] | None = None
        self._last_forced: float | None = None
        self._failed_at: float | None = None

    @property
    def keyset(self) -> KeySet | None:
        """The keys held now (possibly expired), or ``None`` before the first successful fetch."""
        return self._keyset

    @property
    def degraded(self) -> bool:
        """Whether the last fetch failed (stale keys may be in use)."""
        return self._failed_at is not None

    async def key(self, kid: str) -> VerifyingKey:
        """The key named ``kid``: 401 ``UNKNOWN_KEY``, or 503 ``JWKS_UNAVAILABLE``."""
        keyset = await self._current()
        found = keyset.keys.get(kid)
        if found is None:
            keyset = await self._refetch_for(keyset)
            found = keyset.keys.get(kid)
        if found is None:
            raise VerifierError(errors.UNKNOWN_KEY)
        return found

    async def refresh(self) -> KeySet:
        """Fetch now (joining a fetch under way): for warming the cache at start-up."""
        return await self._join(self._in_flight() or self._start())

    async def _current(self) -> KeySet:
        now = self._clock()
        keyset = self._keyset
        if keyset is not None and now < keyset.expires_at:
            return keyset
        flight = self._in_flight()
        if self._failed_at is not None:
            # Known down: never make a caller wait while held keys are still usable.
            retry_due = flight is None and now - self._failed_at >= self.policy.retry_interval
            if keyset is not None and now < keyset.expires_at + self.policy.max_stale:
                if retry_due:
                    self._start()
                return keyset
            if not retry_due:
                if flight is not None:
                    return await self._join(flight)
                raise VerifierError(errors.JWKS_UNAVAILABLE)
        return await self._join(flight or self._start())

    async def _refetch_for(self, keyset: KeySet) -> KeySet:
        flight = self._in_flight()
        if flight is not None:
            return await self._join(flight)  # a fetch under way may bring the new key
        now, last, failed = self._clock(), self._last_forced, self._failed_at
        if last is not None and now - last < self.policy.refetch_interval:
            return keyset
        if failed is not None and now - failed < self.policy.retry_interval:
            return keyset
        self._last_forced = now
        return await self._join(self._start())

    def _in_flight(self) -> asyncio.Task[KeySet] | None:
        flight = self._flight
        if flight is None or flight.done() or flight.get_loop() is not asyncio.get_running_loop():
            return None
        return flight

    def _start(self) -> asyncio.Task[KeySet]:
        flight = asyncio.get_running_loop().create_task(self._fetch())
        flight.add_done_callback(_retrieve)
        self._flight = flight
        return flight

    @staticmethod
    async def _join(flight: asyncio.Task[KeySet]) -> KeySet:
        return await asyncio.shield(flight)

    async def _fetch(self) -> KeySet:
        # Whatever goes wrong between asking and holding a key set (the transport, the status,
        # the body, a header the lifetime cannot read) is a failed fetch: throttled, held keys
        # served, then 503; never an exception that escapes the throttling.
        try:
            answer = await self._transport.get(self.url, {"Accept": "application/json"})
            if answer.status != 200:
                raise Unavailable(f"HTTP {answer.status}")
            keys = parse_jwks(answer.body)
            lifetime = self.policy.lifetime(answer.headers)
        except (Unavailable, JWKSError) as exc:
            reason = str(exc)
        except json.JSONDecodeError:
            reason = "invalid JSON"
        except Exception as exc:  # noqa: BLE001  # nested past the recursion limit, an odd header, ...
            reason = f"unreadable answer ({type(exc).__name__})"
        else:
            return self._stored(keys, lifetime)
        return self._failed(reason)

    def _stored(self, keys: Mapping[str, VerifyingKey], lifetime: float) -> KeySet:
        now = self._clock()
        keyset = KeySet(keys, now, now + lifetime)
        if self._failed_at is not None:
            log.info("JWKS %s answers again", loggable(self.url))
        self._keyset, self._failed_at = keyset, None
        return keyset

    def _failed(self, reason: str) -> KeySet:
        now = self._clock()
        self._failed_at = now
        keyset = self._keyset
        usable = keyset is not None and now < keyset.expires_at + self.policy.max_stale
        log.warning(
            "cannot fetch the JWKS %s (%s); %s",
            loggable(self.url),
            reason,
            "the keys held keep verifying" if usable else "tokens are refused until it answers",
        )
        if keyset is None or not usable:
            raise VerifierError(errors.JWKS_UNAVAILABLE)
        return keyset
