"""Bad input: every malformed, oversized, mistyped or forbidden request gets a clean
``{code, message}`` error and changes nothing (spec §1.1, §1.2, §1.5)."""

from __future__ import annotations

import asyncio
import json
import random
import types
from typing import Any

import httpx
import pytest

from authkeeper.core.models import ClientInfo
from authkeeper.core.settings import AdditionalField, UserSettings
from authkeeper.flows import sessions, sign_up, verify_email
from authkeeper.http.api import core_endpoints
from authkeeper.http.app import MAX_BODY
from authkeeper.server import create_server_app
from tests.conftest import ORIGIN, LiveServer, TestApp
from tests.http._assertions import assert_envelope, assert_error

pytestmark = pytest.mark.anyio

JSON = {"content-type": "application/json", "origin": ORIGIN}
FORM = {"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN}
SIGN_UP = {"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"}


async def raw_post(app: TestApp, path: str, content: Any, headers: dict[str, str]) -> httpx.Response:
    return await app.client.post(app.api(path), content=content, headers=headers)


async def user_json(app: TestApp, email: str = "ann@example.com") -> dict[str, Any]:
    user = await app.auth.store.find_user_by_email(email)
    assert user is not None
    return user.to_json()


# -- JSON syntax and encoding -------------------------------------------------------------
@pytest.mark.parametrize("content", [b'{"email":', b"{'email': 'a'}", b'{"a":1,}', b"nul", b"\x00", b'{"a":1}{"b":2}'])
async def test_malformed_json_is_400_bad_request(app: TestApp, content: bytes) -> None:
    r = await raw_post(app, "/sign-up/email", content, JSON)
    assert_error(r, 400, "BAD_REQUEST", "Invalid JSON in request body")
    assert await app.auth.store.count_users() == 0


async def test_invalid_utf8_in_json_is_400_bad_request(app: TestApp) -> None:
    body = b'{"email":"ann@example.com","password":"a fine \xff\xfe passphrase","name":"Ann"}'
    r = await raw_post(app, "/sign-up/email", body, JSON)
    assert_error(r, 400, "BAD_REQUEST")
    assert await app.auth.store.count_users() == 0


async def test_invalid_utf8_in_a_form_body_is_400_bad_request(app: TestApp) -> None:
    body = b"email=ann@example.com&password=a+fine+\xff\xfe+passphrase&name=Ann"
    r = await raw_post(app, "/sign-up/email", body, FORM)
    assert_error(r, 400, "BAD_REQUEST", "Invalid UTF-8 in request body")
    assert await app.auth.store.count_users() == 0


async def test_percent_encoded_invalid_utf8_in_a_form_body_is_400(app: TestApp) -> None:
    """``%FF`` decodes to no character: it must be refused, not replaced by U+FFFD, or two
    different byte strings become the same password."""
    body = b"email=ann@example.com&name=Ann&password=" + b"%FF" * 10
    r = await raw_post(app, "/sign-up/email", body, FORM)
    assert_error(r, 400, "BAD_REQUEST")
    assert await app.auth.store.count_users() == 0


async def test_escaped_lone_surrogates_are_a_validation_error_naming_the_field(app: TestApp) -> None:
    body = b'{"email":"ann@example.com","password":"a fine passphrase","name":"A\\ud800nn"}'
    r = await raw_post(app, "/sign-up/email", body, JSON)
    assert assert_error(r, 400, "VALIDATION_ERROR")["message"].startswith("[body.name] ")
    assert await app.auth.store.count_users() == 0


async def test_lone_surrogate_in_an_additional_string_field_is_400_not_500(make_app) -> None:  # type: ignore[no-untyped-def]
    """Core string fields go through the strict schema, which refuses lone surrogates; an
    additional field is checked by hand and must refuse them too (they cannot be stored as UTF-8)."""
    app = await make_app(user=UserSettings(additional_fields=(AdditionalField(name="nickname"),)))
    body = b'{"email":"ann@example.com","password":"a fine passphrase","name":"Ann","nickname":"\\ud800"}'
    r = await raw_post(app, "/sign-up/email", body, JSON)
    assert assert_error(r, 400, "VALIDATION_ERROR")["message"].startswith("[body.nickname] ")
    assert await app.auth.store.count_users() == 0


async def test_deeply_nested_json_is_400_not_500(app: TestApp) -> None:
    """100,000 brackets fit well inside the 1 MB limit; the parser's recursion limit must not
    turn them into an unhandled error."""
    r = await raw_post(app, "/sign-in/email", b"[" * 100_000 + b"]" * 100_000, JSON)
    assert_error(r, 400, "BAD_REQUEST")
    r = await raw_post(app, "/sign-up/email", b'{"name":' * 50_000 + b"1" + b"}" * 50_000, JSON)
    assert_error(r, 400, "BAD_REQUEST")
    assert await app.auth.store.count_users() == 0


async def test_nul_characters_never_cause_a_500(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    """U+0000 is valid JSON; PostgreSQL text cannot store it. Either way the answer is 4xx/2xx."""
    app = await make_app(db_url=db_url)
    await app.sign_up()
    cases = [
        ("/sign-up/email", {"email": "nul@example.com", "password": "a fine passphrase", "name": "N\x00ul"}),
        ("/update-user", {"image": "https://img.example.com/\x00.png"}),
        ("/update-user", {"name": "A\x00nn"}),
        ("/request-password-reset", {"email": "ann\x00@example.com"}),
        ("/revoke-session", {"token": "abc\x00def"}),
        ("/reset-password", {"token": "abc\x00def", "newPassword": "another passphrase"}),
        ("/unlink-account", {"accountId": "abc\x00def"}),
    ]
    results = [(path, await app.post(path, body)) for path, body in cases]
    results.append(("GET /reset-password/:token", await app.get("/reset-password/abc%00def")))
    results.append(("GET /verify-email", await app.get("/verify-email", params={"token": "a\x00b"})))
    bad = [(path, r.status_code, r.text) for path, r in results if r.status_code >= 500]
    assert not bad, bad
    for _, r in results:
        if r.status_code >= 400:
            assert_envelope(r)


# -- content types and sizes --------------------------------------------------------------
async def test_text_plain_is_415_unsupported_media_type(app: TestApp) -> None:
    r = await raw_post(app, "/sign-up/email", json.dumps(SIGN_UP), {"content-type": "text/plain", "origin": ORIGIN})
    assert_error(
        r,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        'Content-Type "text/plain" is not allowed. Allowed types: application/json, application/x-www-form-urlencoded',
    )
    assert await app.auth.store.count_users() == 0


async def test_missing_content_type_with_a_body_is_415(app: TestApp) -> None:
    r = await raw_post(app, "/sign-up/email", json.dumps(SIGN_UP).encode(), {"origin": ORIGIN})
    assert "content-type" not in r.request.headers
    body = assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert body["message"].startswith("Content-Type is required. Allowed types: application/json")
    assert await app.auth.store.count_users() == 0


async def test_a_post_without_a_body_needs_no_content_type(app: TestApp) -> None:
    r = await app.client.post(app.api("/sign-out"), headers={"origin": ORIGIN})
    assert r.status_code == 200 and r.json() == {"success": True}


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/change-password", {"currentPassword": "a fine passphrase", "newPassword": "another passphrase"}),
        ("/update-user", {"name": "Mallory"}),
        ("/change-email", {"newEmail": "mallory@example.com"}),
        ("/request-password-reset", {"email": "ann@example.com"}),
        ("/sign-out", {"callbackURL": "/"}),
    ],
)
async def test_form_posts_are_415_outside_sign_in_and_sign_up(app: TestApp, path: str, fields: dict[str, str]) -> None:
    await app.sign_up()
    before = await user_json(app)
    r = await app.client.post(app.api(path), data=fields, headers={"origin": ORIGIN})
    assert_error(
        r,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        'Content-Type "application/x-www-form-urlencoded" is not allowed. Allowed types: application/json',
    )
    assert await user_json(app) == before
    assert (await app.get("/get-session")).json() is not None
    assert app.mails("mallory@example.com") == []


