"""Backup codes in Better Auth's format: ``xxxxx-xxxxx`` codes kept as an encrypted JSON array.

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
from ...core.crypto.random import ALPHANUMERIC, generate_id
from ...core.models import ClientInfo
from . import errors as tf_errors
from .constants import BACKUP_CODE_LENGTH
from .store import plugin_store

log = logging.getLogger("authkeeper")


def generate(count: int) -> list[str]:
    """``count`` fresh codes, shown to the user once."""
    codes = (generate_id(BACKUP_CODE_LENGTH, ALPHANUMERIC) for _ in range(count))
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
        log.error("a stored two-factor secret opens with none of the configured secrets: "
                  "was the server secret changed without listing the old one in previous_secrets?")
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


def _contains(codes: list[str], wanted: str) -> bool:
    given = wanted.encode("utf-8")
    found = False
    for code in codes:
        found |= hmac.compare_digest(code.encode("utf-8"), given)
    return found


async def use(ctx: AuthContext, user_id: str, code: str, client: ClientInfo | None) -> bool:
    """Spend ``code``: True exactly once per code, however many requests race for it."""
    store = plugin_store(ctx.store)
    wanted = normalise(code)
    # A lost swap means another code was spent meanwhile: re-read and try again (bounded:
    # each retry follows another request's success, and a set holds few codes).
    for _ in range(ctx.settings.two_factor.backup_code_count + 2):
        record = await store.get_two_factor(user_id)
        if record is None:
            return False
        codes = open_codes(ctx, record.backup_codes)
        if not _contains(codes, wanted):
            return False
        remaining = [c for c in codes if c != wanted]
        async with store.transaction() as tx:
            if await tx.swap_backup_codes(user_id, record.backup_codes, seal(ctx, remaining)):
                await audit.record(tx, audit.Event.BACKUP_CODE_USED, user_id=user_id, client=client,
                                   remaining=len(remaining))
                return True
    return False
