"""The single-use links a user is mailed (password reset, email change, account deletion),
and the rules that keep old ones from outliving the reason they were sent.

- A new link of a kind kills the user's older links of that kind (:func:`replace`).
- A password change by any route (change-password, a reset, an admin setting it) kills every
  outstanding link of every kind (:func:`revoke_all`): a link mailed before the change was
  asked for by whoever knew the old state, and must not carry over.

Each row is ``<prefix><random token>`` → the user's id, so the user's rows of a kind are found
by prefix and value. This module imports no other flow: the flows that mail links import it.
"""

from __future__ import annotations

from datetime import datetime

from ..core.ports import Store

RESET = "reset-password:"
CHANGE_EMAIL = "change-email:"
DELETE_ACCOUNT = "delete-account-"
KINDS = (RESET, CHANGE_EMAIL, DELETE_ACCOUNT)


async def replace(tx: Store, kind: str, user_id: str, token: str, expires_at: datetime) -> None:
    """Store a new link of ``kind`` for the user; their older links of that kind stop working.
    Call it inside a transaction: the swap is all or nothing, and a lock on the user and kind
    keeps two requests at once from each deleting nothing and both inserting."""
    await tx.lock(f"link:{kind}{user_id}")
    await tx.delete_verifications(prefix=kind, value=user_id)
    await tx.create_verification(kind + token, user_id, expires_at)


async def revoke_all(tx: Store, user_id: str) -> int:
    """Kill every outstanding link of the user (after their password changed); how many."""
    removed = 0
    for kind in KINDS:
        removed += await tx.delete_verifications(prefix=kind, value=user_id)
    return removed
