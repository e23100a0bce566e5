"""Additional user fields (Better Auth's ``additionalFields``) over HTTP, down to the columns
the migrations add (spec §1.2, §3.2, §7.2, §7.9)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type stubs
import pytest

from authkeeper.core.settings import AdditionalField, UserSettings
from tests.conftest import TestApp
from tests.flows._helpers import PASSWORD, Browser, error_of

pytestmark = pytest.mark.anyio

FIELDS = UserSettings(
    additional_fields=(
        AdditionalField(name="phone"),
        AdditionalField(name="timezone", required=True),
        AdditionalField(name="preferredCurrency", default="EUR"),
        AdditionalField(name="age", type="number"),
        AdditionalField(name="newsletter", type="boolean", default=False),
        AdditionalField(name="loyaltyTier", input=False, default="bronze"),
        AdditionalField(name="internalNote", returned=False),
    )
)
NAMES = {f.name for f in FIELDS.additional_fields}
BASE = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"}


async def fields_app(make_app: Callable[..., Any], **overrides: Any) -> TestApp:
    app: TestApp = await make_app(user=FIELDS, **overrides)
    return app


async def sign_up(b: Browser, **fields: Any) -> Any:
    return await b.post("/sign-up/email", {**BASE, **fields})


async def stored_user(db_url: str, email: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The user table's columns (name → type) and the row for ``email``, read straight from
    the database, not through authkeeper."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.split("sqlite:///", 1)[1])
        conn.row_factory = sqlite3.Row
        try:
            columns = {row["name"]: row["type"] for row in conn.execute('PRAGMA table_info("user")')}
            found = conn.execute('SELECT * FROM "user" WHERE email = ?', (email,)).fetchone()
            return columns, dict(found) if found else {}
        finally:
            conn.close()
    pg = await asyncpg.connect(db_url, timeout=5)
    try:
        rows = await pg.fetch("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'user'")
        found = await pg.fetchrow('SELECT * FROM "user" WHERE email = $1', email)
        return {r["column_name"]: r["data_type"] for r in rows}, dict(found) if found else {}
    finally:
        await pg.close()


# -- sign-up ------------------------------------------------------------------------------
async def test_fields_are_accepted_on_sign_up_and_returned_everywhere(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await fields_app(make_app)
    ann = browser(app)
    r = await sign_up(
        ann, phone="+33 6 12 34 56 78", timezone="Europe/Paris", age=34, newsletter=True, internalNote="vip"
    )
    assert r.status_code == 200, r.text
    expected = {
        "phone": "+33 6 12 34 56 78",
        "timezone": "Europe/Paris",
        "preferredCurrency": "EUR",
        "age": 34,
        "newsletter": True,
        "loyaltyTier": "bronze",
    }
    signed_up = r.json()["user"]
    session = await ann.session()
    assert session is not None
    signed_in = (await browser(app).sign_in()).json()["user"]
    for user in (signed_up, session["user"], signed_in):
        assert {k: user[k] for k in expected} == expected, user
        assert "internalNote" not in user  # returned=False
    stored = await app.auth.store.find_user_by_email("ann@example.com")
    assert stored is not None and stored.extra["internalNote"] == "vip"


async def test_defaults_and_optional_fields(make_app: Callable[..., Any], browser: Callable[..., Browser]) -> None:
    app = await fields_app(make_app)
    r = await sign_up(browser(app), timezone="UTC")
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["preferredCurrency"] == "EUR" and user["newsletter"] is False and user["loyaltyTier"] == "bronze"
    assert user["phone"] is None and user["age"] is None
    r = await sign_up(browser(app), email="bob@example.com", timezone="UTC", preferredCurrency="USD")
    assert r.json()["user"]["preferredCurrency"] == "USD"


async def test_a_required_field_must_be_given(make_app: Callable[..., Any], browser: Callable[..., Browser]) -> None:
    app = await fields_app(make_app)
    b = browser(app)
    body = error_of(await sign_up(b, phone="123"), 400, "MISSING_FIELD")
    assert body["message"] == "timezone is required"
    body = error_of(await sign_up(b, timezone=None), 400, "VALIDATION_ERROR")
    assert "[body.timezone]" in body["message"]
    assert await app.auth.store.count_users() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", 33612345678),
        ("timezone", ["UTC"]),
        ("age", "thirty-four"),
        ("age", True),
        ("newsletter", "yes"),
        ("newsletter", 1),
        ("preferredCurrency", {"code": "EUR"}),
        ("phone", "9" * 256),
    ],
)
async def test_values_are_validated_by_type(
    make_app: Callable[..., Any], browser: Callable[..., Browser], field: str, value: Any
) -> None:
    app = await fields_app(make_app)
    body = error_of(await sign_up(browser(app), **{"timezone": "UTC", field: value}), 400, "VALIDATION_ERROR")
    assert f"[body.{field}]" in body["message"]
    assert await app.auth.store.count_users() == 0


async def test_an_input_false_field_is_field_not_allowed(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await fields_app(make_app)
    ann = browser(app)
    body = error_of(await sign_up(ann, timezone="UTC", loyaltyTier="platinum"), 400, "FIELD_NOT_ALLOWED")
    assert body["message"] == "loyaltyTier is not allowed to be set"
    assert await app.auth.store.count_users() == 0
    assert (await sign_up(ann, timezone="UTC")).status_code == 200
    error_of(await ann.post("/update-user", {"loyaltyTier": "platinum"}), 400, "FIELD_NOT_ALLOWED")
    error_of(await ann.post("/update-user", {"phone": "1", "loyaltyTier": "gold"}), 400, "FIELD_NOT_ALLOWED")
    user = (await ann.session() or {})["user"]
    assert user["loyaltyTier"] == "bronze" and user["phone"] is None


# -- update-user --------------------------------------------------------------------------
async def test_fields_are_updated_and_validated_on_update_user(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await fields_app(make_app)
    ann = browser(app)
    assert (await sign_up(ann, timezone="UTC")).status_code == 200
    r = await ann.post(
        "/update-user",
        {
            "phone": "+1 555 0100",
            "timezone": "America/New_York",
            "preferredCurrency": "USD",
            "age": 41.5,
            "newsletter": True,
        },
    )
    assert r.status_code == 200 and r.json() == {"status": True}
    user = (await ann.session() or {})["user"]
    assert (user["phone"], user["timezone"], user["preferredCurrency"], user["age"], user["newsletter"]) == (
        "+1 555 0100",
        "America/New_York",
        "USD",
        41.5,
        True,
    )
    for bad in ({"age": "old"}, {"phone": 1}, {"newsletter": "no"}, {"timezone": None}):
        error_of(await ann.post("/update-user", bad), 400, "VALIDATION_ERROR")
    r = await ann.post("/update-user", {"phone": None})
    assert r.status_code == 200, r.text
    r = await ann.post("/update-user", {"notAField": "x"})
    assert r.status_code == 400 and r.json()["message"] == "No fields to update"
    user = (await ann.session() or {})["user"]
    assert user["phone"] is None and user["age"] == 41.5 and user["timezone"] == "America/New_York"
    assert "notAField" not in user


# -- the database -------------------------------------------------------------------------
async def test_the_columns_exist_and_hold_the_values(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await fields_app(make_app, db_url=db_url)
    r = await sign_up(browser(app), phone="+44 20 7946 0000", timezone="Europe/London", age=27, internalNote="note")
    assert r.status_code == 200, r.text
    columns, row = await stored_user(db_url, "ann@example.com")
    assert NAMES <= set(columns), columns
    assert row["phone"] == "+44 20 7946 0000" and row["timezone"] == "Europe/London"
    assert row["preferredCurrency"] == "EUR" and row["loyaltyTier"] == "bronze" and row["internalNote"] == "note"
    assert float(row["age"]) == 27 and row["newsletter"] in (False, 0)


async def test_adding_fields_to_an_existing_database_adds_the_columns(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    before = await make_app(db_url=db_url)
    await browser(before).sign_up()
    columns, _ = await stored_user(db_url, "ann@example.com")
    assert not NAMES & set(columns)
    after = await fields_app(make_app, db_url=db_url)  # migrates the same database
    columns, row = await stored_user(db_url, "ann@example.com")
    assert NAMES <= set(columns), columns
    assert row["email"] == "ann@example.com"
    ann = browser(after)
    await ann.sign_in()
    r = await ann.post("/update-user", {"timezone": "Asia/Tokyo"})
    assert r.status_code == 200, r.text
    assert (await ann.session() or {})["user"]["timezone"] == "Asia/Tokyo"
    _, row = await stored_user(db_url, "ann@example.com")
    assert row["timezone"] == "Asia/Tokyo"
