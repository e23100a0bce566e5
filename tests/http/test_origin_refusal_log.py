"""An origin refusal is logged (logger ``authkeeper.http``) with both origins, once per pair,
and only so many pairs are remembered (issue 10, item 2)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from authkeeper.web.security import OriginRefusals
from tests.conftest import ORIGIN

pytestmark = pytest.mark.anyio


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "authkeeper.http" and r.levelno == logging.WARNING]


async def test_an_origin_refusal_is_logged_once_per_pair(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="authkeeper.http")
    body = {"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"}
    for _ in range(3):
        r = await app.post("/sign-up/email", body, headers={"origin": "http://127.0.0.1:9000"})
        assert r.status_code == 403 and r.json()["code"] == "INVALID_ORIGIN"
    logged = _refusals(caplog)
    assert len(logged) == 1, logged
    assert "http://127.0.0.1:9000" in logged[0] and ORIGIN in logged[0]
    # The pages' forms share the check, and a new pair is logged.
    r = await app.client.post("/sign-in", data={"email": "a@example.com"}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    logged = _refusals(caplog)
    assert len(logged) == 2 and "http://evil.example" in logged[1], logged


def test_the_remembered_pairs_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="authkeeper.http")
    seen = OriginRefusals(max_pairs=3)
    for i in range(10):
        seen.note(f"http://site{i}.example", ORIGIN)
        seen.note(f"http://site{i}.example", ORIGIN)
    logged = _refusals(caplog)
    assert len(logged) == 4, logged
    assert all(ORIGIN in x for x in logged[:3])
    assert "more" in logged[3]
    assert len(seen) == 3
    assert OriginRefusals().max_pairs == 1000