async def test_form_posts_are_accepted_on_sign_up_and_sign_in(app: TestApp) -> None:
    r = await app.client.post(app.api("/sign-up/email"), data=SIGN_UP, headers={"origin": ORIGIN})
    assert r.status_code == 200, r.text
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), data={"email": "ann@example.com", "password": "a fine passphrase"})
    await client.aclose()
    assert r.status_code == 200, r.text


async def test_body_over_1mb_with_content_length_is_413(app: TestApp) -> None:
    body = json.dumps({**SIGN_UP, "name": "A" * MAX_BODY}).encode()
    r = await raw_post(app, "/sign-up/email", body, JSON)
    assert int(r.request.headers["content-length"]) > MAX_BODY
    assert_error(r, 413, "PAYLOAD_TOO_LARGE", "Request body is too large")
    assert await app.auth.store.count_users() == 0


async def test_streamed_body_over_1mb_without_content_length_is_413(app: TestApp) -> None:
    head = json.dumps(SIGN_UP)[:-1].encode() + b', "padding": "'

    async def stream() -> Any:
        yield head
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    r = await raw_post(app, "/sign-up/email", stream(), JSON)
    assert "content-length" not in r.request.headers
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    assert await app.auth.store.count_users() == 0


async def test_body_of_exactly_1mb_is_accepted(app: TestApp) -> None:
    text = json.dumps(SIGN_UP)
    body = text[:-1].encode() + b" " * (MAX_BODY - len(text)) + b"}"
    assert len(body) == MAX_BODY
    r = await raw_post(app, "/sign-up/email", body, JSON)
    assert r.status_code == 200, r.text


