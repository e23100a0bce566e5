"""Rate-limit counters in Redis, shared by every process."""

from __future__ import annotations

import secrets

import pytest

from authkeeper.core.settings import RateLimitRule
from authkeeper.web.ratelimit import RedisLimiter
from tests.conftest import need

pytestmark = pytest.mark.anyio


async def test_redis_limiter_counts_across_instances() -> None:
    try:
        import redis.asyncio as redis

        probe = redis.from_url("redis://127.0.0.1:6379/0")
        await probe.ping()
        await probe.aclose()
    except Exception as exc:  # noqa: BLE001
        need(f"Redis not reachable at 127.0.0.1:6379: {type(exc).__name__}")
    rule = RateLimitRule(window=10, max=3)
    key = "test|" + secrets.token_hex(8)
    a, b = RedisLimiter("redis://127.0.0.1:6379/0"), RedisLimiter("redis://127.0.0.1:6379/0")
    results = [await (a if i % 2 else b).hit(key, rule) for i in range(5)]
    assert results[:3] == [0, 0, 0]
    assert all(1 <= r <= 10 for r in results[3:])
