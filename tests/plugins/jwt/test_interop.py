"""Better Auth's ``jwks`` rows at the storage level: rows written the way Better Auth 1.7 writes
them (``createJwk`` in dist/plugins/jwt/utils.mjs: the public JWK as JSON, the private JWK as
``JSON.stringify(symmetricEncrypt(JSON.stringify(jwk)))``, ``alg``/``crv`` NULL in older rows)
sign and are published; the migration gives a ``jwks`` table Better Auth made authkeeper's
``successorOf`` column and unique index; and, with Node, rows made by Better Auth's own code
sign here while the keys and tokens made here are read by Better Auth and jose."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.ext.asyncio import create_async_engine

from authkeeper import migrate
from authkeeper.core.crypto import symmetric
from authkeeper.core.crypto.random import generate_id
from authkeeper.core.ports import DuplicateError
from authkeeper.plugins.jwt import JwtSettings
from authkeeper.storage.sql import async_url
from tests.conftest import ORIGIN, ROOT, SECRET, TestApp, fast_settings, need, node_available

from .helpers import (
    b64url,
    bearer,
    claims_of,
    freeze,
    get_token,
    header_of,
    jwks,
    kids,
    records,
    service,
    session_token,
    verify_with_jwks,
)

pytestmark = pytest.mark.anyio

DAY = 86400


# -- rows as Better Auth writes them ------------------------------------------------------
def _int(value: int, size: int | None = None) -> str:
    return b64url(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


def jose_private_jwk(alg: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A key pair as jose's ``exportJWK`` gives it (member order included), built from the
    numbers, not through authkeeper's or PyJWT's export."""
    if alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
        x = b64url(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        d = b64url(
            key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        )
        return {"crv": "Ed25519", "d": d, "x": x, "kty": "OKP"}, {"crv": "Ed25519", "x": x, "kty": "OKP"}
    if alg == "ES256":
        ec_key = ec.generate_private_key(ec.SECP256R1())
        n = ec_key.private_numbers()
        pub = n.public_numbers
        public = {"kty": "EC", "x": _int(pub.x, 32), "y": _int(pub.y, 32), "crv": "P-256"}
        return {**public, "d": _int(n.private_value, 32)}, public
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rn = rsa_key.private_numbers()
    public = {"kty": "RSA", "n": _int(rn.public_numbers.n), "e": _int(rn.public_numbers.e)}
    private = {**public, "d": _int(rn.d), "p": _int(rn.p), "q": _int(rn.q)}
    private.update(dp=_int(rn.dmp1), dq=_int(rn.dmq1), qi=_int(rn.iqmp))
    return private, public


def better_auth_row(
    alg: str,
    *,
    created: datetime,
    with_alg: bool = True,
    envelope: bool = False,
    secret: str = SECRET,
    expires: datetime | None = None,
) -> dict[str, Any]:
    private, public = jose_private_jwk(alg)
    hexed = symmetric.encrypt(secret, json.dumps(private, separators=(",", ":")))
    return {
        "id": generate_id(),
        "publicKey": json.dumps(public, separators=(",", ":")),
        "privateKey": json.dumps(f"$ba$1${hexed}" if envelope else hexed),
        "createdAt": created,
        "expiresAt": expires,
        "alg": alg if with_alg else None,
        "crv": public.get("crv") if with_alg else None,
    }


@pytest.mark.parametrize(
    ("alg", "with_alg", "envelope"),
    [("EdDSA", False, False), ("EdDSA", True, True), ("ES256", True, False), ("RS256", True, False)],
)
async def test_a_better_auth_row_signs_and_is_published(
    make_app: Callable[..., Any], alg: str, with_alg: bool, envelope: bool
) -> None:
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm=alg))
    clock = freeze(app)
    row = better_auth_row(alg, created=clock() - timedelta(days=3), with_alg=with_alg, envelope=envelope)
    await app.auth.store.insert("jwks", row)  # no successorOf: Better Auth has none
    await session_token(app)
    token = await get_token(app)
    assert header_of(token) == {"alg": alg, "kid": row["id"], "typ": "JWT"}
    keys = await jwks(app)
    (entry,) = keys
    assert entry["kid"] == row["id"] and entry["alg"] == alg
    if alg == "EdDSA":
        assert entry["crv"] == "Ed25519"  # filled in for a row with crv NULL
    assert "d" not in entry
    assert verify_with_jwks(token, keys, at=clock())["email"] == "ann@example.com"
    assert await kids(app) == [row["id"]]  # no key of authkeeper's was needed


