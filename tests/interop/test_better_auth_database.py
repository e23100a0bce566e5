"""A PostgreSQL database written by the real Better Auth (tests/js/interop/seed-better-auth.mjs),
served by authkeeper.

Each database is seeded by Better Auth 1.7.25 (its own migrations, email and password, the
two-factor and admin plugins), then ``authkeeper serve`` starts on it with the same secret.
The tests check what authkeeper changed in the schema and the rows, and that every user,
session, TOTP secret and backup code Better Auth wrote works on authkeeper; a second
database with ``password.rehash_legacy = false`` checks that Better Auth can still serve the
users afterwards (hashes, sessions, timestamps written by authkeeper through asyncpg); a
third has its date columns turned into ``timestamp without time zone`` holding UTC, as
schemas generated for Prisma or Drizzle have them.

The databases' time zones are not UTC (Asia/Kolkata, +05:30; America/New_York for the third)
and both processes run with TZ=America/Los_Angeles, so a timestamp written or read as local
time shows up as an offset.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type stubs
import httpx
import pytest

from authkeeper.core.crypto import totp
from authkeeper.core.crypto.passwords import is_scrypt_hash
from tests.conftest import (
    ROOT,
    LiveServer,
    create_pg_database,
    drop_pg_database,
    need,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.anyio, pytest.mark.node, pytest.mark.postgres]

SEED = ROOT / "tests/js/interop/seed-better-auth.mjs"
COOKIE = "better-auth.session_token"
TWO_FACTOR_COOKIE = "better-auth.two_factor"
BETTER_AUTH_TABLES = ("user", "session", "account", "verification", "twoFactor")
DB_TIME_ZONE = "Asia/Kolkata"
PROCESS_TZ = "America/Los_Angeles"
NAIVE_DB_TIME_ZONE = "America/New_York"

# What authkeeper's migration adds to a complete Better Auth 1.7.25 database (with the
# two-factor and admin plugins): its own tables, and two nullable columns (the last TOTP step
# used; emailed codes enrolled beside an app, NULL meaning Better Auth's rows). Anything else
# added, or anything of Better Auth's changed, fails ``test_migration_adds_only_what_is_missing``.
EXPECTED_NEW_TABLES = {"lockout", "auditEvent", "authkeeper_version"}
EXPECTED_NEW_COLUMNS = {("twoFactor", "lastTotpCounter"), ("twoFactor", "otpEnabled")}

T = TypeVar("T")


# -- helpers ------------------------------------------------------------------------------
def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from a synchronous fixture (in a thread: a loop may be running)."""
    out: list[Any] = []

    def target() -> None:
        try:
            out.append((True, asyncio.run(fn())))  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001
            out.append((False, exc))

    t = threading.Thread(target=target)
    t.start()
    t.join()
    ok, value = out[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def node_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NODE_OPTIONS", "FORCE_COLOR")}
    return {**env, "TZ": PROCESS_TZ, "NO_COLOR": "1"}


def run_better_auth(mode: str, url: str, secret: str, checks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the Better Auth script (``seed`` or ``verify``) and return its JSON answer."""
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(SEED), mode, url, secret],
        input=json.dumps(checks or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=SEED.parent,
        env=node_env(),
    )
    if proc.returncode != 0:
        pytest.fail(
            f"seed-better-auth.mjs {mode} failed (exit {proc.returncode}):\n{proc.stderr[-5000:]}", pytrace=False
        )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


async def schema_snapshot(url: str) -> dict[str, Any]:
    """Columns (type, nullability, default), indexes, foreign keys and every row of the
    Better Auth tables."""
    conn = await asyncpg.connect(url)
    try:
        columns = {
            (r["table_name"], r["column_name"]): (r["data_type"], r["is_nullable"], r["column_default"])
            for r in await conn.fetch(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public'"
            )
        }
        tables = {
            r["table_name"]
            for r in await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        }
        indexes = {
            (r["tablename"], r["indexname"]): r["indexdef"]
            for r in await conn.fetch(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            )
        }
        foreign_keys = {
            r["conname"]: r["def"]
            for r in await conn.fetch(
                "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
            )
        }
        rows: dict[str, dict[str, dict[str, Any]]] = {}
        for table in BETTER_AUTH_TABLES:
            if table in tables:
                rows[table] = {r["id"]: dict(r) for r in await conn.fetch(f'SELECT * FROM "{table}"')}
        return {"tables": tables, "columns": columns, "indexes": indexes, "foreign_keys": foreign_keys, "rows": rows}
    finally:
        await conn.close()


async def fetch_one(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


async def stored_password(url: str, user_id: str) -> str:
    row = await fetch_one(
        url, 'SELECT password FROM account WHERE "userId" = $1 AND "providerId" = $2', user_id, "credential"
    )
    assert row is not None, f"no credential account for {user_id}"
    return str(row["password"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def same_instant(a: datetime, b: datetime) -> bool:
    """Equal to the millisecond (JSON dates from JavaScript carry milliseconds only)."""
    return abs(a - b) < timedelta(milliseconds=1)


def response_cookies(resp: httpx.Response) -> dict[str, str]:
    """name → value of every Set-Cookie in the response (an empty value deletes)."""
    out: dict[str, str] = {}
    for line in resp.headers.get_list("set-cookie"):
        name, _, rest = line.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


@dataclass
class Seeded:
    url: str
    secret: str
    seed: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    server: LiveServer
    tmp: Path

    def user(self, key: str) -> dict[str, Any]:
        return self.seed["users"][key]  # type: ignore[no-any-return]

    def api(self, path: str) -> str:
        return f"{self.server.url}/api/auth{path}"

    async def post(self, path: str, body: Any, cookies: dict[str, str] | None = None) -> httpx.Response:
        headers = {"origin": self.server.url}
        if cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(self.api(path), json=body, headers=headers)

    async def get(self, path: str, cookies: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.get(self.api(path), headers=headers, params=params)

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        return await self.post("/sign-in/email", {"email": email, "password": password})


def seed_and_serve(
    tmp: Path,
    env_extra: dict[str, str] | None = None,
    prepare: Callable[[str], Awaitable[None]] | None = None,
) -> Iterator[Seeded]:
    """Seed a new database with Better Auth, run ``prepare(url)`` on it, serve it with authkeeper."""
    if shutil.which("node") is None:
        need("node is not installed (needed to write a database with Better Auth)")
    if not (ROOT / "tests/js/node_modules/better-auth").is_dir() or not (ROOT / "tests/js/node_modules/pg").is_dir():
        need("tests/js/node_modules lacks better-auth or pg: run `npm ci` in tests/js")
    url = create_pg_database()
    server: LiveServer | None = None
    try:
        db = url.rsplit("/", 1)[1]
        run_async(lambda: _admin(url, f"ALTER DATABASE \"{db}\" SET timezone TO '{DB_TIME_ZONE}'"))
        # Better Auth's secret, chosen here: authkeeper must be given the same one.
        secret = "interop-" + os.urandom(24).hex()
        seed = run_better_auth("seed", url, secret)
        if prepare is not None:
            run_async(lambda: prepare(url))
        before = run_async(lambda: schema_snapshot(url))
        server = start_server(
            tmp,
            env_extra={
                "DATABASE_URL": url,
                "AUTHKEEPER_SECRET": secret,
                "AUTHKEEPER_RATE_LIMIT": json.dumps({"enabled": False}),
                "TZ": PROCESS_TZ,
                **(env_extra or {}),
            },
        )
        after = run_async(lambda: schema_snapshot(url))
        yield Seeded(url, secret, seed, before, after, server, tmp)
    finally:
        if server is not None:
            stop_server(server)
        drop_pg_database(url)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A Better Auth database served by authkeeper with default settings (rehash on)."""
    yield from seed_and_serve(tmp_path_factory.mktemp("interop"))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """Another one, served with ``rehash_legacy = false`` (Better Auth still uses it)."""
    yield from seed_and_serve(
        tmp_path_factory.mktemp("interop-shared"),
        {"AUTHKEEPER_PASSWORD": json.dumps({"rehash_legacy": False})},
    )


async def _naive_timestamps(url: str) -> None:
    """Make every Better Auth date column ``timestamp without time zone`` holding UTC wall
    time, as schemas generated for Prisma (``DateTime``) or Drizzle (``timestamp()``) have
    them, and give the database a time zone behind UTC."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type = 'timestamp with time zone' AND table_name = ANY($1::text[])",
            list(BETTER_AUTH_TABLES),
        )
        for r in rows:
            t, c = r["table_name"], r["column_name"]
            await conn.execute(f'ALTER TABLE "{t}" ALTER COLUMN "{c}" TYPE timestamp USING "{c}" AT TIME ZONE \'UTC\'')
        db = url.rsplit("/", 1)[1]
        await conn.execute(f"ALTER DATABASE \"{db}\" SET timezone TO '{NAIVE_DB_TIME_ZONE}'")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def naive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A Better Auth database whose dates are ``timestamp`` (no time zone) in UTC."""
    yield from seed_and_serve(tmp_path_factory.mktemp("interop-naive"), prepare=_naive_timestamps)


# -- schema -------------------------------------------------------------------------------
async def test_migration_adds_only_what_is_missing(seeded: Seeded) -> None:
    before, after = seeded.before, seeded.after
    # Better Auth's own tables and columns are all there, each with the same type,
    # nullability and default; its indexes and foreign keys too.
    assert set(BETTER_AUTH_TABLES) <= before["tables"]
    changed = {
        key: (spec, after["columns"].get(key))
        for key, spec in before["columns"].items()
        if after["columns"].get(key) != spec
    }
    assert not changed, f"Better Auth columns changed by the migration: {changed}"
    assert {k: v for k, v in before["indexes"].items() if after["indexes"].get(k) != v} == {}
    assert {k: v for k, v in before["foreign_keys"].items() if after["foreign_keys"].get(k) != v} == {}

    new_tables = after["tables"] - before["tables"]
    new_columns = {key for key in after["columns"] if key[0] in before["tables"] and key not in before["columns"]}
    report = {"tables": sorted(new_tables), "columns": sorted(f"{t}.{c}" for t, c in new_columns)}
    print(f"authkeeper added to the Better Auth database: {report}")
    assert new_tables == EXPECTED_NEW_TABLES, report
    assert new_columns == EXPECTED_NEW_COLUMNS, report
    # Added columns must be nullable: Better Auth inserts rows without them.
    assert all(after["columns"][key][1] == "YES" for key in new_columns)

    # No row lost or changed by the migration (in Better Auth's columns; new ones are NULL).
    for table, rows in before["rows"].items():
        kept = {id_: {k: row[k] for k in rows[id_]} for id_, row in after["rows"][table].items() if id_ in rows}
        assert kept == rows, table
        assert set(after["rows"][table]) == set(rows), table
    assert all(
        row["lastTotpCounter"] is None and row["otpEnabled"] is None for row in after["rows"]["twoFactor"].values()
    )
    assert len(before["rows"]["user"]) == 4
    assert len(before["rows"]["account"]) == 4
    assert before["rows"]["twoFactor"]

    # Better Auth, run again on the migrated database, finds nothing to add.
    answer = run_better_auth("verify", seeded.url, seeded.secret, {"pendingMigrations": True})
    assert answer["pendingMigrations"] == {"tables": [], "columns": []}


async def test_timestamp_columns_are_what_better_auth_made(seeded: Seeded) -> None:
    # Better Auth 1.7.25's PostgreSQL "date" is timestamptz; authkeeper keeps it that way.
    for table in BETTER_AUTH_TABLES:
        for column in ("createdAt", "updatedAt", "expiresAt", "banExpires", "lockedUntil"):
            spec = seeded.after["columns"].get((table, column))
            if spec is not None:
                assert spec[0] == "timestamp with time zone", (table, column, spec)


# -- passwords ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["ascii", "unicode", "admin"])
async def test_better_auth_password_signs_in_and_is_rehashed(seeded: Seeded, key: str) -> None:
    user = seeded.user(key)
    assert is_scrypt_hash(await stored_password(seeded.url, user["id"]))

    r = await seeded.sign_in(user["email"], user["password"])
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == user["id"]
    assert response_cookies(r).get(COOKIE)
    rehashed = await stored_password(seeded.url, user["id"])
    assert rehashed.startswith("$argon2id$"), rehashed

    again = await seeded.sign_in(user["email"], user["password"])
    assert again.status_code == 200, again.text
    assert await stored_password(seeded.url, user["id"]) == rehashed  # no second rehash

    wrong = await seeded.sign_in(user["email"], user["password"] + "x")
    assert wrong.status_code == 401, wrong.text


async def test_unicode_password_in_another_normal_form(seeded: Seeded) -> None:
    """Better Auth hashed NFKC(password): the same password typed in another Unicode form
    (compatibility characters replaced, accents decomposed) is the same password."""
    user = seeded.user("unicode")
    typed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", user["password"]))
    assert typed != user["password"]
    r = await seeded.sign_in(user["email"], typed)
    assert r.status_code == 200, r.text
    assert (await stored_password(seeded.url, user["id"])).startswith("$argon2id$")


async def test_rehash_off_keeps_better_auth_hash_and_better_auth_still_signs_in(shared: Seeded) -> None:
    user = shared.user("unicode")
    original = await stored_password(shared.url, user["id"])
    typed = unicodedata.normalize("NFKC", user["password"])  # the scrypt path normalises too
    for password in (user["password"], typed):
        r = await shared.sign_in(user["email"], password)
        assert r.status_code == 200, r.text
    assert await stored_password(shared.url, user["id"]) == original

    answer = run_better_auth(
        "verify",
        shared.url,
        shared.secret,
        {
            "signIn": [
                {"email": user["email"], "password": user["password"]},
                {"email": user["email"], "password": "not the password"},
            ],
        },
    )
    ok, bad = answer["signIn"]
    assert ok["status"] == 200, ok
    assert ok["body"]["user"]["id"] == user["id"]
    assert bad["status"] == 401, bad


# -- sessions -----------------------------------------------------------------------------
async def test_better_auth_session_cookie_is_accepted(seeded: Seeded) -> None:
    user = seeded.user("ascii")
    cookie = user["sessionCookie"]
    r = await seeded.get("/get-session", {COOKIE: cookie})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body is not None, "authkeeper did not accept Better Auth's session cookie"
    assert body["user"]["id"] == user["id"]
    assert body["user"]["email"] == user["email"]
    assert body["session"]["token"] == cookie.split(".", 1)[0]
    expires = instant(body["session"]["expiresAt"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7, minutes=5)

    # The same token with a signature made with another secret is nobody's session.
    token = cookie.split(".", 1)[0]
    forged = quote(f"{token}.{'A' * 43}=", safe="-_.!~*'()")
    assert (await seeded.get("/get-session", {COOKIE: forged})).json() is None


async def test_two_factor_user_session_from_better_auth(seeded: Seeded) -> None:
    user = seeded.user("totp")
    r = await seeded.get("/get-session", {COOKIE: user["sessionCookie"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body is not None
    assert body["user"]["twoFactorEnabled"] is True


# -- two-factor ---------------------------------------------------------------------------
async def test_totp_and_backup_code_from_better_auth(seeded: Seeded) -> None:
    user = seeded.user("totp")
    secret_b32 = user["totpSecret"]
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))

    # Sign-in stops at the second factor.
    r = await seeded.sign_in(user["email"], user["password"])
    assert r.status_code == 200, r.text
    assert r.json()["twoFactorRedirect"] is True
    # A verified app and no record of emailed codes (Better Auth keeps none): the app only;
    # Better Auth would offer its users emailed codes too.
    assert r.json()["twoFactorMethods"] == ["totp"]
    cookies = response_cookies(r)
    assert cookies.get(TWO_FACTOR_COOKIE), cookies
    assert not cookies.get(COOKIE)

    # A code computed from the secret Better Auth showed the user, checked against the
    # secret Better Auth encrypted in the database.
    now = datetime.now(UTC)
    code = totp.totp(key, now)
    near = {totp.totp(key, now + timedelta(seconds=30 * d)) for d in (-2, -1, 0, 1, 2)}
    wrong = next(c for c in (f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 10)) if c not in near)
    bad = await seeded.post("/two-factor/verify-totp", {"code": wrong}, {TWO_FACTOR_COOKIE: cookies[TWO_FACTOR_COOKIE]})
    assert bad.status_code == 401, bad.text
    ok = await seeded.post("/two-factor/verify-totp", {"code": code}, {TWO_FACTOR_COOKIE: cookies[TWO_FACTOR_COOKIE]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["id"] == user["id"]
    session_cookie = response_cookies(ok)[COOKIE]
    session = (await seeded.get("/get-session", {COOKIE: session_cookie})).json()
    assert session is not None and session["user"]["id"] == user["id"]

    # A backup code Better Auth generated, on a second sign-in; it works once.
    backup = user["backupCodes"][3]
    r2 = await seeded.sign_in(user["email"], user["password"])
    challenge = response_cookies(r2)[TWO_FACTOR_COOKIE]
    used = await seeded.post("/two-factor/verify-backup-code", {"code": backup}, {TWO_FACTOR_COOKIE: challenge})
    assert used.status_code == 200, used.text
    assert response_cookies(used).get(COOKIE)
    r3 = await seeded.sign_in(user["email"], user["password"])
    challenge3 = response_cookies(r3)[TWO_FACTOR_COOKIE]
    again = await seeded.post("/two-factor/verify-backup-code", {"code": backup}, {TWO_FACTOR_COOKIE: challenge3})
    assert again.status_code == 401, again.text

    # authkeeper re-encrypted the remaining codes; Better Auth still reads them.
    answer = run_better_auth("verify", seeded.url, seeded.secret, {"backupCodes": [user["id"]]})
    remaining = answer["backupCodes"][user["id"]]
    assert remaining == [c for c in user["backupCodes"] if c != backup]


# -- admin --------------------------------------------------------------------------------
async def test_admin_role_from_better_auth(seeded: Seeded) -> None:
    admin = seeded.user("admin")
    assert admin["role"] == "admin"
    r = await seeded.sign_in(admin["email"], admin["password"])
    assert r.status_code == 200, r.text
    admin_cookie = response_cookies(r)[COOKIE]
    listed = await seeded.get("/admin/list-users", {COOKIE: admin_cookie})
    assert listed.status_code == 200, listed.text
    users = {u["email"]: u for u in listed.json()["users"]}
    assert set(users) == {seeded.user(k)["email"] for k in ("ascii", "unicode", "admin", "totp")}
    assert users[admin["email"]]["role"] == "admin"
    assert users[seeded.user("totp")["email"]]["twoFactorEnabled"] is True

    # A plain Better Auth user (role "user") is refused.
    plain = seeded.user("ascii")
    denied = await seeded.get("/admin/list-users", {COOKIE: plain["sessionCookie"]})
    assert denied.status_code == 403, denied.text


# -- writes by authkeeper, read back by PostgreSQL and by Better Auth ----------------------
async def test_authkeeper_writes_round_trip_to_better_auth(shared: Seeded) -> None:
    user = shared.user("ascii")
    started = datetime.now(UTC)
    r = await shared.sign_in(user["email"], user["password"])
    assert r.status_code == 200, r.text
    cookie = response_cookies(r)[COOKIE]
    token = r.json()["token"]

    # The session row authkeeper wrote: right instants, whatever the time zones.
    row = await fetch_one(shared.url, "SELECT * FROM session WHERE token = $1", token)
    assert row is not None
    assert abs(row["createdAt"] - started) < timedelta(minutes=1)
    assert abs(row["updatedAt"] - started) < timedelta(minutes=1)
    assert abs(row["expiresAt"] - (started + timedelta(days=7))) < timedelta(minutes=1)

    # A change to the user (updatedAt written by authkeeper).
    renamed = await shared.post("/update-user", {"name": "Renamed By Authkeeper"}, {COOKIE: cookie})
    assert renamed.status_code == 200, renamed.text
    user_row = await fetch_one(
        shared.url, 'SELECT name, "createdAt", "updatedAt" FROM "user" WHERE id = $1', user["id"]
    )
    assert user_row["name"] == "Renamed By Authkeeper"
    assert user_row["updatedAt"] >= user_row["createdAt"]
    assert abs(user_row["updatedAt"] - datetime.now(UTC)) < timedelta(minutes=1)

    # authkeeper reads what it wrote.
    mine = (await shared.get("/get-session", {COOKIE: cookie})).json()
    assert mine["user"]["name"] == "Renamed By Authkeeper"
    assert same_instant(instant(mine["session"]["expiresAt"]), row["expiresAt"])

    # Better Auth reads the session authkeeper created (its cookie too), its own older
    # session, and signs the user in with the password hash authkeeper left alone.
    answer = run_better_auth(
        "verify",
        shared.url,
        shared.secret,
        {
            "sessions": [cookie, user["sessionCookie"]],
            "signIn": [{"email": user["email"], "password": user["password"]}],
        },
    )
    theirs, original = answer["sessions"]
    assert theirs is not None, "Better Auth did not accept authkeeper's session"
    assert theirs["session"]["token"] == token
    assert theirs["user"]["name"] == "Renamed By Authkeeper"
    assert same_instant(instant(theirs["session"]["expiresAt"]), row["expiresAt"])
    assert same_instant(instant(theirs["user"]["updatedAt"]), user_row["updatedAt"])
    assert original is not None and original["user"]["id"] == user["id"]
    assert answer["signIn"][0]["status"] == 200, answer["signIn"][0]
    assert is_scrypt_hash(await stored_password(shared.url, user["id"]))


# -- timestamp columns without a time zone (Prisma / Drizzle schemas) ----------------------
async def test_naive_timestamp_columns_hold_utc(naive: Seeded) -> None:
    """Such columns hold UTC wall time (what Prisma and Drizzle write). authkeeper writes and
    reads UTC there whatever the database's TimeZone setting is."""
    assert naive.after["columns"][("session", "expiresAt")][0] == "timestamp without time zone"
    user = naive.user("ascii")
    started = datetime.now(UTC).replace(tzinfo=None)

    # Better Auth's session (converted to UTC wall time) is still valid, with its instant.
    old = await naive.get("/get-session", {COOKIE: user["sessionCookie"]})
    assert old.status_code == 200 and old.json() is not None, old.text
    row = await fetch_one(
        naive.url, 'SELECT "expiresAt" FROM session WHERE token = $1', user["sessionCookie"].split(".", 1)[0]
    )
    assert same_instant(instant(old.json()["session"]["expiresAt"]), row["expiresAt"].replace(tzinfo=UTC))

    # A session authkeeper creates is stored as UTC wall time.
    r = await naive.sign_in(user["email"], user["password"])
    assert r.status_code == 200, r.text
    new = await fetch_one(naive.url, 'SELECT "createdAt", "expiresAt" FROM session WHERE token = $1', r.json()["token"])
    assert abs(new["createdAt"] - started) < timedelta(minutes=1), (new["createdAt"], started)
    assert abs(new["expiresAt"] - (started + timedelta(days=7))) < timedelta(minutes=1)


async def test_naive_timestamps_keep_short_lived_rows_alive(naive: Seeded) -> None:
    """A two-factor challenge lives ten minutes: written as local wall time behind UTC, it
    would read back as already expired."""
    user = naive.user("totp")
    key = base64.b32decode(user["totpSecret"] + "=" * (-len(user["totpSecret"]) % 8))
    r = await naive.sign_in(user["email"], user["password"])
    assert r.status_code == 200 and r.json().get("twoFactorRedirect") is True, r.text
    challenge = response_cookies(r)[TWO_FACTOR_COOKIE]
    ok = await naive.post(
        "/two-factor/verify-totp", {"code": totp.totp(key, datetime.now(UTC))}, {TWO_FACTOR_COOKIE: challenge}
    )
    assert ok.status_code == 200, ok.text