async def test_content_length_over_1mb_is_refused_before_reading(app: TestApp) -> None:
    r = await raw_post(app, "/sign-in/email", b"{}", {**JSON, "content-length": str(MAX_BODY + 1)})
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


# -- shapes and types ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "content", [b"[]", b'"ann@example.com"', b"42", b"1.5", b"true", b"null", b'[{"email":"a@example.com"}]']
)
async def test_a_json_body_that_is_not_an_object_is_a_validation_error(app: TestApp, content: bytes) -> None:
    r = await raw_post(app, "/sign-up/email", content, JSON)
    assert_error(r, 400, "VALIDATION_ERROR", "[body] Invalid input: expected object")
    assert await app.auth.store.count_users() == 0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", None, "[body.name] Invalid input: expected string"),
        ("name", 42, "[body.name] Invalid input: expected string"),
        ("name", True, "[body.name] Invalid input: expected string"),
        ("name", ["Ann"], "[body.name] Invalid input: expected string"),
        ("email", {"address": "ann@example.com"}, "[body.email] Invalid input: expected string"),
        ("email", 12.5, "[body.email] Invalid input: expected string"),
        ("password", {"nested": {"deeper": ["x"]}}, "[body.password] Invalid input: expected string"),
        ("image", 7, "[body.image] Invalid input: expected string"),
        ("rememberMe", "yes", "[body.rememberMe] Invalid input: expected boolean"),
        ("rememberMe", "true", "[body.rememberMe] Invalid input: expected boolean"),
        ("rememberMe", 1, "[body.rememberMe] Invalid input: expected boolean"),
    ],
)
async def test_wrong_types_on_sign_up_are_validation_errors_naming_the_field(
    app: TestApp, field: str, value: Any, expected: str
) -> None:
    r = await app.post("/sign-up/email", {**SIGN_UP, field: value})
    assert_error(r, 400, "VALIDATION_ERROR", expected)
    assert await app.auth.store.count_users() == 0


async def test_missing_fields_are_named_one_by_one(app: TestApp) -> None:
    r = await app.post("/sign-up/email", {"name": "Ann"})
    body = assert_error(r, 400, "VALIDATION_ERROR")
    assert body["message"] == (
        "[body.email] Invalid input: expected a value, received undefined; "
        "[body.password] Invalid input: expected a value, received undefined"
    )


async def test_a_boolean_as_a_string_on_sign_in_is_a_validation_error(app: TestApp) -> None:
    await app.sign_up()
    client = app.new_client()
    r = await client.post(
        app.api("/sign-in/email"),
        json={"email": "ann@example.com", "password": "a fine passphrase", "rememberMe": "yes"},
    )
    await client.aclose()
    assert_error(r, 400, "VALIDATION_ERROR", "[body.rememberMe] Invalid input: expected boolean")
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": None}, "[body.name] Invalid input: expected string, received null"),
        ({"name": 5}, "[body.name] Invalid input: expected string"),
        ({"name": {"first": "M"}}, "[body.name] Invalid input: expected string"),
        ({"image": ["a", "b"]}, "[body.image] Invalid input: expected string"),
    ],
)
async def test_wrong_types_on_update_user_change_nothing(app: TestApp, body: dict[str, Any], expected: str) -> None:
    await app.sign_up()
    before = await user_json(app)
    r = await app.post("/update-user", body)
    assert_error(r, 400, "VALIDATION_ERROR", expected)
    assert await user_json(app) == before


