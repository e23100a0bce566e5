"""Password hashes made by Better Auth 1.7.25's own ``hashPassword`` (the fixture
better_auth_hashes.json, written by tests/js/interop/make-hash-vectors.mjs) verify on
authkeeper, and the hashes authkeeper makes in that format verify on Better Auth."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authkeeper.core.crypto.passwords import (
    PasswordHasher,
    is_scrypt_hash,
    scrypt_hash,
    scrypt_verify,
)
from tests.conftest import ROOT, need

pytestmark = pytest.mark.anyio

FIXTURE = Path(__file__).with_name("better_auth_hashes.json")
GENERATOR = ROOT / "tests/js/interop/make-hash-vectors.mjs"
DATA = json.loads(FIXTURE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DATA["vectors"]


@pytest.fixture(scope="module")
def hasher() -> Iterator[PasswordHasher]:
    h = PasswordHasher(memory_kib=1024, time_cost=1, workers=2)
    yield h
    h.close()


def test_fixture_is_what_it_claims() -> None:
    assert DATA["betterAuth"] == "1.7.25"
    names = {v["name"] for v in VECTORS}
    assert {"ascii", "unicode-nfkc", "max-length-128", "emoji"} <= names
    assert len(next(v for v in VECTORS if v["name"] == "max-length-128")["password"]) == 128
    for v in VECTORS:
        assert is_scrypt_hash(v["hash"]), v["name"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
async def test_better_auth_hash_verifies(hasher: PasswordHasher, vector: dict[str, Any]) -> None:
    stored = vector["hash"]
    for password in [vector["password"], *vector["equivalents"]]:
        assert await hasher.verify(stored, password), repr(password)
        assert scrypt_verify(password, stored), repr(password)
    for password in vector["wrong"]:
        assert not await hasher.verify(stored, password), repr(password)
    # A Better Auth hash is legacy: a successful sign-in replaces it with argon2id.
    assert hasher.needs_rehash(stored)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_same_salt_gives_the_same_hash(vector: dict[str, Any]) -> None:
    """authkeeper's Better Auth format is byte for byte Better Auth's (lower-case hex)."""
    salt = vector["hash"].split(":", 1)[0]
    assert scrypt_hash(vector["password"], salt) == vector["hash"]


def test_tampered_hash_is_rejected(hasher: PasswordHasher) -> None:
    vector = VECTORS[0]
    salt, key = vector["hash"].split(":")
    flipped = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert not hasher.verify_sync(f"{salt}:{flipped}", vector["password"])
    other_salt = ("f" if salt[0] != "f" else "e") + salt[1:]
    assert not hasher.verify_sync(f"{other_salt}:{key}", vector["password"])
    assert not hasher.verify_sync(f"{salt}:{key[:64]}", vector["password"])  # a short key is no hash
    assert not hasher.verify_sync(f"{salt}{key}", vector["password"])


@pytest.mark.node
def test_authkeeper_scrypt_hashes_verify_on_better_auth() -> None:
    """The other way round: hashes authkeeper writes in Better Auth's format (for a database
    shared with Better Auth) are accepted by Better Auth's verifyPassword."""
    node = shutil.which("node")
    if node is None:
        need("node is not installed (needed to run Better Auth's verifyPassword)")
    if not (ROOT / "tests/js/node_modules/better-auth").is_dir():
        need("tests/js/node_modules is missing: run `npm ci` in tests/js")
    pairs = []
    for v in VECTORS:
        pairs.append({"password": v["password"], "hash": scrypt_hash(v["password"])})
        for equivalent in v["equivalents"]:
            pairs.append({"password": v["password"], "hash": scrypt_hash(equivalent)})
        for wrong in v["wrong"]:
            pairs.append({"password": wrong, "hash": scrypt_hash(v["password"])})
    proc = subprocess.run(
        [node, str(GENERATOR), "check"],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=GENERATOR.parent,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout)
    expected_ok = []
    for v in VECTORS:
        expected_ok += [True] * (1 + len(v["equivalents"])) + [False] * len(v["wrong"])
    assert [a["ok"] for a in answers] == expected_ok