async def test_a_better_auth_row_of_another_algorithm_keeps_verifying(make_app: Callable[..., Any]) -> None:
    """The configured algorithm changed (ES256 now), the old EdDSA row (alg NULL means the
    configured algorithm in Better Auth; here it is an explicit EdDSA) still verifies."""
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm="ES256"))
    clock = freeze(app)
    row = better_auth_row("EdDSA", created=clock() - timedelta(days=3))
    await app.auth.store.insert("jwks", row)
    await session_token(app)
    token = await get_token(app)
    assert header_of(token)["alg"] == "ES256" and header_of(token)["kid"] != row["id"]
    assert {k["kid"]: k["alg"] for k in await jwks(app)}[row["id"]] == "EdDSA"


async def test_a_better_auth_row_without_expiry_is_rotated_out(make_app: Callable[..., Any]) -> None:
    """Better Auth without rotation writes no expiresAt: the row counts as expiring
    rotation_interval after it was made, so an old one is replaced."""
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, rotation_interval=90 * DAY))
    clock = freeze(app)
    row = better_auth_row("EdDSA", created=clock() - timedelta(days=100), with_alg=False)
    await app.auth.store.insert("jwks", row)
    await session_token(app)
    token = await get_token(app)
    assert header_of(token)["kid"] != row["id"]
    (successor,) = [r for r in await records(app) if r.id != row["id"]]
    assert successor.successor_of == row["id"]


async def test_a_retired_better_auth_row_leaves_the_jwks(make_app: Callable[..., Any]) -> None:
    cfg = JwtSettings(enabled=True, rotation_interval=90 * DAY, expires_in=900, max_expires_in=900, grace_period=DAY)
    app: TestApp = await make_app(jwt=cfg)
    clock = freeze(app)
    row = better_auth_row("EdDSA", created=clock() - timedelta(days=89), with_alg=False)
    await app.auth.store.insert("jwks", row)
    await session_token(app)
    assert header_of(await get_token(app))["kid"] == row["id"]
    # It stops signing at createdAt + 90 days; a day and its tokens' lifetime later it must go.
    clock.to(row["createdAt"] + timedelta(days=90, seconds=900 + DAY + 1))
    assert header_of(await get_token(app))["kid"] != row["id"]
    assert row["id"] not in [k["kid"] for k in await jwks(app)]


# -- the migration on Better Auth's table -------------------------------------------------
BETTER_AUTH_JWKS = {
    "sqlite": (
        'CREATE TABLE "jwks" ("id" text not null primary key, "publicKey" text not null, '
        '"privateKey" text not null, "createdAt" date not null, "expiresAt" date, "alg" text, "crv" text)'
    ),
    "postgresql": (
        'CREATE TABLE "jwks" ("id" text not null primary key, "publicKey" text not null, '
        '"privateKey" text not null, "createdAt" timestamptz not null, "expiresAt" timestamptz, '
        '"alg" text, "crv" text)'
    ),
}


