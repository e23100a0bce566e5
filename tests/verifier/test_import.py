"""The verifier installs and runs without the server: in a fresh interpreter where SQLAlchemy,
argon2, the database drivers, alembic, jinja2, PyNaCl (and, for the core module, Starlette)
cannot be imported, ``authkeeper.verifier`` imports, verifies a token, and leaves the rest of
authkeeper unloaded. The package root resolves its names lazily for that, and still gives them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import authkeeper

SERVER_ONLY = ["sqlalchemy", "argon2", "asyncpg", "aiosqlite", "alembic", "jinja2", "nacl"]

PRELUDE = """
import importlib.abc, sys

BLOCKED = set(sys.argv[1].split(","))
already = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED | {"authkeeper"})
assert not already, f"imported before the test began: {already}"


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked for this test: {name}")
        return None


sys.meta_path.insert(0, Block())
"""

VERIFY = """
import asyncio, json

import httpx, jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

{import_line}

key = ed25519.Ed25519PrivateKey.generate()
jwk = {{**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "alg": "EdDSA"}}
origin = "https://auth.example.com"


def jwks(request):
    return httpx.Response(200, json={{"keys": [jwk]}}, headers={{"Cache-Control": "max-age=60"}})


async def main():
    async with httpx.AsyncClient(transport=httpx.MockTransport(jwks)) as client:
        verifier = Verifier(origin + "/api/auth/jwks", client=client)
        token = jwt.encode({{"sub": "u1", "iss": origin, "aud": origin, "exp": 4102444800}}, key, "EdDSA",
                           headers={{"kid": "k1"}})
        assert (await verifier.verify(token)).sub == "u1"


asyncio.run(main())
loaded = sorted(m for m in sys.modules if m.startswith("authkeeper.") and not m.startswith("authkeeper.verifier"))
assert not loaded, f"the verifier loaded the server: {{loaded}}"
print("verified")
"""


def run(blocked: list[str], body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(PRELUDE) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script, ",".join(blocked)], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_core_verifier_needs_only_pyjwt_cryptography_and_httpx() -> None:
    r = run(
        [*SERVER_ONLY, "starlette", "fastapi"], VERIFY.format(import_line="from authkeeper.verifier import Verifier")
    )
    assert r.returncode == 0 and r.stdout.strip() == "verified", r.stderr[-3000:]


def test_the_fastapi_module_needs_fastapi_but_not_the_server() -> None:
    body = VERIFY.format(import_line="from authkeeper.verifier import Verifier\nimport authkeeper.verifier.fastapi")
    r = run(SERVER_ONLY, body)
    assert r.returncode == 0 and r.stdout.strip() == "verified", r.stderr[-3000:]


def test_the_blocker_does_block_the_server() -> None:
    """The isolation above means something: the same blocker stops the server's import."""
    r = run(SERVER_ONLY, "import authkeeper.auth\n")
    assert r.returncode != 0 and "blocked for this test" in r.stderr


def test_the_package_root_still_gives_every_public_name() -> None:
    for name in authkeeper.__all__:
        assert getattr(authkeeper, name) is not None
        assert name in dir(authkeeper)
    from authkeeper import Authkeeper, Settings
    from authkeeper.auth import Authkeeper as Direct
    from authkeeper.core.settings import Settings as DirectSettings

    assert Authkeeper is Direct and Settings is DirectSettings
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        authkeeper.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from authkeeper import Nope  # type: ignore[attr-defined]  # noqa: F401