async def test_a_boolean_as_a_string_on_change_password_changes_nothing(app: TestApp) -> None:
    await app.sign_up()
    body = {"currentPassword": "a fine passphrase", "newPassword": "another passphrase", "revokeOtherSessions": "true"}
    r = await app.post("/change-password", body)
    assert_error(r, 400, "VALIDATION_ERROR", "[body.revokeOtherSessions] Invalid input: expected boolean")
    assert (await app.sign_in()).status_code == 200
    assert (await app.sign_in(password="another passphrase")).status_code == 401


@pytest.mark.parametrize("value", [5, ["/dashboard"], {"url": "/dashboard"}, True])
async def test_a_callback_url_that_is_not_a_string_is_400(app: TestApp, value: Any) -> None:
    r = await app.post("/sign-up/email", {**SIGN_UP, "callbackURL": value})
    assert_error(r, 400, "VALIDATION_ERROR", "Invalid callbackURL: expected a string")
    assert await app.auth.store.count_users() == 0


async def test_a_name_over_255_characters_is_refused_on_sign_up(app: TestApp) -> None:
    r = await app.post("/sign-up/email", {**SIGN_UP, "name": "x" * 256})
    assert_error(r, 400, "VALIDATION_ERROR", "[body.name] Too long: at most 255 characters")
    assert await app.auth.store.count_users() == 0
    r = await app.post("/sign-up/email", {**SIGN_UP, "name": "x" * 255})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["name"] == "x" * 255


async def test_a_name_over_255_characters_is_refused_on_update_user(app: TestApp) -> None:
    await app.sign_up()
    before = await user_json(app)
    r = await app.post("/update-user", {"name": "y" * 256})
    assert_error(r, 400, "VALIDATION_ERROR", "[body.name] Too long: at most 255 characters")
    assert await user_json(app) == before


async def test_unknown_keys_are_ignored(app: TestApp) -> None:
    extra = {"favouriteColour": "blue", "nested": {"x": [1, None, {"y": True}]}, "__proto__": {"role": "admin"}}
    r = await app.post("/sign-up/email", {**SIGN_UP, **extra})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert not set(extra) & set(user)
    assert (await app.auth.store.find_user_by_email("ann@example.com")).extra.get("role") == "user"  # type: ignore[union-attr]
    client = app.new_client()
    r = await client.post(
        app.api("/sign-in/email"), json={"email": "ann@example.com", "password": "a fine passphrase", **extra}
    )
    await client.aclose()
    assert r.status_code == 200, r.text


PROTECTED = [
    ("role", "admin"),
    ("emailVerified", True),
    ("emailVerified", False),
    ("banned", False),
    ("twoFactorEnabled", True),
    ("id", "attacker-chosen-id"),
    ("createdAt", "2000-01-01T00:00:00.000Z"),
]


@pytest.mark.parametrize(("field", "value"), PROTECTED)
async def test_protected_fields_on_sign_up_are_field_not_allowed(app: TestApp, field: str, value: Any) -> None:
    r = await app.post("/sign-up/email", {**SIGN_UP, field: value})
    assert_error(r, 400, "FIELD_NOT_ALLOWED", f"{field} is not allowed to be set")
    assert await app.auth.store.count_users() == 0


@pytest.mark.parametrize(("field", "value"), PROTECTED)
async def test_protected_fields_on_update_user_are_field_not_allowed(app: TestApp, field: str, value: Any) -> None:
    await app.sign_up()
    before = await user_json(app)
    r = await app.post("/update-user", {"name": "Mallory", field: value})
    assert_error(r, 400, "FIELD_NOT_ALLOWED", f"{field} is not allowed to be set")
    assert await user_json(app) == before


