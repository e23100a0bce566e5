"""Backup codes without look-alikes: lower case, no ``0 o 1 l i``, still ``xxxxx-xxxxx``;
typed input is forgiven its case, spaces and dashes for such codes, while a stored code of
another alphabet (Better Auth's mixed-case ``[A-Za-z0-9]``) matches only as stored."""

from __future__ import annotations

import math
import re

import pytest

from authkeeper.core.crypto import symmetric
from authkeeper.plugins.two_factor import backup_codes
from authkeeper.plugins.two_factor.store import plugin_store
from tests.conftest import TestApp

from .helpers import challenged, enroll, freeze, post, user_id

pytestmark = pytest.mark.anyio

NEW_CODE = re.compile(r"[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}")


def test_new_codes_have_no_look_alikes_and_enough_entropy() -> None:
    alphabet = backup_codes.ALPHABET
    assert not set(alphabet) & set("0o1liABCDEFGHIJKLMNOPQRSTUVWXYZ") and len(set(alphabet)) == len(alphabet)
    codes = backup_codes.generate(500)
    assert all(NEW_CODE.fullmatch(c) for c in codes), [c for c in codes if not NEW_CODE.fullmatch(c)][:3]
    assert len(set(codes)) == 500
    assert set("".join(codes)) == set(alphabet) | {"-"}  # every symbol is used
    bits = 10 * math.log2(len(alphabet))
    assert bits >= 49.5, bits


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c.upper(),
        lambda c: f"  {c[:5]} {c[6:]} ",
        lambda c: c.replace("-", " - ").upper(),
        lambda c: f"{c[:2]}-{c[2:5]}{c[6:8]}-{c[8:]}",
        lambda c: c.replace("-", ""),
        lambda c: c.replace("-", "\u2013"),  # an en dash, as some fonts or notes apps turn it
    ],
)
async def test_typed_codes_are_normalised(app: TestApp, typed: object) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    code = enrolled.backup_codes[0]
    assert NEW_CODE.fullmatch(code)
    client = await challenged(app)
    r = await post(client, app, "/two-factor/verify-backup-code", {"code": typed(code)})  # type: ignore[operator]
    assert r.status_code == 200, (typed(code), r.text)  # type: ignore[operator]
    # Spent: neither the typed form nor the code as shown works again.
    again = await challenged(app)
    for attempt in (typed(code), code):  # type: ignore[operator]
        r = await post(again, app, "/two-factor/verify-backup-code", {"code": attempt})
        assert (r.status_code, r.json()["code"]) == (401, "INVALID_BACKUP_CODE")
    await client.aclose()
    await again.aclose()


async def test_stored_mixed_case_codes_match_only_as_stored(app: TestApp) -> None:
    """A set Better Auth generated (``[A-Za-z0-9]``, case significant) keeps working as it is
    and is not loosened: its upper- or lower-cased form is another code."""
    clock = freeze(app)
    await enroll(app, clock)
    uid = await user_id(app)
    store = app.auth.store
    record = await plugin_store(store).get_two_factor(uid)
    assert record is not None
    theirs = ["1llBk-tqs9w", "Ab0Oi-lL1xY", "abcde-fghij", "QWERT-YUIOP"]
    sealed = symmetric.encrypt(app.ctx.settings.secret, '["' + '","'.join(theirs) + '"]')
    assert await plugin_store(store).swap_backup_codes(uid, record.backup_codes, sealed)
    for wrong in ("1LLBK-TQS9W", "1llbk-tqs9w", "ab0oi-ll1xy", "qwert-yuiop", "ABCDE-FGHIJ", "Qwert-Yuiop"):
        assert not await backup_codes.use(app.ctx, uid, wrong, None), wrong
    client = await challenged(app)
    r = await post(client, app, "/two-factor/verify-backup-code", {"code": "1LLBK-TQS9W"})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_BACKUP_CODE")
    await client.aclose()
    # As stored; as before, without its dash or with stray spaces too.
    for right in ("1llBk-tqs9w", "Ab0OilL1xY", " QWERT-YUIOP "):
        client = await challenged(app)
        r = await post(client, app, "/two-factor/verify-backup-code", {"code": right})
        assert r.status_code == 200, (right, r.text)
        await client.aclose()
    assert await backup_codes.remaining(app.ctx, uid) == 1
    assert not await backup_codes.use(app.ctx, uid, "1llBk-tqs9w", None)


async def test_remaining(app: TestApp) -> None:
    clock = freeze(app)
    assert await backup_codes.remaining(app.ctx, "nobody") is None
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    assert await backup_codes.remaining(app.ctx, uid) == 10
    assert await backup_codes.use(app.ctx, uid, enrolled.backup_codes[5].upper(), None)
    assert await backup_codes.remaining(app.ctx, uid) == 9
