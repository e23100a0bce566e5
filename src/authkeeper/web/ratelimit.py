"""Fixed-window rate limiting per client IP and route (spec §6.4 defaults, on in every mode)."""

from __future__ import annotations

import fnmatch
import math
import time
from collections import OrderedDict
from typing import Protocol

from ..core.settings import RateLimitRule, RateLimitSettings


class Limiter(Protocol):
    async def hit(self, key: str, rule: RateLimitRule) -> int:
        """Count one request; 0 if allowed, else seconds until the window reopens."""
        ...


class _Window:
    """One key's fixed window: when it opened, how many requests it has counted, how long."""

    __slots__ = ("count", "start", "window")

    def __init__(self, start: float, window: int) -> None:
        self.start = start
        self.count = 0
        self.window = window


def _count(entry: _Window, rule: RateLimitRule, now: float) -> int:
    """The fixed-window rule on one entry: 0 and counted, or seconds until it reopens."""
    if entry.count >= rule.max:
        return max(1, math.ceil(entry.start + entry.window - now))
    entry.count += 1
    return 0


class MemoryLimiter:
    """Counters in this process, at most ``max_keys`` of them.

    Expired windows are dropped first (they hold nothing: an expired window counts as a new
    one). At the cap, the least recently used key that is not blocked goes; a blocked key (at
    its limit) is never forgotten before its window ends, so flooding other keys cannot reset
    anyone's limit. When every key held is blocked, a new key is not stored: its requests
    count in one overflow bucket per rule, shared by all such newcomers, so they are limited
    together rather than let through (fail closed, but not a full outage).

    Every operation is O(1) apart from the expiry check, which is O(number of distinct
    windows): keys are kept per window length in order of their window's start, which is
    also the order in which they expire.
    """

    def __init__(self, *, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self._entries: dict[str, _Window] = {}
        self._open: OrderedDict[str, None] = OrderedDict()
        """Keys not at their limit, least recently used first: the ones that may be evicted."""
        self._by_window: dict[int, OrderedDict[str, None]] = {}
        """Per window length, keys in the order their windows opened (= will expire)."""
        self._overflow: dict[RateLimitRule, _Window] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def hit(self, key: str, rule: RateLimitRule) -> int:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry.start >= entry.window:
            self._forget(key, entry)
            entry = None
        if entry is None:
            self._drop_expired(now)
            if len(self._entries) >= self.max_keys and not self._evict_one():
                return self._hit_overflow(rule, now)
            entry = _Window(now, rule.window)
            self._entries[key] = entry
            self._by_window.setdefault(rule.window, OrderedDict())[key] = None
            self._open[key] = None
        elif key in self._open:
            self._open.move_to_end(key)
        wait = _count(entry, rule, now)
        if entry.count >= rule.max:
            self._open.pop(key, None)  # blocked until its window ends: never evicted early
        return wait

    def _forget(self, key: str, entry: _Window) -> None:
        del self._entries[key]
        self._open.pop(key, None)
        group = self._by_window.get(entry.window)
        if group is not None:
            group.pop(key, None)

    def _drop_expired(self, now: float) -> None:
        for window, group in self._by_window.items():
            while group:
                key = next(iter(group))
                if now - self._entries[key].start < window:
                    break
                self._forget(key, self._entries[key])
        for rule, entry in list(self._overflow.items()):
            if now - entry.start >= entry.window:
                del self._overflow[rule]

    def _evict_one(self) -> bool:
        """Forget the least recently used key that is not blocked; False when all are."""
        if not self._open:
            return False
        key, _ = self._open.popitem(last=False)
        self._forget(key, self._entries[key])
        return True

    def _hit_overflow(self, rule: RateLimitRule, now: float) -> int:
        entry = self._overflow.get(rule)
        if entry is None or now - entry.start >= entry.window:
            entry = self._overflow[rule] = _Window(now, rule.window)
        return _count(entry, rule, now)


class RedisLimiter:
    """Counters in Redis, shared by every process (INCR + EXPIRE, atomic per key)."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # optional dependency

        self._redis = redis.from_url(url)

    async def hit(self, key: str, rule: RateLimitRule) -> int:
        name = f"authkeeper:rl:{key}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.ttl(name)
        count, ttl = await pipe.execute()
        if ttl < 0:
            await self._redis.expire(name, rule.window)
            ttl = rule.window
        return 0 if int(count) <= rule.max else max(1, int(ttl))


class RuleBook:
    """Which rule applies to a route: the most specific configured rule, else the default.

    Routes are named by their pattern (``/reset-password/{token}``), the name of their bucket
    too, so a rule is written as the pattern itself or as a ``*`` wildcard that matches it
    (``/reset-password/*``); a rule naming one concrete value of a parameter never applies."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self._default = RateLimitRule(window=settings.window, max=settings.max)
        # Exact paths before patterns; longer patterns before shorter ones.
        self._rules = sorted(settings.rules.items(), key=lambda kv: ("*" in kv[0], -len(kv[0])))
        self._cache: dict[str, RateLimitRule] = {}

    def rule_for(self, path: str) -> RateLimitRule:
        """The rule of ``path``, a route pattern (its bucket name)."""
        rule = self._cache.get(path)
        if rule is None:
            rule = self._default
            for pattern, candidate in self._rules:
                if pattern == path or ("*" in pattern and fnmatch.fnmatchcase(path, pattern)):
                    rule = candidate
                    break
            if len(self._cache) < 1024:
                self._cache[path] = rule
        return rule
