"""Fixed-window rate limiting per client IP and path (spec §6.4 defaults, on in every mode)."""

from __future__ import annotations

import fnmatch
import math
import time
from typing import Protocol

from ..core.settings import RateLimitRule, RateLimitSettings


class Limiter(Protocol):
    async def hit(self, key: str, rule: RateLimitRule) -> int:
        """Count one request; 0 if allowed, else seconds until the window reopens."""
        ...


class MemoryLimiter:
    """Counters in this process. Bounded: expired windows are swept as the table grows."""

    def __init__(self, clock: type[time] | None = None) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._next_sweep = 10_000

    async def hit(self, key: str, rule: RateLimitRule) -> int:
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= rule.window:
            start, count = now, 0
        if count >= rule.max:
            return max(1, math.ceil(start + rule.window - now))
        self._windows[key] = (start, count + 1)
        if len(self._windows) > self._next_sweep:
            self._sweep(now)
        return 0

    def _sweep(self, now: float) -> None:
        horizon = 3600.0
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < horizon}
        self._next_sweep = max(10_000, 2 * len(self._windows))


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
    """Which rule applies to a path: the most specific configured rule, else the default."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self._default = RateLimitRule(window=settings.window, max=settings.max)
        # Exact paths before patterns; longer patterns before shorter ones.
        self._rules = sorted(settings.rules.items(), key=lambda kv: ("*" in kv[0], -len(kv[0])))
        self._cache: dict[str, RateLimitRule] = {}

    def rule_for(self, path: str) -> RateLimitRule:
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
