"""Dates out of range (Hardening II, item 7): the shared ISO 8601 parser refuses a date that
cannot be represented in UTC, so an additional user field of type date answers 400
``VALIDATION_ERROR`` on sign-up and update-user instead of a 500, and extreme but valid dates
(year 1 and year 9999 UTC) are stored and read back on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from authkeeper.core.models import parse_iso
from authkeeper.core.settings import AdditionalField, UserSettings
from tests.conftest import TestApp
from tests.flows._helpers import PASSWORD, Browser, error_of

pytestmark = pytest.mark.anyio

FIELDS = UserSettings(additional_fields=(AdditionalField(name="birthday", type="date"),))
BASE = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"}
OUT_OF_RANGE = [
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59.999999-00:00:01",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00+00:01",
    "+275760-09-13T00:00:00.000Z",
    "10000-01-01T00:00:00Z",
    "0000-01-01",
]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_parse_iso_refuses_a_date_utc_cannot_hold(value: str) -> None:
    assert parse_iso(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("9999-12-31T23:59:59+23:59", datetime(9999, 12, 31, 0, 0, 59, tzinfo=UTC)),
        ("0001-01-01T00:00:00-23:59", datetime(1, 1, 1, 23, 59, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("2024-02-29T12:00:00+01:00", datetime(2024, 2, 29, 11, tzinfo=UTC)),
        ("2024-02-29", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_parse_iso_gives_the_instant_in_utc(value: str, expected: datetime) -> None:
    parsed = parse_iso(value)
    assert parsed == expected and parsed is not None and parsed.utcoffset() is not None
    assert not parsed.utcoffset()


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_an_out_of_range_date_field_is_400_on_sign_up_and_update_user(
    make_app: Callable[..., Any], browser: Callable[..., Browser], value: str
) -> None:
    app: TestApp = await make_app(user=FIELDS)
    ann = browser(app)
    body = error_of(await ann.post("/sign-up/email", {**BASE, "birthday": value}), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("[body.birthday]"), body
    assert await app.auth.store.count_users() == 0
    assert (await ann.post("/sign-up/email", {**BASE, "birthday": "2000-01-01T00:00:00Z"})).status_code == 200
    body = error_of(await ann.post("/update-user", {"birthday": value}), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("[body.birthday]"), body
    assert (await ann.session() or {})["user"]["birthday"] == "2000-01-01T00:00:00.000Z"


async def test_extreme_valid_date_fields_are_stored_and_read_back(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app: TestApp = await make_app(user=FIELDS, db_url=db_url)
    ann = browser(app)
    r = await ann.post("/sign-up/email", {**BASE, "birthday": "9999-12-31T23:59:59.999Z"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["birthday"] == "9999-12-31T23:59:59.999Z"
    assert (await ann.session() or {})["user"]["birthday"] == "9999-12-31T23:59:59.999Z"
    for value, shown in (
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59+23:59", "9999-12-31T00:00:59.000Z"),
    ):
        r = await ann.post("/update-user", {"birthday": value})
        assert r.status_code == 200, r.text
        assert (await ann.session() or {})["user"]["birthday"] == shown
