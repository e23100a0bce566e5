"""Does request-password-reset (or change-email) take longer for an address that has an
account than for one that has none? Run by hand, never by the test suite:

    .venv/bin/python bench/enumeration.py [--requests 400] [--concurrency 16]

Starts `authkeeper serve` on a fresh PostgreSQL database `bench_enumeration` at 127.0.0.1:5432
(dropped and made again; rate limits and lockout off, mail dropped),
signs one user up, then sends requests for the known and an unknown address interleaved, first
one at a time ("idle"), then with `--concurrency` other clients doing the same ("loaded").
Prints the median and p90 of each, and the gap of the medians. Set PYTHONPATH to another
tree's src/ to measure that tree (e.g. the commit before a change) with the same script.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PASSWORD = "a fine passphrase"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database() -> None:
    for sql in ("DROP DATABASE IF EXISTS bench_enumeration", "CREATE DATABASE bench_enumeration"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)


def start(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    fresh_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_")}
    env.update({
        "AUTHKEEPER_SECRET": "bench-secret-" + "x" * 32, "AUTHKEEPER_BASE_URL": base,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/bench_enumeration",
        "AUTHKEEPER_RATE_LIMIT": '{"enabled": false}', "AUTHKEEPER_LOCKOUT": '{"enabled": false}',
        "AUTHKEEPER_MAIL": '{"backend": "none", "outbox": false}',
    })
    proc = subprocess.Popen([sys.executable, "-m", "authkeeper", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/auth/ok", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


async def timed(client: httpx.AsyncClient, email: str) -> float:
    started = time.perf_counter()
    r = await client.post("/api/auth/request-password-reset", json={"email": email})
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    return elapsed * 1000


async def measure(base: str, n: int, background: int) -> dict[str, list[float]]:
    headers = {"origin": base}
    out: dict[str, list[float]] = {"known": [], "unknown": []}
    stop = asyncio.Event()

    async def noise(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
            while not stop.is_set():
                # Others' traffic: another user with an account, and addresses with none.
                await timed(c, "bob@example.com" if i % 2 else f"stranger{i}@example.com")

    tasks = [asyncio.create_task(noise(i)) for i in range(background)]
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
        for _ in range(20):  # warm-up
            await timed(c, "ann@example.com")
        for i in range(n):
            out["known"].append(await timed(c, "ann@example.com"))
            out["unknown"].append(await timed(c, "nobody@example.com"))
    stop.set()
    await asyncio.gather(*tasks)
    return out


def summary(label: str, data: dict[str, list[float]]) -> str:
    def p(xs: list[float], q: float) -> float:
        return sorted(xs)[int(q * (len(xs) - 1))]

    k, u = data["known"], data["unknown"]
    gap = statistics.median(k) - statistics.median(u)
    return (f"{label:7} known median {statistics.median(k):6.2f} ms p90 {p(k, 0.9):6.2f} | "
            f"unknown median {statistics.median(u):6.2f} ms p90 {p(u, 0.9):6.2f} | gap {gap:+.2f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start(Path(tmp))
        try:
            async with httpx.AsyncClient(base_url=base, headers={"origin": base}) as c:
                for email in ("ann@example.com", "bob@example.com"):
                    r = await c.post("/api/auth/sign-up/email", json={"email": email, "password": PASSWORD, "name": "A"})
                    assert r.status_code == 200, r.text
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            print(summary("idle", await measure(base, args.requests, 0)))
            print(summary("loaded", await measure(base, args.requests, args.concurrency)))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