async def test_migrating_a_better_auth_jwks_table(db_url: str, make_app: Callable[..., Any]) -> None:
    core = fast_settings(db_url)
    await migrate(core)  # the core's tables, without the jwt plugin
    engine = create_async_engine(async_url(db_url))
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    row = better_auth_row("EdDSA", created=created, with_alg=False)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(BETTER_AUTH_JWKS[conn.dialect.name]))
            await conn.execute(
                sa.text(
                    'INSERT INTO "jwks" ("id", "publicKey", "privateKey", "createdAt") '
                    "VALUES (:id, :publicKey, :privateKey, :createdAt)"
                ),
                {k: row[k] for k in ("id", "publicKey", "privateKey")}
                | {"createdAt": created if conn.dialect.name == "postgresql" else created.replace(tzinfo=None)},
            )
        done = await migrate(fast_settings(db_url, jwt=JwtSettings(enabled=True)))
        assert any("successorOf" in line for line in done), done
        assert any("jwks_successorOf_uidx" in line for line in done), done

        def shape(sync: sa.Connection) -> tuple[set[str], list[dict[str, Any]], list[Any]]:
            inspector = sa.inspect(sync)
            columns = {c["name"] for c in inspector.get_columns("jwks")}
            indexes = [dict(ix) for ix in inspector.get_indexes("jwks")]
            rows = list(sync.execute(sa.text('SELECT "id", "successorOf" FROM "jwks"')))
            return columns, indexes, rows

        async with engine.connect() as conn:
            columns, indexes, rows = await conn.run_sync(shape)
        assert columns == {"id", "publicKey", "privateKey", "createdAt", "expiresAt", "alg", "crv", "successorOf"}
        (index,) = [ix for ix in indexes if ix["name"] == "jwks_successorOf_uidx"]
        assert index["unique"] and index["column_names"] == ["successorOf"]
        assert [tuple(r) for r in rows] == [(row["id"], None)]
        # Again: nothing left to do.
        assert not any("jwks" in line for line in await migrate(fast_settings(db_url, jwt=JwtSettings(enabled=True))))
    finally:
        await engine.dispose()
    # The row Better Auth wrote signs; the unique index holds successors to one each.
    app: TestApp = await make_app(db_url=db_url, jwt=JwtSettings(enabled=True))
    await session_token(app)
    token = await get_token(app)
    assert header_of(token)["kid"] == row["id"]
    made, was_made = await service(app).keys.rotate(reason="test")
    assert was_made and made.successor_of == row["id"]
    with pytest.raises(DuplicateError):
        clone = {**better_auth_row("EdDSA", created=created), "successorOf": row["id"]}
        await app.auth.store.insert("jwks", clone)


# -- Better Auth's own code ---------------------------------------------------------------
NODE_MAKE_ROWS = """
import { symmetricEncrypt } from "./node_modules/better-auth/dist/crypto/index.mjs";
import { generateExportedKeyPair } from "./node_modules/better-auth/dist/plugins/jwt/utils.mjs";
const secret = process.env.BA_SECRET;
for (const alg of JSON.parse(process.env.BA_ALGS)) {
  // createJwk's body (utils.mjs), without the adapter: what it hands the database.
  const options = { jwks: { keyPairConfig: alg === "EdDSA" ? { alg, crv: "Ed25519" } : { alg } } };
  const { publicWebKey, privateWebKey, cfg } = await generateExportedKeyPair(options);
  const explicitCrv = cfg && "crv" in cfg ? cfg.crv : undefined;
  const crv = explicitCrv ?? (typeof publicWebKey.crv === "string" ? publicWebKey.crv : undefined);
  const privateKey = JSON.stringify(await symmetricEncrypt({ key: secret, data: JSON.stringify(privateWebKey) }));
  console.log(JSON.stringify({ alg, crv: crv ?? null, publicKey: JSON.stringify(publicWebKey), privateKey }));
}
"""

