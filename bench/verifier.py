"""What ``authkeeper.verifier`` costs over PyJWT alone: verifications per second on one core,
warm JWKS cache, for EdDSA, ES256 and RS256, next to a bare ``jwt.decode`` with the same key and
the same checks (signature, ``iss``, ``aud``, ``exp``/``nbf``/``iat`` with 30 s of leeway,
``exp``/``iss``/``aud``/``sub`` required), in one run.

    .venv/bin/python bench/verifier.py [--seconds 3]

``--seconds`` is the measuring time of each variant of each algorithm, split in 5 rounds that
alternate the two variants (so a change in machine load hits both alike); each rate is the best
round's (the one least disturbed by other work on the machine). The JWKS is served by
``httpx.MockTransport`` (fetched once, before measuring: the network is not what is measured).
The token carries the claims the auth server's jwt plugin puts in one (user fields and a role).

Prints the command, the load averages before and after, the versions (Python, PyJWT,
cryptography, httpx), then one row per algorithm: PyJWT's rate, the verifier's, their ratio and
the verifier's extra microseconds per token (header parsing, the key lookup, the claims object,
the coroutine). Both run in one thread: the rates are per core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from authkeeper.verifier import Verifier

ORIGIN = "https://auth.example.com"
ALGORITHMS = ("EdDSA", "ES256", "RS256")
ROUNDS = 5


def private_key(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iat": now,
        "exp": now + 900,
        "iss": ORIGIN,
        "aud": ORIGIN,
        "sub": "x7Hq2mV9kLp3Rt6Wz1Nc4Bf8",
        "id": "x7Hq2mV9kLp3Rt6Wz1Nc4Bf8",
        "name": "Ann Smith",
        "email": "ann.smith@example.com",
        "emailVerified": True,
        "image": None,
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-01T00:00:00.000Z",
        "role": "admin,moderator",
    }


def rate(run: Callable[[int], None], seconds: float) -> tuple[int, float]:
    """Calls ``run(batch)`` until ``seconds`` pass; returns (operations, elapsed)."""
    batch, done = 64, 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        run(batch)
        done += batch
    return done, elapsed


def measure(alg: str, seconds: float) -> tuple[float, float]:
    key = private_key(alg)
    kid = f"{alg.lower()}-bench"
    public = key.public_key()
    jwk = {**get_default_algorithms()[alg].to_jwk(public, as_dict=True), "kid": kid, "alg": alg}
    token = jwt.encode(claims(), key, algorithm=alg, headers={"kid": kid})

    def jwks(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"keys": [jwk]}, headers={"Cache-Control": "max-age=86400"})

    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.MockTransport(jwks))
    verifier = Verifier(f"{ORIGIN}/api/auth/jwks", client=client)
    loop.run_until_complete(verifier.prefetch())
    assert loop.run_until_complete(verifier.verify(token)).sub == claims()["sub"]

    def raw(batch: int) -> None:
        for _ in range(batch):
            jwt.decode(
                token,
                public,
                algorithms=[alg],
                audience=ORIGIN,
                issuer=ORIGIN,
                leeway=30,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )

    async def verify_batch(batch: int) -> None:
        for _ in range(batch):
            await verifier.verify(token)

    def ours(batch: int) -> None:
        loop.run_until_complete(verify_batch(batch))

    best = {"raw": 0.0, "ours": 0.0}
    for _ in range(ROUNDS):
        for name, run in (("raw", raw), ("ours", ours)):
            done, elapsed = rate(run, seconds / ROUNDS)
            best[name] = max(best[name], done / elapsed)
    loop.run_until_complete(client.aclose())
    loop.close()
    return best["raw"], best["ours"]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per variant and algorithm")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("load before:", load())
    print(
        f"python {platform.python_version()}, PyJWT {version('pyjwt')}, cryptography {version('cryptography')}, "
        f"httpx {version('httpx')}, {os.cpu_count()} CPUs, {platform.machine()} {platform.system()}"
    )
    rows = [(alg, *measure(alg, args.seconds)) for alg in ALGORITHMS]
    print(f"\n{'alg':<6} {'PyJWT decode/s':>15} {'Verifier/s':>11} {'ratio':>6} {'extra µs/token':>15}")
    for alg, raw, ours in rows:
        print(f"{alg:<6} {raw:>15,.0f} {ours:>11,.0f} {ours / raw:>6.2f} {1e6 / ours - 1e6 / raw:>15.1f}")
    print("\nload after:", load())


if __name__ == "__main__":
    main()