# -- routing ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sign-in/email"),
        ("PUT", "/sign-in/email"),
        ("DELETE", "/ok"),
        ("PATCH", "/update-user"),
        ("POST", "/ok"),
        ("POST", "/reset-password/sometoken"),
        ("GET", "/ok/"),
        ("POST", "/sign-in/email/"),
        ("POST", "//sign-in/email"),
        ("POST", "/sign-in//email"),
        ("GET", "//ok"),
        ("GET", "/OK"),
        ("GET", "/no-such-endpoint"),
        ("POST", "/no-such-endpoint"),
        ("GET", "/reset-password/a/b"),
        ("GET", "/reset-password/"),
        ("GET", ""),
        ("GET", "/"),
    ],
)
async def test_unknown_paths_and_wrong_methods_are_404_json_never_405(app: TestApp, method: str, path: str) -> None:
    r = await app.client.request(method, app.api(path), headers={"origin": ORIGIN})
    assert r.request.url.path == app.api(path)
    assert_error(r, 404, "NOT_FOUND", "Not found")


async def test_double_slash_sign_in_does_not_sign_in(app: TestApp) -> None:
    await app.sign_up()
    client = app.new_client()
    r = await client.post(
        app.api("//sign-in/email"), json={"email": "ann@example.com", "password": "a fine passphrase"}
    )
    await client.aclose()
    assert_error(r, 404, "NOT_FOUND")
    assert "set-cookie" not in r.headers and "set-auth-token" not in r.headers


