"""Backup codes in Better Auth's format: ``xxxxx-xxxxx`` codes kept as an encrypted JSON array.

New codes are drawn from :data:`ALPHABET` (lower case, no look-alikes ``0 o 1 l i``), and a
typed code is forgiven its case, spaces and dashes when compared with such codes. A stored
code of any other alphabet (Better Auth's mixed-case ``[A-Za-z0-9]``) matches only as stored
(with stray spaces or without its dash, as before): its case is part of the code.

A code is used by a compare-and-swap on the stored ciphertext, so of several concurrent
requests presenting the same code exactly one succeeds.
"""

from __future__ import annotations

import hmac
import json
import logging

from ...core import audit, errors
from ...core.context import AuthContext
from ...core.crypto import symmetric
from ...core.crypto.random import generate_id
from ...core.models import ClientInfo
from . import errors as tf_errors
from .constants import BACKUP_CODE_LENGTH
from .events import TwoFactorEvent
from .settings import TwoFactorSettings
from .store import plugin_store

log = logging.getLogger("authkeeper")

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
"""31 symbols: 10 of them carry 10 × log2(31) ≈ 49.5 bits, for a code that is guessed only
online, under the challenge's attempt limit and the rate limit."""
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"


def generate(count: int) -> list[str]:
    """``count`` fresh codes, shown to the user once."""
    codes = (generate_id(BACKUP_CODE_LENGTH, ALPHABET) for _ in range(count))
    half = BACKUP_CODE_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def seal(ctx: AuthContext, codes: list[str]) -> str:
    """The stored form: ``JSON.stringify(codes)`` encrypted under the current secret."""
    return symmetric.encrypt(ctx.settings.secret, json.dumps(codes, separators=(",", ":")))


def unseal(ctx: AuthContext, sealed: str) -> str:
    """Open a TOTP secret or a backup-code set; ``TWO_FACTOR_SECRET_UNREADABLE`` (and one log
    line saying why) when no configured secret opens it."""
    try:
        return symmetric.decrypt(ctx.secrets, sealed)
    except symmetric.DecryptionError:
        log.error(
            "a stored two-factor secret opens with none of the configured secrets: "
            "was the server secret changed without listing the old one in previous_secrets?"
        )
        raise errors.AuthError(tf_errors.SECRET_UNREADABLE) from None


def open_codes(ctx: AuthContext, stored: str) -> list[str]:
    """The remaining codes (Better Auth's plain ``storeBackupCodes`` JSON is read too)."""
    text = stored if stored.startswith("[") else unseal(ctx, stored)
    data = json.loads(text)
    return [c for c in data if isinstance(c, str)] if isinstance(data, list) else []


def normalise(code: str) -> str:
    """Accept the code as shown, with stray spaces or without its dash."""
    code = "".join(code.split())
    if len(code) == BACKUP_CODE_LENGTH and "-" not in code:
        half = BACKUP_CODE_LENGTH // 2
        code = f"{code[:half]}-{code[half:]}"
    return code


def loose(code: str) -> str:
    """The typed code as one of :data:`ALPHABET`'s: lower case, without spaces or dashes,
    then dashed in the middle (``"ABCDE fghij"`` → ``"abcde-fghij"``)."""
    code = "".join(c for c in code.lower() if not c.isspace() and c not in _DASHES)
    half = BACKUP_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}" if len(code) == BACKUP_CODE_LENGTH else code


def _new_style(code: str) -> bool:
    return len(code) == BACKUP_CODE_LENGTH + 1 and all(c in ALPHABET for c in code.replace("-", "", 1))


def _find(codes: list[str], typed: str) -> str | None:
    """The stored code ``typed`` stands for: one equal to it as typed (modulo spaces and a
    missing dash), else a code of :data:`ALPHABET` equal to its loose form. Every stored code
    is compared, in constant time."""
    exact, relaxed = normalise(typed).encode("utf-8"), loose(typed).encode("utf-8")
    found: str | None = None
    for code in codes:
        stored = code.encode("utf-8")
        if hmac.compare_digest(stored, exact) | (_new_style(code) & hmac.compare_digest(stored, relaxed)):
            found = found or code
    return found


async def remaining(ctx: AuthContext, user_id: str) -> int | None:
    """How many backup codes ``user_id`` has left; None without a two-factor record."""
    record = await plugin_store(ctx.store).get_two_factor(user_id)
    return None if record is None else len(open_codes(ctx, record.backup_codes))


async def use(ctx: AuthContext, user_id: str, code: str, client: ClientInfo | None) -> bool:
    """Spend ``code``: True exactly once per code, however many requests race for it."""
    store = plugin_store(ctx.store)
    # A lost swap means another code was spent meanwhile: re-read and try again (bounded:
    # each retry follows another request's success, and a set holds few codes).
    for _ in range(ctx.settings.section(TwoFactorSettings).backup_code_count + 2):
        record = await store.get_two_factor(user_id)
        if record is None:
            return False
        codes = open_codes(ctx, record.backup_codes)
        wanted = _find(codes, code)
        if wanted is None:
            return False
        left = [c for c in codes if c != wanted]
        async with ctx.store.transaction() as tx:
            if await plugin_store(tx).swap_backup_codes(user_id, record.backup_codes, seal(ctx, left)):
                await audit.record(
                    tx, TwoFactorEvent.BACKUP_CODE_USED, user_id=user_id, client=client, remaining=len(left)
                )
                return True
    return False