NODE_READ_OURS = """
import { symmetricDecrypt } from "./node_modules/better-auth/dist/crypto/index.mjs";
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
const secret = process.env.BA_SECRET;
const rows = JSON.parse(process.env.AK_ROWS);
const jwks = createLocalJWKSet(JSON.parse(process.env.AK_JWKS));
const out = { verified: [], signed: [] };
for (const token of JSON.parse(process.env.AK_TOKENS)) {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: process.env.AK_ISS, audience: process.env.AK_AUD, currentDate: new Date(Number(process.env.AK_NOW) * 1000),
  });
  out.verified.push({ sub: payload.sub, alg: protectedHeader.alg });
}
for (const row of rows) {
  // resolveSigningKey + signJWT (sign.mjs): decrypt, import with the row's alg, sign with its id.
  const jwk = JSON.parse(await symmetricDecrypt({ key: secret, data: JSON.parse(row.privateKey) }));
  const key = await importJWK(jwk, row.alg);
  const iat = Number(process.env.AK_NOW);
  out.signed.push(await new SignJWT({ sub: process.env.AK_SUB, email: "ann@example.com" })
    .setProtectedHeader({ alg: row.alg, kid: row.id })
    .setIssuedAt(iat).setExpirationTime(iat + 900).setIssuer(process.env.AK_ISS).setAudience(process.env.AK_AUD)
    .sign(key));
}
console.log(JSON.stringify(out));
"""


def node(script: str, **env: str) -> str:
    if not node_available():
        need("Node.js and tests/js/node_modules (npm ci in tests/js)")
    r = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=ROOT / "tests/js",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


ALL = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]


@pytest.mark.node
async def test_rows_made_by_better_auth_sign_here(make_app: Callable[..., Any]) -> None:
    made = [json.loads(line) for line in node(NODE_MAKE_ROWS, BA_SECRET=SECRET, BA_ALGS=json.dumps(ALL)).splitlines()]
    for spec in made:
        app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm=spec["alg"]))
        clock = freeze(app)
        row = {"id": generate_id(), "createdAt": clock() - timedelta(days=1), "expiresAt": None, **spec}
        await app.auth.store.insert("jwks", row)
        await session_token(app)
        token = await get_token(app)
        assert header_of(token)["kid"] == row["id"], spec["alg"]
        assert verify_with_jwks(token, await jwks(app), at=clock())["sub"] == claims_of(token)["sub"]


@pytest.mark.node
async def test_better_auth_reads_the_keys_and_tokens_made_here(make_app: Callable[..., Any], tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    apps: list[TestApp] = [await make_app(db_url=url, jwt=JwtSettings(enabled=True, algorithm=alg)) for alg in ALL]
    clock = freeze(*apps)
    signed = await session_token(apps[0])
    tokens = []
    for app in apps:
        tokens.append(await get_token(app, bearer(signed)))
        clock.advance(1)  # keys made at distinct instants (see test_keys' clock-skew test for ties)
    last = apps[-1]
    rows = [dict(r) for r in await last.auth.store.select("jwks")]
    out = json.loads(
        node(
            NODE_READ_OURS,
            BA_SECRET=SECRET,
            AK_ROWS=json.dumps([{"id": r["id"], "alg": r["alg"], "privateKey": r["privateKey"]} for r in rows]),
            AK_JWKS=json.dumps({"keys": await jwks(last)}),
            AK_TOKENS=json.dumps(tokens),
            AK_ISS=ORIGIN,
            AK_AUD=ORIGIN,
            AK_NOW=str(int(clock().timestamp())),
            AK_SUB=claims_of(tokens[0])["sub"],
        )
    )
    # jose verifies every token made here against the JWKS served here ...
    assert sorted(v["alg"] for v in out["verified"]) == sorted(ALL)
    assert {v["sub"] for v in out["verified"]} == {claims_of(tokens[0])["sub"]}
    # ... and Better Auth opens every private key stored here and signs with it: verified here.
    assert len(out["signed"]) == len(rows)
    for token in out["signed"]:
        assert await service(last).verify(last.ctx, token) is not None, header_of(token)