# -- over a real socket (uvicorn) ---------------------------------------------------------
def test_bad_input_over_a_real_server(live_server: LiveServer) -> None:
    """The same answers through uvicorn: no path normalisation, streamed bodies capped."""
    api = live_server.url + "/api/auth"

    def chunks() -> Any:
        for _ in range(20):
            yield b" " * 65536

    with httpx.Client(timeout=10) as client:
        assert_error(client.post(api + "//sign-in/email", json={}), 404, "NOT_FOUND")
        assert_error(client.get(api + "/sign-in/email"), 404, "NOT_FOUND")
        assert_error(client.get(api + "/ok/"), 404, "NOT_FOUND")
        r = client.post(api + "/sign-in/email", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in r.request.headers
        assert_error(r, 413, "PAYLOAD_TOO_LARGE")
        r = client.post(api + "/sign-in/email", content=b"{", headers={"content-type": "application/json"})
        assert_error(r, 400, "BAD_REQUEST")
        r = client.post(api + "/sign-in/email", content=b"{}", headers={"content-type": "text/plain"})
        assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


# -- normalisation ------------------------------------------------------------------------
async def test_emails_are_trimmed_and_lower_cased(app: TestApp) -> None:
    r = await app.post("/sign-up/email", {**SIGN_UP, "email": " Ann@Example.COM "})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] == "ann@example.com"
    assert await app.auth.store.find_user_by_email("ann@example.com") is not None
    for email in ("ann@example.com", "  ANN@EXAMPLE.com\t"):
        client = app.new_client()
        r = await client.post(app.api("/sign-in/email"), json={"email": email, "password": "a fine passphrase"})
        await client.aclose()
        assert r.status_code == 200, (email, r.text)
        assert r.json()["user"]["email"] == "ann@example.com"
    r = await app.post("/sign-up/email", {**SIGN_UP, "email": "ann@example.com"})
    assert_error(r, 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    assert await app.auth.store.count_users() == 1


# -- randomized ---------------------------------------------------------------------------
FIELD_NAMES = (
    "name",
    "email",
    "password",
    "image",
    "callbackURL",
    "rememberMe",
    "token",
    "currentPassword",
    "newPassword",
    "revokeOtherSessions",
    "newEmail",
    "redirectTo",
    "accountId",
    "errorCallbackURL",
    "newUserCallbackURL",
    "provider",
    "role",
    "emailVerified",
    "id",
)
INTERESTING = (
    "",
    " ",
    "ann@example.com",
    "fuzz0@example.com",
    "a fine passphrase",
    "/dashboard",
    "//evil.com",
    "http://testserver/x",
    "https://evil.com",
    "true",
    "false",
    "null",
    "0",
    "x" * 300,
    "\x00",
    "\ud800",
    "\udfff\ud800",
    "é",
    "\U0001f600",
    "%ff",
    "sid_x",
    "credential",
)


def random_text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(INTERESTING)
    chars = []
    for _ in range(rng.randint(0, 16)):
        roll = rng.random()
        if roll < 0.5:
            cp = rng.randint(0x20, 0x7E)
        elif roll < 0.6:
            cp = rng.randint(0x00, 0x1F)
        elif roll < 0.75:
            cp = rng.randint(0xD800, 0xDFFF)  # lone surrogates: json.dumps escapes them as \udXXX
        elif roll < 0.9:
            cp = rng.randint(0xA0, 0xFFFF)
        else:
            cp = rng.randint(0x10000, 0x10FFFF)
        chars.append(chr(cp))
    return "".join(chars)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["str", "str", "int", "float", "bool", "null"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return random_text(rng)
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**64), 10**40, rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.0, -0.0, 1.5, 1e308, -5e-324, rng.uniform(-1e6, 1e6)])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_key(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_key(rng: random.Random) -> str:
    return rng.choice(FIELD_NAMES) if rng.random() < 0.7 else random_text(rng)


def random_body(rng: random.Random) -> Any:
    if rng.random() < 0.8:
        return {random_key(rng): random_value(rng, 1) for _ in range(rng.randint(0, 6))}
    return random_value(rng)


async def asgi_post(
    asgi: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One POST straight through the ASGI app: httpx's per-request cost would dominate the
    thousands of requests below."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 123),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0
    response_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.extend(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await asgi(scope, receive, send)
    return status, response_headers, b"".join(chunks)


def envelope_problem(status: int, content: bytes) -> str | None:
    """Why an error answer breaks the ``{code, message}`` contract, or None."""
    if status >= 500:
        return "5xx"
    if status < 400:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict) or "detail" in body:
        return "not an envelope"
    if not (
        isinstance(body.get("code"), str) and body["code"] and isinstance(body.get("message"), str) and body["message"]
    ):
        return "no code or message"
    return None


async def test_random_json_bodies_never_cause_a_5xx(app: TestApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """~200 random JSON values on every POST endpoint, signed in and signed out: no 5xx, and
    every 4xx carries a code and a message."""

    async def no_sleep(_delay: float) -> None:
        return None

    # send-verification-email waits 0.5 s when signed out (anti-enumeration floor); skip the wait.
    fake_asyncio = types.SimpleNamespace(get_running_loop=asyncio.get_running_loop, sleep=no_sleep)
    monkeypatch.setattr(verify_email, "asyncio", fake_asyncio)

    rng = random.Random(1234)
    paths = [app.api(ep.path.replace("{id}", "github")) for ep in core_endpoints() if ep.method == "POST"]
    bodies = [json.dumps(random_body(rng)).encode() for _ in range(200)]
    asgi = create_server_app(app.auth)
    cookie_name = app.auth.api.cookies.session_token
    user: Any = None
    token: str | None = None

    async def new_session() -> str:
        nonlocal user
        if user is None or await app.auth.store.find_user_by_id(user.id) is None:
            email = f"fuzz{rng.randrange(10**9)}@example.com"
            user = await sign_up.create_user(app.ctx, name="Fuzz", email=email, password="a fine passphrase")
        return (await sessions.create_session(app.ctx, user, ClientInfo(ip="127.0.0.1", user_agent="fuzz"))).token

    failures: list[tuple[str, str, bytes, int, bytes, str]] = []

    def check(path: str, mode: str, body: bytes, status: int, content: bytes) -> None:
        problem = envelope_problem(status, content)
        if problem:
            failures.append((path, mode, body[:200], status, content[:200], problem))

    signed_out_headers = [(b"content-type", b"application/json"), (b"origin", ORIGIN.encode())]
    for body in bodies:
        # Signed out, requests are independent: send them together.
        answers = await asyncio.gather(*[asgi_post(asgi, path, body, signed_out_headers) for path in paths])
        for path, (status, _, content) in zip(paths, answers, strict=True):
            check(path, "signed out", body, status, content)
        # Signed in, one at a time: some requests end the session or delete the user.
        for path in paths:
            if token is None:
                token = await new_session()
            cookie = f"{cookie_name}={app.ctx.signer.sign_for_cookie(token)}".encode()
            status, response_headers, content = await asgi_post(
                asgi, path, body, [*signed_out_headers, (b"cookie", cookie)]
            )
            check(path, "signed in", body, status, content)
            renewed = any(k == b"set-cookie" and v.startswith(cookie_name.encode() + b"=") for k, v in response_headers)
            if renewed and await app.auth.store.find_session(token) is None:
                token = None
    assert not failures, f"{len(failures)} bad answers, e.g. {failures[:5]}"
