"""Password hashing: argon2id for new hashes, Better Auth's scrypt verified for migration.

Hashing is CPU- and memory-heavy, so it runs in a bounded thread pool (argon2-cffi and
hashlib.scrypt release the GIL) and never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Better Auth's scrypt parameters (spec §4): N=16384, r=16, p=1, 64-byte key.
SCRYPT_N = 16384
SCRYPT_R = 16
SCRYPT_P = 1
SCRYPT_DKLEN = 64
SCRYPT_MAXMEM = 128 * SCRYPT_N * SCRYPT_R * 2


def _normalise(password: str) -> bytes:
    return unicodedata.normalize("NFKC", password).encode()


def is_scrypt_hash(stored: str) -> bool:
    salt, sep, key = stored.partition(":")
    return bool(sep) and len(salt) == 32 and len(key) == 128


def scrypt_hash(password: str, salt_hex: str | None = None) -> str:
    """A hash in Better Auth's ``saltHex:keyHex`` format (used for tests and interop)."""
    salt_hex = salt_hex or os.urandom(16).hex()
    key = hashlib.scrypt(
        _normalise(password),
        salt=salt_hex.encode(),
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=SCRYPT_DKLEN,
        maxmem=SCRYPT_MAXMEM,
    )
    return f"{salt_hex}:{key.hex()}"


def scrypt_verify(password: str, stored: str) -> bool:
    salt_hex, _, key_hex = stored.partition(":")
    try:
        expected = scrypt_hash(password, salt_hex).partition(":")[2]
    except ValueError:
        return False
    return hmac.compare_digest(expected, key_hex.lower())


class PasswordHasher:
    """Hashes and verifies passwords off the event loop.

    Args:
        memory_kib, time_cost, parallelism: argon2id cost parameters.
        workers: threads in the pool (0: one per core).
    """

    def __init__(self, *, memory_kib: int = 19456, time_cost: int = 2, parallelism: int = 1, workers: int = 0) -> None:
        self._argon2 = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 1, thread_name_prefix="authkeeper-hash"
        )
        self._dummy: str | None = None

    def hash_sync(self, password: str) -> str:
        return self._argon2.hash(_normalise(password))

    def verify_sync(self, stored: str, password: str) -> bool:
        if stored.startswith("$argon2"):
            try:
                return self._argon2.verify(stored, _normalise(password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        if is_scrypt_hash(stored):
            return scrypt_verify(password, stored)
        return False

    def needs_rehash(self, stored: str) -> bool:
        """True for legacy (scrypt) hashes and argon2 hashes with other parameters."""
        if not stored.startswith("$argon2"):
            return True
        try:
            return self._argon2.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hash_sync, password)

    async def verify(self, stored: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.verify_sync, stored, password)

    async def burn(self, password: str) -> None:
        """Spend what a real verification costs, for unknown users (no timing oracle)."""
        if self._dummy is None:
            self._dummy = await self.hash("authkeeper-dummy-password")
        await self.verify(self._dummy, password)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
