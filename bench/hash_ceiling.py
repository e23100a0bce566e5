"""How many argon2id verifications per second authkeeper's password hasher allows here: the
ceiling for its sign-in rate (every sign-in verifies one hash).

    .venv/bin/python bench/hash_ceiling.py [--seconds 5]

Uses the default parameters (m=19456 KiB, t=2, p=1) and the default thread pool (one thread
per core), with twice as many verifications in flight as threads. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time

from authkeeper.core.crypto.passwords import PasswordHasher
from authkeeper.core.settings import PasswordSettings

PASSWORD = "bench-ceiling-password"


async def measure(seconds: float) -> dict[str, float]:
    cfg = PasswordSettings()
    workers = cfg.hash_workers or os.cpu_count() or 1
    hasher = PasswordHasher(memory_kib=cfg.argon2_memory_kib, time_cost=cfg.argon2_time_cost,
                            parallelism=cfg.argon2_parallelism, workers=cfg.hash_workers)
    try:
        stored = await hasher.hash(PASSWORD)
        count = 0
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        deadline = started + seconds

        async def lane() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                if not await hasher.verify(stored, PASSWORD):
                    raise SystemExit("argon2id verification failed")
                count += 1

        await asyncio.gather(*(lane() for _ in range(workers * 2)))
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        hasher.close()
    return {
        "verifications": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "workers": workers,
        "cpu_ms_per_verification": 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / max(count, 1),
        "sys_ms_per_verification": 1000 * (after.ru_stime - before.ru_stime) / max(count, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    print(json.dumps(asyncio.run(measure(args.seconds))))


if __name__ == "__main__":
    main()
