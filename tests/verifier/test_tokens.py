"""Verifying tokens: every algorithm Better Auth signs with verifies; every forged, expired,
misdirected or malformed token is a 401 with a stable code (never a 500), and a forged header
costs no JWKS fetch."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from authkeeper.verifier import Claims, Verifier, VerifierError

from .conftest import MakeVerifier
from .support import ALGORITHMS, StubAuthServer, b64, compact, signing_key

pytestmark = pytest.mark.anyio


async def refused(verifier: Verifier, token: str) -> VerifierError:
    with pytest.raises(VerifierError) as caught:
        await verifier.verify(token)
    error = caught.value
    assert error.status == 401, error
    # Never echo the token (nor a part of it long enough to matter) back.
    for part in token.split("."):
        if len(part) >= 8:
            assert part not in error.message and part not in str(error)
    return error


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("typ", [True, False])
async def test_each_algorithm_verifies_with_and_without_typ(
    stub: StubAuthServer, make_verifier: MakeVerifier, alg: str, typ: bool
) -> None:
    key = signing_key(alg)
    token = key.sign(stub.claims(role="admin,moderator"), typ=typ)
    claims = await make_verifier().verify(token)
    assert isinstance(claims, Claims)
    assert claims.sub == "user-1"
    assert claims.roles == ("admin", "moderator")
    assert claims["email"] == "ann@example.com" == claims.email
    assert claims.get("emailVerified") is True
    assert claims.expires_at == claims["exp"]


async def test_defaults_derive_issuer_and_audience_from_the_jwks_url(stub: StubAuthServer) -> None:
    verifier = Verifier(stub.jwks_url)
    assert verifier.issuer == verifier.audience == stub.origin
    assert verifier.session_url == f"{stub.origin}/api/auth/get-session"
    assert verifier.algorithms == ("EdDSA", "ES256", "ES512", "RS256", "PS256")
    assert Verifier("https://auth.example.com:443/api/auth/jwks").issuer == "https://auth.example.com"
    assert Verifier("https://auth.example.com:8443/x/jwks").audience == "https://auth.example.com:8443"


async def test_an_explicit_issuer_and_audience_list(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    verifier = make_verifier(issuer="https://issuer.example", audience=["svc-a", "svc-b"])
    key = signing_key("EdDSA")
    claims = await verifier.verify(key.sign(stub.claims(iss="https://issuer.example", aud=["other", "svc-b"])))
    assert claims.sub == "user-1"
    assert (await refused(verifier, key.sign(stub.claims(iss="https://issuer.example", aud="svc-c")))).code == (
        "INVALID_AUDIENCE"
    )


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "HS512"])
def test_configuring_none_or_hmac_fails_at_once(alg: str) -> None:
    with pytest.raises(ValueError, match="never allowed"):
        Verifier("http://127.0.0.1:1/api/auth/jwks", algorithms=["EdDSA", alg])


@pytest.mark.parametrize("bad", [[], ["ES256K"], "EdDSA"])
def test_an_empty_unknown_or_string_allow_list_fails(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        Verifier("http://127.0.0.1:1/api/auth/jwks", algorithms=bad)


def test_a_relative_jwks_url_fails() -> None:
    with pytest.raises(ValueError):
        Verifier("/api/auth/jwks")


def forged(stub: StubAuthServer) -> dict[str, tuple[str, str]]:
    """name → (token, expected code) of the forged-token matrix."""
    ed, rs = signing_key("EdDSA"), signing_key("RS256")
    other = signing_key("EdDSA", 2)
    now = int(time.time())
    good = ed.sign(stub.claims())
    h, p, s = good.split(".")
    header = {"alg": "EdDSA", "kid": ed.kid}
    pem = ed.public_pem()
    jwk_json = json.dumps(ed.jwk()).encode()

    def hs256(secret: bytes) -> str:
        head = {"alg": "HS256", "kid": ed.kid, "typ": "JWT"}
        unsigned = compact(head, stub.claims()).rsplit(".", 1)[0]
        return unsigned + "." + b64(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())

    tampered_payload = b64(json.dumps({**stub.claims(), "role": "admin", "sub": "someone-else"}).encode())
    tampered_header = b64(json.dumps({**header, "typ": "JWT", "x": 1}).encode())
    return {
        "alg none": (compact({"alg": "none", "kid": ed.kid}, stub.claims()), "INVALID_TOKEN"),
        "alg none no kid": (compact({"alg": "none"}, stub.claims()), "INVALID_TOKEN"),
        "HS256 with the public PEM": (hs256(pem), "INVALID_TOKEN"),
        "HS256 with the public JWK JSON": (hs256(jwk_json), "INVALID_TOKEN"),
        "unknown kid": (ed.sign(stub.claims(), kid="no-such-key"), "UNKNOWN_KEY"),
        "another key's kid": (other.sign(stub.claims(), kid=ed.kid), "INVALID_TOKEN"),
        "an RSA key's kid under ES256": (signing_key("ES256").sign(stub.claims(), kid=rs.kid), "INVALID_TOKEN"),
        "RS256 key used as PS256": (
            jwt_with(rs, "PS256", stub.claims()),
            "INVALID_TOKEN",
        ),
        "no kid": (jwt_without_kid(ed, stub.claims()), "INVALID_TOKEN"),
        "kid not a string": (compact({"alg": "EdDSA", "kid": 7}, stub.claims(), b"x" * 64), "INVALID_TOKEN"),
        "crit header": (ed.sign(stub.claims(), crit=["exp"]), "INVALID_TOKEN"),
        "expired": (ed.sign(stub.claims(iat=now - 2000, exp=now - 100)), "TOKEN_EXPIRED"),
        "nbf in the future": (ed.sign(stub.claims(nbf=now + 100)), "TOKEN_NOT_YET_VALID"),
        "iat in the future": (ed.sign(stub.claims(iat=now + 100)), "TOKEN_NOT_YET_VALID"),
        "iat not a number": (ed.sign(stub.claims(iat="yesterday")), "INVALID_TOKEN"),
        "no exp": (ed.sign(stub.claims(exp=None)), "INVALID_TOKEN"),
        "no sub": (ed.sign(stub.claims(sub=None)), "INVALID_TOKEN"),
        "empty sub": (ed.sign(stub.claims(sub="")), "INVALID_TOKEN"),
        "sub not a string": (ed.sign(stub.claims(sub=42)), "INVALID_TOKEN"),
        "no aud": (ed.sign(stub.claims(aud=None)), "INVALID_TOKEN"),
        "wrong aud": (ed.sign(stub.claims(aud="https://elsewhere.example")), "INVALID_AUDIENCE"),
        "wrong iss": (ed.sign(stub.claims(iss="https://evil.example")), "INVALID_ISSUER"),
        "no iss": (ed.sign(stub.claims(iss=None)), "INVALID_TOKEN"),
        "tampered payload": (f"{h}.{tampered_payload}.{s}", "INVALID_TOKEN"),
        "tampered header": (f"{tampered_header}.{p}.{s}", "INVALID_TOKEN"),
        "truncated signature": (good[:-10], "INVALID_TOKEN"),
        "truncated to two parts": (f"{h}.{p}", "INVALID_TOKEN"),
        "no signature": (f"{h}.{p}.", "INVALID_TOKEN"),
        "payload not JSON": (f"{h}.{b64(b'not json')}.{s}", "INVALID_TOKEN"),
        "payload a JSON list": (f"{h}.{b64(b'[1,2]')}.{s}", "INVALID_TOKEN"),
        "header not JSON": (f"{b64(b'{oops')}.{p}.{s}", "INVALID_TOKEN"),
        "header a JSON list": (f"{b64(b'[1]')}.{p}.{s}", "INVALID_TOKEN"),
        "header with padding": (f"{h}==.{p}.{s}", "INVALID_TOKEN"),
        "not base64": ("!!!.@@@.###", "INVALID_TOKEN"),
        "four parts": (good + ".extra", "INVALID_TOKEN"),
        "huge": (f"{h}.{'A' * 100_000}.{s}", "INVALID_TOKEN"),
        "session token": ("Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "INVALID_TOKEN"),
        "signed session cookie": (
            "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z.k3J9sL0aQmZ1xYw2VbN8rT5uE7oP4cD6fG0hI2jK=",
            "INVALID_TOKEN",
        ),
        "unicode garbage": ("é.ü.ß", "INVALID_TOKEN"),
    }


def jwt_with(key: Any, alg: str, claims: dict[str, Any]) -> str:
    import jwt

    return jwt.encode(claims, key.private, algorithm=alg, headers={"kid": key.kid})


def jwt_without_kid(key: Any, claims: dict[str, Any]) -> str:
    import jwt

    return jwt.encode(claims, key.private, algorithm=key.alg)


FORGED = [
    "alg none", "alg none no kid", "HS256 with the public PEM", "HS256 with the public JWK JSON", "unknown kid",
    "another key's kid", "an RSA key's kid under ES256", "RS256 key used as PS256", "no kid", "kid not a string",
    "crit header", "expired", "nbf in the future", "iat in the future", "iat not a number", "no exp", "no sub",
    "empty sub", "sub not a string", "no aud", "wrong aud", "wrong iss", "no iss", "tampered payload",
    "tampered header", "truncated signature", "truncated to two parts", "no signature", "payload not JSON",
    "payload a JSON list", "header not JSON", "header a JSON list", "header with padding", "not base64", "four parts", "huge", "session token",
    "signed session cookie", "unicode garbage",
]  # fmt: skip


@pytest.mark.parametrize("name", FORGED)
async def test_the_forged_token_matrix_is_refused_with_a_stable_code(
    stub: StubAuthServer, make_verifier: MakeVerifier, name: str
) -> None:
    token, code = forged(stub)[name]
    assert (await refused(make_verifier(), token)).code == code


def test_the_matrix_lists_every_case(stub: StubAuthServer) -> None:
    assert sorted(FORGED) == sorted(forged(stub))


@pytest.mark.parametrize(
    "name", ["alg none", "HS256 with the public PEM", "no kid", "not base64", "huge", "session token"]
)
async def test_a_forged_header_costs_no_jwks_fetch(
    stub: StubAuthServer, make_verifier: MakeVerifier, name: str
) -> None:
    token, _ = forged(stub)[name]
    await refused(make_verifier(), token)
    assert stub.jwks_requests == 0


async def test_clock_skew_within_the_leeway_is_accepted(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    now = int(time.time())
    key = signing_key("ES256")
    token = key.sign(stub.claims(iat=now + 10, nbf=now + 10, exp=now - 10))
    assert (await make_verifier().verify(token)).sub == "user-1"
    assert (await refused(make_verifier(leeway=0), token)).code in ("TOKEN_EXPIRED", "TOKEN_NOT_YET_VALID")


async def test_a_key_outside_the_allow_list_is_refused(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    verifier = make_verifier(algorithms=["EdDSA"])
    assert (await verifier.verify(signing_key("EdDSA").sign(stub.claims()))).sub == "user-1"
    error = await refused(verifier, signing_key("RS256").sign(stub.claims()))
    assert error.code == "INVALID_TOKEN" and "algorithm" in error.message


async def test_missing_token_and_authorization_header(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    verifier = make_verifier()
    for header in (None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b"):
        with pytest.raises(VerifierError) as caught:
            await verifier.verify_authorization(header)
        assert (caught.value.status, caught.value.code) == (401, "MISSING_TOKEN")
    with pytest.raises(VerifierError, match="MISSING_TOKEN"):
        await verifier.verify("")
    token = signing_key("PS256").sign(stub.claims())
    assert (await verifier.verify_authorization(f"bearer {token}")).sub == "user-1"


async def test_an_error_serialises_as_code_and_message(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    error = await refused(make_verifier(), signing_key("EdDSA").sign(stub.claims(aud="x")))
    assert error.to_dict() == {"code": "INVALID_AUDIENCE", "message": error.message}
    assert error.message


async def test_roles_and_permissions(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    roles = {"admin": {"user": ["list", "ban"], "audit": ["list"]}, "support": {"user": ["list"]}, "user": {}}
    verifier = make_verifier(roles=roles, default_role="user")
    key = signing_key("EdDSA")
    support = await verifier.verify(key.sign(stub.claims(role="support, user")))
    assert support.roles == ("support", "user")
    assert verifier.has_role(support, "admin", "support") and not verifier.has_role(support, "admin")
    assert verifier.has_permission(support, {"user": ["list"]})
    assert not verifier.has_permission(support, {"user": ["list", "ban"]})
    assert not verifier.has_permission(support, {"user": ["list"], "audit": ["list"]})
    assert not verifier.has_permission(support, {"user": []})  # asking for nothing grants nothing
    both = await verifier.verify(key.sign(stub.claims(role="support,admin")))
    assert verifier.has_permission(both, {"user": ["ban"], "audit": ["list"]})  # one role allows it all
    nobody = await verifier.verify(key.sign(stub.claims(role=None)))
    assert nobody.roles == ("user",)
    with pytest.raises(VerifierError) as caught:
        verifier.check_permission(nobody, {"user": ["list"]})
    assert (caught.value.status, caught.value.code) == (403, "FORBIDDEN")
    with pytest.raises(TypeError):
        verifier.has_permission(both, {"user": "list"})  # a bare string is not a list of actions


async def test_has_permission_without_a_role_table_fails_loudly(
    stub: StubAuthServer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier()
    claims = await verifier.verify(signing_key("EdDSA").sign(stub.claims()))
    with pytest.raises(RuntimeError, match="role table"):
        verifier.has_permission(claims, {"user": ["list"]})
